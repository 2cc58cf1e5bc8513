#!/usr/bin/env bash
# Session 11, device call H: causal GPU tiles heaviest first (work item i
# takes query tile nQ - 1 - i mod nQ) against main's order (.devpack/old:
# main's kernels): the GPU suite's CudaMatchesOracle bf16 cases, then
# sattn-bench at 32K, H 32, Hkv 8, D 128, bf16: old, new, old, new.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
summary=$OUT/summary-h.txt
source bench/device-setup.sh >/dev/null 2>&1
xz -dk .devpack/old/sattn-bench-old.xz && chmod +x .devpack/old/sattn-bench-old
nvidia-smi --query-gpu=name --format=csv,noheader | tee -a "$summary"
pids=()
for i in 0 1 2 3 4 5 6 7; do
  GTEST_TOTAL_SHARDS=8 GTEST_SHARD_INDEX=$i SATTN_CACHE_DIR=off timeout 100 \
    .devpack/sattn-cuda-backend-tests --gtest_filter='*CudaMatchesOracle*bf16*:*CudaStockParameters*' \
    > "$OUT/suite-$i.log" 2>&1 & pids+=($!)
done
for p in "${pids[@]}"; do wait $p; done
cat "$OUT"/suite-*.log > "$OUT/suite.log"; rm "$OUT"/suite-*.log
echo "suite subset: $(grep -c '^\[       OK \]' "$OUT/suite.log") OK, $(grep -c '^\[  FAILED  \] .*(' "$OUT/suite.log") failed" | tee -a "$summary"
for label in old1 new1 old2 new2; do
  bin=.devpack/sattn-bench; [[ $label == old* ]] && bin=.devpack/old/sattn-bench-old
  for p in bench/patterns/dense_causal.sattn patterns/library/power.sattn; do
    SATTN_CACHE_DIR=/tmp/c-$label timeout 40 $bin $p --seq-len 32768 --heads 32 --kv-heads 8 --iters 10 > "$OUT/b.txt" 2>&1
    echo "$label $(basename $p .sattn): $(grep -E '^[a-z_]+ +32768' "$OUT/b.txt" | awk '{print "attend", $8, "ms"}')" | tee -a "$summary"
  done
done
