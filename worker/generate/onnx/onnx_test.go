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

	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/onnx/internal/mkmodel"
)

// repoRoot is where FindLibrary looks for worker/onnxruntime/node_modules;
// go test runs in the package directory.
const repoRoot = "../../.."

func TestMain(m *testing.M) {
	code := m.Run()
	if err := Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// library returns the ONNX Runtime library, skipping the test when it is not
// installed unless TIGER_REQUIRE_STACK=1 says the full stack must be there.
func library(tb testing.TB) string {
	tb.Helper()
	lib, err := FindLibrary(repoRoot)
	if err != nil {
		if os.Getenv("TIGER_REQUIRE_STACK") == "1" {
			tb.Fatalf("TIGER_REQUIRE_STACK=1 but: %v", err)
		}
		tb.Skipf("skipping: %v", err)
	}
	return lib
}

// writeModel writes the test model into a new directory and returns the
// directory and the model's checksum.
func writeModel(tb testing.TB) (dir, sum string) {
	tb.Helper()
	data, err := mkmodel.Default().ONNX()
	if err != nil {
		tb.Fatal(err)
	}
	dir = tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test.onnx"), data, 0o644); err != nil {
		tb.Fatal(err)
	}
	s := sha256.Sum256(data)
	return dir, hex.EncodeToString(s[:])
}

func onnxStyle(id, sum string, extra map[string]any) styles.Style {
	p := map[string]any{"file": "test.onnx", "sha256": sum}
	for k, v := range extra {
		p[k] = v
	}
	return styles.Style{ID: id, Name: id, Backend: Backend, Model: "test-conv", Params: p}
}

// testImage is deterministic and busy (gradients, stripes, a disc) so that
// tile seams would show.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x*7 + y*13) % 256), 255}
			if (x-w/2)*(x-w/2)+(y-h/2)*(y-h/2) < h*h/9 {
				c.R, c.B = c.B, 255-c.R
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// reference computes the model on the whole image in pure Go, quantised to 8
// bits like finish does. norm is the input's mean and std, if any.
func reference(t *testing.T, img *image.RGBA, norm ...[3]float32) *image.NRGBA {
	t.Helper()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	x := make([]float32, 3*w*h)
	for y := range h {
		for xx := range w {
			c := img.RGBAAt(xx, y)
			for ch, v := range []uint8{c.R, c.G, c.B} {
				x[(ch*h+y)*w+xx] = float32(v) / 255
				if len(norm) == 2 {
					x[(ch*h+y)*w+xx] = (float32(v)/255 - norm[0][ch]) / norm[1][ch]
				}
			}
		}
	}
	y, err := mkmodel.Default().Apply(x, h, w)
	if err != nil {
		t.Fatal(err)
	}
	alpha := make([]uint8, w*h)
	for i := range alpha {
		alpha[i] = 255
	}
	return finish(planar{w: w, h: h, pix: y}, alpha)
}

// mismatches counts pixels of got that differ from want by more than 1/255
// in a channel, and describes the first.
func mismatches(got image.Image, want *image.NRGBA) (int, string) {
	if got.Bounds() != want.Bounds() {
		return -1, fmt.Sprintf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	n, first := 0, ""
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA)
			w := want.NRGBAAt(x, y)
			if diff(g.R, w.R) > 1 || diff(g.G, w.G) > 1 || diff(g.B, w.B) > 1 || g.A != w.A {
				if n == 0 {
					first = fmt.Sprintf("pixel (%d,%d) = %v, want %v", x, y, g, w)
				}
				n++
			}
		}
	}
	return n, first
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestGenerateMatchesWholeImage(t *testing.T) {
	lib := library(t)
	dir, sum := writeModel(t)
	halo := mkmodel.Default().Halo()
	mean, std := [3]float32{0.5, 0.4, 0.3}, [3]float32{0.5, 0.25, 2}
	tests := []struct {
		name      string
		params    map[string]any
		norm      [][3]float32
		wantSeams bool
	}{
		{"tile 64 pad 4 (partial last tiles)", map[string]any{"tile": 64.0, "pad": 4.0}, nil, false},
		{"pad equal to the receptive radius", map[string]any{"tile": 64.0, "pad": float64(halo)}, nil, false},
		{"odd tile", map[string]any{"tile": 37.0, "pad": 3.0}, nil, false},
		{"tiny tiles", map[string]any{"tile": 5.0, "pad": 2.0}, nil, false},
		{"one tile (defaults)", nil, nil, false},
		{"normalised input", map[string]any{"tile": 64.0, "pad": 4.0, "mean": []any{0.5, 0.4, 0.3}, "std": []any{0.5, 0.25, 2.0}}, [][3]float32{mean, std}, false},
		// Proves the comparison can see seams at all.
		{"pad 0 shows seams", map[string]any{"tile": 64.0, "pad": 0.0}, nil, true},
	}
	var catalogue []styles.Style
	for i, tt := range tests {
		catalogue = append(catalogue, onnxStyle(fmt.Sprint("s", i), sum, tt.params))
	}
	// A style of another backend is not this package's business.
	catalogue = append(catalogue, styles.Style{ID: "other", Backend: "builtin", Model: "x"})

	g, err := New(t.Context(), Config{LibraryPath: lib, Device: DeviceCPU, ModelDir: dir}, catalogue)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if len(g.sessions) != 1 {
		t.Errorf("%d sessions for one model file, want it loaded once", len(g.sessions))
	}

	img := testImage(150, 100)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := g.Generate(t.Context(), catalogue[i], img)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 {
				t.Fatalf("%d outputs, want 1", len(out))
			}
			n, first := mismatches(out[0], reference(t, img, tt.norm...))
			switch {
			case n < 0:
				t.Fatal(first)
			case tt.wantSeams && n == 0:
				t.Error("no pixel differs from the whole-image result; the comparison cannot detect seams")
			case !tt.wantSeams && n > 0:
				t.Errorf("%d pixels differ from the whole-image convolution; first: %s", n, first)
			}
		})
	}
}

