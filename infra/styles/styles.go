// Package styles is the one source of the style catalogue: the Gateway lists
// it and validates requests against it, the worker builds each style's
// pipeline of steps from it.
//
// The catalogue file is either a JSON list of styles, or an object
//
//	{"models": {"name": {...}, ...}, "styles": [...]}
//
// whose models (ONNX networks with their files, checksums and tensor layout)
// steps refer to by name, so one network serves several styles and an
// operator swaps a model in one place.
package styles

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"regexp"
	"strings"
	"time"
)

//go:embed styles.json
var builtinCatalogue []byte

// previews holds the committed example outputs, one per style of the
// built-in catalogue (go run ./worker/cmd/previews renders them).
//
//go:embed previews
var previews embed.FS

// Style is one entry of the catalogue.
type Style struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Localized holds the name and description in other languages, by
	// language code ("ko"); the app falls back to Name and Description
	// where one is missing.
	Localized map[string]Text `json:"localized,omitempty"`
	// Preview is an example output: a file name under previews/, or an
	// https URL an operator hosts.
	Preview string `json:"preview,omitempty"`
	// Backend and Model are recorded on each response: what ran, and which
	// version of the style. Backend defaults to "pipeline".
	Backend string `json:"backend,omitempty"`
	Model   string `json:"model"`
	// Params is the parameter set of a one-step style written in the older
	// form (backend builtin or onnx, no steps); Parse turns it into Steps.
	Params map[string]any `json:"params,omitempty"`
	// Steps run in order on one shared image (see worker/generate).
	Steps []Step `json:"steps,omitempty"`
	// Generated describes the hosted model that draws the style: set when,
	// and only when, the style has a generate step, so nothing sends a
	// photo to a third party or costs money without saying so.
	Generated *Generated `json:"generated,omitempty"`
}

// Text is a style's name and description in one language.
type Text struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Untranslated lists the ids of the styles without a name and description
// in lang, in catalogue order.
func (c *Catalogue) Untranslated(lang string) []string {
	var ids []string
	for _, s := range c.list {
		if t, ok := s.Localized[lang]; !ok || t.Name == "" || t.Description == "" {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// Generated says who draws a generated style and what one image costs.
type Generated struct {
	// Processor names the service the photo is sent to, as the consent
	// screen shows it: "Google Vertex AI".
	Processor string `json:"processor"`
	// Model is the hosted model the price is for; a generate step that
	// names its own model must name this one.
	Model string `json:"model"`
	// PriceUSD is the list price of one generated image in US dollars.
	PriceUSD float64 `json:"priceUSD"`
	// PriceAsOf is the date (YYYY-MM-DD) the list price was read: prices
	// change, and a stale one should show its age.
	PriceAsOf string `json:"priceAsOf"`
}

// StepGenerate is the kind of the step that sends the framed photo and a
// prompt to a hosted image model (worker/generate/vertex).
const StepGenerate = "generate"

// IsGenerated reports whether a hosted model draws the style.
func (s Style) IsGenerated() bool { return s.Generated != nil }

// Step is one stage of a style's pipeline: its kind and parameters, written
// flat in JSON as {"step": "matte", "model": "isnet-small"}.
type Step struct {
	Kind   string
	Params map[string]any
}

// UnmarshalJSON reads the flat form.
func (s *Step) UnmarshalJSON(data []byte) error {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return err
	}
	kind, _ := m["step"].(string)
	if kind == "" {
		return errors.New(`a step needs "step": its kind`)
	}
	delete(m, "step")
	*s = Step{Kind: kind, Params: normaliseNumbers(m).(map[string]any)}
	return nil
}

// MarshalJSON writes the flat form.
func (s Step) MarshalJSON() ([]byte, error) {
	m := maps.Clone(s.Params)
	if m == nil {
		m = map[string]any{}
	}
	m["step"] = s.Kind
	return json.Marshal(m)
}

// normaliseNumbers turns json.Number into float64, the type
// encoding/json gives every other catalogue number.
func normaliseNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normaliseNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normaliseNumbers(e)
		}
	}
	return v
}

