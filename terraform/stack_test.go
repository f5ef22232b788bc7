package terraform_test

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// The Go buildpack ignores GOOGLE_FUNCTION_SOURCE (only the Python, Ruby and
// PHP buildpacks read it): setting it again would hide a build of the wrong
// package.
func TestNoFunctionSourceEnv(t *testing.T) {
	for _, dir := range schemaRoots {
		checkNoFunctionSourceEnv(t, loadConfig(t, dir))
	}
}

func checkNoFunctionSourceEnv(t *testing.T, c *config) {
	for name, b := range c.resources("resource", "google_cloudfunctions2_function") {
		bc := child(b.Block, "build_config")
		if bc == nil {
			t.Fatalf("function %s has no build_config", name)
		}
		if env := child(bc, "environment_variables"); env != nil {
			t.Errorf("function %s: build_config has an environment_variables block", name)
		}
		if a, ok := bc.Body.Attributes["environment_variables"]; ok && strings.Contains(exprText(t, c, b.file, a), "GOOGLE_FUNCTION_SOURCE") {
			t.Errorf("function %s sets GOOGLE_FUNCTION_SOURCE, which the Go buildpack ignores", name)
		}
	}
}

// Every Go function sets GOMEMLIMIT below its instance's memory, so the
// garbage collector works before the instance is killed.
func TestFunctionsMemoryLimit(t *testing.T) {
	for _, dir := range schemaRoots {
		checkFunctionsMemoryLimit(t, loadConfig(t, dir))
	}
}

func checkFunctionsMemoryLimit(t *testing.T, c *config) {
	ctx := c.evalCtx()
	fns := c.resources("resource", "google_cloudfunctions2_function")
	if len(fns) == 0 {
		t.Fatal("no functions found")
	}
	for name, b := range fns {
		sc := child(b.Block, "service_config")
		mem, ok := literalString(sc, "available_memory")
		if !ok {
			t.Errorf("function %s: available_memory is not a literal", name)
			continue
		}
		env, ok := attrValue(t, ctx, sc, "environment_variables")
		if !ok || !env.IsKnown() || !env.Type().IsObjectType() && !env.Type().IsMapType() {
			t.Errorf("function %s: environment_variables cannot be read", name)
			continue
		}
		var limit cty.Value
		if env.Type().IsObjectType() && env.Type().HasAttribute("GOMEMLIMIT") {
			limit = env.GetAttr("GOMEMLIMIT")
		} else if env.Type().IsMapType() && env.HasIndex(cty.StringVal("GOMEMLIMIT")).True() {
			limit = env.Index(cty.StringVal("GOMEMLIMIT"))
		}
		if limit == cty.NilVal || !limit.IsKnown() {
			t.Errorf("function %s: no GOMEMLIMIT in its environment", name)
			continue
		}
		lim, err := bytesOf(limit.AsString())
		if err != nil {
			t.Errorf("function %s: GOMEMLIMIT: %v", name, err)
			continue
		}
		avail, err := bytesOf(mem)
		if err != nil {
			t.Errorf("function %s: available_memory: %v", name, err)
			continue
		}
		if lim >= avail {
			t.Errorf("function %s: GOMEMLIMIT %s is not below available_memory %s", name, limit.AsString(), mem)
		}
	}
}

