# The account's email (make deploy's worker image build runs as it), and
# all that ../go-function's build takes, the same for every function of the
# root: the functions name this, not the account and source one by one.

output "email" {
  value = google_service_account.this.email
}

output "function_build" {
  value = {
    runtime           = var.runtime
    service_account   = google_service_account.this.id
    docker_repository = var.repository.id
    source_bucket     = var.source_bucket
    source_object     = var.source_object
  }
}
