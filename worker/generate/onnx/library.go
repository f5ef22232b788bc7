package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
)

// LibraryEnv names the environment variable that overrides where the ONNX
// Runtime shared library is (a full path to libonnxruntime.so*).
const LibraryEnv = "ORT_LIBRARY_PATH"

// InstallHint says how to get the library; errors and test skips quote it.
const InstallHint = "run worker/onnxruntime/install.sh (installs onnxruntime-node " + ORTVersion + " from npm without its CUDA download) or set " + LibraryEnv + " to a libonnxruntime.so " + ORTVersion + "*"

// ORTVersion is the ONNX Runtime release whose C API the Go binding
// (github.com/yalue/onnxruntime_go v1.27.0, ORT_API_VERSION 24) is built
// against; worker/onnxruntime/package.json pins the matching onnxruntime-node.
const ORTVersion = "1.24"

// ErrLibraryNotFound is returned by FindLibrary when no ONNX Runtime shared
// library is installed.
var ErrLibraryNotFound = errors.New("onnxruntime shared library not found")

// FindLibrary returns the path of the ONNX Runtime shared library: $ORT_LIBRARY_PATH
// when set (it must exist), else the copy worker/onnxruntime/install.sh put
// under repoRoot/worker/onnxruntime/node_modules/onnxruntime-node/bin/napi-v*/linux/<arch>/.
// The error wraps ErrLibraryNotFound and says how to install it.
func FindLibrary(repoRoot string) (string, error) {
	if p := os.Getenv(LibraryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("onnx.FindLibrary: %s=%s: %w (%w); %s", LibraryEnv, p, ErrLibraryNotFound, err, InstallHint)
		}
		return p, nil
	}
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	if runtime.GOOS != "linux" || arch == "" {
		return "", fmt.Errorf("onnx.FindLibrary: no bundled library for %s/%s, set %s: %w", runtime.GOOS, runtime.GOARCH, LibraryEnv, ErrLibraryNotFound)
	}
	pattern := filepath.Join(repoRoot, "worker", "onnxruntime", "node_modules", "onnxruntime-node", "bin", "napi-v*", "linux", arch, "libonnxruntime.so*")
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return "", fmt.Errorf("onnx.FindLibrary: %w", err)
	}
	if len(matches) == 0 {
		return "", fmt.Errorf("onnx.FindLibrary: nothing matches %s: %w; %s", pattern, ErrLibraryNotFound, InstallHint)
	}
	// Newest napi directory and most specific soname last; any of them is
	// the same library.
	sort.Strings(matches)
	return matches[len(matches)-1], nil
}

// CUDAORTVersion is the ONNX Runtime release of the GPU build that
// worker/onnxruntime/install-cuda.sh installs (npm, CUDA 13). It serves the
// C API version the binding asks for (24): TestGPUBuildServesTheBindingsAPI.
const CUDAORTVersion = "1.29.0"

// CUDAInstallHint says how to get the GPU build.
const CUDAInstallHint = "run WORKER_DEVICE=cuda make setup (worker/onnxruntime/install-cuda.sh installs ONNX Runtime " + CUDAORTVersion + "'s GPU build from npm) or set " + LibraryEnv + " to a CUDA build of ONNX Runtime"

// FindCUDALibrary returns the GPU build of the ONNX Runtime library:
// $ORT_LIBRARY_PATH when set (it must exist), else the one install-cuda.sh
// put in repoRoot/worker/onnxruntime/cuda/lib, which loads the CUDA
// execution provider from beside itself. The error wraps
// ErrLibraryNotFound and says how to install it.
func FindCUDALibrary(repoRoot string) (string, error) {
	if os.Getenv(LibraryEnv) != "" {
		return FindLibrary(repoRoot)
	}
	p := filepath.Join(repoRoot, "worker", "onnxruntime", "cuda", "lib", "libonnxruntime.so")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("onnx.FindCUDALibrary: %w (%w); %s", ErrLibraryNotFound, err, CUDAInstallHint)
	}
	return p, nil
}
