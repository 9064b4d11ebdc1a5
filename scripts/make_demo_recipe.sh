#!/usr/bin/env bash
# Rebuilds models/demo/ from the project's own data: the sim camera's synthetic good images, a fixed-seed
# random CNN (no third-party weights), a Gaussian (PaDiM) fit; then measures it on the sim's labelled test set.
# Deterministic for a given torch version. Needs /usr/bin/python3 with torch + onnx (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${INSPECTD_PYTHON:-/usr/bin/python3}
work=var/demo-build
rm -rf "$work" && mkdir -p "$work"
npm run build --silent
node dist/cli/main.js sim-dataset --out "$work/data" --size 256 --train 200 --test-good 50 --defects-per-kind 20 --seed 1
"$PY" scripts/export_random_cnn.py --seed 7 --out "$work/backbone.onnx"
rm -rf models/demo
# 40 of the 80 fused channels (fixed seed): 6.5 MB of precision matrices instead of 26 MB, same AUROC here.
node dist/cli/main.js fit --method gaussian --backbone "$work/backbone.onnx" --layers s4_32ch,s8_48ch --size 128 \
  --channels 40 --images "$work/data/train/good" --out models/demo --name demo
node dist/cli/main.js eval --recipe models/demo --dataset "$work/data" --json "$work/report.json"
