#!/usr/bin/env bash
# Session 4, device call A: the GPU suite, compute-sanitizer and the demo
# with the refactored compiler (issue 13), logs to $OUT.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
SHARDS=12 bash bench/gpu-suite.sh 2>&1 | tee "$OUT/summary-a.txt"
