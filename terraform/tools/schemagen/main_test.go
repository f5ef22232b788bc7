package main

import (
	"maps"
	"slices"
	"testing"

	"github.com/tigerstudio/studio/terraform/schema"
)

// TestUsedTypesMatchSnapshot: the types schemagen would keep, read from
// the two roots and the local modules they call, are exactly the types
// schema.json holds, so `make terraform-schema` reproduces the committed
// snapshot's types (a module's resources once went missing from it).
func TestUsedTypesMatchSnapshot(t *testing.T) {
	used, err := usedTypes([]string{"../..", "../../project"})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range snap.Providers {
		n := used[name]
		if n == nil {
			n = &needs{}
		}
		for _, c := range []struct {
			kind       string
			used, have []string
		}{
			{"resources", slices.Sorted(maps.Keys(n.resources)), slices.Sorted(maps.Keys(p.Resources))},
			{"data sources", slices.Sorted(maps.Keys(n.data)), slices.Sorted(maps.Keys(p.DataSources))},
		} {
			if !slices.Equal(c.used, c.have) {
				t.Errorf("%s %s: the stack uses %v, schema.json holds %v", name, c.kind, c.used, c.have)
			}
		}
	}
	for name := range used {
		if snap.Providers[name] == nil {
			t.Errorf("the stack uses provider %q, which schema.json lacks", name)
		}
	}
}

// TestUsedTypesFollowsLocalModules: a resource declared only in a module
// counts.
func TestUsedTypesFollowsLocalModules(t *testing.T) {
	used, err := usedTypes([]string{"../.."})
	if err != nil {
		t.Fatal(err)
	}
	g := used["google"]
	if g == nil {
		t.Fatal("no google types")
	}
	for _, typ := range []string{
		"google_cloudfunctions2_function",                // modules/go-function
		"google_artifact_registry_repository_iam_member", // modules/function-builder
	} {
		if !g.resources[typ] {
			t.Errorf("%s (declared in a module) is not among the used types", typ)
		}
	}
}
