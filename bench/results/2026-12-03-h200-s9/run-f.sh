#!/usr/bin/env bash
# Session 9, device call F: run-e's racecheck ran out of its 80 s after 57
# of the 89 cases (no hazard reported); here the same cases in 4 parallel
# shards with more time.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-f.txt
source bench/device-setup.sh
cases=$(grep -o "^cases='[^']*'" bench/gpu-suite.sh | sed "s/^cases='//; s/'$//")
pids=()
for i in 0 1 2 3; do
  GTEST_TOTAL_SHARDS=4 GTEST_SHARD_INDEX=$i timeout 170 compute-sanitizer --tool racecheck --print-limit 20 \
    .devpack/sattn-cuda-backend-tests --gtest_filter="$cases" > "$logs/racecheck-$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2 3; do wait ${pids[$i]}; echo "shard $i: exit $?" | tee -a "$summary"; done
cat "$logs"/racecheck-*.log > "$logs/racecheck.log"
echo "tests OK: $(grep -c '^\[       OK \]' "$logs/racecheck.log"), FAILED: $(grep -c '^\[  FAILED  \] .*(' "$logs/racecheck.log")" | tee -a "$summary"
grep -E "RACECHECK SUMMARY" "$logs/racecheck.log" | sort | uniq -c | tee -a "$summary"
tar -C "$OUT" -czf "$OUT/run-f.tar.gz" logs && rm -rf "$logs"
