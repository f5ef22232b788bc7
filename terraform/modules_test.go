package terraform_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// The module every Go function is declared through (issue 21).
const goFunctionModule = "modules/go-function"

// Every Cloud Function of both roots is declared through
// modules/go-function, whose one resource is the function and whose outputs
// are that function's attributes of the same name (so module.X.url is the
// function's url): no google_cloudfunctions2_function is written by hand.
func TestFunctionsThroughModule(t *testing.T) {
	m := loadConfig(t, goFunctionModule)
	var res []string
	for _, b := range m.blocks {
		switch b.Type {
		case "resource", "data":
			res = append(res, b.addr())
		case "output":
			want := "google_cloudfunctions2_function.this." + b.Labels[0]
			if got := exprText(t, m, b.file, b.Body.Attributes["value"]); got != want {
				t.Errorf("%s: output %s is %s, want %s", goFunctionModule, b.Labels[0], got, want)
			}
		}
	}
	if !slices.Equal(res, []string{"google_cloudfunctions2_function.this"}) {
		t.Errorf("%s declares %v, want the one function", goFunctionModule, res)
	}

	want := map[string][]string{
		".":       {"gateway", "notify", "notify_sweep", "reconcile"},
		"project": {"authblock"},
	}
	for _, dir := range schemaRoots {
		c := loadConfig(t, dir)
		var calls []string
		for _, b := range c.blocks {
			switch {
			case b.Type == "resource" && b.Labels[0] == "google_cloudfunctions2_function" && b.module == "":
				t.Errorf("%s/%s: %s is written by hand; declare it with module %q", dir, b.file, b.addr(), goFunctionModule)
			case b.Type == "module":
				if md := c.modules[b.Labels[0]]; md != nil && filepath.ToSlash(md.dir) == goFunctionModule {
					calls = append(calls, b.Labels[0])
				}
			}
		}
		slices.Sort(calls)
		if !slices.Equal(calls, want[dir]) {
			t.Errorf("%s: functions declared through %s: %v, want %v", dir, goFunctionModule, calls, want[dir])
		}
		fns := c.resources("resource", "google_cloudfunctions2_function")
		if len(fns) != len(want[dir]) {
			t.Errorf("%s: %d functions, want %d", dir, len(fns), len(want[dir]))
		}
		for _, call := range want[dir] {
			if _, ok := fns["module."+call+".this"]; !ok {
				t.Errorf("%s: module %s declares no function", dir, call)
			}
		}
	}
}

// A stack applied before the modules has its functions, its build account
// and the account's grants at the old, hand-written addresses: a moved
// block carries each one's state to its module (no function, account or
// grant is destroyed and created again). Each moved block
// goes from an address no longer declared to a resource that is, of the
// same type.
func TestFunctionMoves(t *testing.T) {
	want := wantMoves()
	for _, dir := range schemaRoots {
		checkMoves(t, loadConfig(t, dir), want[dir])
	}
}

