#!/usr/bin/env bash
# The worker's GPU check, sized to the GPU machine it is lent: at most
# 64 MiB travel per run, ignored files a run leaves in the checkout stay
# for the next while the machine is warm (about 30 s between runs), 15
# minutes in all, no network there.
#
#   gpucheck.sh bundle   here: builds the check's test binary (go test -c of
#                        worker/gpucheck), and packs it with ONNX Runtime's GPU
#                        build (install-cuda.sh: libonnxruntime.so 1.29.0 and its
#                        230 MB CUDA provider), the catalogue's models and
#                        styles.json into one tar, zstd -19, split into parts
#                        under 60 MiB in worker/gpucheck/bundle/ (ignored), with
#                        their SHA-256 in bundle/MANIFEST.
#   gpucheck.sh here     bundle, then what `make gpu-check` prints: the check
#                        refuses without a GPU, and the runs to make on one.
#   gpucheck.sh run      on the GPU machine, in the last run (all parts there):
#                        checks the parts, unpacks them, finds CUDA 13 and cuDNN 9
#                        in the machine's Python environment, and runs the check
#                        (TestGPUCheck): every model on CUDA against the CPU
#                        within its tolerance, per-model ms, each local style's
#                        photo to result, GPU memory; one table.
#
# The parts are carried one per run (carry: worker/gpucheck/bundle/MANIFEST
# and worker/gpucheck/bundle/part-XX), back to back while the machine is
# warm; the last run carries the last part and calls `gpucheck.sh run`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bundle=worker/gpucheck/bundle
partSize=58M # under 60 MiB, leaving room for MANIFEST and the checkout

refuse_without_gpu() {
	if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
		echo "gpu-check: no NVIDIA GPU on this machine (nvidia-smi finds none): the check runs only on a GPU machine; nothing was measured." >&2
		return 1
	fi
}

cmd_bundle() {
	worker/onnxruntime/install-cuda.sh
	models/install.sh
	rm -rf "$bundle"
	mkdir -p "$bundle/x/lib" "$bundle/x/models"
	echo "gpu-check: building the check (go test -c ./worker/gpucheck)"
	CGO_ENABLED=1 go test -c -o "$bundle/x/gpucheck.test" ./worker/gpucheck
	cp worker/onnxruntime/cuda/lib/*.so "$bundle/x/lib/"
	cp infra/styles/styles.json "$bundle/x/styles.json"
	# Every ONNX model the catalogue lists (ESRGAN included once it is there).
	node -e '
		const m = require(process.argv[1]).models;
		for (const k of Object.keys(m)) if (m[k].file) console.log(m[k].file);
	' "$root/infra/styles/styles.json" | while read -r f; do cp "models/$f" "$bundle/x/models/"; done
	echo "gpu-check: packing (zstd -19; a few minutes)"
	tar -C "$bundle/x" -cf - . | zstd -19 -T0 -q -c >"$bundle/check.tar.zst"
	rm -rf "$bundle/x"
	(cd "$bundle" && split -b "$partSize" -d -a 2 check.tar.zst part- && rm check.tar.zst && sha256sum part-* >MANIFEST)
	echo "gpu-check: $(ls "$bundle"/part-* | wc -l) parts in $bundle:"
	(cd "$bundle" && ls -l part-*)
}

cmd_here() {
	cmd_bundle
	if refuse_without_gpu; then
		echo "gpu-check: a GPU is here; running the check on it"
		cmd_run
		return
	fi
	n=$(ls "$bundle"/part-* | wc -l)
	echo
	echo "On the GPU machine (one run per part, back to back while it is warm):"
	i=0
	for p in "$bundle"/part-*; do
		i=$((i + 1))
		if [[ $i -lt $n ]]; then
			echo "  run $i: carry [$bundle/MANIFEST, $p], command: true"
		else
			echo "  run $i: carry [$bundle/MANIFEST, $p], command: worker/gpucheck/gpucheck.sh run"
		fi
	done
	exit 2
}

cmd_run() {
	refuse_without_gpu
	if ! command -v zstd >/dev/null 2>&1 && ! python3 -c 'import zstandard' 2>/dev/null; then
		echo "gpu-check: neither zstd nor Python's zstandard here to unpack the parts" >&2
		exit 1
	fi
	(cd "$bundle" && sha256sum -c --quiet MANIFEST) || {
		echo "gpu-check: parts missing or damaged (a cold machine drops the earlier runs' parts: carry them again)" >&2
		exit 1
	}
	rm -rf "$bundle/x" && mkdir -p "$bundle/x"
	if command -v zstd >/dev/null 2>&1; then
		cat "$bundle"/part-* | zstd -d -q -c | tar -C "$bundle/x" -xf -
	else
		cat "$bundle"/part-* | python3 -c 'import sys, zstandard; zstandard.ZstdDecompressor().copy_stream(sys.stdin.buffer, sys.stdout.buffer)' | tar -C "$bundle/x" -xf -
	fi
	# CUDA 13's runtime libraries and cuDNN 9 from the machine's Python
	# environment (PyTorch's nvidia-* wheels), else a system CUDA.
	libs=$(python3 - <<-'PY' 2>/dev/null || true
		import glob, os, site, sys
		dirs = set()
		for sp in site.getsitepackages() + [site.getusersitepackages()]:
		    for pat in ("nvidia/*/lib", "nvidia/*/lib64", "torch/lib"):
		        for d in glob.glob(os.path.join(sp, pat)):
		            dirs.add(d)
		print(":".join(sorted(dirs)))
		PY
	)
	export LD_LIBRARY_PATH="$root/$bundle/x/lib:${libs}:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
	for need in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcudnn.so.9; do
		found=no
		IFS=: read -ra ds <<<"$LD_LIBRARY_PATH"
		for d in "${ds[@]}"; do [[ -n "$d" && -e "$d/$need" ]] && found=yes && break; done
		[[ $found == yes ]] || echo "gpu-check: $need not found on the library path; the CUDA provider will not load" >&2
	done
	cd "$bundle/x"
	TIGER_GPU_CHECK=1 ORT_LIBRARY_PATH="$PWD/lib/libonnxruntime.so" MODEL_DIR="$PWD/models" STYLES_FILE="$PWD/styles.json" \
		./gpucheck.test -test.run '^TestGPUCheck$' -test.v -test.count=1 -test.timeout 8m
}

case "${1:-}" in
bundle) cmd_bundle ;;
here) cmd_here ;;
run) cmd_run ;;
*)
	echo "usage: gpucheck.sh bundle | here | run" >&2
	exit 2
	;;
esac