// bytesOf reads 512Mi, 1Gi, 480MiB, 200MiB, 1G, 256M.
func bytesOf(s string) (int64, error) {
	m := regexp.MustCompile(`^(\d+)(B|Ki|Mi|Gi|KiB|MiB|GiB|k|M|G)?$`).FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("cannot read size %q", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	mult := map[string]int64{"": 1, "B": 1, "Ki": 1 << 10, "KiB": 1 << 10, "Mi": 1 << 20, "MiB": 1 << 20, "Gi": 1 << 30, "GiB": 1 << 30, "k": 1e3, "M": 1e6, "G": 1e9}[m[2]]
	return n * mult, nil
}

// Notify sends push messages with FCM HTTP v1 (the API is enabled here and
// in project/) and reads owners' verified addresses from Firebase Auth: its
// account holds the project roles for both.
func TestNotifyProjectRoles(t *testing.T) {
	c := loadConfig(t, ".")
	apis := apiList(t, c)
	if !contains(apis, "fcm.googleapis.com") {
		t.Errorf("fcm.googleapis.com is not among the enabled APIs: %v", apis)
	}
	for _, want := range []struct{ role, why string }{
		{"roles/firebasecloudmessaging.admin", "push (cloudmessaging.messages.create)"},
		{"roles/firebaseauth.viewer", "the address a guest verified after submitting (firebaseauth.users.get)"},
	} {
		found := false
		for _, b := range c.resources("resource", "google_project_iam_member") {
			role, _ := literalString(b.Block, "role")
			member := exprText(t, c, b.file, b.Body.Attributes["member"])
			if role == want.role && strings.Contains(member, "google_service_account.notify.") {
				found = true
			}
		}
		if !found {
			t.Errorf("Notify's service account lacks %s, for %s", want.role, want.why)
		}
	}
}

func apiList(t *testing.T, c *config) []string {
	t.Helper()
	v := c.evalCtx().Variables["local"]
	if !v.Type().HasAttribute("services") || !v.GetAttr("services").IsWhollyKnown() {
		t.Fatalf("%s: local.services cannot be evaluated", c.dir)
	}
	return stringList(t, v.GetAttr("services"))
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// An event's destroy removes only what the event owns. Project-wide grants
// to Google's service agents live in project/ (applied once per project);
// every project-level grant here is to one of this event's own accounts,
// and no service identity is created here.
func TestEventOwnsOnlyItsGrants(t *testing.T) {
	c := loadConfig(t, ".")
	if ids := c.resources("resource", "google_project_service_identity"); len(ids) > 0 {
		t.Errorf("the event stack creates service identities (project-wide): %v", keys(ids))
	}
	for _, typ := range []string{"google_project_iam_binding", "google_project_iam_policy"} {
		if r := c.resources("resource", typ); len(r) > 0 {
			t.Errorf("%s is authoritative for the whole project: %v", typ, keys(r))
		}
	}
	for name, b := range c.resources("resource", "google_project_iam_member") {
		member := exprText(t, c, b.file, b.Body.Attributes["member"])
		if _, ok := forEachAccounts(c, b); ok && member == eachMember {
			continue // one grant to each of several accounts of this event
		}
		if !regexp.MustCompile(`^"serviceAccount:\$\{(module\.[a-z_]+\.)?google_service_account\.[a-z_]+\.email\}"$`).MatchString(member) {
			t.Errorf("google_project_iam_member.%s grants to %s, not to one of this event's service accounts", name, member)
		}
	}
	for name, b := range c.resources("resource", "google_project_service") {
		if a, ok := b.Body.Attributes["disable_on_destroy"]; !ok || exprText(t, c, b.file, a) != "false" {
			t.Errorf("google_project_service.%s: disable_on_destroy must be false", name)
		}
	}

	p := loadConfig(t, "project")
	if got, want := apiList(t, c), apiList(t, p); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("APIs differ between the event stack and project/:\n event:   %v\n project: %v", got, want)
	}
	roles := map[string]bool{}
	for _, b := range p.resources("resource", "google_project_iam_member") {
		r, _ := literalString(b.Block, "role")
		roles[r] = true
	}
	for _, r := range []string{"roles/eventarc.serviceAgent", "roles/iam.serviceAccountTokenCreator"} {
		if !roles[r] {
			t.Errorf("project/ does not grant %s to its service agent", r)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The VPC is deleted only after a wait that follows the connector's
// deletion (its firewall rules go away asynchronously).
func TestConnectorCleanupWait(t *testing.T) {
	c := loadConfig(t, ".")
	conn := c.resource(t, "resource", "google_vpc_access_connector", "main")
	deps := exprText(t, c, conn.file, conn.Body.Attributes["depends_on"])
	var wait string
	for name, b := range c.resources("resource", "time_sleep") {
		if !strings.Contains(deps, "time_sleep."+name) {
			continue
		}
		d, _ := literalString(b.Block, "destroy_duration")
		if a, ok := b.Body.Attributes["depends_on"]; ok && d != "" && strings.Contains(exprText(t, c, b.file, a), "google_compute_network.main") {
			wait = name
		}
	}
	if wait == "" {
		t.Error("the connector does not depend on a time_sleep with destroy_duration that depends on the network")
	}
}

// Secrets never enter the state: only write-only secret data, an ephemeral
// broker password and an ephemeral SMTP password variable.
func TestSecretsWriteOnly(t *testing.T) {
	c := loadConfig(t, ".")
	for _, b := range c.blocks {
		walkBlocks(b.Block, func(n *hclsyntax.Block) {
			if _, ok := n.Body.Attributes["secret_data"]; ok {
				t.Errorf("%s %v sets secret_data (stored in the state); use secret_data_wo", b.Type, b.Labels)
			}
		})
	}
	versions := c.resources("resource", "google_secret_manager_secret_version")
	if len(versions) == 0 {
		t.Fatal("no secret versions found")
	}
	for name, b := range versions {
		for _, a := range []string{"secret_data_wo", "secret_data_wo_version"} {
			if _, ok := b.Body.Attributes[a]; !ok {
				t.Errorf("secret version %s has no %s", name, a)
			}
		}
	}
	if r := c.resources("resource", "random_password"); len(r) > 0 {
		t.Errorf("random_password resources keep their result in the state: %v (use ephemeral)", keys(r))
	}
	for _, b := range c.blocks {
		if b.Type == "variable" && strings.Contains(b.Labels[0], "password") {
			if a, ok := b.Body.Attributes["ephemeral"]; !ok || exprText(t, c, b.file, a) != "true" {
				t.Errorf("variable %s is not ephemeral", b.Labels[0])
			}
		}
	}
}

// Buckets that hold large or personal objects keep no soft-deleted copies
// (billed for days after destroy) and can be destroyed with their objects;
// so does project/'s source bucket (AuthBlocking's archives).
func TestBucketsNoSoftDelete(t *testing.T) {
	c := loadConfig(t, ".")
	buckets := c.resources("resource", "google_storage_bucket")
	names := map[string]bool{}
	for name, b := range buckets {
		names[name] = true
		for _, k := range c.instances(t, b) {
			names[k] = true
		}
	}
	for _, want := range []string{"input", "output", "models", "module.source.this"} {
		if !names[want] {
			t.Errorf("bucket %s is missing", want)
		}
	}
	checkBucketsNoSoftDelete(t, c, buckets)
	p := loadConfig(t, "project")
	checkBucketsNoSoftDelete(t, p, p.resources("resource", "google_storage_bucket"))
}

func checkBucketsNoSoftDelete(t *testing.T, c *config, buckets map[string]block) {
	for name, b := range buckets {
		sd := child(b.Block, "soft_delete_policy")
		if sd == nil {
			t.Errorf("%s: bucket %s has no soft_delete_policy", c.dir, name)
			continue
		}
		if a, ok := sd.Body.Attributes["retention_duration_seconds"]; !ok || exprText(t, c, b.file, a) != "0" {
			t.Errorf("%s: bucket %s: soft_delete_policy.retention_duration_seconds is not 0", c.dir, name)
		}
		if a, ok := b.Body.Attributes["force_destroy"]; !ok || exprText(t, c, b.file, a) != "true" {
			t.Errorf("%s: bucket %s: force_destroy is not true", c.dir, name)
		}
	}
}

// The build account has no project-wide builder role: logs project-wide,
// read of Google's gcf-v2-sources bucket (gen2 builds copy the source there
// and read it from there) through a project grant narrowed by a condition
// to that bucket, the rest on the source bucket and the event's repository,
// which every function builds into, from the root's zipped repository.
// project/ builds AuthBlocking the same way, under the same addresses.
func TestBuildAccountNarrow(t *testing.T) {
	for _, dir := range schemaRoots {
		t.Run(dir, func(t *testing.T) { checkBuildAccountNarrow(t, loadConfig(t, dir)) })
	}
}

func checkBuildAccountNarrow(t *testing.T, c *config) {
	// The build account is module "build"'s (modules/function-builder).
	isBuild := func(a *hclsyntax.Attribute) bool {
		return a != nil && slices.Contains(accountRefs(c, a.Expr), "module.build.this")
	}
	// The bucket's name as Cloud Functions makes it: the project number
	// and the region, no event (the module's local, resolved).
	const sources = `${"gcf-v2-sources-${data.google_project.this.number}-${var.region}"}`
	sourcesRead := false
	for name, b := range c.resources("resource", "google_project_iam_member") {
		role, _ := literalString(b.Block, "role")
		member := b.Body.Attributes["member"]
		if isBuild(member) && role == "roles/storage.objectViewer" {
			cond := child(b.Block, "condition")
			if cond == nil {
				t.Errorf("google_project_iam_member.%s grants the build account objectViewer on every bucket", name)
				continue
			}
			expr := exprText(t, c, b.file, cond.Body.Attributes["expression"])
			if !strings.Contains(expr, `resource.name == \"projects/_/buckets/`+sources+`\"`) ||
				!strings.Contains(expr, `resource.name.startsWith(\"projects/_/buckets/`+sources+`/\")`) ||
				strings.Count(expr, "||") != 1 || strings.Contains(expr, "&&") {
				t.Errorf("google_project_iam_member.%s: condition %s is not exactly the function sources bucket and its objects", name, expr)
			}
			sourcesRead = true
			continue
		}
		if isBuild(member) && role != "roles/logging.logWriter" {
			t.Errorf("google_project_iam_member.%s grants the build account %s project-wide", name, role)
		}
		if hasPrefixAny(role, "roles/cloudbuild.builds.builder", "roles/editor", "roles/owner") {
			t.Errorf("google_project_iam_member.%s grants %s", name, role)
		}
	}
	repoGrant := false
	for _, b := range c.resources("resource", "google_artifact_registry_repository_iam_member") {
		role, _ := literalString(b.Block, "role")
		if role == "roles/artifactregistry.writer" && isBuild(b.Body.Attributes["member"]) {
			repoGrant = true
		}
	}
	if !repoGrant {
		t.Error("the build account cannot write the event's repository")
	}
	if !sourcesRead {
		t.Error("the build account cannot read gcf-v2-sources-NUMBER-REGION, where gen2 functions build from")
	}
	for name, b := range c.resources("resource", "google_cloudfunctions2_function") {
		bc := child(b.Block, "build_config")
		if a, ok := bc.Body.Attributes["runtime"]; !ok || exprText(t, c, b.file, a) != "var.functions_runtime" {
			t.Errorf("function %s is not built with var.functions_runtime", name)
		}
		a, ok := bc.Body.Attributes["docker_repository"]
		if !ok || exprText(t, c, b.file, a) != "google_artifact_registry_repository.images.id" {
			t.Errorf("function %s does not build into the event's repository (docker_repository)", name)
		}
		sa := bc.Body.Attributes["service_account"]
		if !isBuild(sa) {
			t.Errorf("function %s is not built by the build account", name)
		} else if ref := c.outputRef(exprText(t, c, b.file, sa)); !strings.HasSuffix(ref, ".id") {
			t.Errorf("function %s: build_config.service_account is %s, not the account's id", name, ref)
		}
		// From the root's zipped repository, whose object name carries the
		// archive's hash (a code change rebuilds).
		if src := child(child(bc, "source"), "storage_source"); src == nil {
			t.Errorf("function %s: no build_config.source.storage_source", name)
		} else {
			for attr, want := range map[string]string{"bucket": "module.source.google_storage_bucket.this.name", "object": "module.source.google_storage_bucket_object.this.name"} {
				if a, ok := src.Body.Attributes[attr]; !ok || c.outputRef(exprText(t, c, b.file, a)) != want {
					t.Errorf("function %s: storage_source.%s is not %s", name, attr, want)
				}
			}
		}
	}
}

// Write-only arguments and ephemeral resources need Terraform 1.11 and the
// provider versions that have them (google 6.23+, google-beta 6.47+ for a
// worker pool at 0 instances, random 3.7+, archive 2.4+); the pins are
// exact, equal to the schema snapshot (TestProviderVersionsMatchSnapshot).
func TestVersions(t *testing.T) {
	src := mustRead(t, "versions.tf")
	for _, want := range []string{`required_version = ">= 1.11"`, `version = "6.50.0"`, `version = "3.7.2"`, `version = "2.7.1"`} {
		if !strings.Contains(src, want) {
			t.Errorf("versions.tf lacks %s", want)
		}
	}
}

// The worker image runs on the driver Cloud Run provides (535.x, CUDA 12.2),
// keeps the base image's LD_LIBRARY_PATH, and the service does not replace it.
func TestWorkerImage(t *testing.T) {
	df := mustRead(t, "../worker/Dockerfile")
	from := regexp.MustCompile(`(?m)^FROM nvidia/cuda:(\d+)\.(\d+)\.\d+-([a-z0-9]+-)*runtime-ubuntu[0-9.]+\s*$`).FindStringSubmatch(df)
	if from == nil {
		t.Fatal("worker/Dockerfile: no nvidia/cuda runtime base image")
	}
	major, _ := strconv.Atoi(from[1])
	minor, _ := strconv.Atoi(from[2])
	if major != 12 || minor > 2 {
		t.Errorf("CUDA base %s.%s: Cloud Run's L4 driver supports CUDA 12.2 at most", from[1], from[2])
	}
	if !strings.Contains(df, "libcudnn9-cuda-12") {
		t.Error("worker/Dockerfile: no cuDNN 9 for CUDA 12 (ONNX Runtime 1.24's CUDA provider needs it)")
	}
	if !regexp.MustCompile(`onnxruntime-linux-x64-gpu-\$\{ORT_VERSION\}\.tgz`).MatchString(df) {
		t.Error("worker/Dockerfile: not ONNX Runtime's CUDA 12 GPU archive")
	}
	for _, m := range regexp.MustCompile(`LD_LIBRARY_PATH=(\S+)`).FindAllStringSubmatch(df, -1) {
		if !strings.Contains(m[1], "${LD_LIBRARY_PATH}") && !strings.Contains(m[1], "$LD_LIBRARY_PATH") {
			t.Errorf("worker/Dockerfile overwrites LD_LIBRARY_PATH (%s) instead of appending", m[1])
		}
	}
	c := loadConfig(t, ".")
	runs := c.resources("resource", "google_cloud_run_v2_service")
	for name, b := range c.resources("resource", "google_cloud_run_v2_worker_pool") {
		runs["pool "+name] = b
	}
	for _, b := range runs {
		walkBlocks(b.Block, func(n *hclsyntax.Block) {
			if n.Type == "env" {
				if v, _ := literalString(n, "name"); v == "LD_LIBRARY_PATH" {
					t.Error("worker.tf sets LD_LIBRARY_PATH, replacing the image's")
				}
			}
		})
	}
}

// TestAutoscalerReadsOnlyItsParameter: parameterViewer can only be granted
// on the project, so the grant carries a condition naming the event's own
// parameter (the one the autoscaler is given) and its versions, nothing
// else (issue 25: the autoscaler read every event's parameters).
func TestAutoscalerReadsOnlyItsParameter(t *testing.T) {
	c := loadConfig(t, ".")
	b, ok := c.resources("resource", "google_project_iam_member")["autoscaler_parameters"]
	if !ok {
		t.Fatal("google_project_iam_member.autoscaler_parameters is gone")
	}
	cond := child(b.Block, "condition")
	if cond == nil {
		t.Fatal("the autoscaler reads every Parameter Manager parameter of the project: no condition")
	}
	expr := exprText(t, c, b.file, cond.Body.Attributes["expression"])
	if !strings.Contains(expr, `resource.name == \"${local.autoscaler_parameter}\"`) ||
		!strings.Contains(expr, `resource.name.startsWith(\"${local.autoscaler_parameter}/\")`) ||
		strings.Count(expr, "||") != 1 || strings.Contains(expr, "&&") {
		t.Errorf("condition %s is not exactly the event's parameter and its versions", expr)
	}
	param, ok := c.resources("resource", "google_parameter_manager_parameter")["autoscaler"]
	if !ok {
		t.Fatal("google_parameter_manager_parameter.autoscaler is gone")
	}
	id := exprText(t, c, param.file, param.Body.Attributes["parameter_id"])
	found := false
	for _, l := range c.blocks {
		if a, ok := l.Body.Attributes["autoscaler_parameter"]; ok && l.Type == "locals" {
			found = true
			if got := exprText(t, c, l.file, a); !strings.HasSuffix(got, "/parameters/"+strings.Trim(id, `"`)+`"`) {
				t.Errorf("local.autoscaler_parameter = %s, not the autoscaler's parameter (parameter_id %s)", got, id)
			}
		}
	}
	if !found {
		t.Error("local.autoscaler_parameter is gone")
	}
}

// Only the output bucket answers the apps' cross-origin reads (the results
// they fetch with signed URLs); nothing reads the input bucket from a
// browser. The two buckets are one for_each: evaluated per bucket.
func TestJobBucketsCORS(t *testing.T) {
	c := loadConfig(t, ".")
	jb := c.resource(t, "resource", "google_storage_bucket", "jobs")
	var dyn *hclsyntax.Block
	for _, n := range jb.Body.Blocks {
		if n.Type == "dynamic" && n.Labels[0] == "cors" {
			dyn = n
		}
	}
	if dyn == nil || child(jb.Block, "cors") != nil {
		t.Fatal("the job buckets' cors is not one dynamic block")
	}
	got := map[string]int{}
	for _, ctx := range instanceCtxs(c.evalCtx(), jb) {
		each, ok := ctx.Variables["each"]
		if !ok {
			t.Fatal("the job buckets' for_each cannot be evaluated")
		}
		v, _ := attrValue(t, ctx, dyn, "for_each")
		got[each.GetAttr("key").AsString()] = v.LengthInt()
	}
	if want := map[string]int{"input": 0, "output": 1}; !maps.Equal(got, want) {
		t.Errorf("cors blocks per bucket %v, want %v", got, want)
	}
}
