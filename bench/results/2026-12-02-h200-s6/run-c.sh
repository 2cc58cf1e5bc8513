#!/usr/bin/env bash
# Session 6, device call C: the Python package's GPU tests (test_torch and
# test_patterns were fixed after session 5's GPU run); compare.py at 8K for
# sample, hip, sparsek and pbs on random and LLM-like inputs (issue 16's
# recall table, with Flex on the same blocks); compare.py for pbs and sample
# at 32K on random inputs (issue 15: selection + attention against Flex).
# B=1, H=32, Hkv=8, D=128, bf16. Logs are packed into $OUT/run-c.tar.gz.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-c.txt
source bench/device-setup.sh
export PYTHONPATH=$PWD/python
for t in test_torch test_patterns; do
  timeout 120 python3 python/tests/$t.py > "$logs/python-$t.log" 2>&1
  echo "python $t: exit $? ($(tail -1 "$logs/python-$t.log"))" | tee -a "$summary"
done
SATTN_CACHE_DIR=$(mktemp -d) timeout 240 python3 bench/compare.py --patterns sample,hip,sparsek,pbs \
  --seq-lens 8192 --kv-heads 8 --inputs random,llm --lib .devpack/libsattn.so --bin-dir .devpack \
  --json "$logs/recall-8k.json" > "$logs/recall-8k.txt" 2>&1
echo "compare (recall, 8K): exit $?" | tee -a "$summary"
grep -E "^(sample|hip|sparsek|pbs) |checks" "$logs/recall-8k.txt" | tee -a "$summary"
SATTN_CACHE_DIR=$(mktemp -d) timeout 150 python3 bench/compare.py --patterns pbs,sample \
  --seq-lens 32768 --kv-heads 8 --inputs random --lib .devpack/libsattn.so --bin-dir .devpack \
  --json "$logs/compare-32k.json" > "$logs/compare-32k.txt" 2>&1
echo "compare (32K): exit $?" | tee -a "$summary"
grep -E "^(sample|pbs) |checks" "$logs/compare-32k.txt" | tee -a "$summary"
tar -C "$OUT" -czf "$OUT/run-c.tar.gz" logs && rm -rf "$logs"
