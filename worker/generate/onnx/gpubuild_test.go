package onnx

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tigerstudio/studio/worker/generate"
	"github.com/tigerstudio/studio/worker/generate/onnx/internal/mkmodel"
)

// bindingAPIVersion is ORT_API_VERSION in github.com/yalue/onnxruntime_go
// v1.27.0's onnxruntime_c_api.h: the C API version the binding asks
// OrtGetApiBase()->GetApi for. A library serves every version up to its
// own minor (1.29 serves 1..29) and refuses newer ones.
const bindingAPIVersion = 24

// gpuBuildChild names the library a child process of
// TestGPUBuildServesTheBindingsAPI loads: the process's ONNX Runtime
// environment is global to the binding, and the rest of the tests hold the
// CPU build.
const gpuBuildChild = "TIGER_TEST_GPU_BUILD_LIBRARY"

// TestGPUBuildServesTheBindingsAPI: ONNX Runtime 1.29.0's GPU build, as
// install-cuda.sh installs it, starts with the C API version the binding
// asks for, says it is 1.29.0, and runs a model on the CPU (its CUDA
// provider is loaded only for Device "cuda", so no GPU is needed here) with
// the Go reference's result. Skipped where the GPU build is not installed
// (WORKER_DEVICE=cuda make setup installs it).
func TestGPUBuildServesTheBindingsAPI(t *testing.T) {
	if lib := os.Getenv(gpuBuildChild); lib != "" {
		gpuBuildRuns(t, lib)
		return
	}
	if minor, err := strconv.Atoi(strings.Split(CUDAORTVersion, ".")[1]); err != nil || minor < bindingAPIVersion {
		t.Fatalf("ONNX Runtime %s serves C API versions up to its minor, the binding asks for %d", CUDAORTVersion, bindingAPIVersion)
	}
	t.Setenv(LibraryEnv, "")
	lib, err := FindCUDALibrary(repoRoot)
	if err != nil {
		t.Skipf("the GPU build is not installed: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestGPUBuildServesTheBindingsAPI$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), gpuBuildChild+"="+lib)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("with %s: %v\n%s", lib, err, out)
	}
	t.Logf("%s", out)
}

func gpuBuildRuns(t *testing.T, lib string) {
	dir := t.TempDir()
	m := mkmodel.Default()
	sum := writeModel(t, dir, "m.onnx", m)
	rt, err := NewRuntime(Config{LibraryPath: lib, ModelDir: dir})
	if err != nil {
		t.Fatalf("starting the GPU build for C API version %d: %v", bindingAPIVersion, err)
	}
	defer rt.Close()
	if v := ort.GetVersion(); v != CUDAORTVersion {
		t.Errorf("the library says it is ONNX Runtime %s, want %s", v, CUDAORTVersion)
	}
	params := map[string]any{"file": "m.onnx", "sha256": sum, "tile": 4096.0}
	img := testImage(83, 61)
	f := generate.NewFrame(img)
	if err := modelStep(t, rt, params).Apply(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	spec, _ := ParseSpec(params)
	if n, first := mismatches(f.Image, reference(t, img, m, spec)); n != 0 {
		t.Errorf("%d pixels differ; first: %s", n, first)
	}
	t.Logf("ONNX Runtime %s from %s serves C API version %d", ort.GetVersion(), lib, bindingAPIVersion)
}
