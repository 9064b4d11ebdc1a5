#!/usr/bin/env bash
# The whole test suite, from a fresh clone: system packages, npm packages, lint, types, tests.
# Needs ../shared (datasets and weights) beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# onnxruntime-node's install step would download its CUDA provider (linux/x64) from the internet; the CPU and
# WebGPU providers ship in the package. scripts/install-cuda-provider.sh installs CUDA where it is wanted.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
npm run lint
npm run typecheck
npm test
