package terraform_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/tigerstudio/studio/terraform/schema"
)

// The roots whose blocks are checked against the providers' schemas, with
// the local modules they call (schemaDirs).
var schemaRoots = []string{".", "project"}

// schemaDirs returns the roots and the folders of the local modules they
// call (modules/go-function, modules/function-builder,
// modules/function-source), each once.
func schemaDirs(t *testing.T) []string {
	t.Helper()
	dirs := append([]string(nil), schemaRoots...)
	seen := map[string]bool{}
	for _, dir := range schemaRoots {
		for _, m := range loadConfig(t, dir).modules {
			if !seen[m.dir] {
				seen[m.dir] = true
				dirs = append(dirs, m.dir)
			}
		}
	}
	return dirs
}

// Every resource, data, ephemeral and provider block of both roots and of
// the local modules they call, nested and dynamic blocks included, is
// written the way the providers' schemas at the pinned versions allow
// (schema/schema.json, made from the providers' published schemas by make
// terraform-schema), and every module call passes the module's variables
// and nothing else. Terraform validates every block, count = 0 or not, so
// one unknown argument stops every plan.
func TestProviderSchemas(t *testing.T) {
	snap := loadSnapshot(t)
	dirs := schemaDirs(t)
	for _, m := range []string{goFunctionModule, "modules/function-builder", "modules/function-source"} {
		if !slices.Contains(dirs, m) {
			t.Errorf("checked %v: the roots do not call %s", dirs, m)
		}
	}
	for _, dir := range dirs {
		for _, err := range checkSchemas(snap, loadConfig(t, dir)) {
			t.Errorf("%s/%v", dir, err)
		}
	}
}

// The check fails, naming file and line, on what plan would refuse: an
// unknown argument planted in any block of the stack (one at a time), the
// worker pool's probes of before issue 24 (google-beta 6.50.0 has none;
// they came with 7.5.0), an attribute written as a block and the reverse, a
// missing required argument or block, two of a block there may be one of,
// and an attribute only the provider sets (the snapshot keeps those for
// refs_test.go's references) written.
func TestProviderSchemasCatch(t *testing.T) {
	snap := loadSnapshot(t)

	t.Run("planted in every block", func(t *testing.T) {
		n := 0
		for _, dir := range schemaDirs(t) {
			for _, b := range loadConfig(t, dir).blocks {
				if b.module != "" || !schemaChecked(b.Type) && b.Type != "module" {
					continue
				}
				walkBlocks(b.Block, func(nb *hclsyntax.Block) {
					n++
					line := nb.OpenBraceRange.Start.Line + 1
					errs := plantAndCheck(t, snap, dir, b.file, nb.OpenBraceRange.End.Byte, "\ntiger_planted = 1\n")
					want := fmt.Sprintf("%s:%d:", b.file, line)
					if !anyContains(errs, want, `"tiger_planted"`) {
						t.Errorf("%s/%s:%d: planted attribute in %s %s not reported; got %v", dir, b.file, line, nb.Type, strings.Join(nb.Labels, "."), errs)
					}
				})
			}
		}
		if n < 150 {
			t.Errorf("planted into only %d blocks; the walk misses some", n)
		}
	})

	// Each case edits worker.tf after the first occurrence of anchor.
	pool := mustRead(t, "worker.tf")
	cases := []struct {
		name, anchor, insert string
		replace              [2]string // optional: replace old with new instead
		want                 []string
	}{
		{
			name:   "the probes before issue 24",
			anchor: "image = var.worker_image\n",
			insert: "startup_probe {\n  http_get {\n    path = \"/readyz\"\n    port = 8080\n  }\n  period_seconds = 10\n}\nliveness_probe {\n  http_get {\n    path = \"/healthz\"\n  }\n}\n",
			want:   []string{`template.containers: unsupported block "startup_probe"`, `template.containers: unsupported block "liveness_probe"`},
		},
		{
			name:   "an attribute written as a block",
			anchor: "image = var.worker_image\n",
			insert: "image {\n}\n",
			want:   []string{`template.containers: "image" is an argument, written as a block`},
		},
		{
			name:   "a block written as an attribute",
			anchor: "image = var.worker_image\n",
			insert: "resources = {}\n",
			want:   []string{`template.containers: "resources" is a block, written as an argument`},
		},
		{
			name:    "a missing required argument",
			replace: [2]string{"image = var.worker_image\n", "\n"},
			want:    []string{`template.containers: required argument "image" is missing`},
		},
		{
			name:    "a missing required block",
			replace: [2]string{"template {", "not_template {"},
			want:    []string{`required block "template" is missing`, `unsupported block "not_template"`},
		},
		{
			name:   "two of a block there may be one of",
			anchor: "manual_instance_count = var.worker_min_instances\n  }\n",
			insert: "scaling {\n}\n",
			want:   []string{`at most one "scaling" block`},
		},
		{
			name:   "a computed-only attribute set",
			anchor: "deletion_protection = false\n",
			insert: "uid = \"x\"\n",
			want:   []string{`"uid" is computed by the provider: it can be read, not set`},
		},
		{
			name:   "an unknown block in a dynamic block's content",
			anchor: "image = var.worker_image\n",
			insert: "dynamic \"env\" {\n  for_each = []\n  content {\n    name = \"X\"\n    bogus = 1\n  }\n}\n",
			want:   []string{`template.containers.env: unsupported argument "bogus"`},
		},
		{
			name:   "a dynamic block of no block type",
			anchor: "image = var.worker_image\n",
			insert: "dynamic \"probe\" {\n  for_each = []\n  content {\n  }\n}\n",
			want:   []string{`template.containers: unsupported block "probe"`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := pool
			if c.replace[0] != "" {
				if !strings.Contains(src, c.replace[0]) {
					t.Fatalf("worker.tf has no %q", c.replace[0])
				}
				src = strings.Replace(src, c.replace[0], c.replace[1], 1)
			} else {
				i := strings.Index(src, c.anchor)
				if i < 0 {
					t.Fatalf("worker.tf has no %q", c.anchor)
				}
				i += len(c.anchor)
				src = src[:i] + c.insert + src[i:]
			}
			errs := checkEdited(t, snap, ".", "worker.tf", src)
			for _, w := range c.want {
				if !anyContains(errs, "worker.tf:", w) {
					t.Errorf("no error %q; got %v", w, errs)
				}
			}
		})
	}
}

