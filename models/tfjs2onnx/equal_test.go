package tfjs2onnx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tigerstudio/studio/infra/testenv"
)

// checkDir is the npm project with the TF.js reference (make setup runs
// npm ci there): @tensorflow/tfjs and the original UpscalerJS package.
const checkDir = repoRoot + "/models/tfjs-check"

// EqualTolerance is the largest difference allowed between the TF.js model
// and its ONNX conversion, in the models' output units (0..255 per channel):
// a fiftieth of one 8-bit grey level. Float32 summation order alone differs
// (measured: 3e-4 for esrgan-thick x4).
const EqualTolerance = 0.02

// The converted esrgan-thick x4 gives what the original gives in
// TensorFlow.js (pure-JS CPU backend) on the same input, within
// EqualTolerance; and the copy models/install.sh installed is byte for byte
// this conversion.
func TestMatchesTFJS(t *testing.T) {
	modelJSON := filepath.Join(checkDir, "node_modules", "@upscalerjs", "esrgan-thick", "models", "x4", "model.json")
	if _, err := os.Stat(modelJSON); err != nil {
		testenv.Require(t, fmt.Errorf("the TF.js reference is not installed (npm ci in models/tfjs-check, make setup): %w", err))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Require(t, fmt.Errorf("node: %w", err))
	}
	m, err := Load(modelJSON)
	if err != nil {
		t.Fatal(err)
	}
	model, err := Convert(m)
	if err != nil {
		t.Fatal(err)
	}
	if installed, err := os.ReadFile(filepath.Join(repoRoot, "models", "esrgan-thick-x4.onnx")); err == nil && !bytes.Equal(installed, model) {
		t.Error("models/esrgan-thick-x4.onnx is not this conversion of @upscalerjs/esrgan-thick@1.0.0 x4")
	}

	// A small image with edges and flat areas, in the models' 0..255.
	const h, w, scale = 10, 12, 4
	f := &fixture{seed: 11}
	x := make([]float32, h*w*3)
	for i := range x {
		px := i / 3 % w
		x[i] = float32(px*10%256) + 100*f.next() + 60
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32")
	var buf []byte
	for _, v := range x {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	if err := os.WriteFile(in, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "reference.js", mustAbs(t, modelJSON), in, out, fmt.Sprint(h), fmt.Sprint(w), "3")
	cmd.Dir = checkDir
	if outb, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the TF.js reference failed: %v\n%s", err, outb)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, oh, ow, oc := runONNX(t, model, x, h, w, 3)
	if oh != h*scale || ow != w*scale || oc != 3 || len(raw) != 4*len(got) {
		t.Fatalf("ONNX output %dx%dx%d (%d values), TF.js gave %d values; want %dx%dx3", oh, ow, oc, len(got), len(raw)/4, h*scale, w*scale)
	}
	worst, at := 0.0, 0
	for i, v := range got {
		ref := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if d := math.Abs(float64(v - ref)); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	t.Logf("esrgan-thick x4, %dx%d input: largest difference TF.js vs ONNX Runtime %.2g (tolerance %g)", w, h, worst, EqualTolerance)
	if !(worst <= EqualTolerance) {
		t.Fatalf("value %d differs by %g (tolerance %g)", at, worst, EqualTolerance)
	}
}

func mustAbs(t testing.TB, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
