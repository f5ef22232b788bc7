package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/onnx"
	"github.com/tigerstudio/studio/worker/imaging"
	"github.com/tigerstudio/studio/worker/internal/par"
)

const repoRoot = "../../.."

// realRuntime starts ONNX Runtime on the installed models, skipping (or
// failing under TIGER_REQUIRE_STACK=1) when they are missing.
func realRuntime(tb testing.TB, device string) *onnx.Runtime {
	tb.Helper()
	lib, err := onnx.FindLibrary(repoRoot)
	dir := filepath.Join(repoRoot, "models")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "isnet-small.onnx"))
	}
	if err != nil {
		testenv.Require(tb, fmt.Errorf("%w (make setup installs the library and the models)", err))
	}
	rt, err := onnx.NewRuntime(onnx.Config{LibraryPath: lib, ModelDir: dir, Device: device})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = rt.Close() })
	return rt
}

func builtinCatalogue(tb testing.TB) *styles.Catalogue {
	tb.Helper()
	cat, err := styles.Load("")
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// TestHeadshot runs the flagship style on the astronaut with the real
// models and checks what each step promised: the output size, the face
// where the crop put it (found again by the detector in the output), and
// the backdrop exactly where the matte said background.
func TestHeadshot(t *testing.T) {
	rt := realRuntime(t, "")
	cat := builtinCatalogue(t)
	ps, err := Build(t.Context(), cat, rt)
	if err != nil {
		t.Fatal(err)
	}
	in, err := imaging.Decode(samples.Astronaut())
	if err != nil {
		t.Fatal(err)
	}
	style, _ := cat.Lookup("headshot")
	p := ps["headshot"]
	f := generate.NewFrame(in)
	// All but the retouch, which grades every pixel: the backdrop is then
	// checked against its own colours.
	for _, s := range p[:len(p)-1] {
		if err := s.Step.Apply(t.Context(), f); err != nil {
			t.Fatalf("%s: %v", s.Kind, err)
		}
	}
	if w, h := f.Size(); w != 1024 || h != 1024 {
		t.Fatalf("headshot %dx%d, want 1024x1024", w, h)
	}

	// The backdrop: where the matte is background, the gradient from
	// #6d7b8d to #2a313b darkened by the vignette; never the photo.
	checked := 0
	for y := 0; y < 1024; y += 16 {
		for x := 0; x < 1024; x += 16 {
			a := float64(f.Matte[y*1024+x])
			if a > 0.02 {
				continue
			}
			px := f.Image.NRGBAAt(x, y)
			tt := float64(y) / 1023
			dx, dy := (float64(x)/1024-0.5)*2, (float64(y)/1024-0.5)*2
			v := 1 - 0.35*(dx*dx+dy*dy)/2
			want := [3]float64{(0x6d + (0x2a-0x6d)*tt) * v, (0x7b + (0x31-0x7b)*tt) * v, (0x8d + (0x3b-0x8d)*tt) * v}
			for c, got := range []uint8{px.R, px.G, px.B} {
				if math.Abs(float64(got)-want[c]) > 1+255*a { // a little of the photo shows through a

					t.Fatalf("background pixel (%d,%d) = %v, want the backdrop %.0f", x, y, px, want)
				}
			}
			checked++
		}
	}
	if checked < 500 {
		t.Errorf("only %d background samples: the matte kept most of the frame", checked)
	}

	// The whole style, then the face found again in its output.
	res, err := ps.Generate(t.Context(), style, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != len(style.Steps) || res.Steps[0].Step != "detect-face" {
		t.Errorf("step timings %+v, want one per step, the face gate first", res.Steps)
	}
	out := generate.NewFrame(res.Images[0])
	detect, _, err := onnx.NewStep(t.Context(), rt, "detect-face", map[string]any{"model": "blazeface"}, cat.Model)
	if err != nil {
		t.Fatal(err)
	}
	if err := detect.Apply(t.Context(), out); err != nil {
		t.Fatalf("no face in the headshot: %v", err)
	}
	fc := out.Faces[0]
	eye := fc.EyeCentre()
	// The crop put the eyes at (0.5, 0.4) and the face box at 1/3 of the
	// width; the detector on the upscaled output agrees within a few
	// percent (its box and keypoints wobble by that much between scales).
	if math.Abs(eye.X/1024-0.5) > 0.04 || math.Abs(eye.Y/1024-0.4) > 0.04 {
		t.Errorf("eyes at (%.3f, %.3f) of the frame, want (0.5, 0.4)", eye.X/1024, eye.Y/1024)
	}
	if w := fc.Box.W() / 1024; math.Abs(w-1.0/3) > 0.05 {
		t.Errorf("face is %.3f of the width, want 1/3", w)
	}
}

// recorder notes the kind of each step that is applied.
type recorder struct {
	generate.Step
	kind string
	ran  *[]string
}

func (r recorder) Apply(ctx context.Context, f *generate.Frame) error {
	*r.ran = append(*r.ran, r.kind)
	return r.Step.Apply(ctx, f)
}

// recorded returns p with every step recording itself into ran.
func recorded(p generate.Pipeline, ran *[]string) generate.Pipeline {
	out := make(generate.Pipeline, len(p))
	for i, s := range p {
		out[i] = generate.NamedStep{Kind: s.Kind, Step: recorder{Step: s.Step, kind: s.Kind, ran: ran}}
	}
	return out
}

// TestFaceGateBeforeGeneration: a photo without a face fails with
// ErrNoFace in the face gate, before any other step of a style that
// requires a face has run (the matte would cost 1.4 s for nothing).
func TestFaceGateBeforeGeneration(t *testing.T) {
	rt := realRuntime(t, "")
	cat := builtinCatalogue(t)
	ps, err := Build(t.Context(), cat, rt)
	if err != nil {
		t.Fatal(err)
	}
	in, err := imaging.Decode(samples.Coffee())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"headshot", "bokeh", "sketch", "watercolour"} {
		var ran []string
		_, err := recorded(ps[id], &ran).Run(t.Context(), in)
		if !errors.Is(err, generate.ErrNoFace) {
			t.Errorf("%s: err = %v, want ErrNoFace", id, err)
		}
		if !slices.Equal(ran, []string{"detect-face"}) {
			t.Errorf("%s: steps run on a photo without a face: %v, want only the face gate", id, ran)
		}
	}
	// The classic print needs no face: every step runs.
	var ran []string
	if _, err := recorded(ps["studio"], &ran).Run(t.Context(), in); err != nil {
		t.Errorf("studio on the coffee cup: %v", err)
	}
	if len(ran) != len(ps["studio"]) {
		t.Errorf("studio ran %v, want all %d steps", ran, len(ps["studio"]))
	}
}

func TestBuildRefuses(t *testing.T) {
	models := `"models": {"m": {"kind": "matte", "file": "x.onnx", "sha256": "` + strings.Repeat("0", 64) + `", "size": [8, 8]}}`
	for _, tc := range []struct{ name, steps, want string }{
		{"crop without a face", `[{"step": "crop"}]`, "detect-face before"},
		{"upscale without a face", `[{"step": "upscale", "model": "m"}]`, "detect-face before"},
		{"backdrop without a matte", `[{"step": "backdrop", "kind": "colour", "colour": "#000000"}]`, "matte before"},
		{"face gate late", `[{"step": "grade"}, {"step": "detect-face", "model": "m"}]`, "first step"},
		{"unknown kind", `[{"step": "cubism"}]`, "unknown step kind"},
		{"typo in a parameter", `[{"step": "sketch", "blurr": 3}]`, "blurr"},
		{"model step without runtime", `[{"step": "matte", "model": "m"}]`, "ONNX Runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cat, err := styles.Parse([]byte(`{` + models + `, "styles": [{"id": "a", "name": "A", "model": "v", "steps": ` + tc.steps + `}]}`))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Build(t.Context(), cat, nil); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `style "a"`) {
				t.Errorf("err = %v, want one naming the style and %q", err, tc.want)
			}
		})
	}
}

