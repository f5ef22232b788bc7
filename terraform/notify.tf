# Notify: tells a job's owner that it finished. A gen2 CloudEvent function
# triggered by Eventarc on writes to responses/{jobId} and errors/{jobId} in
# the (default) Firestore database.
#
# Rights: Firestore (notifications/ in code; reads the rest), read on the
# output bucket to sign download URLs, the SMTP password, sending push
# messages (FCM), reading Auth accounts (a guest's address verified after
# submitting). No VPC access: it never talks to RabbitMQ. Firestore and URL
# signing are the Gateway's grants too, declared once for both (firestore.tf,
# storage.tf).

resource "google_service_account" "notify" {
  account_id   = "${var.event}-notify"
  display_name = "Tiger Studio ${var.event}: Notify"

  depends_on = [google_project_service.apis]
}

# Push: the FCM HTTP v1 send (messages:send, which the Admin SDK's
# SendEachForMulticast calls) needs cloudmessaging.messages.create. No
# narrower predefined role holds it, and a per-event custom role would block
# re-creating an event of the same name for 7 days after destroy (deleted
# roles keep their ID), so Notify gets the FCM admin role, which covers FCM
# only. The API (fcm.googleapis.com) is enabled in apis.tf.
resource "google_project_iam_member" "notify_fcm" {
  project = var.project
  role    = "roles/firebasecloudmessaging.admin"
  member  = "serviceAccount:${google_service_account.notify.email}"
}

# A request names an address only when the Gateway saw a verified one; a
# guest who confirms an address later is mailed at the address Auth holds
# then (notify.AuthOwners: users.get). The viewer role reads accounts only.
resource "google_project_iam_member" "notify_auth" {
  project = var.project
  role    = "roles/firebaseauth.viewer"
  member  = "serviceAccount:${google_service_account.notify.email}"
}

