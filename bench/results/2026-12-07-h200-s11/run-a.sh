#!/usr/bin/env bash
# Session 11, device call A (binaries: main at 3f760a0 plus three temporary
# experiment switches, read from the environment and named in the cache key;
# unset, the kernels are main's):
#   SATTN_EXP_TILEQ=128   128-row query tiles (two wgmma warpgroups share
#                         each K/V chunk) where the pattern's blocks allow
#   SATTN_EXP_CHUNK=128   128-key chunks on the wgmma tile (m64n128 Q·Kᵀ)
#   SATTN_EXP_MINCTAS=3   nvvm.minctasm 3 (ptxas caps registers at 168)
# 1. sattn-bench at 32K, H 32, Hkv 8, D 128, bf16 for every variant on dense
#    causal, power and streaming (the base first and last: noise);
# 2. sattn-run --check of each variant (S 2048/1000, D 128 and 64);
# 3. issue 15 baselines: sattn-bench per-stage times of the dynamic patterns;
# 4. the GPU suite (its 72 preview cases: score modifiers, head dims 80, 96,
#    192, 256 under SATTN_GPU_PREVIEW=1), memcheck on the preview cases, demo.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-a.txt
start=$SECONDS
left() { echo $(( 560 - (SECONDS - start) )); }
source bench/device-setup.sh
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee -a "$summary"
pats="bench/patterns/dense_causal.sattn patterns/library/power.sattn patterns/library/streaming.sattn"
bench() { # label env...
  local label=$1; shift
  for p in $pats; do
    env "$@" SATTN_CACHE_DIR=/tmp/cache-$label timeout 60 .devpack/sattn-bench $p \
      --seq-len 32768 --heads 32 --kv-heads 8 --iters 10 > "$logs/bench-$label-$(basename $p .sattn).txt" 2>&1
    echo "$label $(basename $p .sattn): $(grep -E '^[a-z_]+ +32768' "$logs/bench-$label-$(basename $p .sattn).txt" | awk '{print "attend", $8, "ms, TF/s", $10}')" | tee -a "$summary"
  done
}
bench base X=1
bench tileq128 SATTN_EXP_TILEQ=128
bench chunk128 SATTN_EXP_CHUNK=128
bench both SATTN_EXP_TILEQ=128 SATTN_EXP_CHUNK=128
bench minctas3 SATTN_EXP_MINCTAS=3
bench base2 X=1
echo "--- checks ($((SECONDS - start)) s)" | tee -a "$summary"
for v in "X=1" "SATTN_EXP_TILEQ=128" "SATTN_EXP_CHUNK=128" "SATTN_EXP_TILEQ=128 SATTN_EXP_CHUNK=128" "SATTN_EXP_MINCTAS=3"; do
  for p in $pats patterns/library/sparsek.sattn; do
    for shape in "--seq-len 2048 --head-dim 128" "--seq-len 1000 --head-dim 64"; do
      env $v SATTN_CACHE_DIR=/tmp/cache-check timeout 60 .devpack/sattn-run $p --check --dtype bf16 \
        --heads 4 --kv-heads 1 $shape --random-inputs 7 > "$logs/check.txt" 2>&1
      rc=$?
      echo "check [$v] $(basename $p .sattn) $shape: exit $rc $(grep -oE 'max\|err\|[^,]*' "$logs/check.txt" | head -1)" | tee -a "$summary"
      [[ $rc == 0 ]] || cat "$logs/check.txt" >> "$logs/check-failures.txt"
    done
  done
done
echo "--- issue 15 baselines ($((SECONDS - start)) s)" | tee -a "$summary"
for p in sample hip pbs sparsek; do
  timeout 90 .devpack/sattn-bench patterns/library/$p.sattn --seq-len 32768 --heads 32 --kv-heads 8 \
    --iters 3 --warmup 1 > "$logs/bench15-$p.txt" 2>&1
  echo "$p: exit $?" | tee -a "$summary"
  grep -vE "^sattn-bench: timing" "$logs/bench15-$p.txt" | tail -12 | tee -a "$summary"
done
echo "--- gpu suite ($((SECONDS - start)) s)" | tee -a "$summary"
OUT=$logs SHARDS=16 SUITE_TIMEOUT=$(( $(left) - 60 )) SANITIZER_TOOLS="" \
  bash bench/gpu-suite.sh > "$logs/gpu-suite.txt" 2>&1
echo "gpu-suite.sh: exit $? ($((SECONDS - start)) s)" | tee -a "$summary"
grep -E "GPU suite:|FAIL|exit|^[a-z]+ +[0-9]+ ms" "$logs/gpu-suite.txt" | head -30 | tee -a "$summary"
grep -cE "^\[       OK \] .*(Preview|ScoreModifiers)" "$logs/gpu-suite.log" | sed 's/^/preview and modifier cases OK: /' | tee -a "$summary"
t=$(left)
if (( t > 30 )); then
  timeout $t compute-sanitizer --tool memcheck --print-limit 20 .devpack/sattn-cuda-backend-tests \
    --gtest_filter='*CudaScoreModifiers*:*CudaPreviewHeadDims*/*d80*:*CudaPreviewHeadDims*/*d256*' > "$logs/memcheck-preview.txt" 2>&1
  echo "memcheck preview: exit $? $(grep -E 'ERROR SUMMARY' "$logs/memcheck-preview.txt" | tail -1)" | tee -a "$summary"
fi
tar -C "$OUT" -czf "$OUT/run-a.tar.gz" logs && rm -rf "$logs"