// The providers are pinned to exactly the versions the snapshot was made
// from, in both roots, and the snapshot is the one packages.json describes.
func TestProviderVersionsMatchSnapshot(t *testing.T) {
	snap := loadSnapshot(t)
	pkgs, err := schema.Packages()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		s, ok := snap.Providers[p.Name]
		if !ok {
			t.Errorf("schema.json lacks %s: make terraform-schema", p.Name)
			continue
		}
		if s.Source != p.Source || s.Version != p.Version || s.Package != p.Package+"@"+p.PackageVersion {
			t.Errorf("schema.json has %s %s from %s, packages.json says %s %s from %s@%s: make terraform-schema",
				s.Source, s.Version, s.Package, p.Source, p.Version, p.Package, p.PackageVersion)
		}
	}
	// A module names its providers' sources; the root calling it pins the
	// versions (a pin in the module, if any, must be the same).
	for _, dir := range schemaDirs(t) {
		c := loadConfig(t, dir)
		root := slices.Contains(schemaRoots, dir)
		pins := requiredProviders(t, c)
		if len(pins) == 0 {
			t.Errorf("%s: no required_providers", dir)
		}
		for name, pin := range pins {
			s, ok := snap.Providers[name]
			if !ok {
				t.Errorf("%s: provider %s is not in the snapshot (add it to schema/packages.json)", dir, name)
				continue
			}
			if pin.source != s.Source {
				t.Errorf("%s: provider %s has source %q, the snapshot %q", dir, name, pin.source, s.Source)
			}
			// An exact version: "6.50.0" or "= 6.50.0", nothing a newer
			// release could satisfy.
			if v := strings.TrimSpace(strings.TrimPrefix(pin.version, "=")); v != s.Version && (root || pin.version != "") {
				t.Errorf("%s: provider %s is pinned to %q, the snapshot is of %s: pin it exactly", dir, name, pin.version, s.Version)
			}
		}
	}
}

type pin struct{ source, version string }

// requiredProviders returns the terraform block's required_providers.
func requiredProviders(t *testing.T, c *config) map[string]pin {
	t.Helper()
	out := map[string]pin{}
	for _, b := range c.blocks {
		if b.Type != "terraform" {
			continue
		}
		rp := child(b.Block, "required_providers")
		if rp == nil {
			continue
		}
		for name, a := range rp.Body.Attributes {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() || !v.Type().IsObjectType() {
				t.Fatalf("%s: required_providers.%s is not a literal object", b.file, name)
			}
			var p pin
			if v.Type().HasAttribute("source") {
				p.source = v.GetAttr("source").AsString()
			}
			if v.Type().HasAttribute("version") {
				p.version = v.GetAttr("version").AsString()
			}
			out[name] = p
		}
	}
	return out
}

