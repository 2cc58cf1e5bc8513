#!/usr/bin/env bash
# Session 7, device call B: the first wgmma tile (codegen/TileToWgmma,
# sm_90a bf16/f16, D 64/128) against the oracle and against the mma_sync
# build of call A (carried in .devpack/base/), in one run:
#   1. the GPU suite and the demo (bench/gpu-suite.sh) with compute-sanitizer
#      memcheck, racecheck and synccheck;
#   2. compare.py at 32K, Hkv 8 (power, streaming, sparsek, dense), first
#      with the base build, then with the new one, same inputs and seed.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-b.txt
OUT=$logs SHARDS=16 SUITE_TIMEOUT=200 SANITIZER_TIMEOUT=100 \
  SANITIZER_TOOLS="memcheck racecheck synccheck" \
  bash bench/gpu-suite.sh > "$logs/gpu-suite.txt" 2>&1
echo "gpu-suite.sh: exit $?" | tee -a "$summary"
grep -E "GPU suite:|FAIL|Failure|exit|SUMMARY" "$logs/gpu-suite.txt" | head -30 | tee -a "$summary"
source bench/device-setup.sh
mkdir -p .devpack-base && tar -C .devpack-base -xJf .devpack/base/sattn-bin.tar.xz
for build in base new; do
  dir=.devpack; [[ $build == base ]] && dir=.devpack-base
  LD_LIBRARY_PATH=/opt/deps/usr/lib/llvm-22/lib:/opt/deps/usr/lib/x86_64-linux-gnu:$PWD/$dir \
  timeout 150 python3 bench/compare.py --patterns power,streaming,sparsek,dense \
    --seq-lens 32768 --kv-heads 8 --inputs random --lib $dir/libsattn.so --bin-dir $dir \
    --json "$logs/compare-32k-$build.json" > "$logs/compare-32k-$build.txt" 2>&1
  echo "compare.py $build: exit $?" | tee -a "$summary"
  grep -E "^(power|streaming|sparsek|dense) |cases run" "$logs/compare-32k-$build.txt" | tee -a "$summary"
done
nvidia-smi --query-gpu=name --format=csv,noheader >> "$summary"
tar -C "$OUT" -czf "$OUT/run-b.tar.gz" logs && rm -rf "$logs"
