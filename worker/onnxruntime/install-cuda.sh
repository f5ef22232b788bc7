#!/usr/bin/env bash
# Installs ONNX Runtime 1.29.0's GPU build for linux x64 (CUDA 13, cuDNN 9)
# into worker/onnxruntime/cuda/lib/, where onnx.FindCUDALibrary (the worker
# with WORKER_DEVICE=cuda and no ORT_LIBRARY_PATH) finds it:
#
#   libonnxruntime.so                    npm com.github.asus4.onnxruntime@0.4.9
#                                        (Plugins/Linux/x64: ORT 1.29.0's GPU build,
#                                        which loads the providers beside it)
#   libonnxruntime_providers_shared.so   the same package
#   libonnxruntime_providers_cuda.so     npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
#                                        (230 MB; needs libcudart.so.13, libcublas.so.13,
#                                        libcublasLt.so.13, libcurand.so.10 and cuDNN 9
#                                        on the library path at run time)
#
# Both packages are MIT (their packaging) over ONNX Runtime (MIT). npm checks
# each tarball against the registry's integrity hash; the extracted libraries
# are then checked against SHA256SUMS.cuda, and a mismatch removes them and
# fails. The CPU build (install.sh) stays the default; make setup runs this
# only with WORKER_DEVICE=cuda. The Go binding asks ONNX Runtime for C API
# version 24 (onnxruntime_go v1.27.0), which 1.29 serves: TestGPUBuildServesTheBindingsAPI.
#
# Idempotent: prints nothing and exits 0 when the libraries are in place and valid.
set -euo pipefail
cd "$(dirname "$0")"

if [[ "$(uname -m)" != x86_64 ]]; then
	echo "install-cuda.sh: the npm GPU build of ONNX Runtime is for linux x64 only" >&2
	exit 1
fi
if sha256sum --quiet -c SHA256SUMS.cuda >/dev/null 2>&1; then
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "onnxruntime: installing ONNX Runtime 1.29.0's GPU build (npm com.github.asus4.onnxruntime@0.4.9 and .linux-x64-gpu@0.4.9, about 240 MB)"
(cd "$tmp" && npm pack --silent --loglevel=error com.github.asus4.onnxruntime@0.4.9 com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 >/dev/null)
for t in "$tmp"/*.tgz; do
	mkdir -p "$tmp/x" && tar -xzf "$t" -C "$tmp/x" && rm -f "$t"
	cp "$tmp"/x/package/Plugins/Linux/x64/*.so "$tmp/" 2>/dev/null || true
	rm -rf "$tmp/x"
done
mkdir -p cuda/lib
for f in libonnxruntime.so libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
	if [[ ! -f "$tmp/$f" ]]; then
		echo "install-cuda.sh: $f is not in the npm packages" >&2
		exit 1
	fi
	mv "$tmp/$f" "cuda/lib/$f.part"
	mv "cuda/lib/$f.part" "cuda/lib/$f"
done
if ! sha256sum --quiet -c SHA256SUMS.cuda; then
	echo "install-cuda.sh: checksum mismatch (SHA256SUMS.cuda); removing what was installed" >&2
	rm -rf cuda
	exit 1
fi
echo "onnxruntime: GPU build installed in $(pwd)/cuda/lib"
