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
		{"generate without generated", generatedStyle(`{"step":"generate","prompt":"p"}`, ``), `must declare "generated"`},
		{"generated without generate", `[{"id":"a","name":"A","model":"m","generated":` + genOK + `,"steps":[{"step":"grade"}]}]`, "no generate step"},
		{"generate before the face gate", `[{"id":"a","name":"A","model":"m","generated":` + genOK + `,"steps":[{"step":"generate","prompt":"p"},{"step":"detect-face"},{"step":"crop"}]}]`, "before it"},
		{"generate without crop", `[{"id":"a","name":"A","model":"m","generated":` + genOK + `,"steps":[{"step":"detect-face"},{"step":"generate","prompt":"p"}]}]`, "crop before it"},
		{"two generate steps", generatedStyle(`{"step":"generate","prompt":"p"},{"step":"generate","prompt":"q"}`, genOK), "one generate step"},
		{"no prompt", generatedStyle(`{"step":"generate"}`, genOK), `"prompt" is required`},
		{"blank prompt", generatedStyle(`{"step":"generate","prompt":"  "}`, genOK), `"prompt" is required`},
		{"model not the priced one", generatedStyle(`{"step":"generate","prompt":"p","model":"imagen-x"}`, genOK), "imagen-x"},
		{"no processor", generatedStyle(`{"step":"generate","prompt":"p"}`, `{"model":"g","priceUSD":0.039,"priceAsOf":"2026-12-07"}`), "processor and model"},
		{"no price", generatedStyle(`{"step":"generate","prompt":"p"}`, `{"processor":"P","model":"g","priceAsOf":"2026-12-07"}`), "priceUSD"},
		{"negative price", generatedStyle(`{"step":"generate","prompt":"p"}`, `{"processor":"P","model":"g","priceUSD":-1,"priceAsOf":"2026-12-07"}`), "priceUSD"},
		{"undated price", generatedStyle(`{"step":"generate","prompt":"p"}`, `{"processor":"P","model":"g","priceUSD":0.039}`), "priceAsOf"},
		{"price date not a date", generatedStyle(`{"step":"generate","prompt":"p"}`, `{"processor":"P","model":"g","priceUSD":0.039,"priceAsOf":"Dec 2026"}`), "priceAsOf"},
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

const genOK = `{"processor":"Google Vertex AI","model":"g","priceUSD":0.039,"priceAsOf":"2026-12-07"}`

// generatedStyle is a one-style catalogue with the face gate and crop
// before the given steps, and generated set to gen (none when empty).
func generatedStyle(steps, gen string) string {
	g := ""
	if gen != "" {
		g = `,"generated":` + gen
	}
	return `[{"id":"a","name":"A","model":"m"` + g + `,"steps":[{"step":"detect-face"},{"step":"crop"},` + steps + `]}]`
}

// The built-in catalogue's generated styles: the ones the issue names, each
// behind the face gate and crop, asking the model to keep the person, with
// their processor and a dated price; the filter styles stay local.
func TestGeneratedStyles(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	var generated []string
	for _, s := range c.All() {
		if !s.IsGenerated() {
			for _, st := range s.Steps {
				if st.Kind == StepGenerate {
					t.Errorf("local style %q has a generate step", s.ID)
				}
			}
			continue
		}
		generated = append(generated, s.ID)
		g := s.Generated
		if g.Processor != "Google Vertex AI" || g.Model != "gemini-2.5-flash-image" || g.PriceUSD != 0.039 {
			t.Errorf("style %q generated = %+v", s.ID, *g)
		}
		var prompt string
		for _, st := range s.Steps {
			if st.Kind == StepGenerate {
				prompt, _ = st.Params["prompt"].(string)
			}
		}
		for _, want := range []string{"recognisable", "face", "identity"} {
			if !strings.Contains(prompt, want) {
				t.Errorf("style %q prompt does not ask to keep the person (%q): %s", s.ID, want, prompt)
			}
		}
	}
	if got := strings.Join(generated, ","); got != "anime,oil,business,hanbok" {
		t.Errorf("generated styles %s", got)
	}
	for _, id := range []string{"headshot", "bokeh", "sketch", "watercolour", "studio"} {
		if s, ok := c.Lookup(id); !ok || s.IsGenerated() {
			t.Errorf("filter style %q missing or generated", id)
		}
	}
	// A later step may follow the generated image.
	if oil, _ := c.Lookup("oil"); oil.Steps[len(oil.Steps)-1].Kind != "frame" {
		t.Errorf("oil ends with %q, want frame", oil.Steps[len(oil.Steps)-1].Kind)
	}
}

func TestWithoutGenerated(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	local, err := c.WithoutGenerated()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range local.All() {
		ids = append(ids, s.ID)
	}
	if got := strings.Join(ids, ","); got != "headshot,bokeh,sketch,watercolour,studio" {
		t.Errorf("local styles %s", got)
	}
	if _, ok := local.Lookup("anime"); ok {
		t.Error("Lookup found a generated style in the local catalogue")
	}
	if _, ok := local.Model("blazeface"); !ok {
		t.Error("the local catalogue lost its models")
	}
	only, err := Parse([]byte(generatedStyle(`{"step":"generate","prompt":"p"}`, genOK)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := only.WithoutGenerated(); err == nil {
		t.Error("a catalogue of generated styles only left an empty one")
	}
}

func TestPreviewRefusesPaths(t *testing.T) {
	for _, name := range []string{"", "../styles.json", "nope.jpg"} {
		if _, err := Preview(name); err == nil {
			t.Errorf("Preview(%q) succeeded", name)
		}
	}
}

// TestTranslated: every built-in style has its Korean name and description
// (the app falls back to English for a style without, e.g. an operator's
// own catalogue); a style added without them is named here.
func TestTranslated(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if ids := c.Untranslated("ko"); len(ids) > 0 {
		t.Errorf("styles without a Korean name and description (localized.ko in styles.json): %s", strings.Join(ids, ", "))
	}
	// The check itself: a style without a translation is listed.
	bare, err := Parse([]byte(`[{"id": "x", "name": "X", "description": "An x.", "model": "x-v1", "backend": "onnx", "params": {}},
		{"id": "y", "name": "Y", "description": "A y.", "model": "y-v1", "backend": "onnx", "params": {}, "localized": {"ko": {"name": "와이", "description": "와이."}}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := bare.Untranslated("ko"); len(got) != 1 || got[0] != "x" {
		t.Errorf("Untranslated = %v, want [x]", got)
	}
}
