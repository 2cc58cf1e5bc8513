#!/usr/bin/env bash
# Session 13, device call B: run-a.sh's short form, for when less than
# 600 s of device time is left: the GPU suite's dynamic-pattern cases (and
# the new CudaStripes, CudaSparsek, CudaTreeSearch tests), sattn-bench of
# sample, pbs, hip, sparsek at 32K (main's build, the branch, main again,
# the branch again), the branch at 128K, racecheck on two cases, then
# compare.py while time is left. Stops itself before $LIMIT seconds.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
LIMIT=${LIMIT:-430}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-b.txt
start=$SECONDS
left() { echo $(( LIMIT - (SECONDS - start) )); }
source bench/device-setup.sh >/dev/null 2>&1
xz -dk .devpack/old/sattn-bench-mid.xz && chmod +x .devpack/old/sattn-bench-mid
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a "$summary"
T=.devpack/sattn-cuda-backend-tests
pids=()
for i in $(seq 0 15); do
  GTEST_TOTAL_SHARDS=16 GTEST_SHARD_INDEX=$i SATTN_CACHE_DIR=off timeout 150 \
    $T --gtest_filter='*sample*:*pbs*:*hip*:*sparsek*:CudaSelection*:CudaTreeSearch*:CudaStripes*:CudaSparsek*' > "$logs/suite-$i.log" 2>&1 & pids+=($!)
done
rcs=""; for p in "${pids[@]}"; do wait $p; rcs="$rcs $?"; done
cat "$logs"/suite-*.log > "$logs/suite.log"; rm "$logs"/suite-*.log
echo "suite subset: $(grep -c '^\[       OK \]' "$logs/suite.log") passed, $(grep -c '^\[  FAILED  \] .*(' "$logs/suite.log") failed, $(grep -c '^\[  SKIPPED \] .*(' "$logs/suite.log") skipped; shard exits:$rcs ($((SECONDS - start)) s)" | tee -a "$summary"
grep '^\[  FAILED  \] .*(' "$logs/suite.log" | head | tee -a "$summary"
bench() { # label binary pattern seq iters
  (( $(left) > 30 )) || return
  local log="$logs/bench-$1-$3-$4.txt"
  SATTN_CACHE_DIR=/tmp/cache-$1 timeout 60 $2 patterns/library/$3.sattn --seq-len $4 --heads 32 --kv-heads 8 --iters $5 --warmup 2 > "$log" 2>&1
  echo "$1 $3 $4: $(grep -E "^[a-z_]+ +$4" "$log" | awk '{print "select", $7, "attend", $8, "ms"}') $(grep -E '^  (stage|workspace)' "$log" | awk '{printf "%s %s; ", $2, $3}' | sed 's/sattn_select_//g')" | tee -a "$summary"
}
for label in mid1 new1 mid2 new2; do
  bin=.devpack/sattn-bench
  [[ $label == mid* ]] && bin=.devpack/old/sattn-bench-mid
  for p in sample pbs hip sparsek; do bench $label $bin $p 32768 3; done
done
for p in sparsek sample pbs hip; do bench new1 .devpack/sattn-bench $p 131072 2; done
cases='Stock/CudaMatchesOracle.Case/sample_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/sparsek_bf16_gqa4_sq_lt_sk_d128'
if (( $(left) > 60 )); then
  SATTN_CACHE_DIR=off timeout 50 compute-sanitizer --tool racecheck --error-exitcode 3 $T --gtest_filter="$cases" > "$logs/san-racecheck.log" 2>&1
  echo "racecheck: exit $? $(grep -E 'RACECHECK SUMMARY|PASSED|FAILED' "$logs/san-racecheck.log" | tr '\n' ' ' | cut -c1-160) ($((SECONDS - start)) s)" | tee -a "$summary"
fi
if (( $(left) > 100 )); then
  timeout $(( $(left) - 5 )) python3 bench/compare.py --patterns sparsek,sample,pbs,hip --seq-lens 32768 --kv-heads 8 \
    --inputs random --lib .devpack/libsattn.so --bin-dir .devpack --iters 5 --budget-s $(( $(left) - 20 )) \
    --json "$OUT/compare-32k.json" > "$logs/compare.txt" 2>&1
  echo "compare.py: exit $? ($((SECONDS - start)) s)" | tee -a "$summary"
  tail -30 "$logs/compare.txt" >> "$summary"
fi
echo "done ($((SECONDS - start)) s)" | tee -a "$summary"
