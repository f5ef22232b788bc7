# Firestore (default) database, its composite indexes (declared once, with
# the queries they serve, in firestore_test.go) and the client
# security rules from ../firestore.rules.
#
# Firestore IAM cannot be narrowed to collections: the Gateway, the worker and
# Notify each get roles/datastore.user on the whole database, and the write
# scopes of DESIGN.md are enforced by their code (each component only has a
# writer for its own collections, and tests prove it). Clients never write;
# the rules below let them read their own documents.
#
# The (default) database is one per project. With manage_firestore = false
# this stack leaves it, its index and its rules to whoever manages them (an
# earlier event's stack, or the Firebase console).

# The one Firestore right, the same for the three accounts that use the
# database (above): the Gateway's, Notify's and the worker's, whether or not
# this stack manages the database.
resource "google_project_iam_member" "firestore" {
  for_each = {
    gateway = google_service_account.gateway
    notify  = google_service_account.notify
    worker  = google_service_account.worker
  }

  project = var.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${each.value.email}"
}

resource "google_firestore_database" "default" {
  count = var.manage_firestore ? 1 : 0

  project     = var.project
  name        = "(default)"
  location_id = local.firestore_location
  type        = "FIRESTORE_NATIVE"

  # DESIGN.md: terraform destroy removes it all, the attendees' documents
  # included. A database that must survive the event belongs to a stack with
  # manage_firestore = false.
  delete_protection_state = "DELETE_PROTECTION_DISABLED"
  deletion_policy         = "DELETE"

  depends_on = [google_project_service.apis]
}

# The composite indexes, one per entry of ../firestore.indexes.json (which the
# emulator and firebase deploy read too): one list, so the two cannot
# differ. firestore_test.go derives the indexes the code's queries need from
# the queries it declares and checks the file against them. Each index is
# keyed by its collection and fields, e.g. "requests(uid ASCENDING,
# createdAt DESCENDING,__name__ DESCENDING)".
locals {
  firestore_indexes = {
    for i in jsondecode(file("${path.module}/../firestore.indexes.json")).indexes :
    "${i.collectionGroup}(${join(",", [for f in i.fields : "${f.fieldPath} ${f.order}"])})" => i
  }
}

resource "google_firestore_index" "composite" {
  for_each = { for k, v in local.firestore_indexes : k => v if var.manage_firestore }

  project     = var.project
  database    = google_firestore_database.default[0].name
  collection  = each.value.collectionGroup
  query_scope = each.value.queryScope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.fieldPath
      order      = fields.value.order
    }
  }
}

resource "google_firebaserules_ruleset" "firestore" {
  count = var.manage_firestore ? 1 : 0

  project = var.project

  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/../firestore.rules")
    }
  }

  # A release must always point at a ruleset: create the new one first.
  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_firestore_database.default]
}

resource "google_firebaserules_release" "firestore" {
  count = var.manage_firestore ? 1 : 0

  project      = var.project
  name         = "cloud.firestore" # the release of the (default) database
  ruleset_name = "projects/${var.project}/rulesets/${google_firebaserules_ruleset.firestore[0].name}"

  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore[count.index]]
  }
}

output "firestore_location" {
  description = "Location of the (default) Firestore database and of the Eventarc triggers."
  value       = local.firestore_location
}

# The job documents expire with the event's retention (DESIGN.md): the
# Gateway writes expireAt (createdAt + RETENTION_DAYS) on each request, and
# the worker and Notify repeat it on theirs, so Firestore's TTL policy on
# expireAt deletes a job's documents together; devices/{uid} expires the
# retention after its latest registration. TTL deletion runs within about a
# day of expireAt (Google's stated bound); studioctl purge --expired catches up
# sooner. The field is not indexed: nothing queries it, and an indexed
# timestamp written in order is a write hot spot. TTL policies are per
# database, like the indexes, so they belong to the stack that manages it.
locals {
  ttl_collections = ["requests", "responses", "errors", "notifications", "devices"]
}

resource "google_firestore_field" "expire_at" {
  for_each = var.manage_firestore ? toset(local.ttl_collections) : toset([])

  project    = var.project
  database   = google_firestore_database.default[0].name
  collection = each.key
  field      = "expireAt"

  ttl_config {}
  index_config {}
}
