# Worker: takes jobs from RabbitMQ, generates on an NVIDIA L4, writes the
# outputs and the response or error document. A Cloud Run service because
# that is where Cloud Run GPUs are; it serves nothing but its health checks.
#
# Rights: Firestore (responses/, errors/ in code), read-write on the output
# bucket only, read on the input and model buckets, the broker password, and
# VPC egress to reach RabbitMQ.

resource "google_service_account" "worker" {
  account_id   = "${var.event}-worker"
  display_name = "Tiger Studio ${var.event}: GPU worker"

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "worker_firestore" {
  project = var.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.worker.email}"
}

# objectUser: upload the outputs, and delete them again when the response
# document cannot be written (Storage and Firestore never disagree).
resource "google_storage_bucket_iam_member" "worker_output" {
  bucket = google_storage_bucket.output.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_storage_bucket_iam_member" "worker_input" {
  bucket = google_storage_bucket.input.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_storage_bucket_iam_member" "worker_models" {
  bucket = local.model_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_secret_manager_secret_iam_member" "worker_amqp" {
  secret_id = google_secret_manager_secret.amqp_url.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.worker.email}"
}

# Where the operator pushes the worker image. Cloud Run's service agent pulls
# from a registry of its own project without further grants.
resource "google_artifact_registry_repository" "images" {
  repository_id = "${var.event}-images"
  location      = var.region
  format        = "DOCKER"
  description   = "Tiger Studio ${var.event}: worker images"

  depends_on = [google_project_service.apis]
}

output "worker_image_repository" {
  description = "Push the worker image here (docker push <this>/worker:TAG), then apply with -var worker_image=<this>/worker:TAG."
  value       = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.images.repository_id}"
}

# Not created until var.worker_image names a pushed image: the first apply
# makes the registry above, the operator pushes, the second apply deploys.
resource "google_cloud_run_v2_service" "worker" {
  count = var.worker_image == "" ? 0 : 1

  name        = "${var.event}-worker"
  location    = var.region
  description = "Tiger Studio ${var.event}: GPU worker"

  # Nobody calls the worker: it consumes RabbitMQ. Internal ingress keeps its
  # health endpoints off the internet, and no one is granted run.invoker.
  ingress             = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = false

  template {
    service_account       = google_service_account.worker.email
    execution_environment = "EXECUTION_ENVIRONMENT_GEN2"

    # One L4 per instance. Without zonal redundancy: cheaper, and it is the
    # GPU quota Cloud Run grants projects first.
    node_selector {
      accelerator = "nvidia-l4"
    }
    gpu_zonal_redundancy_disabled = true

    # Cloud Run scales on requests, and the worker gets none: the instances
    # that run are the minimum (see var.worker_min_instances).
    scaling {
      min_instance_count = var.worker_min_instances
      max_instance_count = var.worker_max_instances
    }

    vpc_access {
      connector = google_vpc_access_connector.main.id
      egress    = "PRIVATE_RANGES_ONLY"
    }

    containers {
      image = var.worker_image

      ports {
        container_port = 8080 # PORT; serves /healthz and /readyz
      }

      resources {
        # The L4's minimum: 4 CPU and 16 GiB.
        limits = {
          cpu              = "4"
          memory           = "16Gi"
          "nvidia.com/gpu" = "1"
        }
        # Always-allocated CPU: the worker works between requests (GPU
        # services require it anyway).
        cpu_idle          = false
        startup_cpu_boost = true
      }

      env {
        name  = "GCLOUD_PROJECT"
        value = var.project
      }
      env {
        name  = "INPUT_BUCKET"
        value = google_storage_bucket.input.name
      }
      env {
        name  = "OUTPUT_BUCKET"
        value = google_storage_bucket.output.name
      }
      env {
        name  = "QUEUE_PREFIX"
        value = local.queue_prefix
      }
      env {
        name = "AMQP_URL"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.amqp_url.secret_id
            version = "latest"
          }
        }
      }
      env {
        name  = "WORKER_SLOTS"
        value = tostring(var.worker_slots)
      }
      env {
        name  = "WORKER_GENERATIONS"
        value = tostring(var.worker_generations)
      }
      env {
        name  = "WORKER_DEVICE"
        value = "cuda"
      }
      env {
        name  = "MODEL_DIR"
        value = local.model_dir
      }
      env {
        name  = "ORT_LIBRARY_PATH"
        value = var.ort_library_path
      }
      env {
        name  = "WORKER_GRACE"
        value = var.worker_grace
      }
      env {
        name  = "LOG_LEVEL"
        value = var.log_level
      }

      # /readyz answers 200 once the worker holds a broker session (it has
      # loaded its models by then). 24 x 10s = 240s, the longest startup
      # every Cloud Run version accepts; the broker is long up when the
      # worker is first deployed (second apply, see README.md).
      startup_probe {
        http_get {
          path = "/readyz"
        }
        period_seconds    = 10
        timeout_seconds   = 5
        failure_threshold = 24
      }

      liveness_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds    = 30
        timeout_seconds   = 5
        failure_threshold = 3
      }
    }
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  lifecycle {
    precondition {
      condition     = var.worker_min_instances <= var.worker_max_instances
      error_message = "worker_min_instances must not exceed worker_max_instances."
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.worker_firestore,
    google_storage_bucket_iam_member.worker_output,
    google_storage_bucket_iam_member.worker_input,
    google_storage_bucket_iam_member.worker_models,
    google_secret_manager_secret_version.amqp_url,
    google_secret_manager_secret_iam_member.worker_amqp,
    # The broker must exist before the worker's startup probe waits for it.
    google_compute_instance.rabbitmq,
  ]
}

output "worker_service" {
  description = "Name of the worker's Cloud Run service (null until worker_image is set)."
  value       = one(google_cloud_run_v2_service.worker[*].name)
}
