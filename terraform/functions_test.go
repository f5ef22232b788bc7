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

// Every entry_point in the .tf files is registered by functions/register.go
// (functions.HTTP or functions.CloudEvent in its init), which the root
// package imports.
func TestEntryPointsRegistered(t *testing.T) {
	root := repoRoot(t)
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "functions", "register.go"), nil, 0)
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
	c := loadConfig(t, ".")
	fns := c.resources("resource", "google_cloudfunctions2_function")
	for name, b := range fns {
		ep, ok := literalString(child(b.Block, "build_config"), "entry_point")
		if !ok {
			t.Errorf("function %s: entry_point is not a literal", name)
			continue
		}
		if _, ok := registered[ep]; !ok {
			t.Errorf("function %s: entry_point %q is not registered in functions/register.go (registered: %v)", name, ep, registered)
		}
	}
	if len(fns) != len(registered) {
		t.Errorf("%d functions deployed, %d registered", len(fns), len(registered))
	}
}

// The source archive (data.archive_file.source) holds the module and the
// root package and leaves out what is heavy or local. The patterns are
// matched as the archive provider does (doublestar globs on paths relative
// to source_dir; a matching directory is skipped whole) over the working
// tree as it is now, models and node_modules included when installed.
func TestSourceArchive(t *testing.T) {
	root := repoRoot(t)
	c := loadConfig(t, ".")
	b := c.resource(t, "data", "archive_file", "source")
	v, ok := attrValue(t, c.evalCtx(), b.Block, "excludes")
	if !ok {
		t.Fatal("archive_file.source has no excludes")
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
