# Every input of the project root. Unlike an event's stack, nothing here
# carries an event's name: it is shared by every event in the project.

variable "project" {
  type        = string
  description = "Google Cloud project ID (a Firebase project)."
}

variable "region" {
  type        = string
  default     = "europe-west4"
  description = "Region of the AuthBlocking function (authblock.tf), its source bucket and image repository. Any Cloud Functions region; the events' region keeps sign-ins short."
}

variable "functions_runtime" {
  type        = string
  default     = "go126"
  description = "Cloud Functions runtime of AuthBlocking: the event stacks' functions_runtime (../variables.tf; go.mod says go 1.26)."
}

variable "add_firebase" {
  type        = bool
  default     = true
  description = <<-EOT
    Add Firebase to the project (google_firebase_project). Set false when it is
    already a Firebase project (the apply stops with 409 "Requested entity
    already exists"), or import it instead:
    terraform import 'google_firebase_project.default[0]' projects/PROJECT
  EOT
}

variable "events" {
  type        = list(string)
  default     = []
  description = <<-EOT
    Names of the events (the event stacks' var.event) whose web app may sign
    users in. Firebase Auth refuses email-link continue URLs and Google
    sign-in from domains it does not list, and the list is project-wide, so
    each event's Hosting site domains (SITE.web.app, SITE.firebaseapp.com,
    with SITE derived as ../hosting.tf does) are authorized from here. Add an
    event before its first sign-in and apply; removing it after the event
    withdraws the domains.
  EOT

  validation {
    # The event stack's rule for var.event (../variables.tf).
    condition     = alltrue([for e in var.events : can(regex("^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$", e))])
    error_message = "events must be event names: 1-20 lowercase letters, digits and hyphens, a letter first, no hyphen last."
  }
}

variable "extra_authorized_domains" {
  type        = list(string)
  default     = []
  description = <<-EOT
    More domains Firebase Auth accepts sign-ins from: an event's custom domain
    (its extra_app_origins), the two domains of a site whose id was set with
    hosting_site, or "localhost" to try the app against the real project from
    a development server.
  EOT

  validation {
    condition     = alltrue([for d in var.extra_authorized_domains : can(regex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", d))])
    error_message = "extra_authorized_domains must be bare domain names (no scheme, port or path)."
  }
}

variable "google_client_id" {
  type        = string
  default     = null
  description = <<-EOT
    Client id of an OAuth 2.0 web client (APIs & Services > Credentials) for
    "Sign in with Google". Null (the default) leaves the Google provider off.
    Give the same id to each event stack (its google_client_id) so the app
    shows the button.
  EOT

  validation {
    condition     = var.google_client_id == null || can(regex("\\.apps\\.googleusercontent\\.com$", var.google_client_id))
    error_message = "google_client_id must be an OAuth client id (...apps.googleusercontent.com)."
  }
}

variable "google_client_secret" {
  type        = string
  default     = null
  sensitive   = true
  description = <<-EOT
    Secret of that OAuth client. The provider has no write-only form of it, so
    it is kept in this root's state: keep the state private. Pass it as
    TF_VAR_google_client_secret rather than on the command line.
  EOT

  validation {
    # Both or neither: a client id without its secret cannot sign anyone in.
    condition     = (var.google_client_secret == null) == (var.google_client_id == null)
    error_message = "google_client_id and google_client_secret go together: set both, or neither."
  }
}