func loadSnapshot(t *testing.T) *schema.Snapshot {
	t.Helper()
	s, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func schemaChecked(kind string) bool {
	switch kind {
	case "resource", "data", "ephemeral", "provider":
		return true
	}
	return false
}

// plantAndCheck inserts text at byte offset at of dir/file and checks the
// changed file.
func plantAndCheck(t *testing.T, snap *schema.Snapshot, dir, file string, at int, text string) []string {
	t.Helper()
	src := mustRead(t, filepath.Join(dir, file))
	return checkEdited(t, snap, dir, file, src[:at]+text+src[at:])
}

// checkEdited checks file of dir as if it read src. Each block is checked
// on its own, so the file alone is enough (and keeps the hundreds of
// planted runs quick); the modules it calls are read from dir.
func checkEdited(t *testing.T, snap *schema.Snapshot, dir, file, src string) []string {
	t.Helper()
	var out []string
	for _, err := range checkSchemas(snap, parseConfig(t, dir, map[string][]byte{file: []byte(src)})) {
		out = append(out, err.Error())
	}
	return out
}

func anyContains(errs []string, subs ...string) bool {
	for _, e := range errs {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(e, s)
		}
		if all {
			return true
		}
	}
	return false
}

// Meta-arguments Terraform itself takes in each kind of block
// (developer.hashicorp.com/terraform/language/meta-arguments), checked like
// the providers' arguments.
var (
	conditionSchema = &schema.Nested{Block: schema.Block{Attributes: map[string]schema.Attribute{
		"condition": {Required: true}, "error_message": {Required: true},
	}}}
	lifecycleSchema = &schema.Nested{MaxOne: true, Block: schema.Block{
		Attributes: map[string]schema.Attribute{
			"create_before_destroy": {}, "prevent_destroy": {}, "ignore_changes": {}, "replace_triggered_by": {},
		},
		Blocks: map[string]*schema.Nested{"precondition": conditionSchema, "postcondition": conditionSchema},
	}}
	metaArgs = map[string][]string{
		"resource":  {"count", "for_each", "provider", "depends_on"},
		"data":      {"count", "for_each", "provider", "depends_on"},
		"ephemeral": {"count", "for_each", "provider", "depends_on"},
		"provider":  {"alias"},
	}
	// provisioner and connection bodies belong to the provisioners, not to
	// a provider schema: their contents are not checked.
	metaBlocks = map[string][]string{
		"resource":  {"lifecycle", "provisioner", "connection"},
		"data":      {"lifecycle"},
		"ephemeral": {"lifecycle"},
	}
)

// checkSchemas checks every resource, data, ephemeral and provider block of
// c against snap, and each module call against the module's variables;
// each error starts with file:line. The blocks resolved from c's modules
// are not checked again here: their module's own folder is (schemaDirs).
func checkSchemas(snap *schema.Snapshot, c *config) []error {
	var errs []error
	for _, b := range c.blocks {
		where := b.Type + " " + strings.Join(b.Labels, ".")
		fail := func(r hcl.Range, format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %s", b.file, r.Start.Line, where, fmt.Sprintf(format, args...)))
		}
		if b.Type == "module" && b.module == "" {
			checkModuleCall(b, c.modules[b.Labels[0]], fail)
			continue
		}
		if b.module != "" || !schemaChecked(b.Type) {
			continue
		}
		s, r, why := blockSchema(snap, b)
		if s == nil {
			fail(r, "%s", why)
			continue
		}
		// The top level also takes the meta-arguments.
		top := &schema.Block{Attributes: map[string]schema.Attribute{}, Blocks: map[string]*schema.Nested{}}
		for k, v := range s.Attributes {
			top.Attributes[k] = v
		}
		for k, v := range s.Blocks {
			top.Blocks[k] = v
		}
		for _, m := range metaArgs[b.Type] {
			top.Attributes[m] = schema.Attribute{}
		}
		opaque := map[string]bool{}
		for _, m := range metaBlocks[b.Type] {
			if m == "lifecycle" {
				top.Blocks[m] = lifecycleSchema
			} else {
				opaque[m] = true
			}
		}
		checkBody(b.Body, top, "", opaque, fail)
	}
	return errs
}

// blockSchema returns the schema of a resource, data, ephemeral or provider
// block, from the provider Terraform would take it from (the provider
// meta-argument's, or the type's prefix: google_... is google's); without
// one, why not and where.
func blockSchema(snap *schema.Snapshot, b block) (*schema.Block, hcl.Range, string) {
	var typ string
	if len(b.Labels) > 0 {
		typ = b.Labels[0]
	}
	provName := typ
	if b.Type != "provider" {
		provName = strings.SplitN(typ, "_", 2)[0]
		if a, ok := b.Body.Attributes["provider"]; ok {
			tr, diags := hcl.AbsTraversalForExpr(a.Expr)
			if diags.HasErrors() {
				return nil, a.SrcRange, "provider is not a provider reference"
			}
			provName = tr.RootName()
		}
	}
	prov, ok := snap.Providers[provName]
	if !ok {
		return nil, b.TypeRange, fmt.Sprintf("provider %q is not in the schema snapshot (schema/packages.json)", provName)
	}
	var s *schema.Block
	switch b.Type {
	case "provider":
		s = prov.Config
	case "resource":
		s = prov.Resources[typ]
	case "data":
		s = prov.DataSources[typ]
	case "ephemeral":
		s = prov.Ephemeral[typ]
	}
	if s == nil {
		return nil, b.TypeRange, fmt.Sprintf("%s type %q of provider %s is not in the schema snapshot: make terraform-schema adds the stack's types (and fails if %s %s has no such type)",
			b.Type, typ, provName, prov.Source, prov.Version)
	}
	return s, hcl.Range{}, ""
}

