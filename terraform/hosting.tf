# The web app's cloud side (DESIGN.md, "Web app"): a Firebase Web App and a
# Hosting site of the event's own, tied together so that Hosting serves the
# app's Firebase config at the site's reserved /__/firebase/init.json, which
# web/src/config.ts reads. make deploy publishes web/dist to the site after
# the apply (deploy-web.sh); the Gateway answers CORS for the site's origins.
#
# Sign-in settings (providers, authorized domains) are project-wide and live
# in project/, applied once per project; add the event to its `events` there
# so Firebase Auth accepts sign-ins from this site.

locals {
  # Site ids are global across all of Firebase (SITE.web.app), so the event
  # name alone would clash with any other project's event of that name. The
  # project is folded in as 8 hex digits of its hash rather than spelled out:
  # "PROJECT-EVENT" can reach 51 characters and truncating it would cut off
  # the event, the part that tells the sites of one project apart. The result
  # ("spring-gala-1a2b3c4d") has the shape of a project ID (6-30 lowercase
  # letters, digits and hyphens, a letter first, no hyphen last), which Hosting
  # accepts as a site id: every project's default site is named after its
  # project ID. project/ derives the same id for the authorized domains
  # (hosting_test.go checks that the two agree). hosting_site overrides it
  # should the id be taken.
  hosting_site_id = coalesce(var.hosting_site, "${var.event}-${substr(sha256(var.project), 0, 8)}")

  # Every Hosting site answers on both Firebase subdomains.
  app_origins = concat(
    ["https://${local.hosting_site_id}.web.app", "https://${local.hosting_site_id}.firebaseapp.com"],
    var.extra_app_origins,
  )
}

# The app's Firebase config (API key, project, authDomain). DELETE, not the
# ABANDON that would leave it in the project: destroy removes it with the
# event.
resource "google_firebase_web_app" "app" {
  provider = google-beta

  project         = var.project
  display_name    = "Tiger Studio ${var.event}"
  deletion_policy = "DELETE"

  depends_on = [google_project_service.apis]
}

# A user site of the event's own, not the project's default site: several
# events share a project, and destroy deletes this site only (each event's
# state holds only its own). app_id makes /__/firebase/init.json on this site
# serve the config of the web app above.
resource "google_firebase_hosting_site" "app" {
  provider = google-beta

  project = var.project
  site_id = local.hosting_site_id
  app_id  = google_firebase_web_app.app.app_id

  depends_on = [google_project_service.apis]
}

output "hosting_site" {
  description = "Firebase Hosting site id of the event's web app (deploy-web.sh deploys web/dist there)."
  value       = google_firebase_hosting_site.app.site_id
}

output "app_url" {
  description = "The web app's address (the event link and QR code for attendees)."
  value       = google_firebase_hosting_site.app.default_url
}

output "app_origins" {
  description = "Origins the Gateway answers CORS for (APP_ORIGINS)."
  value       = local.app_origins
}

output "event" {
  description = "The event's id (event in /studio.json): the app checks the staff claim against it."
  value       = var.event
}

output "retention_days" {
  description = "Days a job is kept (retentionDays in /studio.json): the consent text states them."
  value       = var.retention_days
}

output "event_name" {
  description = "Name of the event the app shows (eventName in /studio.json)."
  value       = coalesce(var.event_title, var.event)
}

output "google_client_id" {
  description = "OAuth web client id of Google sign-in (googleClientId in /studio.json); null when Google sign-in is off."
  value       = var.google_client_id
}
