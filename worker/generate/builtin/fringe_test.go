package builtin

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
)

// TestNoFringeOfTheOldWall: dark hair with a soft edge and loose strands
// (the matte's alpha a) photographed against a bright wall of a known
// colour, so each pixel is a*hair + (1-a)*wall, laid on a dark backdrop:
// every pixel must come out as a*hair + (1-a)*backdrop, the wall's light
// nowhere. Composited as the photo's pixel it would be lighter by
// a(1-a)*(wall-hair): up to about 45 levels where a is one half.
func TestNoFringeOfTheOldWall(t *testing.T) {
	hair := [3]float64{0.22, 0.15, 0.10}
	wall := [3]float64{0.95, 0.94, 0.90}
	backdrop := [3]float64{0x20 / 255.0, 0x28 / 255.0, 0x40 / 255.0}
	const w, h = 240, 160
	alpha := make([]float32, w*h)
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			// The head's mass on the left, a soft edge 24 px wide from
			// x=100, then thin strands (a <= 0.6) over the wall.
			a := min(max((124-float64(x))/24, 0), 1)
			if x >= 124 && x < 180 && (x+y/3)%9 < 2 {
				a = 0.6 * (180 - float64(x)) / 56
			}
			alpha[y*w+x] = float32(a)
			px := img.Pix[img.PixOffset(x, y):]
			for c := range 3 {
				px[c] = uint8(math.Round(255 * (a*hair[c] + (1-a)*wall[c])))
			}
			px[3] = 255
		}
	}
	colour := fmt.Sprintf("#%02x%02x%02x", 0x20, 0x28, 0x40)
	f := generate.NewFrame(img)
	f.Matte = alpha
	if err := apply(t, context.Background(), f, styles.Step{Kind: "backdrop", Params: map[string]any{"kind": "colour", "colour": colour}}); err != nil {
		t.Fatal(err)
	}
	worst, at := 0.0, image.Point{}
	for y := range h {
		for x := range w {
			a := float64(alpha[y*w+x])
			got := f.Image.NRGBAAt(x, y)
			for c, v := range []uint8{got.R, got.G, got.B} {
				want := 255 * (a*hair[c] + (1-a)*backdrop[c])
				if d := math.Abs(float64(v) - want); d > worst {
					worst, at = d, image.Pt(x, y)
				}
			}
		}
	}
	// 8-bit rounding of the photo, divided by a small alpha, is all that
	// may remain.
	if worst > 4 {
		got := f.Image.NRGBAAt(at.X, at.Y)
		t.Errorf("pixel %v (alpha %.2f) is %v, %.0f levels from hair on the new backdrop: the old wall shows through",
			at, alpha[at.Y*w+at.X], color.NRGBA{got.R, got.G, got.B, 255}, worst)
	}
}
