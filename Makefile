# Tiger Studio: local development entry points (see DESIGN.md, "Local stack").
# The work is done by emulators/stack.sh; these targets only wire it up.
#
#   make setup   install what is missing (rabbitmq-server, firebase-tools, the ONNX
#                Runtime library, the published models (models/install.sh), Go modules,
#                the web app's npm deps, Debian's chromium for its browser tests)
#   make dev     start the stack (emulators, RabbitMQ, gateway, worker, the web app on
#                the Hosting emulator) and leave it running; prints the app's URL; env
#                in .local/env. On a stack partly running it starts only the dead parts;
#                data is only deleted by make clean
#   make stop    stop what make dev started
#   make status  show what runs
#   make test    run every test against a stack (started and stopped here if not running):
#                the main suite, then the disruptive tests (they restart RabbitMQ) alone,
#                then the web app's tests (make web-test)
#   make web-test  the web app's unit tests (Vitest) and end-to-end tests (Playwright
#                driving Debian's chromium; screenshots in .local/screenshots) against
#                the running stack
#   make bench   run the benchmarks the same way
#   make mutants the named deliberate bugs of cmd/mutants, each against its
#                package's tests: which a test catches, kill rate per package
#   make gpu-check  the GPU check (worker/gpucheck): on a GPU machine every model on
#                CUDA vs CPU, ms per model and style, GPU memory, and the CUDA tests;
#                elsewhere it packs the bundle for one and refuses
#   WORKER_DEVICE=cuda make setup  also installs ONNX Runtime 1.29.0's GPU build (npm)
#   make faults  fault-injection table (issue 11): a stack of its own (ports from
#                FAULTS_PORT_BASE, default 29000; STACK_DIR FAULTS_DIR, default a
#                new temporary directory, kept), one row per fault: jobs
#                submitted/succeeded/failed/stuck/duplicated, emails not exactly
#                one; fails when a row misses the goal (about 5 minutes)
#   make demo    start the stack (left running) and run the demo
#   make vet     gofmt, go vet, and terraform fmt -check (when terraform is on PATH)
#   make lint    golangci-lint (.golangci.yml)
#   make fuzz    fuzz the upload validation for FUZZTIME
#   make deploy PROJECT=... EVENT=...   preflight (quota, APIs, org policies, Firebase),
#                build the worker image with Cloud Build, the web app (when web/ exists),
#                terraform apply, and publish the app to the event's Hosting site
#                (terraform/README.md). PLAN=1: preflight and terraform plan only.
#                PREFLIGHT=0 skips the preflight
#   make destroy PROJECT=... EVENT=...  terraform destroy: removes everything the event bills
#                (with a worker pool, the network waits for a second make destroy 1-2 h later)
#   make terraform-schema  refresh terraform/schema/schema.json, the provider schemas
#                make test checks terraform/ against, from the npm packages pinned in
#                terraform/schema/packages.json (the only step that needs the registry)
#   make cost    cost per event-hour, idle and at full load (go run ./cmd/cost; COST_FLAGS)
#
# Settings are environment variables, documented at the top of emulators/stack.sh
# (ports, AMQP_URL for an external broker, STACK_SKIP=gateway,worker, STACK_DIR
# for a second stack beside the first, ...).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
STACK := ./emulators/stack.sh

GO_TEST_FLAGS ?= -race -shuffle=on -count=1
BENCHTIME ?= 1s
FUZZTIME ?= 30s
PKGS ?= ./...

.PHONY: setup dev up stop down status test web-test web-test-run bench faults demo vet lint fuzz clean deploy destroy cost cloud-check terraform-schema gpu-check mutants

setup:
	@$(STACK) setup
	@if [ "$${WORKER_DEVICE:-cpu}" = cuda ]; then worker/onnxruntime/install-cuda.sh; fi

dev up: setup
	@$(STACK) up

stop down:
	@$(STACK) down

status:
	@$(STACK) status

# with-stack exports .local/env, runs the commands (separated by ---) one
# after the other, all of them even when one fails, and stops the stack again
# only if it started it; the exit status is non-zero when any failed.
# The second stage runs the tests built with the disruptive tag (they stop and
# start the shared RabbitMQ node, or start a second stack of their own and
# kill its parts: emulators/stack_disruptive_test.go, about a minute), one
# package at a time and after the main
# suite, so that no other test runs beside them; it fails when no test
# matches (require-tests.sh).
# vet runs first: a gofmt or vet failure fails CI like a failing test.
test: setup vet
	@$(STACK) with-stack -- \
		env TIGER_REQUIRE_STACK=1 go test $(GO_TEST_FLAGS) $(PKGS) \
		--- env TIGER_REQUIRE_STACK=1 ./emulators/require-tests.sh go test -tags disruptive -run Disruptive -p 1 -count=1 $(PKGS) \
		--- $(MAKE) --no-print-directory web-test-run

