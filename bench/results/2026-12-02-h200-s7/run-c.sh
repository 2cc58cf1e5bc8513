#!/usr/bin/env bash
# Session 7, device call C, main after merging py-overhead (e27c796): the
# Python package's GPU tests (torch, CUDA tensors, streams, torch.compile)
# and the per-call host overhead (issue 17).
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
source bench/device-setup.sh
summary=$OUT/summary-c.txt
export PYTHONPATH=$PWD/python SATTN_CACHE_DIR=$(mktemp -d)
for t in test_torch test_cuda test_attention test_errors; do
  timeout 150 python3 python/tests/$t.py > "$OUT/$t.txt" 2>&1
  echo "$t: exit $?" | tee -a "$summary"
  tail -3 "$OUT/$t.txt" | tee -a "$summary"
done
timeout 150 python3 bench/host_overhead.py --lib .devpack/libsattn.so --calls 5000 > "$OUT/host-overhead.txt" 2>&1
echo "host_overhead.py: exit $?" | tee -a "$summary"
tail -25 "$OUT/host-overhead.txt" | tee -a "$summary"
