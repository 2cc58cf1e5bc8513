#!/usr/bin/env bash
# Session 9, device call C: the sample/wgmma failure is D=64 only, tiles >= 1
# only, with or without the pipeline (run-a). Here: neighbouring patterns at
# D=64, the temporary knobs SATTN_DEBUG_NOSKIP (always rescale) and
# SATTN_DEBUG_NOCLEAR (no non-finite V pass), and a numpy map of tile 1's
# error against hypotheses built from the oracle's token mask.
set -u
cd "$(dirname "$0")/../../.."
export OUT=${OUT:-out}
logs=$OUT/logs; mkdir -p "$logs"
summary=$OUT/summary-c.txt
source bench/device-setup.sh
R=.devpack/sattn-run
lib=patterns/library
pt=bench/results/2026-12-03-h200-s9/pt
one() {
  local label=$1; shift
  local envs=(); while [[ $1 != -- ]]; do envs+=("$1"); shift; done; shift
  local c=$(mktemp -d) line
  line=$(env SATTN_CACHE_DIR=$c "${envs[@]}" timeout 120 $R "$@" --backend cuda --check --report 2>>"$logs/err.txt" | grep '^{' | tail -1)
  python3 - "$label" "$line" <<'PY' | tee -a "$summary"
import json,sys
l=sys.argv[2]
if not l: print(f"{sys.argv[1]:<40} FAILED"); sys.exit()
r=json.loads(l); print(f"{sys.argv[1]:<40} err {r['max_abs_err']:<9.3g} relL2 {r['rel_l2']:<9.3g} {r['check']}")
PY
  rm -rf $c
}
base=(--dtype bf16 --random-inputs 5 --batch 1 --heads 4 --kv-heads 1 -o /tmp/o.npy --seq-len 2048 --head-dim 64)
W=SATTN_WGMMA=1
nb=(--dtype bf16 --random-inputs 5 --batch 1 --heads 4 --kv-heads 1 --seq-len 2048 --head-dim 64)
one "wg win nopipe" $W SATTN_DEBUG_NOPIPE=1 -- $pt/win.sattn "${base[@]}"
one "wg win Hkv4" $W -- $pt/win.sattn --dtype bf16 --random-inputs 5 --heads 4 --kv-heads 4 -o /tmp/o.npy --seq-len 2048 --head-dim 64
one "wg win S=128" $W -- $pt/win.sattn "${base[@]}" --seq-len 128
one "wg win S=192" $W -- $pt/win.sattn "${base[@]}" --seq-len 192
one "wg win f32->mma" $W -- $pt/win.sattn "${base[@]}" --dtype f32
# Tile 1 of each head against hypotheses.
c=$(mktemp -d)
SATTN_CACHE_DIR=$c $W $R $pt/win.sattn "${nb[@]}" --backend cuda -o /tmp/w.npy --lse /tmp/wl.npy >/dev/null 2>&1
$R $pt/win.sattn "${nb[@]}" --backend reference -o /tmp/r.npy --lse /tmp/rl.npy >/dev/null 2>&1
.devpack/sattn-compile $pt/win.sattn --dtype bf16 --random-inputs 5 --batch 1 --heads 4 --kv-heads 1 --seq-len 2048 --head-dim 64 --emit=mask-npy -o /tmp/m.npy 2>>"$logs/err.txt"
mkdir -p /tmp/in; .devpack/sattn-compile $pt/win.sattn --dtype bf16 --random-inputs 5 --batch 1 --heads 4 --kv-heads 1 --seq-len 2048 --head-dim 64 --emit=inputs-npy -o /tmp/in 2>>"$logs/err.txt"
ls /tmp/in >> "$logs/err.txt"
python3 - <<'PY' 2>&1 | tee -a "$summary"
import numpy as np, glob
w=np.load('/tmp/w.npy')[0]; r=np.load('/tmp/r.npy')[0]
wl=np.load('/tmp/wl.npy')[0]; rl=np.load('/tmp/rl.npy')[0]
m=np.load('/tmp/m.npy')[0].astype(bool)
d={p.split('/')[-1]:np.load(p) for p in glob.glob('/tmp/in/*.npy')}
print("inputs", {k:v.shape for k,v in d.items()})
q=d['q.npy'][0].astype(np.float64); k=d['k.npy'][0].astype(np.float64); v=d['v.npy'][0].astype(np.float64)
H,S,D=q.shape[0],q.shape[1],q.shape[2]
def att(h, rows, mask):
    kk=k[0] if k.shape[0]==1 else k[h]; vv=v[0] if v.shape[0]==1 else v[h]
    s=q[h,rows]@kk.T/np.sqrt(D); s=np.where(mask,s,-np.inf)
    mx=s.max(1,keepdims=True); p=np.exp(s-mx); l=p.sum(1)
    return (p@vv)/l[:,None], mx[:,0]+np.log(l)
for h in range(2):
  for t in (1,2,5):
    rows=np.arange(64*t,64*t+64); mk=m[h,rows]
    ref,rlse=att(h,rows,mk)
    print(f"h{h} t{t}: |w-ref| {np.abs(w[h,rows]-ref).max():.3g} |r-ref| {np.abs(r[h,rows]-ref).max():.3g} lse |w-r| {np.abs(wl[h,rows]-rl[h,rows]).max():.3g} keys/row {mk.sum(1).min()}-{mk.sum(1).max()}")
    hyps={}
    for name,keep in [("chunks<64t dropped", lambda j: j>=64*t), ("only chunk 0", lambda j: j<64),
                      ("last chunk dropped", lambda j: j<64*t), ("diag unmasked", None), ("no causal in t", None)]:
      kk=np.arange(S)[None,:]
      if name=="diag unmasked": mm=mk|((kk>=64*t)&(kk<64*t+64))
      elif name=="no causal in t": mm=mk|((kk>=64*t)&(kk<64*t+64)&(kk>rows[:,None]))
      else: mm=mk&keep(kk)
      o,_=att(h,rows,mm); hyps[name]=np.abs(w[h,rows]-o).max()
    print("   ", {a:round(float(b),3) for a,b in hyps.items()})
    e=np.abs(w[h,rows]-ref).max(1); print("    err by row:", np.round(e[:64:4],2).tolist())
PY
for n in win64 win128 st64; do cuobjdump --dump-sass bench/results/2026-12-03-h200-s9/cubin/$n.cubin > $OUT/$n.sass 2>&1; done
grep -c HGMMA $OUT/*.sass | tee -a "$summary"
tar -C "$OUT" -czf "$OUT/run-c.tar.gz" logs && rm -rf "$logs"
