// Package terraform_test checks the cloud stack offline, in plain go test
// (make test runs it): the .tf files are parsed with hashicorp/hcl and their
// attributes asserted, the function source is built the way the Cloud
// Functions Go buildpack builds it, and the Firestore queries in the code are
// compared with the declared indexes. No provider is downloaded and nothing
// is applied: what only a real apply can show is listed in README.md.
package terraform_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// block is a top-level block of a configuration: resource, data, variable...
type block struct {
	*hclsyntax.Block
	file string
	// module is the call ("gateway" for module "gateway") whose local
	// module this block was resolved from; "" for the root's own blocks.
	module string
}

// addr is the block's address as Terraform writes it in plans and in
// depends_on: type.name, data.type.name, module.CALL.type.name.
func (b block) addr() string {
	a := nodeAddr(b.Type, b.Labels[0], b.Labels[1])
	if b.module != "" {
		a = "module." + b.module + "." + a
	}
	return a
}

// config is one Terraform root module, parsed. blocks holds the root's own
// blocks and, for each call of a local module, that module's resource and
// data blocks resolved as the call instantiates them (resolveModules), so
// that what holds for a hand-written resource is checked the same way for
// one declared through a module.
type config struct {
	dir    string
	blocks []block
	// src is the text of each file blocks were parsed from, by the name
	// block.file holds (the resolved modules' files included).
	src map[string][]byte
	// modules are the local modules called, by call name, as written
	// (var.* unresolved): what the schema check reads.
	modules map[string]*config
	// outputs are the resolved text of each called module's outputs, by
	// module.CALL.NAME (outputRef).
	outputs map[string]string
}

func loadConfig(t *testing.T, dir string) *config {
	t.Helper()
	return parseConfig(t, dir, readTF(t, dir))
}

// readTF reads the .tf files of dir, by name.
func readTF(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in %s: %v", dir, err)
	}
	srcs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs[filepath.Base(f)] = b
	}
	return srcs
}

// parseConfig parses the files of the module in dir (name -> text; not
// necessarily all of them, nor as they are on disk) and resolves the local
// modules they call, whose sources are relative to dir.
func parseConfig(t *testing.T, dir string, srcs map[string][]byte) *config {
	t.Helper()
	p := hclparse.NewParser()
	c := &config{dir: dir, src: map[string][]byte{}, modules: map[string]*config{}, outputs: map[string]string{}}
	for _, name := range sortedKeys(srcs) {
		hf, diags := p.ParseHCL(srcs[name], name)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %s", filepath.Join(dir, name), diags.Error())
		}
		c.src[name] = srcs[name]
		for _, b := range hf.Body.(*hclsyntax.Body).Blocks {
			c.blocks = append(c.blocks, block{Block: b, file: name})
		}
	}
	c.resolveModules(t)
	return c
}

// resources returns the blocks of kind ("resource", "data", "ephemeral") and
// type (e.g. "google_storage_bucket"), by name; a resource of a local module
// by module.CALL.name (module.gateway.this).
func (c *config) resources(kind, typ string) map[string]block {
	out := map[string]block{}
	for _, b := range c.blocks {
		if b.Type == kind && len(b.Labels) == 2 && b.Labels[0] == typ {
			name := b.Labels[1]
			if b.module != "" {
				name = "module." + b.module + "." + name
			}
			out[name] = b
		}
	}
	return out
}

func (c *config) resource(t *testing.T, kind, typ, name string) block {
	t.Helper()
	b, ok := c.resources(kind, typ)[name]
	if !ok {
		t.Fatalf("%s %s.%s is missing", kind, typ, name)
	}
	return b
}

// instances are the keys a resource's for_each makes, evaluated (locals
// and literals only), sorted; nil without for_each.
func (c *config) instances(t *testing.T, b block) []string {
	t.Helper()
	if _, ok := b.Body.Attributes["for_each"]; !ok {
		return nil
	}
	var keys []string
	for _, ctx := range instanceCtxs(c.evalCtx(), b) {
		each, ok := ctx.Variables["each"]
		if !ok {
			t.Fatalf("%s: for_each of %s cannot be evaluated", b.file, b.addr())
		}
		keys = append(keys, each.GetAttr("key").AsString())
	}
	sort.Strings(keys)
	return keys
}

