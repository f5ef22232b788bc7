package builtin

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"reflect"
	"testing"

	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/internal/par"
)

// filters are the one-step pipelines of testenv's filter catalogue.
var filterSteps = map[string][]styles.Step{
	"sketch":      {{Kind: "sketch", Params: map[string]any{"blur": 8.0, "paper": "#f4efe4", "strength": 1.3}}},
	"watercolour": {{Kind: "watercolour", Params: map[string]any{"levels": 7.0, "smooth": 3.0, "edge": 0.5}}},
	"studio":      {{Kind: "grade", Params: map[string]any{"warmth": 0.12, "contrast": 1.15, "vignette": 0.25}}, {Kind: "frame", Params: map[string]any{"width": 0.06, "colour": "#1f2a44"}}},
}

// apply runs steps on a frame.
func apply(t testing.TB, ctx context.Context, f *generate.Frame, steps ...styles.Step) error {
	t.Helper()
	for _, st := range steps {
		step, _, ok, err := New(st.Kind, st.Params)
		if !ok || err != nil {
			t.Fatalf("New(%s): ok %v, %v", st.Kind, ok, err)
		}
		if err := step.Apply(ctx, f); err != nil {
			return err
		}
	}
	return nil
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

func generateOne(t *testing.T, id string, in image.Image) *image.NRGBA {
	t.Helper()
	f := generate.NewFrame(in)
	if err := apply(t, context.Background(), f, filterSteps[id]...); err != nil {
		t.Fatal(err)
	}
	return f.Image
}

func TestSketchOfFlatImageIsPaper(t *testing.T) {
	out := generateOne(t, "sketch", flat(40, 30, color.RGBA{120, 120, 120, 255}))
	want := color.NRGBA{0xf4, 0xef, 0xe4, 255}
	for _, pt := range []image.Point{{0, 0}, {20, 15}, {39, 29}} {
		if got := nrgbaAt(out, pt.X, pt.Y); got != want {
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
	light, dark := nrgbaAt(out, 5, 20), nrgbaAt(out, 30, 20)
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
	corner := nrgbaAt(out, 0, 0)
	if corner.B <= corner.R { // the default backdrop is blue
		t.Errorf("corner %v is not the blue backdrop", corner)
	}
	border := (b.Dx() - 100) / 2
	centre := nrgbaAt(out, border+50, border+40)
	orig := color.NRGBAModel.Convert(in.RGBAAt(50, 40)).(color.NRGBA)
	if centre.R <= orig.R || centre.B >= orig.B {
		t.Errorf("centre %v is not graded warmer than %v", centre, orig)
	}
}

func TestWatercolourFlattensColour(t *testing.T) {
	out := generateOne(t, "watercolour", gradient(120, 90))
	distinct := map[uint8]bool{}
	for y := 30; y < 60; y++ {
		distinct[nrgbaAt(out, 60, y).G/16] = true
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

func nrgbaAt(img *image.NRGBA, x, y int) color.NRGBA { return img.NRGBAAt(x, y) }

func TestCancelled(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for id, steps := range filterSteps {
		if err := apply(t, cancelled, generate.NewFrame(gradient(200, 200)), steps...); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", id, err)
		}
	}
}

func TestParamsRefused(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		params map[string]any
	}{
		{"sketch", map[string]any{"blurr": 3.0}},
		{"sketch", map[string]any{"paper": "beige"}},
		{"watercolour", map[string]any{"levels": 1.0}},
		{"grade", map[string]any{"contrast": 9.0}},
		{"crop", map[string]any{"aspect": "16:9"}},
		{"crop", map[string]any{"eyeLine": 1.5}},
		{"backdrop", map[string]any{"kind": "stars"}},
		{"backdrop", map[string]any{"kind": "colour"}},
		{"retouch", map[string]any{"smooth": 2.0}},
	} {
		if _, _, ok, err := New(tc.kind, tc.params); !ok || err == nil {
			t.Errorf("%s %v: ok %v, err %v; want a refusal", tc.kind, tc.params, ok, err)
		}
	}
	if _, _, ok, _ := New("cubism", nil); ok {
		t.Error("an unknown kind was built")
	}
}

// TestDefaults pins the defaults the parameters' tags declare (README's
// step table names those of crop): a catalogue that leaves a parameter out,
// or sets it to 0, gets them, and a colour's default is read as #rrggbb.
func TestDefaults(t *testing.T) {
	paper, border := hex("#f4efe4"), hex("#1f2a44")
	for _, tc := range []struct {
		kind   string
		params map[string]any
		want   generate.Step
	}{
		{"sketch", nil, sketch{Blur: 6, Paper: &paper, Strength: 1}},
		{"watercolour", map[string]any{"smooth": 0.0}, watercolour{Levels: 6, Smooth: 3}},
		{"grade", nil, grade{Contrast: 1}},
		{"frame", nil, frame{Width: 0.06, Colour: &border}},
		{"crop", map[string]any{"aspect": "4:5"}, crop{Aspect: "4:5", Size: 1024, EyeLine: 0.4, FaceWidth: 1.0 / 3, ratio: 0.8}},
		{"backdrop", map[string]any{"kind": "blur"}, backdrop{Kind: "blur", Radius: 0.02}},
		{"retouch", map[string]any{"warmth": 0.1}, retouch{Warmth: 0.1, Contrast: 1}},
	} {
		got, _, _, err := New(tc.kind, tc.params)
		if err != nil {
			t.Fatalf("%s %v: %v", tc.kind, tc.params, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %v = %+v, want %+v", tc.kind, tc.params, got, tc.want)
		}
	}
}

// face is a synthetic detection: a 60x60 box at (70,40) with its eyes.
func face() generate.Face {
	return generate.Face{
		Box:       generate.Rect{X0: 70, Y0: 40, X1: 130, Y1: 100},
		Score:     0.9,
		Keypoints: []generate.Point{{X: 85, Y: 60}, {X: 115, Y: 60}, {X: 100, Y: 75}, {X: 100, Y: 88}},
	}
}

func TestCropFramesTheFace(t *testing.T) {
	for _, tc := range []struct {
		aspect string
		w, h   int
	}{{"1:1", 512, 512}, {"4:5", 410, 512}} {
		t.Run(tc.aspect, func(t *testing.T) {
			f := generate.NewFrame(gradient(200, 300))
			f.Faces = []generate.Face{face()}
			f.Matte = make([]float32, 200*300)
			for i := range f.Matte {
				f.Matte[i] = 1
			}
			err := apply(t, context.Background(), f, styles.Step{Kind: "crop", Params: map[string]any{"aspect": tc.aspect, "size": 512.0, "eyeLine": 0.4, "faceWidth": 1.0 / 3}})
			if err != nil {
				t.Fatal(err)
			}
			if w, h := f.Size(); w != tc.w || h != tc.h {
				t.Fatalf("output %dx%d, want %dx%d", w, h, tc.w, tc.h)
			}
			fc := f.Faces[0]
			eye := fc.EyeCentre()
			if math.Abs(eye.X-float64(tc.w)/2) > 1 || math.Abs(eye.Y-0.4*float64(tc.h)) > 1 {
				t.Errorf("eyes at %+v, want (%d, %.0f)", eye, tc.w/2, 0.4*float64(tc.h))
			}
			if got := fc.Box.W() / float64(tc.w); math.Abs(got-1.0/3) > 0.01 {
				t.Errorf("face is %.3f of the width, want 1/3", got)
			}
			// The frame reaches above the photo (the face is near its top):
			// there the matte is 0 so the backdrop fills it.
			if f.Matte[0] != 0 || f.Matte[len(f.Matte)/2] < 0.99 {
				t.Errorf("matte top-left %.2f (want 0, outside the photo), centre %.2f (want 1)", f.Matte[0], f.Matte[len(f.Matte)/2])
			}
		})
	}
}

func TestCropGroupFramesEveryFace(t *testing.T) {
	for _, group := range []bool{false, true} {
		second := generate.Face{Box: generate.Rect{X0: 150, Y0: 50, X1: 190, Y1: 90}, Keypoints: []generate.Point{{X: 160, Y: 65}, {X: 180, Y: 65}}}
		f := generate.NewFrame(gradient(260, 200))
		f.Faces = []generate.Face{face(), second}
		err := apply(t, context.Background(), f, styles.Step{Kind: "crop", Params: map[string]any{"size": 512.0, "faceWidth": 0.5, "group": group}})
		if err != nil {
			t.Fatal(err)
		}
		inside := func(fc generate.Face) bool {
			return fc.Box.X0 >= 0 && fc.Box.X1 <= 512 && fc.Box.Y0 >= 0 && fc.Box.Y1 <= 512
		}
		if !inside(f.Faces[0]) || inside(f.Faces[1]) != group {
			t.Errorf("group=%v: faces %+v, %+v; want the second face in frame only for a group", group, f.Faces[0].Box, f.Faces[1].Box)
		}
	}
}

func TestBackdropReplacesTheBackground(t *testing.T) {
	in := gradient(100, 80)
	f := generate.NewFrame(in)
	f.Matte = make([]float32, 100*80)
	for y := range 80 {
		for x := 50; x < 100; x++ {
			f.Matte[y*100+x] = 1 // the right half is the person
		}
	}
	if err := apply(t, context.Background(), f, styles.Step{Kind: "backdrop", Params: map[string]any{"kind": "gradient", "colour": "#ff0000", "to": "#0000ff"}}); err != nil {
		t.Fatal(err)
	}
	if got := nrgbaAt(f.Image, 10, 0); got.R < 250 || got.B > 5 {
		t.Errorf("background top %v, want the gradient's red", got)
	}
	if got := nrgbaAt(f.Image, 10, 79); got.B < 250 || got.R > 5 {
		t.Errorf("background bottom %v, want the gradient's blue", got)
	}
	orig := color.NRGBAModel.Convert(in.RGBAAt(75, 40)).(color.NRGBA)
	if got := nrgbaAt(f.Image, 75, 40); got != orig {
		t.Errorf("person pixel %v, want the photo's %v", got, orig)
	}

	// Blur: the background is smoothed, the person is kept, and the
	// person's colour does not bleed into the background.
	stripes := flat(100, 80, color.RGBA{0, 0, 0, 255})
	for y := range 80 {
		for x := 0; x < 50; x += 2 {
			stripes.Set(x, y, color.RGBA{255, 255, 255, 255})
		}
		for x := 50; x < 100; x++ {
			stripes.Set(x, y, color.RGBA{255, 0, 0, 255})
		}
	}
	f = generate.NewFrame(stripes)
	f.Matte = make([]float32, 100*80)
	for y := range 80 {
		for x := 50; x < 100; x++ {
			f.Matte[y*100+x] = 1
		}
	}
	if err := apply(t, context.Background(), f, styles.Step{Kind: "backdrop", Params: map[string]any{"kind": "blur", "radius": 0.1}}); err != nil {
		t.Fatal(err)
	}
	a, b := nrgbaAt(f.Image, 20, 40), nrgbaAt(f.Image, 21, 40)
	if d := int(a.R) - int(b.R); d > 20 || d < -20 || a.R < 90 || a.R > 170 {
		t.Errorf("blurred stripes %v, %v: want both near mid-grey", a, b)
	}
	if edge := nrgbaAt(f.Image, 45, 40); int(edge.R)-int(edge.G) > 20 {
		t.Errorf("background next to the person %v is tinted by the person's red", edge)
	}
	if got := nrgbaAt(f.Image, 75, 40); got.R != 255 || got.G != 0 {
		t.Errorf("person %v, want it sharp and unchanged", got)
	}
}

func TestRetouchSparesEyesAndMouth(t *testing.T) {
	m := SkinMask(face(), 200, 150)
	at := func(x, y float64) float32 { return m[int(y)*200+int(x)] }
	fc := face()
	for i, kp := range fc.Keypoints {
		if i == generate.Nose {
			continue
		}
		if v := at(kp.X, kp.Y); v != 0 {
			t.Errorf("keypoint %d at %+v: mask %.2f, want 0 (left untouched)", i, kp, v)
		}
	}
	if v := at(78, 78); v < 0.5 { // the right cheek
		t.Errorf("cheek mask %.2f, want the skin smoothed", v)
	}
	if v := at(10, 10); v != 0 {
		t.Errorf("mask outside the face %.2f, want 0", v)
	}
	// Noise on the cheek is smoothed; the eye is unchanged.
	noisy := gradient(200, 150)
	for y := 0; y < 150; y++ {
		for x := 0; x < 200; x++ {
			if (x*31+y*17)%5 == 0 {
				noisy.Set(x, y, color.RGBA{140, 100, 90, 255})
			}
		}
	}
	f := generate.NewFrame(noisy)
	f.Faces = []generate.Face{fc}
	before := generate.NewFrame(noisy).Image
	if err := apply(t, context.Background(), f, styles.Step{Kind: "retouch", Params: map[string]any{"smooth": 1.0}}); err != nil {
		t.Fatal(err)
	}
	variance := func(img *image.NRGBA) float64 {
		var s, s2 float64
		for y := 72; y < 84; y++ {
			for x := 74; x < 82; x++ {
				v := float64(img.NRGBAAt(x, y).G)
				s, s2 = s+v, s2+v*v
			}
		}
		n := 96.0
		return s2/n - (s/n)*(s/n)
	}
	if vb, va := variance(before), variance(f.Image); va > vb/2 {
		t.Errorf("cheek variance %.1f -> %.1f, want it at least halved", vb, va)
	}
	eye := fc.Keypoints[generate.RightEye]
	if a, b := f.Image.NRGBAAt(int(eye.X), int(eye.Y)), before.NRGBAAt(int(eye.X), int(eye.Y)); a != b {
		t.Errorf("eye pixel %v -> %v, want it untouched", b, a)
	}
}

// BenchmarkSteps reports ms per image for each pure-Go step on the
// astronaut at 512 and 1024 px (with a face and a soft matte), its rows
// shared over the pool of GOMAXPROCS cores as in the worker: run with
// -cpu 1,2 for one core and two (the model steps are benchmarked in
// package pipeline).
func BenchmarkSteps(b *testing.B) {
	for _, side := range []int{512, 1024} {
		base := photoFrame(b, samples.Astronaut(), side)
		for name, st := range everyStep {
			b.Run(fmt.Sprintf("%s/%dpx", name, side), func(b *testing.B) {
				step, _, _, err := New(st.Kind, st.Params)
				if err != nil {
					b.Fatal(err)
				}
				pool := par.NewPool(0) // GOMAXPROCS, which -cpu sets
				for b.Loop() {
					b.StopTimer()
					f := clone(base, pool)
					b.StartTimer()
					if err := step.Apply(context.Background(), f); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/image")
			})
		}
	}
}
