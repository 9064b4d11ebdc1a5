#!/usr/bin/env bash
# Installs inspectd and shows what it does today: fits a recipe from good images and measures it.
# (The daemon demo replaces this once `inspectd run` exists.) Needs ../shared beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${INSPECTD_SHARED:-../shared}
npm ci --no-audit --no-fund
npm run build
mkdir -p var
node dist/cli/main.js fit --method gaussian \
  --backbone "$SHARED/models/mobilenet_v2_features.onnx" --layers s4_24ch,s8_32ch,s16_96ch --size 224 \
  --images "$SHARED/datasets/magnetic_tile/train/good" --out var/demo-recipe
node dist/cli/main.js eval --recipe var/demo-recipe --dataset "$SHARED/datasets/magnetic_tile" \
  --json var/demo-report.json --overlays var/demo-overlays
echo
echo "demo: recipe in var/demo-recipe/, report in var/demo-report.json, overlays of misses and false alarms in var/demo-overlays/"
