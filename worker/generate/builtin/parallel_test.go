package builtin

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"math"
	"testing"

	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/imaging"
	"github.com/tigerstudio/studio/worker/internal/par"
)

// everyStep is one configuration of each pure-Go step, as the catalogue
// uses them.
var everyStep = map[string]styles.Step{
	"sketch":      filterSteps["sketch"][0],
	"watercolour": filterSteps["watercolour"][0],
	"grade":       filterSteps["studio"][0],
	"frame":       filterSteps["studio"][1],
	"crop":        {Kind: "crop", Params: map[string]any{"size": 1024.0}},
	"backdrop":    {Kind: "backdrop", Params: map[string]any{"kind": "gradient", "colour": "#6d7b8d", "to": "#2a313b", "vignette": 0.2, "feather": 6.0}},
	"bokeh":       {Kind: "backdrop", Params: map[string]any{"kind": "blur", "radius": 0.025}},
	"retouch":     {Kind: "retouch", Params: map[string]any{"smooth": 0.6, "warmth": 0.05, "contrast": 1.05}},
}

// photoFrame is a sample photo at side px (its longer side) with a face and a
// soft, person-shaped matte scaled to it, as the model steps leave a frame.
func photoFrame(tb testing.TB, data []byte, side int) *generate.Frame {
	tb.Helper()
	img, err := imaging.Decode(data)
	if err != nil {
		tb.Fatal(err)
	}
	f := generate.NewFrame(img)
	// The longer side becomes side (the astronaut is 512 px: scaled up).
	w, h := imaging.FitSize(f.Image.Rect.Dx()*side, f.Image.Rect.Dy()*side, side)
	if err := f.Transform(generate.Rect{X1: float64(f.Image.Rect.Dx()), Y1: float64(f.Image.Rect.Dy())}, w, h); err != nil {
		tb.Fatal(err)
	}
	s := float64(min(w, h)) / 200
	fc := face()
	fc.Box = generate.Rect{X0: fc.Box.X0 * s, Y0: fc.Box.Y0 * s, X1: fc.Box.X1 * s, Y1: fc.Box.Y1 * s}
	for i, k := range fc.Keypoints {
		fc.Keypoints[i] = generate.Point{X: k.X * s, Y: k.Y * s}
	}
	f.Faces = []generate.Face{fc}
	f.Matte = make([]float32, w*h)
	for y := range h {
		for x := range w {
			// A head-and-shoulders ellipse with a soft edge of ~12 px.
			dx, dy := (float64(x)-float64(w)/2)/(0.3*float64(w)), (float64(y)-0.6*float64(h))/(0.5*float64(h))
			f.Matte[y*w+x] = float32(min(max((1-math.Hypot(dx, dy))*float64(min(w, h))/24, 0), 1))
		}
	}
	return f
}

func clone(f *generate.Frame, pool *par.Pool) *generate.Frame {
	c := *f
	c.Image = &image.NRGBA{Pix: bytes.Clone(f.Image.Pix), Stride: f.Image.Stride, Rect: f.Image.Rect}
	c.Matte = append([]float32(nil), f.Matte...)
	c.Faces = append([]generate.Face(nil), f.Faces...)
	for i := range c.Faces {
		c.Faces[i].Keypoints = append([]generate.Point(nil), c.Faces[i].Keypoints...)
	}
	c.Pool = pool
	return &c
}

// TestStepsOnEveryCoreAreIdentical: each pure-Go step on the sample photos
// gives the same pixels (and matte) with its work shared over 1, 2 and 7
// cores as on the calling goroutine alone, byte for byte.
func TestStepsOnEveryCoreAreIdentical(t *testing.T) {
	photos := map[string][]byte{"astronaut": samples.Astronaut(), "coffee": samples.Coffee()}
	for name, data := range photos {
		for _, side := range []int{1024, 333} {
			base := photoFrame(t, data, side)
			for step, st := range everyStep {
				t.Run(fmt.Sprintf("%s/%d/%s", name, side, step), func(t *testing.T) {
					want := clone(base, nil)
					if err := apply(t, context.Background(), want, st); err != nil {
						t.Fatal(err)
					}
					for _, cores := range []int{1, 2, 7} {
						got := clone(base, par.NewPool(cores))
						if err := apply(t, context.Background(), got, st); err != nil {
							t.Fatal(err)
						}
						if got.Image.Rect != want.Image.Rect || !bytes.Equal(got.Image.Pix, want.Image.Pix) {
							t.Errorf("%d cores: pixels differ from one core's", cores)
						}
						if fmt.Sprint(got.Matte) != fmt.Sprint(want.Matte) {
							t.Errorf("%d cores: matte differs from one core's", cores)
						}
					}
				})
			}
		}
	}
}
