# One gen2 Cloud Function in Go, built from the zipped repository (the one
# go.mod at its root; ../../gateway.tf says how the buildpack finds the
# entry points). The event stack deploys four of these and project/ one
# (AuthBlocking); how they are built and run (a gen2 Go build, the latest
# revision taking all traffic) is written once here, what each one varies
# comes in as variables, and what a root's functions all share (the
# runtime, the build account, the image repository, the source object)
# comes in as one object, var.build, the root's
# module.build.function_build (../function-builder).
#
# The IAM on each function (who may invoke it) stays with its caller: it
# differs for every one (public, Eventarc's account, the scheduler's).
# Callers pass their ordering through the module's depends_on: the build
# waits for the build account's grants, the first revision for the runtime
# account's and for the secrets' versions (../../iam_waits.tf).

resource "google_cloudfunctions2_function" "this" {
  name        = var.name
  location    = var.location
  description = var.description

  build_config {
    runtime         = var.build.runtime
    entry_point     = var.entry_point
    service_account = var.build.service_account

    # Build images go to the caller's own repository (deleted with it).
    docker_repository = var.build.docker_repository

    source {
      storage_source {
        bucket = var.build.source_bucket
        object = var.build.source_object
      }
    }
  }

  service_config {
    service_account_email          = var.service_account_email
    ingress_settings               = var.ingress_settings
    all_traffic_on_latest_revision = true

    available_cpu                    = var.available_cpu
    available_memory                 = var.available_memory
    max_instance_request_concurrency = var.max_instance_request_concurrency
    min_instance_count               = var.min_instance_count
    max_instance_count               = var.max_instance_count
    timeout_seconds                  = var.timeout_seconds

    vpc_connector                 = var.vpc_connector
    vpc_connector_egress_settings = var.vpc_connector_egress_settings

    environment_variables = var.environment_variables

    # Passwords and tokens come from Secret Manager, never from the
    # function's plain configuration.
    dynamic "secret_environment_variables" {
      for_each = var.secret_environment_variables
      content {
        key        = secret_environment_variables.key
        project_id = var.project
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  lifecycle {
    postcondition {
      condition     = var.expected_url == null || self.url == var.expected_url
      error_message = "Cloud Functions gave ${var.name} the URL ${self.url}, not ${coalesce(var.expected_url, "-")}, which its caller relies on (expected_url)."
    }
  }
}
