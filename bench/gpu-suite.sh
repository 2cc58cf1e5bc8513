#!/usr/bin/env bash
# The GPU suite of issue 7 on a CUDA machine (binaries in .devpack/, see
# bench/make-devpack.sh): every stock pattern x dtype x shape against the
# oracle, compute-sanitizer memcheck and racecheck on one size per pattern
# (tensor-core tile) plus the per-row tile and the padded-K/V staging path,
# then the demo on the GPU. Logs go to ${OUT:-out}/.
set -u
source bench/device-setup.sh
out=${OUT:-out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
timeout ${SUITE_TIMEOUT:-300} .devpack/sattn-cuda-backend-tests 2>&1 | tee "$out/gpu-suite.log" |
  grep -E "^\[  (PASSED|FAILED|SKIPPED) |^\[==========\]|FAILED  \]|error|Failure" | head -60
cases='*_mha_ragged_300_d64:*_bf16_gqa2_ragged_231_d40:*_bf16_mha_padded_kv_190_d64'
for tool in memcheck racecheck; do
  timeout ${SANITIZER_TIMEOUT:-200} compute-sanitizer --tool $tool --print-limit 20 \
    .devpack/sattn-cuda-backend-tests --gtest_filter="$cases" \
    > "$out/sanitizer-$tool.log" 2>&1
  echo "compute-sanitizer $tool: exit $?"
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|tests ran|PASSED|FAILED" "$out/sanitizer-$tool.log" | tail -4
done
python3 scripts/demo.py --bin .devpack --out "$out/demo" > "$out/demo.log" 2>&1
echo "demo: exit $?"
tail -15 "$out/demo.log"
