package pipeline

import (
	"bytes"
	"testing"

	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/imaging"
	"github.com/tigerstudio/studio/worker/internal/par"
)

// TestStylesOnEveryCoreAreIdentical: each local style of the catalogue
// makes the same image of the astronaut with the pixel work shared over
// the cores (the worker's pool in the job's context) as on one goroutine.
func TestStylesOnEveryCoreAreIdentical(t *testing.T) {
	rt := realRuntime(t, "")
	cat := builtinCatalogue(t)
	img, err := imaging.Decode(samples.Astronaut())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cat.All() {
		if remote(s) {
			continue
		}
		t.Run(s.ID, func(t *testing.T) {
			p, err := build(t.Context(), cat, Deps{Runtime: rt}, s)
			if err != nil {
				t.Fatal(err)
			}
			one, err := p.Run(t.Context(), img)
			if err != nil {
				t.Fatal(err)
			}
			many, err := p.Run(par.With(t.Context(), par.NewPool(4)), img)
			if err != nil {
				t.Fatal(err)
			}
			a, b := generate.NewFrame(one.Images[0]).Image, generate.NewFrame(many.Images[0]).Image
			if a.Rect != b.Rect || !bytes.Equal(a.Pix, b.Pix) {
				t.Error("the image made on 4 cores differs from the one made on one")
			}
		})
	}
}

// remote reports whether a style calls a hosted model (not run here).
func remote(s styles.Style) bool {
	for _, st := range s.Steps {
		if st.Kind == styles.StepGenerate {
			return true
		}
	}
	return false
}
