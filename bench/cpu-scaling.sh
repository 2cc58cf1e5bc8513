#!/usr/bin/env bash
# CPU scaling of every stock pattern against dense causal attention (issue 6):
# sattn-bench --backend cpu at growing lengths, one table per pattern.
#   bench/cpu-scaling.sh [BUILD_DIR] [LENGTHS]
set -euo pipefail
build=${1:-build}
lengths=${2:-1024,2048,4096,8192}
for p in patterns/library/{power,streaming,sample,hip,sparsek,pbs}.sattn \
         bench/patterns/dense_causal.sattn; do
  "$build/bin/sattn-bench" "$p" --backend cpu --seq-len "$lengths" \
    --heads 2 --head-dim 64 --dtype f32 --warmup 1 --iters 3 | tail -n +2
done
