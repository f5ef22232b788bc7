# Reconcile and NotifySweep: the passes that finish what crashed requests and
# lost events left behind (README, "Reliability"). Cloud Scheduler POSTs to
# each every few minutes with an OIDC token of its own account, the only
# invoker; neither function is public.
#
# Reconcile runs as the Gateway's account (it publishes and removes requests
# and input objects: the Gateway's write scope, plus the broker password);
# NotifySweep as Notify's (it writes notifications/ only).

resource "google_service_account" "scheduler" {
  account_id   = "${var.event}-scheduler"
  display_name = "Tiger Studio ${var.event}: Cloud Scheduler of Reconcile and NotifySweep"

  depends_on = [google_project_service.apis]
}

module "reconcile" {
  source = "./modules/go-function"

  project     = var.project
  name        = "${var.event}-reconcile"
  location    = var.region
  description = "Tiger Studio ${var.event}: finishes or removes requests whose Gateway died"

  entry_point = "Reconcile"
  build       = module.build.function_build

  service_account_email         = google_service_account.gateway.email
  ingress_settings              = "ALLOW_ALL" # Cloud Scheduler calls from outside the VPC; IAM keeps others out
  available_memory              = "256Mi"
  min_instance_count            = 0
  max_instance_count            = 1
  timeout_seconds               = 300
  vpc_connector                 = google_vpc_access_connector.main.id
  vpc_connector_egress_settings = "PRIVATE_RANGES_ONLY"
  environment_variables         = merge(local.gateway_env, { GOMEMLIMIT = "200MiB", MAX_UPLOADS_IN_FLIGHT = "1" })
  secret_environment_variables  = local.gateway_secrets

  depends_on = [
    google_project_service.apis,
    time_sleep.build_iam,
    time_sleep.runtime_iam,
    google_secret_manager_secret_version.amqp_url,
  ]
}

module "notify_sweep" {
  source = "./modules/go-function"

  project     = var.project
  name        = "${var.event}-notify-sweep"
  location    = var.region
  description = "Tiger Studio ${var.event}: notifies owners whose notification event was lost"

  entry_point = "NotifySweep"
  build       = module.build.function_build

  service_account_email        = google_service_account.notify.email
  ingress_settings             = "ALLOW_ALL" # as above: IAM keeps others out
  available_memory             = "256Mi"
  min_instance_count           = 0
  max_instance_count           = 1
  timeout_seconds              = 300
  environment_variables        = local.notify_env
  secret_environment_variables = local.notify_secrets

  depends_on = [
    google_project_service.apis,
    time_sleep.build_iam,
    time_sleep.runtime_iam,
    google_secret_manager_secret_version.smtp_password,
    google_secret_manager_secret_version.twilio_auth_token,
  ]
}

locals {
  scheduled = {
    reconcile    = module.reconcile
    notify-sweep = module.notify_sweep
  }
}

resource "google_cloud_run_v2_service_iam_member" "scheduler_invoker" {
  for_each = local.scheduled
  project  = var.project
  location = each.value.location
  name     = each.value.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_scheduler_job" "scheduled" {
  for_each         = local.scheduled
  name             = "${var.event}-${each.key}"
  region           = var.region
  schedule         = var.reconcile_schedule
  attempt_deadline = "320s"

  http_target {
    http_method = "POST"
    uri         = each.value.url
    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = each.value.url
    }
  }

  depends_on = [time_sleep.invoker_iam]
}
