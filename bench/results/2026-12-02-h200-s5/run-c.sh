#!/usr/bin/env bash
# Session 5, device call C, on the final build (D1, the reliability fixes
# and the parallel stripes selection merged): the GPU suite with
# compute-sanitizer memcheck/racecheck and the demo (bench/gpu-suite.sh,
# which now fails when anything fails), then compare.py for sample (the
# new selection stages) against Flex at 8K and 32K. Everything is packed
# into $OUT/run-c.tar.gz (the device returns at most 8 files).
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
OUT=$logs SHARDS=16 SUITE_TIMEOUT=240 SANITIZER_TIMEOUT=120 bash bench/gpu-suite.sh 2>&1 | tee "$OUT/summary-c.txt"
echo "gpu-suite.sh: exit ${PIPESTATUS[0]}" | tee -a "$OUT/summary-c.txt"
source bench/device-setup.sh
export PYTHONPATH=$PWD/python
SATTN_CACHE_DIR=$(mktemp -d) timeout 150 python3 bench/compare.py --patterns sample \
  --seq-lens 8192,32768 --kv-heads 8 --inputs random --recall-max-seq 0 \
  --lib .devpack/libsattn.so --bin-dir .devpack --json "$logs/compare-sample.json" \
  > "$logs/compare-sample.txt" 2>&1
echo "compare sample: exit $?" | tee -a "$OUT/summary-c.txt"
grep -E "^sample |selection|1st run" "$logs/compare-sample.txt" | tee -a "$OUT/summary-c.txt"
tar -C "$OUT" -czf "$OUT/run-c.tar.gz" logs && rm -rf "$logs"
