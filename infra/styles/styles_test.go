package styles

import (
	"strings"
	"testing"
)

func TestBuiltinCatalogue(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, id := range []string{"sketch", "watercolour", "studio"} {
		s, ok := c.Lookup(id)
		if !ok {
			t.Fatalf("style %q missing", id)
		}
		if s.Backend != "builtin" {
			t.Errorf("style %q backend = %q, want builtin (the demo needs no model file)", id, s.Backend)
		}
	}
	if _, ok := c.Lookup("nope"); ok {
		t.Error("Lookup found an unknown style")
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not json", `{`, "unexpected"},
		{"empty", `[]`, "no styles"},
		{"missing fields", `[{"id":"a"}]`, "required"},
		{"duplicate", `[{"id":"a","name":"A","backend":"b","model":"m"},{"id":"a","name":"A","backend":"b","model":"m"}]`, "twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