// checkModuleCall checks a module block's arguments: each a variable of the
// module or one of Terraform's, every variable without a default given, no
// nested block.
func checkModuleCall(b block, m *config, fail func(hcl.Range, string, ...any)) {
	vars := map[string]bool{} // name -> required
	for _, v := range m.blocks {
		if v.Type == "variable" {
			_, hasDefault := v.Body.Attributes["default"]
			vars[v.Labels[0]] = !hasDefault
		}
	}
	for _, name := range sortedAttrNames(b.Body) {
		if _, ok := vars[name]; !ok && !slices.Contains(moduleMetaArgs, name) {
			fail(b.Body.Attributes[name].SrcRange, "unsupported argument %q: not a variable of %s", name, m.dir)
		}
	}
	for _, nb := range b.Body.Blocks {
		fail(nb.TypeRange, "unsupported block %q", nb.Type)
	}
	for _, name := range sortedKeys(vars) {
		if _, ok := b.Body.Attributes[name]; vars[name] && !ok {
			fail(b.Body.SrcRange, "required argument %q (a variable of %s without default) is missing", name, m.dir)
		}
	}
}

// checkBody checks one block body against its schema; path names the block
// in messages (template.containers), opaque lists block types whose bodies
// are not the provider's to check.
func checkBody(body *hclsyntax.Body, s *schema.Block, path string, opaque map[string]bool, fail func(hcl.Range, string, ...any)) {
	at := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	prefix := ""
	if path != "" {
		prefix = path + ": "
	}
	for _, name := range sortedAttrNames(body) {
		a := body.Attributes[name]
		if sa, ok := s.Attributes[name]; ok {
			if sa.ReadOnly {
				fail(a.SrcRange, "%s%q is computed by the provider: it can be read, not set", prefix, name)
			}
			continue
		}
		if _, ok := s.Blocks[name]; ok {
			fail(a.SrcRange, "%s%q is a block, written as an argument", prefix, name)
			continue
		}
		fail(a.SrcRange, "%sunsupported argument %q", prefix, name)
	}
	count := map[string]int{}
	present := map[string]bool{}
	for _, nb := range body.Blocks {
		name, content := nb.Type, nb.Body
		dynamic := nb.Type == "dynamic"
		if dynamic {
			if len(nb.Labels) != 1 {
				fail(nb.TypeRange, "%sa dynamic block needs one label", prefix)
				continue
			}
			name = nb.Labels[0]
			for _, an := range sortedAttrNames(nb.Body) {
				if an != "for_each" && an != "iterator" && an != "labels" {
					fail(nb.Body.Attributes[an].SrcRange, "%sdynamic %q: unsupported argument %q", prefix, name, an)
				}
			}
			content = nil
			for _, cb := range nb.Body.Blocks {
				if cb.Type == "content" && content == nil {
					content = cb.Body
				} else {
					fail(cb.TypeRange, "%sdynamic %q: unsupported block %q", prefix, name, cb.Type)
				}
			}
		}
		if opaque[name] {
			continue
		}
		ns, ok := s.Blocks[name]
		if !ok {
			if _, isAttr := s.Attributes[name]; isAttr {
				fail(nb.TypeRange, "%s%q is an argument, written as a block", prefix, name)
			} else {
				fail(nb.TypeRange, "%sunsupported block %q", prefix, name)
			}
			continue
		}
		present[name] = true
		if !dynamic {
			count[name]++
			if ns.MaxOne && count[name] == 2 {
				fail(nb.TypeRange, "%sat most one %q block is allowed", prefix, name)
			}
		}
		if content == nil {
			fail(nb.TypeRange, "%sdynamic %q has no content block", prefix, name)
			continue
		}
		checkBody(content, &ns.Block, at(name), nil, fail)
	}
	for _, name := range sortedKeys(s.Attributes) {
		if _, ok := body.Attributes[name]; !ok && s.Attributes[name].Required {
			fail(body.SrcRange, "%srequired argument %q is missing", prefix, name)
		}
	}
	for _, name := range sortedKeys(s.Blocks) {
		if s.Blocks[name].Required && !present[name] {
			fail(body.SrcRange, "%srequired block %q is missing", prefix, name)
		}
	}
}

func sortedAttrNames(body *hclsyntax.Body) []string {
	return sortedKeys(body.Attributes)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
