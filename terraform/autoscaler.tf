# Autoscaler: Google's Cloud Run External Metrics Autoscaler (CREMA,
# github.com/GoogleCloudPlatform/cloud-run-external-metrics-autoscaling;
# cloud.google.com/run/docs/configuring/workerpools/crema-autoscaling). It
# runs KEDA's scalers in a Cloud Run service: every pollingInterval it reads
# the depth of the job queue <queue_prefix>.jobs with KEDA's RabbitMQ scaler
# (AMQP, through the connector, as the Gateway does) and sets the worker
# pool's manual instance count between worker_min_instances and
# worker_max_instances. booth_hours adds KEDA cron triggers that keep workers
# warm in those windows. Its configuration is a YAML CremaConfig in Parameter
# Manager; a changed configuration makes a new parameter version and so a new
# revision of the service, which reads it at start.
#
# Rights: run.developer on the worker pool only (to set its instance count),
# serviceAccountUser on the worker's account only (an update of a pool acts
# as its account), read on the broker URL secret (KEDA's "host"; declared
# with the other readers' in rabbitmq.tf), and
# Parameter Manager parameterViewer, which can only be granted on the project
# (no per-parameter IAM resource in the provider), narrowed by an IAM
# condition to the event's own parameter and its versions, so one event's
# autoscaler reads no other event's configuration. It writes no metrics and no log entries of its own
# (OUTPUT_SCALER_METRICS and ENABLE_CLOUD_LOGGING are off; Cloud Run still
# collects its stdout).

resource "google_service_account" "autoscaler" {
  account_id   = "${var.event}-scaler"
  display_name = "Tiger Studio ${var.event}: worker autoscaler (CREMA)"

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "autoscaler_parameters" {
  project = var.project
  role    = "roles/parametermanager.parameterViewer"
  member  = "serviceAccount:${google_service_account.autoscaler.email}"

  condition {
    title       = "${var.event}-autoscaler-parameter"
    description = "Only the event's autoscaler parameter and its versions"
    expression  = "resource.name == \"${local.autoscaler_parameter}\" || resource.name.startsWith(\"${local.autoscaler_parameter}/\")"
  }
}

locals {
  # Parameter Manager names resources by project number in IAM conditions.
  autoscaler_parameter = "projects/${data.google_project.this.number}/locations/global/parameters/${var.event}-autoscaler"
}

resource "google_cloud_run_v2_worker_pool_iam_member" "autoscaler_scale" {
  count    = var.worker_image == "" ? 0 : 1
  provider = google-beta

  project  = var.project
  location = var.region
  name     = google_cloud_run_v2_worker_pool.worker[0].name
  role     = "roles/run.developer"
  member   = "serviceAccount:${google_service_account.autoscaler.email}"
}

resource "google_service_account_iam_member" "autoscaler_acts_as_worker" {
  service_account_id = google_service_account.worker.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.autoscaler.email}"
}

