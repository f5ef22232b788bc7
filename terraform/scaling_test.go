package terraform_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/tigerstudio/studio/infra/queue"
)

// The worker runs as a worker pool with one L4, scaled only through its
// manual instance count, which the autoscaler owns after the first apply.
// A Cloud Run service for the worker would scale on requests it never gets.
func TestWorkerPoolScaling(t *testing.T) {
	c := loadConfig(t, ".")
	for name, b := range c.resources("resource", "google_cloud_run_v2_service") {
		walkBlocks(b.Block, func(n *hclsyntax.Block) {
			if n.Type == "node_selector" {
				t.Errorf("google_cloud_run_v2_service.%s has a GPU: request-based scaling never starts a queue worker", name)
			}
		})
	}
	pool := c.resource(t, "resource", "google_cloud_run_v2_worker_pool", "worker")
	if ns := child(child(pool.Block, "template"), "node_selector"); ns == nil || mustLiteral(t, ns, "accelerator") != "nvidia-l4" {
		t.Error("the worker pool does not select an nvidia-l4")
	}
	sc := child(pool.Block, "scaling")
	if sc == nil {
		t.Fatal("the worker pool has no scaling block")
	}
	if a, ok := sc.Body.Attributes["manual_instance_count"]; !ok || exprText(t, c, pool.file, a) != "var.worker_min_instances" {
		t.Error("the worker pool's first manual_instance_count is not var.worker_min_instances")
	}
	for _, bad := range []string{"scaling_mode", "min_instance_count", "max_instance_count"} {
		if _, ok := sc.Body.Attributes[bad]; ok {
			t.Errorf("the worker pool sets scaling.%s: worker pools scale only manually (the autoscaler sets the count)", bad)
		}
	}
	lc := child(pool.Block, "lifecycle")
	if lc == nil || lc.Body.Attributes["ignore_changes"] == nil ||
		!strings.Contains(exprText(t, c, pool.file, lc.Body.Attributes["ignore_changes"]), "scaling[0].manual_instance_count") {
		t.Error("the worker pool does not leave manual_instance_count to the autoscaler (lifecycle.ignore_changes)")
	}

	// The pool reaches the broker from its own subnet, which the broker's
	// one AMQP firewall rule admits beside the connector's range, and the
	// pool starts after that rule.
	vpc := child(child(pool.Block, "template"), "vpc_access")
	ni := child(vpc, "network_interfaces")
	if ni == nil || !strings.Contains(exprText(t, c, pool.file, ni.Body.Attributes["subnetwork"]), "google_compute_subnetwork.worker.") {
		t.Fatal("the worker pool does not use Direct VPC egress on google_compute_subnetwork.worker")
	}
	fw := c.resource(t, "resource", "google_compute_firewall", "amqp")
	sub := c.resource(t, "resource", "google_compute_subnetwork", "worker")
	ranges, diags := hcl.ExprList(fw.Body.Attributes["source_ranges"].Expr)
	if diags.HasErrors() {
		t.Fatalf("google_compute_firewall.amqp: source_ranges is not a list: %s", diags.Error())
	}
	var admitted []string
	for _, e := range ranges {
		admitted = append(admitted, exprTextOf(t, c, fw.file, e.(hclsyntax.Expression)))
	}
	if !slices.Contains(admitted, exprText(t, c, sub.file, sub.Body.Attributes["ip_cidr_range"])) {
		t.Errorf("the AMQP firewall rule admits %v, not the worker subnet's range", admitted)
	}
	if !slices.Contains(dependsOn(t, pool), "google_compute_firewall.amqp") {
		t.Error("the worker pool does not wait for the AMQP firewall rule (depends_on)")
	}
}