// BenchmarkStyles reports ms per image for each style of the catalogue and
// for each of its steps, on the astronaut scaled to 512 and 1024 px, on
// WORKER_DEVICE (cpu unless set; cuda on a GPU machine), the pixel work on
// GOMAXPROCS cores (-cpu 1,2).
func BenchmarkStyles(b *testing.B) {
	device := os.Getenv("WORKER_DEVICE")
	rt := realRuntime(b, device)
	cat := builtinCatalogue(b)
	ps, err := Build(b.Context(), cat, rt)
	if err != nil {
		b.Fatal(err)
	}
	src, err := imaging.Decode(samples.Astronaut())
	if err != nil {
		b.Fatal(err)
	}
	for _, side := range []int{512, 1024} {
		in := imaging.ToRGBA(generate.NewFrame(src).Image)
		if side != 512 {
			f := generate.NewFrame(src)
			if err := f.Transform(generate.Rect{X1: 512, Y1: 512}, side, side); err != nil {
				b.Fatal(err)
			}
			in = imaging.ToRGBA(f.Image)
		}
		for _, st := range cat.All() {
			b.Run(fmt.Sprintf("%s/%dpx", st.ID, side), func(b *testing.B) {
				// The worker's pool of GOMAXPROCS cores, which -cpu sets.
				ctx := par.With(b.Context(), par.NewPool(0))
				steps := map[string]time.Duration{}
				for b.Loop() {
					res, err := ps.Generate(ctx, st, in)
					if err != nil {
						b.Fatal(err)
					}
					for _, s := range res.Steps {
						steps[s.Step] += s.Duration
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/image")
				for name, d := range steps {
					b.ReportMetric(float64(d.Microseconds())/1000/float64(b.N), name+"-ms")
				}
			})
		}
	}
}
