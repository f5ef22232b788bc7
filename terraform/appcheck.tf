# Firebase App Check for the event's web app (issue 25, "abuse at the door"):
# a guest account costs nothing, so the Gateway accepts job submissions only
# with an App Check token that App Check issued to this app after reCAPTCHA
# Enterprise scored the browser (functions/gateway/appcheck.go). A score
# key, invisible to attendees, for the event's Hosting origins; App Check
# trades its assessment for tokens living an hour. The key and the provider
# config go with the event (destroy removes them); the APIs are project-wide
# (apis.tf). app_check = false turns the check off (the Gateway's
# APP_CHECK=off), e.g. for a closed event behind its own door.

resource "google_recaptcha_enterprise_key" "app" {
  count = var.app_check ? 1 : 0

  project      = var.project
  display_name = "Tiger Studio ${var.event}: web app"

  web_settings {
    integration_type  = "SCORE"
    allow_all_domains = false
    # Domains, not origins: the event's two Hosting domains and any extra
    # origins' hosts.
    allowed_domains = [for o in local.app_origins : regex("^https?://([^/:]+)", o)[0]]
  }

  depends_on = [google_project_service.apis]
}

resource "google_firebase_app_check_recaptcha_enterprise_config" "app" {
  count = var.app_check ? 1 : 0

  project   = var.project
  app_id    = google_firebase_web_app.app.app_id
  site_key  = google_recaptcha_enterprise_key.app[0].name
  token_ttl = "3600s"
}

output "app_check_site_key" {
  description = "reCAPTCHA Enterprise site key of the web app's App Check provider (appCheck.siteKey in /studio.json); null when app_check is off."
  value       = var.app_check ? google_recaptcha_enterprise_key.app[0].name : null
}
