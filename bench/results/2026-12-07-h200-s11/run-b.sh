#!/usr/bin/env bash
# Session 11, device call B: the wgmma tile with P·V of chunk n - 1
# overlapping the softmax of chunk n (sattn-pipeline-chunks' async form, two
# V staging slots), against main's kernels (.devpack/old: the run-a build's
# sattn-bench, whose kernels are main's):
#   1. sattn-run --check of the stock patterns, bf16 and f16, D 128 and 64;
#   2. sattn-bench at 32K, H 32, Hkv 8, D 128, bf16: old, new, old, new;
#   3. the GPU suite; compute-sanitizer racecheck and synccheck on its
#      sanitizer cases (time allowing).
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-b.txt
start=$SECONDS
left() { echo $(( 560 - (SECONDS - start) )); }
source bench/device-setup.sh
xz -dk .devpack/old/sattn-bench-old.xz && chmod +x .devpack/old/sattn-bench-old
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee -a "$summary"
for p in bench/patterns/dense_causal.sattn patterns/library/{power,streaming,sparsek,sample,hip,pbs}.sattn; do
  for dt in bf16 f16; do
    for shape in "--seq-len 2048 --head-dim 128" "--seq-len 1000 --head-dim 64" "--seq-len 700 --kv-len 1500 --head-dim 128"; do
      timeout 60 .devpack/sattn-run $p --check --dtype $dt --heads 4 --kv-heads 1 $shape \
        --random-inputs 7 -o /tmp/o.npy > "$logs/check.txt" 2>&1
      rc=$?
      echo "check $(basename $p .sattn) $dt $shape: exit $rc $(tr '\n' ' ' < "$logs/check.txt" | grep -oE 'max[^,;]*' | head -1)" | tee -a "$summary"
      [[ $rc == 0 ]] || cat "$logs/check.txt" >> "$logs/check-failures.txt"
    done
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
echo "--- gpu suite ($((SECONDS - start)) s)" | tee -a "$summary"
OUT=$logs SHARDS=16 SUITE_TIMEOUT=$(( $(left) - 100 )) SANITIZER_TIMEOUT=40 SANITIZER_TOOLS="racecheck synccheck" \
  bash bench/gpu-suite.sh > "$logs/gpu-suite.txt" 2>&1
echo "gpu-suite.sh: exit $? ($((SECONDS - start)) s)" | tee -a "$summary"
grep -E "GPU suite:|FAIL|exit|SUMMARY|^[a-z]+ +[0-9]+ ms" "$logs/gpu-suite.txt" | head -30 | tee -a "$summary"
grep -E "^\[  FAILED  \]" "$logs/gpu-suite.log" | head -20 | tee -a "$summary"
tar -C "$OUT" -czf "$OUT/run-b.tar.gz" logs && rm -rf "$logs"
