# A root's function source: the repository (one go.mod at the root, the root
# package ../../../functions.go that the Go buildpack builds), zipped and
# uploaded to a bucket of its own, once for all the root's functions. The
# object name carries the archive's hash, so a code change redeploys the
# functions and an unchanged tree does not.

resource "google_storage_bucket" "this" {
  project  = var.project
  name     = var.bucket_name
  location = var.location

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Every code change uploads a new archive; none is kept once replaced.
  force_destroy = true
  soft_delete_policy {
    retention_duration_seconds = 0
  }
}

# What is zipped (the tree less the excludes), then where the zip is
# written before the upload. Glob patterns need hashicorp/archive 2.4+
# (../../versions.tf).
data "archive_file" "this" {
  type                        = "zip"
  source_dir                  = var.source_dir
  excludes                    = var.excludes
  exclude_symlink_directories = true

  output_path = var.output_path
}

resource "google_storage_bucket_object" "this" {
  name   = "source-${data.archive_file.this.output_md5}.zip"
  bucket = google_storage_bucket.this.name
  source = data.archive_file.this.output_path
}
