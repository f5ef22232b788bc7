package terraform_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/tigerstudio/studio/terraform/schema"
)

// A reference to something not declared is what terraform validate and plan
// stop on first, and nothing else here would notice it: the schema check
// reads names of arguments, not what their expressions refer to. So in both
// roots and in every module they call, each on its own (a module sees only
// its own declarations), every reference in every expression resolves:
//
//   - var.X, local.X, TYPE.NAME, data.TYPE.NAME, ephemeral.TYPE.NAME and
//     module.CALL name something declared there, once;
//   - module.CALL.OUTPUT names an output of the called module, and each call
//     passes only the module's variables, all of those without a default;
//   - an instance key fits the resource or call: [N] only with count, a
//     string only with for_each, and then one the for_each makes where its
//     keys can be evaluated (locals, literals); none without either, and
//     the attributes of a counted or for_each resource only through an
//     instance;
//   - each.* only under for_each, count.* only under count, self.* only in
//     postconditions, provisioners and connections, a dynamic block's
//     iterator only in its content; path.* and terraform.* as Terraform has
//     them;
//   - what a reference reads of a resource, data source or ephemeral
//     resource (TYPE.NAME[KEY].ATTR, self.ATTR) is an attribute or nested
//     block of its type in the providers' schemas (schema/schema.json, the
//     computed-only attributes such as email, uri and output_md5 included;
//     id always), and so is each step into a nested block after it
//     (template[0].containers), after a splat ([*].name) or an index that is
//     not a literal ([each.key].name) too; the same for the paths in a
//     lifecycle's ignore_changes, which Terraform checks against the schema
//     as well.
//
// Not followed: past an attribute (the snapshot has no types: an object
// attribute's fields, a map's keys), past a for expression's variable
// (b.name in [for b in google_storage_bucket.jobs : b.name]) or a
// function's result (one(...), values(...)), and whether a nested block
// must be indexed (a list block needs template[0], a single one takes no
// index, a set none at all: the snapshot does not say which a block is).
// Every provider the stack uses is in the snapshot (google, google-beta,
// time, random, archive); a type of one that is not (terraform_data of the
// built-in terraform provider) is left unchecked here, and
// TestProviderSchemas names it.
//
// moved and removed blocks name former addresses and are left out
// (TestFunctionMoves checks where moves go).
func TestReferencesResolve(t *testing.T) {
	snap := loadSnapshot(t)
	for _, dir := range schemaDirs(t) {
		t.Run(dir, func(t *testing.T) {
			errs, keyed, read := checkRefs(snap, loadConfig(t, dir))
			for _, err := range errs {
				t.Error(err)
			}
			// Every folder reads attributes of its resources: were the
			// types' schemas not found, none would be checked.
			if read == 0 {
				t.Errorf("%s: no attribute a reference reads was found in a schema", dir)
			}
			// Both roots index google_project_service.apis by a literal
			// key: were its for_each not evaluated, no key would be checked.
			if slices.Contains(schemaRoots, dir) && keyed == 0 {
				t.Errorf("%s: no literal key was checked against an evaluated for_each", dir)
			}
		})
	}
}

