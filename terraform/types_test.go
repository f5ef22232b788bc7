package terraform_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/tigerstudio/studio/terraform/schema"
)

// The fewest values the type check must have converted in each folder
// (TestValueTypes), so that it cannot pass by evaluating nothing: about
// half of what it converts today in each root, and in each module.
var minTypeChecked = map[string]int{".": 250, "project": 75, goFunctionModule: 16, "modules/function-builder": 9, "modules/function-source": 6}

// Every value of both roots and of the modules they call has the type
// terraform validate converts it to: each argument of a resource, data,
// ephemeral or provider block, nested and dynamic blocks included, the
// type schema/schema.json gives the argument; each argument of a module
// call, the called variable's type constraint; each variable's default, its
// own type. What converts is what terraform validate accepts (both use
// go-cty's convert: "5672" is a fine number, "many" is not). Values are
// evaluated as validate evaluates them: variables are unknown values of
// their declared type, locals are computed from them, a for_each the
// locals make is expanded (each.key, each.value), count.index is an unknown
// number; what reads a resource, a data source, a module output or a
// function these tests do not define is of unknown type and skipped.
func TestValueTypes(t *testing.T) {
	snap := loadSnapshot(t)
	for _, dir := range schemaDirs(t) {
		errs, n := checkTypes(t, snap, loadConfig(t, dir))
		for _, e := range errs {
			t.Error(e)
		}
		t.Logf("%s: %d values converted to their types (%d arguments, %d module arguments, %d variable defaults), %d of unknown type skipped, %d not evaluated here",
			dir, n.checked(), n.args, n.moduleArgs, n.defaults, n.unknown, n.unevaluated)
		want, ok := minTypeChecked[dir]
		if !ok {
			t.Errorf("%s: no minimum count in minTypeChecked", dir)
		}
		if n.checked() < want {
			t.Errorf("%s: only %d values converted (want at least %d): the check evaluates too little", dir, n.checked(), want)
		}
	}
}

// Each mistake terraform validate refuses, made in a copy of the files, is
// reported at its file and line; a case without want is an edit the check
// must accept.
func TestValueTypesCatch(t *testing.T) {
	snap := loadSnapshot(t)
	cases := []editCase{
		{"a string for a list", ".", "network.tf",
			`ports    = ["5672"]`, `ports    = "5672"`,
			`allow: argument "ports": list of string required, but have string ("5672")`, ""},
		{"a word for a number", ".", "autoscaler.tf",
			`max_instance_count = 1`, `max_instance_count = "many"`,
			`argument "max_instance_count": a number is required, got "many"`, ""},
		{"a word for a bool", "project", "auth.tf",
			`enabled       = true`, `enabled       = "yes"`,
			`argument "enabled": a bool is required, got "yes"`, ""},
		{"a list for a map", ".", "versions.tf",
			`default_labels = local.labels`, `default_labels = ["a"]`,
			`argument "default_labels": map of string required, got tuple`, ""},
		{"an object for a list in a nested block", ".", "network.tf",
			`ports    = ["22"]`, `ports    = { port = "22" }`,
			`allow: argument "ports": list of string required, got object`, ""},
		{"an object of the wrong shape for a map", ".", "versions.tf",
			`default_labels = local.labels`, `default_labels = merge(local.labels, { nested = { a = 1 } })`,
			`provider google: argument "default_labels": element "nested": string required, but have object`, ""},
		{"a variable of another type", ".", "network.tf",
			`ports    = ["5672"]`, `ports    = var.worker_image`,
			`argument "ports": list of string required, but have string`, ""},
		{"a wrong value in a dynamic block's content", goFunctionModule, "main.tf",
			`secret     = secret_environment_variables.value`, `secret     = [secret_environment_variables.value]`,
			`service_config: secret_environment_variables: argument "secret": string required, but have tuple`, ""},
		{"a module argument that is not the variable's type", ".", "gateway.tf",
			`timeout_seconds                  = 60`, `timeout_seconds                  = "sixty"`,
			`module gateway: argument "timeout_seconds": not a value of var.timeout_seconds's type number (modules/go-function): a number is required, got "sixty"`, ""},
		{"a variable's default not of its type", ".", "variables.tf",
			`default     = "europe-west4"`, `default     = ["europe-west4"]`,
			`variable "region": default: string required, but have tuple`, ""},
		{"a variable's default not of its type, in a module", goFunctionModule, "variables.tf",
			"connector's id, for functions that reach the private network; null: none.\"\n  type        = string\n  default     = null",
			"connector's id, for functions that reach the private network; null: none.\"\n  type        = number\n  default     = \"none\"",
			`variable "vpc_connector": default: a number is required, got "none"`, `default     = "none"`},
		{"a type constraint that is no type", goFunctionModule, "variables.tf",
			"How long one request may run.\"\n  type        = number", "How long one request may run.\"\n  type        = integer",
			`variable "timeout_seconds": type: Invalid type specification: The keyword "integer" is not a valid type specification.`, `type        = integer`},
		// Valid: Terraform converts these.
		{"a number written as a string", ".", "autoscaler.tf",
			`max_instance_count = 1`, `max_instance_count = "3"`, "", ""},
		{"a bool written as a string", "project", "auth.tf",
			`enabled       = true`, `enabled       = "true"`, "", ""},
		{"a number written as a string, for a module's number", ".", "gateway.tf",
			`timeout_seconds                  = 60`, `timeout_seconds                  = "60"`, "", ""},
		{"a variable's value in a map of strings", ".", "versions.tf",
			`default_labels = local.labels`, `default_labels = merge(local.labels, { slots = var.worker_slots })`, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, func(c *config) []string {
				errs, _ := checkTypes(t, snap, c)
				return errs
			})
		})
	}
}