// The worker runs several jobs at once on one Generator.
func TestGenerateConcurrent(t *testing.T) {
	lib := library(t)
	dir, sum := writeModel(t)
	st := onnxStyle("s", sum, map[string]any{"tile": 32.0, "pad": 4.0})
	g, err := New(t.Context(), Config{LibraryPath: lib, ModelDir: dir, Threads: 1}, []styles.Style{st})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	img := testImage(90, 70)
	want := reference(t, img)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			out, err := g.Generate(t.Context(), st, img)
			if err != nil {
				t.Error(err)
				return
			}
			if n, first := mismatches(out[0], want); n != 0 {
				t.Errorf("%d pixels differ; first: %s", n, first)
			}
		})
	}
	wg.Wait()
}

func TestGenerateScalesDownAndKeepsAlpha(t *testing.T) {
	lib := library(t)
	dir, sum := writeModel(t)
	st := onnxStyle("small", sum, map[string]any{"maxSide": 60.0, "tile": 32.0, "pad": 4.0})
	g, err := New(t.Context(), Config{LibraryPath: lib, ModelDir: dir}, []styles.Style{st})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	img := image.NewNRGBA(image.Rect(10, 20, 160, 120)) // not at the origin, half transparent
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
		if i%4 == 3 {
			img.Pix[i] = 128
		}
	}
	out, err := g.Generate(t.Context(), st, img)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out[0].Bounds(), image.Rect(0, 0, 60, 40); got != want {
		t.Errorf("bounds %v, want %v", got, want)
	}
	if a := color.NRGBAModel.Convert(out[0].At(30, 20)).(color.NRGBA).A; diff(a, 128) > 1 {
		t.Errorf("alpha %d, want the input's 128", a)
	}
}

