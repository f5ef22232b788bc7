# The root that calls this module pins the providers' versions (../../versions.tf,
# ../../project/main.tf); the module names only their sources.
terraform {
  required_version = ">= 1.11"

  required_providers {
    google = {
      source = "hashicorp/google"
    }
    archive = {
      source = "hashicorp/archive"
    }
  }
}
