#!/usr/bin/env bash
# Session 6, device call B: the GPU suite on the tree whose row statistics
# (stripes' rows stage, permute's probe stage) score groups of four query
# rows per staged key chunk; memcheck and racecheck on pbs and sample; the
# two-stream test against a test binary built with the old shared owned
# workspace (.devpack/sattn-cuda-backend-tests-shared-ws, from d0667cf's
# CudaBackend.cpp): it must fail there; then sattn-bench per-stage timings of
# pbs and sample at 8K and 32K (B=1, H=32, Hkv=8, D=128, bf16).
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-b.txt
OUT=$logs SHARDS=16 SUITE_TIMEOUT=200 SANITIZER_TOOLS= bash bench/gpu-suite.sh > "$logs/gpu-suite.txt" 2>&1
echo "gpu-suite.sh: exit $?" | tee -a "$summary"
grep -E "GPU suite:|FAIL|demo: exit" "$logs/gpu-suite.txt" | tee -a "$summary"
source bench/device-setup.sh
cases='Stock/CudaMatchesOracle.Case/pbs_bf16_mha_ragged_300_d64:Stock/CudaMatchesOracle.Case/sample_bf16_mha_ragged_300_d64:Stock/CudaMatchesOracle.Case/pbs_f32_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/sample_f16_gqa4_sq_lt_sk_d128'
for tool in memcheck racecheck; do
  timeout 150 compute-sanitizer --tool $tool --print-limit 20 .devpack/sattn-cuda-backend-tests \
    --gtest_filter="$cases" > "$logs/sanitizer-$tool.log" 2>&1
  echo "compute-sanitizer $tool: exit $?" | tee -a "$summary"
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED" "$logs/sanitizer-$tool.log" | tail -3 | tee -a "$summary"
done
timeout 90 .devpack/sattn-cuda-backend-tests-shared-ws --gtest_filter='*CudaStreams*' > "$logs/streams-shared-ws.log" 2>&1
echo "two-stream test with the old shared workspace: exit $? (non-zero expected)" | tee -a "$summary"
grep -E "^\[  (FAILED|PASSED|  OK) |Failure" "$logs/streams-shared-ws.log" | head -12 | tee -a "$summary"
for p in pbs sample; do
  SATTN_CACHE_DIR=$(mktemp -d) timeout 90 .devpack/sattn-bench patterns/library/$p.sattn \
    --seq-len 8192,32768 --heads 32 --kv-heads 8 --iters 5 --warmup 1 \
    --json "$logs/bench-$p.json" > "$logs/bench-$p.txt" 2>&1
  echo "sattn-bench $p: exit $?" | tee -a "$summary"
  grep -v compiling "$logs/bench-$p.txt" | tee -a "$summary"
done
tar -C "$OUT" -czf "$OUT/run-b.tar.gz" logs && rm -rf "$logs"
