# RabbitMQ: one small VM on the event's private network (DESIGN.md, "Queue
# topology"). No public address; AMQP is open only to the serverless
# connector (network.tf). Messages are persistent and the broker's state
# lives on its own disk, so replacing the VM loses no queued job.
#
# The credentials are made here: a random password for the user "tiger",
# stored as the whole AMQP_URL in Secret Manager. The Gateway and the worker
# read that secret; the VM reads it at boot to set the password, so the
# password never appears in the VM's metadata.

resource "google_service_account" "rabbitmq" {
  account_id   = "${var.event}-rabbitmq"
  display_name = "Tiger Studio ${var.event}: RabbitMQ VM"

  depends_on = [google_project_service.apis]
}

# The guest agent ships the VM's logs (startup script included).
resource "google_project_iam_member" "rabbitmq_logs" {
  for_each = toset(["roles/logging.logWriter", "roles/monitoring.metricWriter"])

  project = var.project
  role    = each.key
  member  = "serviceAccount:${google_service_account.rabbitmq.email}"
}

# Letters and digits only, so the password needs no escaping in the URL.
# Ephemeral: generated during the apply that writes the secret version below
# and never stored in the state. The secret is its only copy (the VM reads it
# at boot); a new one is sent only when var.secrets_version changes, and the
# broker VM must then be restarted to take it.
ephemeral "random_password" "rabbitmq" {
  length  = 32
  special = false
}

# A fixed internal address, so the URL in the secret is known before the VM
# exists and stays right when the VM is replaced.
resource "google_compute_address" "rabbitmq" {
  name         = "${var.event}-rabbitmq"
  region       = var.region
  subnetwork   = google_compute_subnetwork.main.id
  address_type = "INTERNAL"
}

resource "google_secret_manager_secret" "amqp_url" {
  secret_id = "${var.event}-amqp-url"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

# Who reads the broker URL (and so its password): the Gateway and Reconcile
# (the Gateway's account) publish, the worker consumes, the autoscaler reads
# the queue's depth, and the VM sets the password from it at boot.
resource "google_secret_manager_secret_iam_member" "amqp_url" {
  for_each = {
    gateway    = google_service_account.gateway
    worker     = google_service_account.worker
    autoscaler = google_service_account.autoscaler
    rabbitmq   = google_service_account.rabbitmq
  }

  secret_id = google_secret_manager_secret.amqp_url.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${each.value.email}"
}

resource "google_secret_manager_secret_version" "amqp_url" {
  secret                 = google_secret_manager_secret.amqp_url.id
  secret_data_wo         = "amqp://tiger:${ephemeral.random_password.rabbitmq.result}@${google_compute_address.rabbitmq.address}:5672/"
  secret_data_wo_version = var.secrets_version
}

resource "google_compute_disk" "rabbitmq_data" {
  name = "${var.event}-rabbitmq-data"
  zone = local.zone
  type = "pd-balanced"
  size = var.rabbitmq_disk_gb

  depends_on = [google_project_service.apis]
}

resource "google_compute_instance" "rabbitmq" {
  name         = "${var.event}-rabbitmq"
  zone         = local.zone
  machine_type = var.rabbitmq_machine_type

  # A new machine type stops and restarts the VM in place instead of failing.
  # A changed startup script is updated in place and runs at the next boot.
  allow_stopping_for_update = true

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
      size  = 10
      type  = "pd-balanced"
    }
  }

  attached_disk {
    source      = google_compute_disk.rabbitmq_data.id
    device_name = "rabbitmq-data" # /dev/disk/by-id/google-rabbitmq-data
  }

  network_interface {
    subnetwork = google_compute_subnetwork.main.id
    network_ip = google_compute_address.rabbitmq.address
    # No access_config: no external address. Cloud NAT serves apt.
  }

  service_account {
    email  = google_service_account.rabbitmq.email
    scopes = ["cloud-platform"]
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  metadata = {
    enable-oslogin         = "TRUE"
    block-project-ssh-keys = "TRUE"

    # Runs as root on every boot; idempotent.
    startup-script = templatefile("${path.module}/rabbitmq-startup.sh.tftpl", {
      project     = var.project
      secret      = google_secret_manager_secret.amqp_url.secret_id
      device_name = "rabbitmq-data"
    })
  }

  lifecycle {
    # A newer Debian 12 image must not replace the broker; apt keeps it
    # patched instead.
    ignore_changes = [boot_disk[0].initialize_params[0].image]
  }

  depends_on = [
    # The startup script needs apt (NAT) and its password (secret + access).
    google_compute_router_nat.main,
    google_secret_manager_secret_version.amqp_url,
    time_sleep.runtime_iam,
  ]
}

output "rabbitmq_internal_ip" {
  description = "Private address of the broker (port 5672, reachable from the serverless connector only)."
  value       = google_compute_address.rabbitmq.address
}

output "rabbitmq_vm" {
  description = "The broker VM, for gcloud compute ssh --tunnel-through-iap."
  value       = "${google_compute_instance.rabbitmq.name} (zone ${local.zone})"
}

output "amqp_url_secret" {
  description = "Secret Manager secret holding AMQP_URL."
  value       = google_secret_manager_secret.amqp_url.id
}
