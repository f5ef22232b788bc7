# Tiger Studio: what every event in a project shares, applied once per project
# before the first event (../README.md, "Once per project"), never destroyed
# with an event. An event's stack (..) creates and deletes only what carries
# its name; these grants belong to Google's service agents, which all events
# use, so they live here, where no event's destroy can remove them. So do the
# Firebase Auth settings (auth.tf): one per project, shared by every event,
# and the blocking function they call (authblock.tf).

terraform {
  required_version = ">= 1.11"

  # Exactly the event stack's versions (../versions.tf, ../schema/packages.json).
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "6.50.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "6.50.0"
    }
    # The AuthBlocking function's source archive and IAM waits
    # (authblock.tf), as in the event stack.
    archive = {
      source  = "hashicorp/archive"
      version = "2.7.1"
    }
    time = {
      source  = "hashicorp/time"
      version = "0.13.1"
    }
  }
}

provider "google" {
  project               = var.project
  user_project_override = true
  billing_project       = var.project
}

provider "google-beta" {
  project               = var.project
  user_project_override = true
  billing_project       = var.project
}

# The same list as ../apis.tf (checked by ../functions_test.go). Never
# disabled on destroy: other workloads may use them.
locals {
  services = toset([
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "eventarc.googleapis.com",
    "fcm.googleapis.com",
    "firebase.googleapis.com",
    "firebaseappcheck.googleapis.com",
    "firebasehosting.googleapis.com",
    "firebaserules.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "parametermanager.googleapis.com",
    "identitytoolkit.googleapis.com",
    "pubsub.googleapis.com",
    "recaptchaenterprise.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    "vpcaccess.googleapis.com",
  ])
}

resource "google_project_service" "apis" {
  for_each = local.services

  project            = var.project
  service            = each.key
  disable_on_destroy = false
}

# Service agents are created lazily by Google; creating them here lets the
# grants below (and every event's Eventarc triggers) work on the first apply.
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

# Non-authoritative grants (google_project_iam_member): they add one member
# to one role and leave every other binding of the project alone.
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
