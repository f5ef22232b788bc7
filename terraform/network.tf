# A private network for the event: RabbitMQ has no public address, and the
# Gateway and the worker reach it through a Serverless VPC Access connector.

resource "google_compute_network" "main" {
  name                    = "${var.event}-net"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"

  depends_on = [google_project_service.apis]
}

resource "google_compute_subnetwork" "main" {
  name          = "${var.event}-subnet"
  region        = var.region
  network       = google_compute_network.main.id
  ip_cidr_range = local.subnet_cidr

  # The VM reads its password from Secret Manager without going through NAT.
  private_ip_google_access = true
}

# Serverless egress into the VPC. The functions cannot use Direct VPC egress,
# and sharing one connector keeps a single, small source range that the
# broker's firewall admits. Only private ranges go through it (see
# vpc_connector_egress_settings), so Google APIs are reached directly.
resource "google_vpc_access_connector" "main" {
  name          = "${var.event}-vpc"
  region        = var.region
  network       = google_compute_network.main.name
  ip_cidr_range = local.connector_cidr
  machine_type  = "e2-micro"
  min_instances = 2
  max_instances = 3

  depends_on = [
    google_project_service.apis,
    time_sleep.connector_cleanup,
  ]
}

# Deleting a connector returns before Google has deleted the firewall rules it
# made in the network, and deleting the network then fails with "already being
# used by .../firewalls/aet-...". Destroy runs in reverse dependency order:
# the connector, then this wait, then the network.
resource "time_sleep" "connector_cleanup" {
  destroy_duration = "120s"

  depends_on = [google_compute_network.main]
}

# Outbound internet for the VM without an external address: apt needs it to
# install rabbitmq-server.
resource "google_compute_router" "main" {
  name    = "${var.event}-router"
  region  = var.region
  network = google_compute_network.main.id
}

resource "google_compute_router_nat" "main" {
  name                               = "${var.event}-nat"
  router                             = google_compute_router.main.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"

  subnetwork {
    name                    = google_compute_subnetwork.main.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# AMQP only from the connector (the Gateway, the autoscaler) and the worker
# pool's subnet (worker.tf): nothing else in (or outside) the VPC may talk to
# the broker. Stacks applied before had a second rule for the worker subnet,
# google_compute_firewall.amqp_worker (EVENT-allow-amqp-worker); the next
# apply adds its range here and deletes it.
resource "google_compute_firewall" "amqp" {
  name      = "${var.event}-allow-amqp"
  network   = google_compute_network.main.id
  direction = "INGRESS"

  source_ranges           = [local.connector_cidr, local.worker_cidr]
  target_service_accounts = [google_service_account.rabbitmq.email]

  allow {
    protocol = "tcp"
    ports    = ["5672"]
  }
}

# SSH for the operator through Identity-Aware Proxy only
# (gcloud compute ssh --tunnel-through-iap); the VM has no public address.
resource "google_compute_firewall" "iap_ssh" {
  name      = "${var.event}-allow-iap-ssh"
  network   = google_compute_network.main.id
  direction = "INGRESS"

  source_ranges           = ["35.235.240.0/20"]
  target_service_accounts = [google_service_account.rabbitmq.email]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}
