package terraform_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// make deploy and make destroy stop before touching anything when PROJECT
// or EVENT is missing or gcloud is not signed in. A fake gcloud and
// terraform on PATH make sure nothing real runs.
func TestCloudTargetsFailEarly(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	bin := t.TempDir()
	marker := filepath.Join(bin, "ran")
	for _, name := range []string{"gcloud", "terraform"} {
		// gcloud auth list prints no active account; anything else marks a run.
		script := "#!/bin/sh\nif [ \"$1 $2\" = \"auth list\" ]; then exit 0; fi\necho \"$0 $*\" >> " + marker + "\nexit 1\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root := repoRoot(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"deploy"}, "set PROJECT EVENT"},
		{[]string{"deploy", "PROJECT=p"}, "set EVENT"},
		{[]string{"destroy", "EVENT=e"}, "set PROJECT"},
		{[]string{"deploy", "PROJECT=p", "EVENT=e"}, "gcloud is not signed in"},
		{[]string{"destroy", "PROJECT=p", "EVENT=e"}, "gcloud is not signed in"},
	}
	for _, c := range cases {
		cmd := exec.Command("make", append([]string{"-s", "-C", root}, c.args...)...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("make %v succeeded:\n%s", c.args, out)
			continue
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("make %v: output lacks %q:\n%s", c.args, c.want, out)
		}
	}
	if b, err := os.ReadFile(marker); err == nil {
		t.Errorf("the cloud tools ran before the checks stopped make:\n%s", b)
	}
}

// fakeCloud puts fake gcloud and terraform on a PATH of their own: each
// logs its arguments to log; gcloud answers the sign-in checks and the
// preflight's questions from files in the directory (quota.json holds the
// L4 quota), terraform answers output and state list from the outputs and
// state files.
type fakeCloud struct {
	bin, log string
}