// Each mistake, made in a copy of the files, is reported at its file and
// line: the check above fails on what plan would refuse. A case without
// want is an edit the check must accept.
func TestReferencesResolveCatch(t *testing.T) {
	snap := loadSnapshot(t)
	cases := []editCase{
		{"an undeclared resource", ".", "storage.tf",
			`google_project_service.apis["storage.googleapis.com"]`, `google_project_service.apiz["storage.googleapis.com"]`,
			`google_project_service.apiz is not declared`, ""},
		{"a key the for_each does not make", ".", "storage.tf",
			`apis["storage.googleapis.com"]`, `apis["storag.googleapis.com"]`,
			`google_project_service.apis has no instance ["storag.googleapis.com"]`, ""},
		{"an undeclared local", ".", "storage.tf",
			`value       = local.model_dir`, `value       = local.model_dri`,
			`local.model_dri is not declared`, ""},
		{"an undeclared variable", ".", "gateway.tf",
			`var.app_check ?`, `var.app_chek ?`,
			`var.app_chek is not declared`, ""},
		{"an undeclared data source", ".", "gateway.tf",
			`data.google_project.this.number`, `data.google_project.that.number`,
			`data.google_project.that is not declared`, ""},
		{"an undeclared module call", ".", "gateway.tf",
			`value       = module.gateway.url`, `value       = module.gatewya.url`,
			`module.gatewya is not declared`, ""},
		{"an output the module does not declare", ".", "gateway.tf",
			`build       = module.build.function_build`, `build       = module.build.function_builds`,
			`module.build.function_builds: modules/function-builder declares no output "function_builds"`, ""},
		{"an argument the module does not take", ".", "gateway.tf",
			`build       = module.build.function_build`, `built       = module.build.function_build`,
			`unsupported argument "built"`, ""},
		{"a required variable left out", "project", "authblock.tf",
			"  runtime         = var.functions_runtime\n", "\n",
			`module build: required argument "runtime"`, `module "build" {`},
		{"[N] on a for_each resource", ".", "gateway.tf",
			`google_storage_bucket.jobs["input"].name`, `google_storage_bucket.jobs[0].name`,
			`google_storage_bucket.jobs has for_each: its instances are keyed by strings, not [0]`, ""},
		{"a string key on a count resource", ".", "appcheck.tf",
			`google_recaptcha_enterprise_key.app[0].name`, `google_recaptcha_enterprise_key.app["0"].name`,
			`google_recaptcha_enterprise_key.app has count: its instances are [0], [1]..., not ["0"]`, ""},
		{"an attribute of a for_each resource without a key", ".", "gateway.tf",
			`google_storage_bucket.jobs["input"].name`, `google_storage_bucket.jobs.name`,
			`google_storage_bucket.jobs has for_each: name an instance before .name`, ""},
		{"a key on a resource without count or for_each", ".", "gateway.tf",
			`google_service_account.gateway.email`, `google_service_account.gateway[0].email`,
			`google_service_account.gateway has neither count nor for_each, so no instance key [0]`, ""},
		{"a key in project/ the for_each does not make", "project", "authblock.tf",
			`apis["storage.googleapis.com"]`, `apis["storage.googleapis.co"]`,
			`google_project_service.apis has no instance ["storage.googleapis.co"]`, ""},
		{"an undeclared variable in a module", goFunctionModule, "main.tf",
			`= var.location`, `= var.region`,
			`var.region is not declared`, ""},
		{"each outside a for_each", ".", "gateway.tf",
			`value       = module.gateway.url`, `value       = each.key`,
			`each.key outside a block with for_each`, ""},
		{"a local declared twice", ".", "vertex.tf",
			"", "locals { model_dir = null }\n",
			`local.model_dir is declared twice (also at storage.tf:`, ""},
		{"a misspelt attribute", ".", "gateway.tf",
			`google_service_account.gateway.email`, `google_service_account.gateway.emial`,
			`google_service_account.gateway.emial: no attribute or block "emial" in resource google_service_account`, ""},
		{"a misspelt attribute of a for_each instance", ".", "gateway.tf",
			`google_storage_bucket.jobs["input"].name`, `google_storage_bucket.jobs["input"].nme`,
			`google_storage_bucket.jobs["input"].nme: no attribute or block "nme" in resource google_storage_bucket`, ""},
		{"a misspelt attribute of a data source", ".", "gateway.tf",
			`data.google_project.this.number`, `data.google_project.this.numbr`,
			`no attribute or block "numbr" in data source google_project`, ""},
		{"a misspelt attribute of an ephemeral resource", ".", "rabbitmq.tf",
			`ephemeral.random_password.rabbitmq.result`, `ephemeral.random_password.rabbitmq.value`,
			`no attribute or block "value" in ephemeral resource random_password`, ""},
		{"a misspelt attribute after a splat", ".", "autoscaler.tf",
			`google_cloud_run_v2_service.autoscaler[*].name`, `google_cloud_run_v2_service.autoscaler[*].nme`,
			`google_cloud_run_v2_service.autoscaler[*].nme: no attribute or block "nme" in resource google_cloud_run_v2_service`, ""},
		{"a misspelt attribute after a key that is not a literal", ".", "storage.tf",
			`google_storage_bucket.jobs["input"].name`, `google_storage_bucket.jobs[lower("input")].nme`,
			`google_storage_bucket.jobs[?].nme: no attribute or block "nme" in resource google_storage_bucket`, ""},
		{"a misspelt attribute in a module", goFunctionModule, "outputs.tf",
			`google_cloudfunctions2_function.this.url`, `google_cloudfunctions2_function.this.uri`,
			`no attribute or block "uri" in resource google_cloudfunctions2_function`, ""},
		{"a misspelt attribute of a data source in a module", "modules/function-source", "main.tf",
			`data.archive_file.this.output_md5`, `data.archive_file.this.output_mdd5`,
			`no attribute or block "output_mdd5" in data source archive_file`, ""},
		{"a misspelt attribute of self", goFunctionModule, "main.tf",
			`self.url ==`, `self.uri ==`,
			`self.uri: no attribute or block "uri" in resource google_cloudfunctions2_function`, ""},
		{"a misspelt attribute in a nested block", goFunctionModule, "outputs.tf",
			`google_cloudfunctions2_function.this.url`, `google_cloudfunctions2_function.this.service_config[0].urii`,
			`no attribute or block "urii" in resource google_cloudfunctions2_function, block service_config`, ""},
		{"a misspelt attribute in ignore_changes", ".", "worker.tf",
			`scaling[0].manual_instance_count,`, `scaling[0].manual_instance_cnt,`,
			`ignore_changes scaling[0].manual_instance_cnt: no attribute or block "manual_instance_cnt" in resource google_cloud_run_v2_worker_pool, block scaling`, ""},
		{"a nested block's computed attribute", goFunctionModule, "outputs.tf",
			`google_cloudfunctions2_function.this.url`, `google_cloudfunctions2_function.this.service_config[0].uri`,
			"", ""},
		{"id, of a resource and of a data source", ".", "gateway.tf",
			`data.google_project.this.number`, `"${data.google_project.this.id}${google_service_account.gateway.id}"`,
			"", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, func(c *config) []string {
				errs, _, _ := checkRefs(snap, c)
				return errs
			})
		})
	}
}