// typeCounts counts what checkTypes did with the values it met.
type typeCounts struct {
	args, moduleArgs, defaults int // converted (or refused)
	unknown                    int // of unknown type: nothing to convert
	unevaluated                int // an expression these tests cannot evaluate
}

func (n typeCounts) checked() int { return n.args + n.moduleArgs + n.defaults }

// typeChecker converts the values of one module (a root, or a called module
// read from its own folder) to their types.
type typeChecker struct {
	c    *config
	snap *schema.Snapshot
	errs []string
	n    typeCounts
	// vars are the variables' types, by name (DynamicPseudoType without
	// one), and their defaults' (typeexpr), applied before converting.
	vars     map[string]cty.Type
	defaults map[string]*typeexpr.Defaults
}

// checkTypes converts the values of c's own blocks (its modules' are
// checked in their folders) and its module calls' arguments; errors start
// with DIR/FILE:LINE.
func checkTypes(t *testing.T, snap *schema.Snapshot, c *config) ([]string, typeCounts) {
	t.Helper()
	ck := &typeChecker{c: c, snap: snap}
	ck.vars, ck.defaults = ck.variables(c, true)
	ctx := ck.evalCtx()
	for _, b := range c.blocks {
		switch {
		case b.module != "":
		case b.Type == "module":
			ck.moduleCall(t, ctx, b)
		case schemaChecked(b.Type):
			s, _, _ := blockSchema(snap, b)
			if s == nil {
				continue // TestProviderSchemas reports it
			}
			for _, ictx := range instanceCtxs(ctx, b) {
				if a, ok := b.Body.Attributes["count"]; ok {
					ck.convert(ictx, b.file, a, cty.Number, &ck.n.args, b.Type+" "+strings.Join(b.Labels, ".")+": argument \"count\"")
					ictx = ictx.NewChild()
					ictx.Variables = map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.UnknownVal(cty.Number)})}
				}
				ck.body(ictx, b.file, b.Body, s, b.Type+" "+strings.Join(b.Labels, ".")+": ")
			}
		}
	}
	return ck.errs, ck.n
}