func TestGenerateInvalidInput(t *testing.T) {
	lib := library(t)
	dir, sum := writeModel(t)
	st := onnxStyle("s", sum, nil)
	g, err := New(t.Context(), Config{LibraryPath: lib, ModelDir: dir}, []styles.Style{st})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	tests := []struct {
		name  string
		style styles.Style
		img   image.Image
	}{
		{"empty image", st, image.NewRGBA(image.Rect(0, 0, 0, 10))},
		{"style not loaded", styles.Style{ID: "nope", Backend: Backend}, testImage(8, 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.Generate(t.Context(), tt.style, tt.img)
			if !errors.Is(err, generate.ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
}

func TestGenerateCancelled(t *testing.T) {
	lib := library(t)
	dir, sum := writeModel(t)
	between := onnxStyle("between", sum, map[string]any{"tile": 16.0, "maxSide": 4096.0})
	inside := onnxStyle("inside", sum, map[string]any{"tile": 4096.0, "maxSide": 4096.0})
	g, err := New(t.Context(), Config{LibraryPath: lib, ModelDir: dir}, []styles.Style{between, inside})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	img := testImage(2048, 2048)

	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := g.Generate(ctx, between, img); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	// The run is cancelled a tenth of the way through an uncancelled run's
	// time: an uncancelled run returns no error, so context.Canceled proves
	// the cancellation was honoured. How fast is logged, not asserted: a
	// loaded CI machine must not fail a timing.
	for _, tt := range []struct {
		name  string
		style styles.Style
	}{
		{"between tiles", between},  // 16384 small tiles: ctx is checked before each
		{"inside one tile", inside}, // one Run over the whole image: stopped by RunOptions.Terminate
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			if _, err := g.Generate(t.Context(), tt.style, img); err != nil {
				t.Fatal(err)
			}
			full := time.Since(start)

			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(full/10, cancel)
			start = time.Now()
			_, err := g.Generate(ctx, tt.style, img)
			took := time.Since(start)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			t.Logf("uncancelled %v, cancelled at %v returned after %v", full, full/10, took)
		})
	}
}

func TestNewRefuses(t *testing.T) {
	lib := library(t)
	dir, sum := writeModel(t)
	wrong := strings.Repeat("0", 64)
	tests := []struct {
		name  string
		cfg   Config
		style styles.Style
		want  string // in the message, which names the style unless the config is wrong
		is    error  // errors.Is, when set
	}{
		{name: "wrong checksum", style: onnxStyle("s", wrong, nil), want: "sha256 is " + sum},
		{name: "missing file", style: styles.Style{ID: "s", Backend: Backend, Params: map[string]any{"file": "gone.onnx", "sha256": sum}}, want: "gone.onnx", is: fs.ErrNotExist},
		{name: "no checksum", style: styles.Style{ID: "s", Backend: Backend, Params: map[string]any{"file": "test.onnx"}}, want: "params.sha256"},
		{name: "file outside the model dir", style: onnxStyle("s", sum, map[string]any{"file": "../test.onnx"}), want: "relative path"},
		{name: "not a model", style: onnxStyle("s", sum, map[string]any{"file": "junk.onnx"}), want: "junk.onnx"},
		{name: "bad tile", style: onnxStyle("s", sum, map[string]any{"tile": 0.0}), want: "params.tile"},
		{name: "bad device", cfg: Config{Device: "tpu"}, style: onnxStyle("s", sum, nil), want: "tpu"},
		{name: "gs without Fetch", cfg: Config{ModelDir: "gs://models/v1"}, style: onnxStyle("s", sum, nil), want: "gs://models/v1/test.onnx"},
	}
	junk := []byte("not an onnx model")
	if err := os.WriteFile(filepath.Join(dir, "junk.onnx"), junk, 0o644); err != nil {
		t.Fatal(err)
	}
	js := sha256.Sum256(junk)
	tests[4].style.Params["sha256"] = hex.EncodeToString(js[:])

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.LibraryPath = lib
			if cfg.ModelDir == "" {
				cfg.ModelDir = dir
			}
			g, err := New(t.Context(), cfg, []styles.Style{tt.style})
			if err == nil {
				g.Close()
				t.Fatal("New succeeded")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if tt.cfg.Device == "" && !strings.Contains(err.Error(), `style "s"`) {
				t.Errorf("err = %v, want it to name the style", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.is)
			}
		})
	}
}

