# Firebase Auth for the web app's sign-in (DESIGN.md, "Web app";
# ../../README.md, "Web app"): email link and guest (anonymous) for attendees,
# email and password for the booth staff's kiosk, Google when an OAuth client
# is given. One configuration per project, shared by every event, so it lives
# here and no event's destroy touches it.

# Firebase on the project: the web apps, Hosting sites and Auth of the events
# hang off it. It cannot be removed again; destroying this resource only
# forgets it.
resource "google_firebase_project" "default" {
  count    = var.add_firebase ? 1 : 0
  provider = google-beta

  project = var.project

  depends_on = [google_project_service.apis]
}

locals {
  # The event stacks' site ids (../hosting.tf, hosting_site_id, which
  # ../hosting_test.go checks against this one).
  event_sites = [for e in var.events : "${e}-${substr(sha256(var.project), 0, 8)}"]

  # The project's own Firebase domains stay: PROJECT.firebaseapp.com is the
  # authDomain of every web app's config (init.json), where Google sign-in's
  # handler runs.
  authorized_domains = distinct(concat(
    ["${var.project}.firebaseapp.com", "${var.project}.web.app"],
    flatten([for s in local.event_sites : ["${s}.web.app", "${s}.firebaseapp.com"]]),
    var.extra_authorized_domains,
  ))
}

# Creating it turns on Firebase Authentication with Identity Platform
# (identitytoolkit), which needs billing on the project; Google offers no way
# to delete it, so destroy only forgets it.
resource "google_identity_platform_config" "auth" {
  provider = google-beta

  project = var.project

  # Guests' accounts go after 30 days without use; their photos are deleted
  # after the event's retention (7 days by default) anyway.
  autodelete_anonymous_users = true

  sign_in {
    allow_duplicate_emails = false

    # Guests: "Continue as guest"; linked to an email later, keeping the uid.
    anonymous {
      enabled = true
    }

    # Without a required password the email provider takes both the email
    # link (attendees) and email and password (booth staff on the kiosk).
    email {
      enabled           = true
      password_required = false
    }
  }

  # The whole list: what is not here is removed (including Firebase's default
  # "localhost"; see extra_authorized_domains).
  authorized_domains = local.authorized_domains

  # AuthBlocking (authblock.tf) runs before every account is created and
  # before every sign-in; Identity Platform names the URL registered here as
  # the blocking token's audience, which is the function's
  # AUTH_BLOCKING_AUDIENCE. It reads the event, the sign-in method and the
  # user's uid and claims only, so no provider credentials are forwarded
  # (forward_inbound_credentials).
  blocking_functions {
    triggers {
      event_type   = "beforeCreate"
      function_uri = module.authblock.url
    }
    triggers {
      event_type   = "beforeSignIn"
      function_uri = module.authblock.url
    }
  }

  depends_on = [google_project_service.apis, google_firebase_project.default, time_sleep.invoker_iam]
}

# "Sign in with Google" only with an OAuth web client, which Terraform cannot
# create (../README.md, "Once per project": the console step).
resource "google_identity_platform_default_supported_idp_config" "google" {
  count    = var.google_client_id == null ? 0 : 1
  provider = google-beta

  project       = var.project
  idp_id        = "google.com"
  client_id     = var.google_client_id
  client_secret = var.google_client_secret
  enabled       = true

  depends_on = [google_identity_platform_config.auth]
}

output "authorized_domains" {
  description = "Domains Firebase Auth accepts sign-ins from; the OAuth client's authorized JavaScript origins are https:// and each event site's domains."
  value       = local.authorized_domains
}

output "google_client_id" {
  description = "OAuth web client id of Google sign-in (null when off); give it to each event stack as google_client_id."
  value       = var.google_client_id
}
