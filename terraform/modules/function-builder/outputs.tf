# The account's attributes of the same name: the functions' builds name its
# id, the worker image's Cloud Build its email.

output "id" {
  value = google_service_account.this.id
}

output "email" {
  value = google_service_account.this.email
}
