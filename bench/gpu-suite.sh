#!/usr/bin/env bash
# The GPU suite of issue 7 on a CUDA machine (binaries in .devpack/, see
# bench/device-setup.sh): every stock pattern x dtype x shape against the
# oracle, then compute-sanitizer memcheck and racecheck on one size per
# pattern. Logs go to ${OUT:-out}/.
set -u
source bench/device-setup.sh
out=${OUT:-out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
.devpack/sattn-cuda-backend-tests 2>&1 | tee "$out/gpu-suite.log" | grep -E "^\[  (PASSED|FAILED|SKIPPED) |^\[==========\]|FAILED  \]"
one_per_pattern='*_f16_mha_ragged_300_d64'
for tool in memcheck racecheck; do
  timeout 240 compute-sanitizer --tool $tool --print-limit 20 \
    .devpack/sattn-cuda-backend-tests --gtest_filter="$one_per_pattern" \
    > "$out/sanitizer-$tool.log" 2>&1
  echo "compute-sanitizer $tool: exit $?"
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|PASSED|FAILED" "$out/sanitizer-$tool.log" | tail -4
done
