package terraform_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
		"log_level":         cty.StringVal("info"),
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
	gw := c.resource(t, "resource", "google_cloudfunctions2_function", "gateway")
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
		addr := b.Labels[0] + "." + b.Labels[1]
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
	for _, addr := range []string{"google_firebase_hosting_site.app", "google_firebase_web_app.app", "google_cloudfunctions2_function.gateway", "google_service_account.gateway"} {
		if !checked[addr] {
			t.Errorf("%s: no name could be evaluated", addr)
		}
	}
	if len(checked) < 20 {
		t.Errorf("only %d resources' names could be evaluated", len(checked))
	}
}
