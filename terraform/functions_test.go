package terraform_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

const (
	modulePath  = "github.com/tigerstudio/studio"
	ffFunctions = "github.com/GoogleCloudPlatform/functions-framework-go/functions"
)

// The Go buildpack parses every .go file at the root of the source (tests
// included, ImportsOnly) and needs exactly one package there. It picks its
// declarative main template only if that package imports the framework's
// functions package itself, and it imports <module>/<package name> instead of
// the module root when a directory of that name exists.
func TestRootPackageAsTheBuildpackSeesIt(t *testing.T) {
	root := repoRoot(t)
	pkgs := rootPackages(t, root)
	if len(pkgs) != 1 {
		var names []string
		for n := range pkgs {
			names = append(names, n)
		}
		t.Fatalf("the repository root has %d Go packages %v; the buildpack needs exactly one", len(pkgs), names)
	}
	for name, pkg := range pkgs {
		if fi, err := os.Stat(filepath.Join(root, name)); err == nil && fi.IsDir() {
			t.Errorf("root package %q has the name of a top-level directory: the buildpack would import ./%s instead", name, name)
		}
		imports := map[string]bool{}
		for _, f := range pkg {
			for _, im := range f.Imports {
				p, _ := strconv.Unquote(im.Path.Value)
				imports[p] = true
			}
		}
		for _, want := range []string{ffFunctions, modulePath + "/functions"} {
			if !imports[want] {
				t.Errorf("root package %s does not import %s", name, want)
			}
		}
	}
}

// rootPackages parses the .go files directly in dir (tests included, as the
// buildpack does, build tags ignored) and groups them by package name.
func rootPackages(t *testing.T, dir string) map[string][]*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	pkgs := map[string][]*ast.File{}
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		pkgs[f.Name.Name] = append(pkgs[f.Name.Name], f)
	}
	return pkgs
}

// Builds a main package like the one the buildpack generates (a blank
// import of the root package and funcframework.Start), inside the module so
// that go.sum covers it.
func TestFunctionsBuildLikeTheBuildpack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the functions; skipped with -short")
	}
	root := repoRoot(t)
	dir, err := os.MkdirTemp(root, "_buildpack-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	main := `package main

import (
	"log"
	"net/http"
	"os"

	_ "` + modulePath + `"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	http.HandleFunc("/robots.txt", http.NotFound)
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("funcframework.Start: %v", err)
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "app"), "./"+filepath.Base(dir))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the function app as the buildpack does: %v\n%s", err, out)
	}
}

// Every registered entry point (functions.HTTP or functions.CloudEvent in
// the init of functions/register.go, which the root package imports) is
// deployed exactly once across the two roots, with the trigger its
// registration serves: a CloudEvent function is the destination of an
// Eventarc trigger (or has an event_trigger), an HTTP function of neither.
// AuthBlocking, Identity Platform's blocking function, is the project
// root's (one per project, as the configuration that calls it).
func TestEntryPointsRegistered(t *testing.T) {
	registered := registeredEntryPoints(t)
	if len(registered) == 0 {
		t.Fatal("no registrations found in functions/register.go")
	}
	deployed := map[string][]string{} // entry point -> root/function
	for _, dir := range schemaRoots {
		c := loadConfig(t, dir)
		fns := c.resources("resource", "google_cloudfunctions2_function")
		// The functions an Eventarc trigger of this root delivers to: a
		// function resource by name, a module's function by module.CALL.
		eventTargets := map[string]bool{}
		for _, tr := range c.resources("resource", "google_eventarc_trigger") {
			walkBlocks(tr.Block, func(n *hclsyntax.Block) {
				if n.Type != "cloud_run_service" {
					return
				}
				if a, ok := n.Body.Attributes["service"]; ok {
					for _, v := range a.Expr.Variables() {
						if ref := refAddr(v); strings.HasPrefix(ref, "google_cloudfunctions2_function.") {
							eventTargets[strings.TrimPrefix(ref, "google_cloudfunctions2_function.")] = true
						} else if call := strings.Split(ref, "."); call[0] == "module" {
							eventTargets["module."+call[1]] = true
						}
					}
				}
			})
		}
		for name, b := range fns {
			addr := dir + "/" + name
			ep, ok := literalString(child(b.Block, "build_config"), "entry_point")
			if !ok {
				t.Errorf("function %s: entry_point is not a literal", addr)
				continue
			}
			deployed[ep] = append(deployed[ep], addr)
			kind, ok := registered[ep]
			if !ok {
				t.Errorf("function %s: entry_point %q is not registered in functions/register.go (registered: %v)", addr, ep, registered)
				continue
			}
			got := "HTTP"
			if eventTargets[name] || b.module != "" && eventTargets["module."+b.module] || child(b.Block, "event_trigger") != nil {
				got = "CloudEvent"
			}
			if got != kind {
				t.Errorf("function %s: entry point %s is registered with functions.%s but deployed as a %s function", addr, ep, kind, got)
			}
		}
	}
	for ep := range registered {
		if n := len(deployed[ep]); n != 1 {
			t.Errorf("entry point %s is deployed %d times %v, want once across both roots", ep, n, deployed[ep])
		}
	}
	if got := deployed["AuthBlocking"]; len(got) != 1 || !strings.HasPrefix(got[0], "project/") {
		t.Errorf("AuthBlocking is deployed as %v, want once, in project/", got)
	}
}

