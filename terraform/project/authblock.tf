# AuthBlocking: Identity Platform's blocking function for beforeCreate and
# beforeSignIn (../../functions/authblock; ../README.md, "Once per project").
# It refuses password sign-ups by clients and, when an address is proven (an
# email link, Google), removes a password set on the account before and
# revokes the account's earlier sessions. Identity Platform's configuration
# is one per project (auth.tf registers the function there) and so is this
# function: it serves every event's accounts and no event's destroy may take
# it away.
#
# Built as the event stacks build their functions (../storage.tf,
# ../gateway.tf), through the same modules under the same addresses, so
# that ../*_test.go check both roots alike: the repository zipped with the
# same exclusions (../modules/function-source,
# ../function-source-excludes.json), the build account
# (../modules/function-builder), the build's images in a repository of its
# own, the function itself (../modules/go-function). The two roots cannot
# share resources, so each has its own of each.

locals {
  authblock_name = "auth-blocking"

  # The function's URL as Cloud Functions gives it to a gen2 function (its
  # `url`, https://REGION-PROJECT.cloudfunctions.net/NAME). Identity Platform
  # calls the URL registered in auth.tf and names it as the blocking token's
  # audience, which the function checks against AUTH_BLOCKING_AUDIENCE. The
  # function cannot refer to its own attributes, so the URL is derived here
  # and the function's postcondition (expected_url below) fails the apply,
  # before auth.tf registers anything, should Cloud Functions answer another.
  authblock_url = "https://${var.region}-${var.project}.cloudfunctions.net/${local.authblock_name}"
}

#
# Source: the repository, zipped (../modules/function-source, as the event
# stacks' ../storage.tf); the object name carries its hash, so a code change
# rebuilds the function and an unchanged tree does not.
#

module "source" {
  source = "../modules/function-source"

  # The bucket waits for the Storage API (../modules/function-source/
  # variables.tf says why not a depends_on).
  project = google_project_service.apis["storage.googleapis.com"].project
  # Not "-source": PROJECT-auth-blocking-source would be the source bucket
  # of an event named auth-blocking.
  bucket_name = "${var.project}-auth-blocking-src"
  location    = var.region
  source_dir  = "${path.module}/../.."
  output_path = "${path.module}/.build/source.zip"
  excludes    = jsondecode(file("${path.module}/../function-source-excludes.json"))
}

resource "google_artifact_registry_repository" "images" {
  repository_id = local.authblock_name
  location      = var.region
  format        = "DOCKER"
  description   = "Tiger Studio: AuthBlocking function images"

  depends_on = [google_project_service.apis]
}

# The build account, with only the rights a build needs
# (../modules/function-builder, as the event stacks' ../storage.tf).
module "build" {
  source = "../modules/function-builder"

  project        = var.project
  project_number = data.google_project.this.number
  region         = var.region
  # Not "-build": that is the build account of an event named auth-blocking.
  account_id      = "auth-blocking-builder"
  display_name    = "Tiger Studio: AuthBlocking function builds"
  condition_title = "auth-blocking-function-sources"
  repository      = google_artifact_registry_repository.images
  source_bucket   = module.source.bucket
  source_object   = module.source.object
  runtime         = var.functions_runtime

  depends_on = [google_project_service.apis]
}

data "google_project" "this" {
  project_id = var.project
}

#
# The function's own account: it reads accounts (Identity Toolkit's
# accounts:lookup, firebaseauth.users.get) and changes them (removes the
# password provider, revokes refresh tokens: firebaseauth.users.update).
# firebaseauth.admin is the predefined role that holds both; nothing else.
#

resource "google_service_account" "authblock" {
  account_id   = local.authblock_name
  display_name = "Tiger Studio: AuthBlocking (Identity Platform blocking function)"

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "authblock_accounts" {
  project = var.project
  role    = "roles/firebaseauth.admin"
  member  = "serviceAccount:${google_service_account.authblock.email}"
}

# IAM takes up to a minute to apply everywhere (../iam_waits.tf): the build
# and the first revision wait for their grants.
resource "time_sleep" "build_iam" {
  create_duration = "60s"

  # The module's grants (Terraform waits for all its resources).
  depends_on = [module.build]
}

resource "time_sleep" "runtime_iam" {
  create_duration = "60s"

  depends_on = [google_project_iam_member.authblock_accounts]
}

module "authblock" {
  source = "../modules/go-function"

  project     = var.project
  name        = local.authblock_name
  location    = var.region
  description = "Tiger Studio: Identity Platform's beforeCreate and beforeSignIn checks"

  entry_point = "AuthBlocking"
  build       = module.build.function_build

  service_account_email = google_service_account.authblock.email

  # Identity Platform calls from outside any VPC; who may call is decided
  # by the public invoker below and the function's check of the signed
  # blocking token.
  ingress_settings = "ALLOW_ALL"

  # Identity Platform waits 7 s, then fails the sign-in: a whole CPU keeps
  # the cold start and the token check short, and serves several sign-ins
  # at once (a booth's queue signs in together). The Gateway's shape.
  available_cpu                    = "1"
  available_memory                 = "512Mi"
  max_instance_request_concurrency = 8
  min_instance_count               = 0
  max_instance_count               = 10
  timeout_seconds                  = 10

  environment_variables = {
    GCLOUD_PROJECT         = var.project
    AUTH_BLOCKING_AUDIENCE = local.authblock_url
    GOMEMLIMIT             = "400MiB"
  }

  # The function takes local.authblock_url as the blocking tokens' audience:
  # the module's postcondition fails the apply, before auth.tf registers
  # anything, if Cloud Functions gives it another URL (then correct
  # local.authblock_url).
  expected_url = local.authblock_url

  depends_on = [
    google_project_service.apis,
    time_sleep.build_iam,
    time_sleep.runtime_iam,
  ]
}

# Public, as Google's own tools deploy blocking functions (firebase-tools
# sets allUsers as invoker of every blocking function it deploys; Identity
# Platform's gcloud instructions use --allow-unauthenticated): Identity
# Platform's calls carry the blocking token in the body, and no documented
# Google identity calls with an OIDC token that a run.invoker grant could
# name. The function itself refuses any request whose token is not signed
# by Google for this project and this URL (../README.md, "Once per project").
# An organization policy restricting allUsers (iam.allowedPolicyMemberDomains)
# has to allow this one, as it does the Gateway.
resource "google_cloud_run_v2_service_iam_member" "authblock_public" {
  project  = var.project
  location = module.authblock.location
  name     = module.authblock.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Identity Platform calls the function from the moment auth.tf registers it:
# every sign-up and sign-in fails while the invoker grant is not in effect.
resource "time_sleep" "invoker_iam" {
  create_duration = "60s"

  depends_on = [google_cloud_run_v2_service_iam_member.authblock_public]
}

output "auth_blocking_url" {
  description = "URL of the AuthBlocking function, registered as Identity Platform's beforeCreate and beforeSignIn blocking function."
  value       = module.authblock.url
}
