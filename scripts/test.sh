#!/usr/bin/env bash
# The whole test suite, from a fresh clone: system packages, npm packages, lint, types, tests.
# Needs ../shared (datasets and weights) beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci --no-audit --no-fund
npm run lint
npm run typecheck
npm test