// editCase is one case of a catch table: in a copy of dir's files, the
// first old in file becomes new; the check must then report want at the
// edit's line (at's, when given), or nothing when want is "".
type editCase struct {
	name, dir, file, old, new, want string
	at                              string // the error's line is this text's in the edited file; the edit's own if ""
}

// check makes the edit (loadEditedConfig) and runs check on the result.
func (tc editCase) check(t *testing.T, check func(*config) []string) {
	t.Helper()
	c, src, line := loadEditedConfig(t, tc.dir, tc.file, tc.old, tc.new)
	if tc.at != "" {
		line = strings.Count(src[:strings.Index(src, tc.at)], "\n") + 1
	}
	errs := check(c)
	if tc.want == "" {
		if len(errs) > 0 {
			t.Errorf("the edit is valid Terraform, but: %v", errs)
		}
		return
	}
	at := fmt.Sprintf("%s:%d: ", filepath.Join(tc.dir, tc.file), line)
	if !anyContains(errs, at, tc.want) {
		t.Errorf("no error %q at %s; got %v", tc.want, at, errs)
	}
}

// loadEditedConfig is loadConfig(dir) with the first old in file replaced
// by new; the file as edited, and the line the replacement starts on.
func loadEditedConfig(t *testing.T, dir, file, old, new string) (*config, string, int) {
	t.Helper()
	srcs := readTF(t, dir)
	src := string(srcs[file])
	i := strings.Index(src, old)
	if i < 0 {
		t.Fatalf("%s has no %q", filepath.Join(dir, file), old)
	}
	edited := src[:i] + new + src[i+len(old):]
	srcs[file] = []byte(edited)
	return parseConfig(t, dir, srcs), edited, strings.Count(src[:i], "\n") + 1
}

// refChecker checks the references of one module (a root, or a called
// module read from its own folder).
type refChecker struct {
	c    *config
	snap *schema.Snapshot // the types' schemas, for the attributes references read
	// decls are the module's declarations by the address a reference
	// names them with: var.X, local.X, TYPE.NAME, data.TYPE.NAME,
	// ephemeral.TYPE.NAME, module.CALL.
	decls map[string]block
	// declAt is where each was declared (file:line), for duplicates.
	declAt map[string]string
	// ctx evaluates for_each expressions (locals and literals; the rest
	// unknown), for the keys a resource's instances have.
	ctx   *hcl.EvalContext
	errs  []string
	keyed int // literal keys found among a for_each's evaluated keys
	read  int // attributes and nested blocks found in a type's schema
}

// refScope is what a reference may name at one place besides the module's
// declarations.
type refScope struct {
	each, count, self bool
	iterators         map[string]bool // of the dynamic blocks around it
	// owner is the resource, data or ephemeral block around it, whose
	// attributes self and ignore_changes name.
	owner *block
}

