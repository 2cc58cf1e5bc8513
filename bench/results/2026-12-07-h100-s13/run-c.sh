#!/usr/bin/env bash
# Session 13, device call C (what was left of the device time after run-b,
# on the same warm machine): main's build (.devpack/old/sattn-bench-mid) at
# 128K, the figures run-b took for the branch only.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
source bench/device-setup.sh >/dev/null 2>&1
xz -dk .devpack/old/sattn-bench-mid.xz 2>/dev/null
chmod +x .devpack/old/sattn-bench-mid
mkdir -p $OUT/logs
for p in sparsek sample pbs hip; do
  timeout 40 .devpack/old/sattn-bench-mid patterns/library/$p.sattn --seq-len 131072 --heads 32 --kv-heads 8 --iters 2 --warmup 1 > $OUT/logs/bench-mid1-$p-131072.txt 2>&1
  echo "mid1 $p 131072: $(grep -E '^[a-z_]+ +131072' $OUT/logs/bench-mid1-$p-131072.txt | awk '{print "select", $7, "attend", $8, "ms"}') $(grep -E '^  (stage|workspace)' $OUT/logs/bench-mid1-$p-131072.txt | awk '{printf "%s %s; ", $2, $3}')"
done
