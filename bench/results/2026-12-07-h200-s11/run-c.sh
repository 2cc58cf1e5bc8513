#!/usr/bin/env bash
# Session 11, device call C: as run-b, with K staged in two slots too (the
# copy of K n + 2 issued while chunk n + 1 waits), against main's kernels:
#   1. sattn-run --check of the stock patterns (bf16, D 128 and 64);
#   2. sattn-bench at 32K, H 32, Hkv 8, D 128, bf16: old, new, old, new;
#   3. Nsight Compute warp states of the dense kernel at 16K, old and new;
#   4. the GPU suite (no sanitizers), time allowing.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-c.txt
start=$SECONDS
left() { echo $(( 540 - (SECONDS - start) )); }
source bench/device-setup.sh
xz -dk .devpack/old/sattn-bench-old.xz && chmod +x .devpack/old/sattn-bench-old
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee -a "$summary"
for p in bench/patterns/dense_causal.sattn patterns/library/{power,streaming,sparsek,hip,pbs}.sattn; do
  for shape in "--seq-len 2048 --head-dim 128" "--seq-len 1000 --head-dim 64" "--seq-len 700 --kv-len 1500 --head-dim 128"; do
    timeout 60 .devpack/sattn-run $p --check --dtype bf16 --heads 4 --kv-heads 1 $shape \
      --random-inputs 7 -o /tmp/o.npy > "$logs/check.txt" 2>&1
    rc=$?
    echo "check $(basename $p .sattn) $shape: exit $rc $(tr '\n' ' ' < "$logs/check.txt" | grep -oE 'max[^,;]*' | head -1)" | tee -a "$summary"
    [[ $rc == 0 ]] || cat "$logs/check.txt" >> "$logs/check-failures.txt"
  done
done
echo "--- bench ($((SECONDS - start)) s)" | tee -a "$summary"
bench() { # label binary
  for p in bench/patterns/dense_causal.sattn patterns/library/{power,streaming,sparsek}.sattn; do
    local log="$logs/bench-$1-$(basename $p .sattn).txt"
    SATTN_CACHE_DIR=/tmp/cache-$1 timeout 60 $2 $p --seq-len 32768 --heads 32 --kv-heads 8 --iters 10 > "$log" 2>&1
    echo "$1 $(basename $p .sattn): $(grep -E '^[a-z_]+ +32768' "$log" | awk '{print "select", $7, "attend", $8, "ms, TF/s", $10}')" | tee -a "$summary"
  done
}
bench old1 .devpack/old/sattn-bench-old
bench new1 .devpack/sattn-bench
bench old2 .devpack/old/sattn-bench-old
bench new2 .devpack/sattn-bench
echo "--- ncu ($((SECONDS - start)) s)" | tee -a "$summary"
for v in old new; do
  bin=.devpack/sattn-bench; [[ $v == old ]] && bin=.devpack/old/sattn-bench-old
  SATTN_CACHE_DIR=/tmp/cache-ncu-$v timeout 120 ncu --kernel-name sattn_attention --launch-count 1 \
    --section WarpStateStats --section SchedulerStats --section SpeedOfLight --section LaunchStats \
    --metrics 'regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio' $bin bench/patterns/dense_causal.sattn --seq-len 16384 --heads 32 --kv-heads 8 \
    --iters 1 --warmup 0 > "$logs/ncu-dense-16k-$v.txt" 2>&1
  echo "ncu $v: exit $?" | tee -a "$summary"
  grep -E "stalled|Issued Warp|No Eligible|Duration|Registers Per|Compute \(SM\)" "$logs/ncu-dense-16k-$v.txt" | head -40 | tee -a "$summary"
done
echo "--- gpu suite ($((SECONDS - start)) s)" | tee -a "$summary"
t=$(left)
if (( t > 120 )); then
  OUT=$logs SHARDS=16 SUITE_TIMEOUT=$(( t - 40 )) SANITIZER_TOOLS="" \
    bash bench/gpu-suite.sh > "$logs/gpu-suite.txt" 2>&1
  echo "gpu-suite.sh: exit $? ($((SECONDS - start)) s)" | tee -a "$summary"
  grep -E "GPU suite:|FAIL|exit" "$logs/gpu-suite.txt" | head -10 | tee -a "$summary"
  grep -E "^\[  FAILED  \]" "$logs/gpu-suite.log" | head -20 | tee -a "$summary"
fi
tar -C "$OUT" -czf "$OUT/run-c.tar.gz" logs && rm -rf "$logs"
