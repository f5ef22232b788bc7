package builtin

import (
	"context"
	"errors"
	"image"
	"image/color"
	"testing"

	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
)

func catalogue(t testing.TB) *styles.Catalogue {
	t.Helper()
	c, err := styles.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func style(t testing.TB, id string) styles.Style {
	s, ok := catalogue(t).Lookup(id)
	if !ok {
		t.Fatalf("no style %s", id)
	}
	return s
}

func flat(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(255 * x / w), uint8(255 * y / h), 90, 255})
		}
	}
	return img
}

func generateOne(t *testing.T, id string, in image.Image) *image.RGBA {
	t.Helper()
	out, err := New().Generate(context.Background(), style(t, id), in)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if len(out) != 1 {
		t.Fatalf("%s: %d outputs", id, len(out))
	}
	return out[0].(*image.RGBA)
}

// A flat grey photo has no edges, so the colour dodge yields pure paper.
func TestSketchOfFlatImageIsPaper(t *testing.T) {
	out := generateOne(t, "sketch", flat(40, 30, color.RGBA{120, 120, 120, 255}))
	want := color.RGBA{0xf4, 0xef, 0xe4, 255}
	for _, pt := range []image.Point{{0, 0}, {20, 15}, {39, 29}} {
		if got := out.RGBAAt(pt.X, pt.Y); got != want {
			t.Errorf("pixel %v = %v, want paper %v", pt, got, want)
		}
	}
}

func TestSketchDrawsEdges(t *testing.T) {
	in := flat(40, 40, color.RGBA{230, 230, 230, 255})
	for y := 0; y < 40; y++ {
		for x := 20; x < 40; x++ {
			in.Set(x, y, color.RGBA{20, 20, 20, 255})
		}
	}
	out := generateOne(t, "sketch", in)
	light, dark := out.RGBAAt(5, 20), out.RGBAAt(30, 20)
	if light.R <= dark.R+50 {
		t.Errorf("light side %v not lighter than the dark side %v", light, dark)
	}
}

func TestStudioFramesThePhoto(t *testing.T) {
	in := gradient(100, 80)
	out := generateOne(t, "studio", in)
	b := out.Bounds()
	if b.Dx() <= 100 || b.Dy() <= 80 || b.Dx()-100 != b.Dy()-80 {
		t.Fatalf("output %v, want the photo plus an even frame", b)
	}
	corner := out.RGBAAt(0, 0)
	if corner.B <= corner.R { // the default backdrop is blue
		t.Errorf("corner %v is not the blue backdrop", corner)
	}
	border := (b.Dx() - 100) / 2
	centre := out.RGBAAt(border+50, border+40)
	orig := in.RGBAAt(50, 40)
	if centre.R <= orig.R || centre.B >= orig.B {
		t.Errorf("centre %v is not graded warmer than %v", centre, orig)
	}
}

func TestWatercolourFlattensColour(t *testing.T) {
	out := generateOne(t, "watercolour", gradient(120, 90))
	distinct := map[uint8]bool{}
	for y := 30; y < 60; y++ {
		distinct[out.RGBAAt(60, y).G/16] = true
	}
	if len(distinct) > 6 {
		t.Errorf("%d distinct green bands in a smooth gradient, want a few washes", len(distinct))
	}
}

func TestDeterministic(t *testing.T) {
	in := gradient(64, 48)
	for _, id := range []string{"sketch", "watercolour", "studio"} {
		a, b := generateOne(t, id, in), generateOne(t, id, in)
		if string(a.Pix) != string(b.Pix) {
			t.Errorf("%s is not deterministic", id)
		}
	}
}

func TestErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		style styles.Style
		in    image.Image
		want  error
	}{
		{"cancelled", cancelled, style(t, "sketch"), gradient(200, 200), context.Canceled},
		{"cancelled studio", cancelled, style(t, "studio"), gradient(200, 200), context.Canceled},
		{"too small", context.Background(), style(t, "sketch"), gradient(4, 4), generate.ErrInvalidInput},
		{"unknown model", context.Background(), styles.Style{ID: "x", Backend: "builtin", Model: "cubism"}, gradient(20, 20), generate.ErrInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().Generate(tc.ctx, tc.style, tc.in)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	in := gradient(512, 512)
	for _, id := range []string{"sketch", "watercolour", "studio"} {
		s := style(b, id)
		b.Run(id, func(b *testing.B) {
			for b.Loop() {
				if _, err := New().Generate(context.Background(), s, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