// Catalogue is the set of styles a deployment offers, in display order, and
// the models their steps use.
type Catalogue struct {
	list   []Style
	byID   map[string]Style
	models map[string]map[string]any
}

// Load reads the catalogue from path, or the built-in one when path is empty.
func Load(path string) (*Catalogue, error) {
	data := builtinCatalogue
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("styles.Load: %w", err)
		}
	}
	return Parse(data)
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// Parse decodes and checks a catalogue.
func Parse(data []byte) (*Catalogue, error) {
	var file struct {
		Models map[string]map[string]any `json:"models"`
		Styles []Style                   `json:"styles"`
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(data, &file.Styles); err != nil {
			return nil, fmt.Errorf("styles.Parse: %w", err)
		}
	} else if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("styles.Parse: %w", err)
	}
	c := &Catalogue{list: file.Styles, byID: make(map[string]Style, len(file.Styles)), models: file.Models}
	var errs []error
	if len(c.list) == 0 {
		errs = append(errs, errors.New("no styles"))
	}
	for i := range c.list {
		s := &c.list[i]
		if err := s.normalise(); err != nil {
			errs = append(errs, fmt.Errorf("style %d (%q): %w", i, s.ID, err))
		}
		for j, st := range s.Steps {
			// A generate step's model is a hosted model's name, not one
			// of the catalogue's networks.
			if st.Kind == StepGenerate {
				continue
			}
			if name, ok := st.Params["model"].(string); ok {
				if _, known := c.models[name]; !known {
					errs = append(errs, fmt.Errorf("style %q step %d (%s): model %q is not in the catalogue's models", s.ID, j, st.Kind, name))
				}
			}
		}
		if _, dup := c.byID[s.ID]; dup {
			errs = append(errs, fmt.Errorf("style %q listed twice", s.ID))
		}
		c.byID[s.ID] = *s
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("styles.Parse: %w", err)
	}
	return c, nil
}

// normalise checks a style and turns the older one-step form into Steps.
func (s *Style) normalise() error {
	if s.ID == "" || s.Name == "" || s.Model == "" {
		return errors.New("id, name and model are required")
	}
	if !idPattern.MatchString(s.ID) {
		return fmt.Errorf("id %q: want lower-case letters, digits and dashes", s.ID)
	}
	switch {
	case len(s.Steps) > 0 && len(s.Params) > 0:
		return errors.New("params belong to a step: a style with steps has none of its own")
	case len(s.Steps) > 0:
	case s.Backend == "builtin":
		steps, err := legacyBuiltin(s.Model, s.Params)
		if err != nil {
			return err
		}
		s.Steps = steps
	case s.Backend == "onnx":
		s.Steps = []Step{{Kind: "model", Params: maps.Clone(s.Params)}}
	default:
		return fmt.Errorf("no steps, and backend %q has no one-step form (want builtin or onnx)", s.Backend)
	}
	if s.Backend == "" {
		s.Backend = "pipeline"
	}
	s.Params = nil
	return s.checkGenerated()
}

