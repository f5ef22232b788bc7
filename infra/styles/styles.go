// Package styles is the one source of the style catalogue: the Gateway lists
// it and validates requests against it, the worker reads each style's backend,
// model and parameters from it.
package styles

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

//go:embed styles.json
var builtinCatalogue []byte

// Style is one entry of the catalogue.
type Style struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Backend     string         `json:"backend"`
	Model       string         `json:"model"`
	Params      map[string]any `json:"params,omitempty"`
}

// Catalogue is the set of styles a deployment offers, in display order.
type Catalogue struct {
	list []Style
	byID map[string]Style
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

// Parse decodes and checks a catalogue.
func Parse(data []byte) (*Catalogue, error) {
	var list []Style
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("styles.Parse: %w", err)
	}
	c := &Catalogue{list: list, byID: make(map[string]Style, len(list))}
	var errs []error
	if len(list) == 0 {
		errs = append(errs, errors.New("no styles"))
	}
	for i, s := range list {
		if s.ID == "" || s.Name == "" || s.Backend == "" || s.Model == "" {
			errs = append(errs, fmt.Errorf("style %d (%q): id, name, backend and model are required", i, s.ID))
		}
		if _, dup := c.byID[s.ID]; dup {
			errs = append(errs, fmt.Errorf("style %q listed twice", s.ID))
		}
		c.byID[s.ID] = s
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("styles.Parse: %w", err)
	}
	return c, nil
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
