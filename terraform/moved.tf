# Where resources of this stack had other addresses before (the refactors of
# issue 21): a stack applied then moves its state on its next apply instead
# of destroying and re-creating (an IAM member destroyed after its identical
# replacement was created would take the grant with it). Nothing here
# declares or changes a resource; TestFunctionMoves checks each move.

# The Firestore grant (firestore.tf), one resource per account before.
moved {
  from = google_project_iam_member.gateway_firestore
  to   = google_project_iam_member.firestore["gateway"]
}

moved {
  from = google_project_iam_member.notify_firestore
  to   = google_project_iam_member.firestore["notify"]
}

moved {
  from = google_project_iam_member.worker_firestore
  to   = google_project_iam_member.firestore["worker"]
}

# The composite indexes (firestore.tf), single resources before.
moved {
  from = google_firestore_index.requests_by_user[0]
  to   = google_firestore_index.composite["requests(uid ASCENDING,createdAt DESCENDING,__name__ DESCENDING)"]
}

moved {
  from = google_firestore_index.requests_booth[0]
  to   = google_firestore_index.composite["requests(event ASCENDING,priority ASCENDING,createdAt DESCENDING,__name__ DESCENDING)"]
}

moved {
  from = google_firestore_index.requests_queued[0]
  to   = google_firestore_index.composite["requests(event ASCENDING,priority ASCENDING,enqueuedAt ASCENDING,__name__ ASCENDING)"]
}

moved {
  from = google_firestore_index.responses_queued[0]
  to   = google_firestore_index.composite["responses(event ASCENDING,priority ASCENDING,enqueuedAt ASCENDING,__name__ ASCENDING)"]
}

moved {
  from = google_firestore_index.responses_recent[0]
  to   = google_firestore_index.composite["responses(event ASCENDING,completedAt DESCENDING,__name__ DESCENDING)"]
}

# The Gateway (gateway.tf), declared by hand before modules/go-function.
moved {
  from = google_cloudfunctions2_function.gateway
  to   = module.gateway.google_cloudfunctions2_function.this
}

# Notify (notify.tf), declared by hand before modules/go-function.
moved {
  from = google_cloudfunctions2_function.notify
  to   = module.notify.google_cloudfunctions2_function.this
}

# The broker URL's readers (rabbitmq.tf), one resource per account before.
moved {
  from = google_secret_manager_secret_iam_member.gateway_amqp
  to   = google_secret_manager_secret_iam_member.amqp_url["gateway"]
}

moved {
  from = google_secret_manager_secret_iam_member.worker_amqp
  to   = google_secret_manager_secret_iam_member.amqp_url["worker"]
}

moved {
  from = google_secret_manager_secret_iam_member.autoscaler_amqp
  to   = google_secret_manager_secret_iam_member.amqp_url["autoscaler"]
}

moved {
  from = google_secret_manager_secret_iam_member.rabbitmq_amqp
  to   = google_secret_manager_secret_iam_member.amqp_url["rabbitmq"]
}

# Reconcile and NotifySweep (scheduled.tf), declared by hand before
# modules/go-function.
moved {
  from = google_cloudfunctions2_function.reconcile
  to   = module.reconcile.google_cloudfunctions2_function.this
}

moved {
  from = google_cloudfunctions2_function.notify_sweep
  to   = module.notify_sweep.google_cloudfunctions2_function.this
}

# The job buckets (storage.tf), one resource each before.
moved {
  from = google_storage_bucket.input
  to   = google_storage_bucket.jobs["input"]
}

moved {
  from = google_storage_bucket.output
  to   = google_storage_bucket.jobs["output"]
}

# The URL signers' grants (storage.tf), one resource per account before.
moved {
  from = google_service_account_iam_member.gateway_sign
  to   = google_service_account_iam_member.url_signer["gateway"]
}

moved {
  from = google_service_account_iam_member.notify_sign
  to   = google_service_account_iam_member.url_signer["notify"]
}

moved {
  from = google_storage_bucket_iam_member.gateway_output
  to   = google_storage_bucket_iam_member.url_signer["gateway"]
}

moved {
  from = google_storage_bucket_iam_member.notify_output
  to   = google_storage_bucket_iam_member.url_signer["notify"]
}

# The build account and its grants (storage.tf), declared here before
# modules/function-builder (project/authblock.tf moves its own alike).
moved {
  from = google_service_account.build
  to   = module.build.google_service_account.this
}

moved {
  from = google_project_iam_member.build_logs
  to   = module.build.google_project_iam_member.logs
}

moved {
  from = google_artifact_registry_repository_iam_member.build_images
  to   = module.build.google_artifact_registry_repository_iam_member.images
}

moved {
  from = google_project_iam_member.build_function_sources
  to   = module.build.google_project_iam_member.function_sources
}

moved {
  from = google_storage_bucket_iam_member.build_source_reader
  to   = module.build.google_storage_bucket_iam_member.source
}

# The function source's bucket and object (storage.tf), declared here before
# modules/function-source (project/authblock.tf moves its own alike; the
# archive is a data source, which has no state to move).
moved {
  from = google_storage_bucket.source
  to   = module.source.google_storage_bucket.this
}

moved {
  from = google_storage_bucket_object.source
  to   = module.source.google_storage_bucket_object.this
}
