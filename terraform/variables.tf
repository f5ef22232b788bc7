# Every input of the stack, and the names derived from them. All resource
# names start with var.event, so several events can live in one project (each
# in its own Terraform workspace; see README.md).

#
# Where
#

variable "project" {
  type        = string
  description = "Google Cloud project ID (a Firebase project: the apps sign in with Firebase Auth)."
}

variable "region" {
  type        = string
  default     = "europe-west4"
  description = <<-EOT
    Region of the functions, the worker, the buckets and the broker. The worker
    needs Cloud Run NVIDIA L4 GPUs, which exist only in some regions
    (europe-west4, europe-west1, us-central1, us-east4, asia-southeast1, ...),
    and a quota for "L4 GPUs without zonal redundancy" there.
  EOT
}

variable "zone" {
  type        = string
  default     = null
  description = "Zone of the RabbitMQ VM; default: <region>-b."
}

variable "event" {
  type        = string
  description = "Short name of the event (lowercase letters, digits, hyphens; at most 20 characters). Prefixes every resource."

  validation {
    # Starts with a letter and ends with a letter or digit because service
    # account IDs, connector and bucket names require it; 20 characters keep
    # the longest derived name ("<event>-rabbitmq", a service account ID) within
    # its 30-character limit.
    condition     = can(regex("^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$", var.event))
    error_message = "event must be 1-20 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

#
# Data
#

variable "retention_days" {
  type        = number
  default     = 7
  description = <<-EOT
    The event's one retention setting: days after which a job's photo, its
    portraits (bucket lifecycle) and its documents (the Gateway's expireAt and
    Firestore's TTL policy) are deleted. The consent text the app shows states
    it (retentionDays in /studio.json), so the promise and the deletion agree.
  EOT

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 3650 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number of days between 1 and 3650."
  }
}

variable "model_bucket" {
  type        = string
  default     = null
  description = <<-EOT
    An existing bucket that holds the worker's models under models/, shared by
    several events so multi-gigabyte models are uploaded once. Default: a
    bucket is created for this event (and deleted with it).
  EOT
}

variable "manage_firestore" {
  type        = bool
  default     = true
  description = <<-EOT
    Create the project's (default) Firestore database, its index and its
    security rules, and delete them on destroy. Set false when the database
    already exists or another event's stack in the same project manages it.
  EOT
}

variable "firestore_location" {
  type        = string
  default     = null
  description = "Location of the (default) Firestore database (a region or nam5/eur3); default: var.region. The Eventarc triggers must live there too."
}

#
# Queue
#

variable "queue_prefix" {
  type        = string
  default     = null
  description = "Prefix of the RabbitMQ exchange and queue names (QUEUE_PREFIX); default: var.event."
}

variable "rabbitmq_machine_type" {
  type        = string
  default     = "e2-small"
  description = "Machine type of the RabbitMQ VM."
}

variable "rabbitmq_disk_gb" {
  type        = number
  default     = 10
  description = "Size of the persistent disk mounted at /var/lib/rabbitmq."
}

#
# Gateway
#

variable "functions_runtime" {
  type        = string
  default     = "go126"
  description = "Cloud Functions runtime of the Gateway and Notify. go.mod says go 1.26, so an older runtime would have to download a toolchain during the build."
}

variable "gateway_max_instances" {
  type        = number
  default     = 20
  description = "Most Gateway instances."
}

variable "max_upload_bytes" {
  type        = number
  default     = 15728640
  description = "Largest accepted photo upload in bytes (MAX_UPLOAD_BYTES)."
}

variable "signed_url_expiry" {
  type        = string
  default     = "24h"
  description = "Lifetime of the signed download URLs the Gateway and Notify hand out (SIGNED_URL_EXPIRY, a Go duration, at most 168h)."
}

variable "log_level" {
  type        = string
  default     = "info"
  description = "LOG_LEVEL of every component: debug, info, warn or error."

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

#
# Web app (hosting.tf)
#

variable "event_title" {
  type        = string
  default     = null
  description = "Name of the event the web app shows (eventName in /studio.json), e.g. \"Spring Gala 2026\"; default: var.event."
}

variable "hosting_site" {
  type        = string
  default     = null
  description = <<-EOT
    Firebase Hosting site id of the web app (the app is at https://SITE.web.app).
    Default: "<event>-<8 hex digits of the project's hash>" (hosting.tf). Set it
    only if that id is taken; then add its two domains to project/'s
    extra_authorized_domains, which derives only the default ids.
  EOT

  validation {
    # Shaped like a project ID (6-30 characters), as every default site is.
    condition     = var.hosting_site == null || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.hosting_site))
    error_message = "hosting_site must be 6-30 lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "extra_app_origins" {
  type        = list(string)
  default     = []
  description = <<-EOT
    More origins of the web app the Gateway answers CORS for, besides the
    site's https://SITE.web.app and https://SITE.firebaseapp.com, e.g. a custom
    domain connected to the site: ["https://photos.example.com"]. Its domain
    also goes into project/'s extra_authorized_domains.
  EOT

  validation {
    # The Gateway refuses anything but scheme://host[:port] (APP_ORIGINS).
    condition     = alltrue([for o in var.extra_app_origins : can(regex("^https?://[^/?#]+$", o))])
    error_message = "extra_app_origins must be origins: scheme://host[:port], without a path."
  }
}

variable "google_client_id" {
  type        = string
  default     = null
  description = <<-EOT
    The OAuth web client id given to project/ for Google sign-in (it is public:
    every sign-in page shows it). Written to /studio.json as googleClientId, so
    the app offers "Sign in with Google"; null (the default) leaves Google
    sign-in out of the app.
  EOT

  validation {
    condition     = var.google_client_id == null || can(regex("\\.apps\\.googleusercontent\\.com$", var.google_client_id))
    error_message = "google_client_id must be an OAuth client id (...apps.googleusercontent.com)."
  }
}

#
# Worker
#

variable "worker_image" {
  type        = string
  default     = ""
  description = <<-EOT
    Container image of the worker, e.g. the worker_image_repository output
    followed by /worker:TAG. Empty (the default) builds everything except the
    worker, so the first apply can create the registry the image is pushed to.
  EOT
}

variable "worker_min_instances" {
  type        = number
  default     = 0
  description = <<-EOT
    Fewest worker instances (GPUs) the autoscaler keeps, whatever the queue.
    0 (the default) lets the worker pool scale to zero when the job queue is
    empty: no GPU cost, and queued jobs wait in RabbitMQ (durable) until an
    instance starts. Keep instances warm during booth hours with booth_hours
    rather than raising this for the whole event.
  EOT

  validation {
    condition     = var.worker_min_instances >= 0 && floor(var.worker_min_instances) == var.worker_min_instances
    error_message = "worker_min_instances must be a whole number, 0 or more."
  }
}

variable "worker_max_instances" {
  type        = number
  default     = 1
  description = "Most worker instances the autoscaler starts (each holds one L4; bounded by the project's GPU quota)."

  validation {
    condition     = var.worker_max_instances >= 1 && floor(var.worker_max_instances) == var.worker_max_instances
    error_message = "worker_max_instances must be a whole number, 1 or more."
  }
}

variable "worker_queue_target" {
  type        = number
  default     = 2
  description = <<-EOT
    Ready jobs in the queue per worker instance that the autoscaler aims for
    (KEDA's RabbitMQ QueueLength "value"): instances = ceil(ready / this),
    between worker_min_instances and worker_max_instances. Jobs a worker
    already holds (its prefetch, worker_slots) are not counted.
  EOT

  validation {
    condition     = var.worker_queue_target >= 1 && floor(var.worker_queue_target) == var.worker_queue_target
    error_message = "worker_queue_target must be a whole number, 1 or more."
  }
}

variable "booth_hours" {
  type = list(object({
    timezone  = string # IANA name, e.g. "Europe/Amsterdam"
    start     = string # cron, e.g. "0 9 * * *"
    end       = string # cron, e.g. "0 18 * * *"
    instances = number # workers kept warm in between
  }))
  default     = []
  description = <<-EOT
    Windows in which the autoscaler keeps at least `instances` workers
    running even with an empty queue, so booth jobs do not wait for a GPU to
    start (KEDA cron trigger; the queue trigger can still add more). Outside
    them the pool follows the queue alone down to worker_min_instances.
  EOT

  validation {
    condition     = alltrue([for w in var.booth_hours : w.instances >= 1 && floor(w.instances) == w.instances])
    error_message = "booth_hours instances must be whole numbers, 1 or more."
  }
}

variable "autoscaler_polling_seconds" {
  type        = number
  default     = 15
  description = "How often the autoscaler reads the queue depth (CREMA pollingInterval)."

  validation {
    condition     = var.autoscaler_polling_seconds >= 5 && var.autoscaler_polling_seconds <= 300
    error_message = "autoscaler_polling_seconds must be between 5 and 300."
  }
}

variable "autoscaler_scale_down_seconds" {
  type        = number
  default     = 300
  description = <<-EOT
    How long the queue must ask for fewer workers before the autoscaler
    removes one (HPA scaleDown stabilizationWindowSeconds). The ready-queue
    depth drops to zero as soon as the workers have taken the jobs, so a
    short window would stop workers while they generate.
  EOT
}

variable "autoscaler_image" {
  type        = string
  default     = "us-central1-docker.pkg.dev/cloud-run-oss-images/crema-v1/autoscaler:1.2"
  description = "Google's prebuilt CREMA image (github.com/GoogleCloudPlatform/cloud-run-external-metrics-autoscaling, tag 1.2: KEDA 2.20)."
}

variable "autoscaler_base_image" {
  type        = string
  default     = "us-central1-docker.pkg.dev/serverless-runtimes/google-24/runtimes/java25"
  description = "Runtime base image CREMA runs on (its image is built FROM scratch for automatic base image updates)."
}

variable "worker_slots" {
  type        = number
  default     = 2
  description = "Jobs in hand per worker instance, which is also its RabbitMQ prefetch (WORKER_SLOTS). Two with one generation lets the next job download while the current one generates; preemption keeps a booth job from waiting for either."

  validation {
    condition     = var.worker_slots >= 1 && var.worker_slots <= 64 && floor(var.worker_slots) == var.worker_slots
    error_message = "worker_slots must be a whole number between 1 and 64."
  }
}

variable "worker_generations" {
  type        = number
  default     = 1
  description = "Concurrent generations per instance (WORKER_GENERATIONS): one per GPU; 0 means as many as worker_slots."

  validation {
    condition     = var.worker_generations >= 0 && floor(var.worker_generations) == var.worker_generations
    error_message = "worker_generations must be a whole number, 0 or more."
  }
}

variable "worker_grace" {
  type        = string
  default     = "8s"
  description = "How long a stopping worker lets running generations finish (WORKER_GRACE). Cloud Run kills the container 10s after SIGTERM, so keep it below that."
}

variable "generated_styles" {
  type        = bool
  default     = true
  description = "Offer the generated styles, drawn by a hosted model on Vertex AI and billed per image (GENERATED_STYLES on the Gateway; the worker's custom role that calls the model, vertex.tf). false: local styles only, no photo leaves the project."
}

variable "generated_budget_usd" {
  type        = number
  default     = 0
  description = "The event's budget for generated images at list price, in US dollars (GENERATED_BUDGET_USD): past it the Gateway refuses generated styles (429) and the app offers the local ones. 0: no budget."

  validation {
    condition     = var.generated_budget_usd >= 0
    error_message = "generated_budget_usd must be 0 (no budget) or a positive amount in US dollars."
  }
}

variable "vertex_location" {
  type        = string
  default     = "global"
  description = "Vertex AI location the worker calls the model in (VERTEX_LOCATION). global: Google routes each call to a region with capacity (fewer 429s), without saying which; name a region that serves the model (Vertex AI's model locations table) to keep the processing there."
}

variable "vertex_model" {
  type        = string
  default     = "gemini-2.5-flash-image"
  description = "The hosted image model of the generated styles (VERTEX_MODEL); a style's own model in styles.json wins. Its list price per image is the catalogue's (styles.json generated.priceUSD): change both together."
}

variable "ort_library_path" {
  type        = string
  default     = "/opt/onnxruntime/lib/libonnxruntime.so"
  description = "Path of the CUDA-enabled ONNX Runtime shared library inside the worker image (ORT_LIBRARY_PATH)."
}

#
# Notify (email)
#

variable "smtp_host" {
  type        = string
  description = "SMTP relay that Notify sends email through."
}

variable "smtp_port" {
  type        = number
  default     = 587
  description = "SMTP port."
}

variable "smtp_user" {
  type        = string
  description = "SMTP user name."
}

variable "smtp_password" {
  type        = string
  sensitive   = true
  ephemeral   = true
  description = "SMTP password; stored in Secret Manager and given to Notify as SMTP_PASSWORD. Pass it as TF_VAR_smtp_password rather than on the command line."
}

variable "secrets_version" {
  type        = number
  default     = 1
  description = <<-EOT
    Version of the write-only secrets (the SMTP password, the broker URL). They
    never enter the state, so Terraform cannot see them change: raise this to
    send a new SMTP password or to generate a new broker password (then restart
    the broker VM so it takes the new one).
  EOT
}

variable "smtp_from" {
  type        = string
  description = "From address of the notification emails, e.g. \"Tiger Studio <studio@example.com>\"."
}

variable "smtp_starttls" {
  type        = bool
  default     = true
  description = "Upgrade the SMTP connection with STARTTLS."
}

variable "notify_max_instances" {
  type        = number
  default     = 10
  description = "Most Notify instances."
}

#
# Notify (text messages and web push; README, "Notification channels")
#

variable "sms_provider" {
  type        = string
  default     = "off"
  description = "Text messages with the pick-up link: \"off\", or \"twilio\" (Twilio's Messages API; set twilio_account_sid, twilio_from and TF_VAR_twilio_auth_token)."

  validation {
    condition     = contains(["off", "twilio"], var.sms_provider)
    error_message = "sms_provider must be \"off\" or \"twilio\"."
  }
}

variable "twilio_account_sid" {
  type        = string
  default     = ""
  description = "Twilio account SID (AC followed by 32 hex digits); not a secret."

  validation {
    condition     = var.sms_provider != "twilio" || can(regex("^AC[0-9a-f]{32}$", var.twilio_account_sid))
    error_message = "With sms_provider = \"twilio\", twilio_account_sid must be the account SID (AC and 32 hex digits)."
  }
}

variable "twilio_auth_token" {
  type        = string
  default     = ""
  sensitive   = true
  ephemeral   = true
  description = "Twilio auth token; stored in Secret Manager (write-only, var.secrets_version sends a new one) and given to Notify as TWILIO_AUTH_TOKEN. Pass it as TF_VAR_twilio_auth_token."
}

variable "twilio_from" {
  type        = string
  default     = ""
  description = "Sender of the texts: a Twilio number in E.164 (+15005550006), an alphanumeric sender id where the country allows one, or a Messaging Service SID (MG...)."

  validation {
    condition     = var.sms_provider != "twilio" || var.twilio_from != ""
    error_message = "With sms_provider = \"twilio\", twilio_from names the sender."
  }
}

variable "web_push_vapid_key" {
  type        = string
  default     = ""
  description = "Public key of the Firebase project's Web Push certificate (Firebase console, Project settings, Cloud Messaging, Web Push certificates; not a secret): /studio.json's vapidKey. Empty: the app offers no push."

  validation {
    condition     = var.web_push_vapid_key == "" || can(regex("^[A-Za-z0-9_-]{86,88}$", var.web_push_vapid_key))
    error_message = "web_push_vapid_key is the base64url public key (87 characters) of a Web Push certificate."
  }
}

#
# Derived values
#

locals {
  queue_prefix       = coalesce(var.queue_prefix, var.event)
  zone               = coalesce(var.zone, "${var.region}-b")
  firestore_location = coalesce(var.firestore_location, var.region)

  labels = {
    app   = "tiger-studio"
    event = var.event
  }

  # Private addresses. Each event has its own VPC, so these ranges may repeat
  # across events.
  subnet_cidr    = "10.10.0.0/24" # the RabbitMQ VM
  connector_cidr = "10.8.0.0/28"  # Serverless VPC Access: Gateway and autoscaler egress
  worker_cidr    = "10.10.1.0/24" # Direct VPC egress of the worker pool
}

variable "reconcile_schedule" {
  type        = string
  default     = "*/5 * * * *"
  description = "Cron schedule of the Reconcile and NotifySweep passes (Cloud Scheduler)."
}

variable "app_check" {
  type        = bool
  default     = true
  description = "Firebase App Check with reCAPTCHA Enterprise for the web app: the Gateway accepts job submissions only from the event's app (appcheck.tf). false: off."
}
