# What differs between the two roots' sources: the bucket's name (two roots
# in one project must not collide) and where the root finds the repository.

variable "project" {
  description = "The bucket's project. Pass the Cloud Storage API's google_project_service's project: the bucket (and so the object) waits for the API, and the archive does not. A depends_on on the call would hold the archive's read back to apply whenever any API changes, and so replace the object and rebuild every function."
  type        = string
}

variable "bucket_name" {
  description = "The source bucket's name, unique in Cloud Storage."
  type        = string
}

variable "location" {
  description = "The source bucket's location (the functions' region)."
  type        = string
}

variable "source_dir" {
  description = "The repository root, which is zipped."
  type        = string
}

variable "output_path" {
  description = "Where the archive is written locally before the upload."
  type        = string
}

variable "excludes" {
  description = "Glob patterns (relative to source_dir) left out of the archive: the roots pass ../function-source-excludes.json."
  type        = list(string)
}
