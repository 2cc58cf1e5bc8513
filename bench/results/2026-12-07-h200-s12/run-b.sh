#!/usr/bin/env bash
# Session 12, device call B: row statistics in groups of 16 rows when their
# logits are a tensor-core product (sample's rows stage, pbs's probe), pbs's
# importance 16 probe rows per pass, and tree_search's ranking by one 64-bit
# key per child, against main (.devpack/old/sattn-bench-old, ee7cfa5) and
# run-a's build (.devpack/old/sattn-bench-mid):
#   1. the GPU suite's sample, pbs, hip and selection cases; compute-sanitizer
#      memcheck and racecheck on two cases;
#   2. sattn-bench sample, pbs, hip at 32K (old, mid, new, new, old), new at
#      8K and (time allowing) 128K; H 32, Hkv 8, D 128, bf16;
#   3. sattn-run --check of sample and pbs, bf16, three shapes.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-b.txt
start=$SECONDS
source bench/device-setup.sh >/dev/null 2>&1
for b in old mid; do xz -dk .devpack/old/sattn-bench-$b.xz && chmod +x .devpack/old/sattn-bench-$b; done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$summary"
T=.devpack/sattn-cuda-backend-tests
pids=()
for i in 0 1 2 3 4 5 6 7; do
  GTEST_TOTAL_SHARDS=8 GTEST_SHARD_INDEX=$i SATTN_CACHE_DIR=off timeout 150 \
    $T --gtest_filter='*sample*:*pbs*:*hip*:*CudaSelection*:*CudaTreeSearch*' > "$logs/suite-$i.log" 2>&1 & pids+=($!)
done
for p in "${pids[@]}"; do wait $p; done
cat "$logs"/suite-*.log > "$logs/suite.log"; rm "$logs"/suite-*.log
echo "suite subset: $(grep -c '^\[       OK \]' "$logs/suite.log") OK, $(grep -c '^\[  FAILED  \] .*(' "$logs/suite.log") failed, $(grep -c 'SKIPPED \]' "$logs/suite.log") skipped ($((SECONDS - start)) s)" | tee -a "$summary"
grep '^\[  FAILED  \] .*(' "$logs/suite.log" | head | tee -a "$summary"
echo "--- bench ($((SECONDS - start)) s)" | tee -a "$summary"
bench() { # label binary pattern seq iters
  local log="$logs/bench-$1-$3-$4.txt"
  SATTN_CACHE_DIR=/tmp/cache-$1 timeout 120 $2 patterns/library/$3.sattn --seq-len $4 --heads 32 --kv-heads 8 --iters $5 --warmup 2 --json "$logs/bench-$1-$3-$4.json" > "$log" 2>&1
  echo "$1 $3 $4: $(grep -E "^[a-z_]+ +$4" "$log" | awk '{print "select", $7, "attend", $8, "ms"}') $(grep -E '^  stage' "$log" | awk '{printf "%s %s; ", $2, $3}' | sed 's/sattn_select_//g') $(grep -oE 'workspace [0-9.]+ MiB' "$log")" | tee -a "$summary"
}
for label in old1 mid1 new1 new2 old2; do
  bin=.devpack/sattn-bench
  [[ $label == old* ]] && bin=.devpack/old/sattn-bench-old
  [[ $label == mid* ]] && bin=.devpack/old/sattn-bench-mid
  for p in sample pbs hip; do bench $label $bin $p 32768 5; done
done
for p in sample pbs hip; do
  bench new1 .devpack/sattn-bench $p 8192 5
  (( SECONDS - start < 300 )) && bench new1 .devpack/sattn-bench $p 131072 2
done
san() { # tool filter
  SATTN_CACHE_DIR=off timeout 100 compute-sanitizer --tool $1 --error-exitcode 3 $T --gtest_filter="$2" > "$logs/san-$1.log" 2>&1
  echo "$1: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED' "$logs/san-$1.log" | tr '\n' ' ' | cut -c1-160) ($((SECONDS - start)) s)" | tee -a "$summary"
}
cases='Stock/CudaMatchesOracle.Case/sample_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/pbs_f16_mha_ragged_300_d64:Stock/CudaMatchesOracle.Case/hip_bf16_gqa4_sq_lt_sk_d128'
san memcheck "$cases"
san racecheck "$cases"

for p in sample pbs; do for dt in bf16; do
  for shape in "--seq-len 2048 --head-dim 128" "--seq-len 1000 --head-dim 64" "--seq-len 700 --kv-len 1500 --head-dim 128"; do
    timeout 60 .devpack/sattn-run patterns/library/$p.sattn --check --dtype $dt --heads 4 --kv-heads 1 $shape \
      --random-inputs 7 -o /tmp/o.npy > "$logs/check.txt" 2>&1
    echo "check $p $dt $shape: exit $? $(tr '\n' ' ' < "$logs/check.txt" | grep -oE 'max[^,;]*' | head -1)" | tee -a "$summary"
  done
done; done
echo "done ($((SECONDS - start)) s)" | tee -a "$summary"
