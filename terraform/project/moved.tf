# Where resources of this root had other addresses before (the refactors of
# issue 21): a project applied then moves its state on its next apply instead
# of destroying and re-creating. Nothing here declares or changes a resource;
# TestFunctionMoves checks each move.

# The build account and its grants (authblock.tf), declared here before
# ../modules/function-builder (the event stacks' ../moved.tf moves theirs alike).
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

# The blocking function (authblock.tf), declared by hand before
# ../modules/go-function.
moved {
  from = google_cloudfunctions2_function.authblock
  to   = module.authblock.google_cloudfunctions2_function.this
}

# The function source's bucket and object (authblock.tf), declared here
# before ../modules/function-source (the event stacks' ../moved.tf moves
# theirs alike).
moved {
  from = google_storage_bucket.source
  to   = module.source.google_storage_bucket.this
}

moved {
  from = google_storage_bucket_object.source
  to   = module.source.google_storage_bucket_object.this
}
