package terraform_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/tigerstudio/studio/functions/gateway"
	envconfig "github.com/tigerstudio/studio/infra/config"
	"github.com/tigerstudio/studio/worker"
)

// TestVertexRole: the worker calls the model through a custom role that
// holds aiplatform.endpoints.predict and nothing else, granted to the
// worker's account only, both present exactly when generated_styles is on;
// no broad Vertex AI role is granted anywhere.
func TestVertexRole(t *testing.T) {
	c := loadConfig(t, ".")
	role := c.resource(t, "resource", "google_project_iam_custom_role", "vertex_predict")
	grant := c.resource(t, "resource", "google_project_iam_member", "worker_vertex")
	for _, on := range []bool{true, false} {
		vars := webVars("my-project", "spring-gala")
		vars["generated_styles"] = cty.BoolVal(on)
		want := int64(0)
		if on {
			want = 1
		}
		for _, b := range []block{role, grant} {
			n, _ := evalAttr(t, c, vars, b.Block, "count").AsBigFloat().Int64()
			if n != want {
				t.Errorf("generated_styles = %v: %s count %d, want %d", on, strings.Join(b.Labels, "."), n, want)
			}
		}
	}
	vars := webVars("my-project", "spring-gala")
	if got := stringList(t, evalAttr(t, c, vars, role.Block, "permissions")); len(got) != 1 || got[0] != "aiplatform.endpoints.predict" {
		t.Errorf("the custom role's permissions are %v, want only aiplatform.endpoints.predict", got)
	}
	if id := evalAttr(t, c, vars, role.Block, "role_id").AsString(); !strings.Contains(id, "spring_gala") {
		t.Errorf("role_id %q does not name the event (ids are held after a destroy)", id)
	}
	if got := exprText(t, c, grant.file, grant.Body.Attributes["member"]); !strings.Contains(got, "google_service_account.worker.email") {
		t.Errorf("the Vertex AI grant goes to %s, not the worker's account", got)
	}
	if got := exprText(t, c, grant.file, grant.Body.Attributes["role"]); got != "google_project_iam_custom_role.vertex_predict[0].name" {
		t.Errorf("the worker's Vertex AI role is %s, not the custom role", got)
	}
	for _, typ := range []string{"google_project_iam_member", "google_service_account_iam_member", "google_storage_bucket_iam_member"} {
		for name, b := range c.resources("resource", typ) {
			if r, _ := literalString(b.Block, "role"); strings.HasPrefix(r, "roles/aiplatform.") {
				t.Errorf("%s.%s grants %s: the worker's custom role is the only Vertex AI right", typ, name, r)
			}
		}
	}
	if !strings.Contains(mustRead(t, "apis.tf"), `"aiplatform.googleapis.com"`) {
		t.Error("apis.tf does not enable aiplatform.googleapis.com")
	}
}

// TestVertexEnv: the worker pool's VERTEX_* and the Gateway's GENERATED_*
// are the variables', and both components' own configuration code accepts
// them (the worker's VERTEX_* names are its Config's).
func TestVertexEnv(t *testing.T) {
	c := loadConfig(t, ".")
	vars := webVars("my-project", "spring-gala")
	vars["generated_styles"] = cty.False
	vars["generated_budget_usd"] = cty.NumberFloatVal(12.5)
	vars["vertex_location"] = cty.StringVal("europe-west4")
	vars["vertex_model"] = cty.StringVal("gemini-2.5-flash-image")

	gwEnv := map[string]string{"AMQP_URL": "amqp://x"}
	for name, v := range evalLocal(t, c, vars, "gateway_env").AsValueMap() {
		if v.IsKnown() && !v.IsNull() {
			gwEnv[name] = v.AsString()
		} else {
			gwEnv[name] = "placeholder-" + strings.ToLower(name)
		}
	}
	var gw gateway.Config
	if err := envconfig.Load(context.Background(), envconfig.FromMap(gwEnv), &gw); err != nil {
		t.Fatalf("the Gateway refuses its environment: %v", err)
	}
	if gw.GeneratedStyles || gw.GeneratedBudgetUSD != 12.5 {
		t.Errorf("Gateway: GENERATED_STYLES %v, GENERATED_BUDGET_USD %v; want false and 12.5", gw.GeneratedStyles, gw.GeneratedBudgetUSD)
	}

	pool := c.resource(t, "resource", "google_cloud_run_v2_worker_pool", "worker")
	ctx := scaleCtx(c, vars)
	// What the other env blocks set (from variables this test leaves out).
	wEnv := map[string]string{"GCLOUD_PROJECT": "my-project", "INPUT_BUCKET": "in", "OUTPUT_BUCKET": "out", "AMQP_URL": "amqp://x"}
	walkBlocks(pool.Block, func(n *hclsyntax.Block) {
		if n.Type != "env" {
			return
		}
		name, _ := literalString(n, "name")
		if !strings.HasPrefix(name, "VERTEX_") {
			return // the others need variables this test does not set
		}
		if v, ok := attrValue(t, ctx, n, "value"); ok && v.IsKnown() && !v.IsNull() && v.Type() == cty.String {
			wEnv[name] = v.AsString()
		}
	})
	for k, want := range map[string]string{"VERTEX_PROJECT": "my-project", "VERTEX_LOCATION": "europe-west4", "VERTEX_MODEL": "gemini-2.5-flash-image"} {
		if wEnv[k] != want {
			t.Errorf("worker pool %s = %q, want %q", k, wEnv[k], want)
		}
	}
	var w worker.Config
	if err := envconfig.Load(context.Background(), envconfig.FromMap(wEnv), &w); err != nil {
		t.Fatalf("the worker refuses its environment: %v", err)
	}
	if w.VertexProject != "my-project" || w.VertexLocation != "europe-west4" || w.VertexModel != "gemini-2.5-flash-image" {
		t.Errorf("worker Config: %q %q %q", w.VertexProject, w.VertexLocation, w.VertexModel)
	}
}