// notExprs are the arguments, by block type, whose values are keywords,
// types or provider names rather than expressions to resolve.
var notExprs = map[string][]string{
	"module":      {"source", "version", "providers"},
	"resource":    {"provider"},
	"data":        {"provider"},
	"ephemeral":   {"provider"},
	"variable":    {"type"},
	"lifecycle":   {"ignore_changes"}, // attribute names of the resource itself
	"provisioner": {"when", "on_failure"},
}

// checkRefs returns an error, starting with file:line, for each reference
// in c's own blocks that Terraform would not resolve, how many literal
// keys it found among a for_each's evaluated keys, and how many names of
// attributes and nested blocks it found in the types' schemas. The blocks resolved
// from the modules c calls are left out: each module is checked in its own
// folder, with its own declarations.
func checkRefs(snap *schema.Snapshot, c *config) (errs []string, keyed, read int) {
	ck := &refChecker{c: c, snap: snap, decls: map[string]block{}, declAt: map[string]string{}, ctx: c.evalCtx()}
	for _, b := range c.blocks {
		if b.module == "" {
			ck.declare(b)
		}
	}
	for _, b := range c.blocks {
		if b.module == "" {
			ck.block(b)
		}
	}
	sort.Strings(ck.errs)
	return ck.errs, ck.keyed, ck.read
}

func (ck *refChecker) fail(file string, r hcl.Range, format string, args ...any) {
	ck.errs = append(ck.errs, fmt.Sprintf("%s:%d: %s", filepath.Join(ck.c.dir, file), r.Start.Line, fmt.Sprintf(format, args...)))
}

// declare records what b declares; a second declaration of the same
// address is an error in Terraform.
func (ck *refChecker) declare(b block) {
	add := func(addr string, r hcl.Range) {
		if prev, ok := ck.declAt[addr]; ok {
			ck.fail(b.file, r, "%s is declared twice (also at %s)", addr, prev)
			return
		}
		ck.decls[addr] = b
		ck.declAt[addr] = fmt.Sprintf("%s:%d", filepath.Join(ck.c.dir, b.file), r.Start.Line)
	}
	switch b.Type {
	case "variable":
		add("var."+b.Labels[0], b.TypeRange)
	case "locals":
		for _, name := range sortedAttrNames(b.Body) {
			add("local."+name, b.Body.Attributes[name].NameRange)
		}
	case "module":
		add("module."+b.Labels[0], b.TypeRange)
	case "output":
		add("output "+b.Labels[0], b.TypeRange) // never referred to; a duplicate is still an error
	case "resource":
		add(b.Labels[0]+"."+b.Labels[1], b.TypeRange)
	case "data", "ephemeral":
		add(b.Type+"."+b.Labels[0]+"."+b.Labels[1], b.TypeRange)
	}
}

// block checks every expression of a top-level block.
func (ck *refChecker) block(b block) {
	switch b.Type {
	case "moved", "removed", "terraform":
		return // former addresses; settings
	case "module":
		// The arguments against the module's variables: the schema
		// check's (TestProviderSchemas), so that this test alone covers
		// every name a call uses.
		checkModuleCall(b, ck.c.modules[b.Labels[0]], func(r hcl.Range, format string, args ...any) {
			ck.fail(b.file, r, "module %s: %s", b.Labels[0], fmt.Sprintf(format, args...))
		})
	}
	_, each := b.Body.Attributes["for_each"]
	_, count := b.Body.Attributes["count"]
	sc := refScope{each: each, count: count}
	if b.Type == "resource" || b.Type == "data" || b.Type == "ephemeral" {
		sc.owner = &b
	}
	ck.body(b.file, b.Type, b.Body, sc)
}

// body checks the attributes of a block body (of type typ) and its nested
// blocks, in scope.
func (ck *refChecker) body(file, typ string, body *hclsyntax.Body, sc refScope) {
	for _, name := range sortedAttrNames(body) {
		switch {
		case !contains(notExprs[typ], name):
			ck.expr(file, body.Attributes[name].Expr, sc)
		case typ == "lifecycle" && name == "ignore_changes" && sc.owner != nil:
			ck.ignoreChanges(file, body.Attributes[name].Expr, *sc.owner)
		}
	}
	for _, nb := range body.Blocks {
		inner := sc
		switch nb.Type {
		case "postcondition", "provisioner", "connection":
			inner.self = true
		case "dynamic":
			ck.dynamic(file, nb, sc)
			continue
		}
		ck.body(file, nb.Type, nb.Body, inner)
	}
}

