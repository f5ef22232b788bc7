# The Google APIs the stack uses. They are project-wide and other events (or
# other workloads) may share them, so destroying one event never disables them.
# project/ enables the same list once per project (with the service agents'
# grants, which an event's destroy must not remove); it is repeated here so
# this stack orders its resources after the APIs. functions_test.go checks
# that the two lists agree.

locals {
  services = toset([
    "aiplatform.googleapis.com",           # generated styles: the worker calls Gemini on Vertex AI (vertex.tf)
    "artifactregistry.googleapis.com",     # worker image; Cloud Functions build output
    "cloudbuild.googleapis.com",           # builds the functions from source
    "cloudfunctions.googleapis.com",       # Gateway, Notify, Reconcile, NotifySweep
    "cloudscheduler.googleapis.com",       # runs Reconcile and NotifySweep
    "cloudresourcemanager.googleapis.com", # project IAM
    "compute.googleapis.com",              # network, RabbitMQ VM
    "eventarc.googleapis.com",             # Firestore -> Notify
    "fcm.googleapis.com",                  # push notifications (Notify)
    "firebase.googleapis.com",             # the web app (Firebase Web App)
    "firebaseappcheck.googleapis.com",     # App Check: submissions only from the event's app (appcheck.tf)
    "recaptchaenterprise.googleapis.com",  # App Check's attestation provider for the web app
    "firebasehosting.googleapis.com",      # the web app's Hosting site
    "firebaserules.googleapis.com",        # Firestore security rules
    "firestore.googleapis.com",            # job documents
    "iam.googleapis.com",                  # service accounts
    "iamcredentials.googleapis.com",       # signBlob for signed URLs
    "logging.googleapis.com",              # the worker's logs-based metrics
    "parametermanager.googleapis.com",     # the autoscaler's configuration
    "identitytoolkit.googleapis.com",      # Firebase Auth
    "pubsub.googleapis.com",               # Eventarc's transport
    "run.googleapis.com",                  # worker; gen2 functions run on Cloud Run
    "secretmanager.googleapis.com",        # AMQP_URL, SMTP_PASSWORD
    "storage.googleapis.com",              # photos, models, function source
    "vpcaccess.googleapis.com",            # Serverless VPC Access connector
  ])
}

resource "google_project_service" "apis" {
  for_each = local.services

  project            = var.project
  service            = each.key
  disable_on_destroy = false
}

# Freshly enabled APIs take a while to propagate; Eventarc in particular
# rejects triggers until its service agent's role (granted by project/) is
# visible.
resource "time_sleep" "apis_settle" {
  create_duration = "60s"

  depends_on = [google_project_service.apis]
}