func TestModelFromCloudStorage(t *testing.T) {
	lib := library(t)
	dir, sum := writeModel(t)
	data, err := os.ReadFile(filepath.Join(dir, "test.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	fetch := func(ctx context.Context, bucket, object string) ([]byte, error) {
		asked = append(asked, bucket+" "+object)
		if bucket == "models" && object == "v1/test.onnx" {
			return data, nil
		}
		return nil, fs.ErrNotExist
	}
	st := onnxStyle("s", sum, map[string]any{"tile": 64.0, "pad": 4.0})
	g, err := New(t.Context(), Config{LibraryPath: lib, ModelDir: "gs://models/v1", Fetch: fetch}, []styles.Style{st})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if len(asked) != 1 || asked[0] != "models v1/test.onnx" {
		t.Errorf("fetched %q, want [\"models v1/test.onnx\"]", asked)
	}
	img := testImage(70, 50)
	out, err := g.Generate(t.Context(), st, img)
	if err != nil {
		t.Fatal(err)
	}
	if n, first := mismatches(out[0], reference(t, img)); n != 0 {
		t.Errorf("%d pixels differ; first: %s", n, first)
	}
}

func TestCloseTwiceAndGenerateAfterClose(t *testing.T) {
	lib := library(t)
	dir, sum := writeModel(t)
	st := onnxStyle("s", sum, nil)
	// Two Generators share the environment; closing one leaves the other working.
	g1, err := New(t.Context(), Config{LibraryPath: lib, ModelDir: dir}, []styles.Style{st})
	if err != nil {
		t.Fatal(err)
	}
	g2, err := New(t.Context(), Config{LibraryPath: lib, ModelDir: dir}, []styles.Style{st})
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	for range 2 {
		if err := g1.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g1.Generate(t.Context(), st, testImage(8, 8)); err == nil {
		t.Error("Generate after Close succeeded")
	}
	if _, err := g2.Generate(t.Context(), st, testImage(8, 8)); err != nil {
		t.Errorf("the other Generator: %v", err)
	}
}

// TestCUDA documents what Device "cuda" does: with a CUDA build of ONNX
// Runtime and a GPU it must give the CPU result; otherwise New must refuse
// with a clear error rather than fall back to the CPU silently.
func TestCUDA(t *testing.T) {
	lib := library(t)
	dir, sum := writeModel(t)
	st := onnxStyle("s", sum, map[string]any{"tile": 64.0, "pad": 4.0})
	g, err := New(t.Context(), Config{LibraryPath: lib, Device: DeviceCUDA, ModelDir: dir}, []styles.Style{st})
	if err != nil {
		if !strings.Contains(err.Error(), "CUDA") {
			t.Errorf("err = %v, want it to mention CUDA", err)
		}
		t.Skipf("no CUDA here: %v", err)
	}
	defer g.Close()
	img := testImage(150, 100)
	out, err := g.Generate(t.Context(), st, img)
	if err != nil {
		t.Fatal(err)
	}
	if n, first := mismatches(out[0], reference(t, img)); n != 0 {
		t.Errorf("%d pixels differ on CUDA; first: %s", n, first)
	}
}

// BenchmarkGenerate reports milliseconds per 512x512 image on CPU with the
// default tiling (256 px tiles, 8 px pad).
func BenchmarkGenerate(b *testing.B) {
	lib := library(b)
	dir, sum := writeModel(b)
	st := onnxStyle("s", sum, nil)
	g, err := New(b.Context(), Config{LibraryPath: lib, Device: DeviceCPU, ModelDir: dir}, []styles.Style{st})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	img := testImage(512, 512)
	b.ResetTimer()
	for b.Loop() {
		if _, err := g.Generate(b.Context(), st, img); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/image")
}
