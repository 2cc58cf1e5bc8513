#!/usr/bin/env bash
# The main job (make demo): for each stock pattern, bind and verify it, check
# its masks against the independent implementation of docs/patterns.md,
# write a picture of its block pattern at 32K tokens into out/, then compile
# it, run it (on the GPU when there is one, else on the CPU) and check the
# result against the reference oracle.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
cd "$(dirname "$0")/.."
exec python3 scripts/demo.py --bin "$build/bin" --out out
