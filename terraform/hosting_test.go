package terraform_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/tigerstudio/studio/functions/gateway"
	envconfig "github.com/tigerstudio/studio/infra/config"
)

// siteIDShape is a project ID's shape, which Hosting accepts as a site id
// (every default site is named after its project).
var siteIDShape = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)

// webVars are sample variables of the event stack for the web app's locals.
func webVars(project, event string, extraOrigins ...string) map[string]cty.Value {
	origins := cty.ListValEmpty(cty.String)
	if len(extraOrigins) > 0 {
		var vs []cty.Value
		for _, o := range extraOrigins {
			vs = append(vs, cty.StringVal(o))
		}
		origins = cty.ListVal(vs)
	}
	return map[string]cty.Value{
		"project":           cty.StringVal(project),
		"event":             cty.StringVal(event),
		"region":            cty.StringVal("europe-west4"),
		"queue_prefix":      cty.NullVal(cty.String),
		"hosting_site":      cty.NullVal(cty.String),
		"extra_app_origins": origins,
		"signed_url_expiry": cty.StringVal("24h"),
		"max_upload_bytes":  cty.NumberIntVal(15 << 20),
		"retention_days":    cty.NumberIntVal(7),
		"app_check":         cty.True,
		"log_level":         cty.StringVal("info"),
		// Generated styles on, no budget: the defaults.
		"generated_styles":     cty.True,
		"generated_budget_usd": cty.NumberIntVal(0),
	}
}

// projectVars are sample variables of project/.
func projectVars(project string, events []string, extraDomains ...string) map[string]cty.Value {
	list := func(ss []string) cty.Value {
		if len(ss) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		var vs []cty.Value
		for _, s := range ss {
			vs = append(vs, cty.StringVal(s))
		}
		return cty.ListVal(vs)
	}
	return map[string]cty.Value{
		"project":                  cty.StringVal(project),
		"events":                   list(events),
		"extra_authorized_domains": list(extraDomains),
		"google_client_id":         cty.NullVal(cty.String),
		"google_client_secret":     cty.NullVal(cty.String),
		"add_firebase":             cty.True,
		"region":                   cty.StringVal("europe-west4"),
		"functions_runtime":        cty.StringVal("go126"),
	}
}

// The site id is valid for any event name the stack accepts, differs
// between the events of a project and between projects, carries the event,
// and is what project/ authorizes for sign-in.
func TestHostingSiteID(t *testing.T) {
	c := loadConfig(t, ".")
	p := loadConfig(t, "project")
	projects := []string{"my-project", "tiger-studio-prod-123456", "a-thirty-character-project-id1"}
	events := []string{"a", "gala", "spring-gala", "x2026", "a-twenty-char-event1"}
	seen := map[string]string{}
	for _, project := range projects {
		sum := sha256.Sum256([]byte(project))
		hash := hex.EncodeToString(sum[:])[:8]
		for _, event := range events {
			id := evalLocal(t, c, webVars(project, event), "hosting_site_id").AsString()
			if !siteIDShape.MatchString(id) {
				t.Errorf("project %s, event %s: site id %q is not 6-30 lowercase letters, digits and hyphens", project, event, id)
			}
			if want := event + "-" + hash; id != want {
				t.Errorf("project %s, event %s: site id %q, want %q (the event, then 8 hex digits of the project's SHA-256)", project, event, id, want)
			}
			if other, dup := seen[id]; dup {
				t.Errorf("site id %q for %s/%s is also %s's", id, project, event, other)
			}
			seen[id] = project + "/" + event
		}
		// project/ derives the same ids, so their domains are authorized.
		sites := stringList(t, evalLocal(t, p, projectVars(project, events), "event_sites"))
		var want []string
		for _, event := range events {
			want = append(want, evalLocal(t, c, webVars(project, event), "hosting_site_id").AsString())
		}
		slices.Sort(want)
		if !slices.Equal(sites, want) {
			t.Errorf("project %s: project/ derives sites %v, the event stacks %v", project, sites, want)
		}
	}

	vars := webVars("my-project", "gala")
	vars["hosting_site"] = cty.StringVal("gala-photos-2026")
	if id := evalLocal(t, c, vars, "hosting_site_id").AsString(); id != "gala-photos-2026" {
		t.Errorf("hosting_site does not override the site id: %q", id)
	}

	site := c.resource(t, "resource", "google_firebase_hosting_site", "app")
	if got := exprText(t, c, site.file, site.Body.Attributes["site_id"]); got != "local.hosting_site_id" {
		t.Errorf("the Hosting site's site_id is %s, not local.hosting_site_id", got)
	}
	// The site serves the event's web app's config at /__/firebase/init.json.
	if a, ok := site.Body.Attributes["app_id"]; !ok || exprText(t, c, site.file, a) != "google_firebase_web_app.app.app_id" {
		t.Error("the Hosting site is not tied to the event's web app (app_id)")
	}
	app := c.resource(t, "resource", "google_firebase_web_app", "app")
	if p, _ := literalString(app.Block, "deletion_policy"); p != "DELETE" {
		t.Errorf("the web app's deletion_policy is %q: destroy would leave it in the project", p)
	}
}

