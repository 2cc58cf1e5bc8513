#!/usr/bin/env bash
# Session 12, device call C (run-b did not get a device; this is its short
# form): row statistics in groups of 16 rows with tensor-core logits
# (sample's rows, pbs's probe), pbs's importance 16 probe rows per pass,
# tree_search's ranking by one 64-bit key per child, against run-a's build
# (.devpack/old/sattn-bench-mid) and main (.devpack/old/sattn-bench-old):
#   1. the GPU suite's sample, pbs, hip and selection cases;
#   2. sattn-bench sample, pbs, hip at 32K (mid, new, old, new), then new at
#      8K; H 32, Hkv 8, D 128, bf16;
#   3. compute-sanitizer racecheck and memcheck on two cases.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-c.txt
start=$SECONDS
source bench/device-setup.sh >/dev/null 2>&1
for b in old mid; do xz -dk .devpack/old/sattn-bench-$b.xz && chmod +x .devpack/old/sattn-bench-$b; done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$summary"
T=.devpack/sattn-cuda-backend-tests
pids=()
for i in $(seq 0 11); do
  GTEST_TOTAL_SHARDS=12 GTEST_SHARD_INDEX=$i SATTN_CACHE_DIR=off timeout 120 \
    $T --gtest_filter='*sample*:*pbs*:*hip*:*CudaSelection*:*CudaTreeSearch*' > "$logs/suite-$i.log" 2>&1 & pids+=($!)
done
for p in "${pids[@]}"; do wait $p; done
cat "$logs"/suite-*.log > "$logs/suite.log"; rm "$logs"/suite-*.log
echo "suite subset: $(grep -c '^\[       OK \]' "$logs/suite.log") OK, $(grep -c '^\[  FAILED  \] .*(' "$logs/suite.log") failed, $(grep -c 'SKIPPED \]' "$logs/suite.log") skipped ($((SECONDS - start)) s)" | tee -a "$summary"
grep '^\[  FAILED  \] .*(' "$logs/suite.log" | head | tee -a "$summary"
bench() { # label binary pattern seq iters
  local log="$logs/bench-$1-$3-$4.txt"
  SATTN_CACHE_DIR=/tmp/cache-$1 timeout 60 $2 patterns/library/$3.sattn --seq-len $4 --heads 32 --kv-heads 8 --iters $5 --warmup 2 > "$log" 2>&1
  echo "$1 $3 $4: $(grep -E "^[a-z_]+ +$4" "$log" | awk '{print "select", $7, "attend", $8, "ms"}') $(grep -E '^  stage' "$log" | awk '{printf "%s %s; ", $2, $3}' | sed 's/sattn_select_//g')" | tee -a "$summary"
}
for label in mid1 new1 old1 new2; do
  bin=.devpack/sattn-bench
  [[ $label == old* ]] && bin=.devpack/old/sattn-bench-old
  [[ $label == mid* ]] && bin=.devpack/old/sattn-bench-mid
  for p in sample pbs hip; do bench $label $bin $p 32768 5; done
done
for p in sample pbs hip; do bench new1 .devpack/sattn-bench $p 8192 5; done
cases='Stock/CudaMatchesOracle.Case/sample_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/pbs_f16_mha_ragged_300_d64:Stock/CudaMatchesOracle.Case/hip_bf16_gqa4_sq_lt_sk_d128'
for tool in racecheck memcheck; do
  (( SECONDS - start < 260 )) || break
  SATTN_CACHE_DIR=off timeout 60 compute-sanitizer --tool $tool --error-exitcode 3 $T --gtest_filter="$cases" > "$logs/san-$tool.log" 2>&1
  echo "$tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED' "$logs/san-$tool.log" | tr '\n' ' ' | cut -c1-160) ($((SECONDS - start)) s)" | tee -a "$summary"
done
echo "done ($((SECONDS - start)) s)" | tee -a "$summary"
