package onnx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tigerstudio/studio/worker/generate/onnx/internal/mkmodel"
)

// These tests need no ONNX Runtime: the tiling is checked against the
// pure-Go model, so seams are caught even where the library is missing.

func TestRunTiledIsWholeImage(t *testing.T) {
	m := mkmodel.Default()
	const w, h = 41, 29
	src := planar{w: w, h: h, c: 3, pix: make([]float32, 3*w*h)}
	for i := range src.pix {
		src.pix[i] = float32(i*7919%1000) / 1000
	}
	want, err := m.Apply(src.pix, h, w)
	if err != nil {
		t.Fatal(err)
	}
	run := func(ctx context.Context, in []float32, h, w int, out []float32) error {
		y, err := m.Apply(in, h, w)
		copy(out, y)
		return err
	}
	for _, tc := range []struct{ tile, pad int }{{8, 2}, {8, 5}, {16, 2}, {1, 2}, {64, 0}, {7, 3}, {41, 2}} {
		got, err := runTiled(t.Context(), src, tc.tile, tc.pad, run)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got.pix[i] != want[i] {
				t.Errorf("tile %d pad %d: value %d (c %d, y %d, x %d) = %v, want %v",
					tc.tile, tc.pad, i, i/(w*h), i%(w*h)/w, i%w, got.pix[i], want[i])
				break
			}
		}
	}
}

func TestRunTiledStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	run := func(ctx context.Context, in []float32, h, w int, out []float32) error {
		if calls++; calls == 3 {
			cancel()
		}
		return nil
	}
	src := planar{w: 100, h: 100, c: 3, pix: make([]float32, 3*100*100)}
	if _, err := runTiled(ctx, src, 10, 2, run); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if calls != 3 {
		t.Errorf("%d tiles run, want none after the cancel", calls)
	}
}

func TestParseSpec(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	ok := func(extra map[string]any) map[string]any {
		p := map[string]any{"file": "m/a.onnx", "sha256": sum}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	p, err := ParseSpec(ok(map[string]any{"tile": 128.0, "pad": 0.0, "maxSide": 2048, "mean": []any{0.5, 0.5, 0.5}, "std": []any{0.25, 0.5, 1.0}, "range": []any{-1.0, 1.0}, "layout": "NHWC"}))
	if err != nil {
		t.Fatal(err)
	}
	if p.File != "m/a.onnx" || p.Tile != 128 || p.Pad != 0 || p.MaxSide != 2048 || p.Layout != NHWC || p.Kind != KindImage {
		t.Errorf("parsed %+v", p)
	}
	// v = 0.75 in R: (0.75-0.5)/0.25 = 1 in [0,1] units, -1 + 2*1 = 1 in [-1,1].
	if got := p.normalise(0, 0.75); got != 1 {
		t.Errorf("normalise(R, 0.75) = %v, want 1", got)
	}
	if got := p.denormalise(0); got != 0.5 {
		t.Errorf("denormalise(0) in [-1,1] = %v, want 0.5", got)
	}
	if p, _ := ParseSpec(ok(nil)); p.Tile != defaultTile || p.Pad != defaultPad || p.MaxSide != defaultMaxSide || p.Layout != NCHW || p.Input != "input" || p.Output != "output" {
		t.Errorf("defaults %+v", p)
	}

	for _, tc := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"no file", map[string]any{"sha256": sum}, "file"},
		{"absolute file", ok(map[string]any{"file": "/etc/passwd"}), "relative path"},
		{"escaping file", ok(map[string]any{"file": "../x.onnx"}), "relative path"},
		{"short sum", ok(map[string]any{"sha256": "abcd"}), "sha256"},
		{"fractional tile", ok(map[string]any{"tile": 1.5}), "tile"},
		{"negative pad", ok(map[string]any{"pad": -1.0}), "pad"},
		{"string maxSide", ok(map[string]any{"maxSide": "big"}), "maxSide"},
		{"two means", ok(map[string]any{"mean": []any{0.1, 0.2}}), "mean"},
		{"zero std", ok(map[string]any{"std": []any{1.0, 0.0, 1.0}}), "std[1]"},
		{"unknown layout", ok(map[string]any{"layout": "CHW"}), "layout"},
		{"matte without size", ok(map[string]any{"kind": KindMatte}), "size"},
		{"detector without anchors", ok(map[string]any{"kind": KindFaceDetector, "size": []any{128.0, 128.0}}), "anchors"},
		{"unknown kind", ok(map[string]any{"kind": "upscaler"}), "kind"},
		{"channel out of range", ok(map[string]any{"kind": KindMatte, "size": []any{8.0, 8.0}, "channel": 1.0}), "channel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseSpec(tc.params); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestFindLibrary(t *testing.T) {
	t.Run("env names a missing file", func(t *testing.T) {
		t.Setenv(LibraryEnv, filepath.Join(t.TempDir(), "libonnxruntime.so.1"))
		if _, err := FindLibrary(t.TempDir()); !errors.Is(err, ErrLibraryNotFound) {
			t.Errorf("err = %v, want ErrLibraryNotFound", err)
		}
	})
	t.Run("nothing installed", func(t *testing.T) {
		t.Setenv(LibraryEnv, "")
		_, err := FindLibrary(t.TempDir())
		if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "install.sh") {
			t.Errorf("err = %v, want ErrLibraryNotFound saying how to install", err)
		}
	})
	t.Run("installed by npm", func(t *testing.T) {
		t.Setenv(LibraryEnv, "")
		root := t.TempDir()
		dir := filepath.Join(root, "worker/onnxruntime/node_modules/onnxruntime-node/bin/napi-v6/linux/x64")
		arm := filepath.Join(root, "worker/onnxruntime/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64")
		for _, d := range []string{dir, arm} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "libonnxruntime.so.1"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := FindLibrary(root)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(got) != dir && filepath.Dir(got) != arm || !strings.HasSuffix(got, "libonnxruntime.so.1") {
			t.Errorf("got %s", got)
		}
	})
}
