package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The operator's tool writes Firestore only through admindb (issue 21): no
// transaction, batch or bulk writer, and no Set/Update/Create/Delete on a
// document, in its own code. Reads, Storage and Auth are its own business.
func TestFirestoreWritesOnlyThroughAdminDB(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch sel.Sel.Name {
			case "RunTransaction", "BulkWriter", "Batch":
				t.Errorf("%s: %s writes Firestore outside admindb", fset.Position(call.Pos()), sel.Sel.Name)
			case "Set", "Update", "Create", "Delete":
				if inner, ok := sel.X.(*ast.CallExpr); ok {
					if s, ok := inner.Fun.(*ast.SelectorExpr); ok && s.Sel.Name == "Doc" {
						t.Errorf("%s: a document's %s outside admindb", fset.Position(call.Pos()), sel.Sel.Name)
					}
				}
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("only %d files checked: wrong directory?", checked)
	}
}
