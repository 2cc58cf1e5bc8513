#!/usr/bin/env bash
# Session 12, device call A: selection stages on tensor cores
# (sattn_tile.dots, mma_sync): hip's tree_search scoring, and the row
# statistics of sample's rows stage and pbs's probe stage, against main's
# stages (.devpack/old: main's sattn-bench, built from ee7cfa5):
#   1. the GPU suite's cases of the three patterns (oracle, head dims,
#      non-finite, NaN selection, stock parameters, row groups); then (3.)
#      compute-sanitizer memcheck, racecheck and synccheck on a few cases;
#   2. sattn-bench at 8K (old, new) and 32K (old, new, old, new) and hip
#      at 128K, H 32, Hkv 8, D 128, bf16;
#   3. sattn-run --check of hip, sample and pbs, bf16 and f16, three shapes.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-a.txt
start=$SECONDS
source bench/device-setup.sh >/dev/null 2>&1
xz -dk .devpack/old/sattn-bench-old.xz && chmod +x .devpack/old/sattn-bench-old
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$summary"
T=.devpack/sattn-cuda-backend-tests
filter='*hip*:*sample*:*pbs*:*CudaSelection*:*CudaStockParameters*:*CudaTreeSearch*'
pids=()
for i in 0 1 2 3 4 5 6 7; do
  GTEST_TOTAL_SHARDS=8 GTEST_SHARD_INDEX=$i SATTN_CACHE_DIR=off timeout 150 \
    $T --gtest_filter="$filter" > "$logs/suite-$i.log" 2>&1 & pids+=($!)
done
for p in "${pids[@]}"; do wait $p; done
cat "$logs"/suite-*.log > "$logs/suite.log"; rm "$logs"/suite-*.log
echo "suite subset: $(grep -c '^\[       OK \]' "$logs/suite.log") OK, $(grep -c '^\[  FAILED  \] .*(' "$logs/suite.log") failed, $(grep -c 'SKIPPED \]' "$logs/suite.log") skipped ($((SECONDS - start)) s)" | tee -a "$summary"
grep '^\[  FAILED  \] .*(' "$logs/suite.log" | head | tee -a "$summary"
echo "--- bench ($((SECONDS - start)) s)" | tee -a "$summary"
bench() { # label binary pattern seq iters
  local log="$logs/bench-$1-$3-$4.txt"
  SATTN_CACHE_DIR=/tmp/cache-$1 timeout 120 $2 patterns/library/$3.sattn --seq-len $4 --heads 32 --kv-heads 8 --iters $5 --warmup 2 --json "$logs/bench-$1-$3-$4.json" > "$log" 2>&1
  echo "$1 $3 $4: $(grep -E "^[a-z_]+ +$4" "$log" | awk '{print "select", $7, "attend", $8, "ms"}') $(grep -ohE 'stage[^|]*' "$log" | tr '\n' ' ' | cut -c1-150)" | tee -a "$summary"
}
for label in old1 new1 old2 new2; do
  bin=.devpack/sattn-bench; [[ $label == old* ]] && bin=.devpack/old/sattn-bench-old
  for p in hip sample pbs; do
    [[ $label == *1 ]] && bench $label $bin $p 8192 5
    bench $label $bin $p 32768 5
  done
done
bench new1 .devpack/sattn-bench hip 131072 3
bench old1 .devpack/old/sattn-bench-old hip 131072 2
san() { # tool filter
  SATTN_CACHE_DIR=off timeout 100 compute-sanitizer --tool $1 --error-exitcode 3 $T --gtest_filter="$2" > "$logs/san-$1.log" 2>&1
  echo "$1: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED' "$logs/san-$1.log" | tr '\n' ' ' | cut -c1-160) ($((SECONDS - start)) s)" | tee -a "$summary"
}
san memcheck 'Stock/CudaMatchesOracle.Case/hip_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/hip_f32_mha_ragged_300_d64:Stock/CudaHeadDims.Case/hip_bf16_gqa2_ragged_231_d80:Stock/CudaMatchesOracle.Case/sample_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/pbs_f16_mha_ragged_300_d64'
san racecheck 'Stock/CudaMatchesOracle.Case/hip_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/pbs_f16_mha_ragged_300_d64'
san synccheck 'Stock/CudaMatchesOracle.Case/hip_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/sample_bf16_gqa4_sq_lt_sk_d128'
for p in hip sample pbs; do for dt in bf16 f16; do
  for shape in "--seq-len 2048 --head-dim 128" "--seq-len 1000 --head-dim 64" "--seq-len 700 --kv-len 1500 --head-dim 128"; do
    timeout 60 .devpack/sattn-run patterns/library/$p.sattn --check --dtype $dt --heads 4 --kv-heads 1 $shape \
      --random-inputs 7 -o /tmp/o.npy > "$logs/check.txt" 2>&1
    echo "check $p $dt $shape: exit $? $(tr '\n' ' ' < "$logs/check.txt" | grep -oE 'max[^,;]*' | head -1)" | tee -a "$summary"
  done
done; done
echo "done ($((SECONDS - start)) s)" | tee -a "$summary"
tar -C "$OUT" -czf "$OUT/run-a.tar.gz" logs && rm -rf "$logs"
