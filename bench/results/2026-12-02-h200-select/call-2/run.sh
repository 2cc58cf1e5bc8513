#!/usr/bin/env bash
# Issue 15, stripes (sample) selection as parallel stages, one device call.
# The device tool sends the lead's checkout, so the command ran there with
# this branch's devpack carried in build-select/ (ignored by /build*/):
#   build-select/sattn-bin.tar.xz      this branch (f3d9cc3)
#   build-select/sattn-bin-old.tar.xz  the tree before it (d7959d8)
#   build-select/run.sh                this file
# carry [".devlibs", "build-select"]; command: bash build-select/run.sh
# Steps: the GPU suite's sample cases; compare.py (sattn vs Flex in the same
# run) for sample at 8K and 32K, Hkv 8, random inputs; sattn-bench's
# selection / attention split of the new and the old build.
set -u
mkdir -p .devpack/old
tar -C .devpack -xJf build-select/sattn-bin.tar.xz
tar -C .devpack/old -xJf build-select/sattn-bin-old.tar.xz
source bench/device-setup.sh
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
# 1. Correctness: Stock/CudaMatchesOracle.Case/sample_* (18 cases), 6 shards.
for ((i = 0; i < 6; ++i)); do
  GTEST_TOTAL_SHARDS=6 GTEST_SHARD_INDEX=$i timeout 60 \
    .devpack/sattn-cuda-backend-tests --gtest_filter='Stock/CudaMatchesOracle.Case/sample_*' \
    > "$OUT/gpu-sample-$i.log" 2>&1 &
done
wait
cat "$OUT"/gpu-sample-*.log > "$OUT/gpu-sample.log" && rm "$OUT"/gpu-sample-*.log
echo "GPU sample cases: $(grep -c '^\[       OK \]' "$OUT/gpu-sample.log") passed," \
     "$(grep -c '^\[  FAILED  \] .*(' "$OUT/gpu-sample.log") failed"
grep -E "^\[  FAILED  \] .*\(|Failure" "$OUT/gpu-sample.log" | head -10
# 2. sattn against Flex in one run (the speed claim).
SATTN_CACHE_DIR=$(mktemp -d) PYTHONUNBUFFERED=1 timeout 100 python3 bench/compare.py \
  --patterns sample --seq-lens 8192,32768 --kv-heads 8 --inputs random \
  --recall-max-seq 0 --lib .devpack/libsattn.so --bin-dir .devpack \
  --json "$OUT/compare-sample.json" > "$OUT/compare-sample.txt" 2>&1
echo "compare: exit $?"
grep -E "^(pattern|sample) |selection|^ +sattn" "$OUT/compare-sample.txt" | head -12
# 3. Selection / attention split, new and old builds (old last: ~3 s a call).
for v in new old; do
  bin=.devpack; t=25
  [[ $v == old ]] && bin=.devpack/old && t=40
  SATTN_CACHE_DIR=$(mktemp -d) timeout $t $bin/sattn-bench patterns/library/sample.sattn \
    --backend cuda --seq-len 8192,32768 --heads 32 --kv-heads 8 --head-dim 128 \
    --dtype bf16 --warmup 1 --iters 3 --json "$OUT/bench-$v.json" > "$OUT/bench-$v.txt" 2>&1
  echo "bench $v: exit $?"
  tail -4 "$OUT/bench-$v.txt"
done
