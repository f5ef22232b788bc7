// Package gpucheck is the worker's check on a GPU machine (make gpu-check
// builds it, gpucheck.sh runs it there): every ONNX model of the catalogue
// on CUDA against the CPU, each model's time on CUDA, each local style's
// photo-to-result on CUDA without the stack, and the GPU's memory; it prints
// one table. Its test refuses (fails, saying why) unless TIGER_GPU_CHECK=1
// and CUDA works; elsewhere it skips.
package gpucheck

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tigerstudio/studio/infra/samples"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/builtin"
	"github.com/tigerstudio/studio/worker/generate/onnx"
	"github.com/tigerstudio/studio/worker/generate/pipeline"
	"github.com/tigerstudio/studio/worker/imaging"
)

// Tolerances of CUDA against the CPU: cuDNN's kernels (TF32 on Ampere and
// later) round differently, never by more than these on the outputs the
// worker uses.
const (
	boxTolerancePx   = 1.0  // a face box's corners, in image pixels
	scoreTolerance   = 0.01 // a face's score
	matteTolerance   = 0.02 // the matte's alpha, 0..1
	imageToleranceLv = 4    // an output image's channel, in 8-bit levels
)

// timedRuns is how many timed runs each model and style gets after a
// warm-up (a dry run takes one).
const timedRuns = 10

