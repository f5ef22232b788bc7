// Package schema holds the committed snapshot of the Terraform provider
// schemas that ../schema_test.go checks every block of the stack against:
// for each provider the stack pins (packages.json), its configuration block
// and the resource and data source types the stack uses, reduced to what a
// configuration can be wrong about (names, attribute or block, nesting,
// required, read only, an argument's type). make terraform-schema regenerates schema.json from the
// providers' published schemas (../tools/schemagen); ephemeral.json is written
// by hand, because those packages carry no ephemeral resources.
package schema

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed schema.json
var snapshotJSON []byte

//go:embed ephemeral.json
var ephemeralJSON []byte

//go:embed packages.json
var packagesJSON []byte

// Snapshot is schema.json: the providers by their local name in
// required_providers (google, google-beta, time, random, archive).
type Snapshot struct {
	Providers map[string]*Provider `json:"providers"`
}

// Provider is one provider at one exact version.
type Provider struct {
	Source  string `json:"source"`  // hashicorp/google
	Version string `json:"version"` // the provider version the package was generated from
	Package string `json:"package"` // @cdktf/provider-google@16.12.1

	Config      *Block            `json:"config"`
	Resources   map[string]*Block `json:"resources"`
	DataSources map[string]*Block `json:"data_sources"`
	// Ephemeral comes from ephemeral.json, not from the packages.
	Ephemeral map[string]*Block `json:"ephemeral,omitempty"`
}

// Block is the body of a resource, data source, provider or nested block:
// what may be written in it as name = value, and what as name { ... }.
type Block struct {
	Attributes map[string]Attribute `json:"attributes,omitempty"`
	Blocks     map[string]*Nested   `json:"blocks,omitempty"`
}

// Attribute is an argument written name = value (maps and objects too), or
// one the provider alone sets, which a configuration may only read.
type Attribute struct {
	Required bool `json:"required,omitempty"`
	// ReadOnly: computed only (email, uri, output_md5), never written;
	// references to the resource may name it.
	ReadOnly bool `json:"read_only,omitempty"`
	// Type is the value's type as a Terraform type expression (string,
	// number, bool, list(string), set(string), map(string)...), what
	// terraform validate converts the value to; "" for a read-only one.
	Type string `json:"type,omitempty"`
}

// Nested is a nested block type: required when the provider needs at least
// one, MaxOne when it takes at most one (a list with max_items 1 or a
// single nested block).
type Nested struct {
	Required bool `json:"required,omitempty"`
	MaxOne   bool `json:"max_one,omitempty"`
	Block
}

// Package is one entry of packages.json: a pinned provider and the package
// its schema is taken from.
type Package struct {
	Name           string `json:"name"`    // local name in required_providers
	Source         string `json:"source"`  // hashicorp/google
	Version        string `json:"version"` // exact provider version
	Package        string `json:"package"` // npm package
	PackageVersion string `json:"package_version"`
	Integrity      string `json:"integrity"` // npm dist.integrity (sha512-BASE64)
}

// Packages returns packages.json.
func Packages() ([]Package, error) {
	var p struct {
		Providers []Package `json:"providers"`
	}
	if err := json.Unmarshal(packagesJSON, &p); err != nil {
		return nil, fmt.Errorf("packages.json: %w", err)
	}
	return p.Providers, nil
}

// Load returns schema.json with ephemeral.json merged in.
func Load() (*Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(snapshotJSON, &s); err != nil {
		return nil, fmt.Errorf("schema.json: %w", err)
	}
	var eph map[string]json.RawMessage
	if err := json.Unmarshal(ephemeralJSON, &eph); err != nil {
		return nil, fmt.Errorf("ephemeral.json: %w", err)
	}
	for name, raw := range eph {
		if name == "comment" {
			continue
		}
		p, ok := s.Providers[name]
		if !ok {
			return nil, fmt.Errorf("ephemeral.json: provider %q is not in schema.json", name)
		}
		if err := json.Unmarshal(raw, &p.Ephemeral); err != nil {
			return nil, fmt.Errorf("ephemeral.json %s: %w", name, err)
		}
	}
	return &s, nil
}
