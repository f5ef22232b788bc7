package terraform_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// The Firestore queries the code runs, declared in this one place. Each names
// the function that runs it (file:function, as the scan below finds it).
// Whether a query needs a composite index is derived from its shape
// (compositeIndex); the derived set must equal the indexes in
// ../firestore.indexes.json (the emulator, firebase deploy) and the
// google_firestore_index resources in firestore.tf.
var declaredQueries = []fsQuery{
	// GET /v1/jobs: the caller's jobs, newest first, paged by document name.
	{Site: "infra/store/store.go:ListJobs", Collection: "requests",
		Filters: []fsFilter{{"uid", "=="}},
		Orders:  []fsOrder{{"createdAt", "DESCENDING"}, {"__name__", "DESCENDING"}}},
	// GET /v1/jobs?scope=booth: the kiosk's board, the event's booth jobs
	// of every owner, newest first, paged like the caller's own list.
	{Site: "infra/store/store.go:ListBoothJobs", Collection: "requests",
		Filters: []fsFilter{{"event", "=="}, {"priority", "=="}},
		Orders:  []fsOrder{{"createdAt", "DESCENDING"}, {"__name__", "DESCENDING"}}},
	// POST /v1/jobs:adopt: a guest's requests, moved page by page; one
	// equality, served by the single-field index on uid.
	{Site: "functions/gateway/internal/gatewaydb/gatewaydb.go:MoveRequests", Collection: "requests",
		Filters: []fsFilter{{"uid", "=="}}},
	// Reconcile: equalities only, served by merging single-field indexes.
	{Site: "infra/store/store.go:Unenqueued", Collection: "requests",
		Filters: []fsFilter{{"event", "=="}, {"enqueuedAt", "=="}}},
	// NotifySweep: a range on one field, paged in that field's order, served
	// by its single-field index.
	// The code runs one chain for both collections (variables): both are
	// declared.
	{Site: "infra/store/store.go:Unnotified", Collection: "responses",
		Filters: []fsFilter{{"completedAt", ">="}, {"completedAt", "<"}},
		Orders:  []fsOrder{{"completedAt", "ASCENDING"}}},
	{Site: "infra/store/store.go:Unnotified", Collection: "errors",
		Filters: []fsFilter{{"failedAt", ">="}, {"failedAt", "<"}},
		Orders:  []fsOrder{{"failedAt", "ASCENDING"}}},
	// GET /v1/jobs/{id} of a queued job: the jobs ahead of it, counted in
	// the requests and in the responses (which repeat the keys).
	{Site: "infra/store/store.go:QueueAhead", Collection: "requests",
		Filters: []fsFilter{{"event", "=="}, {"priority", "=="}, {"enqueuedAt", "<"}}},
	{Site: "infra/store/store.go:QueueAhead", Collection: "responses",
		Filters: []fsFilter{{"event", "=="}, {"priority", "=="}, {"enqueuedAt", "<"}}},
	// ... and the pace of the event's recent completions.
	{Site: "infra/store/store.go:Pace", Collection: "responses",
		Filters: []fsFilter{{"event", "=="}, {"completedAt", ">"}},
		Orders:  []fsOrder{{"completedAt", "DESCENDING"}}},
	// studioctl: an event's jobs in name order (status, export, purge, dead),
	// served by the single-field index on event.
	{Site: "cmd/studioctl/stack.go:eachJobs", Collection: "requests",
		Filters: []fsFilter{{"event", "=="}},
		Orders:  []fsOrder{{"__name__", "ASCENDING"}}},
}

type fsFilter struct{ Field, Op string }
type fsOrder struct{ Field, Direction string }

type fsQuery struct {
	Site       string
	Collection string
	Filters    []fsFilter
	Orders     []fsOrder
}

type indexField struct {
	FieldPath string `json:"fieldPath"`
	Order     string `json:"order"`
}

type index struct {
	CollectionGroup string       `json:"collectionGroup"`
	QueryScope      string       `json:"queryScope"`
	Fields          []indexField `json:"fields"`
}

func (i index) key() string {
	var b strings.Builder
	b.WriteString(i.CollectionGroup)
	for _, f := range i.Fields {
		b.WriteString(" " + f.FieldPath + ":" + f.Order)
	}
	return b.String()
}

