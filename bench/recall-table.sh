#!/usr/bin/env bash
# The recall table of issue 16 on the CPU: every stock pattern at the given
# lengths on LLM-like and random inputs (sattn-compile --emit=recall-json,
# float64 reference library), averaged over heads. Usage:
#   bash bench/recall-table.sh [OUT_DIR] [LENGTHS...]   (default: out 8192 32768)
# Shape: B = 1, H = 8, Hkv = 2, D = 128; seed 1. JSON per run in OUT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out}
shift || true
lengths=("$@")
[[ ${#lengths[@]} -eq 0 ]] && lengths=(8192 32768)
bin=${BIN:-build/bin}
mkdir -p "$out"
echo "| pattern | S | inputs | density | recall mean | recall p5 (min over heads) | recall min | out rel. err (mean) |"
echo "|---|---|---|---|---|---|---|---|"
for p in power streaming sample hip sparsek pbs; do
  for s in "${lengths[@]}"; do
    for inputs in llm random; do
      f="$out/$p-$s-$inputs.json"
      "$bin/sattn-compile" "patterns/library/$p.sattn" --emit=recall-json \
        --$inputs-inputs=1 --seq-len="$s" --heads=8 --kv-heads=2 --head-dim=128 \
        -o "$f" 2>/dev/null
      python3 - "$f" "$p" "$s" "$inputs" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
h = d["heads_detail"]
mean = lambda k: sum(x[k] for x in h) / len(h)
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {mean('density'):.3f} | "
      f"{mean('recall_mean'):.3f} | {min(x['recall_p5'] for x in h):.3g} | "
      f"{min(x['recall_min'] for x in h):.3g} | {mean('out_rel_err'):.3g} |")
PY
    done
  done
done