// instanceCtxs are the contexts b's attributes evaluate in: one per
// instance its for_each makes (each.key, each.value set), where ctx can
// evaluate the for_each; ctx itself otherwise.
func instanceCtxs(ctx *hcl.EvalContext, b block) []*hcl.EvalContext {
	a, ok := b.Body.Attributes["for_each"]
	if !ok {
		return []*hcl.EvalContext{ctx}
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return []*hcl.EvalContext{ctx}
	}
	var out []*hcl.EvalContext
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if v.Type().IsSetType() {
			k = e
		}
		child := ctx.NewChild()
		child.Variables = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": k, "value": e})}
		out = append(out, child)
	}
	return out
}

// child returns the first nested block of that type, or nil.
func child(b *hclsyntax.Block, typ string) *hclsyntax.Block {
	for _, c := range b.Body.Blocks {
		if c.Type == typ {
			return c
		}
	}
	return nil
}

// walkBlocks calls fn for b and every block nested in it.
func walkBlocks(b *hclsyntax.Block, fn func(*hclsyntax.Block)) {
	fn(b)
	for _, c := range b.Body.Blocks {
		walkBlocks(c, fn)
	}
}

// evalCtx evaluates expressions of the configuration: locals are evaluated
// (repeatedly, as they refer to each other), everything else (var.*,
// resources) is unknown. Only the functions the stack uses are defined.
func (c *config) evalCtx() *hcl.EvalContext {
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{},
		Functions: map[string]function.Function{
			"merge":      stdlib.MergeFunc,
			"tostring":   stdlib.MakeToFunc(cty.String),
			"coalesce":   stdlib.CoalesceFunc,
			"toset":      toSet,
			"concat":     stdlib.ConcatFunc,
			"distinct":   stdlib.DistinctFunc,
			"flatten":    stdlib.FlattenFunc,
			"join":       stdlib.JoinFunc,
			"replace":    stdlib.ReplaceFunc,
			"substr":     stdlib.SubstrFunc,
			"sha256":     sha256Func,
			"jsondecode": stdlib.JSONDecodeFunc,
			"file":       fileFunc,
		},
	}
	var locals []*hclsyntax.Attribute
	for _, b := range c.blocks {
		if b.Type == "locals" {
			for _, a := range b.Body.Attributes {
				locals = append(locals, a)
			}
		}
		for _, a := range b.Body.Attributes {
			for _, tr := range a.Expr.Variables() {
				if r := tr.RootName(); r != "local" {
					ctx.Variables[r] = cty.DynamicVal
				}
			}
		}
		walkBlocks(b.Block, func(n *hclsyntax.Block) {
			for _, a := range n.Body.Attributes {
				for _, tr := range a.Expr.Variables() {
					if r := tr.RootName(); r != "local" {
						ctx.Variables[r] = cty.DynamicVal
					}
				}
			}
		})
	}
	// path.module of a root module is the folder Terraform runs in, which
	// is c.dir as seen from this package (terraform/).
	ctx.Variables["path"] = cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(c.dir)})
	evalLocals(ctx, locals)
	return ctx
}

// evalLocals sets local.* in ctx, evaluating the locals a few rounds so
// those built from others resolve; what cannot be evaluated stays unknown.
func evalLocals(ctx *hcl.EvalContext, locals []*hclsyntax.Attribute) {
	vals := map[string]cty.Value{}
	for range 4 {
		ctx.Variables["local"] = cty.ObjectVal(vals)
		next := map[string]cty.Value{}
		for _, a := range locals {
			v, diags := a.Expr.Value(ctx)
			if diags.HasErrors() {
				v = cty.DynamicVal
			}
			next[a.Name] = v
		}
		vals = next
	}
	ctx.Variables["local"] = cty.ObjectVal(vals)
}

// toSet is Terraform's toset for a list of known strings.
var toSet = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.Set(cty.String)),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		var elems []cty.Value
		for it := args[0].ElementIterator(); it.Next(); {
			_, e := it.Element()
			elems = append(elems, e)
		}
		if len(elems) == 0 {
			return cty.SetValEmpty(cty.String), nil
		}
		return cty.SetVal(elems), nil
	},
})

// sha256Func is Terraform's sha256: the lowercase hex SHA-256 of a string.
var sha256Func = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		sum := sha256.Sum256([]byte(args[0].AsString()))
		return cty.StringVal(hex.EncodeToString(sum[:])), nil
	},
})

// fileFunc is Terraform's file: a file's contents, the path relative to
// where the test runs (terraform/, as path.module is set in evalCtx).
var fileFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "path", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		b, err := os.ReadFile(args[0].AsString())
		if err != nil {
			return cty.NilVal, err
		}
		return cty.StringVal(string(b)), nil
	},
})

