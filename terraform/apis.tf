# The Google APIs the stack uses. They are project-wide and other events (or
# other workloads) may share them, so destroying one event never disables them.

locals {
  services = toset([
    "artifactregistry.googleapis.com",     # worker image; Cloud Functions build output
    "cloudbuild.googleapis.com",           # builds the functions from source
    "cloudfunctions.googleapis.com",       # Gateway, Notify, Reconcile, NotifySweep
    "cloudscheduler.googleapis.com",       # runs Reconcile and NotifySweep
    "cloudresourcemanager.googleapis.com", # project IAM
    "compute.googleapis.com",              # network, RabbitMQ VM
    "eventarc.googleapis.com",             # Firestore -> Notify
    "firebaserules.googleapis.com",        # Firestore security rules
    "firestore.googleapis.com",            # job documents
    "iam.googleapis.com",                  # service accounts
    "iamcredentials.googleapis.com",       # signBlob for signed URLs
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

# Service agents are created lazily by Google; creating them here lets the
# grants below (and the Eventarc triggers) work on the first apply.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.apis]
}

resource "google_project_service_identity" "eventarc" {
  provider = google-beta

  project = var.project
  service = "eventarc.googleapis.com"

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "eventarc_agent" {
  project = var.project
  role    = "roles/eventarc.serviceAgent"
  member  = "serviceAccount:${google_project_service_identity.eventarc.email}"
}

# Eventarc pushes to Notify through Pub/Sub, which mints the OIDC token of the
# trigger's service account. Projects created before April 2021 lack this
# grant by default.
resource "google_project_iam_member" "pubsub_token_creator" {
  project = var.project
  role    = "roles/iam.serviceAccountTokenCreator"
  member  = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

# Freshly enabled APIs and IAM grants take a while to propagate; Eventarc in
# particular rejects triggers until its service agent's role is visible.
resource "time_sleep" "apis_settle" {
  create_duration = "60s"

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.eventarc_agent,
    google_project_iam_member.pubsub_token_creator,
  ]
}