// compositeIndex is the composite index q needs, or false when single-field
// indexes serve it: equality filters only (merged), or filters and orders
// that all name one field. Otherwise the index is the equality fields
// (ascending), then the range field and the orders, then __name__ in the
// direction of the last order, as Firestore's "create index" link suggests.
func compositeIndex(q fsQuery) (index, bool) {
	fields := map[string]bool{}
	var eq []string
	var rangeField string
	for _, f := range q.Filters {
		fields[f.Field] = true
		if f.Op == "==" {
			eq = append(eq, f.Field)
		} else {
			rangeField = f.Field
		}
	}
	for _, o := range q.Orders {
		if o.Field != "__name__" {
			fields[o.Field] = true
		}
	}
	if len(fields) <= 1 || (rangeField == "" && len(q.Orders) == 0) {
		return index{}, false
	}
	idx := index{CollectionGroup: q.Collection, QueryScope: "COLLECTION"}
	for _, f := range eq {
		idx.Fields = append(idx.Fields, indexField{f, "ASCENDING"})
	}
	last := "ASCENDING"
	if rangeField != "" && (len(q.Orders) == 0 || q.Orders[0].Field != rangeField) {
		idx.Fields = append(idx.Fields, indexField{rangeField, "ASCENDING"})
	}
	named := false
	for _, o := range q.Orders {
		idx.Fields = append(idx.Fields, indexField{o.Field, o.Direction})
		last = o.Direction
		named = named || o.Field == "__name__"
	}
	if !named {
		idx.Fields = append(idx.Fields, indexField{"__name__", last})
	}
	return idx, true
}