// checkGenerated keeps a generated style honest: one generate step, behind
// the face gate and the crop (a photo without a face never costs a call,
// and the model sees the framed face), with a prompt, and a declared
// processor and price; a style without a generate step declares neither.
func (s *Style) checkGenerated() error {
	at := -1
	face, crop := false, false
	for i, st := range s.Steps {
		switch st.Kind {
		case "detect-face":
			face = face || at < 0
		case "crop":
			crop = crop || at < 0
		case StepGenerate:
			if at >= 0 {
				return fmt.Errorf("steps %d and %d: one generate step per style (its price is per image)", at, i)
			}
			at = i
		}
	}
	if at < 0 {
		if s.Generated != nil {
			return errors.New(`"generated" describes a hosted model, but the style has no generate step`)
		}
		return nil
	}
	g := s.Generated
	if g == nil {
		return fmt.Errorf(`step %d (generate): the style must declare "generated": {"processor", "model", "priceUSD", "priceAsOf"}`, at)
	}
	var errs []error
	if !face || !crop {
		errs = append(errs, fmt.Errorf("step %d (generate): put detect-face and crop before it, so a photo without a face never costs a call", at))
	}
	if p, _ := s.Steps[at].Params["prompt"].(string); strings.TrimSpace(p) == "" {
		errs = append(errs, fmt.Errorf(`step %d (generate): "prompt" is required`, at))
	}
	if m, ok := s.Steps[at].Params["model"]; ok && m != g.Model {
		errs = append(errs, fmt.Errorf(`step %d (generate): model %v differs from generated.model %q, whose price is declared`, at, m, g.Model))
	}
	if strings.TrimSpace(g.Processor) == "" || strings.TrimSpace(g.Model) == "" {
		errs = append(errs, errors.New("generated: processor and model are required"))
	}
	if !(g.PriceUSD > 0) || math.IsInf(g.PriceUSD, 0) {
		errs = append(errs, fmt.Errorf("generated: priceUSD %v must be a positive price per image", g.PriceUSD))
	}
	if _, err := time.Parse(time.DateOnly, g.PriceAsOf); err != nil {
		errs = append(errs, fmt.Errorf("generated: priceAsOf %q: want the date the price was read, YYYY-MM-DD", g.PriceAsOf))
	}
	return errors.Join(errs...)
}

// legacyBuiltin maps the builtin backend's models to their filter steps.
func legacyBuiltin(model string, p map[string]any) ([]Step, error) {
	pick := func(keys ...string) map[string]any {
		out := map[string]any{}
		for _, k := range keys {
			if v, ok := p[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	switch {
	case strings.HasPrefix(model, "sketch"):
		return []Step{{Kind: "sketch", Params: pick("blur", "paper", "strength")}}, nil
	case strings.HasPrefix(model, "watercolour"):
		return []Step{{Kind: "watercolour", Params: pick("levels", "smooth", "edge")}}, nil
	case strings.HasPrefix(model, "studio"):
		frame := map[string]any{}
		if v, ok := p["frame"]; ok {
			frame["width"] = v
		}
		if v, ok := p["backdrop"]; ok {
			frame["colour"] = v
		}
		return []Step{{Kind: "grade", Params: pick("warmth", "contrast")}, {Kind: "frame", Params: frame}}, nil
	}
	return nil, fmt.Errorf("builtin backend has no model %q", model)
}

// Lookup finds a style by id.
func (c *Catalogue) Lookup(id string) (Style, bool) {
	s, ok := c.byID[id]
	return s, ok
}

// All returns the styles in catalogue order.
func (c *Catalogue) All() []Style {
	return append([]Style(nil), c.list...)
}

// WithoutGenerated returns the catalogue less its generated styles: what a
// deployment offers with generated styles turned off.
func (c *Catalogue) WithoutGenerated() (*Catalogue, error) {
	out := &Catalogue{byID: map[string]Style{}, models: c.models}
	for _, s := range c.list {
		if !s.IsGenerated() {
			out.list = append(out.list, s)
			out.byID[s.ID] = s
		}
	}
	if len(out.list) == 0 {
		return nil, errors.New("styles.WithoutGenerated: every style is generated, none would be left")
	}
	return out, nil
}

// Model returns the parameters of a named model.
func (c *Catalogue) Model(name string) (map[string]any, bool) {
	m, ok := c.models[name]
	return maps.Clone(m), ok
}

// Preview returns the committed example output of a style, when its preview
// is a file of the built-in previews folder.
func Preview(name string) ([]byte, error) {
	if name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("styles.Preview %q: %w", name, fs.ErrNotExist)
	}
	data, err := previews.ReadFile("previews/" + name)
	if err != nil {
		return nil, fmt.Errorf("styles.Preview: %w", err)
	}
	return data, nil
}