// registeredEntryPoints reads functions/register.go: entry point -> "HTTP"
// or "CloudEvent".
func registeredEntryPoints(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot(t), "functions", "register.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == "functions" && (sel.Sel.Name == "HTTP" || sel.Sel.Name == "CloudEvent") {
			if lit, ok := call.Args[0].(*ast.BasicLit); ok {
				name, _ := strconv.Unquote(lit.Value)
				registered[name] = sel.Sel.Name
			}
		}
		return true
	})
	return registered
}

// The source archive (modules/function-source's data.archive_file.this,
// module.source in each root) holds the module and the root package and
// leaves out what is heavy or local. The patterns are
// matched as the archive provider does (doublestar globs on paths relative
// to source_dir; a matching directory is skipped whole) over the working
// tree as it is now, models and node_modules included when installed. Both
// roots zip the repository (the project root for AuthBlocking), with the
// one list of exclusions, function-source-excludes.json.
func TestSourceArchive(t *testing.T) {
	for _, dir := range schemaRoots {
		t.Run(dir, func(t *testing.T) { checkSourceArchive(t, dir) })
	}
}

func checkSourceArchive(t *testing.T, dir string) {
	root := repoRoot(t)
	c := loadConfig(t, dir)
	// modules/function-source's archive, as the root's call resolves it.
	b := c.resource(t, "data", "archive_file", "module.source.this")
	ctx := c.evalCtx()
	src, ok := attrValue(t, ctx, b.Block, "source_dir")
	if !ok || !src.IsKnown() {
		t.Fatal("module.source's archive: source_dir cannot be evaluated")
	}
	if abs, _ := filepath.Abs(src.AsString()); abs != root {
		t.Errorf("module.source's archive zips %s, not the repository root %s", abs, root)
	}
	if a, ok := b.Body.Attributes["excludes"]; !ok || !strings.Contains(exprText(t, c, b.file, a), "function-source-excludes.json") {
		t.Error("module.source's archive does not take its excludes from function-source-excludes.json")
	}
	v, ok := attrValue(t, ctx, b.Block, "excludes")
	if !ok || !v.IsWhollyKnown() {
		t.Fatal("module.source's archive has no excludes, or they cannot be evaluated")
	}
	excludes := stringList(t, v)
	excluded := func(rel string) bool {
		for _, p := range excludes {
			if globMatch(strings.Split(p, "/"), strings.Split(rel, "/")) {
				return true
			}
		}
		return false
	}
	var included []string
	var size int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if excluded(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// exclude_symlink_directories; a linked file would be followed.
			if fi, err := os.Stat(path); err == nil && fi.IsDir() {
				return nil
			}
		}
		if !d.IsDir() {
			included = append(included, rel)
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, f := range included {
		set[f] = true
		if strings.HasSuffix(f, ".onnx") || strings.Contains(f, "node_modules/") || hasPrefixAny(f, ".local", ".git/", "terraform/") {
			t.Errorf("the source archive would include %s", f)
		}
	}
	for _, want := range []string{"go.mod", "go.sum", "functions.go", "functions/register.go"} {
		if !set[want] {
			t.Errorf("the source archive would leave out %s", want)
		}
	}
	if size > 50<<20 {
		t.Errorf("the source archive would hold %d MiB", size>>20)
	}
}

// globMatch matches path segments against pattern segments, where ** is any
// number of segments and the others follow filepath.Match.
func globMatch(pat, name []string) bool {
	if len(pat) == 0 {
		return len(name) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(name); i++ {
			if globMatch(pat[1:], name[i:]) {
				return true
			}
		}
		return false
	}
	if len(name) == 0 {
		return false
	}
	if ok, _ := filepath.Match(pat[0], name[0]); !ok {
		return false
	}
	return globMatch(pat[1:], name[1:])
}
