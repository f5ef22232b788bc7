package onnx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/onnx/internal/mkmodel"
)

// repoRoot is where FindLibrary looks for worker/onnxruntime/node_modules
// and where models/ is; go test runs in the package directory.
const repoRoot = "../../.."

// TestMain fails the run when a Runtime was left open: the environment
// outlived its holders.
func TestMain(m *testing.M) {
	code := m.Run()
	environment.mu.Lock()
	refs := environment.refs
	environment.mu.Unlock()
	if refs != 0 || ort.IsInitialized() {
		fmt.Fprintf(os.Stderr, "ONNX Runtime environment still up after the tests (%d Runtimes open)\n", refs)
		code = 1
	}
	os.Exit(code)
}

// library returns the ONNX Runtime library, skipping the test when it is not
// installed unless TIGER_REQUIRE_STACK=1 says the full stack must be there.
func library(tb testing.TB) string {
	tb.Helper()
	lib, err := FindLibrary(repoRoot)
	testenv.Require(tb, err)
	return lib
}

// newRuntime starts a Runtime on dir, closed when the test ends.
func newRuntime(tb testing.TB, cfg Config) *Runtime {
	tb.Helper()
	cfg.LibraryPath = library(tb)
	rt, err := NewRuntime(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = rt.Close() })
	return rt
}

