#!/usr/bin/env bash
# The GPU suite of issue 7 on a CUDA machine (binaries in .devpack/, see
# bench/make-devpack.sh): every stock pattern x dtype x shape against the
# oracle (in ${SHARDS:-8} parallel shards: compiling dominates), then
# compute-sanitizer memcheck, racecheck, synccheck and initcheck on one
# size per pattern, the stock parameters of power and sample on the wgmma tile
# (tensor-core tile), the padded-K/V staging path and the per-row tile,
# then the demo on the GPU. Logs go to ${OUT:-out}/. FILTER (a gtest filter,
# default every case) narrows the suite, SANITIZER_CASES replaces the
# sanitizers' cases (SANITIZER_TOOLS="" skips them), DEMO=0 skips the demo:
# the session scripts under bench/results/ run parts of it. Exits 1 when any part
# fails (a shard's exit status, a failed test, a sanitizer error, the demo):
# it used to exit 0 whatever failed (issue 21).
set -u
source bench/device-setup.sh
out=${OUT:-out}
shards=${SHARDS:-8}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
status=0
fail() { echo "gpu-suite: FAIL: $*"; status=1; }
pids=()
for ((i = 0; i < shards; ++i)); do
  GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i timeout ${SUITE_TIMEOUT:-300} \
    .devpack/sattn-cuda-backend-tests --gtest_filter="${FILTER:-*}" \
    > "$out/gpu-suite-$i.log" 2>&1 &
  pids+=($!)
done
for ((i = 0; i < shards; ++i)); do
  wait "${pids[$i]}" || fail "shard $i exited with status $?"
done
cat "$out"/gpu-suite-*.log > "$out/gpu-suite.log" && rm "$out"/gpu-suite-*.log
echo "GPU suite: $(grep -c '^\[       OK \]' "$out/gpu-suite.log") passed," \
     "$(grep -c '^\[  FAILED  \] .*(' "$out/gpu-suite.log") failed," \
     "$(grep -c '^\[  SKIPPED \] .*(' "$out/gpu-suite.log") skipped"
grep -E "^\[  FAILED  \] .*\(|Failure|error" "$out/gpu-suite.log" | head -20
if grep -q '^\[  FAILED  \]' "$out/gpu-suite.log"; then fail "GPU suite"; fi
if ! grep -q '^\[       OK \]' "$out/gpu-suite.log"; then fail "no test passed"; fi
cases=${SANITIZER_CASES:-'*_mha_ragged_300_d64:*_bf16_mha_padded_kv_190_d64:CudaRowTile.*/bf16:*CudaStockParameters.*/power_bf16_mha_sq_lt_sk_d128:*CudaStockParameters.*/sample_bf16_gqa4_ragged_1000_d128'}
# SANITIZER_TOOLS="" skips them.
for tool in ${SANITIZER_TOOLS-memcheck racecheck synccheck initcheck}; do
  timeout ${SANITIZER_TIMEOUT:-200} compute-sanitizer --tool $tool --print-limit 20 \
    .devpack/sattn-cuda-backend-tests --gtest_filter="$cases" \
    > "$out/sanitizer-$tool.log" 2>&1
  rc=$?
  echo "compute-sanitizer $tool: exit $rc"
  [[ $rc == 0 ]] || fail "compute-sanitizer $tool (exit $rc)"
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|tests ran|PASSED|FAILED" "$out/sanitizer-$tool.log" | tail -4
done
if [[ ${DEMO:-1} != 0 ]]; then
  python3 scripts/demo.py --bin .devpack --out "$out/demo" > "$out/demo.log" 2>&1
  rc=$?
  echo "demo: exit $rc"
  [[ $rc == 0 ]] || fail "demo (exit $rc)"
  tail -12 "$out/demo.log"
fi
echo "gpu-suite: $([[ $status == 0 ]] && echo ok || echo FAILED)"
exit $status
