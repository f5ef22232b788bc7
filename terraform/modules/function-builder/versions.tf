# The root that calls this module pins the provider's version (../../versions.tf,
# ../../project/main.tf); the module names only its source.
terraform {
  required_version = ">= 1.11"

  required_providers {
    google = {
      source = "hashicorp/google"
    }
  }
}
