package worker_test

import (
	"context"
	"encoding/json"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tigerstudio/studio/infra/blob"
	"github.com/tigerstudio/studio/infra/jobs"
	"github.com/tigerstudio/studio/infra/styles"
	"github.com/tigerstudio/studio/infra/testenv"
	"github.com/tigerstudio/studio/worker"
	"github.com/tigerstudio/studio/worker/generate/onnx"
)

// TestONNXStyleEndToEnd runs a one-step onnx style (the catalogue's older
// form) through the whole path: the catalogue names a model the project
// builds itself, the worker's Generator loads it (checksummed) into ONNX
// Runtime, and a job submitted through the Gateway succeeds with it.
func TestONNXStyleEndToEnd(t *testing.T) {
	t.Parallel()
	lib, dir, stylesFile := testConvStyle(t)
	h := newHarnessWithStyles(t, stylesFile)
	gen, closeGen, err := worker.Generator(context.Background(),
		&worker.Config{ORTLibraryPath: lib, ModelDir: dir, Device: "cpu"}, h.catalogue, blob.NewReader(h.gcs))
	if err != nil {
		t.Fatalf("Generator: %v", err)
	}
	t.Cleanup(closeGen)
	h.startWorker(t, workerOpts{generator: gen})
	user := h.stack.NewUser(t, testenv.UserOpts{})
	id := h.submit(t, user, "neural", jobs.Online)
	j := h.waitStatus(t, id, jobs.Succeeded)
	if j.Response.Backend != "onnx" || j.Response.Model != "test-conv" || len(j.Response.Outputs) != 1 {
		t.Errorf("response %+v, want one onnx output", j.Response)
	}
	if o := j.Response.Outputs[0]; o.Width != 96 || o.Height != 128 {
		t.Errorf("output %dx%d, want the input's 96x128", o.Width, o.Height)
	}

	// A model whose checksum does not match is refused at start.
	bad, _ := styles.Parse([]byte(`[{"id":"x","name":"x","backend":"onnx","model":"m","params":{"file":"test-conv.onnx","sha256":"00"}}]`))
	if _, _, err := worker.Generator(context.Background(), &worker.Config{ORTLibraryPath: lib, ModelDir: dir, Device: "cpu"}, bad, nil); err == nil {
		t.Error("Generator accepted a model with the wrong checksum")
	}
}

// testConvStyle writes a catalogue with one onnx style, "neural", running a
// small network the project builds itself (mkmodel), and returns the ONNX
// Runtime library, the model folder and the catalogue file.
func testConvStyle(t *testing.T) (lib, dir, stylesFile string) {
	t.Helper()
	lib, err := onnx.FindLibrary("..")
	testenv.Require(t, err)
	dir = t.TempDir()
	out, err := exec.Command("go", "run", "./generate/onnx/internal/mkmodel/cmd/mkmodel", "-o", filepath.Join(dir, "test-conv.onnx")).Output()
	if err != nil {
		t.Fatalf("mkmodel: %v", err)
	}
	var model struct{ File, SHA256 string }
	if err := json.Unmarshal(out, &model); err != nil {
		t.Fatalf("mkmodel output %q: %v", out, err)
	}
	catalogue, _ := json.Marshal([]styles.Style{{
		ID: "neural", Name: "Neural test filter", Description: "a small fixed-weight network",
		Backend: "onnx", Model: "test-conv",
		Params: map[string]any{"file": filepath.Base(model.File), "sha256": model.SHA256, "tile": 128},
	}})
	stylesFile = filepath.Join(dir, "styles.json")
	if err := os.WriteFile(stylesFile, catalogue, 0o644); err != nil {
		t.Fatal(err)
	}
	return lib, dir, stylesFile
}

// TestGeneratorsCloseIndependently: two Generators in one process (the
// tests, a reload of the catalogue); closing one while the other generates
// must not tear ONNX Runtime down under the other (issue 22: closing one
// destroyed the process's environment, and the other's next call crashed
// the process in cgo).
func TestGeneratorsCloseIndependently(t *testing.T) {
	lib, dir, stylesFile := testConvStyle(t)
	cat, err := styles.Load(stylesFile)
	if err != nil {
		t.Fatal(err)
	}
	style, _ := cat.Lookup("neural")
	in := image.NewNRGBA(image.Rect(0, 0, 160, 120))
	cfg := &worker.Config{ORTLibraryPath: lib, ModelDir: dir, Device: "cpu"}
	for round := range 5 {
		gen1, close1, err := worker.Generator(t.Context(), cfg, cat, nil)
		if err != nil {
			t.Fatal(err)
		}
		gen2, close2, err := worker.Generator(t.Context(), cfg, cat, nil)
		if err != nil {
			t.Fatal(err)
		}
		// gen2 keeps generating while gen1 closes under it.
		var wg sync.WaitGroup
		errs := make(chan error, 1)
		wg.Go(func() {
			for range 20 {
				if _, err := gen2.Generate(t.Context(), style, in); err != nil {
					errs <- err
					return
				}
			}
		})
		close1()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: the open Generator failed after the other closed: %v", round, err)
		}
		if _, err := gen1.Generate(t.Context(), style, in); err == nil {
			t.Fatalf("round %d: a closed Generator generated", round)
		}
		res, err := gen2.Generate(t.Context(), style, in)
		if err != nil || len(res.Images) != 1 {
			t.Fatalf("round %d: the open Generator after the other closed: %v (%d images)", round, err, len(res.Images))
		}
		close2()
		// The last Close ended ONNX Runtime; the next round starts it again.
	}
}
