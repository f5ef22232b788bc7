package worker_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
	lib, err := onnx.FindLibrary("..")
	testenv.Require(t, err)
	dir := t.TempDir()
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
	stylesFile := filepath.Join(dir, "styles.json")
	if err := os.WriteFile(stylesFile, catalogue, 0o644); err != nil {
		t.Fatal(err)
	}

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
