#!/usr/bin/env bash
# Measures each execution provider (cuda, webgpu, cpu as the reference) on the demo recipe and a MobileNetV2
# recipe fitted on the fly, at batches 1, 8 and 32: frames/s and p50/p99 batch latency as one Markdown table on
# stdout (progress on stderr), with the GPU's name. A provider that cannot run here gets one row saying why.
#
#   bash scripts/gpu-check.sh [--quick] [--batches 1,8,32] [--providers cuda,webgpu,cpu]
#                             [--recipes demo,mobilenet] [--frames recipe,1920x1200]
#                             [--mobilenet-recipe DIR] [--out FILE]
#
# --frames WxH also feeds camera frames of that size, which the graph resizes to the recipe's input.
# --quick runs few iterations (under two minutes on a CPU-only box with lavapipe). Needs npm ci and ../shared
# (the MobileNetV2 backbone and the magnetic-tile images); builds dist/ first when it is missing.
# docs/gpu.md "Measured" is where the table goes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

case " $* " in *" -h "* | *" --help "*) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ -d node_modules/onnxruntime-node ] || { echo "gpu-check: node_modules is missing: run npm ci first" >&2; exit 1; }
if [ ! -f dist/cli/main.js ]; then
  echo "gpu-check: dist/ is missing: building (npm run build)" >&2
  npm run build >&2
fi
SHARED="${INSPECTD_SHARED:-$ROOT/../shared}"
if [[ " $* " != *" --recipes demo "* && " $* " != *" --mobilenet-recipe "* ]] && [ ! -f "$SHARED/models/mobilenet_v2_features.onnx" ]; then
  echo "gpu-check: $SHARED/models/mobilenet_v2_features.onnx is missing (the MobileNetV2 recipe's backbone):" \
    "set INSPECTD_SHARED to the shared folder, or pass --recipes demo" >&2
  exit 1
fi
# nvidia-smi names the GPU in the table; say so here too, before the minutes of measuring.
if command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu-check: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n1)" >&2
else
  echo "gpu-check: no nvidia-smi here: the cuda row will say why it is skipped" >&2
fi
exec node scripts/gpu-check.mjs "$@"
