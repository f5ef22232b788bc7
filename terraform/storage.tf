# Buckets. Input and output are separate buckets because they have different
# writers (DESIGN.md, "Write scopes"): the Gateway may write only the input
# bucket and the worker only the output bucket, which the per-bucket grants in
# gateway.tf and worker.tf enforce (the URL signers' below only read). Nothing
# here is public: photos leave through signed URLs.

# Attendees' photos (input) and the results (output) get the same access
# and retention; only the output bucket is read by the apps' JavaScript.
locals {
  job_buckets = {
    input  = { cors = false }
    output = { cors = true }
  }
}

resource "google_storage_bucket" "jobs" {
  for_each = local.job_buckets

  name     = "${var.project}-${var.event}-${each.key}"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Attendees' photos and their results must not outlive the event's
  # retention, neither as objects nor as soft-deleted copies, and destroy
  # removes them all.
  force_destroy = true
  soft_delete_policy {
    retention_duration_seconds = 0
  }
  lifecycle_rule {
    condition {
      age = var.retention_days
    }
    action {
      type = "Delete"
    }
  }

  # The apps may fetch results with JavaScript; the signed URL is the
  # authorization, CORS only lets the browser read the answer.
  dynamic "cors" {
    for_each = each.value.cors ? [1] : []
    content {
      origin          = ["*"]
      method          = ["GET", "HEAD"]
      response_header = ["Content-Type", "Content-Length"]
      max_age_seconds = 3600
    }
  }

  depends_on = [google_project_service.apis]
}

# The accounts that sign download URLs of results: the Gateway's (for the
# apps) and Notify's (in its emails and texts). Functions have no private
# key: a URL is signed through the IAM signBlob API as the function's own
# account. A signed URL carries the signer's rights, so the signer must
# also be able to read what it links to.
locals {
  url_signers = {
    gateway = google_service_account.gateway
    notify  = google_service_account.notify
  }
}

resource "google_service_account_iam_member" "url_signer" {
  for_each = local.url_signers

  service_account_id = each.value.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${each.value.email}"
}

resource "google_storage_bucket_iam_member" "url_signer" {
  for_each = local.url_signers

  bucket = google_storage_bucket.jobs["output"].name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${each.value.email}"
}

output "input_bucket" {
  description = "Bucket of the uploaded photos (INPUT_BUCKET)."
  value       = google_storage_bucket.jobs["input"].name
}

output "output_bucket" {
  description = "Bucket of the generated images (OUTPUT_BUCKET)."
  value       = google_storage_bucket.jobs["output"].name
}

#
# Models: kept apart from the job data, never expired by the retention rule,
# and optionally shared between events (var.model_bucket).
#

resource "google_storage_bucket" "models" {
  count = var.model_bucket == null ? 1 : 0

  name     = "${var.project}-${var.event}-models"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Multi-gigabyte models: a soft-deleted copy would stay billed for 7 days
  # after destroy (or after every re-upload).
  force_destroy = true
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  depends_on = [google_project_service.apis]
}

locals {
  model_bucket = coalesce(var.model_bucket, one(google_storage_bucket.models[*].name))
  model_dir    = "gs://${local.model_bucket}/models"
}

# The published models the styles run, as models/install.sh (make setup)
# installed and checksummed them: the same files the worker image carries.
# The worker checks each against the catalogue's SHA-256 when it loads it.
resource "google_storage_bucket_object" "models" {
  for_each = fileset("${path.module}/../models", "*.onnx")

  bucket       = local.model_bucket
  name         = "models/${each.value}"
  source       = "${path.module}/../models/${each.value}"
  content_type = "application/octet-stream"
}

output "model_bucket" {
  description = "Bucket of the worker's models."
  value       = local.model_bucket
}

output "model_dir" {
  description = "Where to upload the models (MODEL_DIR of the worker)."
  value       = local.model_dir
}

#
# Function source: the repository, zipped and uploaded once for all four
# functions (../modules/function-source says how), to PROJECT-EVENT-source.
#

module "source" {
  source = "./modules/function-source"

  # The project, from the Storage API's resource: the bucket waits for the
  # API (modules/function-source/variables.tf says why not a depends_on).
  project     = google_project_service.apis["storage.googleapis.com"].project
  bucket_name = "${var.project}-${var.event}-source"
  location    = var.region
  source_dir  = "${path.module}/.."
  output_path = "${path.module}/.build/source.zip"

  # Local state, installed npm packages, the models (multi-gigabyte, uploaded
  # to the model bucket above) and this folder are not part of the Go module
  # and would only slow the upload and the build. The list is shared with
  # the project root's AuthBlocking function (project/authblock.tf), which
  # zips the same tree. terraform/functions_test.go walks the tree with
  # these patterns, for both roots, and fails if the root package or go.mod
  # is left out, or anything heavy is let in.
  excludes = jsondecode(file("${path.module}/function-source-excludes.json"))
}

output "source_bucket" {
  description = "Bucket of the function sources; make deploy stages the worker image's Cloud Build source here too."
  value       = module.source.bucket
}

output "build_service_account" {
  description = "The build account (email): the function builds and the worker image's Cloud Build run as it."
  value       = module.build.email
}

# The account the functions and the worker image are built as, with only
# the rights a build needs (../modules/function-builder says which and why).
module "build" {
  source = "./modules/function-builder"

  project         = var.project
  project_number  = data.google_project.this.number
  region          = var.region
  account_id      = "${var.event}-build"
  display_name    = "Tiger Studio ${var.event}: function builds"
  condition_title = "${var.event}-function-sources"
  repository      = google_artifact_registry_repository.images
  source_bucket   = module.source.bucket
  source_object   = module.source.object
  runtime         = var.functions_runtime

  depends_on = [google_project_service.apis]
}

# The project's number names Cloud Functions' source bucket (above), the
# App Check project (gateway.tf) and the autoscaler's parameter.
data "google_project" "this" {
  project_id = var.project
}