// The Gateway's APP_ORIGINS, loaded by the Gateway's own configuration code,
// are the site's two origins and the extra ones.
func TestGatewayAppOrigins(t *testing.T) {
	c := loadConfig(t, ".")
	for _, extra := range [][]string{nil, {"https://photos.example.com"}, {"https://photos.example.com", "https://booth.example.com:8443"}} {
		vars := webVars("my-project", "spring-gala", extra...)
		site := evalLocal(t, c, vars, "hosting_site_id").AsString()
		env := map[string]string{"AMQP_URL": "amqp://x"}
		for name, v := range evalLocal(t, c, vars, "gateway_env").AsValueMap() {
			if v.IsKnown() && !v.IsNull() {
				env[name] = v.AsString()
			} else {
				env[name] = "placeholder-" + strings.ToLower(name) // a resource's attribute
			}
		}
		var cfg gateway.Config
		if err := envconfig.Load(context.Background(), envconfig.FromMap(env), &cfg); err != nil {
			t.Errorf("extra %v: the Gateway refuses its environment: %v", extra, err)
			continue
		}
		want := append([]string{"https://" + site + ".web.app", "https://" + site + ".firebaseapp.com"}, extra...)
		if !slices.Equal(cfg.AppOrigins, want) {
			t.Errorf("extra %v: APP_ORIGINS = %v, want %v", extra, cfg.AppOrigins, want)
		}
	}
	gw := c.resource(t, "resource", "google_cloudfunctions2_function", "module.gateway.this")
	if got := exprText(t, c, gw.file, child(gw.Block, "service_config").Body.Attributes["environment_variables"]); !strings.Contains(got, "local.gateway_env") {
		t.Errorf("the Gateway's environment is %s, not local.gateway_env", got)
	}
}

// Every resource an event creates carries the event's name, so events in
// one project never touch each other's (destroy included). The exceptions
// are project-wide by design.
func TestEventResourcesNamed(t *testing.T) {
	c := loadConfig(t, ".")
	const event = "zz-event"
	ctx := scaleCtx(c, webVars("my-project", event))
	nameAttrs := []string{"name", "account_id", "site_id", "secret_id", "repository_id", "parameter_id", "display_name"}
	// Named by Google, one per project; only the stack with
	// manage_firestore = true creates them.
	projectWide := map[string]bool{
		"google_firestore_database.default":      true,
		"google_firebaserules_release.firestore": true,
	}
	checked := map[string]bool{}
	for _, b := range c.blocks {
		if b.Type != "resource" {
			continue
		}
		addr := b.addr()
		for _, ctx := range instanceCtxs(ctx, b) {
			for _, attr := range nameAttrs {
				v, ok := attrValue(t, ctx, b.Block, attr)
				if !ok || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
					continue
				}
				checked[addr] = true
				if !strings.Contains(v.AsString(), event) && !projectWide[addr] {
					t.Errorf("%s: %s %q does not carry the event's name", addr, attr, v.AsString())
				}
				break
			}
		}
	}
	for _, addr := range []string{"google_firebase_hosting_site.app", "google_firebase_web_app.app", "module.gateway.google_cloudfunctions2_function.this", "google_service_account.gateway", "google_storage_bucket.jobs"} {
		if !checked[addr] {
			t.Errorf("%s: no name could be evaluated", addr)
		}
	}
	if len(checked) < 20 {
		t.Errorf("only %d resources' names could be evaluated", len(checked))
	}
}