# The web app's tests: Vitest (no stack needed), then the browser tests
# against the stack's web part (WEB_URL in .local/env).
web-test: setup
	@$(STACK) with-stack -- $(MAKE) --no-print-directory web-test-run

web-test-run:
	cd web && npm test --silent && npm run --silent e2e

# The GPU check (worker/gpucheck/gpucheck.sh): builds its bundle (the check's
# test binary, ONNX Runtime's GPU build, the models; zstd -19 in parts under
# 60 MiB) and runs it where there is a GPU: every model on CUDA against the
# CPU, per-model and per-style ms, GPU memory, one table; then the CUDA
# tests, failing (not skipping) when CUDA cannot be used. Without a GPU it
# refuses (exit 2) and prints the runs that carry the parts to a GPU machine.
gpu-check:
	@worker/gpucheck/gpucheck.sh here
	TIGER_REQUIRE_CUDA=1 ORT_LIBRARY_PATH=$${ORT_LIBRARY_PATH:-$(CURDIR)/worker/onnxruntime/cuda/lib/libonnxruntime.so} go test -count=1 -v -run 'TestCUDA' ./worker/generate/onnx/

# Named deliberate bugs (cmd/mutants/mutants.json) made one at a time as a
# build overlay, each against its package's tests; prints the kill rate per
# package. Not part of make test. MUTANTS_ONLY=name,... or MUTANTS_PKG=./path/.
mutants: setup
	@$(STACK) with-stack -- go run ./cmd/mutants

bench: setup
	@$(STACK) with-stack -- env TIGER_REQUIRE_STACK=1 go test -run '^$$' -bench . -benchtime=$(BENCHTIME) $(PKGS)

# The fault-injection harness (emulators/faults) starts and stops a stack of
# its own beside the shared one, kills and pauses its parts, and prints the
# table (also written to $$FAULTS_DIR/faults.md). FAULTS_ONLY=baseline,rabbit-kill
# runs some rows; FAULTS_CROWD=0 leaves out the 128-client row.
faults: setup
	go test -tags faults -count=1 -v -timeout 40m ./emulators/faults/

# The stack stays up after the demo so the printed output URL can be opened;
# make stop ends it.
demo: setup
	@$(STACK) up
	@set -a; . "$${STACK_DIR:-.local}/env"; set +a; go run ./cmd/demo

# Go files git knows or would add (so node_modules and .local/ are left out).
vet:
	@files=$$(git ls-files -co --exclude-standard -- '*.go' | xargs -r gofmt -l); \
	if [[ -n "$$files" ]]; then echo "gofmt needed:"; echo "$$files"; exit 1; fi
	go vet $(PKGS)
	go vet -tags disruptive $(PKGS)
	go vet -tags faults ./emulators/faults/
	@if command -v terraform >/dev/null; then terraform fmt -recursive -check terraform/ >/dev/null 2>&1 || { echo "terraform fmt needed:"; terraform fmt -recursive -check terraform/ 2>/dev/null; exit 1; }; \
	else echo "note: terraform not on PATH, terraform fmt -check skipped (make test checks the same offline: terraform/fmt_test.go)"; fi

# golangci-lint, pinned, from the Go module proxy (about a minute the first
# time); .golangci.yml also lints the disruptive tests.
GOLANGCI_LINT_VERSION ?= v2.15.0
lint:
	go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...

fuzz:
	go test -run '^$$' -fuzz FuzzValidate -fuzztime $(FUZZTIME) ./functions/gateway/upload/

# Removes everything local: stack state, logs, RabbitMQ data, built binaries.
clean: stop
	rm -rf "$${STACK_DIR:-.local}"

# Cloud targets (never part of make test). They need PROJECT and EVENT and
# an authenticated gcloud, and stop before doing anything without them
# (cloud-check; terraform/deploy_test.go runs that failure path). TFVARS names
# the tfvars file with the event's other settings (smtp_host, smtp_user,
# smtp_from, ...; relative to terraform/), which apply and destroy both need;
# TF_VAR_smtp_password comes from the environment.
TAG ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || date +%s)
REGION ?= europe-west4
TFVARS ?=
TF := terraform -chdir=terraform
TF_ARGS = -var project=$(PROJECT) -var event=$(EVENT) -var region=$(REGION) $(if $(TFVARS),-var-file=$(TFVARS))
COST_FLAGS ?=

cloud-check:
	@missing=; [[ -n "$(PROJECT)" ]] || missing="$$missing PROJECT"; [[ -n "$(EVENT)" ]] || missing="$$missing EVENT"; \
	if [[ -n "$$missing" ]]; then echo "make $(MAKECMDGOALS): set$$missing, e.g. make $(MAKECMDGOALS) PROJECT=my-project EVENT=spring-gala" >&2; exit 2; fi
	@command -v gcloud >/dev/null || { echo "make $(MAKECMDGOALS): gcloud is not installed (Google Cloud CLI)" >&2; exit 2; }
	@command -v terraform >/dev/null || { echo "make $(MAKECMDGOALS): terraform is not installed (1.11 or newer)" >&2; exit 2; }
	@acct=$$(gcloud auth list --filter=status:ACTIVE --format='value(account)' 2>/dev/null); \
	if [[ -z "$$acct" ]]; then echo "make $(MAKECMDGOALS): gcloud is not signed in: gcloud auth login && gcloud auth application-default login" >&2; exit 2; fi; \
	gcloud auth application-default print-access-token >/dev/null 2>&1 || { echo "make $(MAKECMDGOALS): no application default credentials for terraform: gcloud auth application-default login" >&2; exit 2; }

