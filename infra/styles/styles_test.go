package styles

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBuiltinCatalogue(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, id := range []string{"headshot", "bokeh", "sketch", "watercolour"} {
		s, ok := c.Lookup(id)
		if !ok {
			t.Fatalf("style %q missing", id)
		}
		// Every AI style passes the face gate first.
		if len(s.Steps) == 0 || s.Steps[0].Kind != "detect-face" {
			t.Errorf("style %q does not start with detect-face: %+v", id, s.Steps)
		}
		if s.Backend != "pipeline" {
			t.Errorf("style %q backend %q, want pipeline", id, s.Backend)
		}
	}
	for _, s := range c.All() {
		if _, err := Preview(s.Preview); err != nil {
			t.Errorf("style %q: preview %q: %v (go run ./worker/cmd/previews renders them)", s.ID, s.Preview, err)
		}
	}
	if _, ok := c.Model("isnet-small"); !ok {
		t.Error("model isnet-small missing")
	}
	if _, ok := c.Lookup("nope"); ok {
		t.Error("Lookup found an unknown style")
	}
}

// The one-step form of the first catalogues (a list, backend builtin or
// onnx with params) keeps working as pipelines.
func TestLegacyStyles(t *testing.T) {
	c, err := Parse([]byte(`[
	  {"id":"s","name":"S","backend":"builtin","model":"sketch-v1","params":{"blur":8}},
	  {"id":"p","name":"P","backend":"builtin","model":"studio-v1","params":{"warmth":0.1,"frame":0.05,"backdrop":"#000000"}},
	  {"id":"n","name":"N","backend":"onnx","model":"m","params":{"file":"m.onnx","sha256":"00","tile":128}}]`))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		"s": `[{"blur":8,"step":"sketch"}]`,
		"p": `[{"step":"grade","warmth":0.1},{"colour":"#000000","step":"frame","width":0.05}]`,
		"n": `[{"file":"m.onnx","sha256":"00","step":"model","tile":128}]`,
	} {
		s, _ := c.Lookup(id)
		got, _ := json.Marshal(s.Steps)
		if string(got) != want {
			t.Errorf("style %s steps %s, want %s", id, got, want)
		}
		if s.Params != nil {
			t.Errorf("style %s keeps params %v beside its steps", id, s.Params)
		}
	}
}

func TestStepJSON(t *testing.T) {
	var s Step
	if err := json.Unmarshal([]byte(`{"step":"crop","size":1024,"aspect":"4:5"}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.Kind != "crop" || s.Params["size"] != 1024.0 || s.Params["aspect"] != "4:5" || len(s.Params) != 2 {
		t.Errorf("parsed %+v", s)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not json", `{`, "unexpected"},
		{"empty", `[]`, "no styles"},
		{"empty object", `{"styles":[]}`, "no styles"},
		{"missing fields", `[{"id":"a"}]`, "required"},
		{"bad id", `[{"id":"A b","name":"A","model":"m","steps":[{"step":"grade"}]}]`, "lower-case"},
		{"duplicate", `[{"id":"a","name":"A","backend":"builtin","model":"sketch"},{"id":"a","name":"A","backend":"builtin","model":"sketch"}]`, "twice"},
		{"step without kind", `[{"id":"a","name":"A","model":"m","steps":[{"size":3}]}]`, `"step"`},
		{"no steps, unknown backend", `[{"id":"a","name":"A","backend":"b","model":"m"}]`, "backend"},
		{"unknown builtin model", `[{"id":"a","name":"A","backend":"builtin","model":"cubism"}]`, "cubism"},
		{"steps and params", `[{"id":"a","name":"A","model":"m","params":{"x":1},"steps":[{"step":"grade"}]}]`, "params belong"},
		{"unknown model", `{"styles":[{"id":"a","name":"A","model":"m","steps":[{"step":"matte","model":"u2net"}]}]}`, "u2net"},
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

func TestPreviewRefusesPaths(t *testing.T) {
	for _, name := range []string{"", "../styles.json", "nope.jpg"} {
		if _, err := Preview(name); err == nil {
			t.Errorf("Preview(%q) succeeded", name)
		}
	}
}
