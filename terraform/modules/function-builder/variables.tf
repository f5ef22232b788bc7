# What differs between the two roots' builds: the account's names (two
# roots in one project must not collide) and what the builds read and
# write.

variable "project" {
  description = "The project the functions are built in."
  type        = string
}

variable "project_number" {
  description = "The project's number, which names Cloud Functions' own source bucket."
  type        = string
}

variable "region" {
  description = "The functions' region, which names Cloud Functions' own source bucket."
  type        = string
}

variable "condition_title" {
  description = "The title of the IAM condition on the read of Cloud Functions' source bucket (a grant's identity: changing it replaces the grant)."
  type        = string
}

variable "account_id" {
  description = "The build account's id, unique in the project."
  type        = string
}

variable "display_name" {
  description = "The build account's name, as the console shows it."
  type        = string
}

variable "repository" {
  description = "The Artifact Registry repository the builds push the images to (its id, location and name)."
  type = object({
    id       = string
    location = string
    name     = string
  })
}

variable "source_bucket" {
  description = "The bucket of the zipped sources the builds read."
  type        = string
}

variable "source_object" {
  description = "The zipped repository's object in source_bucket, which every function is built from."
  type        = string
}

variable "runtime" {
  description = "The Go runtime every function is built with (e.g. go125)."
  type        = string
}