resource "google_secret_manager_secret" "smtp_password" {
  secret_id = "${var.event}-smtp-password"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

# Write-only: the password goes to Secret Manager and never into the state
# or the plan (var.smtp_password is ephemeral). Bump var.secrets_version to
# send a changed password.
resource "google_secret_manager_secret_version" "smtp_password" {
  secret                 = google_secret_manager_secret.smtp_password.id
  secret_data_wo         = var.smtp_password
  secret_data_wo_version = var.secrets_version
}

# The SMS provider's credential, only when texts are on: a secret without a
# version would stop Notify's deploy.
resource "google_secret_manager_secret" "twilio_auth_token" {
  count     = var.sms_provider == "twilio" ? 1 : 0
  secret_id = "${var.event}-twilio-auth-token"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "twilio_auth_token" {
  count                  = var.sms_provider == "twilio" ? 1 : 0
  secret                 = google_secret_manager_secret.twilio_auth_token[0].id
  secret_data_wo         = var.twilio_auth_token
  secret_data_wo_version = var.secrets_version
}

resource "google_secret_manager_secret_iam_member" "notify_twilio" {
  count     = var.sms_provider == "twilio" ? 1 : 0
  secret_id = google_secret_manager_secret.twilio_auth_token[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.notify.email}"
}

resource "google_secret_manager_secret_iam_member" "notify_smtp" {
  secret_id = google_secret_manager_secret.smtp_password.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.notify.email}"
}

# Deployed without an event_trigger of its own: a gen2 function takes only
# one, and Notify needs two (below). The Go functions framework serves the
# function registered as "Notify" as a CloudEvent function either way.
# Notify's environment, shared with the NotifySweep function
# (scheduled.tf).
locals {
  notify_env = {
    GCLOUD_PROJECT    = var.project
    OUTPUT_BUCKET     = google_storage_bucket.jobs["output"].name
    SIGNED_URL_EXPIRY = var.signed_url_expiry
    SMTP_HOST         = var.smtp_host
    SMTP_PORT         = tostring(var.smtp_port)
    SMTP_USER         = var.smtp_user
    SMTP_FROM         = var.smtp_from
    SMTP_STARTTLS     = tostring(var.smtp_starttls)
    # Text messages (README, "Notification channels"); the auth token is a
    # secret (below). Texts link to the job's page in the event's app.
    SMS                = var.sms_provider
    TWILIO_ACCOUNT_SID = var.twilio_account_sid
    TWILIO_FROM        = var.twilio_from
    APP_URL            = "https://${local.hosting_site_id}.web.app"
    # Several events may share the (default) database, and every event's
    # triggers see every job: Notify can skip jobs of other events by
    # comparing this with the request's event field.
    EVENT     = var.event
    LOG_LEVEL = var.log_level
    # The garbage collector's target, below the instance's 256Mi.
    GOMEMLIMIT = "200MiB"
  }
}

module "notify" {
  source = "./modules/go-function"

  project     = var.project
  name        = "${var.event}-notify"
  location    = var.region
  description = "Tiger Studio ${var.event}: notifies owners of finished jobs"

  entry_point = "Notify"
  build       = module.build.function_build

  service_account_email = google_service_account.notify.email

  # Only Eventarc calls it; its deliveries count as internal traffic.
  ingress_settings = "ALLOW_INTERNAL_ONLY"

  available_memory   = "256Mi"
  min_instance_count = 0
  max_instance_count = var.notify_max_instances
  timeout_seconds    = 60

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

# Notify's secrets, shared with NotifySweep (scheduled.tf): the SMTP
# password, and Twilio's token only when texts go through Twilio.
locals {
  notify_secrets = merge(
    { SMTP_PASSWORD = google_secret_manager_secret.smtp_password.secret_id },
    { for s in google_secret_manager_secret.twilio_auth_token : "TWILIO_AUTH_TOKEN" => s.secret_id },
  )
}

output "web_push_vapid_key" {
  description = "Public VAPID key of web push (vapidKey in /studio.json); empty when push is off."
  value       = var.web_push_vapid_key
}

output "notify_channels" {
  description = "The channels the app offers on its upload screen (channels in /studio.json)."
  value = {
    email = true
    phone = var.sms_provider != "off"
    push  = var.web_push_vapid_key != ""
  }
}

output "notify_function" {
  description = "Name of the Notify function (and of its Cloud Run service)."
  value       = module.notify.name
}

#
# Eventarc: one trigger per collection, delivering to Notify's Cloud Run
# service as the trigger account below.
#

resource "google_service_account" "events" {
  account_id   = "${var.event}-events"
  display_name = "Tiger Studio ${var.event}: Eventarc triggers of Notify"

  depends_on = [google_project_service.apis]
}

# Receive Firestore's direct events...
resource "google_project_iam_member" "events_receiver" {
  project = var.project
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.events.email}"
}

# ...and invoke Notify, and nothing else.
resource "google_cloud_run_v2_service_iam_member" "events_invoke_notify" {
  project  = var.project
  location = module.notify.location
  name     = module.notify.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.events.email}"
}

locals {
  # Collections whose documents mean "this job is finished" (DESIGN.md,
  # "Flow", step 3). A response is written twice (running, then succeeded);
  # Notify acts on the final state only, once per job.
  notify_collections = toset(["responses", "errors"])
}

resource "google_eventarc_trigger" "notify" {
  for_each = local.notify_collections

  # Firestore triggers must live where the database lives.
  name            = "${var.event}-notify-${each.key}"
  location        = local.firestore_location
  service_account = google_service_account.events.email

  matching_criteria {
    attribute = "type"
    value     = "google.cloud.firestore.document.v1.written"
  }
  matching_criteria {
    attribute = "database"
    value     = "(default)"
  }
  matching_criteria {
    attribute = "document"
    operator  = "match-path-pattern"
    value     = "${each.key}/{jobId}"
  }

  # Events carry protobuf DocumentEventData; the local emulator bridge has to
  # post the same encoding for Notify to be tested as it runs here.
  event_data_content_type = "application/protobuf"

  # Eventarc retries failed deliveries to Cloud Run with exponential backoff
  # for up to 24 hours; Notify is idempotent and drops events older than its
  # cutoff.
  destination {
    cloud_run_service {
      service = module.notify.name
      region  = var.region
    }
  }

  depends_on = [
    time_sleep.apis_settle,
    google_firestore_database.default,
    time_sleep.invoker_iam,
  ]
}