func (ck *typeChecker) fail(file string, r hcl.Range, format string, args ...any) {
	ck.errs = append(ck.errs, fmt.Sprintf("%s:%d: %s", filepath.Join(ck.c.dir, file), r.Start.Line, fmt.Sprintf(format, args...)))
}

// variables parses the type constraints of m's variables; with check, it
// reports a constraint that is no type and converts each default.
func (ck *typeChecker) variables(m *config, check bool) (map[string]cty.Type, map[string]*typeexpr.Defaults) {
	types, defaults := map[string]cty.Type{}, map[string]*typeexpr.Defaults{}
	for _, v := range m.blocks {
		if v.Type != "variable" || v.module != "" {
			continue
		}
		name, ty := v.Labels[0], cty.DynamicPseudoType
		if a, ok := v.Body.Attributes["type"]; ok {
			t, d, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
			if diags.HasErrors() {
				if check {
					ck.fail(v.file, a.SrcRange, "variable %q: type: %s", name, diagText(diags))
				}
			} else {
				ty, defaults[name] = t, d
			}
		}
		types[name] = ty
		a, ok := v.Body.Attributes["default"]
		if !check || !ok {
			continue
		}
		// A default is a literal: Terraform evaluates it without variables.
		val, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			ck.fail(v.file, a.SrcRange, "variable %q: default: %s", name, diagText(diags))
			continue
		}
		ck.n.defaults++
		if err := convertTo(val, ty, defaults[name]); err != nil {
			ck.fail(v.file, a.SrcRange, "variable %q: default: %s", name, err)
		}
	}
	return types, defaults
}

// evalCtx is the harness's context (locals, the functions it defines)
// with var.* unknown values of the variables' types, as terraform
// validate has them, the locals evaluated again from those, and the other
// functions the stack calls: the ones go-cty has, the rest as unknown
// values of their result's type.
func (ck *typeChecker) evalCtx() *hcl.EvalContext {
	ctx := ck.c.evalCtx()
	vars := map[string]cty.Value{}
	for name, ty := range ck.vars {
		vars[name] = cty.UnknownVal(ty)
	}
	ctx.Variables["var"] = cty.ObjectVal(vars)
	for name, f := range map[string]function.Function{
		"regex":        stdlib.RegexFunc,
		"can":          tryfunc.CanFunc,
		"try":          tryfunc.TryFunc,
		"floor":        stdlib.FloorFunc,
		"ceil":         stdlib.CeilFunc,
		"contains":     stdlib.ContainsFunc,
		"alltrue":      typedUnknown(cty.Bool),
		"yamlencode":   typedUnknown(cty.String),
		"templatefile": typedUnknown(cty.String),
		"fileset":      typedUnknown(cty.Set(cty.String)),
		"one":          typedUnknown(cty.DynamicPseudoType),
	} {
		if _, ok := ctx.Functions[name]; !ok {
			ctx.Functions[name] = f
		}
	}
	var locals []*hclsyntax.Attribute
	for _, b := range ck.c.blocks {
		if b.Type == "locals" && b.module == "" {
			for _, name := range sortedAttrNames(b.Body) {
				locals = append(locals, b.Body.Attributes[name])
			}
		}
	}
	evalLocals(ctx, locals)
	return ctx
}

// typedUnknown is a function of any arguments whose result is an unknown
// value of type ret: what the test cannot compute, but whose type it knows.
func typedUnknown(ret cty.Type) function.Function {
	return function.New(&function.Spec{
		VarParam: &function.Parameter{Name: "args", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowDynamicType: true, AllowNull: true},
		Type:     function.StaticReturnType(ret),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.UnknownVal(ret), nil
		},
	})
}