// writeModel writes m into dir as name and returns its checksum.
func writeModel(tb testing.TB, dir, name string, m mkmodel.Model) string {
	tb.Helper()
	data, err := m.ONNX()
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		tb.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// modelStep builds a "model" step from inline params.
func modelStep(tb testing.TB, rt *Runtime, params map[string]any) generate.Step {
	tb.Helper()
	s, ok, err := NewStep(tb.Context(), rt, "model", params, nil)
	if !ok || err != nil {
		tb.Fatalf("NewStep: %v", err)
	}
	return s
}

// testImage is deterministic and busy (gradients, stripes, a disc) so that
// tile seams would show.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x*7 + y*13) % 256), 255}
			if (x-w/2)*(x-w/2)+(y-h/2)*(y-h/2) < h*h/9 {
				c.R, c.B = c.B, 255-c.R
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// reference computes the model in pure Go on the whole image (resized to
// the model's fixed size and back, when it has one), normalised and read
// back as spec says, quantised to 8 bits.
func reference(t *testing.T, img *image.NRGBA, m mkmodel.Model, spec Spec) *image.NRGBA {
	t.Helper()
	src := toPlanar(img, spec)
	in := src
	if spec.fixed() {
		in = src.resize(spec.Size[1], spec.Size[0])
	}
	y, err := m.Apply(in.pix, in.h, in.w)
	if err != nil {
		t.Fatal(err)
	}
	out := planar{w: in.w, h: in.h, c: 3, pix: y}.resize(src.w, src.h)
	return toNRGBA(out, spec)
}

// mismatches counts pixels of got that differ from want by more than 1/255
// in a channel, and describes the first.
func mismatches(got, want *image.NRGBA) (int, string) {
	if got.Bounds() != want.Bounds() {
		return -1, fmt.Sprintf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	n, first := 0, ""
	for i := 0; i < len(want.Pix); i += 4 {
		for c := range 4 {
			d := int(got.Pix[i+c]) - int(want.Pix[i+c])
			if d > 1 || d < -1 {
				if n == 0 {
					first = fmt.Sprintf("pixel %d = %v, want %v", i/4, got.Pix[i:i+4], want.Pix[i:i+4])
				}
				n++
				break
			}
		}
	}
	return n, first
}

// TestModelStep runs operator-style networks the project builds itself in
// each layout and value range, of dynamic size (tiled, and whole) and of
// fixed size, and compares ONNX Runtime's output with the same network
// computed in Go.
func TestModelStep(t *testing.T) {
	dir := t.TempDir()
	rt := newRuntime(t, Config{ModelDir: dir})
	img := testImage(83, 61)
	for _, layout := range []string{NCHW, NHWC} {
		for _, size := range [][2]int{{}, {48, 40}} {
			m := mkmodel.Default()
			m.Layout, m.Size = layout, size
			name := fmt.Sprintf("%s-%dx%d.onnx", layout, size[1], size[0])
			sum := writeModel(t, dir, name, m)
			for _, rng := range [][]any{{0.0, 1.0}, {-1.0, 1.0}, {0.0, 255.0}} {
				tilings := []map[string]any{{"tile": 16.0, "pad": float64(m.Halo())}, {"tile": 4096.0}}
				if size[0] > 0 {
					tilings = tilings[:1] // a fixed-size model sees the whole image
				}
				for _, tiling := range tilings {
					params := map[string]any{"file": name, "sha256": sum, "layout": layout, "range": rng}
					if size[0] > 0 {
						params["size"] = []any{float64(size[0]), float64(size[1])}
					}
					for k, v := range tiling {
						params[k] = v
					}
					t.Run(fmt.Sprintf("%s size=%v range=%v tile=%v", layout, size, rng, tiling["tile"]), func(t *testing.T) {
						spec, err := ParseSpec(params)
						if err != nil {
							t.Fatal(err)
						}
						f := generate.NewFrame(img)
						if err := modelStep(t, rt, params).Apply(t.Context(), f); err != nil {
							t.Fatal(err)
						}
						if n, first := mismatches(f.Image, reference(t, img, m, spec)); n != 0 {
							t.Errorf("%d pixels differ; first: %s", n, first)
						}
					})
				}
			}
		}
	}
}

func TestModelStepConcurrentAndScalesDown(t *testing.T) {
	dir := t.TempDir()
	sum := writeModel(t, dir, "m.onnx", mkmodel.Default())
	rt := newRuntime(t, Config{ModelDir: dir})
	step := modelStep(t, rt, map[string]any{"file": "m.onnx", "sha256": sum, "tile": 32.0, "maxSide": 64.0})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			f := generate.NewFrame(testImage(200, 100))
			f.Matte = make([]float32, 200*100)
			if err := step.Apply(t.Context(), f); err != nil {
				errs <- err
				return
			}
			if w, h := f.Size(); w != 64 || h != 32 || len(f.Matte) != 64*32 {
				errs <- fmt.Errorf("frame %dx%d with a matte of %d, want 64x32 with its matte scaled alike", w, h, len(f.Matte))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestModelStepCancelled(t *testing.T) {
	dir := t.TempDir()
	sum := writeModel(t, dir, "m.onnx", mkmodel.Default())
	rt := newRuntime(t, Config{ModelDir: dir})
	between := modelStep(t, rt, map[string]any{"file": "m.onnx", "sha256": sum, "tile": 16.0, "maxSide": 4096.0})
	inside := modelStep(t, rt, map[string]any{"file": "m.onnx", "sha256": sum, "tile": 4096.0, "maxSide": 4096.0})
	img := testImage(2048, 2048)

	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := between.Apply(ctx, generate.NewFrame(img)); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	for _, tt := range []struct {
		name string
		step generate.Step
	}{
		{"between tiles", between},  // 16384 small tiles: ctx is checked before each
		{"inside one tile", inside}, // one Run over the whole image: stopped by RunOptions.Terminate
	} {
		t.Run(tt.name, func(t *testing.T) { cancelMidway(t, tt.step, img) })
	}
}

// cancelMidway runs step once to time it, then again cancelled a tenth of
// the way through: an uncancelled run returns no error, so context.Canceled
// proves the cancellation was honoured, and it must come back sooner than
// a whole run (measured on the same machine, so a slow machine slows both).
func cancelMidway(t *testing.T, step generate.Step, img image.Image) {
	t.Helper()
	// The first run of a size allocates; the bound is a warm run.
	if err := step.Apply(t.Context(), generate.NewFrame(img)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := step.Apply(t.Context(), generate.NewFrame(img)); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(full/10, cancel)
	start = time.Now()
	err := step.Apply(ctx, generate.NewFrame(img))
	took := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if took >= full {
		t.Errorf("cancelled at %v, returned after %v: no sooner than a whole run (%v)", full/10, took, full)
	}
	t.Logf("uncancelled %v, cancelled at %v returned after %v", full, full/10, took)
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	sum := writeModel(t, dir, "m.onnx", mkmodel.Default())
	junk := []byte("not an onnx model")
	if err := os.WriteFile(filepath.Join(dir, "junk.onnx"), junk, 0o644); err != nil {
		t.Fatal(err)
	}
	js := sha256.Sum256(junk)
	rt := newRuntime(t, Config{ModelDir: dir})
	tests := []struct {
		name   string
		params map[string]any
		want   string
		is     error
	}{
		{"wrong checksum", map[string]any{"file": "m.onnx", "sha256": strings.Repeat("0", 64)}, "sha256 is " + sum, nil},
		{"missing file", map[string]any{"file": "gone.onnx", "sha256": sum}, "gone.onnx", fs.ErrNotExist},
		{"no checksum", map[string]any{"file": "m.onnx"}, "sha256", nil},
		{"outside the model dir", map[string]any{"file": "../m.onnx", "sha256": sum}, "relative path", nil},
		{"not a model", map[string]any{"file": "junk.onnx", "sha256": hex.EncodeToString(js[:])}, "junk.onnx", nil},
		{"wrong tensor names", map[string]any{"file": "m.onnx", "sha256": sum, "input": "image"}, "image", nil},
		{"wrong layout", map[string]any{"file": "m.onnx", "sha256": sum, "layout": NHWC}, "trial run", nil},
		{"bad range", map[string]any{"file": "m.onnx", "sha256": sum, "range": []any{1.0, 0.0}}, "range", nil},
		{"unknown setting", map[string]any{"file": "m.onnx", "sha256": sum, "tiles": 3.0}, "tiles", nil},
		{"a matte model in a model step", map[string]any{"file": "m.onnx", "sha256": sum, "kind": KindMatte, "size": []any{8.0, 8.0}}, "kind", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NewStep(t.Context(), rt, "model", tt.params, nil)
			if err == nil {
				t.Fatal("NewStep succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.is)
			}
		})
	}
	if _, err := NewRuntime(Config{LibraryPath: library(t), ModelDir: dir, Device: "tpu"}); err == nil || !strings.Contains(err.Error(), "tpu") {
		t.Errorf("device tpu: err = %v", err)
	}
	gs := newRuntime(t, Config{ModelDir: "gs://models/v1"})
	if _, _, err := NewStep(t.Context(), gs, "model", map[string]any{"file": "m.onnx", "sha256": sum}, nil); err == nil || !strings.Contains(err.Error(), "gs://models/v1/m.onnx") {
		t.Errorf("gs:// without Fetch: err = %v", err)
	}
}

func TestModelFromCloudStorage(t *testing.T) {
	dir := t.TempDir()
	m := mkmodel.Default()
	sum := writeModel(t, dir, "m.onnx", m)
	data, err := os.ReadFile(filepath.Join(dir, "m.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var asked []string
	fetch := func(ctx context.Context, bucket, object string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, bucket+" "+object)
		if bucket == "models" && object == "v1/m.onnx" {
			return data, nil
		}
		return nil, fs.ErrNotExist
	}
	rt := newRuntime(t, Config{ModelDir: "gs://models/v1", Fetch: fetch})
	params := map[string]any{"file": "m.onnx", "sha256": sum, "tile": 64.0, "pad": 4.0}
	// Two steps on one model: it is fetched and loaded once.
	modelStep(t, rt, params)
	step := modelStep(t, rt, params)
	if len(asked) != 1 || asked[0] != "models v1/m.onnx" {
		t.Errorf("fetched %q, want [\"models v1/m.onnx\"] once", asked)
	}
	img := testImage(70, 50)
	f := generate.NewFrame(img)
	if err := step.Apply(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	spec, _ := ParseSpec(params)
	if n, first := mismatches(f.Image, reference(t, img, m, spec)); n != 0 {
		t.Errorf("%d pixels differ; first: %s", n, first)
	}
}

func TestCloseTwiceAndRunAfterClose(t *testing.T) {
	dir := t.TempDir()
	sum := writeModel(t, dir, "m.onnx", mkmodel.Default())
	params := map[string]any{"file": "m.onnx", "sha256": sum}
	// Two Runtimes share the environment; closing one leaves the other working.
	rt1, rt2 := newRuntime(t, Config{ModelDir: dir}), newRuntime(t, Config{ModelDir: dir})
	s1, s2 := modelStep(t, rt1, params), modelStep(t, rt2, params)
	for range 2 {
		if err := rt1.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s1.Apply(t.Context(), generate.NewFrame(testImage(8, 8))); err == nil {
		t.Error("a step of a closed Runtime ran")
	}
	if err := s2.Apply(t.Context(), generate.NewFrame(testImage(8, 8))); err != nil {
		t.Errorf("the other Runtime: %v", err)
	}
}

// TestCUDA documents what Device "cuda" does: with a CUDA build of ONNX
// Runtime and a GPU it must give the CPU result; otherwise it must refuse
// with a clear error rather than fall back to the CPU silently. Without a
// GPU it checks the refusal and skips; `make gpu-check` runs it on a GPU
// machine with TIGER_REQUIRE_CUDA=1 (and ORT_LIBRARY_PATH naming the CUDA
// build), where a refusal fails it.
func TestCUDA(t *testing.T) {
	dir := t.TempDir()
	m := mkmodel.Default()
	sum := writeModel(t, dir, "m.onnx", m)
	lib := os.Getenv("ORT_LIBRARY_PATH")
	if lib == "" {
		lib = library(t)
	}
	rt, err := NewRuntime(Config{LibraryPath: lib, Device: DeviceCUDA, ModelDir: dir})
	if err != nil {
		if !strings.Contains(err.Error(), "CUDA") {
			t.Errorf("err = %v, want it to mention CUDA", err)
		}
		if os.Getenv("TIGER_REQUIRE_CUDA") == "1" {
			t.Fatalf("TIGER_REQUIRE_CUDA=1 but: %v", err)
		}
		t.Skipf("no CUDA here (%v): the GPU check (make gpu-check, on a GPU machine) runs this test", err)
	}
	defer rt.Close()
	params := map[string]any{"file": "m.onnx", "sha256": sum, "tile": 64.0, "pad": 4.0}
	img := testImage(150, 100)
	f := generate.NewFrame(img)
	if err := modelStep(t, rt, params).Apply(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	spec, _ := ParseSpec(params)
	if n, first := mismatches(f.Image, reference(t, img, m, spec)); n != 0 {
		t.Errorf("%d pixels differ on CUDA; first: %s", n, first)
	}
}

// TestEnvironmentLastCloseEndsIt: a Runtime closing while another runs
// leaves the environment to the other, which keeps running; the last
// Close destroys it and the next NewRuntime starts it again. Repeated, as
// a freed environment fails only sometimes.
func TestEnvironmentLastCloseEndsIt(t *testing.T) {
	dir := t.TempDir()
	sum := writeModel(t, dir, "m.onnx", mkmodel.Default())
	params := map[string]any{"file": "m.onnx", "sha256": sum}
	holders := func() int {
		environment.mu.Lock()
		defer environment.mu.Unlock()
		return environment.refs
	}
	before := holders()
	for round := range 5 {
		rt1, rt2 := newRuntime(t, Config{ModelDir: dir}), newRuntime(t, Config{ModelDir: dir})
		if got := holders(); got != before+2 {
			t.Fatalf("round %d: %d holders with two Runtimes open, want %d", round, got, before+2)
		}
		s2 := modelStep(t, rt2, params)
		var wg sync.WaitGroup
		wg.Go(func() {
			for range 10 {
				if err := s2.Apply(t.Context(), generate.NewFrame(testImage(32, 32))); err != nil {
					t.Errorf("round %d: the open Runtime failed while the other closed: %v", round, err)
					return
				}
			}
		})
		if err := rt1.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if !ort.IsInitialized() {
			t.Fatalf("round %d: the environment ended with a Runtime still open", round)
		}
		if err := rt2.Close(); err != nil {
			t.Fatal(err)
		}
		if got := holders(); got != before {
			t.Fatalf("round %d: %d holders after both closed, want %d", round, got, before)
		}
		if before == 0 && ort.IsInitialized() {
			t.Fatalf("round %d: the environment outlived its last Runtime", round)
		}
	}
	if before == 0 {
		if err := releaseEnvironment(); err == nil {
			t.Error("releasing an environment nobody holds was accepted")
		}
	}
}
