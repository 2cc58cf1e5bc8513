#!/usr/bin/env bash
# The GPU suite of issue 7 on a CUDA machine (binaries in .devpack/, see
# bench/make-devpack.sh): every stock pattern x dtype x shape against the
# oracle (in ${SHARDS:-8} parallel shards: compiling dominates), then
# compute-sanitizer memcheck and racecheck on one size per pattern
# (tensor-core tile), the padded-K/V staging path and the per-row tile,
# then the demo on the GPU. Logs go to ${OUT:-out}/.
set -u
source bench/device-setup.sh
out=${OUT:-out}
shards=${SHARDS:-8}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
for ((i = 0; i < shards; ++i)); do
  GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i timeout ${SUITE_TIMEOUT:-300} \
    .devpack/sattn-cuda-backend-tests > "$out/gpu-suite-$i.log" 2>&1 &
done
wait
cat "$out"/gpu-suite-*.log > "$out/gpu-suite.log" && rm "$out"/gpu-suite-*.log
echo "GPU suite: $(grep -c '^\[       OK \]' "$out/gpu-suite.log") passed," \
     "$(grep -c '^\[  FAILED  \] .*(' "$out/gpu-suite.log") failed," \
     "$(grep -c '^\[  SKIPPED \] .*(' "$out/gpu-suite.log") skipped"
grep -E "^\[  FAILED  \] .*\(|Failure|error" "$out/gpu-suite.log" | head -20
cases='*_mha_ragged_300_d64:*_bf16_mha_padded_kv_190_d64:CudaRowTile.*/bf16'
for tool in memcheck racecheck; do
  timeout ${SANITIZER_TIMEOUT:-200} compute-sanitizer --tool $tool --print-limit 20 \
    .devpack/sattn-cuda-backend-tests --gtest_filter="$cases" \
    > "$out/sanitizer-$tool.log" 2>&1
  echo "compute-sanitizer $tool: exit $?"
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|tests ran|PASSED|FAILED" "$out/sanitizer-$tool.log" | tail -4
done
python3 scripts/demo.py --bin .devpack --out "$out/demo" > "$out/demo.log" 2>&1
echo "demo: exit $?"
tail -12 "$out/demo.log"