// dynamic checks a dynamic block: its for_each in the scope around it, its
// content (and labels) where its iterator (the block's label unless
// iterator names another) is also known.
func (ck *refChecker) dynamic(file string, nb *hclsyntax.Block, sc refScope) {
	iter := nb.Labels[0]
	if a, ok := nb.Body.Attributes["iterator"]; ok {
		iter = hcl.ExprAsKeyword(a.Expr)
	}
	inner := sc
	inner.iterators = map[string]bool{iter: true}
	for name := range sc.iterators {
		inner.iterators[name] = true
	}
	for _, name := range sortedAttrNames(nb.Body) {
		switch name {
		case "for_each":
			ck.expr(file, nb.Body.Attributes[name].Expr, sc)
		case "labels":
			ck.expr(file, nb.Body.Attributes[name].Expr, inner)
		}
	}
	for _, content := range nb.Body.Blocks {
		ck.body(file, nb.Labels[0], content.Body, inner)
	}
}

// expr checks every reference in e; the names a for expression binds are
// not among them (hclsyntax leaves them out). A reference ends at a splat
// or at an index that is not a literal (google_storage_bucket.jobs[*],
// jobs[each.key]); what is read after it is checked as well.
func (ck *refChecker) expr(file string, e hclsyntax.Expression, sc refScope) {
	for _, tr := range e.Variables() {
		if msg := ck.ref(tr, sc); msg != "" {
			ck.fail(file, tr.SourceRange(), "%s", msg)
		}
	}
	_ = hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		var src hclsyntax.Expression
		var step hcl.Traverser
		var more hcl.Traversal
		switch n := n.(type) {
		case *hclsyntax.SplatExpr: // src[*].more
			rel, ok := n.Each.(*hclsyntax.RelativeTraversalExpr)
			if !ok {
				return nil
			}
			if _, ok := rel.Source.(*hclsyntax.AnonSymbolExpr); !ok {
				return nil
			}
			src, step, more = n.Source, hcl.TraverseSplat{}, rel.Traversal
		case *hclsyntax.RelativeTraversalExpr: // src[KEY].more
			ix, ok := n.Source.(*hclsyntax.IndexExpr)
			if !ok {
				return nil
			}
			src, step, more = ix.Collection, hcl.TraverseIndex{Key: cty.DynamicVal}, n.Traversal
		default:
			return nil
		}
		if st, ok := src.(*hclsyntax.ScopeTraversalExpr); ok {
			tr := append(append(slices.Clip(st.Traversal), step), more...)
			if msg := ck.attrsOf(tr, sc); msg != "" {
				ck.fail(file, n.Range(), "%s", msg)
			}
		}
		return nil
	})
}

// ignoreChanges checks the paths a lifecycle's ignore_changes names
// (relative to the resource b) against b's schema.
func (ck *refChecker) ignoreChanges(file string, e hclsyntax.Expression, b block) {
	if hcl.ExprAsKeyword(e) == "all" {
		return
	}
	exprs, diags := hcl.ExprList(e)
	if diags.HasErrors() {
		ck.fail(file, e.Range(), "ignore_changes is not a list of attribute paths")
		return
	}
	for _, x := range exprs {
		abs, diags := hcl.AbsTraversalForExpr(x)
		if diags.HasErrors() {
			ck.fail(file, x.Range(), "ignore_changes: not an attribute path")
			continue
		}
		rel := append(hcl.Traversal{hcl.TraverseAttr{Name: abs.RootName()}}, abs[1:]...)
		if msg := ck.attrs("ignore_changes "+traversalText(abs), b, rel); msg != "" {
			ck.fail(file, x.Range(), "%s", msg)
		}
	}
}

