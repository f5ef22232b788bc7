package terraform_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/tigerstudio/studio/functions/authblock"
	envconfig "github.com/tigerstudio/studio/infra/config"
)

// Identity Platform calls AuthBlocking (project/authblock.tf) before every
// account creation and sign-in, at the URL auth.tf registers, and names that
// URL as the blocking token's audience. The registered URL is the
// function's url (declared through modules/go-function: module.authblock's
// url); its AUTH_BLOCKING_AUDIENCE is local.authblock_url, and a
// postcondition makes the apply fail, before the registration, unless the
// two are equal. The environment, evaluated, is one the function's own
// configuration code accepts, with the audience that URL.
func TestAuthBlockingRegistered(t *testing.T) {
	p := loadConfig(t, "project")
	cfg := p.resource(t, "resource", "google_identity_platform_config", "auth")
	fn := p.resource(t, "resource", "google_cloudfunctions2_function", "module.authblock.this")
	const fnURL = "module.authblock.url"

	bf := child(cfg.Block, "blocking_functions")
	if bf == nil {
		t.Fatal("google_identity_platform_config.auth has no blocking_functions block")
	}
	events := map[string]string{}
	for _, tr := range bf.Body.Blocks {
		switch tr.Type {
		case "triggers":
			ev, _ := literalString(tr, "event_type")
			uri := ""
			if a, ok := tr.Body.Attributes["function_uri"]; ok {
				uri = exprText(t, p, cfg.file, a)
			}
			if _, dup := events[ev]; dup {
				t.Errorf("two triggers for %s", ev)
			}
			events[ev] = uri
		case "forward_inbound_credentials":
			t.Error("blocking_functions forwards provider credentials to AuthBlocking, which reads none")
		}
	}
	for _, ev := range []string{"beforeCreate", "beforeSignIn"} {
		if got, ok := events[ev]; !ok {
			t.Errorf("no %s trigger", ev)
		} else if got != fnURL {
			t.Errorf("the %s trigger calls %s, not %s", ev, got, fnURL)
		}
	}
	if len(events) != 2 {
		t.Errorf("triggers %v, want beforeCreate and beforeSignIn only", events)
	}

	if ep, _ := literalString(child(fn.Block, "build_config"), "entry_point"); ep != "AuthBlocking" {
		t.Errorf("module.authblock runs entry point %q", ep)
	}
	sc := child(fn.Block, "service_config")
	envAttr := sc.Body.Attributes["environment_variables"]
	if envAttr == nil {
		t.Fatal("AuthBlocking has no environment_variables")
	}
	envExprs := map[string]string{}
	if obj, ok := envAttr.Expr.(*hclsyntax.ObjectConsExpr); ok {
		for _, item := range obj.Items {
			k, diags := item.KeyExpr.Value(nil)
			if diags.HasErrors() {
				continue
			}
			envExprs[k.AsString()] = exprTextOf(t, p, fn.file, item.ValueExpr)
		}
	}
	if got := envExprs["AUTH_BLOCKING_AUDIENCE"]; got != "local.authblock_url" {
		t.Errorf("AUTH_BLOCKING_AUDIENCE = %q, want local.authblock_url", got)
	}
	if got := envExprs["GCLOUD_PROJECT"]; got != "var.project" {
		t.Errorf("GCLOUD_PROJECT = %q, want var.project", got)
	}
	// The postcondition, as the module declares it for this call, holds
	// exactly when the function's url is local.authblock_url.
	var post *hclsyntax.Attribute
	if lc := child(fn.Block, "lifecycle"); lc != nil {
		if pc := child(lc, "postcondition"); pc != nil {
			post = pc.Body.Attributes["condition"]
		}
	}
	if post == nil {
		t.Fatal("AuthBlocking has no postcondition: the audience it checks may differ from the URL Identity Platform calls")
	}
	vars := projectVars("my-project", []string{"gala"})
	vars["region"] = cty.StringVal("europe-west4")
	want := evalLocal(t, p, vars, "authblock_url").AsString()
	for _, url := range []string{want, want + "x", "https://auth-blocking-abc123-ew.a.run.app"} {
		ctx := scaleCtx(p, vars)
		ctx.Variables["self"] = cty.ObjectVal(map[string]cty.Value{"url": cty.StringVal(url)})
		holds, diags := post.Expr.Value(ctx)
		if diags.HasErrors() || !holds.IsKnown() || holds.Type() != cty.Bool {
			t.Fatalf("AuthBlocking's postcondition %s cannot be evaluated: %s", exprText(t, p, fn.file, post), diags.Error())
		}
		if holds.True() != (url == want) {
			t.Errorf("AuthBlocking's postcondition %s is %v for url %s, local.authblock_url %s: the audience it checks may differ from the URL Identity Platform calls", exprText(t, p, fn.file, post), holds.True(), url, want)
		}
	}

	// The environment, evaluated with sample variables, as the function
	// loads it.
	for _, tc := range []struct{ project, region string }{{"my-project", "europe-west4"}, {"tiger-studio-prod-123456", "us-central1"}} {
		vars := projectVars(tc.project, []string{"gala"})
		vars["region"] = cty.StringVal(tc.region)
		env := map[string]string{}
		v := evalAttr(t, p, vars, sc, "environment_variables")
		for name, val := range v.AsValueMap() {
			if !val.IsKnown() || val.IsNull() {
				t.Fatalf("%s/%s: %s cannot be evaluated", tc.project, tc.region, name)
			}
			env[name] = val.AsString()
		}
		var c authblock.Config
		if err := envconfig.Load(context.Background(), envconfig.FromMap(env), &c); err != nil {
			t.Errorf("%s/%s: AuthBlocking refuses its environment: %v", tc.project, tc.region, err)
			continue
		}
		name := evalLocal(t, p, vars, "authblock_name").AsString()
		want := "https://" + tc.region + "-" + tc.project + ".cloudfunctions.net/" + name
		if c.Audience != want || c.Project != tc.project {
			t.Errorf("%s/%s: AuthBlocking's audience %q and project %q, want %q and %q", tc.project, tc.region, c.Audience, c.Project, want, tc.project)
		}
		if got := evalAttr(t, p, vars, fn.Block, "name").AsString(); got != name {
			t.Errorf("the function is named %q, its URL names %q", got, name)
		}
	}

	// Identity Platform calls it only once it may: the registration waits
	// for the invoker grant (time_sleep.invoker_iam) on this function.
	deps := dependsOn(t, cfg)
	if !slices.Contains(deps, "time_sleep.invoker_iam") {
		t.Errorf("google_identity_platform_config.auth does not wait for the invoker grant (depends_on %v)", deps)
	}
	waitDeps := dependsOn(t, p.resource(t, "resource", "time_sleep", "invoker_iam"))
	if !slices.Contains(waitDeps, "google_cloud_run_v2_service_iam_member.authblock_public") {
		t.Errorf("time_sleep.invoker_iam does not follow the invoker grant (depends_on %v)", waitDeps)
	}
}

