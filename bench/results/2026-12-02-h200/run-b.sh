#!/usr/bin/env bash
# Session 4, device call B: compare.py at 32K, Hkv 8, with the refactored
# build (new) and session 3's build (old, .devpack/old) in one call:
# new (with Flex and SDPA), old, new again; logs and JSON to $OUT.
set -u
cd "$(dirname "$0")/../../.."
source bench/device-setup.sh
mkdir -p .devpack/old && tar -C .devpack/old -xJf .devpack/old/sattn-bin-old.tar.xz
common="--patterns power,streaming,sparsek,dense --seq-lens 32768 --kv-heads 8 --inputs random --recall-max-seq 0 --bin-dir .devpack"
for run in new1 old1 new2 old2; do
  lib=.devpack/libsattn_c.so; extra=--skip-flex
  [[ $run == old* ]] && lib=.devpack/old/libsattn_c.so
  [[ $run == new1 ]] && extra=
  SATTN_CACHE_DIR=$(mktemp -d) python3 bench/compare.py $common --lib $lib $extra \
    --json "$OUT/compare-$run.json" > "$OUT/compare-$run.txt" 2>&1
  echo "$run: exit $?"
  grep -E "^(power|streaming|sparsek|dense) " "$OUT/compare-$run.txt"
done