// wantMoves are the moves each root must declare, by root and from
// address: every from was declared by hand before, and its state moves to
// the resource (or the for_each instance) that declares it now.
func wantMoves() map[string]map[string]string {
	// The build account and its grants, in both roots, went into
	// modules/function-builder the same way.
	build := map[string]string{
		"google_service_account.build":                                "module.build.google_service_account.this",
		"google_project_iam_member.build_logs":                        "module.build.google_project_iam_member.logs",
		"google_project_iam_member.build_function_sources":            "module.build.google_project_iam_member.function_sources",
		"google_artifact_registry_repository_iam_member.build_images": "module.build.google_artifact_registry_repository_iam_member.images",
		"google_storage_bucket_iam_member.build_source_reader":        "module.build.google_storage_bucket_iam_member.source",
	}
	want := map[string]map[string]string{
		".": {
			"google_cloudfunctions2_function.gateway":      "module.gateway.google_cloudfunctions2_function.this",
			"google_cloudfunctions2_function.notify":       "module.notify.google_cloudfunctions2_function.this",
			"google_cloudfunctions2_function.reconcile":    "module.reconcile.google_cloudfunctions2_function.this",
			"google_cloudfunctions2_function.notify_sweep": "module.notify_sweep.google_cloudfunctions2_function.this",
		},
		"project": {
			"google_cloudfunctions2_function.authblock": "module.authblock.google_cloudfunctions2_function.this",
		},
	}
	// The function source's bucket and object, in both roots, went into
	// modules/function-source (the archive is a data source: no state).
	source := map[string]string{
		"google_storage_bucket.source":        "module.source.google_storage_bucket.this",
		"google_storage_bucket_object.source": "module.source.google_storage_bucket_object.this",
	}
	for _, dir := range schemaRoots {
		maps.Copy(want[dir], build)
		maps.Copy(want[dir], source)
	}
	// The input and output buckets, one for_each since (storage.tf).
	want["."]["google_storage_bucket.input"] = `google_storage_bucket.jobs[cty.StringVal("input")]`
	want["."]["google_storage_bucket.output"] = `google_storage_bucket.jobs[cty.StringVal("output")]`
	// The grants several accounts hold alike, declared once per account
	// before (gateway.tf, notify.tf, worker.tf, autoscaler.tf,
	// rabbitmq.tf), one for_each over the accounts since.
	for from, to := range map[string]string{
		"google_project_iam_member.gateway_firestore":             `google_project_iam_member.firestore[cty.StringVal("gateway")]`,
		"google_project_iam_member.notify_firestore":              `google_project_iam_member.firestore[cty.StringVal("notify")]`,
		"google_project_iam_member.worker_firestore":              `google_project_iam_member.firestore[cty.StringVal("worker")]`,
		"google_secret_manager_secret_iam_member.gateway_amqp":    `google_secret_manager_secret_iam_member.amqp_url[cty.StringVal("gateway")]`,
		"google_secret_manager_secret_iam_member.worker_amqp":     `google_secret_manager_secret_iam_member.amqp_url[cty.StringVal("worker")]`,
		"google_secret_manager_secret_iam_member.autoscaler_amqp": `google_secret_manager_secret_iam_member.amqp_url[cty.StringVal("autoscaler")]`,
		"google_secret_manager_secret_iam_member.rabbitmq_amqp":   `google_secret_manager_secret_iam_member.amqp_url[cty.StringVal("rabbitmq")]`,
		"google_service_account_iam_member.gateway_sign":          `google_service_account_iam_member.url_signer[cty.StringVal("gateway")]`,
		"google_service_account_iam_member.notify_sign":           `google_service_account_iam_member.url_signer[cty.StringVal("notify")]`,
		"google_storage_bucket_iam_member.gateway_output":         `google_storage_bucket_iam_member.url_signer[cty.StringVal("gateway")]`,
		"google_storage_bucket_iam_member.notify_output":          `google_storage_bucket_iam_member.url_signer[cty.StringVal("notify")]`,
	} {
		want["."][from] = to
	}
	return want
}

// checkMoves checks c's moved blocks: each goes from an address no longer
// declared to one that is (an instance its for_each makes), of the same
// type, and every move in want is there.
func checkMoves(t *testing.T, c *config, want map[string]string) {
	t.Helper()
	dir := c.dir
	declared := map[string]bool{}
	keys := map[string]map[string]bool{} // resource -> its for_each keys, where known
	ctx := c.evalCtx()
	for _, b := range c.blocks {
		if b.Type == "resource" {
			declared[b.addr()] = true
			if k := forEachKeys(ctx, b); k != nil {
				keys[b.addr()] = k
			}
		}
	}
	got := map[string]string{}
	for _, b := range c.blocks {
		if b.Type != "moved" {
			continue
		}
		from, fromRes := movedAddr(t, b, "from")
		to, toRes := movedAddr(t, b, "to")
		if _, dup := got[from]; dup {
			t.Errorf("%s/%s: two moved blocks from %s", dir, b.file, from)
		}
		got[from] = to
		if declared[fromRes] {
			t.Errorf("%s/%s: moved from %s, which is still declared", dir, b.file, from)
		}
		if !declared[toRes] {
			t.Errorf("%s/%s: moved from %s to %s, which is not declared", dir, b.file, from, to)
		}
		if key, ok := movedKey(t, b, "to"); ok && keys[toRes] != nil && !keys[toRes][key] {
			t.Errorf("%s/%s: moved from %s to %s, an instance its for_each does not make", dir, b.file, from, to)
		}
		if typeOf(fromRes) != typeOf(toRes) {
			t.Errorf("%s/%s: moved from %s to %s, a resource of another type", dir, b.file, from, to)
		}
	}
	for from, to := range want {
		if got[from] != to {
			t.Errorf("%s: %s moves to %q, want %s", dir, from, got[from], to)
		}
	}
}

