#!/usr/bin/env bash
# Session 9, device call G: Nsight Compute on the wgmma tile's attention
# kernel, dense causal and power at 32K (B 1, H 32, Hkv 8, D 128, bf16), one
# profiled launch each.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
summary=$OUT/summary-g.txt
source bench/device-setup.sh
for spec in "dense:bench/patterns/dense_causal.sattn" "power:patterns/library/power.sattn"; do
  n=${spec%%:*}; f=${spec#*:}
  timeout 110 ncu --kernel-name sattn_attention --launch-count 1 \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section SchedulerStats \
    --section WarpStateStats --section Occupancy --section LaunchStats \
    .devpack/sattn-bench $f --seq-len 32768 --heads 32 --kv-heads 8 --iters 1 --warmup 0 \
    > "$OUT/ncu-$n-32k.txt" 2>&1
  echo "$n: ncu exit $?" | tee -a "$summary"
  grep -E "Duration|Compute \(SM\) Throughput|Issue Slots Busy|highest-utilized|Registers Per|Achieved Occupancy|Theoretical Occupancy|No Eligible|Stall" "$OUT/ncu-$n-32k.txt" | head -14 | tee -a "$summary"
done
