#!/usr/bin/env bash
# terraform destroy for make destroy (run from the repository root in the
# event's workspace; arguments: the -var and -var-file arguments).
#
# Cloud Run keeps a worker pool's Direct VPC addresses in the subnet for 1-2
# hours after the pool is deleted, and a subnet with addresses in use cannot
# be deleted: a plain destroy right after the pool fails "in use" on the
# worker subnet and leaves the network behind, with an error. So when the
# state holds the worker pool, this destroys everything but the network
# and the worker subnet (both free of charge), and says so; run make destroy
# again after that time to remove them. Without a pool (never deployed, or
# the second run) it is a plain destroy.
set -euo pipefail
tf=${TF:-terraform -chdir=terraform}
kept="google_compute_network.main google_compute_subnetwork.worker"

state=$($tf state list)
if ! grep -q '^google_cloud_run_v2_worker_pool\.worker' <<<"$state"; then
	if ! $tf destroy "$@"; then
		echo "make destroy: if the worker subnet is still \"in use\", Cloud Run has not yet released the worker pool's addresses (1-2 hours after the pool went): run make destroy again later." >&2
		exit 1
	fi
	exit 0
fi

# Each resource once (no instance keys: -target=X covers all of X's
# instances), data sources (a module's too) left out, the network and its
# worker subnet kept.
targets=()
declare -A seen=()
while read -r addr; do
	[[ -z "$addr" || "$addr" == data.* || "$addr" == *.data.* ]] && continue
	base=${addr%%[*}
	[[ " $kept " == *" $base "* || -n "${seen[$base]:-}" ]] && continue
	seen[$base]=1
	targets+=("-target=$base")
done <<<"$state"

echo "make destroy: the worker pool's subnet stays in use for 1-2 hours after the pool is deleted;"
echo "  this run keeps the network ($kept) and removes everything else."
$tf destroy "$@" "${targets[@]}"
echo
echo "make destroy: kept, free of charge: the network and the worker subnet (Cloud Run releases the"
echo "  worker pool's Direct VPC addresses 1-2 hours after the pool's deletion). Run make destroy"
echo "  again after that to remove them (then delete the workspace)."