// forEachKeys are the string keys b's for_each makes, where ctx can tell
// them: a map's keys are known even where its values (accounts, buckets)
// are not; nil without for_each or where they are not known.
func forEachKeys(ctx *hcl.EvalContext, b block) map[string]bool {
	a, ok := b.Body.Attributes["for_each"]
	if !ok {
		return nil
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || !v.CanIterateElements() {
		return nil
	}
	if v.Type().IsSetType() && !v.IsWhollyKnown() {
		return nil // a set's keys are its elements
	}
	keys := map[string]bool{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if v.Type().IsSetType() {
			k = e
		}
		if k.Type() != cty.String {
			return nil
		}
		keys[k.AsString()] = true
	}
	return keys
}

// movedAddr is the address a moved block's from or to names, and that
// address without its instance keys (the resource declared).
func movedAddr(t *testing.T, b block, name string) (addr, resource string) {
	t.Helper()
	a, ok := b.Body.Attributes[name]
	if !ok {
		t.Fatalf("%s: moved block without %s", b.file, name)
	}
	tr, diags := hcl.AbsTraversalForExpr(a.Expr)
	if diags.HasErrors() {
		t.Fatalf("%s: moved %s is not an address", b.file, name)
	}
	var full, base []string
	for _, s := range tr {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			full, base = append(full, s.Name), append(base, s.Name)
		case hcl.TraverseAttr:
			full, base = append(full, s.Name), append(base, s.Name)
		case hcl.TraverseIndex:
			full[len(full)-1] += "[" + s.Key.GoString() + "]"
		}
	}
	return strings.Join(full, "."), strings.Join(base, ".")
}

// movedKey is the string instance key a moved block's from or to names
// (jobs["input"]: input), if any.
func movedKey(t *testing.T, b block, name string) (string, bool) {
	t.Helper()
	tr, diags := hcl.AbsTraversalForExpr(b.Body.Attributes[name].Expr)
	if diags.HasErrors() {
		t.Fatalf("%s: moved %s is not an address", b.file, name)
	}
	for _, s := range tr {
		if i, ok := s.(hcl.TraverseIndex); ok && i.Key.Type() == cty.String {
			return i.Key.AsString(), true
		}
	}
	return "", false
}

// typeOf is the resource type of an address (module.M.TYPE.name, TYPE.name).
func typeOf(addr string) string {
	parts := strings.Split(addr, ".")
	if len(parts) < 2 {
		return ""
	}
	return parts[len(parts)-2]
}