# One workspace per event (terraform/README.md). The first apply creates the
# image registry; the image is built by Cloud Build (no local Docker) and
# pushed there, then the second apply deploys the worker and its autoscaler
# (and the rest: the Hosting site among them). Last, terraform/deploy-web.sh
# writes web/dist/studio.json from the outputs and publishes web/dist to the
# event's Hosting site.
#
# The preflight (terraform/tools/preflight) first asks the project for what
# an apply cannot show: billing, APIs, the L4 quota, org policies, Firebase;
# it stops make deploy when one is missing. PLAN=1 stops after terraform
# plan of the whole stack, the worker pool included (with the image name
# the deploy would push; nothing is built or applied; the workspace is
# created if new, locally). The first apply also makes the build account
# and its grants and waits for them (time_sleep.build_iam): the image build
# runs as that account (terraform/tools/build-worker-image.sh).
PLAN ?=
PREFLIGHT ?= 1
deploy: cloud-check
ifeq ($(filter-out 0,$(PLAN)),)
	@[[ ! -f web/package.json || -x emulators/node_modules/.bin/firebase ]] || { echo "make deploy: firebase-tools is not installed (it publishes the web app): make setup" >&2; exit 2; }
endif
	@if [[ "$(PREFLIGHT)" != 0 ]]; then go run ./terraform/tools/preflight -project $(PROJECT) -region $(REGION) $(if $(TFVARS),-var-file $(if $(filter /%,$(TFVARS)),$(TFVARS),terraform/$(TFVARS))); fi
	$(TF) init -input=false
	$(TF) workspace select -or-create $(EVENT)
ifneq ($(filter-out 0,$(PLAN)),)
	$(TF) plan -input=false $(TF_ARGS) -var worker_image=$(REGION)-docker.pkg.dev/$(PROJECT)/$(EVENT)-images/worker:$(TAG)
	@echo "make deploy PLAN=1: planned only; nothing was built or applied"
else
	$(TF) apply -input=false $(TF_ARGS) -target=google_artifact_registry_repository.images -target=google_project_service.apis -target=time_sleep.build_iam
	@repo=$$($(TF) output -raw worker_image_repository); image="$$repo/worker:$(TAG)"; \
	TF="$(TF)" terraform/tools/build-worker-image.sh $(PROJECT) $(REGION) "$$image"; \
	if [[ -d web ]]; then \
		if [[ -f web/package.json ]]; then (cd web && npm ci && npm run build); else echo "web/ has no package.json: web app not built"; fi; \
	else echo "no web/ yet: web app build skipped"; fi; \
	$(TF) apply -input=false $(TF_ARGS) -var worker_image=$$image; \
	if [[ -f web/dist/index.html ]]; then terraform/deploy-web.sh $(PROJECT); \
	else echo "web app not built: nothing published to the Hosting site"; fi
endif

# Prints what goes, warns that nothing is exported, and asks (terraform
# destroy's own confirmation).
destroy: cloud-check
	$(TF) init -input=false
	$(TF) workspace select $(EVENT)
	@echo "make destroy: removes EVENT=$(EVENT) from PROJECT=$(PROJECT): the functions, triggers, worker pool,"
	@echo "  autoscaler, broker VM and its queue, network, secrets, service accounts, the web app's"
	@echo "  Hosting site (its address stops working) and Firebase web app, and the buckets"
	@echo "  with every photo and generated image (and, if this stack manages it, the Firestore database)."
	@echo "  NOTHING IS EXPORTED. To keep the results, run studioctl export first (cmd/studioctl)."
	@echo "  Planned removals:"
	@$(TF) plan -destroy -input=false $(TF_ARGS) -no-color | grep -E '^  # .* will be destroyed' || true
	TF="$(TF)" terraform/tools/destroy.sh $(TF_ARGS)

cost:
	@go run ./cmd/cost $(COST_FLAGS)

# The schema snapshot of the providers terraform/ is pinned to (issue 24):
# npm packs each package of terraform/schema/packages.json (checked against
# its integrity there) and keeps the types the stack uses. Commit the result;
# make test needs no registry. SCHEMA_PACKS=DIR reuses tarballs already there.
SCHEMA_PACKS ?=
terraform-schema:
	go run ./terraform/tools/schemagen $(if $(SCHEMA_PACKS),-packs $(SCHEMA_PACKS))
