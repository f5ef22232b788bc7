package onnx

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/imaging"
)

// These tests run the published models the catalogue names (make setup
// installs them under models/), on CPU.

// realStep builds a step of the built-in catalogue's models.
func realStep(t testing.TB, kind string, params map[string]any) generate.Step {
	t.Helper()
	dir := filepath.Join(repoRoot, "models")
	if _, err := os.Stat(filepath.Join(dir, "isnet-small.onnx")); err != nil {
		testenv.Require(t, fmt.Errorf("models not installed (models/install.sh): %w", err))
	}
	cat, err := styles.Load("")
	if err != nil {
		t.Fatal(err)
	}
	step, _, err := NewStep(t.Context(), newRuntime(t, Config{ModelDir: dir}), kind, params, cat.Model)
	if err != nil {
		t.Fatal(err)
	}
	return step
}

func decode(t testing.TB, data []byte) *image.RGBA {
	t.Helper()
	img, err := imaging.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// astronautFace is the astronaut's face marked by hand on the 512x512
// photo: hairline to chin, cheek to cheek, and the eye centres.
var (
	astronautFace     = generate.Rect{X0: 180, Y0: 78, X1: 268, Y1: 185}
	astronautRightEye = generate.Point{X: 203, Y: 103}
	astronautLeftEye  = generate.Point{X: 246, Y: 106}
)

func TestFaceDetector(t *testing.T) {
	step := realStep(t, "detect-face", map[string]any{"model": "blazeface", "minScore": 0.6})

	t.Run("astronaut", func(t *testing.T) {
		f := generate.NewFrame(decode(t, samples.Astronaut()))
		if err := step.Apply(t.Context(), f); err != nil {
			t.Fatal(err)
		}
		if len(f.Faces) != 1 {
			t.Fatalf("%d faces, want 1: %+v", len(f.Faces), f.Faces)
		}
		fc := f.Faces[0]
		// 0.6: the detector's box is square and stops above the hairline,
		// the hand-marked one follows the chin; both must mostly agree.
		if got := iou(fc.Box, astronautFace); got < 0.6 {
			t.Errorf("box %+v has IoU %.2f with the hand-marked %+v, want >= 0.6", fc.Box, got, astronautFace)
		}
		for i, want := range []generate.Point{astronautRightEye, astronautLeftEye} {
			if got := fc.Keypoints[i]; math.Hypot(got.X-want.X, got.Y-want.Y) > 10 {
				t.Errorf("eye %d at %+v, want within 10 px of %+v", i, got, want)
			}
		}
		if fc.Score < 0.8 {
			t.Errorf("score %.2f, want a confident detection", fc.Score)
		}
		t.Logf("face %+v score %.3f", fc.Box, fc.Score)
	})

	t.Run("coffee cup: the face gate refuses", func(t *testing.T) {
		f := generate.NewFrame(decode(t, samples.Coffee()))
		err := step.Apply(t.Context(), f)
		if err == nil || !errors.Is(err, generate.ErrNoFace) {
			t.Fatalf("err = %v, want ErrNoFace", err)
		}
	})

	t.Run("two people: largest first, mapped back through the letterbox", func(t *testing.T) {
		// BlazeFace's short-range model wants faces of a fifth of the
		// frame or more: two head-and-shoulders crops side by side.
		head := decode(t, samples.Astronaut()).SubImage(image.Rect(120, 20, 330, 260)).(*image.RGBA)
		canvas := image.NewRGBA(image.Rect(0, 0, 400, 250))
		draw.Draw(canvas, canvas.Bounds(), image.White, image.Point{}, draw.Src)
		draw.Draw(canvas, image.Rect(0, 0, 210, 240), head, head.Rect.Min, draw.Src)
		small := imaging.Fit(imaging.ToRGBA(head), 168) // 0.7 of 240
		off := image.Pt(230, 60)
		draw.Draw(canvas, small.Bounds().Add(off), small, image.Point{}, draw.Src)
		f := generate.NewFrame(canvas)
		if err := step.Apply(t.Context(), f); err != nil {
			t.Fatal(err)
		}
		if len(f.Faces) != 2 {
			t.Fatalf("%d faces, want 2: %+v", len(f.Faces), f.Faces)
		}
		moved := func(ox, oy, s float64) generate.Rect {
			r := astronautFace
			return generate.Rect{X0: ox + (r.X0-120)*s, Y0: oy + (r.Y0-20)*s, X1: ox + (r.X1-120)*s, Y1: oy + (r.Y1-20)*s}
		}
		if got := iou(f.Faces[0].Box, moved(0, 0, 1)); got < 0.6 {
			t.Errorf("largest face %+v has IoU %.2f with the full-size head's %+v", f.Faces[0].Box, got, moved(0, 0, 1))
		}
		want := moved(230, 60, 0.7)
		if got := iou(f.Faces[1].Box, want); got < 0.5 {
			t.Errorf("second face %+v has IoU %.2f with %+v", f.Faces[1].Box, got, want)
		}
	})
}

// subject is a coarse mask of the astronaut photo's subject drawn by hand:
// the head with its hair (an ellipse), the suit (a polygon) and the helmet
// she holds (a circle), which the matte rightly keeps with her.
func subject(x, y float64) bool {
	if dx, dy := (x-225)/78, (y-100)/88; dx*dx+dy*dy <= 1 {
		return true
	}
	if math.Hypot(x-392, y-432) <= 96 {
		return true
	}
	poly := []generate.Point{{X: 150, Y: 165}, {X: 300, Y: 165}, {X: 340, Y: 230}, {X: 358, Y: 330}, {X: 365, Y: 512},
		{X: 20, Y: 512}, {X: 25, Y: 380}, {X: 45, Y: 250}, {X: 100, Y: 190}}
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a.Y > y) != (b.Y > y) && x < (b.X-a.X)*(y-a.Y)/(b.Y-a.Y)+a.X {
			in = !in
		}
	}
	return in
}

