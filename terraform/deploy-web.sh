#!/usr/bin/env bash
# Publishes the built web app (web/dist) to the event's Firebase Hosting site.
# make deploy runs it after terraform apply, in the event's workspace:
#
#   terraform/deploy-web.sh PROJECT
#
# It writes web/dist/studio.json from the stack's outputs (gatewayUrl, event,
# eventName, retentionDays, appCheck, the notification channels and vapidKey
# where the stack has them, googleClientId when Google sign-in is on; see
# web/src/config.ts), then deploys web/dist with firebase-tools (installed by
# make setup) to the site named by the hosting_site output. The repository's
# firebase.json also configures the emulators and names no site, so the deploy
# uses a generated config: its "hosting" settings with that site and web/dist.
# The Firebase web config comes from Hosting itself (/__/firebase/init.json,
# the web app tied to the site in hosting.tf). firebase-tools signs in with
# `firebase login` or, failing that, the application default credentials.
#
# FIREBASE overrides the firebase-tools binary (tests use a fake).
set -euo pipefail

die() {
	echo "deploy-web: $*" >&2
	exit 1
}

[[ $# -eq 1 && -n $1 ]] || die "usage: terraform/deploy-web.sh PROJECT (after terraform apply, in the event's workspace)"
project=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dist=$root/web/dist
firebase=${FIREBASE:-$root/emulators/node_modules/.bin/firebase}

command -v terraform >/dev/null || die "terraform is not installed"
command -v node >/dev/null || die "node is not installed (it writes studio.json and the Hosting config)"
[[ -x $firebase ]] || die "firebase-tools not found at $firebase: run make setup"
[[ -f $dist/index.html ]] || die "$dist/index.html is missing: build the app first (cd web && npm ci && npm run build)"

# All outputs at once, as JSON; none of them is a secret.
outputs=$(terraform -chdir="$root/terraform" output -json) || die "terraform output failed: apply the event's stack first"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Prints the site id and the app's URL, one per line.
info=$(TF_OUTPUTS=$outputs DIST=$dist ROOT_CONFIG=$root/firebase.json CONFIG=$tmp/firebase.json node - <<'EOF'
const fs = require("fs");
const env = process.env;
const outputs = JSON.parse(env.TF_OUTPUTS);
function output(name) {
  if (!(name in outputs)) {
    console.error(`deploy-web: terraform output ${name} is missing: apply the current terraform/ first`);
    process.exit(1);
  }
  return outputs[name].value;
}
const site = output("hosting_site");
const gatewayUrl = output("gateway_url");
const studio = { gatewayUrl, event: output("event"), eventName: output("event_name"), retentionDays: output("retention_days") };
// Optional: terraform leaves a null root output out of `output -json`, and
// google_client_id is null while Google sign-in is off.
const googleClientId = outputs.google_client_id?.value;
if (googleClientId) studio.googleClientId = googleClientId;
// Likewise app_check_site_key while App Check is off.
const siteKey = outputs.app_check_site_key?.value;
if (siteKey) studio.appCheck = { siteKey };
// The channels the upload screen offers, and web push's public key.
const channels = outputs.notify_channels?.value;
if (channels) studio.channels = channels;
const vapidKey = outputs.web_push_vapid_key?.value;
if (vapidKey) studio.vapidKey = vapidKey;
if (typeof site !== "string" || site === "") {
  console.error("deploy-web: the hosting_site output is empty");
  process.exit(1);
}
if (typeof gatewayUrl !== "string" || !gatewayUrl.startsWith("https://")) {
  console.error(`deploy-web: the gateway_url output is not an https URL: ${JSON.stringify(gatewayUrl)}`);
  process.exit(1);
}
fs.writeFileSync(`${env.DIST}/studio.json`, JSON.stringify(studio, null, 2) + "\n");
const hosting = JSON.parse(fs.readFileSync(env.ROOT_CONFIG, "utf8")).hosting;
fs.writeFileSync(env.CONFIG, JSON.stringify({ hosting: { ...hosting, site, public: env.DIST } }, null, 2) + "\n");
console.log(site);
console.log(output("app_url") || `https://${site}.web.app`);
EOF
) || die "could not write studio.json and the Hosting config"
site=$(sed -n 1p <<<"$info")
url=$(sed -n 2p <<<"$info")

echo "deploy-web: publishing $dist to Hosting site $site of $project"
"$firebase" deploy --only hosting --project "$project" --config "$tmp/firebase.json" --non-interactive \
	--message "tiger-studio $(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" ||
	die "firebase deploy to site $site failed (signed in? firebase login, or gcloud auth application-default login)"
echo "deploy-web: the app is at $url"
