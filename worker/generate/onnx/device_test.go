package onnx

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/onnx/internal/mkmodel"
)

// turnDevice is a generate.Device that counts the turns taken; with
// stopFirst, it stops the first run it grants and grants it again, as the
// worker's gate does to an online run when a booth job arrives.
type turnDevice struct {
	stopFirst bool

	mu      sync.Mutex
	turns   int
	stopped int
}

var errStoppedForTest = errors.New("turn taken back")

func (d *turnDevice) Run(ctx context.Context, run func(ctx context.Context) error) error {
	for {
		d.mu.Lock()
		d.turns++
		stop := d.stopFirst && d.stopped == 0
		if stop {
			d.stopped++
		}
		d.mu.Unlock()
		runCtx, cancel := context.WithCancelCause(ctx)
		if stop {
			cancel(errStoppedForTest)
		}
		err := run(runCtx)
		cancel(nil)
		if stop && errors.Is(err, context.Canceled) {
			continue
		}
		return err
	}
}

// TestModelRunsTakeDeviceTurns: each session run takes one turn of the
// job's device (a tiled model one per tile), and a run stopped in its turn
// runs again with the same result.
func TestModelRunsTakeDeviceTurns(t *testing.T) {
	dir := t.TempDir()
	m := mkmodel.Default()
	sum := writeModel(t, dir, "m.onnx", m)
	rt := newRuntime(t, Config{ModelDir: dir})
	img := testImage(83, 61)
	for _, tc := range []struct {
		name      string
		tile      float64
		stopFirst bool
		wantTurns int
	}{
		{"one run", 4096, false, 1},
		{"one run per tile", 32, false, 6}, // 83x61 in 32-pixel tiles: 3 x 2
		{"a stopped run runs again", 4096, true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]any{"file": "m.onnx", "sha256": sum, "tile": tc.tile, "pad": float64(m.Halo())}
			spec, err := ParseSpec(params)
			if err != nil {
				t.Fatal(err)
			}
			step := modelStep(t, rt, params)
			d := &turnDevice{stopFirst: tc.stopFirst}
			f := generate.NewFrame(img)
			if err := step.Apply(generate.WithDevice(t.Context(), d), f); err != nil {
				t.Fatal(err)
			}
			if d.turns != tc.wantTurns {
				t.Errorf("%d device turns, want %d", d.turns, tc.wantTurns)
			}
			if n, first := mismatches(f.Image, reference(t, img, m, spec)); n != 0 {
				t.Errorf("%d pixels differ; first: %s", n, first)
			}
		})
	}
}
