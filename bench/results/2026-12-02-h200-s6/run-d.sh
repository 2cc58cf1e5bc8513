#!/usr/bin/env bash
# Session 6, device call D, on the final tree (tree_search scores sixteen
# sampled rows per pass over d, NaN ranking in tree_search and permute, the
# NaN-selection test): the GPU suite, compute-sanitizer memcheck, racecheck,
# synccheck and initcheck, the demo (bench/gpu-suite.sh); then sattn-bench
# of hip at 8K and 32K (B=1, H=32, Hkv=8, D=128, bf16). Logs are packed into
# $OUT/run-d.tar.gz.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-d.txt
OUT=$logs SHARDS=16 SUITE_TIMEOUT=200 SANITIZER_TIMEOUT=120 bash bench/gpu-suite.sh > "$logs/gpu-suite.txt" 2>&1
echo "gpu-suite.sh: exit $?" | tee -a "$summary"
grep -E "GPU suite:|FAIL|exit|SUMMARY|PASSED" "$logs/gpu-suite.txt" | tee -a "$summary"
source bench/device-setup.sh
SATTN_CACHE_DIR=$(mktemp -d) timeout 100 .devpack/sattn-bench patterns/library/hip.sattn \
  --seq-len 8192,32768 --heads 32 --kv-heads 8 --iters 3 --warmup 1 \
  --json "$logs/bench-hip.json" > "$logs/bench-hip.txt" 2>&1
echo "sattn-bench hip: exit $?" | tee -a "$summary"
grep -v compiling "$logs/bench-hip.txt" | tee -a "$summary"
tar -C "$OUT" -czf "$OUT/run-d.tar.gz" logs && rm -rf "$logs"