// Who calls AuthBlocking and what it may do. Identity Platform calls
// blocking functions without an identity a run.invoker grant could name
// (firebase-tools deploys them public), so the function is public and
// accepts all ingress; it checks the signed token itself. Its own account
// holds roles/firebaseauth.admin on the project (accounts:lookup, deleting
// the password provider, revoking sessions) and nothing else, anywhere.
func TestAuthBlockingRights(t *testing.T) {
	p := loadConfig(t, "project")
	fn := p.resource(t, "resource", "google_cloudfunctions2_function", "module.authblock.this")
	sc := child(fn.Block, "service_config")
	if got := exprText(t, p, fn.file, sc.Body.Attributes["service_account_email"]); got != "google_service_account.authblock.email" {
		t.Errorf("AuthBlocking runs as %s, not its own account", got)
	}
	if got, _ := literalString(sc, "ingress_settings"); got != "ALLOW_ALL" {
		t.Errorf("AuthBlocking's ingress is %q: Identity Platform calls from outside any VPC", got)
	}

	invokers := 0
	for name, b := range p.resources("resource", "google_cloud_run_v2_service_iam_member") {
		if !strings.Contains(exprText(t, p, b.file, b.Body.Attributes["name"]), "module.authblock.") {
			continue
		}
		role, _ := literalString(b.Block, "role")
		member, _ := literalString(b.Block, "member")
		if role != "roles/run.invoker" || member != "allUsers" {
			t.Errorf("google_cloud_run_v2_service_iam_member.%s grants %s to %s on AuthBlocking", name, role, member)
		}
		invokers++
	}
	if invokers != 1 {
		t.Errorf("%d invoker grants on AuthBlocking, want the one public grant", invokers)
	}

	// Every grant whose member is AuthBlocking's account (the event stacks
	// cannot name it: it is not theirs).
	var roles []string
	for _, b := range p.blocks {
		if b.Type != "resource" || !strings.HasSuffix(b.Labels[0], "_iam_member") && !strings.HasSuffix(b.Labels[0], "_iam_binding") {
			continue
		}
		a, ok := b.Body.Attributes["member"]
		if !ok {
			a, ok = b.Body.Attributes["members"]
		}
		if !ok || !slices.Contains(accountRefs(p, a.Expr), "authblock") {
			continue
		}
		role, _ := literalString(b.Block, "role")
		if b.Labels[0] != "google_project_iam_member" || child(b.Block, "condition") != nil {
			t.Errorf("%s.%s: AuthBlocking's account holds %s on something other than the whole project", b.Labels[0], b.Labels[1], role)
		}
		roles = append(roles, role)
	}
	if !slices.Equal(roles, []string{"roles/firebaseauth.admin"}) {
		t.Errorf("AuthBlocking's account holds %v, want exactly [roles/firebaseauth.admin]", roles)
	}
	// Nothing else runs as it.
	for _, b := range p.blocks {
		if b.Type != "resource" || b.addr() == fn.addr() || strings.HasSuffix(b.Labels[0], "_iam_member") {
			continue
		}
		walkBlocks(b.Block, func(n *hclsyntax.Block) {
			for _, a := range n.Body.Attributes {
				if slices.Contains(accountRefs(p, a.Expr), "authblock") {
					t.Errorf("%s uses AuthBlocking's account", b.addr())
				}
			}
		})
	}

	// The same Go runtime as the event stacks' functions.
	if a, b := variableDefault(t, loadConfig(t, "."), "functions_runtime"), variableDefault(t, p, "functions_runtime"); a == "" || a != b {
		t.Errorf("functions_runtime defaults differ: event stack %q, project/ %q", a, b)
	}
}

