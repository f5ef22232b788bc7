# The bucket and the archive's object in it: what ../function-builder grants
# the build account to read and hands every function as its source.

output "bucket" {
  value = google_storage_bucket.this.name
}

output "object" {
  value = google_storage_bucket_object.this.name
}
