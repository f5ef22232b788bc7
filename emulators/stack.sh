#!/usr/bin/env bash
# stack.sh: the local Tiger Studio stack (see DESIGN.md, "Local stack").
#
#   stack.sh setup              install what is missing (rabbitmq-server, npm deps,
#                               the web app's npm deps and Debian's chromium for
#                               its browser tests, the ONNX Runtime library, the
#                               models, Go modules)
#   stack.sh up                 start every part that does not run, in the background,
#                               and write .local/env; on a stack partly running (a
#                               part died) only the dead parts are started, the
#                               others are left alone with their data
#   stack.sh down               stop what `up` started (by pid file), remove .local/env
#   stack.sh status             say what runs; exit 0 only when the whole stack runs
#   stack.sh with-stack CMD... [--- CMD...]...
#                               start the stack unless it runs, run each CMD in turn
#                               with .local/env exported (all of them, also when one
#                               fails), stop the stack again if this call started it
#                               (not when it only restarted dead parts of a stack);
#                               exits 0 when every CMD succeeded, else with the first
#                               failing CMD's status
#   stack.sh rabbit-stop        stop our RabbitMQ node (data kept), for reconnect tests
#   stack.sh rabbit-start       start it again and wait until it accepts connections
#
# Go tests find this script through STACK_SCRIPT (written to .local/env), e.g.
#   exec.CommandContext(ctx, os.Getenv("STACK_SCRIPT"), "rabbit-stop").Run()
# Queues and messages survive rabbit-stop/rabbit-start. Calls
# are serialised with a lock, but packages run in parallel, so a test that
# stops the broker can disturb another package's test at that moment.
# Both fail (exit 1) when AMQP_URL names an external broker.
#
# Data: nothing here deletes any; `make clean` (rm -rf .local) does. What
# outlives a part's process, also a kill: RabbitMQ's durable queues and
# persistent messages (.local/rabbitmq/mnesia), the mails (.local/mail) and
# the bridge's state (.local/bridge.state, see emulators/bridge). What
# cannot: the Firestore, Auth and Storage emulators keep their data in
# memory, so one of them that dies, or `down`, loses it, and `up` starts it
# empty (and, unless the bridge runs, removes the bridge's state, which
# describes documents that are gone). RabbitMQ can then hold jobs whose
# documents are gone; the worker dead-letters them (no request document).
#
# Everything lives under .local/ (logs in .local/logs/<part>.log, pids in
# .local/pids/<part>.pid), or under STACK_DIR when set: a second, independent
# stack (other ports, other RABBITMQ_NODENAME) can run beside the first with
# its own STACK_DIR, e.g. in CI or to check changes to this script. Each part
# runs in its own process group (setsid), so stopping it also stops the
# children its launcher script spawned (the Firestore launcher runs java as a
# child, npx runs node).
#
# Settings, all optional (defaults in brackets):
#   GCLOUD_PROJECT [tiger-studio-local]   FIRESTORE_PORT [8086]  AUTH_PORT [9099]
#   STORAGE_PORT [9023]  GATEWAY_PORT [8090]  WORKER_PORT [8092]  NOTIFY_PORT [8091]  SMTP_PORT [2525]
#   VERTEX_STANDIN_PORT [9130; with another STACK_DIR the first free port from FIRESTORE_PORT+14]
#   SMS_PORT [2526; with another STACK_DIR the first free port from FIRESTORE_PORT+15]
#   RECONCILE_PORT [8093]  SWEEP_PORT [8094]
#   APPCHECK_STANDIN_PORT [9140; with another STACK_DIR the first free port from FIRESTORE_PORT+16]
#   AUTHBLOCK_PORT [8095; with another STACK_DIR the first free port from FIRESTORE_PORT+13]
#   WEB_PORT [5002; with another STACK_DIR the first free port from FIRESTORE_PORT+12]  WORKER_SLOTS [2]  INPUT_BUCKET [tiger-input]
#   OUTPUT_BUCKET [tiger-output]  QUEUE_PREFIX [tiger]
#   RABBITMQ_NODE_PORT [5673]  RABBITMQ_DIST_PORT [25673]  RABBITMQ_EPMD_PORT [24369]
#   RABBITMQ_NODENAME [tiger-studio@localhost]
#   AMQP_URL       use this broker instead of starting our own node
#   STACK_SKIP     parts not to start, comma or space separated
#                  (firestore auth storage smtp sms vertex appcheck rabbitmq gateway worker notify bridge
#                  reconcile sweep authblock web)
#   EVENT_NAME     the event's name the web app shows [Tiger Studio]
#   GOOGLE_CLIENT_ID  an OAuth web client id: the app offers "Continue with Google" (needs
#                  Google reachable; unset by default: no Google button locally)
#   STACK_TIMEOUT  seconds each part may take to answer [120]
#   STACK_DIR      where the stack's state lives [<repo>/.local]; relative to
#                  the current directory
# The worker also takes the rest of its settings (WORKER_GRACE, LOG_LEVEL,
# STYLES_FILE, ORT_LIBRARY_PATH, ...; see worker/config.go) from the
# environment of `up`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$ROOT/emulators/stack.sh"
LOCAL=${STACK_DIR:-$ROOT/.local}
[[ $LOCAL == /* ]] || LOCAL="$PWD/$LOCAL"
LOCAL=${LOCAL%/}
LOGS="$LOCAL/logs"
PIDS="$LOCAL/pids"
BIN="$LOCAL/bin"
ENV_FILE="$LOCAL/env"
# The settings of the running stack, so that later calls (rabbit-start from a
# Go test, down from another shell) use the same ports as `up` did.
CONF_FILE="$LOCAL/stack.conf"
RABBIT_DIR="$LOCAL/rabbitmq"
BRIDGE_STATE="$LOCAL/bridge.state"

# Start order; down stops in reverse. The gateway and the worker come last
# because they connect to the others when they start; down stops the worker
# first, so it can finish its in-flight jobs while the rest still runs.
# The web app (Hosting emulator) comes last: it only serves files.
PARTS=(firestore auth storage smtp sms vertex appcheck rabbitmq gateway worker notify bridge reconcile sweep authblock web)
# The parts of a stack whose stack.conf predates STACK_PARTS.
LEGACY_PARTS="firestore auth storage rabbitmq gateway"

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ---------------------------------------------------------------- settings

# default_port VAR PORT OFFSET: unless VAR is set, PORT for the default
# stack; a stack with its own STACK_DIR (the Go tests' second stacks, which
# set every other port, twelve from a base) gets the first free port from
# FIRESTORE_PORT+OFFSET on. stack.conf keeps what it got.
default_port() {
	local var=$1 port=$2 offset=$3
	[[ -z ${!var:-} ]] || return 0
	if [[ $LOCAL != "$ROOT/.local" ]]; then
		port=$(free_port $((FIRESTORE_PORT + offset)))
	fi
	printf -v "$var" '%s' "$port"
}

load_settings() {
	if [[ -f $CONF_FILE ]]; then
		# shellcheck source=/dev/null
		. "$CONF_FILE"
		# A stack started by an older version of this script has no worker.
		STACK_PARTS=${STACK_PARTS:-$LEGACY_PARTS}
	else
		STACK_PARTS=${PARTS[*]}
	fi
	GCLOUD_PROJECT=${GCLOUD_PROJECT:-tiger-studio-local}
	FIRESTORE_PORT=${FIRESTORE_PORT:-8086}
	AUTH_PORT=${AUTH_PORT:-9099}
	STORAGE_PORT=${STORAGE_PORT:-9023}
	GATEWAY_PORT=${GATEWAY_PORT:-8090}
	WORKER_PORT=${WORKER_PORT:-8092}
	WORKER_SLOTS=${WORKER_SLOTS:-2}
	RECONCILE_PORT=${RECONCILE_PORT:-8093}
	SWEEP_PORT=${SWEEP_PORT:-8094}
	# The default stack's app is on 5002 (see default_port).
	default_port WEB_PORT 5002 12
	default_port AUTHBLOCK_PORT 8095 13
	# The Vertex AI stand-in (emulators/vertex): the worker's generated
	# styles reach it through the Gen AI SDK's base URL.
	default_port VERTEX_STANDIN_PORT 9130 14
	EVENT_NAME=${EVENT_NAME:-Tiger Studio}
	# The Firebase App Check stand-in (emulators/appcheck): the web app
	# exchanges the stack's debug token there for App Check tokens, which
	# the Gateway demands on job submissions (APP_CHECK=enforce), as in the
	# cloud with reCAPTCHA Enterprise. A new debug token per stack.
	default_port APPCHECK_STANDIN_PORT 9140 16
	APP_CHECK_PROJECT_NUMBER=${APP_CHECK_PROJECT_NUMBER:-100000000001}
	APP_CHECK_APP_ID=${APP_CHECK_APP_ID:-1:$APP_CHECK_PROJECT_NUMBER:web:local}
	APP_CHECK_DEBUG_TOKEN=${APP_CHECK_DEBUG_TOKEN:-$(cat /proc/sys/kernel/random/uuid)}
	# The event's one retention setting (terraform's retention_days): the
	# Gateway's expireAt on every job and the days the consent text states.
	RETENTION_DAYS=${RETENTION_DAYS:-7}
	NOTIFY_PORT=${NOTIFY_PORT:-8091}
	SMTP_PORT=${SMTP_PORT:-2525}
	# The stand-in of Twilio's Messages API (emulators/sms) and the account
	# it accepts (made-up credentials: nothing leaves the machine).
	default_port SMS_PORT 2526 15
	SMS_ACCOUNT_SID=AC00000000000000000000000000570d1e
	SMS_AUTH_TOKEN=stand-in-auth-token
	INPUT_BUCKET=${INPUT_BUCKET:-tiger-input}
	OUTPUT_BUCKET=${OUTPUT_BUCKET:-tiger-output}
	QUEUE_PREFIX=${QUEUE_PREFIX:-tiger}
	RABBITMQ_NODE_PORT=${RABBITMQ_NODE_PORT:-5673}
	RABBITMQ_DIST_PORT=${RABBITMQ_DIST_PORT:-25673}
	RABBITMQ_EPMD_PORT=${RABBITMQ_EPMD_PORT:-24369}
	RABBITMQ_NODENAME=${RABBITMQ_NODENAME:-tiger-studio@localhost}
	STACK_TIMEOUT=${STACK_TIMEOUT:-120}
	STACK_SKIP=${STACK_SKIP:-}
	OWN_AMQP_URL="amqp://guest:guest@127.0.0.1:${RABBITMQ_NODE_PORT}/"
	# An AMQP_URL equal to our own node's URL is not an external broker: it
	# is what a shell that sourced an earlier .local/env still carries.
	if [[ -n ${AMQP_URL:-} && ${AMQP_URL} != "$OWN_AMQP_URL" ]]; then
		EXTERNAL_AMQP=1
	else
		EXTERNAL_AMQP=${EXTERNAL_AMQP:-0}
		AMQP_URL=$OWN_AMQP_URL
	fi
}

save_settings() {
	{
		local v
		for v in GCLOUD_PROJECT FIRESTORE_PORT AUTH_PORT STORAGE_PORT GATEWAY_PORT \
			WORKER_PORT WORKER_SLOTS NOTIFY_PORT RECONCILE_PORT SWEEP_PORT AUTHBLOCK_PORT WEB_PORT VERTEX_STANDIN_PORT APPCHECK_STANDIN_PORT APP_CHECK_PROJECT_NUMBER APP_CHECK_APP_ID APP_CHECK_DEBUG_TOKEN EVENT_NAME RETENTION_DAYS SMTP_PORT SMS_PORT INPUT_BUCKET OUTPUT_BUCKET QUEUE_PREFIX RABBITMQ_NODE_PORT \
			RABBITMQ_DIST_PORT RABBITMQ_EPMD_PORT RABBITMQ_NODENAME EXTERNAL_AMQP AMQP_URL \
			STACK_SKIP STACK_PARTS; do
			printf '%s=%q\n' "$v" "${!v}"
		done
	} >"$CONF_FILE"
}

# skipped PART: PART is not (to be) started in this stack.
skipped() {
	local part=$1
	[[ " ${STACK_SKIP//,/ } " == *" $part "* ]] && return 0
	[[ " $STACK_PARTS " == *" $part "* ]] || return 0
	[[ $part == rabbitmq && $EXTERNAL_AMQP == 1 ]] && return 0
	return 1
}

# ---------------------------------------------------------------- setup

as_root() {
	if [[ $(id -u) == 0 ]]; then
		"$@"
	else
		sudo "$@"
	fi
}

rabbit_bin_dir() {
	# Call the scripts in /usr/lib/rabbitmq/bin directly: the /usr/sbin
	# wrappers switch to the rabbitmq user when run as root (our node must
	# run as us, with files under .local/) and refuse other users.
	if [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
		echo /usr/lib/rabbitmq/bin
	else
		local s
		s=$(command -v rabbitmq-server 2>/dev/null) || return 1
		dirname "$(readlink -f "$s")"
	fi
}

cmd_setup() {
	local tool missing=()
	for tool in go node npm java gcloud curl setsid flock; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (see DESIGN.md, Local stack)"
	if ! rabbit_bin_dir >/dev/null 2>&1; then
		log "installing rabbitmq-server from Debian"
		as_root apt-get update
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server
	fi
	# npm ci only when node_modules is missing or older than the lock file.
	# Scripts stay off: firebase-tools needs none (re2 is optional and its
	# install script would try to download a binary), and npm versions
	# differ in whether they run them by default.
	local nm="$ROOT/emulators/node_modules"
	if [[ ! -x $nm/.bin/firebase || $ROOT/emulators/package-lock.json -nt $nm/.package-lock.json ]]; then
		log "npm ci in emulators/"
		(cd "$ROOT/emulators" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
	fi
	# The ONNX Runtime shared library for the worker's onnx backend (npm
	# onnxruntime-node); prints nothing when the pinned version is there.
	"$ROOT/worker/onnxruntime/install.sh"
	# The published models the AI styles run (npm packages, pinned and
	# checksummed); prints nothing when they are in place.
	"$ROOT/models/install.sh"
	# The web app's dependencies (web/package-lock.json), as for emulators/.
	local wnm="$ROOT/web/node_modules"
	if [[ ! -x $wnm/.bin/vite || $ROOT/web/package-lock.json -nt $wnm/.package-lock.json ]]; then
		log "npm ci in web/"
		(cd "$ROOT/web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
	fi
	# The browser the web app's end-to-end tests drive (playwright-core
	# launches it; no browser is ever downloaded).
	# fonts-noto-cjk: the Korean screens' screenshots need a Hangul font.
	if ! command -v chromium >/dev/null 2>&1 || [[ ! -d /usr/share/fonts/opentype/noto ]]; then
		log "installing chromium and fonts-noto-cjk from Debian"
		as_root apt-get update
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-cjk
	fi
	(cd "$ROOT" && go mod download)
}

# ---------------------------------------------------------------- processes

pidfile() { echo "$PIDS/$1.pid"; }

# alive PART: a process of the part's group still runs. The group, not the
# recorded process only: when a launcher dies alone (the Firestore
# emulator's shell script, whose java child serves and holds the data), the
# part still runs, and up must not replace it with an empty one.
alive() {
	local f pid
	f=$(pidfile "$1")
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ -n $pid ]] && group_alive "$pid"
}

# launch PART CMD...: start CMD in the background in a new session (so its
# process group id is its pid), output to the part's log, pid to its file.
launch() {
	local part=$1
	shift
	local logf="$LOGS/$part.log"
	# Credentials in URLs (AMQP_URL of an external broker) stay out of logs.
	printf '=== %s start %s: %s\n' "$part" "$(date -Is)" "$*" |
		sed -E 's#://[^:/@ ]+:[^@ ]*@#://***@#g' >>"$logf"
	setsid "$@" </dev/null >>"$logf" 2>&1 &
	echo $! >"$(pidfile "$part")"
}

# kill_part PART [GRACE]: TERM the part's process group, KILL it after GRACE
# seconds. Safe when the part is not running.
kill_part() {
	local part=$1 grace=${2:-20} f pid i
	f=$(pidfile "$part")
	[[ -f $f ]] || return 0
	pid=$(<"$f")
	# The group also when its leader is gone (see alive).
	if [[ -n $pid ]] && group_alive "$pid"; then
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < grace * 10; i++)); do
			group_alive "$pid" || break
			sleep 0.1
		done
		if group_alive "$pid"; then
			log "$part did not stop in ${grace}s, killing it"
			kill -KILL -- "-$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$f"
}

# group_alive PGID: a process other than a zombie is left in the group (a
# zombie is dead, although kill -0 succeeds on it where PID 1 does not reap
# orphans, as in some containers).
group_alive() {
	ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# free_port FROM: the first port from FROM on that nothing listens on now
# (FROM itself when all 50 are taken: up then says it is in use).
free_port() {
	local p
	for ((p = $1; p < $1 + 50; p++)); do
		port_open "$p" || {
			echo "$p"
			return 0
		}
	done
	echo "$1"
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_ok() { curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null; }

require_free_port() {
	local part=$1 port=$2 var=$3
	if port_open "$port"; then
		die "$part: port $port is already in use by another program; stop it or set $var to a free port"
	fi
}

# wait_ready PART CHECK...: poll CHECK until it succeeds. Fails when the
# part's process exits or STACK_TIMEOUT passes, showing the end of its log.
wait_ready() {
	local part=$1
	shift
	local deadline=$((SECONDS + STACK_TIMEOUT))
	while ! "$@"; do
		if ! alive "$part"; then
			part_failed "$part" "exited before it was ready"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			part_failed "$part" "did not answer within ${STACK_TIMEOUT}s"
			return 1
		fi
		sleep 0.5
	done
	log "$part ready"
}

part_failed() {
	log "error: $1 $2; last 30 lines of $LOGS/$1.log:"
	tail -n 30 "$LOGS/$1.log" >&2 || true
	if [[ $1 == rabbitmq ]]; then
		# The node writes its real log under .local/rabbitmq/log.
		local f
		for f in "$RABBIT_DIR/log/$RABBITMQ_NODENAME.log"; do
			[[ -f $f ]] || continue
			log "last 30 lines of $f:"
			tail -n 30 "$f" >&2 || true
		done
	fi
}

# ---------------------------------------------------------------- parts
# Each part has start_PART (launch it) and ready_PART (one readiness probe).

start_firestore() {
	require_free_port firestore "$FIRESTORE_PORT" FIRESTORE_PORT
	local sdk launcher rules="$ROOT/firestore.rules"
	sdk=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null) ||
		die "firestore: gcloud CLI not found"
	launcher="$sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator"
	command -v java >/dev/null 2>&1 || die "firestore: java not found (the emulator needs Java 11 or later)"
	[[ -x $launcher ]] ||
		die "firestore: $launcher missing; install it with: gcloud components install cloud-firestore-emulator (or apt-get install google-cloud-cli-firestore-emulator)"
	if [[ ! -f $rules ]]; then
		# Placeholder until the real rules exist: no client may touch anything.
		log "firestore: $rules missing, writing a deny-all placeholder"
		cat >"$rules" <<-'EOF'
			rules_version = '2';
			service cloud.firestore {
			  match /databases/{database}/documents {
			    match /{document=**} {
			      allow read, write: if false;
			    }
			  }
			}
		EOF
	fi
	launch firestore "$launcher" --host 127.0.0.1 --port "$FIRESTORE_PORT" \
		--rules "$rules" --project_id "$GCLOUD_PROJECT"
}
ready_firestore() { [[ $(curl -fsS --max-time 2 "http://127.0.0.1:$FIRESTORE_PORT/" 2>/dev/null) == Ok* ]]; }

start_auth() {
	require_free_port auth "$AUTH_PORT" AUTH_PORT
	local firebase="$ROOT/emulators/node_modules/.bin/firebase"
	[[ -x $firebase ]] || die "auth: $firebase missing; run make setup"
	local config="$LOCAL/firebase/firebase.json"
	mkdir -p "$LOCAL/firebase"
	# firebase.json fixes the port; the copy has the requested one, and hub
	# and logging ports of this stack's own (near its auth port), so two
	# stacks' firebase-tools never race for the defaults (4400, 4500).
	local hub
	hub=$(free_port $((AUTH_PORT + 300)))
	node -e 'const fs=require("fs"); const c=JSON.parse(fs.readFileSync(process.argv[1]));
		c.emulators.auth.port=Number(process.argv[2]);
		c.emulators.hub={host: "127.0.0.1", port: Number(process.argv[3])};
		c.emulators.logging={host: "127.0.0.1", port: Number(process.argv[4])};
		fs.writeFileSync(process.argv[5], JSON.stringify(c, null, 2));' \
		"$ROOT/firebase.json" "$AUTH_PORT" "$hub" "$(free_port $((hub + 1)))" "$config"
	# Run from .local/firebase: the CLI drops firebase-debug.log into its
	# working directory. CI=true skips the MOTD fetch (which can also
	# refuse to run a pinned CLI it deems too old) and the update notifier;
	# the emulator variables are removed so the CLI does not treat them as
	# its own configuration.
	# TMPDIR: the emulator hub writes its locator file (hub-<project>.json)
	# there; a stack of its own keeps it apart from another stack's.
	mkdir -p "$LOCAL/firebase/tmp"
	(cd "$LOCAL/firebase" && launch auth env -u FIREBASE_AUTH_EMULATOR_HOST -u FIRESTORE_EMULATOR_HOST \
		-u STORAGE_EMULATOR_HOST CI=true NO_UPDATE_NOTIFIER=1 TMPDIR="$LOCAL/firebase/tmp" \
		"$firebase" emulators:start --only auth --project "$GCLOUD_PROJECT" --config "$config")
}
ready_auth() { http_ok "http://127.0.0.1:$AUTH_PORT/"; }

start_storage() {
	require_free_port storage "$STORAGE_PORT" STORAGE_PORT
	launch storage "$BIN/emulators" storage -host 127.0.0.1 -port "$STORAGE_PORT" \
		-input-bucket "$INPUT_BUCKET" -output-bucket "$OUTPUT_BUCKET"
}
# Ready once both buckets are listed (they are created right after the
# listener opens).
ready_storage() {
	local body
	body=$(curl -fsS --max-time 2 "http://127.0.0.1:$STORAGE_PORT/storage/v1/b" 2>/dev/null) || return 1
	[[ $body == *"\"$INPUT_BUCKET\""* && $body == *"\"$OUTPUT_BUCKET\""* ]]
}

# The environment of every rabbitmq script call: a node of our own, separate
# from any system RabbitMQ (other node name, ports, epmd, cookie and files).
rabbit_env() {
	local bindir
	bindir=$(rabbit_bin_dir) || die "rabbitmq: rabbitmq-server not installed; run make setup"
	RABBIT_ENV=(
		env
		HOME="$RABBIT_DIR/home" # the Erlang cookie lives in $HOME
		RABBITMQ_NODENAME="$RABBITMQ_NODENAME"
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
		RABBITMQ_NODE_PORT="$RABBITMQ_NODE_PORT"
		RABBITMQ_DIST_PORT="$RABBITMQ_DIST_PORT"
		# Our own epmd on its own port, so stopping it cannot disturb a
		# system node, and `down` leaves no epmd behind.
		ERL_EPMD_PORT="$RABBITMQ_EPMD_PORT"
		ERL_EPMD_ADDRESS=127.0.0.1
		RABBITMQ_CONF_ENV_FILE="$RABBIT_DIR/rabbitmq-env.conf"
		RABBITMQ_CONFIG_FILE="$RABBIT_DIR/rabbitmq.conf"
		RABBITMQ_ADVANCED_CONFIG_FILE="$RABBIT_DIR/advanced.config"
		RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_DIR/enabled_plugins"
		RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia"
		RABBITMQ_LOG_BASE="$RABBIT_DIR/log"
		RABBITMQ_PID_FILE="$RABBIT_DIR/rabbit.pid"
		RABBITMQ_PLUGINS_EXPAND_DIR="$RABBIT_DIR/plugins-expand"
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
	)
	RABBIT_BIN=$bindir
}

rabbitmqctl() { "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmqctl" -n "$RABBITMQ_NODENAME" "$@"; }

# start_rabbitmq: the node keeps its queues and messages (mnesia) from its
# last run, as a real broker restart does, also when it was killed: only
# `make clean` empties it.
start_rabbitmq() {
	require_free_port rabbitmq "$RABBITMQ_NODE_PORT" RABBITMQ_NODE_PORT
	require_free_port rabbitmq "$RABBITMQ_DIST_PORT" RABBITMQ_DIST_PORT
	rabbit_env
	mkdir -p "$RABBIT_DIR/home" "$RABBIT_DIR/mnesia" "$RABBIT_DIR/log"
	: >"$RABBIT_DIR/rabbitmq-env.conf" # keep /etc/rabbitmq/rabbitmq-env.conf out
	echo '[].' >"$RABBIT_DIR/enabled_plugins"
	echo '[].' >"$RABBIT_DIR/advanced.config"
	cat >"$RABBIT_DIR/rabbitmq.conf" <<-EOF
		# Written by emulators/stack.sh for the local stack.
		listeners.tcp.1 = 127.0.0.1:$RABBITMQ_NODE_PORT
		# guest/guest works from loopback only, which is all we listen on.
		loopback_users.guest = true
		# A nearly full developer disk must not block publishers.
		disk_free_limit.absolute = 50MB
		log.file.level = info
		log.console = false
	EOF
	launch rabbitmq "${RABBIT_ENV[@]}" "$RABBIT_BIN/rabbitmq-server"
}
# Ready when the node finished booting and the AMQP port accepts connections.
ready_rabbitmq() {
	port_open "$RABBITMQ_NODE_PORT" && rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1
}

stop_rabbitmq() {
	if alive rabbitmq; then
		rabbit_env
		# A clean stop keeps the durable queues' data sound for rabbit-start.
		rabbitmqctl -q stop >/dev/null 2>&1 || log "rabbitmq: rabbitmqctl stop failed, killing the node"
	fi
	kill_part rabbitmq 30
}

stop_epmd() {
	local epmd
	epmd=$(command -v epmd 2>/dev/null) || return 0
	if ERL_EPMD_PORT=$RABBITMQ_EPMD_PORT "$epmd" -names >/dev/null 2>&1; then
		# -kill refuses while nodes are registered, and this epmd serves
		# only our port.
		ERL_EPMD_PORT=$RABBITMQ_EPMD_PORT "$epmd" -kill >/dev/null 2>&1 || true
		# -kill returns before the daemon is gone; a node started meanwhile
		# (up right after down) would register with the dying one and stop.
		local i
		for ((i = 0; i < 50; i++)); do
			port_open "$RABBITMQ_EPMD_PORT" || break
			sleep 0.1
		done
	fi
}

external_amqp_ready() {
	# amqp://user:pass@host:port/vhost -> host, port (default 5672)
	local hp=${AMQP_URL#*://}
	hp=${hp#*@}
	hp=${hp%%/*}
	local host=${hp%:*} port=5672
	[[ $hp == *:* ]] && port=${hp##*:}
	(exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# launch_function PART PORT_VAR TARGET [KEY=VALUE...]: the functions binary
# serving TARGET on the port $PORT_VAR names, with exactly what .local/env
# will say plus the functions framework's own settings and the given ones.
launch_function() {
	local part=$1 port_var=$2 target=$3
	shift 3
	require_free_port "$part" "${!port_var}" "$port_var"
	local vars
	mapfile -t vars < <(env_lines)
	launch "$part" env "${vars[@]}" FUNCTION_TARGET="$target" PORT="${!port_var}" "$@" "$BIN/functions"
}

start_gateway() {
	# Submissions need an App Check token from the stand-in (skipped: off).
	local appcheck=(APP_CHECK=off)
	if ! skipped appcheck; then
		appcheck=(APP_CHECK=enforce APP_CHECK_JWKS_URL="http://127.0.0.1:$APPCHECK_STANDIN_PORT/v1/jwks"
			APP_CHECK_PROJECT_NUMBER="$APP_CHECK_PROJECT_NUMBER" APP_CHECK_APP_IDS="$APP_CHECK_APP_ID")
	fi
	# GOMEMLIMIT as in the cloud (terraform/gateway.tf).
	launch_function gateway GATEWAY_PORT Gateway "${appcheck[@]}" GOMEMLIMIT=480MiB
}
ready_gateway() { http_ok "http://127.0.0.1:$GATEWAY_PORT/healthz"; }

start_worker() {
	require_free_port worker "$WORKER_PORT" WORKER_PORT
	if ! (cd "$ROOT" && go build -o "$BIN/worker" ./worker/cmd/worker) >>"$LOGS/worker.log" 2>&1; then
		part_failed worker "could not be built (go build ./worker/cmd/worker)"
		log "hint: STACK_SKIP=worker starts the rest of the stack without it"
		return 1
	fi
	# The same environment as the gateway, plus the worker's own port and
	# slots. It runs from the repository root, where the onnx backend looks
	# for the ONNX Runtime library (worker/onnxruntime, make setup) unless
	# ORT_LIBRARY_PATH says otherwise.
	local vars
	mapfile -t vars < <(env_lines)
	(cd "$ROOT" && launch worker env "${vars[@]}" PORT="$WORKER_PORT" WORKER_SLOTS="$WORKER_SLOTS" \
		MODEL_DIR="${MODEL_DIR:-$ROOT/models}" "$BIN/worker")
}
# Ready once it holds a broker session (/readyz answers 503 until then).
ready_worker() { http_ok "http://127.0.0.1:$WORKER_PORT/readyz"; }

# The SMTP sink: every mail Notify sends lands as one .eml file in MAIL_DIR.
start_smtp() {
	require_free_port smtp "$SMTP_PORT" SMTP_PORT
	launch smtp "$BIN/emulators" smtp -host 127.0.0.1 -port "$SMTP_PORT" -dir "$LOCAL/mail"
}
ready_smtp() { port_open "$SMTP_PORT"; }

# The STAND-IN for Twilio's Messages API (Twilio has no emulator): every
# text Notify sends lands as one .json file in SMS_DIR and nothing is sent;
# POST /_standin/faults makes it answer 429/5xx or lose an answer (drills).
start_sms() {
	require_free_port sms "$SMS_PORT" SMS_PORT
	launch sms "$BIN/emulators" sms -host 127.0.0.1 -port "$SMS_PORT" -dir "$LOCAL/sms" \
		-account-sid "$SMS_ACCOUNT_SID" -auth-token "$SMS_AUTH_TOKEN"
}
ready_sms() { port_open "$SMS_PORT"; }

# sms_env: Notify's text channel, Twilio's API at the stand-in, linking to
# the web app; off when the stack has no sms part.
sms_env() {
	if skipped sms; then
		echo SMS=off
		return
	fi
	printf '%s\n' SMS=twilio "TWILIO_API_URL=http://127.0.0.1:$SMS_PORT" "TWILIO_ACCOUNT_SID=$SMS_ACCOUNT_SID" \
		"TWILIO_AUTH_TOKEN=$SMS_AUTH_TOKEN" TWILIO_FROM=+15005550006 "APP_URL=http://127.0.0.1:$WEB_PORT"
}

# The STAND-IN for Vertex AI's generateContent (Vertex AI has no emulator):
# it answers in the API's shape with a marked, posterised copy of the photo,
# and takes failures to inject on POST /standin/next (emulators/vertex).
start_vertex() {
	require_free_port vertex "$VERTEX_STANDIN_PORT" VERTEX_STANDIN_PORT
	launch vertex "$BIN/emulators" vertex -host 127.0.0.1 -port "$VERTEX_STANDIN_PORT"
}
# The STAND-IN for Firebase App Check (emulators/appcheck): it exchanges the
# stack's debug token for App Check tokens and publishes its key; it attests
# nothing (reCAPTCHA Enterprise cannot run offline).
start_appcheck() {
	require_free_port appcheck "$APPCHECK_STANDIN_PORT" APPCHECK_STANDIN_PORT
	launch appcheck "$BIN/emulators" appcheck -host 127.0.0.1 -port "$APPCHECK_STANDIN_PORT" \
		-project "$GCLOUD_PROJECT" -project-number "$APP_CHECK_PROJECT_NUMBER" -debug-token "$APP_CHECK_DEBUG_TOKEN"
}
ready_appcheck() { http_ok "http://127.0.0.1:$APPCHECK_STANDIN_PORT/v1/jwks"; }

ready_vertex() { http_ok "http://127.0.0.1:$VERTEX_STANDIN_PORT/healthz"; }

# notify_env: what Notify and NotifySweep send with: mail to the SMTP sink,
# push logged (FCM has no emulator), texts as sms_env says. EVENT=local, the
# Gateway's default event: they leave alone the jobs tests write for events
# of their own, as one event's Notify does in a shared cloud project.
notify_env() {
	printf '%s\n' EVENT=local SMTP_HOST=127.0.0.1 "SMTP_PORT=$SMTP_PORT" SMTP_STARTTLS=false \
		"SMTP_FROM=Tiger Studio <studio@tiger-studio.test>" PUSH=log
	sms_env
}

# Notify, the CloudEvent function, served by the functions framework like
# the gateway (same binary).
start_notify() {
	local notify
	mapfile -t notify < <(notify_env)
	launch_function notify NOTIFY_PORT Notify "${notify[@]}"
}
ready_notify() { port_open "$NOTIFY_PORT"; }

# The bridge turns Firestore emulator changes into the CloudEvents Eventarc
# would deliver and posts them to Notify. Its state file lets a restarted
# bridge deliver what changed while it was down. It has no port: it is ready
# once its listeners took their first snapshot (logged after the latest
# start line, the log being kept across restarts).
start_bridge() {
	launch bridge env FIRESTORE_EMULATOR_HOST="127.0.0.1:$FIRESTORE_PORT" \
		"$BIN/emulators" bridge -project "$GCLOUD_PROJECT" -collections responses,errors \
		-target "http://127.0.0.1:$NOTIFY_PORT/" -state "$BRIDGE_STATE"
}
# Reconcile and NotifySweep, run on a schedule as Cloud Scheduler does in
# the cloud (the runner's SCHEDULE): they finish what crashed requests and
# lost events left behind, with the Gateway's and Notify's settings.
start_reconcile() {
	launch_function reconcile RECONCILE_PORT Reconcile SCHEDULE=15s GOMEMLIMIT=200MiB MAX_UPLOADS_IN_FLIGHT=1
}
ready_reconcile() { port_open "$RECONCILE_PORT"; }

start_sweep() {
	local notify
	mapfile -t notify < <(notify_env)
	launch_function sweep SWEEP_PORT NotifySweep SCHEDULE=30s SWEEP_GRACE=2m "${notify[@]}"
}
ready_sweep() { port_open "$SWEEP_PORT"; }

# AuthBlocking, Identity Platform's blocking functions (functions/authblock),
# which the Auth emulator calls before it creates an account or signs one in,
# as Identity Platform does in the cloud (terraform/project/auth.tf).
start_authblock() {
	launch_function authblock AUTHBLOCK_PORT AuthBlocking
}
ready_authblock() { port_open "$AUTHBLOCK_PORT"; }

# configure_blocking tells the Auth emulator where its blocking functions
# are (its config lives in memory: set again whenever the stack comes up).
configure_blocking() {
	local url="http://127.0.0.1:$AUTHBLOCK_PORT/"
	curl -fsS -X PATCH -H "Authorization: Bearer owner" -H "Content-Type: application/json" \
		"http://127.0.0.1:$AUTH_PORT/identitytoolkit.googleapis.com/v2/projects/$GCLOUD_PROJECT/config?updateMask=blockingFunctions" \
		-d "{\"blockingFunctions\":{\"triggers\":{\"beforeCreate\":{\"functionUri\":\"$url\"},\"beforeSignIn\":{\"functionUri\":\"$url\"}}}}" >/dev/null
}

# The web app: built from web/ (npm run build into web/dist), copied into
# the stack's own directory with a studio.json naming this stack's Gateway
# and emulators, and served by the Hosting emulator, a firebase-tools
# process of its own (the auth part's keeps running when this one restarts),
# with hub and logging ports of its own.
start_web() {
	require_free_port web "$WEB_PORT" WEB_PORT
	local firebase="$ROOT/emulators/node_modules/.bin/firebase"
	[[ -x $firebase ]] || die "web: $firebase missing; run make setup"
	[[ -x $ROOT/web/node_modules/.bin/vite ]] || die "web: web/node_modules missing; run make setup"
	# Built only when a source is newer than the last build.
	local stale=1
	if [[ -f $ROOT/web/dist/index.html ]] && [[ -z $(find "$ROOT/web/src" "$ROOT/web/index.html" \
		"$ROOT/web/package-lock.json" "$ROOT/web/vite.config.ts" -newer "$ROOT/web/dist/index.html" -print -quit) ]]; then
		stale=0
	fi
	if ((stale)) && ! (cd "$ROOT/web" && npm run --silent build) >>"$LOGS/web.log" 2>&1; then
		part_failed web "could not be built (cd web && npm run build)"
		log "hint: STACK_SKIP=web starts the rest of the stack without it"
		return 1
	fi
	local dir="$LOCAL/web" public="$LOCAL/web/public" hub
	# Hub and logging ports of its own, as for the auth part.
	hub=$(free_port $((WEB_PORT + 300)))
	rm -rf "$public"
	mkdir -p "$dir/tmp"
	cp -R "$ROOT/web/dist" "$public"
	# GOOGLE_CLIENT_ID (optional) shows "Continue with Google"; it needs
	# Google's script, so only on a machine online, with a client that
	# lists this origin.
	# appCheck: the App Check stand-in's exchange (the debug provider's
	# role, offline); absent when the stack runs without it.
	local standin=""
	skipped appcheck || standin="http://127.0.0.1:$APPCHECK_STANDIN_PORT"
	node -e 'const fs=require("fs"); const [out, gw, auth, fs_, project, name, days, standin, appId, debugToken, google]=process.argv.slice(1);
		fs.writeFileSync(out, JSON.stringify({gatewayUrl: gw, event: "local", eventName: name, retentionDays: Number(days), authEmulator: auth, firestoreEmulator: fs_,
			firebase: {apiKey: "local-emulator-key", projectId: project, authDomain: "127.0.0.1", appId},
			...(standin ? {appCheck: {standinUrl: standin, debugToken}} : {}),
			...(google ? {googleClientId: google} : {})}, null, 2)+"\n");' \
		"$public/studio.json" "http://127.0.0.1:$GATEWAY_PORT" "http://127.0.0.1:$AUTH_PORT" \
		"127.0.0.1:$FIRESTORE_PORT" "$GCLOUD_PROJECT" "$EVENT_NAME" "$RETENTION_DAYS" \
		"$standin" "$APP_CHECK_APP_ID" "$APP_CHECK_DEBUG_TOKEN" "${GOOGLE_CLIENT_ID:-}"
	# The channels the upload screen offers (texts only with the sms part)
	# and web push's VAPID public key: a real P-256 key, though locally the
	# push token comes from the app's stand-in of FCM's token exchange
	# (web/src/push.ts), which never reaches Google.
	local texts=true
	skipped sms && texts=false
	node -e 'const fs=require("fs"); const [f, texts]=process.argv.slice(1); const c=JSON.parse(fs.readFileSync(f));
		c.channels={email: true, phone: texts === "true", push: true};
		c.vapidKey="BPLCvqz-pFRWEVV_ChKxJgSHhr-CgMov8mo2S29KRtd6wJgqvqr0LlcMvIUIsvcW8LHeNr2rT-4U9YtxmnE_Yc8";
		fs.writeFileSync(f, JSON.stringify(c, null, 2)+"\n");' "$public/studio.json" "$texts"
	# firebase.json with this stack's port and public directory (relative:
	# the Hosting emulator resolves it against the config's directory).
	node -e 'const fs=require("fs"); const c=JSON.parse(fs.readFileSync(process.argv[1]));
		c.hosting.public=process.argv[3]; c.emulators={hosting: {host: "127.0.0.1", port: Number(process.argv[2])},
			hub: {host: "127.0.0.1", port: Number(process.argv[5])}, logging: {host: "127.0.0.1", port: Number(process.argv[6])},
			ui: {enabled: false}, singleProjectMode: true};
		fs.writeFileSync(process.argv[4], JSON.stringify(c, null, 2));' \
		"$ROOT/firebase.json" "$WEB_PORT" public "$dir/firebase.json" "$hub" "$(free_port $((hub + 1)))"
	(cd "$dir" && launch web env -u FIREBASE_AUTH_EMULATOR_HOST -u FIRESTORE_EMULATOR_HOST \
		-u STORAGE_EMULATOR_HOST CI=true NO_UPDATE_NOTIFIER=1 TMPDIR="$dir/tmp" \
		"$firebase" emulators:start --only hosting --project "$GCLOUD_PROJECT" --config "$dir/firebase.json")
}
ready_web() { http_ok "http://127.0.0.1:$WEB_PORT/studio.json"; }

ready_bridge() {
	awk '/^=== bridge start /{ r = 0 } /bridge ready/{ r = 1 } END { exit !r }' "$LOGS/bridge.log" 2>/dev/null
}

# ---------------------------------------------------------------- commands

# env_lines: the KEY=VALUE lines of .local/env (paths are absolute, values
# have no spaces, so the file is both shell- and dotenv-readable).
env_lines() {
	cat <<-EOF
		GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT
		WORKER_URL=http://127.0.0.1:$WORKER_PORT
		NOTIFY_URL=http://127.0.0.1:$NOTIFY_PORT
		GCLOUD_PROJECT=$GCLOUD_PROJECT
		GOOGLE_CLOUD_PROJECT=$GCLOUD_PROJECT
		FIRESTORE_EMULATOR_HOST=127.0.0.1:$FIRESTORE_PORT
		FIREBASE_AUTH_EMULATOR_HOST=127.0.0.1:$AUTH_PORT
		STORAGE_EMULATOR_HOST=127.0.0.1:$STORAGE_PORT
		AMQP_URL=$AMQP_URL
		INPUT_BUCKET=$INPUT_BUCKET
		OUTPUT_BUCKET=$OUTPUT_BUCKET
		MAIL_DIR=$LOCAL/mail
		VERTEX_STANDIN_URL=http://127.0.0.1:$VERTEX_STANDIN_PORT
		SMS_DIR=$LOCAL/sms
		SMS_STANDIN_URL=http://127.0.0.1:$SMS_PORT
		QUEUE_PREFIX=$QUEUE_PREFIX
		STACK_SCRIPT=$SELF
		STACK_DIR=$LOCAL
		WEB_URL=http://127.0.0.1:$WEB_PORT
		APP_ORIGINS=http://127.0.0.1:$WEB_PORT
		RETENTION_DAYS=$RETENTION_DAYS
		APPCHECK_STANDIN_URL=http://127.0.0.1:$APPCHECK_STANDIN_PORT
		APP_CHECK_APP_ID=$APP_CHECK_APP_ID
		APP_CHECK_DEBUG_TOKEN=$APP_CHECK_DEBUG_TOKEN
	EOF
}

# running: .local/env exists and every part that up started still runs.
running() {
	[[ -f $ENV_FILE ]] || return 1
	local part
	for part in "${PARTS[@]}"; do
		skipped "$part" && continue
		alive "$part" || return 1
	done
}

cmd_status() {
	load_settings
	local part state rc=0
	for part in "${PARTS[@]}"; do
		if skipped "$part"; then
			state="skipped"
			[[ $part == rabbitmq && $EXTERNAL_AMQP == 1 ]] && state="external broker $AMQP_URL"
			[[ " $STACK_PARTS " == *" $part "* ]] ||
				state="not part of this stack (started by an older stack.sh; make stop && make dev)"
		elif alive "$part"; then
			state="running (pid $(<"$(pidfile "$part")"))"
		else
			state="not running"
			rc=1
		fi
		[[ $part == vertex && $state == running* ]] && state+=" (a stand-in for Vertex AI: no model draws here)"
		[[ $part == sms && $state == running* ]] && state+=" (a stand-in for Twilio: no text leaves the machine)"
		printf '  %-10s %s\n' "$part" "$state"
	done
	if [[ -f $ENV_FILE ]]; then
		echo "  env file   $ENV_FILE"
	else
		echo "  env file   absent"
		rc=1
	fi
	return "$rc"
}

cmd_up() {
	load_settings
	if running; then
		log "stack already running"
		cmd_status
		return 0
	fi
	# UP_RESUME=1: a stack up started and down did not stop (its settings
	# are in stack.conf) runs in part; the parts that run are left alone, so
	# they keep their data, and only the others are started.
	UP_RESUME=0
	if [[ -f $CONF_FILE ]]; then
		UP_RESUME=1
	elif compgen -G "$PIDS/*.pid" >/dev/null || [[ -f $ENV_FILE ]]; then
		# Without its settings we cannot tell which ports it uses.
		log "leftovers of a stack without $CONF_FILE, stopping them"
		cmd_down
		unset EXTERNAL_AMQP
		load_settings
	fi
	mkdir -p "$LOGS" "$PIDS" "$BIN" "$LOCAL/mail" "$LOCAL/sms"
	local part
	UP_TODO=()
	if ((UP_RESUME)); then
		# Settings added since the stack started (a new part's port, the
		# App Check debug token) get their defaults now and are kept, so
		# the parts started now and later calls agree.
		save_settings
		for part in "${PARTS[@]}"; do
			skipped "$part" || alive "$part" || UP_TODO+=("$part")
		done
		log "stack partly running; starting ${UP_TODO[*]:-nothing} (running parts and their data are kept)"
	else
		STACK_PARTS=${PARTS[*]}
		save_settings
		for part in "${PARTS[@]}"; do
			if skipped "$part"; then
				log "$part skipped"
			else
				UP_TODO+=("$part")
				: >"$LOGS/$part.log"
			fi
		done
	fi
	# If anything below fails, stop what this call started.
	UP_STARTED=()
	trap 'rc=$?; if ((rc != 0)); then up_failed; fi' EXIT

	if to_start storage || to_start smtp || to_start sms || to_start vertex || to_start appcheck || to_start bridge; then
		log "building emulators"
		(cd "$ROOT" && go build -o "$BIN/emulators" ./emulators/cmd/emulators) ||
			die "go build ./emulators/cmd/emulators failed"
	fi

	# Start the independent parts at once (the JVM, node and Erlang boots
	# overlap), then wait for each.
	for part in firestore auth storage smtp sms vertex appcheck rabbitmq; do
		if to_start "$part"; then
			start_part "$part"
		fi
	done
	for part in firestore auth storage smtp sms vertex appcheck rabbitmq; do
		if to_start "$part"; then
			wait_ready "$part" "ready_$part" || exit 1
		fi
	done
	if [[ $EXTERNAL_AMQP == 1 ]]; then
		external_amqp_ready || die "rabbitmq: the broker in AMQP_URL does not accept connections"
		log "rabbitmq: using the external broker from AMQP_URL"
	fi
	if to_start gateway || to_start notify || to_start reconcile || to_start sweep || to_start authblock; then
		# One functions binary serves every function.
		if ! (cd "$ROOT" && go build -o "$BIN/functions" ./functions/cmd/local) >"$LOGS/functions-build.log" 2>&1; then
			tail -n 30 "$LOGS/functions-build.log" >&2
			die "go build ./functions/cmd/local failed"
		fi
	fi
	for part in gateway worker notify bridge reconcile sweep authblock web; do
		if to_start "$part"; then
			start_part "$part" || exit 1
			wait_ready "$part" "ready_$part" || exit 1
		fi
	done
	if ! skipped authblock; then
		configure_blocking || die "auth: could not configure the blocking functions"
	fi

	# .local/env appears last and at once: its presence means "stack up".
	env_lines >"$ENV_FILE.tmp"
	mv "$ENV_FILE.tmp" "$ENV_FILE"
	trap - EXIT
	log "stack up; environment in $ENV_FILE (load it with: set -a; . $ENV_FILE; set +a)"
	skipped web || log "web app: http://127.0.0.1:$WEB_PORT"
}

# to_start PART: cmd_up is to start PART.
to_start() { [[ " ${UP_TODO[*]} " == *" $1 "* ]]; }

# start_part PART: start PART (which is not alive: nothing of its group
# runs, so no leftover holds its port).
start_part() {
	local part=$1
	rm -f "$(pidfile "$part")"
	if [[ $part == firestore ]] && ! alive bridge; then
		# The emulator starts empty: the bridge's record of the documents it
		# saw describes documents that are gone. A running bridge sees them
		# go (its listener is re-established) and delivers the deletes.
		rm -f "$BRIDGE_STATE"
	fi
	UP_STARTED+=("$part")
	"start_$part"
}

# up_failed: stop what the failed cmd_up started; a fresh stack entirely,
# a partly running one only the parts this call started.
up_failed() {
	log "stopping what was started"
	if ((!UP_RESUME)); then
		cmd_down
		return
	fi
	local i part
	for ((i = ${#UP_STARTED[@]} - 1; i >= 0; i--)); do
		part=${UP_STARTED[i]}
		if [[ $part == rabbitmq ]]; then
			stop_rabbitmq
		else
			kill_part "$part"
		fi
	done
}

cmd_down() {
	load_settings
	rm -f "$ENV_FILE"
	local i part
	for ((i = ${#PARTS[@]} - 1; i >= 0; i--)); do
		part=${PARTS[i]}
		case $part in
		rabbitmq) stop_rabbitmq ;;
		# SIGTERM lets it finish in-flight jobs (WORKER_GRACE, 8s by default).
		worker) kill_part worker 15 ;;
		*) kill_part "$part" ;;
		esac
	done
	stop_epmd
	rm -f "$CONF_FILE"
	log "stack stopped"
}

cmd_with_stack() {
	[[ ${1:-} == -- ]] && shift
	(($# > 0)) || die "with-stack needs a command"
	load_settings
	local started=0
	if ! running; then
		# A stack partly running is someone's `make dev`: restart its dead
		# parts but leave it running afterwards.
		[[ -f $CONF_FILE ]] || started=1
		cmd_up
	fi
	# Stop the stack even when CMD fails or we are interrupted.
	if ((started)); then
		trap 'rc=$?; cmd_down; exit $rc' EXIT
	fi
	set -a
	# shellcheck source=/dev/null
	. "$ENV_FILE"
	set +a
	# Run each CMD (separated by ---) in turn; a failing one does not stop
	# the next. The result is the first failure's status.
	local rc=0 first_rc=0 interrupted=0 n=0
	local -a cmd=()
	trap 'interrupted=130; stop_child' INT
	trap 'interrupted=143; stop_child' TERM
	while (($# > 0)); do
		cmd=()
		while (($# > 0)) && [[ $1 != --- ]]; do
			cmd+=("$1")
			shift
		done
		(($# > 0)) && shift # the ---
		((${#cmd[@]} > 0)) || continue
		((interrupted)) && exit "$interrupted"
		n=$((n + 1))
		((n == 1 && $# == 0)) || log "running: ${cmd[*]}"
		# CMD runs in the background so that a signal to this script is
		# handled at once (bash runs traps only after a foreground command
		# returns); the signal is passed on to CMD, and the EXIT trap then
		# stops the stack. "<&0" keeps our stdin, which a background command
		# would otherwise lose.
		"${cmd[@]}" <&0 &
		CHILD=$!
		while :; do
			wait "$CHILD" && rc=0 || rc=$?
			kill -0 "$CHILD" 2>/dev/null || break
		done
		((interrupted)) && exit "$interrupted"
		if ((rc != 0)); then
			((n == 1 && $# == 0)) || log "failed (exit status $rc): ${cmd[*]}"
			((first_rc != 0)) || first_rc=$rc
		fi
	done
	((n > 0)) || die "with-stack needs a command"
	return "$first_rc"
}

# stop_child: ask CMD to stop with SIGINT (go test then stops its test
# binaries), insist with SIGTERM after 10s. SIGINT comes first although
# background commands start with it ignored: Go programs that watch for it,
# like go test, re-enable it.
stop_child() {
	kill -INT "$CHILD" 2>/dev/null || return 0
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$CHILD" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -TERM "$CHILD" 2>/dev/null || true
}

# Serialise restarts: concurrent test packages may call these at once.
with_rabbit_lock() {
	mkdir -p "$LOCAL"
	exec 9>"$LOCAL/rabbitmq.lock"
	flock 9
}

cmd_rabbit_stop() {
	load_settings
	[[ $EXTERNAL_AMQP == 1 ]] && die "rabbit-stop: the stack uses the external broker $AMQP_URL; not stopping it"
	[[ -f $CONF_FILE ]] || die "rabbit-stop: the stack is not running (make dev)"
	with_rabbit_lock
	stop_rabbitmq
	log "rabbitmq stopped"
}

cmd_rabbit_start() {
	load_settings
	[[ $EXTERNAL_AMQP == 1 ]] && die "rabbit-start: the stack uses the external broker $AMQP_URL"
	[[ -f $CONF_FILE ]] || die "rabbit-start: the stack is not running (make dev)"
	with_rabbit_lock
	if alive rabbitmq && ready_rabbitmq_env; then
		log "rabbitmq already running"
		return 0
	fi
	start_rabbitmq
	wait_ready rabbitmq ready_rabbitmq || exit 1
}
ready_rabbitmq_env() {
	rabbit_env
	ready_rabbitmq
}

main() {
	local cmd=${1:-}
	shift || true
	case $cmd in
	setup) cmd_setup ;;
	up) cmd_up ;;
	down | stop) cmd_down ;;
	status) cmd_status ;;
	with-stack) cmd_with_stack "$@" ;;
	rabbit-stop) cmd_rabbit_stop ;;
	rabbit-start) cmd_rabbit_start ;;
	*)
		sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
}

main "$@"
