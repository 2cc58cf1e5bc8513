#!/usr/bin/env bash
# Session 11, device call D: the committed tree (overlap opt-in, previews
# the default):
#   1. the GPU suite (CudaHeadDims, CudaScoreModifiers without any switch,
#      the 24 CudaWgmmaOverlap cases) and the demo; synccheck on the
#      sanitizer cases, time allowing;
#   2. compare.py at 32K, Hkv 8: sattn, Flex on sattn's blocks, SDPA
#      (FlashAttention-2, cuDNN), random inputs.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-d.txt
start=$SECONDS
left() { echo $(( 550 - (SECONDS - start) )); }
source bench/device-setup.sh
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee -a "$summary"
OUT=$logs SHARDS=16 SUITE_TIMEOUT=260 SANITIZER_TIMEOUT=45 SANITIZER_TOOLS="synccheck" \
  bash bench/gpu-suite.sh > "$logs/gpu-suite.txt" 2>&1
echo "gpu-suite.sh: exit $? ($((SECONDS - start)) s)" | tee -a "$summary"
grep -E "GPU suite:|FAIL|exit|SUMMARY|^[a-z]+ +[0-9]+ ms" "$logs/gpu-suite.txt" | head -20 | tee -a "$summary"
grep -E "^\[  FAILED  \]" "$logs/gpu-suite.log" | head -20 | tee -a "$summary"
for s in CudaHeadDims CudaScoreModifiers CudaWgmmaOverlap; do
  echo "$s OK: $(grep -cE "^\[       OK \] .*$s" "$logs/gpu-suite.log")" | tee -a "$summary"
done
t=$(left)
if (( t > 60 )); then
  timeout $t python3 bench/compare.py --patterns power,streaming,sparsek,dense --seq-lens 32768 \
    --kv-heads 8 --inputs random --lib .devpack/libsattn.so --bin-dir .devpack \
    --json "$logs/compare-32k-hkv8.json" > "$logs/compare-32k-hkv8.txt" 2>&1
  echo "compare.py: exit $? ($((SECONDS - start)) s)" | tee -a "$summary"
  grep -E "^(power|streaming|sparsek|dense) |cases run" "$logs/compare-32k-hkv8.txt" | tee -a "$summary"
fi
tar -C "$OUT" -czf "$OUT/run-d.tar.gz" logs && rm -rf "$logs"