// attrsOf is why what tr reads of a declared resource, data source,
// ephemeral resource or of self is not in its type's schema; "" when it
// is, or when tr names none of those (what does not resolve, ref says).
func (ck *refChecker) attrsOf(tr hcl.Traversal, sc refScope) string {
	root := tr.RootName()
	switch {
	case sc.iterators[root]:
		return ""
	case root == "self":
		if !sc.self || sc.owner == nil {
			return ""
		}
		return ck.attrs(traversalText(tr), *sc.owner, tr[1:])
	}
	addr, n, ok := resourceAddr(tr)
	b, declared := ck.decls[addr]
	if !ok || !declared || (b.Type != "resource" && b.Type != "data" && b.Type != "ephemeral") {
		return ""
	}
	rest := tr[n:]
	if len(rest) > 0 {
		switch rest[0].(type) {
		case hcl.TraverseIndex, hcl.TraverseSplat:
			rest = rest[1:] // the instance (instance checks its key)
		}
	}
	return ck.attrs(traversalText(tr), b, rest)
}

// attrs is why steps, read of one instance of b, do not name an attribute
// or nested block of b's type, and each later step one of the nested
// block it follows; text is the reference as written. Past an attribute
// nothing is checked, nor where the snapshot has no schema of the type
// (TestProviderSchemas reports that).
func (ck *refChecker) attrs(text string, b block, steps hcl.Traversal) string {
	s, _, _ := blockSchema(ck.snap, b)
	if s == nil {
		return ""
	}
	kind := map[string]string{"resource": "resource", "data": "data source", "ephemeral": "ephemeral resource"}[b.Type]
	where := kind + " " + b.Labels[0]
	for top := true; len(steps) > 0; top = false {
		a, ok := steps[0].(hcl.TraverseAttr)
		if !ok {
			return ""
		}
		if _, ok := s.Attributes[a.Name]; ok || top && a.Name == "id" && b.Type != "ephemeral" {
			ck.read++
			return ""
		}
		nb, ok := s.Blocks[a.Name]
		if !ok {
			return fmt.Sprintf("%s: no attribute or block %q in %s", text, a.Name, where)
		}
		ck.read++
		where += ", block " + a.Name
		s, steps = &nb.Block, steps[1:]
		if len(steps) > 0 {
			switch steps[0].(type) {
			case hcl.TraverseIndex, hcl.TraverseSplat:
				steps = steps[1:] // which of the blocks
			}
		}
	}
	return ""
}

// ref is why tr does not resolve in sc, "" when it does.
func (ck *refChecker) ref(tr hcl.Traversal, sc refScope) string {
	root := tr.RootName()
	attr := func(i int) string { name, _ := traversalAttr(tr, i); return name }
	if sc.iterators[root] {
		return ""
	}
	switch root {
	case "var", "local":
		if attr(1) == "" {
			return root + " is not followed by a name"
		}
		return ck.declared(root + "." + attr(1))
	case "each":
		if !sc.each {
			return "each." + attr(1) + " outside a block with for_each"
		}
		return oneOf(tr, attr(1), "key", "value")
	case "count":
		if !sc.count {
			return "count." + attr(1) + " outside a block with count"
		}
		return oneOf(tr, attr(1), "index")
	case "self":
		if !sc.self {
			return "self outside a postcondition, provisioner or connection"
		}
		return ck.attrsOf(tr, sc)
	case "path":
		return oneOf(tr, attr(1), "module", "root", "cwd")
	case "terraform":
		return oneOf(tr, attr(1), "workspace", "applying")
	case "module":
		return ck.moduleRef(tr)
	}
	addr, n, ok := resourceAddr(tr)
	if !ok {
		return fmt.Sprintf("%s is not an address (TYPE.NAME, data.TYPE.NAME, var.NAME...)", traversalText(tr))
	}
	if msg := ck.declared(addr); msg != "" {
		return msg
	}
	if msg := ck.instance(addr, ck.decls[addr], tr[n:]); msg != "" {
		return msg
	}
	return ck.attrsOf(tr, sc)
}