// The autoscaler's configuration targets the worker pool by its full name,
// reads the job queue the code declares, and follows the variables.
func TestAutoscalerConfig(t *testing.T) {
	c := loadConfig(t, ".")
	vars := map[string]cty.Value{
		"project":                       cty.StringVal("p1"),
		"region":                        cty.StringVal("europe-west4"),
		"event":                         cty.StringVal("gala"),
		"queue_prefix":                  cty.NullVal(cty.String),
		"worker_min_instances":          cty.NumberIntVal(2),
		"worker_max_instances":          cty.NumberIntVal(5),
		"worker_queue_target":           cty.NumberIntVal(3),
		"autoscaler_polling_seconds":    cty.NumberIntVal(15),
		"autoscaler_scale_down_seconds": cty.NumberIntVal(300),
		"booth_hours": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
			"timezone": cty.StringVal("Europe/Amsterdam"), "start": cty.StringVal("0 9 * * *"),
			"end": cty.StringVal("0 18 * * *"), "instances": cty.NumberIntVal(1),
		})}),
	}
	cfg := evalLocal(t, c, vars, "autoscaler_config")
	spec := cfg.GetAttr("spec")
	if got := spec.GetAttr("pollingInterval"); !got.RawEquals(cty.NumberIntVal(15)) {
		t.Errorf("pollingInterval = %#v, want var.autoscaler_polling_seconds", got)
	}
	objs := spec.GetAttr("scaledObjects")
	if n := objs.LengthInt(); n != 1 {
		t.Fatalf("%d scaled objects, want 1", n)
	}
	so := objs.Index(cty.NumberIntVal(0)).GetAttr("spec")

	pool := c.resource(t, "resource", "google_cloud_run_v2_worker_pool", "worker")
	poolName := evalAttr(t, c, vars, pool.Block, "name").AsString()
	if got, want := so.GetAttr("scaleTargetRef").GetAttr("name").AsString(), "projects/p1/locations/europe-west4/workerpools/"+poolName; got != want {
		t.Errorf("scaleTargetRef %q, want the worker pool %q", got, want)
	}
	if !so.GetAttr("minReplicaCount").RawEquals(cty.NumberIntVal(2)) || !so.GetAttr("maxReplicaCount").RawEquals(cty.NumberIntVal(5)) {
		t.Errorf("min/maxReplicaCount = %#v/%#v, want var.worker_min_instances/var.worker_max_instances",
			so.GetAttr("minReplicaCount"), so.GetAttr("maxReplicaCount"))
	}

	auths := map[string]cty.Value{}
	for it := spec.GetAttr("triggerAuthentications").ElementIterator(); it.Next(); {
		_, a := it.Element()
		auths[a.GetAttr("metadata").GetAttr("name").AsString()] = a.GetAttr("spec")
	}
	var types []string
	rabbit := 0
	for it := so.GetAttr("triggers").ElementIterator(); it.Next(); {
		_, tr := it.Element()
		typ := tr.GetAttr("type").AsString()
		types = append(types, typ)
		md := tr.GetAttr("metadata")
		switch typ {
		case "rabbitmq":
			rabbit++
			want := queue.Topology{Prefix: "gala"}.Queue()
			if q := md.GetAttr("queueName").AsString(); q != want {
				t.Errorf("rabbitmq trigger reads queue %q, the worker consumes %q", q, want)
			}
			if p := md.GetAttr("protocol").AsString(); p != "amqp" {
				t.Errorf("rabbitmq trigger protocol %q: the broker has no management API, only AMQP", p)
			}
			if m := md.GetAttr("mode").AsString(); m != "QueueLength" {
				t.Errorf("rabbitmq trigger mode %q, want QueueLength", m)
			}
			if v := md.GetAttr("value").AsString(); v != "3" {
				t.Errorf("rabbitmq trigger value %q, want var.worker_queue_target", v)
			}
			ref := tr.GetAttr("authenticationRef").GetAttr("name").AsString()
			a, ok := auths[ref]
			if !ok {
				t.Fatalf("rabbitmq trigger names unknown authentication %q", ref)
			}
			s := a.GetAttr("gcpSecretManager").GetAttr("secrets").Index(cty.NumberIntVal(0))
			if s.GetAttr("parameter").AsString() != "host" {
				t.Error("the broker URL secret is not given to the scaler as host")
			}
		case "cron":
			if md.GetAttr("desiredReplicas").AsString() != "1" || md.GetAttr("timezone").AsString() != "Europe/Amsterdam" {
				t.Errorf("cron trigger %#v does not follow booth_hours", md)
			}
		}
	}
	if rabbit != 1 || len(types) != 2 {
		t.Errorf("triggers %v, want one rabbitmq and one cron per booth_hours window", types)
	}

	// The service runs CREMA continuously on the configuration version.
	svc := c.resource(t, "resource", "google_cloud_run_v2_service", "autoscaler")
	tmpl := child(svc.Block, "template")
	sc := child(tmpl, "scaling")
	if sc == nil || exprText(t, c, svc.file, sc.Body.Attributes["min_instance_count"]) != "1" {
		t.Error("the autoscaler service does not keep one instance running")
	}
	ctr := child(tmpl, "containers")
	if res := child(ctr, "resources"); res == nil || exprText(t, c, svc.file, res.Body.Attributes["cpu_idle"]) != "false" {
		t.Error("the autoscaler's CPU is throttled between requests: its polling loop would stall")
	}
	found := false
	for _, e := range ctr.Body.Blocks {
		if e.Type == "env" && mustLiteral(t, e, "name") == "CREMA_CONFIG" {
			found = strings.Contains(exprText(t, c, svc.file, e.Body.Attributes["value"]), "google_parameter_manager_parameter_version.autoscaler.")
		}
	}
	if !found {
		t.Error("CREMA_CONFIG does not name the autoscaler's parameter version")
	}
	if vpc := child(tmpl, "vpc_access"); vpc == nil || !strings.Contains(exprText(t, c, svc.file, vpc.Body.Attributes["connector"]), "google_vpc_access_connector.main.") {
		t.Error("the autoscaler does not reach the broker through the connector")
	}
}

