output "name" {
  description = "The function's name (and its Cloud Run service's)."
  value       = google_cloudfunctions2_function.this.name
}

output "location" {
  description = "The function's region."
  value       = google_cloudfunctions2_function.this.location
}

output "url" {
  description = "The function's URL (https://REGION-PROJECT.cloudfunctions.net/NAME)."
  value       = google_cloudfunctions2_function.this.url
}
