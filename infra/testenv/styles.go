package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// FilterCatalogue is a style catalogue of pure-Go filters only, under the ids
// the queue and API tests submit ("sketch", "watercolour", "studio"): those
// tests exercise the worker's queueing and bookkeeping, not generation, so
// they need no face in their synthetic photos and no model on the machine.
// The AI styles are tested where they run (worker/generate/...).
const FilterCatalogue = `[
  {"id": "sketch", "name": "Pencil sketch (filter)", "description": "colour-dodge sketch", "model": "sketch-filter",
   "steps": [{"step": "sketch", "blur": 8, "paper": "#f4efe4", "strength": 1.3}]},
  {"id": "watercolour", "name": "Watercolour (filter)", "description": "flat washes", "model": "watercolour-filter",
   "steps": [{"step": "watercolour", "levels": 7, "smooth": 3, "edge": 0.5}]},
  {"id": "studio", "name": "Classic print", "description": "grade and frame", "model": "studio-v1",
   "steps": [{"step": "grade", "warmth": 0.12, "contrast": 1.15, "vignette": 0.25}, {"step": "frame", "width": 0.06, "colour": "#1f2a44"}]}
]`

// FilterCatalogueFile writes FilterCatalogue to a file of the test's and
// returns its path, for STYLES_FILE.
func FilterCatalogueFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "filters.json")
	if err := os.WriteFile(path, []byte(FilterCatalogue), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
