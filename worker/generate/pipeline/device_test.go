package pipeline

import (
	"context"
	"sync"
	"testing"

	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/imaging"
)

// countingDevice is a generate.Device that counts the turns taken.
type countingDevice struct {
	mu    sync.Mutex
	turns int
}

func (d *countingDevice) Run(ctx context.Context, run func(ctx context.Context) error) error {
	d.mu.Lock()
	d.turns++
	d.mu.Unlock()
	return run(ctx)
}

// TestOnlyModelRunsTakeTheDevice: each local style of the catalogue, run
// on the astronaut, takes exactly one device turn per network step
// (detect-face, matte and an untiled model step run their session once) and
// none for its pure-Go steps, so a filter, backdrop or crop never holds the
// GPU.
func TestOnlyModelRunsTakeTheDevice(t *testing.T) {
	rt := realRuntime(t, "")
	cat := builtinCatalogue(t)
	img, err := imaging.Decode(samples.Astronaut())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cat.All() {
		if remote(s) {
			continue // needs Vertex AI; its wait is no model run either
		}
		want := 0
		for _, st := range s.Steps {
			if isModelStep(st.Kind) {
				want++
			}
		}
		t.Run(s.ID, func(t *testing.T) {
			p, err := build(t.Context(), cat, Deps{Runtime: rt}, s)
			if err != nil {
				t.Fatal(err)
			}
			d := &countingDevice{}
			if _, err := p.Run(generate.WithDevice(t.Context(), d), img); err != nil {
				t.Fatal(err)
			}
			if d.turns != want {
				t.Errorf("%d device turns, want %d (one per network step)", d.turns, want)
			}
		})
	}
}
