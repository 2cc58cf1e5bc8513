#!/usr/bin/env bash
# The main job (make demo): for each stock pattern, bind and verify it, check
# its masks against the independent implementation of docs/patterns.md, and
# write a picture of its block pattern at 32K tokens into out/.
# Kernels (CPU and GPU) join this table as the lowering lands.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
cd "$(dirname "$0")/.."
exec python3 scripts/demo.py --bin "$build/bin" --out out
