#!/usr/bin/env bash
# Session 5, device call A: the GPU suite (with the non-finite cases of
# issue 21 D1), compute-sanitizer, the demo, then the Python package's GPU
# tests and host overhead (issue 17). Logs to $OUT.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
SHARDS=14 bash bench/gpu-suite.sh 2>&1 | tee "$OUT/summary-a.txt"
source bench/device-setup.sh
export PYTHONPATH=$PWD/python
for t in test_cuda test_torch test_attention test_errors test_patterns; do
  timeout 300 python3 python/tests/$t.py > "$OUT/python-$t.log" 2>&1
  echo "python $t: exit $? ($(tail -1 "$OUT/python-$t.log"))" | tee -a "$OUT/summary-a.txt"
done
timeout 200 python3 examples/pytorch/swap_flex.py --device cuda > "$OUT/swap-flex.log" 2>&1
echo "examples/pytorch/swap_flex.py: exit $? ($(tail -1 "$OUT/swap-flex.log"))" | tee -a "$OUT/summary-a.txt"
timeout 200 python3 bench/host_overhead.py > "$OUT/host-overhead.log" 2>&1
echo "host_overhead: exit $?" | tee -a "$OUT/summary-a.txt"
tail -15 "$OUT/host-overhead.log" | tee -a "$OUT/summary-a.txt"
