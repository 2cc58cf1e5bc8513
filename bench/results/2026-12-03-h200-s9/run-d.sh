#!/usr/bin/env bash
# Session 9, device call D: the fix (Q·Kᵀ with Q from shared memory, shared
# buffers beyond 48 KB carved from dynamic shared memory) with wgmma now the
# default on sm_90a:
#   1. the GPU suite (now with CudaStockParameters: stock parameters at
#      1000-2048 tokens, the wgmma tiles) and the demo, no sanitizers;
#   2. the run-a/run-c failures again (sample and a causal window at D=64);
#   3. compare.py at 32K, Hkv 8: the mma_sync tile (SATTN_WGMMA=0) and the
#      wgmma tile, one after the other on the same inputs.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-d.txt
OUT=$logs SHARDS=16 SUITE_TIMEOUT=240 SANITIZER_TOOLS="" bash bench/gpu-suite.sh > "$logs/gpu-suite.txt" 2>&1
echo "gpu-suite.sh: exit $?" | tee -a "$summary"
grep -E "GPU suite:|FAIL|demo: exit|^[a-z]+ +[0-9]" "$logs/gpu-suite.txt" | head -30 | tee -a "$summary"
source bench/device-setup.sh
R=.devpack/sattn-run
pt=bench/results/2026-12-03-h200-s9/pt
base=(--dtype bf16 --random-inputs 5 --heads 4 --kv-heads 1 --seq-len 2048 --backend cuda --check --report -o /tmp/o.npy)
for spec in "sample64:patterns/library/sample.sattn:64" "win64:$pt/win.sattn:64" "win128:$pt/win.sattn:128" "sample128:patterns/library/sample.sattn:128"; do
  IFS=: read n f d <<<"$spec"
  c=$(mktemp -d)
  line=$(SATTN_CACHE_DIR=$c timeout 100 $R $f "${base[@]}" --head-dim $d 2>>"$logs/err.txt" | grep '^{' | tail -1)
  echo "$n: $(echo "$line" | python3 -c 'import json,sys; r=json.loads(sys.stdin.read() or "{}"); print(r.get("max_abs_err"), r.get("rel_l2"), r.get("check"))')" | tee -a "$summary"
done
for mode in 0 1; do
  SATTN_WGMMA=$mode timeout 170 python3 bench/compare.py --patterns power,streaming,sparsek,dense \
    --seq-lens 32768 --kv-heads 8 --inputs random --lib .devpack/libsattn.so --bin-dir .devpack \
    --json "$logs/compare-32k-wgmma$mode.json" > "$logs/compare-32k-wgmma$mode.txt" 2>&1
  echo "compare.py SATTN_WGMMA=$mode: exit $?" | tee -a "$summary"
  grep -E "^(power|streaming|sparsek|dense) |cases run" "$logs/compare-32k-wgmma$mode.txt" | tee -a "$summary"
done
tar -C "$OUT" -czf "$OUT/run-d.tar.gz" logs && rm -rf "$logs"
