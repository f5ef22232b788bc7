# Waits between IAM grants and their first use. IAM is eventually
# consistent: a new grant usually takes effect within a minute, and a use
# before that fails with a permission error that is gone on retry
# (cloud.google.com/iam/docs/access-change-propagation). Terraform creates a
# grant and, the moment the API answers, whatever depends on it. The first
# uses here are the function builds (run as EVENT-build), a new function or
# worker revision (Cloud Run checks that its account may read the secrets it
# mounts), the broker VM's first boot (it reads its password), and the
# first Eventarc delivery, Scheduler call and autoscaler start (each acting
# as its account on a function or the pool). Each waits 60 s after the
# grants it needs, as the provider's own cloudfunctions2 example with a
# build account does. first_apply_test.go checks that every account's
# grants sit behind a wait that each resource running as it depends on.

# The build account's rights: the four function builds, and the worker
# image's Cloud Build (make deploy targets this wait in its first apply).
resource "time_sleep" "build_iam" {
  create_duration = "60s"

  # The module's grants (Terraform waits for all its resources).
  depends_on = [module.build]
}

# The runtime accounts' rights that exist before what runs as them: the
# functions, the worker pool, the autoscaler and the broker VM.
resource "time_sleep" "runtime_iam" {
  create_duration = "60s"

  # The Vertex AI grant comes and goes with generated_styles: turning them
  # on in a later apply replaces this wait, so the worker waits for it.
  triggers = {
    worker_vertex = join(",", google_project_iam_member.worker_vertex[*].id)
    # So is Notify's Twilio grant with sms_provider.
    notify_twilio = join(",", google_secret_manager_secret_iam_member.notify_twilio[*].id)
  }

  depends_on = [
    # Grants to several accounts at once (a for_each each).
    google_project_iam_member.firestore,
    google_secret_manager_secret_iam_member.amqp_url,
    google_service_account_iam_member.url_signer,
    google_storage_bucket_iam_member.url_signer,
    google_storage_bucket_iam_member.gateway_input,
    google_project_iam_member.notify_fcm,
    google_project_iam_member.notify_auth,
    google_secret_manager_secret_iam_member.notify_smtp,
    google_secret_manager_secret_iam_member.notify_twilio,
    google_storage_bucket_iam_member.worker_output,
    google_storage_bucket_iam_member.worker_input,
    google_storage_bucket_iam_member.worker_models,
    google_project_iam_member.worker_vertex,
    google_project_iam_member.autoscaler_parameters,
    google_service_account_iam_member.autoscaler_acts_as_worker,
    google_project_iam_member.rabbitmq_logs,
    google_project_iam_member.events_receiver,
  ]
}

# Grants on what was just created (Notify and the scheduled functions, the
# worker pool), before the callers that use them: the Eventarc triggers,
# the Scheduler jobs, the autoscaler. The pool's grant appears only with the
# second apply (worker_image), when this wait exists already: the trigger
# replaces it then, so the autoscaler waits for its grant too.
resource "time_sleep" "invoker_iam" {
  create_duration = "60s"

  triggers = {
    autoscaler_scale = join(",", google_cloud_run_v2_worker_pool_iam_member.autoscaler_scale[*].id)
  }

  depends_on = [
    time_sleep.runtime_iam,
    google_cloud_run_v2_service_iam_member.events_invoke_notify,
    google_cloud_run_v2_service_iam_member.scheduler_invoker,
    google_cloud_run_v2_worker_pool_iam_member.autoscaler_scale,
  ]
}
