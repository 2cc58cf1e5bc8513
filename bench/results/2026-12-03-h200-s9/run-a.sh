#!/usr/bin/env bash
# Session 9, device call A: why does sample fail with the wgmma tile at
# B1 Hq4 Hkv1 S=2048 D=64 (session 7)? Runs sattn-run --check on sample and
# neighbours with mma_sync, wgmma and wgmma without the chunk pipeline
# (SATTN_DEBUG_NOPIPE, a temporary knob of this experiment), maps the bad
# rows against the oracle, and runs racecheck/synccheck on the failing case.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-a.txt
source bench/device-setup.sh
R=.devpack/sattn-run
lib=patterns/library
one() { # label, env..., -- args
  local label=$1; shift
  local envs=(); while [[ $1 != -- ]]; do envs+=("$1"); shift; done; shift
  local c=$(mktemp -d)
  local line
  line=$(env SATTN_CACHE_DIR=$c "${envs[@]}" timeout 120 $R "$@" --backend cuda --check --report 2>>"$logs/err.txt" | grep '^{' | tail -1)
  python3 - "$label" "$line" <<'PY' | tee -a "$summary"
import json,sys
l=sys.argv[2]
if not l: print(f"{sys.argv[1]:<44} FAILED"); sys.exit()
r=json.loads(l); print(f"{sys.argv[1]:<44} err {r['max_abs_err']:<9.3g} relL2 {r['rel_l2']:<9.3g} {r['check']}")
PY
  rm -rf $c
}
base=(--dtype bf16 --random-inputs 5 --batch 1 --heads 4 --kv-heads 1 -o /tmp/o.npy)
for v in "mma:" "wgmma:SATTN_WGMMA=1" "wgmma-nopipe:SATTN_WGMMA=1 SATTN_DEBUG_NOPIPE=1"; do
  name=${v%%:*}; e=(${v#*:}); e+=(X=1)
  for S in 1024 2048 4096; do
    one "$name sample S=$S D=64" "${e[@]}" -- $lib/sample.sattn "${base[@]}" --seq-len $S --head-dim 64
  done
  one "$name sample S=2048 D=128" "${e[@]}" -- $lib/sample.sattn "${base[@]}" --seq-len 2048 --head-dim 128
  one "$name sample S=2048 Hkv4" "${e[@]}" -- $lib/sample.sattn --dtype bf16 --random-inputs 5 --heads 4 --kv-heads 4 -o /tmp/o.npy --seq-len 2048 --head-dim 64
  one "$name sample alpha=1" "${e[@]}" -- $lib/sample.sattn "${base[@]}" --seq-len 2048 --head-dim 64 --set alpha=1.0
  one "$name sample alpha=0.01" "${e[@]}" -- $lib/sample.sattn "${base[@]}" --seq-len 2048 --head-dim 64 --set alpha=0.01
  one "$name sample wf=0.5" "${e[@]}" -- $lib/sample.sattn "${base[@]}" --seq-len 2048 --head-dim 64 --set window_frac=0.5
  one "$name streaming sink0 w128" "${e[@]}" -- $lib/streaming.sattn "${base[@]}" --seq-len 2048 --head-dim 64 --set sink=0 --set window=128
  one "$name streaming sink0 w127" "${e[@]}" -- $lib/streaming.sattn "${base[@]}" --seq-len 2048 --head-dim 64 --set sink=0 --set window=127
  one "$name power S=2048" "${e[@]}" -- $lib/power.sattn "${base[@]}" --seq-len 2048 --head-dim 64
done
# Where the wrong rows are: per head, the 64-row tiles with max|err| > 0.05.
c=$(mktemp -d)
SATTN_CACHE_DIR=$c SATTN_WGMMA=1 $R $lib/sample.sattn "${base[@]}" --seq-len 2048 --head-dim 64 --backend cuda -o /tmp/w.npy >/dev/null 2>&1
$R $lib/sample.sattn "${base[@]}" --seq-len 2048 --head-dim 64 --backend reference -o /tmp/r.npy >/dev/null 2>&1
python3 - <<'PY' | tee -a "$summary"
import numpy as np
w=np.load('/tmp/w.npy'); r=np.load('/tmp/r.npy')
e=np.abs(w-r).max(axis=-1)  # [B,H,S]
for h in range(e.shape[1]):
    t=e[0,h].reshape(-1,64).max(axis=1)
    bad=[i for i,x in enumerate(t) if x>0.05]
    rows=np.nonzero(e[0,h]>0.05)[0]
    print(f"head {h}: bad tiles {bad[:40]} ({len(bad)}/{len(t)}); bad rows {len(rows)}; first rows {rows[:12].tolist()}")
    if len(rows):
        i=rows[0]; print("  row", i, "w", w[0,h,i,:4], "r", r[0,h,i,:4])
PY
# Sanitizers on the failing case.
for tool in racecheck synccheck memcheck; do
  c=$(mktemp -d)
  SATTN_CACHE_DIR=$c SATTN_WGMMA=1 timeout 200 compute-sanitizer --tool $tool $R $lib/sample.sattn "${base[@]}" --seq-len 2048 --head-dim 64 --backend cuda > "$logs/san-$tool.txt" 2>&1
  echo "$tool: exit $? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|hazard' "$logs/san-$tool.txt" | tail -2 | tr '\n' ' ')" | tee -a "$summary"
done
tar -C "$OUT" -czf "$OUT/run-a.tar.gz" logs && rm -rf "$logs"
