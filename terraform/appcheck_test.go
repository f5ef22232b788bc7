package terraform_test

import (
	"context"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/tigerstudio/studio/functions/gateway"
	envconfig "github.com/tigerstudio/studio/infra/config"
)

// App Check (issue 25): with var.app_check the Gateway enforces it for the
// event's web app, whose reCAPTCHA Enterprise key allows exactly the
// event's app origins and whose site key reaches the app's studio.json;
// without, the Gateway is told off. Either way the Gateway accepts its
// environment.
func TestAppCheckWired(t *testing.T) {
	c := loadConfig(t, ".")
	for _, on := range []bool{true, false} {
		vars := webVars("my-project", "spring-gala", "https://photos.example.com")
		vars["app_check"] = cty.BoolVal(on)
		env := map[string]string{"AMQP_URL": "amqp://x"}
		for name, v := range evalLocal(t, c, vars, "gateway_env").AsValueMap() {
			if v.IsKnown() && !v.IsNull() {
				env[name] = v.AsString()
			} else {
				env[name] = "placeholder-" + strings.ToLower(name) // a resource's attribute
			}
		}
		want := map[bool]string{true: "enforce", false: "off"}[on]
		if env["APP_CHECK"] != want {
			t.Errorf("app_check = %v: the Gateway's APP_CHECK is %q, want %q", on, env["APP_CHECK"], want)
		}
		var cfg gateway.Config
		// Load validates: enforce needs the project number, which is there.
		if err := envconfig.Load(context.Background(), envconfig.FromMap(env), &cfg); err != nil {
			t.Fatalf("app_check = %v: the Gateway refuses its environment: %v", on, err)
		}
	}

	key := c.resource(t, "resource", "google_recaptcha_enterprise_key", "app")
	web := child(key.Block, "web_settings")
	if web == nil {
		t.Fatal("the reCAPTCHA key has no web_settings")
	}
	if got := exprText(t, c, key.file, web.Body.Attributes["allowed_domains"]); !strings.Contains(got, "local.app_origins") {
		t.Errorf("allowed_domains = %s, want the event's app origins (local.app_origins)", got)
	}
	if got := exprText(t, c, key.file, web.Body.Attributes["allow_all_domains"]); got != "false" {
		t.Errorf("allow_all_domains = %s", got)
	}
	provider := c.resource(t, "resource", "google_firebase_app_check_recaptcha_enterprise_config", "app")
	if got := exprText(t, c, provider.file, provider.Body.Attributes["app_id"]); got != "google_firebase_web_app.app.app_id" {
		t.Errorf("the App Check provider is for %s, not the event's web app", got)
	}
	if !strings.Contains(mustRead(t, "deploy-web.sh"), `outputs.app_check_site_key?.value`) {
		t.Error("deploy-web.sh does not give the app its App Check site key")
	}
}