// project/ turns on what the app signs in with: email link and password
// (one email provider without a required password), guests, and the site
// domains of the listed events; Google only with an OAuth client.
func TestProjectAuth(t *testing.T) {
	p := loadConfig(t, "project")
	p.resource(t, "resource", "google_firebase_project", "default")
	cfg := p.resource(t, "resource", "google_identity_platform_config", "auth")
	signIn := child(cfg.Block, "sign_in")
	if signIn == nil {
		t.Fatal("google_identity_platform_config.auth has no sign_in block")
	}
	want := map[string]map[string]string{
		"anonymous": {"enabled": "true"},
		"email":     {"enabled": "true", "password_required": "false"},
	}
	for blk, attrs := range want {
		b := child(signIn, blk)
		if b == nil {
			t.Errorf("sign_in has no %s block", blk)
			continue
		}
		for name, v := range attrs {
			if a, ok := b.Body.Attributes[name]; !ok || exprText(t, p, cfg.file, a) != v {
				t.Errorf("sign_in.%s.%s is not %s", blk, name, v)
			}
		}
	}

	events := []string{"spring-gala", "expo"}
	vars := projectVars("my-project", events, "photos.example.com")
	domains, ok := attrValue(t, scaleCtx(p, vars), cfg.Block, "authorized_domains")
	if !ok || !domains.IsWhollyKnown() {
		t.Fatal("authorized_domains cannot be evaluated")
	}
	got := stringList(t, domains)
	c := loadConfig(t, ".")
	wantDomains := []string{"my-project.firebaseapp.com", "photos.example.com"}
	for _, e := range events {
		site := evalLocal(t, c, webVars("my-project", e), "hosting_site_id").AsString()
		wantDomains = append(wantDomains, site+".web.app", site+".firebaseapp.com")
	}
	for _, d := range wantDomains {
		if !slices.Contains(got, d) {
			t.Errorf("authorized_domains %v lack %s", got, d)
		}
	}

	idp := p.resource(t, "resource", "google_identity_platform_default_supported_idp_config", "google")
	if id, _ := literalString(idp.Block, "idp_id"); id != "google.com" {
		t.Errorf("the default IdP is %q, not google.com", id)
	}
	for _, tc := range []struct {
		clientID cty.Value
		want     int64
	}{
		{cty.NullVal(cty.String), 0},
		{cty.StringVal("123-abc.apps.googleusercontent.com"), 1},
	} {
		vars := projectVars("my-project", events)
		vars["google_client_id"] = tc.clientID
		n, _ := evalAttr(t, p, vars, idp.Block, "count").AsBigFloat().Int64()
		if n != tc.want {
			t.Errorf("google_client_id %#v: the Google provider's count is %d, want %d", tc.clientID, n, tc.want)
		}
	}
	if a := idp.Body.Attributes["client_secret"]; a == nil || exprText(t, p, idp.file, a) != "var.google_client_secret" {
		t.Error("the Google provider's client_secret is not var.google_client_secret")
	}
	sensitive := false
	for _, b := range p.blocks {
		if b.Type == "variable" && b.Labels[0] == "google_client_secret" {
			a, ok := b.Body.Attributes["sensitive"]
			sensitive = ok && exprText(t, p, b.file, a) == "true"
		}
	}
	if !sensitive {
		t.Error("variable google_client_secret is missing or not sensitive")
	}
}