// TestGPUCheck is the check. It needs ORT_LIBRARY_PATH (ONNX Runtime's GPU
// build), MODEL_DIR and STYLES_FILE, as gpucheck.sh sets them.
func TestGPUCheck(t *testing.T) {
	if os.Getenv("TIGER_GPU_CHECK") != "1" {
		t.Skip("the GPU check runs on a GPU machine: make gpu-check (see worker/gpucheck/gpucheck.sh)")
	}
	lib, models, stylesFile := os.Getenv("ORT_LIBRARY_PATH"), os.Getenv("MODEL_DIR"), os.Getenv("STYLES_FILE")
	if lib == "" || models == "" || stylesFile == "" {
		t.Fatal("ORT_LIBRARY_PATH, MODEL_DIR and STYLES_FILE must name the GPU build, the models and the catalogue")
	}
	all, err := styles.Load(stylesFile)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := all.WithoutGenerated() // hosted models are not run here
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := onnx.NewRuntime(onnx.Config{LibraryPath: lib, ModelDir: models, Device: onnx.DeviceCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	// A dry run (TIGER_GPU_CHECK_DRY=1) takes the CPU for the GPU, to try
	// the check itself where there is no GPU; its table says so.
	device, dry, runs := onnx.DeviceCUDA, os.Getenv("TIGER_GPU_CHECK_DRY") == "1", timedRuns
	if dry {
		device, runs = onnx.DeviceCPU, 1
	}
	gpu, err := onnx.NewRuntime(onnx.Config{LibraryPath: lib, ModelDir: models, Device: device})
	if err != nil {
		t.Fatalf("CUDA does not start (the GPU check refuses to report CPU figures as GPU ones): %v", err)
	}
	defer gpu.Close()
	photo, err := imaging.Decode(samples.Astronaut())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var table []string
	row := func(format string, args ...any) { table = append(table, fmt.Sprintf(format, args...)) }
	if dry {
		row("DRY RUN: the CPU stands in for CUDA; these are not GPU figures")
	}
	row("| what | CUDA vs CPU (max difference, tolerance) | CUDA ms (median of %d) | CPU ms |", runs)
	row("|---|---|--:|--:|")

	names, err := modelNames(stylesFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		style, at, ok := firstUse(cat, name)
		if !ok {
			row("| model %s | not used by a local style: not run | | |", name)
			continue
		}
		// The frame the model step gets in its style: the steps before
		// it, on the CPU.
		in := generate.NewFrame(photo)
		for _, st := range style.Steps[:at] {
			if err := build(ctx, t, cpu, cat, st).Apply(ctx, in); err != nil {
				t.Fatalf("model %s: style %s before it: %v", name, style.ID, err)
			}
		}
		st := style.Steps[at]
		onCPU, cpuMs := timed(ctx, t, build(ctx, t, cpu, cat, st), in, runs)
		onGPU, gpuMs := timed(ctx, t, build(ctx, t, gpu, cat, st), in, runs)
		diff, ok := compare(onCPU, onGPU)
		if !ok {
			t.Errorf("model %s (%s step): CUDA differs from the CPU beyond the tolerance: %s", name, st.Kind, diff)
		}
		row("| model %s (%s) | %s | %.1f | %.1f |", name, st.Kind, diff, gpuMs, cpuMs)
	}

	ps, err := pipeline.BuildWith(ctx, cat, pipeline.Deps{Runtime: gpu})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cat.All() {
		var ds []time.Duration
		for i := range runs + 1 {
			start := time.Now()
			if _, err := ps.Generate(ctx, s, photo); err != nil {
				t.Fatalf("style %s on CUDA: %v", s.ID, err)
			}
			if i > 0 { // the first run of a shape picks its kernels
				ds = append(ds, time.Since(start))
			}
		}
		row("| style %s, photo to result | | %.1f | |", s.ID, median(ds))
	}
	if out, err := exec.CommandContext(ctx, "nvidia-smi", "--query-gpu=name,driver_version,memory.used,memory.total", "--format=csv,noheader").Output(); err == nil {
		row("| GPU (name, driver, memory used, total) with every model loaded | %s | | |", strings.TrimSpace(string(out)))
	} else {
		row("| GPU memory | nvidia-smi failed: %v | | |", err)
	}
	fmt.Println(strings.Join(table, "\n"))
}

// modelNames lists the catalogue's models, in its order.
func modelNames(stylesFile string) ([]string, error) {
	data, err := os.ReadFile(stylesFile)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Models map[string]json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", stylesFile, err)
	}
	names := make([]string, 0, len(doc.Models))
	for n := range doc.Models {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// firstUse finds the first local style with a step naming the model.
func firstUse(cat *styles.Catalogue, model string) (styles.Style, int, bool) {
	for _, s := range cat.All() {
		for i, st := range s.Steps {
			if st.Params["model"] == model {
				return s, i, true
			}
		}
	}
	return styles.Style{}, 0, false
}

func build(ctx context.Context, t *testing.T, rt *onnx.Runtime, cat *styles.Catalogue, st styles.Step) generate.Step {
	t.Helper()
	if step, ok, err := onnx.NewStep(ctx, rt, st.Kind, st.Params, cat.Model); ok {
		if err != nil {
			t.Fatalf("step %s: %v", st.Kind, err)
		}
		return step
	}
	step, _, ok, err := builtin.New(st.Kind, st.Params)
	if !ok || err != nil {
		t.Fatalf("step %s: ok %v, %v", st.Kind, ok, err)
	}
	return step
}

// timed applies step to copies of in: once to warm up, then runs times;
// it returns the last result and the median ms.
func timed(ctx context.Context, t *testing.T, step generate.Step, in *generate.Frame, runs int) (*generate.Frame, float64) {
	t.Helper()
	var out *generate.Frame
	var ds []time.Duration
	for i := range runs + 1 {
		f := copyFrame(in)
		start := time.Now()
		if err := step.Apply(ctx, f); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			ds = append(ds, time.Since(start))
		}
		out = f
	}
	return out, median(ds)
}

func copyFrame(f *generate.Frame) *generate.Frame {
	c := *f
	c.Image = &image.NRGBA{Pix: slices.Clone(f.Image.Pix), Stride: f.Image.Stride, Rect: f.Image.Rect}
	c.Matte = slices.Clone(f.Matte)
	c.Faces = slices.Clone(f.Faces)
	for i := range c.Faces {
		c.Faces[i].Keypoints = slices.Clone(c.Faces[i].Keypoints)
	}
	return &c
}

func median(ds []time.Duration) float64 {
	slices.Sort(ds)
	return float64(ds[len(ds)/2].Microseconds()) / 1000
}

// compare says how far the GPU's frame is from the CPU's in what the
// model step changed (faces, matte, image) and whether that is within the
// tolerances.
func compare(cpu, gpu *generate.Frame) (string, bool) {
	var parts []string
	ok := true
	if len(cpu.Faces) != len(gpu.Faces) {
		return fmt.Sprintf("%d faces on CUDA, %d on the CPU", len(gpu.Faces), len(cpu.Faces)), false
	}
	if len(cpu.Faces) > 0 {
		box, score := 0.0, 0.0
		for i, a := range cpu.Faces {
			b := gpu.Faces[i]
			for _, d := range []float64{a.Box.X0 - b.Box.X0, a.Box.Y0 - b.Box.Y0, a.Box.X1 - b.Box.X1, a.Box.Y1 - b.Box.Y1} {
				box = math.Max(box, math.Abs(d))
			}
			score = math.Max(score, math.Abs(float64(a.Score-b.Score)))
		}
		ok = ok && box <= boxTolerancePx && score <= scoreTolerance
		parts = append(parts, fmt.Sprintf("face box %.3f px (%.0f), score %.4f (%.2f)", box, boxTolerancePx, score, scoreTolerance))
	}
	if cpu.Matte != nil && len(cpu.Matte) == len(gpu.Matte) {
		m := 0.0
		for i, a := range cpu.Matte {
			m = math.Max(m, math.Abs(float64(a-gpu.Matte[i])))
		}
		ok = ok && m <= matteTolerance
		parts = append(parts, fmt.Sprintf("matte %.4f (%.2f)", m, matteTolerance))
	}
	if cpu.Image.Rect != gpu.Image.Rect {
		return fmt.Sprintf("image %v on CUDA, %v on the CPU", gpu.Image.Rect, cpu.Image.Rect), false
	}
	lv := 0
	for i, a := range cpu.Image.Pix {
		lv = max(lv, int(math.Abs(float64(int(a)-int(gpu.Image.Pix[i])))))
	}
	ok = ok && lv <= imageToleranceLv
	parts = append(parts, fmt.Sprintf("image %d levels (%d)", lv, imageToleranceLv))
	return strings.Join(parts, "; "), ok
}