// The tests see a module's resources as the call makes them: each var.NAME
// becomes the call's argument (in parentheses where precedence needs them),
// or the variable's default, or null; each local.NAME its expression,
// resolved; a reference to the module's own resource its address in the
// root; the call's depends_on becomes the resource's. A module the resolver
// cannot read faithfully is refused.
func TestModuleResolution(t *testing.T) {
	dir := t.TempDir()
	mod := filepath.Join(dir, "mod")
	write := func(path, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(mod, "main.tf"), `
variable "a" {}
variable "b" {
  default = "dflt"
}
variable "c" {
  default = null
}
variable "o" {}
variable "p" {}
locals {
  sum    = var.a + 1
  quoted = "q-${var.b}"
}
resource "x_thing" "this" {
  doubled = var.a * 2
  label   = "${var.b}-suffix"
  opt     = var.c
  nested {
    same = var.a
  }
}
resource "x_user" "this" {
  from_o = var.o.k
  from_p = var.p.k
  whole  = var.o
  thing  = x_thing.this.doubled
  summed = local.sum * 2
  tmpl   = "${local.quoted}/x"
}
data "x_source" "this" {
  thing = x_thing.this.label
}
output "doubled" {
  value = x_thing.this.doubled
}
output "obj" {
  value = {
    k = "${var.b}-${x_thing.this.label}"
  }
}
`)
	write(filepath.Join(dir, "root.tf"), `
resource "x_other" "first" {}
locals {
  obj = {
    k = x_other.first.id
  }
}
module "m" {
  source = "./mod"
  a      = 1 + 2
  o      = { k = 1 + 1 }
  p      = local.obj
  depends_on = [x_other.first]
}
module "m2" {
  source = "./mod"
  a      = 5
  o      = module.m.obj
  p      = module.m.obj
}
`)
	c := loadConfig(t, dir)
	b := c.resource(t, "resource", "x_thing", "module.m.this")
	if b.addr() != "module.m.x_thing.this" {
		t.Errorf("address %s", b.addr())
	}
	ctx := c.evalCtx()
	for attr, want := range map[string]cty.Value{
		"doubled": cty.NumberIntVal(6), // (1 + 2) * 2, not 1 + 2 * 2
		"label":   cty.StringVal("dflt-suffix"),
		"opt":     cty.NullVal(cty.DynamicPseudoType),
	} {
		v, ok := attrValue(t, ctx, b.Block, attr)
		same := v.RawEquals(want) || v.IsNull() && want.IsNull()
		if !ok || !same {
			t.Errorf("%s = %#v, want %#v", attr, v, want)
		}
	}
	if got := exprText(t, c, b.file, child(b.Block, "nested").Body.Attributes["same"]); got != "(1 + 2)" {
		t.Errorf("nested.same is %q", got)
	}
	if deps := dependsOn(t, b); !slices.Equal(deps, []string{"x_other.first"}) {
		t.Errorf("depends_on %v, want the call's [x_other.first]", deps)
	}
	// The module's own resources by their address in the root, its locals
	// by their expressions (resolved too, in parentheses where needed), an
	// attribute of an object argument written out (directly or as a root
	// local) by the attribute's expression.
	u := c.resource(t, "resource", "x_user", "module.m.this")
	for attr, want := range map[string]string{
		"thing":  "module.m.x_thing.this.doubled",
		"from_o": "(1 + 1)",
		"from_p": "x_other.first.id",
		"whole":  "{ k = 1 + 1 }",
		"summed": "((1 + 2) + 1) * 2",
		"tmpl":   `"${"q-${"dflt"}"}/x"`,
	} {
		if got := exprText(t, c, u.file, u.Body.Attributes[attr]); got != want {
			t.Errorf("%s is %s, want %s", attr, got, want)
		}
	}
	if v, _ := attrValue(t, ctx, u.Block, "tmpl"); !v.RawEquals(cty.StringVal("q-dflt/x")) {
		t.Errorf("tmpl = %#v, want q-dflt/x", v)
	}
	d := c.resource(t, "data", "x_source", "module.m.this")
	if d.addr() != "module.m.data.x_source.this" {
		t.Errorf("data address %s", d.addr())
	}
	if got := exprText(t, c, d.file, d.Body.Attributes["thing"]); got != "module.m.x_thing.this.label" {
		t.Errorf("data thing is %s", got)
	}
	if got := c.outputRef("module.m.doubled"); got != "module.m.x_thing.this.doubled" {
		t.Errorf("module.m.doubled stands for %s", got)
	}
	// Another module's output as an object argument: its attribute as
	// that module's call resolves it.
	u2 := c.resource(t, "resource", "x_user", "module.m2.this")
	if got := exprText(t, c, u2.file, u2.Body.Attributes["from_o"]); got != `"${"dflt"}-${module.m.x_thing.this.label}"` {
		t.Errorf("module.m2's from_o is %s", got)
	}
	if _, ok := c.resources("output", "doubled")["doubled"]; ok {
		t.Error("the module's output is taken for the root's")
	}
	for _, b := range c.blocks {
		if b.Type == "output" || b.Type == "variable" {
			t.Errorf("the module's %s %s is among the root's blocks", b.Type, b.Labels[0])
		}
	}
}

