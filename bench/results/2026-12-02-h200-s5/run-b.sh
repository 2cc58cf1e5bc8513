#!/usr/bin/env bash
# Session 5, device call B: compare.py at 32K, Hkv 8, random inputs, with
# the build before issue 21 D1 (old, .devpack/old: the tile without the
# non-finite handling) and after (new) in one call, new/old/new/old; then
# the recall table of issue 16 (random and LLM-like inputs) at 8K for the
# dynamic patterns. Logs and JSON to $OUT.
set -u
cd "$(dirname "$0")/../../.."
source bench/device-setup.sh
export PYTHONPATH=$PWD/python
common="--patterns power,streaming,sparsek,dense --seq-lens 32768 --kv-heads 8 --inputs random --recall-max-seq 0 --bin-dir .devpack"
for run in new1 old1 new2 old2; do
  lib=.devpack/libsattn.so; extra=--skip-flex
  [[ $run == old* ]] && lib=.devpack/old/libsattn.so
  [[ $run == new1 ]] && extra=
  SATTN_CACHE_DIR=$(mktemp -d) timeout 240 python3 bench/compare.py $common --lib $lib $extra \
    --json "$OUT/compare-$run.json" > "$OUT/compare-$run.txt" 2>&1
  echo "$run: exit $?"
  grep -E "^(power|streaming|sparsek|dense) " "$OUT/compare-$run.txt"
done
SATTN_CACHE_DIR=$(mktemp -d) timeout 200 python3 bench/compare.py --patterns sample,hip,sparsek,pbs \
  --seq-lens 8192 --kv-heads 8 --inputs random,llm --lib .devpack/libsattn.so --bin-dir .devpack \
  --json "$OUT/recall-8k.json" > "$OUT/recall-8k.txt" 2>&1
echo "recall 8k: exit $?"
tail -30 "$OUT/recall-8k.txt"
