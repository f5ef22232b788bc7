# Providers and Terraform itself. No backend is configured: state is local
# unless the operator passes -backend-config for a GCS backend (see
# README.md). State holds the broker and SMTP passwords, so keep it private.

terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.40+ for google_cloud_run_v2_service.template.gpu_zonal_redundancy_disabled
      # and node_selector in GA.
      version = "~> 6.40"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.40"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.12"
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