func newFakeCloud(t *testing.T, l4 int) *fakeCloud {
	t.Helper()
	f := &fakeCloud{bin: t.TempDir()}
	f.log = filepath.Join(f.bin, "log")
	apis := regexp.MustCompile(`"([a-z0-9]+\.googleapis\.com)"`).FindAllStringSubmatch(mustRead(t, "apis.tf"), -1)
	var list []string
	for _, m := range apis {
		list = append(list, m[1])
	}
	files := map[string]string{
		"apis.txt":   strings.Join(list, "\n") + "\n",
		"quota.json": fmt.Sprintf(`[{"quotaId":"NvidiaL4GpuAllocNoZonalRedundancyPerProjectRegion","quotaDisplayName":"Total Nvidia L4 GPU allocation without zonal redundancy, per project per region","dimensionsInfos":[{"dimensions":{"region":"europe-west4"},"details":{"value":"%d"}}]}]`, l4),
		"gcloud": `#!/bin/sh
d=$(dirname "$0")
echo "gcloud $*" >> "$d/log"
case "$*" in
"auth list"*) echo me@example.com ;;
"auth application-default print-access-token"*|"auth print-access-token"*) echo tok ;;
"billing projects describe"*) echo '{"billingEnabled": true}' ;;
"services list"*) cat "$d/apis.txt" ;;
"beta quotas info list"*) cat "$d/quota.json" ;;
"resource-manager org-policies describe"*) echo '{}' ;;
"builds submit"*) exit 0 ;;
*) echo "fake gcloud: unexpected $*" >&2; exit 1 ;;
esac
`,
		"terraform": `#!/bin/sh
d=$(dirname "$0")
echo "terraform $*" >> "$d/log"
for a in "$@"; do
	case "$a" in
	state) cat "$d/state" 2>/dev/null; exit 0 ;;
	build_service_account) echo e-build@p.iam.gserviceaccount.com; exit 0 ;;
	source_bucket) echo p-e-source; exit 0 ;;
	esac
done
exit 0
`,
	}
	for name, body := range files {
		mode := os.FileMode(0o644)
		if name == "gcloud" || name == "terraform" {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(f.bin, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// env is the environment for a command using the fakes (go stays on PATH:
// make deploy runs the preflight with go run).
func (f *fakeCloud) env(t *testing.T, extra ...string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	return append(os.Environ(), append([]string{"PATH=" + f.bin + ":" + filepath.Dir(goBin) + ":/usr/bin:/bin"}, extra...)...)
}

func (f *fakeCloud) calls() string {
	b, _ := os.ReadFile(f.log)
	return string(b)
}

// firebaseAPI answers the preflight's Firebase question: p is a Firebase
// project.
func firebaseAPI(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1beta1/projects/p" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"projectId":"p"}`))
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// make deploy PLAN=1 runs the preflight against the project's answers,
// then init, the event's workspace and a plan of the whole stack with the
// image name the deploy would build, and stops: no apply, no build. With a
// preflight item missing (no L4 quota) it stops before terraform runs.
func TestDeployPlanOnly(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	root := repoRoot(t)
	api := firebaseAPI(t)
	cases := []struct {
		name    string
		l4      int
		wantErr bool
		want    []string // in the output
	}{
		{"ready", 1, false, []string{"ready    GPU quota: 1 L4 in europe-west4", "planned only"}},
		{"no quota", 0, true, []string{"MISSING  GPU quota: 0 L4 in europe-west4, worker_max_instances needs 1", "fix: request at least 1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeCloud(t, c.l4)
			cmd := exec.Command("make", "-s", "-C", root, "deploy", "PROJECT=p", "EVENT=e", "PLAN=1", "TAG=t1")
			cmd.Env = f.env(t, "PREFLIGHT_FIREBASE_API="+api)
			out, err := cmd.CombinedOutput()
			if (err != nil) != c.wantErr {
				t.Fatalf("make deploy PLAN=1: err %v, want error %v:\n%s", err, c.wantErr, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			calls := f.calls()
			if strings.Contains(calls, " apply") || strings.Contains(calls, "builds submit") {
				t.Errorf("make deploy PLAN=1 applied or built:\n%s", calls)
			}
			if c.wantErr {
				if strings.Contains(calls, "terraform") {
					t.Errorf("terraform ran after a failed preflight:\n%s", calls)
				}
				return
			}
			for _, w := range []string{
				"terraform -chdir=terraform init -input=false",
				"terraform -chdir=terraform workspace select -or-create e",
				"terraform -chdir=terraform plan -input=false -var project=p -var event=e -var region=europe-west4 -var worker_image=europe-west4-docker.pkg.dev/p/e-images/worker:t1",
			} {
				if !strings.Contains(calls, w) {
					t.Errorf("no %q among the calls:\n%s", w, calls)
				}
			}
		})
	}
}

// The worker image builds as the event's build account, not Cloud Build's
// default (the Compute Engine default account, without roles where org
// policy says so), with its source staged in the event's source bucket,
// which that account reads, and its logs in Cloud Logging only (a build
// with a named account must choose). make deploy's first apply makes the
// account, its grants and their wait before the build.
func TestWorkerImageBuildAccount(t *testing.T) {
	f := newFakeCloud(t, 1)
	cmd := exec.Command("terraform/tools/build-worker-image.sh", "p", "europe-west4", "europe-west4-docker.pkg.dev/p/e-images/worker:t1")
	cmd.Dir = repoRoot(t)
	cmd.Env = f.env(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build-worker-image.sh: %v\n%s", err, out)
	}
	calls := f.calls()
	for _, w := range []string{
		"gcloud builds submit --project p --region europe-west4 --config terraform/cloudbuild.yaml",
		"--service-account=projects/p/serviceAccounts/e-build@p.iam.gserviceaccount.com",
		"--gcs-source-staging-dir=gs://p-e-source/cloudbuild",
		"--substitutions=_IMAGE=europe-west4-docker.pkg.dev/p/e-images/worker:t1 .",
	} {
		if !strings.Contains(calls, w) {
			t.Errorf("the build lacks %q:\n%s", w, calls)
		}
	}
	if !regexp.MustCompile(`(?m)^options:\n(  .*\n)*  logging: CLOUD_LOGGING_ONLY\n`).MatchString(mustRead(t, "cloudbuild.yaml")) {
		t.Error("cloudbuild.yaml: options.logging is not CLOUD_LOGGING_ONLY (required with a user-named service account)")
	}
	mk := mustRead(t, "../Makefile")
	first := regexp.MustCompile(`apply -input=false \$\(TF_ARGS\) -target=[^\n]*`).FindString(mk)
	if !strings.Contains(first, "-target=time_sleep.build_iam") {
		t.Errorf("make deploy's first apply does not make the build account's grants and wait: %s", first)
	}
	if !strings.Contains(mk, "terraform/tools/build-worker-image.sh") || strings.Contains(mk, "gcloud builds submit") {
		t.Error("make deploy does not build the image through tools/build-worker-image.sh")
	}
	c := loadConfig(t, ".")
	out := map[string]string{}
	for _, b := range c.blocks {
		if b.Type == "output" {
			out[b.Labels[0]] = exprText(t, c, b.file, b.Body.Attributes["value"])
		}
	}
	if c.outputRef(out["build_service_account"]) != "module.build.google_service_account.this.email" || c.outputRef(out["source_bucket"]) != "module.source.google_storage_bucket.this.name" {
		t.Errorf("outputs build_service_account = %q, source_bucket = %q", out["build_service_account"], out["source_bucket"])
	}
}

// Cloud Run holds a deleted worker pool's Direct VPC addresses for 1-2
// hours, so the worker subnet (and the network) cannot go with the pool:
// with a pool in the state, destroy targets everything else (each resource
// once, no data sources) and says the network stays; without one (the
// second run) it is a plain destroy that removes the network.
func TestDestroyKeepsNetworkWhileAddressesAreHeld(t *testing.T) {
	state := `data.google_project.this
google_cloud_run_v2_worker_pool.worker[0]
google_compute_network.main
google_compute_subnetwork.main
google_compute_subnetwork.worker
google_project_service.apis["run.googleapis.com"]
google_project_service.apis["storage.googleapis.com"]
module.source.data.archive_file.this
module.source.google_storage_bucket.this
time_sleep.connector_cleanup
`
	cases := []struct {
		name, state string
		want        string // the destroy call
		notes       bool
	}{
		{"with a worker pool", state, "terraform -chdir=terraform destroy -var project=p -target=google_cloud_run_v2_worker_pool.worker -target=google_compute_subnetwork.main -target=google_project_service.apis -target=module.source.google_storage_bucket.this -target=time_sleep.connector_cleanup\n", true},
		{"network left", "google_compute_network.main\ngoogle_compute_subnetwork.worker\n", "terraform -chdir=terraform destroy -var project=p\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeCloud(t, 1)
			if err := os.WriteFile(filepath.Join(f.bin, "state"), []byte(c.state), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("terraform/tools/destroy.sh", "-var", "project=p")
			cmd.Dir = repoRoot(t)
			cmd.Env = f.env(t)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("destroy.sh: %v\n%s", err, out)
			}
			if calls := f.calls(); !strings.Contains(calls, c.want) {
				t.Errorf("destroy call is not %q:\n%s", c.want, calls)
			}
			if got := strings.Contains(string(out), "kept, free of charge: the network and the worker subnet"); got != c.notes {
				t.Errorf("says the network is kept: %v, want %v:\n%s", got, c.notes, out)
			}
		})
	}
	if !strings.Contains(mustRead(t, "../Makefile"), `terraform/tools/destroy.sh $(TF_ARGS)`) {
		t.Error("make destroy does not destroy through tools/destroy.sh")
	}
}
