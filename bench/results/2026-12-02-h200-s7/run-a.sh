#!/usr/bin/env bash
# Session 7, device call A, on main c629dd3 (binaries in .devpack/):
#   1. the GPU suite and the demo (bench/gpu-suite.sh, no sanitizers: they
#      ran clean on 713d89a in session 6), which runs the new
#      CudaKernelErrors.BadArgumentsAreReported for the first time;
#   2. the wgmma descriptor probe (bench/probes/wgmma_descriptors.cu);
#   3. compare.py at 32K, Hkv 8, for the static patterns and dense: the
#      mma_sync baseline of issue 14.
# Prints a short summary last; logs are packed into $OUT/run-a.tar.gz.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-a.txt
OUT=$logs SHARDS=16 SUITE_TIMEOUT=220 SANITIZER_TOOLS="" bash bench/gpu-suite.sh > "$logs/gpu-suite.txt" 2>&1
echo "gpu-suite.sh: exit $?" | tee -a "$summary"
grep -E "GPU suite:|FAIL|demo: exit" "$logs/gpu-suite.txt" | tee -a "$summary"
grep -E "CudaKernelErrors" "$logs/gpu-suite.log" | tee -a "$summary"
source bench/device-setup.sh
nvcc -gencode arch=compute_90a,code=sm_90a -O2 -o "$logs/wgmma-probe" \
  bench/probes/wgmma_descriptors.cu > "$logs/probe-build.txt" 2>&1
timeout 60 "$logs/wgmma-probe" 2>&1 | tee -a "$summary"
rm -f "$logs/wgmma-probe"
timeout 200 python3 bench/compare.py --patterns power,streaming,sparsek,dense \
  --seq-lens 32768 --kv-heads 8 --lib .devpack/libsattn.so --bin-dir .devpack \
  --json "$logs/compare-32k.json" > "$logs/compare-32k.txt" 2>&1
echo "compare.py: exit $?" | tee -a "$summary"
tail -15 "$logs/compare-32k.txt" | tee -a "$summary"
tar -C "$OUT" -czf "$OUT/run-a.tar.gz" logs && rm -rf "$logs"