// Each function's secret environment: the broker URL for the Gateway and
// Reconcile, the SMTP password for Notify and NotifySweep and Twilio's token
// too when texts go through Twilio (the secret exists only then), each the
// secret's latest version in the project. Evaluated with the secrets'
// ids, as the module's dynamic block receives them.
func TestFunctionSecrets(t *testing.T) {
	c := loadConfig(t, ".")
	var locals []*hclsyntax.Attribute
	for _, b := range c.blocks {
		if b.Type == "locals" {
			for _, a := range b.Body.Attributes {
				locals = append(locals, a)
			}
		}
	}
	secret := func(id string) cty.Value { return cty.ObjectVal(map[string]cty.Value{"secret_id": cty.StringVal(id)}) }
	for _, twilio := range []bool{false, true} {
		tokens := cty.EmptyTupleVal // count = 0
		if twilio {
			tokens = cty.TupleVal([]cty.Value{secret("twilio-id")})
		}
		ctx := scaleCtx(c, webVars("my-project", "gala"))
		ctx.Variables["google_secret_manager_secret"] = cty.ObjectVal(map[string]cty.Value{
			"amqp_url":          secret("amqp-id"),
			"smtp_password":     secret("smtp-id"),
			"twilio_auth_token": tokens,
		})
		evalLocals(ctx, locals)
		notify := map[string]string{"SMTP_PASSWORD": "smtp-id"}
		if twilio {
			notify["TWILIO_AUTH_TOKEN"] = "twilio-id"
		}
		want := map[string]map[string]string{
			"gateway":      {"AMQP_URL": "amqp-id"},
			"reconcile":    {"AMQP_URL": "amqp-id"},
			"notify":       notify,
			"notify_sweep": notify,
		}
		fns := c.resources("resource", "google_cloudfunctions2_function")
		for call, w := range want {
			fn, ok := fns["module."+call+".this"]
			if !ok {
				t.Fatalf("module.%s declares no function", call)
			}
			var dyn *hclsyntax.Block
			walkBlocks(child(fn.Block, "service_config"), func(n *hclsyntax.Block) {
				if n.Type == "dynamic" && n.Labels[0] == "secret_environment_variables" {
					dyn = n
				}
			})
			if dyn == nil {
				t.Fatalf("module.%s: no dynamic secret_environment_variables", call)
			}
			v, ok := attrValue(t, ctx, dyn, "for_each")
			if !ok || !v.IsWhollyKnown() {
				t.Fatalf("twilio %v: module.%s's secrets cannot be evaluated", twilio, call)
			}
			got := map[string]string{}
			for k, s := range v.AsValueMap() {
				got[k] = s.AsString()
			}
			if !maps.Equal(got, w) {
				t.Errorf("twilio %v: module.%s's secret environment %v, want %v", twilio, call, got, w)
			}
			content := child(dyn, "content")
			for attr, want := range map[string]string{
				"key": "secret_environment_variables.key", "secret": "secret_environment_variables.value",
				"version": `"latest"`, "project_id": "var.project",
			} {
				if a, ok := content.Body.Attributes[attr]; !ok || exprText(t, c, fn.file, a) != want {
					t.Errorf("module.%s: secret_environment_variables.%s is not %s", call, attr, want)
				}
			}
		}
	}
}

// The moved blocks keep an applied stack's build account only if the
// module names it as before: a new account_id (or condition title, part of
// the conditioned grant's identity) would replace the account or the grant.
func TestBuildAccountNamesKept(t *testing.T) {
	want := map[string][2]string{
		".":       {`"${var.event}-build"`, `"${var.event}-function-sources"`},
		"project": {`"auth-blocking-builder"`, `"auth-blocking-function-sources"`},
	}
	for _, dir := range schemaRoots {
		c := loadConfig(t, dir)
		if md := c.modules["build"]; md == nil || filepath.ToSlash(md.dir) != "modules/function-builder" {
			t.Fatalf("%s: module build is not modules/function-builder", dir)
		}
		sa := c.resource(t, "resource", "google_service_account", "module.build.this")
		if got := exprText(t, c, sa.file, sa.Body.Attributes["account_id"]); got != want[dir][0] {
			t.Errorf("%s: the build account's id is %s, want %s", dir, got, want[dir][0])
		}
		g := c.resource(t, "resource", "google_project_iam_member", "module.build.function_sources")
		if got := exprText(t, c, g.file, child(g.Block, "condition").Body.Attributes["title"]); got != want[dir][1] {
			t.Errorf("%s: the sources grant's condition title is %s, want %s", dir, got, want[dir][1])
		}
	}
}
