#!/usr/bin/env bash
# Builds the worker image with Cloud Build and pushes it to the event's
# registry (make deploy, from the repository root, in the event's
# workspace): build-worker-image.sh PROJECT REGION IMAGE
#
# The build runs as the event's build account (EVENT-build), not Cloud
# Build's default: new projects default to the Compute Engine default
# account, which the org policy iam.automaticIamGrantsForDefaultServiceAccounts
# leaves without roles. That account may write the event's registry and
# logs, and read the event's source bucket, where the repository is
# staged. A build with a user-named account must say where its logs go
# (cloudbuild.yaml: options.logging CLOUD_LOGGING_ONLY).
set -euo pipefail
if [[ $# -ne 3 ]]; then
	echo "usage: $0 PROJECT REGION IMAGE" >&2
	exit 2
fi
project=$1 region=$2 image=$3
tf=${TF:-terraform -chdir=terraform}

sa=$($tf output -raw build_service_account)
bucket=$($tf output -raw source_bucket)
if [[ -z "$sa" || -z "$bucket" ]]; then
	echo "$0: the stack has no build_service_account or source_bucket output: apply first" >&2
	exit 1
fi
echo "building $image with Cloud Build as $sa"
exec gcloud builds submit --project "$project" --region "$region" \
	--config terraform/cloudbuild.yaml --ignore-file=terraform/.gcloudignore \
	--service-account="projects/$project/serviceAccounts/$sa" \
	--gcs-source-staging-dir="gs://$bucket/cloudbuild" \
	--substitutions=_IMAGE="$image" .
