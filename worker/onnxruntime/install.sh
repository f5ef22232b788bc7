#!/usr/bin/env bash
# Installs the ONNX Runtime shared library the worker's onnx backend loads
# (libonnxruntime.so.1, CPU build for linux x64/arm64) from the npm package
# onnxruntime-node pinned in package-lock.json, into
#   worker/onnxruntime/node_modules/onnxruntime-node/bin/napi-v*/linux/<arch>/
# onnx.FindLibrary looks there; ORT_LIBRARY_PATH overrides it.
#
# --ignore-scripts: the package's postinstall downloads CUDA provider
# binaries from NuGet, which is neither reachable nor needed here (the
# library itself ships inside the npm tarball).
#
# ONNXRUNTIME_NODE_INSTALL=cuda12 (GPU image builds with internet access
# only; untested in the offline dev environment) additionally runs the
# package's own script to fetch the CUDA execution provider libraries from
# NuGet into the same directory, which Config{Device: "cuda"} needs.
#
# Idempotent: prints nothing and exits 0 when the pinned version is already
# installed.
set -euo pipefail
cd "$(dirname "$0")"

case "$(uname -m)" in
x86_64 | amd64) arch=x64 ;;
aarch64 | arm64) arch=arm64 ;;
*)
	echo "install.sh: no onnxruntime-node build for $(uname -m)" >&2
	exit 1
	;;
esac
libglob="node_modules/onnxruntime-node/bin/napi-v*/linux/$arch/libonnxruntime.so*"

want=$(node -p 'require("./package-lock.json").packages["node_modules/onnxruntime-node"].version')
have=$(node -p 'try { require("./node_modules/onnxruntime-node/package.json").version } catch (e) { "" }')
cuda=${ONNXRUNTIME_NODE_INSTALL:-}
cudaglob="node_modules/onnxruntime-node/bin/napi-v*/linux/$arch/libonnxruntime_providers_cuda.so"
if [[ "$have" == "$want" ]] && compgen -G "$libglob" >/dev/null &&
	{ [[ "$cuda" != cuda* ]] || compgen -G "$cudaglob" >/dev/null; }; then
	exit 0
fi

if [[ "$have" != "$want" ]] || ! compgen -G "$libglob" >/dev/null; then
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
fi
if [[ "$cuda" == cuda* ]]; then
	(cd node_modules/onnxruntime-node && node script/install.js)
fi
lib=$(compgen -G "$libglob" | head -n1 || true)
if [[ -z "$lib" ]]; then
	echo "install.sh: onnxruntime-node $want installed but no libonnxruntime.so found under node_modules/onnxruntime-node/bin" >&2
	exit 1
fi
echo "onnxruntime $want installed: $(pwd)/$lib"