// deploy-web.sh, run with a fake terraform and firebase-tools in a copy of
// the repository's layout: it reads only outputs the stack declares, writes
// studio.json from them (googleClientId only when set), and deploys
// web/dist to the event's site with a generated config that keeps the
// repository's hosting settings and leaves the emulators' out.
func TestDeployWebScript(t *testing.T) {
	for _, tool := range []string{"bash", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	c := loadConfig(t, ".")
	declared := map[string]bool{}
	for _, b := range c.blocks {
		if b.Type == "output" {
			declared[b.Labels[0]] = true
		}
	}
	script := mustRead(t, "deploy-web.sh")
	read := regexp.MustCompile(`output\("([a-z_]+)"\)`).FindAllStringSubmatch(script, -1)
	if len(read) == 0 {
		t.Fatal("deploy-web.sh reads no terraform output")
	}
	for _, m := range read {
		if !declared[m[1]] {
			t.Errorf("deploy-web.sh reads output %s, which terraform/ does not declare", m[1])
		}
	}
	mk := mustRead(t, "../Makefile")
	if i, j := strings.LastIndex(mk, "-var worker_image=$$image"), strings.Index(mk, "terraform/deploy-web.sh $(PROJECT)"); i < 0 || j < i {
		t.Error("make deploy does not run terraform/deploy-web.sh $(PROJECT) after its last apply")
	}

	root := repoRoot(t)
	rootConfig := mustRead(t, filepath.Join(root, "firebase.json"))
	for _, tc := range []struct {
		name     string
		clientID any
	}{{"without Google", nil}, {"with Google", "123-abc.apps.googleusercontent.com"}} {
		t.Run(tc.name, func(t *testing.T) {
			vals := map[string]any{
				"hosting_site":     "spring-gala-1a2b3c4d",
				"app_url":          "https://spring-gala-1a2b3c4d.web.app",
				"gateway_url":      "https://spring-gala-gateway-xyz-ez.a.run.app",
				"event_name":       "Spring Gala",
				"event":            "spring-gala",
				"retention_days":   7,
				"google_client_id": tc.clientID,
			}
			// Terraform leaves null root outputs out of `output -json`.
			tfOut := map[string]any{}
			for name, v := range vals {
				if v != nil {
					tfOut[name] = map[string]any{"value": v, "sensitive": false}
				}
			}
			dir := t.TempDir()
			out, err := runDeployWeb(t, dir, script, rootConfig,
				// Answers only `terraform -chdir=... output -json`.
				"[ \"$2 $3\" = \"output -json\" ] || exit 3\necho '"+mustJSON(t, tfOut)+"'",
				// Records its arguments and the config it was given.
				"echo \"$@\" > "+filepath.Join(dir, "firebase-args")+"\n"+
					"while [ $# -gt 0 ]; do [ \"$1\" = --config ] && cp \"$2\" "+filepath.Join(dir, "deployed.json")+"; shift; done")
			if err != nil {
				t.Fatalf("deploy-web.sh: %v\n%s", err, out)
			}

			var studio map[string]any
			if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(dir, "web/dist/studio.json"))), &studio); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"gatewayUrl": vals["gateway_url"], "event": "spring-gala", "eventName": "Spring Gala", "retentionDays": 7}
			if tc.clientID != nil {
				want["googleClientId"] = tc.clientID
			}
			if g, w := mustJSON(t, studio), mustJSON(t, want); g != w {
				t.Errorf("studio.json = %s, want %s", g, w)
			}

			args := strings.Fields(mustRead(t, filepath.Join(dir, "firebase-args")))
			for _, pair := range [][2]string{{"--only", "hosting"}, {"--project", "my-project"}} {
				if i := slices.Index(args, pair[0]); i < 0 || i+1 >= len(args) || args[i+1] != pair[1] {
					t.Errorf("firebase %v lacks %s %s", args, pair[0], pair[1])
				}
			}
			var deployed, repo map[string]map[string]any
			if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(dir, "deployed.json"))), &deployed); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(rootConfig), &repo); err != nil {
				t.Fatal(err)
			}
			h := deployed["hosting"]
			if h["site"] != vals["hosting_site"] || h["public"] != filepath.Join(dir, "web/dist") {
				t.Errorf("deployed hosting config: site %v, public %v; want %v and web/dist", h["site"], h["public"], vals["hosting_site"])
			}
			for _, key := range []string{"rewrites", "headers", "ignore"} {
				if mustJSON(t, h[key]) != mustJSON(t, repo["hosting"][key]) {
					t.Errorf("deployed hosting %s differ from firebase.json's", key)
				}
			}
			if _, ok := deployed["emulators"]; ok {
				t.Error("the deployed config carries the emulator settings")
			}
			if !strings.Contains(string(out), vals["app_url"].(string)) {
				t.Errorf("deploy-web.sh does not print the app's URL:\n%s", out)
			}
		})
	}

	// A stack applied before hosting.tf lacks the outputs: a clear error, and
	// nothing deployed.
	t.Run("old stack", func(t *testing.T) {
		dir := t.TempDir()
		out, err := runDeployWeb(t, dir, script, rootConfig,
			`echo '{"gateway_url": {"value": "https://g"}}'`, "touch "+filepath.Join(dir, "deployed"))
		if err == nil || !strings.Contains(string(out), "terraform output hosting_site is missing") {
			t.Errorf("deploy-web.sh with an old stack: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "deployed")); err == nil {
			t.Error("firebase deploy ran without the site")
		}
	})
}

// runDeployWeb runs deploy-web.sh in a copy of the repository's layout in
// dir (the script, firebase.json, a built web/dist) with shell scripts as
// terraform and firebase-tools.
func runDeployWeb(t *testing.T, dir, script, rootConfig, terraform, firebase string) ([]byte, error) {
	t.Helper()
	for _, d := range []string{"terraform", "web/dist", "bin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"terraform/deploy-web.sh": script,
		"firebase.json":           rootConfig,
		"web/dist/index.html":     "<!doctype html>",
		"bin/terraform":           "#!/bin/sh\n" + terraform + "\n",
		"bin/firebase":            "#!/bin/sh\n" + firebase + "\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", filepath.Join(dir, "terraform/deploy-web.sh"), "my-project")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(dir, "bin")+":"+os.Getenv("PATH"), "FIREBASE="+filepath.Join(dir, "bin/firebase"))
	return cmd.CombinedOutput()
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
