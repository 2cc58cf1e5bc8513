#!/usr/bin/env bash
# Session 14, device call A: main at 77fc3c5 (session 13's parallel selection
# stages) against main at 3e1437d (.devpack/old/sattn-bench-mid):
#   1. the full GPU suite (bench/gpu-suite.sh's cases without sanitizers or
#      demo: 16 shards) - session 13 ran only the dynamic-pattern subset;
#   2. sattn-bench sample, pbs, hip, sparsek at 32K (mid, new, mid, new);
#      H 32, Hkv 8, D 128, bf16;
#   3. compute-sanitizer memcheck and racecheck on the selection cases;
#   4. bench/compare.py sample, pbs, hip, sparsek at 32K, Hkv 8, random
#      inputs (Flex on the same blocks, cuDNN dense) while time is left.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-a.txt
start=$SECONDS
source bench/device-setup.sh >/dev/null 2>&1
xz -dk .devpack/old/sattn-bench-mid.xz && chmod +x .devpack/old/sattn-bench-mid
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$summary"
T=.devpack/sattn-cuda-backend-tests
pids=()
for i in $(seq 0 15); do
  GTEST_TOTAL_SHARDS=16 GTEST_SHARD_INDEX=$i SATTN_CACHE_DIR=off timeout 200 \
    $T > "$logs/suite-$i.log" 2>&1 & pids+=($!)
done
rcs=""; for p in "${pids[@]}"; do wait $p; rcs="$rcs $?"; done
cat "$logs"/suite-*.log > "$logs/suite.log"; rm "$logs"/suite-*.log
echo "GPU suite: $(grep -c '^\[       OK \]' "$logs/suite.log") passed, $(grep -c '^\[  FAILED  \] .*(' "$logs/suite.log") failed, $(grep -c '^\[  SKIPPED \] .*(' "$logs/suite.log") skipped; shard exits:$rcs ($((SECONDS - start)) s)" | tee -a "$summary"
grep '^\[  FAILED  \] .*(' "$logs/suite.log" | head | tee -a "$summary"
bench() { # label binary pattern seq iters
  local log="$logs/bench-$1-$3-$4.txt"
  SATTN_CACHE_DIR=/tmp/cache-$1 timeout 90 $2 patterns/library/$3.sattn --seq-len $4 --heads 32 --kv-heads 8 --iters $5 --warmup 2 > "$log" 2>&1
  echo "$1 $3 $4: $(grep -E "^[a-z_]+ +$4" "$log" | awk '{print "select", $7, "attend", $8, "ms"}') $(grep -E '^  stage' "$log" | awk '{printf "%s %s; ", $2, $3}' | sed 's/sattn_select_//g')" | tee -a "$summary"
}
for label in mid1 new1 mid2 new2; do
  bin=.devpack/sattn-bench
  [[ $label == mid* ]] && bin=.devpack/old/sattn-bench-mid
  for p in sample pbs hip sparsek; do bench $label $bin $p 32768 5; done
done
for p in sample pbs hip sparsek; do bench new1 .devpack/sattn-bench $p 8192 5; done
cases='Stock/CudaMatchesOracle.Case/sample_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/pbs_f16_mha_ragged_300_d64:Stock/CudaMatchesOracle.Case/hip_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/sparsek_bf16_gqa4_sq_lt_sk_d128'
for tool in memcheck racecheck; do
  (( SECONDS - start < 380 )) || break
  SATTN_CACHE_DIR=off timeout 80 compute-sanitizer --tool $tool --error-exitcode 3 $T --gtest_filter="$cases" > "$logs/san-$tool.log" 2>&1
  echo "$tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED' "$logs/san-$tool.log" | tr '\n' ' ' | cut -c1-160) ($((SECONDS - start)) s)" | tee -a "$summary"
done
left=$(( 570 - (SECONDS - start) ))
if (( left > 90 )); then
  timeout $left python3 bench/compare.py --patterns sample,pbs,hip,sparsek --seq-lens 32768 --kv-heads 8 \
    --inputs random --lib .devpack/libsattn.so --bin-dir .devpack --iters 5 --budget-s $((left - 15)) \
    --json "$OUT/compare-32k.json" > "$logs/compare.txt" 2>&1
  echo "compare.py: exit $? ($((SECONDS - start)) s)" | tee -a "$summary"
  tail -30 "$logs/compare.txt" >> "$summary"
fi
echo "done ($((SECONDS - start)) s)" | tee -a "$summary"