// The autoscaler's account holds exactly what CREMA needs: scale the worker
// pool, act as the worker's account, read its configuration and the broker
// URL.
func TestAutoscalerRights(t *testing.T) {
	c := loadConfig(t, ".")
	want := []string{
		"google_cloud_run_v2_worker_pool_iam_member roles/run.developer on google_cloud_run_v2_worker_pool.worker",
		"google_project_iam_member roles/parametermanager.parameterViewer on var.project",
		"google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor on google_secret_manager_secret.amqp_url",
		"google_service_account_iam_member roles/iam.serviceAccountUser on google_service_account.worker",
	}
	target := map[string]string{
		"google_cloud_run_v2_worker_pool_iam_member": "name",
		"google_project_iam_member":                  "project",
		"google_secret_manager_secret_iam_member":    "secret_id",
		"google_service_account_iam_member":          "service_account_id",
	}
	var got []string
	for _, b := range c.blocks {
		if b.Type != "resource" || !strings.HasSuffix(b.Labels[0], "_iam_member") && !strings.HasSuffix(b.Labels[0], "_iam_binding") {
			continue
		}
		if !slices.Contains(grantAccounts(t, c, b), "autoscaler") {
			continue
		}
		role, _ := literalString(b.Block, "role")
		on := "?"
		if a, ok := b.Body.Attributes[target[b.Labels[0]]]; ok {
			on = exprText(t, c, b.file, a)
			if i := strings.Index(on, "["); i > 0 {
				on = on[:i]
			}
			if parts := strings.Split(on, "."); len(parts) > 2 {
				on = strings.Join(parts[:2], ".")
			}
		}
		got = append(got, fmt.Sprintf("%s %s on %s", b.Labels[0], role, on))
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the autoscaler's grants:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func mustLiteral(t *testing.T, b *hclsyntax.Block, name string) string {
	t.Helper()
	s, ok := literalString(b, name)
	if !ok {
		t.Fatalf("%s %v: %s is not a literal string", b.Type, b.Labels, name)
	}
	return s
}

// scaleCtx evaluates the configuration with the given variables; yamlencode
// returns its argument, so the YAML's structure can be inspected. Resource
// attributes stay unknown.
func scaleCtx(c *config, vars map[string]cty.Value) *hcl.EvalContext {
	ctx := c.evalCtx()
	ctx.Variables["var"] = cty.ObjectVal(vars)
	ctx.Functions["yamlencode"] = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowNull: true}},
		Type:   func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
		Impl:   func(args []cty.Value, _ cty.Type) (cty.Value, error) { return args[0], nil },
	})
	var locals []*hclsyntax.Attribute
	for _, b := range c.blocks {
		if b.Type == "locals" {
			for _, a := range b.Body.Attributes {
				locals = append(locals, a)
			}
		}
	}
	evalLocals(ctx, locals)
	return ctx
}

func evalLocal(t *testing.T, c *config, vars map[string]cty.Value, name string) cty.Value {
	t.Helper()
	v := scaleCtx(c, vars).Variables["local"].GetAttr(name)
	if !v.IsKnown() || v.IsNull() {
		t.Fatalf("local.%s cannot be evaluated", name)
	}
	return v
}

func evalAttr(t *testing.T, c *config, vars map[string]cty.Value, b *hclsyntax.Block, name string) cty.Value {
	t.Helper()
	v, ok := attrValue(t, scaleCtx(c, vars), b, name)
	if !ok || !v.IsKnown() {
		t.Fatalf("%s cannot be evaluated", name)
	}
	return v
}
