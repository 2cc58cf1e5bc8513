#!/usr/bin/env bash
# Session 13, device call A: wip/selection-s12 rebased on main (row
# statistics in groups of 16 rows with tensor-core logits, pbs's importance
# 16 probe rows per sattn_tile.dots, tree_search ranking by one 64-bit key
# per child), plus row sums per thread then over threads (no per-chunk
# serial sum) and stripes' scores stage per key block (each sampled row's
# mass into the column and the row's run; diagonals summed in rank), and
# token top-k (sparsek) as checkpoints / chunks / lists stages over the
# grid instead of one heap per (batch, kv head), and hip lists of two
# 16-bit block indices per word, against main (.devpack/old/sattn-bench-mid:
# run-a of s12's build, PTX-identical to main at 3e1437d) and ee7cfa5
# (.devpack/old/sattn-bench-old):
#   1. the GPU suite (every case; bench/gpu-suite.sh without sanitizers
#      or demo: 16 shards);
#   2. sattn-bench sample, pbs, hip, sparsek at 32K (mid, new, old, new),
#      new at 8K and 128K; H 32, Hkv 8, D 128, bf16;
#   3. compute-sanitizer racecheck, memcheck on the selection cases;
#   4. bench/compare.py sample, pbs, hip, sparsek at 32K, Hkv 8, random
#      inputs (Flex on the same blocks, cuDNN dense) while time is left.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-a.txt
start=$SECONDS
source bench/device-setup.sh >/dev/null 2>&1
for b in old mid; do xz -dk .devpack/old/sattn-bench-$b.xz && chmod +x .devpack/old/sattn-bench-$b; done
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
for label in mid1 new1 old1 new2; do
  bin=.devpack/sattn-bench
  [[ $label == old* ]] && bin=.devpack/old/sattn-bench-old
  [[ $label == mid* ]] && bin=.devpack/old/sattn-bench-mid
  for p in sample pbs hip sparsek; do bench $label $bin $p 32768 5; done
done
for p in sample pbs hip sparsek; do bench new1 .devpack/sattn-bench $p 8192 5; done
for p in sample pbs hip sparsek; do bench new1 .devpack/sattn-bench $p 131072 3; done
for p in sample pbs sparsek; do bench mid1 .devpack/old/sattn-bench-mid $p 131072 3; done
cases='Stock/CudaMatchesOracle.Case/sample_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/pbs_f16_mha_ragged_300_d64:Stock/CudaMatchesOracle.Case/hip_bf16_gqa4_sq_lt_sk_d128:Stock/CudaMatchesOracle.Case/sparsek_bf16_gqa4_sq_lt_sk_d128'
for tool in racecheck memcheck; do
  (( SECONDS - start < 400 )) || break
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
