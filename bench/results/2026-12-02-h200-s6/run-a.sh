#!/usr/bin/env bash
# Session 6, device call A: the GPU suite on the tree that merges the
# reliability fixes, the parallel stripes stages, per-stream workspaces (with
# the two-stream test) and the five parallel permute stages, under
# compute-sanitizer memcheck, racecheck, synccheck and initcheck, plus the
# demo (bench/gpu-suite.sh); then sattn-bench per-stage timings of pbs and
# sample at 8K and 32K (B=1, H=32, Hkv=8, D=128, bf16). Logs are packed into
# $OUT/run-a.tar.gz.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-a.txt
OUT=$logs SHARDS=16 SUITE_TIMEOUT=200 SANITIZER_TIMEOUT=70 bash bench/gpu-suite.sh 2>&1 | tee "$summary"
echo "gpu-suite.sh: exit ${PIPESTATUS[0]}" | tee -a "$summary"
source bench/device-setup.sh
for p in pbs sample; do
  SATTN_CACHE_DIR=$(mktemp -d) timeout 90 .devpack/sattn-bench patterns/library/$p.sattn \
    --seq-len 8192,32768 --heads 32 --kv-heads 8 --iters 5 --warmup 1 \
    --json "$logs/bench-$p.json" > "$logs/bench-$p.txt" 2>&1
  echo "sattn-bench $p: exit $?" | tee -a "$summary"
  cat "$logs/bench-$p.txt" | tee -a "$summary"
done
tar -C "$OUT" -czf "$OUT/run-a.tar.gz" logs && rm -rf "$logs"