// body converts the arguments of one block body to their types in s and
// walks its nested blocks; a dynamic block's content once per element its
// for_each makes, where that can be evaluated (iterator.key, .value).
func (ck *typeChecker) body(ctx *hcl.EvalContext, file string, body *hclsyntax.Body, s *schema.Block, where string) {
	for _, name := range sortedAttrNames(body) {
		sa, ok := s.Attributes[name]
		if !ok || sa.Type == "" {
			continue // a meta-argument, or what TestProviderSchemas reports
		}
		ty, err := schemaType(sa.Type)
		if err != nil {
			ck.fail(file, body.Attributes[name].SrcRange, "%sargument %q: the snapshot's type %q: %v", where, name, sa.Type, err)
			continue
		}
		ck.convert(ctx, file, body.Attributes[name], ty, &ck.n.args, fmt.Sprintf("%sargument %q", where, name))
	}
	for _, nb := range body.Blocks {
		if nb.Type != "dynamic" {
			if ns, ok := s.Blocks[nb.Type]; ok {
				ck.body(ctx, file, nb.Body, &ns.Block, where+nb.Type+": ")
			}
			continue
		}
		content := child(nb, "content")
		ns, ok := s.Blocks[nb.Labels[0]]
		if content == nil || len(nb.Labels) != 1 || !ok {
			continue // TestProviderSchemas reports it
		}
		for _, ictx := range dynamicCtxs(ctx, nb) {
			ck.body(ictx, file, content.Body, &ns.Block, where+nb.Labels[0]+": ")
		}
	}
}

