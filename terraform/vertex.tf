# Generated styles (issue 17): the worker's generate step sends the framed
# photo and the style's prompt to a hosted image model on Vertex AI (Gemini
# 2.5 Flash Image by default) as the worker's own service account, through
# Application Default Credentials; no API key exists anywhere. The API
# (aiplatform.googleapis.com) is enabled in apis.tf and project/.
#
# The narrowest right that calls the model: generateContent on a publisher
# model (projects/P/locations/L/publishers/google/models/M) is authorised by
# the permission aiplatform.endpoints.predict, which the REST reference lists
# for the predict family of methods on that resource. roles/aiplatform.user
# would also let the worker create and delete endpoints, datasets, training
# and batch jobs, notebooks and more across the project; this custom role
# carries the one permission. A custom role id is held for a while after its
# deletion, so the id is the event's, and an apply of the same event name
# soon after a destroy gets the provider's undelete of the same role.
#
# generated_styles = false leaves out the role and its grant (the worker then
# cannot call the model) and has the Gateway list and accept the local
# styles only (GENERATED_STYLES in gateway.tf).

locals {
  # Custom role ids allow letters, digits, underscores and dots only.
  vertex_role_id = "tigerStudio.${replace(var.event, "-", "_")}.vertexPredict"
}

resource "google_project_iam_custom_role" "vertex_predict" {
  count = var.generated_styles ? 1 : 0

  project     = var.project
  role_id     = local.vertex_role_id
  title       = "Tiger Studio ${var.event}: call Vertex AI models"
  description = "Only aiplatform.endpoints.predict: the worker's generate step calls generateContent on a Google publisher model (generated styles)."
  permissions = ["aiplatform.endpoints.predict"]

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "worker_vertex" {
  count = var.generated_styles ? 1 : 0

  project = var.project
  role    = google_project_iam_custom_role.vertex_predict[0].name
  member  = "serviceAccount:${google_service_account.worker.email}"
}