// The project root's names never equal a name an event stack makes: an
// event's names are its own name followed by a fixed suffix, and the event
// name may be nearly anything (auth-blocking-build would be the build
// account of an event called auth-blocking).
func TestProjectNamesNotAnEvents(t *testing.T) {
	const marker = "zzevent"
	c := loadConfig(t, ".")
	ctx := scaleCtx(c, webVars("my-project", marker))
	eventName := `[a-z]([a-z0-9-]{0,18}[a-z0-9])?`
	var patterns []*regexp.Regexp
	for _, b := range c.blocks {
		if b.Type != "resource" {
			continue
		}
		for _, ctx := range instanceCtxs(ctx, b) {
			for _, attr := range []string{"name", "account_id", "repository_id", "secret_id", "parameter_id", "site_id"} {
				v, ok := attrValue(t, ctx, b.Block, attr)
				if !ok || !v.IsKnown() || v.IsNull() || !strings.Contains(v.AsString(), marker) {
					continue
				}
				parts := strings.Split(v.AsString(), marker)
				for i := range parts {
					parts[i] = regexp.QuoteMeta(parts[i])
				}
				patterns = append(patterns, regexp.MustCompile("^"+strings.Join(parts, eventName)+"$"))
			}
		}
	}
	if len(patterns) < 20 {
		t.Fatalf("only %d event names evaluated", len(patterns))
	}
	p := loadConfig(t, "project")
	pctx := scaleCtx(p, projectVars("my-project", []string{"gala"}))
	checked := 0
	for _, b := range p.blocks {
		if b.Type != "resource" {
			continue
		}
		for _, attr := range []string{"name", "account_id", "repository_id"} {
			v, ok := attrValue(t, pctx, b.Block, attr)
			if !ok || !v.IsKnown() || v.IsNull() {
				continue
			}
			checked++
			for _, re := range patterns {
				if re.MatchString(v.AsString()) {
					t.Errorf("project/ %s.%s: %s %q is also an event's name (%s)", b.Labels[0], b.Labels[1], attr, v.AsString(), re)
				}
			}
		}
	}
	if checked < 5 {
		t.Errorf("only %d project/ names evaluated", checked)
	}
}

func variableDefault(t *testing.T, c *config, name string) string {
	t.Helper()
	for _, b := range c.blocks {
		if b.Type == "variable" && b.Labels[0] == name {
			s, _ := literalString(b.Block, "default")
			return s
		}
	}
	return ""
}

// exprTextOf is the source text of any expression of c's file.
func exprTextOf(t *testing.T, c *config, file string, e hclsyntax.Expression) string {
	t.Helper()
	return exprText(t, c, file, &hclsyntax.Attribute{Expr: e})
}
