# Providers and Terraform itself. No backend is configured: state is local
# unless the operator passes -backend-config for a GCS backend (see
# README.md). The broker and SMTP passwords are write-only (never in the
# state); the state still names every resource, so keep it private.

terraform {
  # 1.11 for write-only arguments (secret_data_wo) and ephemeral resources
  # and variables.
  required_version = ">= 1.11"

  required_providers {
    google = {
      source = "hashicorp/google"
      # Exactly the versions schema/schema.json was made from (the one list:
      # schema/packages.json; schema_test.go checks every block against
      # them and that these pins agree). 6.50.0 is the last google release
      # with a published schema package; a move to 7.x regenerates the
      # snapshot from another source. Kept equal to google-beta below.
      # (6.40+ for gpu_zonal_redundancy_disabled and node_selector in GA;
      # secret_data_wo: 6.23+.)
      version = "6.50.0"
    }
    google-beta = {
      source = "hashicorp/google-beta"
      # google_cloud_run_v2_worker_pool (google-beta 6.38+), whose
      # manual_instance_count can be set to 0 from 6.47 on (the fix in
      # google-beta 6.47.0: "manual_instance_count was unable to set to 0").
      # Its containers have no probes before 7.5.0.
      version = "6.50.0"
    }
    archive = {
      source = "hashicorp/archive"
      # 2.4+ for glob excludes and exclude_symlink_directories.
      version = "2.7.1"
    }
    random = {
      source = "hashicorp/random"
      # 3.7+ for the ephemeral random_password.
      version = "3.7.2"
    }
    time = {
      source  = "hashicorp/time"
      version = "0.13.1"
    }
  }
}

# user_project_override bills API quota to the event's project instead of the
# operator's gcloud credentials: the Firebase Rules API refuses user
# credentials without a quota project.
provider "google" {
  project               = var.project
  region                = var.region
  user_project_override = true
  billing_project       = var.project

  # Every labelled resource (buckets, functions, the worker, the VM, secrets)
  # says which event it belongs to, so billing can be split per event.
  default_labels = local.labels
}

provider "google-beta" {
  project               = var.project
  region                = var.region
  user_project_override = true
  billing_project       = var.project
  default_labels        = local.labels
}