func wantIndexes() []string {
	var out []string
	for _, q := range declaredQueries {
		if idx, ok := compositeIndex(q); ok {
			out = append(out, idx.key())
		}
	}
	sort.Strings(out)
	return dedupe(out)
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func TestFirestoreIndexesJSON(t *testing.T) {
	var f struct {
		Indexes []index `json:"indexes"`
	}
	if err := json.Unmarshal([]byte(mustRead(t, "../firestore.indexes.json")), &f); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range f.Indexes {
		got = append(got, i.key())
	}
	sort.Strings(got)
	if want := wantIndexes(); !reflect.DeepEqual(got, want) {
		t.Errorf("firestore.indexes.json holds\n  %q\nthe declared queries need\n  %q", got, want)
	}
}

// firestore.tf makes one index per entry of ../firestore.indexes.json: its
// for_each, evaluated with var.manage_firestore on, gives exactly the
// indexes the declared queries need, each resource's attributes come from
// its entry, and with manage_firestore off it makes none.
func TestFirestoreIndexesTerraform(t *testing.T) {
	c := loadConfig(t, ".")
	idx := c.resources("resource", "google_firestore_index")
	b, ok := idx["composite"]
	if !ok || len(idx) != 1 {
		t.Fatalf("want one google_firestore_index, composite, with for_each; have %d", len(idx))
	}
	forEach := func(manage bool) cty.Value {
		ctx := c.evalCtx()
		ctx.Variables["var"] = cty.ObjectVal(map[string]cty.Value{"manage_firestore": cty.BoolVal(manage)})
		v, ok := attrValue(t, ctx, b.Block, "for_each")
		if !ok || !v.IsWhollyKnown() {
			t.Fatal("google_firestore_index.composite: for_each cannot be evaluated")
		}
		return v
	}
	if n := forEach(false).LengthInt(); n != 0 {
		t.Errorf("manage_firestore = false still makes %d indexes", n)
	}
	var got []string
	for it := forEach(true).ElementIterator(); it.Next(); {
		_, e := it.Element()
		i := index{CollectionGroup: e.GetAttr("collectionGroup").AsString(), QueryScope: e.GetAttr("queryScope").AsString()}
		for fi := e.GetAttr("fields").ElementIterator(); fi.Next(); {
			_, f := fi.Element()
			i.Fields = append(i.Fields, indexField{f.GetAttr("fieldPath").AsString(), f.GetAttr("order").AsString()})
		}
		got = append(got, i.key())
	}
	sort.Strings(got)
	if want := wantIndexes(); !reflect.DeepEqual(got, want) {
		t.Errorf("firestore.tf makes\n  %q\nthe declared queries need\n  %q", got, want)
	}
	for attr, want := range map[string]string{"collection": "each.value.collectionGroup", "query_scope": "each.value.queryScope"} {
		if got := exprText(t, c, b.file, b.Body.Attributes[attr]); got != want {
			t.Errorf("%s = %s, want %s", attr, got, want)
		}
	}
	dyn := child(b.Block, "dynamic")
	content := child(dyn, "content")
	if dyn == nil || dyn.Labels[0] != "fields" || content == nil {
		t.Fatal("the index's fields are not a dynamic block over each.value.fields")
	}
	for attr, want := range map[string]string{"field_path": "fields.value.fieldPath", "order": "fields.value.order"} {
		if got := exprText(t, c, b.file, content.Body.Attributes[attr]); got != want {
			t.Errorf("fields.%s = %s, want %s", attr, got, want)
		}
	}
}

// scannedQuery is one query chain found in the Go source.
type scannedQuery struct {
	Site       string
	Collection string // a string literal or a store constant's value; "?" otherwise
	Filters    []fsFilter
	Orders     []fsOrder
}

// TestFirestoreQueriesDeclared scans the non-test Go source of the module
// for Firestore query builders and fails on any that is not declared above.
//
// What it sees: a call chain, in one expression, that starts at a
// .Collection(...) or .CollectionGroup(...) call and goes on with .Where,
// .WherePath, .OrderBy, .OrderByPath or .FindNearest; field names and
// operators given as string literals (firestore.DocumentID as __name__),
// collections as literals or constants of infra/store. What it cannot see:
// whether the chain's receiver really is a Firestore client (any method of
// those names counts), values held in variables (shown as "?", and then only
// the number of filters and orders is compared), and queries built from a
// Query kept in a variable and extended in later statements. For the last
// kind it fails too: any .Where/.OrderBy call whose chain does not start at
// .Collection is reported as a query it cannot read, to be rewritten as one
// chain or declared and excluded here explicitly. Test files are not
// scanned (they run on the emulator, which needs no index).
func TestFirestoreQueriesDeclared(t *testing.T) {
	root := repoRoot(t)
	consts := storeConstants(t, filepath.Join(root, "infra", "store", "store.go"))
	var found []scannedQuery
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		found = append(found, scanFile(t, path, filepath.ToSlash(rel), consts)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 {
		t.Fatal("the scan found no Firestore query at all")
	}
	for _, s := range found {
		if s.Collection == "" {
			t.Errorf("%s: a Firestore query the scan cannot read (not one chain from .Collection): declare it and make it one chain", s.Site)
			continue
		}
		matched := false
		for _, q := range declaredQueries {
			if q.Site == s.Site && sameShape(q, s) {
				matched = true
			}
		}
		if !matched {
			t.Errorf("%s: query on %s with filters %v and orders %v is not declared in declaredQueries (firestore_test.go); declare it so its index is checked", s.Site, s.Collection, s.Filters, s.Orders)
		}
	}
	for _, q := range declaredQueries {
		seen := false
		for _, s := range found {
			seen = seen || s.Site == q.Site
		}
		if !seen {
			t.Errorf("declared query %s on %s is not in the code any more", q.Site, q.Collection)
		}
	}
}

func sameShape(q fsQuery, s scannedQuery) bool {
	if len(q.Filters) != len(s.Filters) || len(q.Orders) != len(s.Orders) {
		return false
	}
	if s.Collection != "?" && s.Collection != q.Collection {
		return false
	}
	for i, f := range s.Filters {
		if (f.Field != "?" && f.Field != q.Filters[i].Field) || (f.Op != "?" && f.Op != q.Filters[i].Op) {
			return false
		}
	}
	for i, o := range s.Orders {
		if (o.Field != "?" && o.Field != q.Orders[i].Field) || (o.Direction != "?" && o.Direction != q.Orders[i].Direction) {
			return false
		}
	}
	return true
}

func storeConstants(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						out[n.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	return out
}

var queryMethods = map[string]bool{"Where": true, "WherePath": true, "OrderBy": true, "OrderByPath": true, "FindNearest": true}

func scanFile(t *testing.T, path, rel string, consts map[string]string) []scannedQuery {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []scannedQuery
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		site := rel + ":" + fn.Name.Name
		inner := map[ast.Node]bool{} // calls that are part of an outer chain
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || inner[call] {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !queryMethods[sel.Sel.Name] {
				return true
			}
			// The outermost query call of a chain: walk down to its start.
			q := scannedQuery{Site: site}
			var steps []*ast.CallExpr
			var x ast.Expr = call
			for {
				c, ok := x.(*ast.CallExpr)
				if !ok {
					break
				}
				s, ok := c.Fun.(*ast.SelectorExpr)
				if !ok {
					break
				}
				inner[c] = true
				if s.Sel.Name == "Collection" || s.Sel.Name == "CollectionGroup" {
					q.Collection = "?"
					if len(c.Args) == 1 {
						q.Collection = literalOrConst(c.Args[0], consts)
					}
					break
				}
				steps = append([]*ast.CallExpr{c}, steps...)
				x = s.X
			}
			for _, c := range steps {
				m := c.Fun.(*ast.SelectorExpr).Sel.Name
				switch {
				case (m == "Where" || m == "WherePath") && len(c.Args) == 3:
					q.Filters = append(q.Filters, fsFilter{literalOrConst(c.Args[0], consts), literalOrConst(c.Args[1], consts)})
				case (m == "OrderBy" || m == "OrderByPath") && len(c.Args) == 2:
					dir := "?"
					if s, ok := c.Args[1].(*ast.SelectorExpr); ok {
						dir = map[string]string{"Asc": "ASCENDING", "Desc": "DESCENDING"}[s.Sel.Name]
					}
					q.Orders = append(q.Orders, fsOrder{literalOrConst(c.Args[0], consts), dir})
				case queryMethods[m]:
					q.Filters = append(q.Filters, fsFilter{"?", m})
				}
			}
			out = append(out, q)
			return true
		})
	}
	return out
}

func literalOrConst(e ast.Expr, consts map[string]string) string {
	switch v := e.(type) {
	case *ast.BasicLit:
		if s, err := strconv.Unquote(v.Value); err == nil {
			return s
		}
	case *ast.Ident:
		if s, ok := consts[v.Name]; ok {
			return s
		}
	case *ast.SelectorExpr:
		if v.Sel.Name == "DocumentID" {
			return "__name__"
		}
		if s, ok := consts[v.Sel.Name]; ok {
			return s
		}
	}
	return "?"
}
