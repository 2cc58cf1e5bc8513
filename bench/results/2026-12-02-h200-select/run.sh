#!/usr/bin/env bash
# Issue 15, stripes (sample) selection as parallel stages: GPU check and
# timings of this branch in one device call. The device tool sends the
# lead's checkout (/work/main), so this branch's binaries travel in an
# ignored folder of it, build-select/ (ignored by /build*/):
#   build-select/sattn-bin.tar.xz      this branch's bench/make-devpack.sh
#   build-select/sattn-bin-old.tar.xz  the same of the tree before it (d7959d8)
#   build-select/run.sh                this file
# device call: command `bash build-select/run.sh`, carry [".devlibs", "build-select"].
# The binaries are unpacked into build-select/bin, NOT .devpack: on a warm
# machine .devpack/ still holds the lead's sattn-bin.tar.xz, which
# bench/device-setup.sh unpacks over whatever is there (call-2/ measured
# the lead's binaries that way).
set -u
source bench/device-setup.sh
d=$PWD/build-select/bin
rm -rf "$d" && mkdir -p "$d/old"
tar -C "$d" -xJf build-select/sattn-bin.tar.xz
tar -C "$d/old" -xJf build-select/sattn-bin-old.tar.xz
libs=/opt/deps/usr/lib/llvm-22/lib:/opt/deps/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$libs:$d SATTN_LIBRARY=$d/libsattn.so SATTN_TOOLS_DIR=$d
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
# 1. Correctness: Stock/CudaMatchesOracle.Case/sample_* (18 cases), 6 shards.
for ((i = 0; i < 6; ++i)); do
  GTEST_TOTAL_SHARDS=6 GTEST_SHARD_INDEX=$i timeout 60 \
    "$d/sattn-cuda-backend-tests" --gtest_filter='Stock/CudaMatchesOracle.Case/sample_*' \
    > "$OUT/gpu-sample-$i.log" 2>&1 &
done
wait
cat "$OUT"/gpu-sample-*.log > "$OUT/gpu-sample.log" && rm "$OUT"/gpu-sample-*.log
echo "GPU sample cases: $(grep -c '^\[       OK \]' "$OUT/gpu-sample.log") passed," \
     "$(grep -c '^\[  FAILED  \] .*(' "$OUT/gpu-sample.log") failed"
grep -E "^\[  FAILED  \] .*\(|Failure" "$OUT/gpu-sample.log" | head -10
# 2. sattn against Flex in one run (the speed claim).
SATTN_CACHE_DIR=$(mktemp -d) PYTHONUNBUFFERED=1 timeout 150 python3 bench/compare.py \
  --patterns sample --seq-lens 8192,32768 --kv-heads 8 --inputs random \
  --recall-max-seq 0 --lib "$d/libsattn.so" --bin-dir "$d" \
  --json "$OUT/compare-sample.json" > "$OUT/compare-sample.txt" 2>&1
echo "compare: exit $?"
grep -E "^(pattern|sample) |selection" "$OUT/compare-sample.txt" | head -12
# 3. Selection / attention split, new and old builds (old: ~3 s a call).
for v in new old; do
  bin=$d; t=40
  [[ $v == old ]] && bin=$d/old && t=40
  SATTN_CACHE_DIR=$(mktemp -d) timeout $t "$bin/sattn-bench" patterns/library/sample.sattn \
    --backend cuda --seq-len 8192,32768 --heads 32 --kv-heads 8 --head-dim 128 \
    --dtype bf16 --warmup 1 --iters 3 --json "$OUT/bench-$v.json" > "$OUT/bench-$v.txt" 2>&1
  echo "bench $v: exit $?"
  grep -E "^sample" "$OUT/bench-$v.txt"
done
