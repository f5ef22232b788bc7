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

// TestParseJSTypes: each attrs entry's isBlock and type are read (the form
// of @cdktf/provider-google 16.12.1's lib/compute-firewall/index.js), and
// turned into the Terraform type; a kind schemagen does not know stops it.
func TestParseJSTypes(t *testing.T) {
	src := `function computeFirewallAllowToHclTerraform(struct) {
    const attrs = {
        ports: {
            value: cdktf.listMapperHcl(cdktf.stringToHclTerraform, false)(struct.ports),
            isBlock: false,
            type: "list",
            storageClassType: "stringList",
        },
        protocol: {
            value: cdktf.stringToHclTerraform(struct.protocol),
            isBlock: false,
            type: "simple",
            storageClassType: "string",
        },
    };
`
	got := parseJS(src)["ComputeFirewallAllow"]
	want := map[string]string{"ports": "list(string)", "protocol": "string"}
	for name, typ := range want {
		f, ok := got[name]
		if !ok || f.block {
			t.Fatalf("%s: %+v, want an attribute", name, f)
		}
		if s, err := attrType(f); s != typ || err != nil {
			t.Errorf("%s: type %q (%v), want %q", name, s, err, typ)
		}
	}
	for f, typ := range map[jsField]string{
		{kind: "simple", storage: "boolean"}:  "bool",
		{kind: "set", storage: "stringList"}:  "set(string)",
		{kind: "map", storage: "stringMap"}:   "map(string)",
		{kind: "list", storage: "numberList"}: "list(number)",
		{kind: "struct", storage: "X"}:        "",
		{kind: "list", storage: "XList"}:      "",
	} {
		if s, err := attrType(f); s != typ || (err != nil) != (typ == "") {
			t.Errorf("%+v: %q (%v), want %q", f, s, err, typ)
		}
	}
}

// TestSnapshotHasTypes: every argument a configuration sets has a type in
// schema.json and ephemeral.json (the read-only ones none).
func TestSnapshotHasTypes(t *testing.T) {
	snap, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(where string, b *schema.Block)
	walk = func(where string, b *schema.Block) {
		for name, a := range b.Attributes {
			if (a.Type == "") != a.ReadOnly {
				t.Errorf("%s.%s: type %q, read-only %v", where, name, a.Type, a.ReadOnly)
			}
			n++
		}
		for name, nb := range b.Blocks {
			walk(where+"."+name, &nb.Block)
		}
	}
	for pn, p := range snap.Providers {
		walk(pn, p.Config)
		for _, m := range []map[string]*schema.Block{p.Resources, p.DataSources, p.Ephemeral} {
			for typ, b := range m {
				walk(typ, b)
			}
		}
	}
	if n < 1000 {
		t.Errorf("only %d attributes", n)
	}
	g := snap.Providers["google"].Resources
	if typ := g["google_compute_firewall"].Blocks["allow"].Attributes["ports"].Type; typ != "list(string)" {
		t.Errorf("google_compute_firewall allow.ports: %q", typ)
	}
	if typ := snap.Providers["random"].Ephemeral["random_password"].Attributes["length"].Type; typ != "number" {
		t.Errorf("ephemeral random_password length: %q", typ)
	}
}
