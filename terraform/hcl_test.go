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
}

// config is one Terraform root module, parsed.
type config struct {
	dir    string
	blocks []block
}

func loadConfig(t *testing.T, dir string) *config {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in %s: %v", dir, err)
	}
	p := hclparse.NewParser()
	c := &config{dir: dir}
	for _, f := range files {
		hf, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Fatalf("parse %s: %s", f, diags.Error())
		}
		for _, b := range hf.Body.(*hclsyntax.Body).Blocks {
			c.blocks = append(c.blocks, block{b, filepath.Base(f)})
		}
	}
	return c
}

// resources returns the blocks of kind ("resource", "data", "ephemeral") and
// type (e.g. "google_storage_bucket"), by name.
func (c *config) resources(kind, typ string) map[string]block {
	out := map[string]block{}
	for _, b := range c.blocks {
		if b.Type == kind && len(b.Labels) == 2 && b.Labels[0] == typ {
			out[b.Labels[1]] = b
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
	src, err := os.ReadFile(filepath.Join(c.dir, file))
	if err != nil {
		t.Fatal(err)
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
