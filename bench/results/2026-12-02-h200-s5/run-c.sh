#!/usr/bin/env bash
# Session 5, device call C, on the final build (D1, the reliability fixes
# and the parallel stripes selection merged): the GPU suite with
# compute-sanitizer memcheck/racecheck and the demo (bench/gpu-suite.sh,
# which now fails when anything fails), then compare.py for sample, hip,
# sparsek and pbs at 8K on random and LLM-like inputs (issue 16's table;
# sample runs the new selection stages). Everything is packed
# into $OUT/run-c.tar.gz (the device returns at most 8 files).
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
OUT=$logs SHARDS=16 SUITE_TIMEOUT=240 SANITIZER_TIMEOUT=120 bash bench/gpu-suite.sh 2>&1 | tee "$OUT/summary-c.txt"
echo "gpu-suite.sh: exit ${PIPESTATUS[0]}" | tee -a "$OUT/summary-c.txt"
source bench/device-setup.sh
export PYTHONPATH=$PWD/python
SATTN_CACHE_DIR=$(mktemp -d) timeout 200 python3 bench/compare.py --patterns sample,hip,sparsek,pbs \
  --seq-lens 8192 --kv-heads 8 --inputs random,llm --lib .devpack/libsattn.so --bin-dir .devpack \
  --json "$logs/recall-8k.json" > "$logs/recall-8k.txt" 2>&1
echo "compare (recall, 8K): exit $?" | tee -a "$OUT/summary-c.txt"
grep -E "^(sample|hip|sparsek|pbs) |1st run" "$logs/recall-8k.txt" | tee -a "$OUT/summary-c.txt"
tar -C "$OUT" -czf "$OUT/run-c.tar.gz" logs && rm -rf "$logs"