func TestMatte(t *testing.T) {
	step := realStep(t, "matte", map[string]any{"model": "isnet-small"})
	f := generate.NewFrame(decode(t, samples.Astronaut()))
	if err := step.Apply(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	w, h := f.Size()
	if len(f.Matte) != w*h {
		t.Fatalf("matte of %d values for a %dx%d frame", len(f.Matte), w, h)
	}
	var inter, union float64
	for y := range h {
		for x := range w {
			fg, ref := f.Matte[y*w+x] >= 0.5, subject(float64(x)+0.5, float64(y)+0.5)
			if fg && ref {
				inter++
			}
			if fg || ref {
				union++
			}
		}
	}
	// The hand-drawn outline is off by up to ~10 px along a ~1500 px
	// boundary (~15k of the subject's ~150k pixels), so a correct matte
	// scores about 0.9; a matte that missed the head, the body or kept
	// the backdrop falls well below 0.85.
	got := inter / union
	t.Logf("IoU with the hand-drawn subject: %.3f", got)
	if got < 0.85 {
		t.Errorf("IoU %.3f with the hand-drawn subject, want >= 0.85", got)
	}
	// Clear background (the flag's top left, the wall behind the shuttle)
	// and clear subject (the face, the suit) are confident.
	for _, p := range []struct {
		x, y int
		fg   bool
	}{{10, 10, false}, {330, 40, false}, {480, 200, false}, {225, 130, true}, {200, 400, true}} {
		if a := f.Matte[p.y*w+p.x]; (a > 0.9) != p.fg || (a < 0.1) == p.fg {
			t.Errorf("alpha at (%d,%d) = %.2f, want %v", p.x, p.y, a, map[bool]string{true: "~1", false: "~0"}[p.fg])
		}
	}
}

// TestMatteCancelled: preemption and shutdown cancel the job's context;
// the matte (1.3 s on 2 CPU cores, the longest step) must stop mid-run.
func TestMatteCancelled(t *testing.T) {
	step := realStep(t, "matte", map[string]any{"model": "isnet-small"})
	cancelMidway(t, step, decode(t, samples.Astronaut()))
}

// TestMatteRunTerminated: the matte is one ONNX Runtime Run (1.4 s on 2 CPU
// cores); cancelled 50 ms into it, that Run itself must stop (RunOptions'
// terminate flag) and report the cancellation, not finish the network and
// leave the next step to notice.
func TestMatteRunTerminated(t *testing.T) {
	step := realStep(t, "matte", map[string]any{"model": "isnet-small"}).(matteStep)
	h, w := step.spec.Size[0], step.spec.Size[1]
	blank := planar{w: w, h: h, c: 3, pix: make([]float32, 3*h*w)}
	start := time.Now()
	if _, err := step.alpha(t.Context(), blank); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	_, err := step.alpha(ctx, blank)
	took := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a Run cancelled 50 ms in returned %v after %v (a whole run: %v), want context.Canceled from the Run itself", err, took, full)
	}
	t.Logf("a whole run %v; cancelled at 50 ms, returned after %v", full, took)
}