locals {
  worker_pool_name = "${var.event}-worker"
  jobs_queue       = "${local.queue_prefix}.jobs" # infra/queue Topology.Queue()

  # CremaConfig: KEDA TriggerAuthentication and ScaledObject
  # (metric-provider/api/README.md in the CREMA repository).
  autoscaler_config = yamlencode({
    apiVersion = "crema/v1"
    kind       = "CremaConfig"
    spec = {
      pollingInterval = var.autoscaler_polling_seconds
      triggerAuthentications = [{
        metadata = { name = "${var.event}-amqp" }
        spec = {
          gcpSecretManager = {
            secrets = [{
              parameter = "host" # the whole amqp:// URL, password included
              id        = google_secret_manager_secret.amqp_url.secret_id
              version   = "latest"
            }]
          }
        }
      }]
      scaledObjects = [{
        spec = {
          scaleTargetRef = {
            name = "projects/${var.project}/locations/${var.region}/workerpools/${local.worker_pool_name}"
          }
          minReplicaCount = var.worker_min_instances
          maxReplicaCount = var.worker_max_instances
          triggers = concat(
            [{
              type = "rabbitmq"
              name = "jobs"
              metadata = {
                protocol        = "amqp"
                mode            = "QueueLength"
                queueName       = local.jobs_queue
                value           = tostring(var.worker_queue_target)
                activationValue = "0"
              }
              authenticationRef = { name = "${var.event}-amqp" }
            }],
            [for i, w in var.booth_hours : {
              type = "cron"
              name = "booth-${i}"
              metadata = {
                timezone        = w.timezone
                start           = w.start
                end             = w.end
                desiredReplicas = tostring(w.instances)
              }
            }],
          )
          advanced = {
            horizontalPodAutoscalerConfig = {
              behavior = {
                # Up at once (a GPU takes minutes to be ready), down one
                # instance a minute after the queue has asked for fewer for
                # autoscaler_scale_down_seconds.
                scaleUp = {
                  stabilizationWindowSeconds = 0
                  policies                   = [{ type = "Pods", value = var.worker_max_instances, periodSeconds = var.autoscaler_polling_seconds }]
                }
                scaleDown = {
                  stabilizationWindowSeconds = var.autoscaler_scale_down_seconds
                  policies                   = [{ type = "Pods", value = 1, periodSeconds = 60 }]
                }
              }
            }
          }
        }
      }]
    }
  })
}

resource "google_parameter_manager_parameter" "autoscaler" {
  parameter_id = "${var.event}-autoscaler"
  format       = "YAML"

  depends_on = [google_project_service.apis]
}

# Versions are immutable: the ID follows the content, so a changed
# configuration is a new version (made before the old one is deleted).
resource "google_parameter_manager_parameter_version" "autoscaler" {
  parameter            = google_parameter_manager_parameter.autoscaler.id
  parameter_version_id = "v-${substr(sha256(local.autoscaler_config), 0, 16)}"
  parameter_data       = local.autoscaler_config

  lifecycle {
    create_before_destroy = true
  }
}

# One instance, always on: CREMA polls in a loop (pollingInterval) rather
# than waiting for requests. Nobody calls it: internal ingress, no invoker.
resource "google_cloud_run_v2_service" "autoscaler" {
  count = var.worker_image == "" ? 0 : 1

  name                = "${var.event}-autoscaler"
  location            = var.region
  description         = "Tiger Studio ${var.event}: scales ${local.worker_pool_name} on ${local.jobs_queue} (CREMA)"
  ingress             = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = false

  template {
    service_account = google_service_account.autoscaler.email

    scaling {
      min_instance_count = 1
      max_instance_count = 1
    }

    # AMQP to the broker goes through the connector, whose range the broker's
    # firewall admits (network.tf).
    vpc_access {
      connector = google_vpc_access_connector.main.id
      egress    = "PRIVATE_RANGES_ONLY"
    }

    containers {
      image          = var.autoscaler_image
      base_image_uri = var.autoscaler_base_image

      resources {
        limits = {
          cpu    = "1"
          memory = "1Gi"
        }
        cpu_idle = false # the polling loop runs between requests
      }

      env {
        name  = "CREMA_CONFIG"
        value = google_parameter_manager_parameter_version.autoscaler.name # projects/P/locations/global/parameters/ID/versions/V
      }
      env {
        name  = "OUTPUT_SCALER_METRICS"
        value = "False"
      }
      env {
        name  = "ENABLE_CLOUD_LOGGING"
        value = "False"
      }
    }
  }

  depends_on = [
    time_sleep.invoker_iam,
    google_compute_instance.rabbitmq,
  ]
}

output "autoscaler_service" {
  description = "Name of the autoscaler's Cloud Run service (null until worker_image is set). Its logs show each scaling decision: \"[SCALER]\" OR \"[METRIC-PROVIDER]\"."
  value       = one(google_cloud_run_v2_service.autoscaler[*].name)
}
