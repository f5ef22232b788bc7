# The account Cloud Build builds a root's Go functions as
# (../go-function's build_service_account), rather than the project's
# default compute account, which new projects no longer grant the rights to
# build. It gets what Google's "custom build service account" page lists
# for function builds, each as narrow as the resource allows, instead of
# the project-wide roles/cloudbuild.builds.builder: write build logs
# (project-wide only), read the source archive (its bucket only), push the
# built images (the root's own repository, which every function names as
# docker_repository).

resource "google_service_account" "this" {
  account_id   = var.account_id
  display_name = var.display_name
}

resource "google_project_iam_member" "logs" {
  project = var.project
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.this.email}"
}

resource "google_artifact_registry_repository_iam_member" "images" {
  location   = var.repository.location
  repository = var.repository.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.this.email}"
}

resource "google_storage_bucket_iam_member" "source" {
  bucket = var.source_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.this.email}"
}

# Gen2 functions copy the source from storage_source into Google's own
# bucket gcf-v2-sources-PROJECT_NUMBER-REGION and build from there, so the
# build account must read that bucket too. It is created by Cloud Functions
# on the first deploy in the region, so there is nothing to grant on before
# it exists: a project-level objectViewer, narrowed by an IAM condition to
# that bucket and its objects. (The provider's example grants project-wide
# objectAdmin; reading is all a build does with the source.)
locals {
  function_sources_bucket = "gcf-v2-sources-${var.project_number}-${var.region}"
}

resource "google_project_iam_member" "function_sources" {
  project = var.project
  role    = "roles/storage.objectViewer"
  member  = "serviceAccount:${google_service_account.this.email}"

  condition {
    title       = var.condition_title
    description = "Only the bucket Cloud Functions copies function sources to"
    expression  = "resource.name == \"projects/_/buckets/${local.function_sources_bucket}\" || resource.name.startsWith(\"projects/_/buckets/${local.function_sources_bucket}/\")"
  }
}