// attrValue evaluates b's attribute name; ok is false when it is absent.
func attrValue(t *testing.T, ctx *hcl.EvalContext, b *hclsyntax.Block, name string) (cty.Value, bool) {
	t.Helper()
	a, ok := b.Body.Attributes[name]
	if !ok {
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", name, diags.Error())
	}
	return v, true
}

// literalString is the attribute's value when it is a plain string, "" and
// false otherwise.
func literalString(b *hclsyntax.Block, name string) (string, bool) {
	a, ok := b.Body.Attributes[name]
	if !ok {
		return "", false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

// exprText is the source text of an attribute's expression.
func exprText(t *testing.T, c *config, file string, a *hclsyntax.Attribute) string {
	t.Helper()
	src, ok := c.src[file]
	if !ok {
		t.Fatalf("%s: no file %s", c.dir, file)
	}
	r := a.Expr.Range()
	return string(src[r.Start.Byte:r.End.Byte])
}

// stringList evaluates a list or set of known strings, sorted.
func stringList(t *testing.T, v cty.Value) []string {
	t.Helper()
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	sort.Strings(out)
	return out
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// repoRoot is the module root (this package is terraform/).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

func hasPrefixAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// The arguments of a module call that are Terraform's, not the module's
// variables.
var moduleMetaArgs = []string{"source", "version", "count", "for_each", "providers", "depends_on"}

// resolveModules adds to c.blocks the resource and data blocks of each local
// module c calls, as that call instantiates them: every var.NAME in them is
// replaced by the source text of the call's argument NAME (or the
// variable's default; null when neither is given, which the schema check
// reports), every local.NAME by the local's expression (resolved the same
// way), both in parentheses where precedence needs them, a reference to
// the module's own resources and data gets the call's address
// (google_service_account.this.email becomes
// module.CALL.google_service_account.this.email), and the call's depends_on
// becomes theirs (Terraform makes everything in the module wait for it).
// The resolved blocks refer to the root's own resources, locals and
// variables, and to the module's resources by their addresses in the root,
// so the tests' evaluation, reference and depends_on checks apply to them
// unchanged. The module's outputs are kept (by call) as the text they
// resolve to, so that module.CALL.OUTPUT can be followed to the resource
// (outputRef). Only what the stack's modules use is resolved: a module
// that refers to path or to other modules, or declares a depends_on of its
// own, or a call with count or for_each, stops the test.
func (c *config) resolveModules(t *testing.T) {
	t.Helper()
	// First each call's module and outputs (which another call may take
	// as an argument), then the blocks.
	type resolved struct {
		call block
		r    *modResolver
	}
	var calls []resolved
	for _, call := range c.blocks {
		if call.Type != "module" {
			continue
		}
		name := call.Labels[0]
		src, ok := literalString(call.Block, "source")
		if !ok || !hasPrefixAny(src, "./", "../") {
			t.Fatalf("%s: module %s: source %q is not a local module, which these offline tests cannot read", call.file, name, src)
		}
		for _, meta := range []string{"count", "for_each"} {
			if _, ok := call.Body.Attributes[meta]; ok {
				t.Fatalf("%s: module %s: %s is not resolved by these tests", call.file, name, meta)
			}
		}
		m := loadConfig(t, filepath.Join(c.dir, src))
		if len(m.modules) > 0 {
			t.Fatalf("module %s (%s) calls modules itself, which these tests do not resolve", name, m.dir)
		}
		c.modules[name] = m
		r := newModResolver(t, m, name, moduleArgs(t, c, call, m))
		for _, b := range m.blocks {
			if b.Type == "output" {
				if a, ok := b.Body.Attributes["value"]; ok {
					c.outputs["module."+name+"."+b.Labels[0]] = r.expr(b.file, a.Expr, "output "+b.Labels[0])
				}
			}
		}
		calls = append(calls, resolved{call, r})
	}
	for _, rc := range calls {
		call, r, name := rc.call, rc.r, rc.call.Labels[0]
		r.objects = objectArgs(t, c, call)
		deps := ""
		if a, ok := call.Body.Attributes["depends_on"]; ok {
			deps = exprText(t, c, call.file, a)
		}
		for _, file := range sortedKeys(r.m.src) {
			label := filepath.ToSlash(filepath.Join(r.m.dir, file)) + " (module." + name + ")"
			text := r.file(file, deps)
			hf, diags := hclparse.NewParser().ParseHCL(text, label)
			if diags.HasErrors() {
				t.Fatalf("module %s resolved: parse %s: %s\n%s", name, label, diags.Error(), text)
			}
			c.src[label] = text
			for _, b := range hf.Body.(*hclsyntax.Body).Blocks {
				if b.Type == "resource" || b.Type == "data" {
					c.blocks = append(c.blocks, block{Block: b, file: label, module: name})
				}
			}
		}
	}
}

// outputRef is the address a module output stands for when the output is
// one resource's attribute (module.build.id is
// module.build.google_service_account.this.id); ref itself otherwise.
func (c *config) outputRef(ref string) string {
	if out, ok := c.outputs[ref]; ok {
		return out
	}
	return ref
}

// needsParens says whether an expression's text must be put in parentheses
// where it replaces a name: all but single terms.
func needsParens(e hclsyntax.Expression) bool {
	switch e.(type) {
	case nil, *hclsyntax.ScopeTraversalExpr, *hclsyntax.LiteralValueExpr, *hclsyntax.TemplateExpr,
		*hclsyntax.TemplateWrapExpr, *hclsyntax.FunctionCallExpr, *hclsyntax.ObjectConsExpr,
		*hclsyntax.TupleConsExpr, *hclsyntax.ParenthesesExpr, *hclsyntax.IndexExpr,
		*hclsyntax.RelativeTraversalExpr, *hclsyntax.SplatExpr, *hclsyntax.ForExpr:
		return false
	}
	return true
}

// moduleArgs is the text each variable of m takes in call: the argument's,
// else the default's, else null; in parentheses unless it is one term.
func moduleArgs(t *testing.T, c *config, call block, m *config) map[string]string {
	t.Helper()
	args := map[string]string{}
	for _, v := range m.blocks {
		if v.Type != "variable" {
			continue
		}
		text, expr := "null", hclsyntax.Expression(nil)
		if a, ok := call.Body.Attributes[v.Labels[0]]; ok {
			text, expr = exprText(t, c, call.file, a), a.Expr
		} else if a, ok := v.Body.Attributes["default"]; ok {
			text, expr = exprText(t, m, v.file, a), a.Expr
		}
		if needsParens(expr) {
			text = "(" + text + ")"
		}
		args[v.Labels[0]] = text
	}
	return args
}

// objectArgs are, for each argument of call that is an object written out
// (an object constructor, local.NAME or another module's output
// module.CALL.NAME whose expression is one), the text of each attribute's
// expression: var.NAME.KEY then stands for that text, as Terraform would
// read it.
func objectArgs(t *testing.T, c *config, call block) map[string]map[string]string {
	t.Helper()
	locals := map[string]block{}
	for _, b := range c.blocks {
		if b.Type == "locals" && b.module == "" {
			for name := range b.Body.Attributes {
				locals[name] = b
			}
		}
	}
	out := map[string]map[string]string{}
	for name, a := range call.Body.Attributes {
		src, expr := c.src[call.file], a.Expr
		if tr, ok := expr.(*hclsyntax.ScopeTraversalExpr); ok {
			l, isAttr := traversalAttr(tr.Traversal, 1)
			out, isOutput := c.outputs[exprText(t, c, call.file, a)]
			switch {
			case tr.Traversal.RootName() == "local" && len(tr.Traversal) == 2 && isAttr && locals[l].Block != nil:
				b := locals[l]
				src, expr = c.src[b.file], b.Body.Attributes[l].Expr
			case isOutput:
				e, diags := hclsyntax.ParseExpression([]byte(out), "module output", hcl.InitialPos)
				if diags.HasErrors() {
					t.Fatalf("%s: module %s: output %s resolved: %s", call.file, call.Labels[0], out, diags.Error())
				}
				src, expr = []byte(out), e
			}
		}
		obj, ok := expr.(*hclsyntax.ObjectConsExpr)
		if !ok {
			continue
		}
		items := map[string]string{}
		for _, it := range obj.Items {
			key := hcl.ExprAsKeyword(it.KeyExpr)
			if key == "" {
				continue // a computed key: only var.NAME itself resolves
			}
			r := it.ValueExpr.Range()
			text := string(src[r.Start.Byte:r.End.Byte])
			if needsParens(it.ValueExpr) {
				text = "(" + text + ")"
			}
			items[key] = text
		}
		out[name] = items
	}
	return out
}

// modResolver rewrites the text of one module m as the call named call
// instantiates it (resolveModules).
type modResolver struct {
	t        *testing.T
	m        *config
	call     string
	args     map[string]string            // var name -> text
	objects  map[string]map[string]string // var name -> key -> text (objectArgs)
	declared map[string]bool              // the module's resource types
	locals   map[string]block             // local name -> its locals block
	inLocal  map[string]bool              // the locals being resolved (a cycle stops)
}

func newModResolver(t *testing.T, m *config, call string, args map[string]string) *modResolver {
	r := &modResolver{t: t, m: m, call: call, args: args, declared: map[string]bool{}, locals: map[string]block{}, inLocal: map[string]bool{}}
	for _, b := range m.blocks {
		switch b.Type {
		case "resource":
			r.declared[b.Labels[0]] = true
		case "locals":
			for name := range b.Body.Attributes {
				r.locals[name] = b
			}
		}
	}
	return r
}

type textEdit struct {
	start, end int
	text       string
}

// apply applies edits (byte offsets in src, none overlapping) to
// src[from:to].
func apply(src []byte, from, to int, edits []textEdit) string {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	text := string(src[from:to])
	for _, e := range edits {
		text = text[:e.start-from] + e.text + text[e.end-from:]
	}
	return text
}

// edits are the rewrites of the references in e (in file, part of what).
func (r *modResolver) edits(file string, e hclsyntax.Expression, what string) []textEdit {
	t := r.t
	t.Helper()
	var out []textEdit
	for _, tr := range e.Variables() {
		root := tr.RootName()
		start := tr[0].SourceRange().Start.Byte
		switch {
		case root == "path" || root == "module":
			t.Fatalf("%s: %s refers to %s, which these tests do not resolve", file, what, root)
		case root == "data" || r.declared[root]:
			out = append(out, textEdit{start, start, "module." + r.call + "."})
		case root == "var" || root == "local":
			name, ok := traversalAttr(tr, 1)
			if !ok {
				t.Fatalf("%s: %s: %s is not followed by a name", file, what, root)
			}
			var text string
			end := tr[1].SourceRange().End.Byte
			if root == "var" {
				if text, ok = r.args[name]; !ok {
					t.Fatalf("%s: %s refers to var.%s, which the module does not declare", file, what, name)
				}
				// var.NAME.KEY of an object written out: KEY's text.
				if k, isAttr := traversalAttr(tr, 2); isAttr {
					if item, ok := r.objects[name][k]; ok {
						text, end = item, tr[2].SourceRange().End.Byte
					}
				}
			} else {
				text = r.local(name, what)
			}
			out = append(out, textEdit{start, end, text})
		}
	}
	return out
}

// traversalAttr is the name of tr's step i when it is an attribute.
func traversalAttr(tr hcl.Traversal, i int) (string, bool) {
	if len(tr) <= i {
		return "", false
	}
	a, ok := tr[i].(hcl.TraverseAttr)
	return a.Name, ok
}

// expr is the text of e (in file) with its references rewritten.
func (r *modResolver) expr(file string, e hclsyntax.Expression, what string) string {
	rng := e.Range()
	return apply(r.m.src[file], rng.Start.Byte, rng.End.Byte, r.edits(file, e, what))
}

// local is the text local.name stands for, resolved, in parentheses where
// precedence needs them.
func (r *modResolver) local(name, what string) string {
	t := r.t
	t.Helper()
	b, ok := r.locals[name]
	if !ok {
		t.Fatalf("%s refers to local.%s, which the module does not declare", what, name)
	}
	if r.inLocal[name] {
		t.Fatalf("local.%s refers to itself", name)
	}
	r.inLocal[name] = true
	defer delete(r.inLocal, name)
	a := b.Body.Attributes[name]
	text := r.expr(b.file, a.Expr, "local."+name)
	if needsParens(a.Expr) {
		text = "(" + text + ")"
	}
	return text
}

// file returns the text of m's file with the references in its resource
// and data blocks rewritten, and deps (if any) as their depends_on.
func (r *modResolver) file(file, deps string) []byte {
	t := r.t
	t.Helper()
	var edits []textEdit
	for _, b := range r.m.blocks {
		if b.file != file || b.Type != "resource" && b.Type != "data" {
			continue
		}
		if _, ok := b.Body.Attributes["depends_on"]; ok {
			t.Fatalf("%s: %s has a depends_on of its own; these tests resolve only the call's", file, b.addr())
		}
		walkBlocks(b.Block, func(n *hclsyntax.Block) {
			for _, a := range n.Body.Attributes {
				edits = append(edits, r.edits(file, a.Expr, b.addr())...)
			}
		})
		if deps != "" {
			end := b.Body.SrcRange.End.Byte - 1 // the closing brace
			edits = append(edits, textEdit{end, end, "\n  depends_on = " + deps + "\n"})
		}
	}
	src := r.m.src[file]
	return []byte(apply(src, 0, len(src), edits))
}
