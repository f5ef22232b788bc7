# Gateway: the public HTTP API (DESIGN.md, "HTTP API"). A gen2 Cloud Function
# built from the repository root, where the one go.mod lives: the Go buildpack
# builds the root package (../functions.go), which imports ./functions, whose
# init registers the entry points.
#
# Rights: Firestore (requests/, devices/ in code), read-write on the input
# bucket only, read on the output bucket to sign download URLs, the broker
# password, and VPC egress to reach RabbitMQ. The grants other accounts
# hold alike are declared once for all, beside what they grant on: Firestore
# (firestore.tf), the broker password (rabbitmq.tf), URL signing (storage.tf).

resource "google_service_account" "gateway" {
  account_id   = "${var.event}-gateway"
  display_name = "Tiger Studio ${var.event}: Gateway"

  depends_on = [google_project_service.apis]
}

# objectUser: create the upload, read it back, delete it again when the
# broker refuses the job (nothing is left half-written).
resource "google_storage_bucket_iam_member" "gateway_input" {
  bucket = google_storage_bucket.jobs["input"].name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.gateway.email}"
}

# The Gateway's environment and secrets, shared with the Reconcile function
# (scheduled.tf), which works in the Gateway's write scope.
locals {
  gateway_env = {
    GCLOUD_PROJECT    = var.project
    EVENT             = var.event
    INPUT_BUCKET      = google_storage_bucket.jobs["input"].name
    OUTPUT_BUCKET     = google_storage_bucket.jobs["output"].name
    QUEUE_PREFIX      = local.queue_prefix
    SIGNED_URL_EXPIRY = var.signed_url_expiry
    MAX_UPLOAD_BYTES  = tostring(var.max_upload_bytes)
    # expireAt on every job, and how long a pick-up code opens it.
    RETENTION_DAYS = tostring(var.retention_days)
    # Submissions only from the event's web app (appcheck.tf).
    APP_CHECK                = var.app_check ? "enforce" : "off"
    APP_CHECK_PROJECT_NUMBER = data.google_project.this.number
    APP_CHECK_APP_IDS        = google_firebase_web_app.app.app_id
    LOG_LEVEL                = var.log_level
    # Browsers may call the API from the event's web app only (hosting.tf).
    APP_ORIGINS = join(",", local.app_origins)
    # The garbage collector's target, below the instance's memory.
    GOMEMLIMIT            = "480MiB"
    MAX_UPLOADS_IN_FLIGHT = "8"
    # Generated styles (vertex.tf): offered or not, and the event's budget.
    GENERATED_STYLES     = tostring(var.generated_styles)
    GENERATED_BUDGET_USD = tostring(var.generated_budget_usd)
  }

  # The broker URL holds its password: it comes from Secret Manager, never
  # from the functions' plain configuration.
  gateway_secrets = {
    AMQP_URL = google_secret_manager_secret.amqp_url.secret_id
  }
}

module "gateway" {
  source = "./modules/go-function"

  project     = var.project
  name        = "${var.event}-gateway"
  location    = var.region
  description = "Tiger Studio ${var.event}: HTTP API"

  entry_point = "Gateway"
  build       = module.build.function_build

  service_account_email = google_service_account.gateway.email

  # Public: the Gateway verifies Firebase ID tokens itself (allUsers invoker
  # below).
  ingress_settings = "ALLOW_ALL"

  # Uploads are checked by structure, never decoded: a request holds its
  # photo about twice (the read and the Storage chunk), so 8 at once of up
  # to max_upload_bytes fit in half of GOMEMLIMIT (the Gateway refuses to
  # start otherwise); MAX_UPLOADS_IN_FLIGHT equals the concurrency.
  available_cpu                    = "1"
  available_memory                 = "512Mi"
  max_instance_request_concurrency = 8
  min_instance_count               = 0
  max_instance_count               = var.gateway_max_instances
  timeout_seconds                  = 60

  # RabbitMQ is on the private network; Google APIs stay on the direct path.
  vpc_connector                 = google_vpc_access_connector.main.id
  vpc_connector_egress_settings = "PRIVATE_RANGES_ONLY"

  environment_variables        = local.gateway_env
  secret_environment_variables = local.gateway_secrets

  depends_on = [
    google_project_service.apis,
    time_sleep.build_iam,
    time_sleep.runtime_iam,
    google_secret_manager_secret_version.amqp_url,
  ]
}

# A gen2 function is a Cloud Run service of the same name; invoking it is
# Cloud Run's run.invoker. An organization policy restricting allUsers
# (iam.allowedPolicyMemberDomains) has to allow this one.
resource "google_cloud_run_v2_service_iam_member" "gateway_public" {
  project  = var.project
  location = module.gateway.location
  name     = module.gateway.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

output "gateway_url" {
  description = "Base URL of the HTTP API (GATEWAY_URL for the apps)."
  value       = module.gateway.url
}