// resourceAddr is the address tr starts with when it names a resource
// (TYPE.NAME, data.TYPE.NAME, ephemeral.TYPE.NAME), and how many of its
// steps that takes.
func resourceAddr(tr hcl.Traversal) (addr string, n int, ok bool) {
	root := tr.RootName()
	n = 2
	if root == "data" || root == "ephemeral" {
		n = 3
	}
	parts := []string{root}
	for i := 1; i < n; i++ {
		name, _ := traversalAttr(tr, i)
		if name == "" {
			return "", 0, false
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, "."), n, true
}

// moduleRef checks module.CALL[KEY].OUTPUT: the call is declared, the key
// fits it, and the called module declares the output.
func (ck *refChecker) moduleRef(tr hcl.Traversal) string {
	call, _ := traversalAttr(tr, 1)
	addr := "module." + call
	if msg := ck.declared(addr); msg != "" {
		return msg
	}
	rest := tr[2:]
	if msg := ck.instance(addr, ck.decls[addr], rest); msg != "" {
		return msg
	}
	if len(rest) > 0 {
		if _, ok := rest[0].(hcl.TraverseIndex); ok {
			rest = rest[1:]
		}
	}
	if len(rest) == 0 {
		return "" // the whole call (depends_on, or all its outputs)
	}
	out, ok := rest[0].(hcl.TraverseAttr)
	if !ok {
		return fmt.Sprintf("%s: an output's name must follow %s", traversalText(tr), addr)
	}
	m := ck.c.modules[call]
	for _, b := range m.blocks {
		if b.Type == "output" && b.Labels[0] == out.Name {
			return ""
		}
	}
	return fmt.Sprintf("%s.%s: %s declares no output %q", addr, out.Name, filepath.ToSlash(m.dir), out.Name)
}

func (ck *refChecker) declared(addr string) string {
	if _, ok := ck.decls[addr]; ok {
		return ""
	}
	return fmt.Sprintf("%s is not declared in %s", addr, filepath.Join("terraform", ck.c.dir))
}

// instance checks what follows a resource's or module call's address (rest)
// against its count or for_each. Only literal keys are in a traversal:
// apis[each.key] leaves the index out, and the traversal is just apis.
func (ck *refChecker) instance(addr string, b block, rest hcl.Traversal) string {
	_, count := b.Body.Attributes["count"]
	_, forEach := b.Body.Attributes["for_each"]
	if len(rest) == 0 {
		return "" // the whole resource (depends_on, a for expression, a splat)
	}
	switch s := rest[0].(type) {
	case hcl.TraverseIndex:
		key := keyText(s.Key)
		switch {
		case !count && !forEach:
			return fmt.Sprintf("%s has neither count nor for_each, so no instance key [%s]", addr, key)
		case forEach && s.Key.Type() != cty.String:
			return fmt.Sprintf("%s has for_each: its instances are keyed by strings, not [%s]", addr, key)
		case count && s.Key.Type() != cty.Number:
			return fmt.Sprintf("%s has count: its instances are [0], [1]..., not [%s]", addr, key)
		case forEach:
			keys := forEachKeys(ck.ctx, b) // nil where they depend on variables or resources
			switch {
			case keys == nil:
			case keys[s.Key.AsString()]:
				ck.keyed++
			default:
				return fmt.Sprintf("%s has no instance [%s]: its for_each (%s:%d) makes %s",
					addr, key, filepath.Join(ck.c.dir, b.file), b.Body.Attributes["for_each"].SrcRange.Start.Line, strings.Join(sortedKeys(keys), ", "))
			}
		}
	case hcl.TraverseAttr:
		switch {
		case forEach:
			return fmt.Sprintf("%s has for_each: name an instance before .%s (%s[\"KEY\"].%s)", addr, s.Name, addr, s.Name)
		case count:
			return fmt.Sprintf("%s has count: name an instance before .%s (%s[0].%s)", addr, s.Name, addr, s.Name)
		}
	}
	return ""
}

// oneOf says what is wrong when name (tr's second step) is not one of want.
func oneOf(tr hcl.Traversal, name string, want ...string) string {
	if contains(want, name) {
		return ""
	}
	return fmt.Sprintf("%s: %s.%s does not exist (only %s)", traversalText(tr), tr.RootName(), name, strings.Join(want, ", "))
}

// keyText is an instance key as written: [0], ["input"].
func keyText(k cty.Value) string {
	switch {
	case !k.IsKnown() || k.IsNull():
		return "?"
	case k.Type() == cty.String:
		return strconv.Quote(k.AsString())
	case k.Type() == cty.Number:
		return k.AsBigFloat().String()
	}
	return k.GoString()
}

// traversalText is tr as written: google_storage_bucket.jobs["input"].name.
func traversalText(tr hcl.Traversal) string {
	var s strings.Builder
	for _, step := range tr {
		switch step := step.(type) {
		case hcl.TraverseRoot:
			s.WriteString(step.Name)
		case hcl.TraverseAttr:
			s.WriteString("." + step.Name)
		case hcl.TraverseIndex:
			s.WriteString("[" + keyText(step.Key) + "]")
		default:
			s.WriteString("[*]")
		}
	}
	return s.String()
}
