# Worker: takes jobs from RabbitMQ, generates on an NVIDIA L4, writes the
# outputs and the response or error document. A Cloud Run worker pool (pull
# workloads with GPUs, no requests), scaled on the job queue's depth by the
# autoscaler in autoscaler.tf.
#
# Rights: Firestore (responses/, errors/ in code), read-write on the output
# bucket only, read on the input and model buckets, the broker password, and
# VPC egress to reach RabbitMQ. Firestore and the broker password are other
# accounts' grants too, declared once for all (firestore.tf, rabbitmq.tf).

resource "google_service_account" "worker" {
  account_id   = "${var.event}-worker"
  display_name = "Tiger Studio ${var.event}: GPU worker"

  depends_on = [google_project_service.apis]
}

# objectUser: upload the outputs, and delete them again when the response
# document cannot be written (Storage and Firestore never disagree).
resource "google_storage_bucket_iam_member" "worker_output" {
  bucket = google_storage_bucket.jobs["output"].name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_storage_bucket_iam_member" "worker_input" {
  bucket = google_storage_bucket.jobs["input"].name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.worker.email}"
}

resource "google_storage_bucket_iam_member" "worker_models" {
  bucket = local.model_bucket
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.worker.email}"
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

# The worker's own subnet for Direct VPC egress (worker pools are documented
# with Direct VPC egress, not with a connector): the pool takes its
# addresses from here, and the broker's AMQP firewall (network.tf) admits
# this range.
resource "google_compute_subnetwork" "worker" {
  name          = "${var.event}-worker"
  region        = var.region
  network       = google_compute_network.main.id
  ip_cidr_range = local.worker_cidr

  private_ip_google_access = true
}

# A Cloud Run worker pool: the worker pulls from RabbitMQ and serves no
# requests, so there is nothing for request-based autoscaling to follow.
# Worker pools scale only manually (scaling.manual_instance_count); the
# autoscaler in autoscaler.tf (CREMA) sets that count from the depth of the
# job queue. Terraform sets the first count (worker_min_instances) and then
# leaves it to the autoscaler (ignore_changes below), so an apply during the
# event does not undo its scaling.
#
# Not created until var.worker_image names a pushed image: the first apply
# makes the registry above, the operator pushes, the second apply deploys.
resource "google_cloud_run_v2_worker_pool" "worker" {
  count    = var.worker_image == "" ? 0 : 1
  provider = google-beta

  name        = "${var.event}-worker"
  location    = var.region
  description = "Tiger Studio ${var.event}: GPU worker"

  # GPUs on worker pools were launched at BETA (cloud.google.com/run/docs/
  # configuring/workerpools/gpu); BETA admits them whatever their stage now.
  launch_stage        = "BETA"
  deletion_protection = false

  # Manual scaling is the only scaling worker pools have; no min/max and no
  # scaling_mode here (the API has no automatic mode for worker pools).
  scaling {
    manual_instance_count = var.worker_min_instances
  }

  template {
    service_account = google_service_account.worker.email

    # One L4 per instance. Without zonal redundancy: cheaper, and it is the
    # GPU quota Cloud Run grants projects first.
    node_selector {
      accelerator = "nvidia-l4"
    }
    gpu_zonal_redundancy_disabled = true

    vpc_access {
      network_interfaces {
        network    = google_compute_network.main.id
        subnetwork = google_compute_subnetwork.worker.id
      }
      egress = "PRIVATE_RANGES_ONLY"
    }

    containers {
      image = var.worker_image

      resources {
        # The L4's minimum: 4 CPU and 16 GiB. Worker pools always allocate
        # CPU (there is no request to throttle between).
        limits = {
          cpu              = "4"
          memory           = "16Gi"
          "nvidia.com/gpu" = "1"
        }
      }

      env {
        name  = "GCLOUD_PROJECT"
        value = var.project
      }
      env {
        name  = "INPUT_BUCKET"
        value = google_storage_bucket.jobs["input"].name
      }
      env {
        name  = "OUTPUT_BUCKET"
        value = google_storage_bucket.jobs["output"].name
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
      # The generate step's model on Vertex AI (vertex.tf), called as this
      # pool's service account.
      env {
        name  = "VERTEX_PROJECT"
        value = var.project
      }
      env {
        name  = "VERTEX_LOCATION"
        value = var.vertex_location
      }
      env {
        name  = "VERTEX_MODEL"
        value = var.vertex_model
      }

      # No startup or liveness probe: google-beta 6.50.0 (the pinned
      # version, schema/packages.json) has none on worker pools (they came
      # with 7.5.0), and a worker pool serves no traffic a failed probe
      # would hold back. The worker's health shows in its logs instead, and
      # in the two logs-based metrics below.
    }
  }

  lifecycle {
    # The autoscaler owns the instance count once the pool exists.
    ignore_changes = [scaling[0].manual_instance_count, launch_stage]

    precondition {
      condition     = var.worker_min_instances <= var.worker_max_instances
      error_message = "worker_min_instances must not exceed worker_max_instances."
    }
  }

  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_version.amqp_url,
    time_sleep.runtime_iam,
    google_compute_firewall.amqp,
    # The broker first: the worker connects to it as it starts.
    google_compute_instance.rabbitmq,
  ]
}

# The worker's health without probes: each instance logs "consuming" once it
# holds a broker session (what /readyz answered), and "broker session ended;
# reconnecting" when it loses it (infra/queue's consumer; the worker logs
# JSON with a message key, infra/logging). Counted as
# logging.googleapis.com/user/EVENT-worker-consuming and
# .../EVENT-worker-broker-lost (Metrics Explorer), so a pool whose instances
# start and never consume, or keep reconnecting, shows without reading its
# logs (README.md, "Smoke test"; scaling_test.go keeps the messages and
# the code's in step).
locals {
  worker_log_filter = "resource.type=\"cloud_run_worker_pool\" AND resource.labels.worker_pool_name=\"${var.event}-worker\""
}

resource "google_logging_metric" "worker_consuming" {
  name        = "${var.event}-worker-consuming"
  description = "Tiger Studio ${var.event}: worker instances that got a broker session and consume jobs"
  filter      = "${local.worker_log_filter} AND jsonPayload.message=\"consuming\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "worker_broker_lost" {
  name        = "${var.event}-worker-broker-lost"
  description = "Tiger Studio ${var.event}: worker broker sessions lost (the worker reconnects)"
  filter      = "${local.worker_log_filter} AND jsonPayload.message=\"broker session ended; reconnecting\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }

  depends_on = [google_project_service.apis]
}

output "worker_pool" {
  description = "Name of the worker's Cloud Run worker pool (null until worker_image is set)."
  value       = one(google_cloud_run_v2_worker_pool.worker[*].name)
}
