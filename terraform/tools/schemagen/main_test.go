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

// TestParseReadOnly: the computed-only attributes are read by class from
// the generator's comments (the form of @cdktf/provider-google 16.12.1's
// lib/service-account/index.js), the configurable ones left out.
func TestParseReadOnly(t *testing.T) {
	src := `class GoogleServiceAccountTimeoutsOutputReference extends cdktf.ComplexObject {
    get create() {
        return this.getStringAttribute('create');
    }
}
exports.GoogleServiceAccountTimeoutsOutputReference = GoogleServiceAccountTimeoutsOutputReference;
class GoogleServiceAccount extends cdktf.TerraformResource {
    constructor(scope, id, config) {
        // timeouts - computed: false, optional: true, required: false
        this._timeouts = new GoogleServiceAccountTimeoutsOutputReference(this, "timeouts");
    }
    get displayName() {
        return this.getStringAttribute('display_name');
    }
    // email - computed: true, optional: false, required: false
    get email() {
        return this.getStringAttribute('email');
    }
    // unique_id - computed: true, optional: false, required: false
    get uniqueId() {
        return this.getStringAttribute('unique_id');
    }
}
`
	got := parseReadOnly(src)
	want := map[string][]string{
		"GoogleServiceAccountTimeoutsOutputReference": {},
		"GoogleServiceAccount":                        {"email", "unique_id"},
	}
	if len(got) != len(want) {
		t.Fatalf("classes %v, want %v", got, want)
	}
	for class, names := range want {
		if !slices.Equal(got[class], names) {
			t.Errorf("%s: %v, want %v", class, got[class], names)
		}
	}
}

// TestSnapshotHasReadOnly: schema.json keeps the attributes references read
// that no configuration sets, at the top level and in nested blocks, marked
// so; the provider configurations have none.
func TestSnapshotHasReadOnly(t *testing.T) {
	snap, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	g := snap.Providers["google"]
	for _, c := range []struct {
		where string
		b     *schema.Block
		names []string
	}{
		{"google_service_account", g.Resources["google_service_account"], []string{"email", "member", "unique_id"}},
		{"google_cloudfunctions2_function.service_config", &g.Resources["google_cloudfunctions2_function"].Blocks["service_config"].Block, []string{"uri", "gcf_uri"}},
		{"data archive_file", snap.Providers["archive"].DataSources["archive_file"], []string{"output_md5", "output_size"}},
	} {
		for _, name := range c.names {
			if _, ok := c.b.Attributes[name]; !ok {
				t.Errorf("%s has no attribute %s", c.where, name)
			}
		}
	}
	if a := g.Resources["google_service_account"].Attributes; !a["email"].ReadOnly || a["account_id"].ReadOnly {
		t.Errorf("google_service_account: email read-only %v (want true), account_id %v (want false)", a["email"].ReadOnly, a["account_id"].ReadOnly)
	}
	for name, p := range snap.Providers {
		for attr, a := range p.Config.Attributes {
			if a.ReadOnly {
				t.Errorf("provider %s: configuration attribute %s is read-only", name, attr)
			}
		}
	}
}