// dynamicCtxs are the contexts a dynamic block's content evaluates in: one
// per element of its for_each where ctx can evaluate it, the iterator
// (the block's label or its iterator argument) set; ctx itself otherwise.
func dynamicCtxs(ctx *hcl.EvalContext, nb *hclsyntax.Block) []*hcl.EvalContext {
	it := nb.Labels[0]
	if a, ok := nb.Body.Attributes["iterator"]; ok {
		if kw := hcl.ExprAsKeyword(a.Expr); kw != "" {
			it = kw
		}
	}
	a, ok := nb.Body.Attributes["for_each"]
	if !ok {
		return []*hcl.EvalContext{ctx}
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() || v.IsNull() {
		return []*hcl.EvalContext{ctx}
	}
	if !v.IsWhollyKnown() || !v.CanIterateElements() {
		// An unknown collection: the iterator's key and value are
		// unknown values of its key and element types.
		key, val := cty.DynamicVal, cty.DynamicVal
		switch ty := v.Type(); {
		case ty.IsMapType():
			key, val = cty.UnknownVal(cty.String), cty.UnknownVal(ty.ElementType())
		case ty.IsListType():
			key, val = cty.UnknownVal(cty.Number), cty.UnknownVal(ty.ElementType())
		case ty.IsSetType():
			key, val = cty.UnknownVal(ty.ElementType()), cty.UnknownVal(ty.ElementType())
		}
		c := ctx.NewChild()
		c.Variables = map[string]cty.Value{it: cty.ObjectVal(map[string]cty.Value{"key": key, "value": val})}
		return []*hcl.EvalContext{c}
	}
	var out []*hcl.EvalContext
	for e := v.ElementIterator(); e.Next(); {
		k, val := e.Element()
		c := ctx.NewChild()
		c.Variables = map[string]cty.Value{it: cty.ObjectVal(map[string]cty.Value{"key": k, "value": val})}
		out = append(out, c)
	}
	return out
}

// moduleCall converts each argument of a module call to the called
// variable's type constraint, after that type's defaults (optional
// attributes) are applied, as Terraform does.
func (ck *typeChecker) moduleCall(t *testing.T, ctx *hcl.EvalContext, call block) {
	t.Helper()
	name := call.Labels[0]
	m, ok := ck.c.modules[name]
	if !ok {
		t.Fatalf("%s: module %s was not loaded", call.file, name)
	}
	types, defaults := ck.variables(m, false)
	for _, arg := range sortedAttrNames(call.Body) {
		ty, ok := types[arg]
		if !ok {
			continue // a meta-argument, or what TestProviderSchemas reports
		}
		what := fmt.Sprintf("module %s: argument %q: not a value of var.%s's type %s (%s)", name, arg, arg, typeexpr.TypeString(ty), m.dir)
		ck.convertWith(ctx, call.file, call.Body.Attributes[arg], ty, defaults[arg], &ck.n.moduleArgs, what)
	}
}

func (ck *typeChecker) convert(ctx *hcl.EvalContext, file string, a *hclsyntax.Attribute, ty cty.Type, n *int, what string) {
	ck.convertWith(ctx, file, a, ty, nil, n, what)
}

// convertWith evaluates a in ctx and converts it to ty (d's defaults
// applied first); a value of unknown type, or one the tests cannot
// evaluate, is counted and skipped.
func (ck *typeChecker) convertWith(ctx *hcl.EvalContext, file string, a *hclsyntax.Attribute, ty cty.Type, d *typeexpr.Defaults, n *int, what string) {
	v, diags := a.Expr.Value(ctx)
	switch {
	case diags.HasErrors():
		ck.n.unevaluated++
		return
	case v.Type() == cty.DynamicPseudoType:
		ck.n.unknown++
		return
	}
	*n++
	if err := convertTo(v, ty, d); err != nil {
		ck.fail(file, a.SrcRange, "%s: %s", what, err)
	}
}

// convertTo converts v to ty as Terraform does (go-cty's convert, the
// type's defaults applied first); the error names where in v it fails,
// what was required and what v is there.
func convertTo(v cty.Value, ty cty.Type, d *typeexpr.Defaults) error {
	if d != nil && !v.IsNull() {
		v = d.Apply(v)
	}
	_, err := convert.Convert(v, ty)
	if err == nil {
		return nil
	}
	got, path := v, ""
	var pe cty.PathError
	if errors.As(err, &pe) {
		path = pathText(pe.Path)
		if at, perr := pe.Path.Apply(v); perr == nil {
			got = at
		}
	}
	msg := err.Error()
	switch {
	case !strings.Contains(msg, "but have"):
		msg += ", got " + valueText(got)
	case got.IsKnown() && !got.IsNull() && got.Type().IsPrimitiveType():
		msg += " (" + valueText(got) + ")"
	}
	return fmt.Errorf("%s%s", path, msg)
}

// valueText is a known primitive as written ("many", 3, true), the type's
// name otherwise (tuple, object, string).
func valueText(v cty.Value) string {
	if v.IsKnown() && !v.IsNull() {
		switch v.Type() {
		case cty.String:
			return fmt.Sprintf("%q", v.AsString())
		case cty.Number:
			return v.AsBigFloat().Text('g', -1)
		case cty.Bool:
			return fmt.Sprint(v.True())
		}
	}
	switch {
	case v.Type().IsTupleType():
		return "tuple"
	case v.Type().IsObjectType():
		return "object"
	}
	return v.Type().FriendlyName()
}

// pathText is a value path as Terraform writes it in messages (.a[0]),
// followed by ": "; "" for the value itself.
func pathText(p cty.Path) string {
	if len(p) == 0 {
		return ""
	}
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			} else {
				fmt.Fprintf(&b, "[%s]", valueText(s.Key))
			}
		}
	}
	return b.String() + ": "
}

// schemaType parses a type of the snapshot (list(string)), cached.
func schemaType(s string) (cty.Type, error) {
	if ty, ok := schemaTypes[s]; ok {
		return ty, nil
	}
	e, diags := hclsyntax.ParseExpression([]byte(s), "schema.json", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilType, errors.New(diagText(diags))
	}
	ty, diags := typeexpr.TypeConstraint(e)
	if diags.HasErrors() {
		return cty.NilType, errors.New(diagText(diags))
	}
	schemaTypes[s] = ty
	return ty, nil
}

var schemaTypes = map[string]cty.Type{}

// diagText is the diagnostics' summaries and details, without positions.
func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			parts = append(parts, strings.TrimSuffix(d.Summary+": "+d.Detail, ": "))
		}
	}
	return strings.Join(parts, "; ")
}
