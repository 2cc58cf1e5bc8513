#!/usr/bin/env bash
# The PTX of the stock patterns and dense causal from two builds, compared
# byte for byte: every target x dtype x head dim the GPU suite uses.
#   BASE=/path/to/old/checkout NEW=/path/to/this/checkout bash ptx-identity.sh
# (each with a build/ holding bin/sattn-compile; the patterns are NEW's).
set -u
: "${BASE:?set BASE to the old checkout}" "${NEW:?set NEW to this checkout}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
same=0 different=0
for target in sm_90a sm_80; do
  for dtype in bf16 f16 f32; do
    for d in 64 128; do
      for p in patterns/library/{power,streaming,sample,hip,sparsek,pbs}.sattn \
               bench/patterns/dense_causal.sattn; do
        args=(--emit=ptx --target "$target" --dtype "$dtype" --heads 8
              --kv-heads 2 --head-dim "$d")
        "$BASE/build/bin/sattn-compile" "$NEW/$p" "${args[@]}" -o "$tmp/a.ptx" 2>/dev/null
        "$NEW/build/bin/sattn-compile" "$NEW/$p" "${args[@]}" -o "$tmp/b.ptx" 2>/dev/null
        if [[ -s $tmp/a.ptx ]] && cmp -s "$tmp/a.ptx" "$tmp/b.ptx"; then
          same=$((same + 1))
        else
          different=$((different + 1))
          echo "DIFFERENT: $target $dtype D=$d $p"
        fi
        rm -f "$tmp/a.ptx" "$tmp/b.ptx"
      done
    done
  done
done
echo "identical $same, different $different"
[[ $different == 0 ]]
