#!/usr/bin/env bash
# Session 9, device call E: the wgmma tile by default with Q staged by
# cp.async (run-d measured the first, element-by-element Q staging):
#   1. the GPU suite with compute-sanitizer memcheck, racecheck and synccheck
#      (now also on two stock-parameter wgmma cases, D = 128 with dynamic
#      shared memory) and the demo;
#   2. compare.py at 32K, Hkv 8: SATTN_WGMMA=0 (mma_sync) then the default;
#   3. as time allows: 128K, Hkv 8 and 32K, Hkv 32 with the default.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-e.txt
start=$SECONDS
left() { echo $(( 570 - (SECONDS - start) )); }
OUT=$logs SHARDS=16 SUITE_TIMEOUT=200 SANITIZER_TIMEOUT=80 \
  SANITIZER_TOOLS="memcheck racecheck synccheck" \
  bash bench/gpu-suite.sh > "$logs/gpu-suite.txt" 2>&1
echo "gpu-suite.sh: exit $? ($((SECONDS - start)) s)" | tee -a "$summary"
grep -E "GPU suite:|FAIL|exit|SUMMARY|^[a-z]+ +[0-9]+ ms" "$logs/gpu-suite.txt" | head -30 | tee -a "$summary"
source bench/device-setup.sh
cmp() { # label, env, args...
  local label=$1 envs=$2; shift 2
  local t=$(left); (( t > 40 )) || { echo "$label: skipped (time)" | tee -a "$summary"; return; }
  env $envs timeout $t python3 bench/compare.py "$@" --inputs random \
    --lib .devpack/libsattn.so --bin-dir .devpack \
    --json "$logs/compare-$label.json" > "$logs/compare-$label.txt" 2>&1
  echo "compare.py $label: exit $? ($((SECONDS - start)) s)" | tee -a "$summary"
  grep -E "^(power|streaming|sparsek|dense) |cases run" "$logs/compare-$label.txt" | tee -a "$summary"
}
cmp 32k-hkv8-mma SATTN_WGMMA=0 --patterns power,streaming,sparsek,dense --seq-lens 32768 --kv-heads 8
cmp 32k-hkv8 X=1 --patterns power,streaming,sparsek,dense --seq-lens 32768 --kv-heads 8
cmp 128k-hkv8 X=1 --patterns power,streaming,dense --seq-lens 131072 --kv-heads 8
cmp 32k-hkv32 X=1 --patterns power,streaming,dense --seq-lens 32768 --kv-heads 32
tar -C "$OUT" -czf "$OUT/run-e.tar.gz" logs && rm -rf "$logs"
