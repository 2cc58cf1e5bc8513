#!/usr/bin/env python3
"""Runs the custom patterns of examples/patterns through the oracle.

dilated and documents are static: their masks from `sattn-compile
--emit=mask-npy` must equal masks computed here from the patterns' text
(docs/patterns.md semantics). pow2_topk selects at run time: its mask must
hold its static part (causal window and pow2 strides), stay causal, and add
some keys beyond it. Prints one line per check and exits non-zero on failure.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "spec"))
from spec_masks import read_npy  # noqa: E402


def is_pow2(x):
    return x >= 1 and x & (x - 1) == 0


def dilated(p, j, B=64, near=2, gap=3, far=24):
    d = p // B - j // B
    return j < 64 or 0 <= d < near or (d < far and d % gap == 0)


def documents(p, j, doc=200, prefix=16):
    return j < prefix or p // doc == j // doc


def pow2_static(p, j, B=64, window=2):
    d = p // B - j // B
    return 0 <= d < window or is_pow2(d)


def mask(tool, pattern, seq_q, seq_k, out):
    subprocess.run([tool, pattern, "--seq-len", str(seq_q), "--kv-len",
                    str(seq_k), "--random-inputs", "5", "--emit=mask-npy",
                    "-o", out], check=True)
    shape, _, values = read_npy(out)
    assert shape == (1, 1, seq_q, seq_k), shape
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failed = 0
    for seq_q, seq_k in ((700, 700), (300, 700)):
        for name, keep in (("dilated", dilated), ("documents", documents),
                           ("pow2_topk", pow2_static)):
            path = os.path.join(args.examples, name + ".sattn")
            out = os.path.join(args.work, f"{name}-{seq_q}-{seq_k}.npy")
            got = mask(args.tool, path, seq_q, seq_k, out)
            bad = extra = 0
            for i in range(seq_q):
                p = i + seq_k - seq_q
                for j in range(seq_k):
                    g = got[i * seq_k + j] != 0
                    want = j <= p and keep(p, j)
                    if name == "pow2_topk":
                        # Selection adds keys: never lose static ones, never
                        # break causality.
                        bad += (want and not g) or (g and j > p)
                        extra += g and not want
                    else:
                        bad += g != want
            ok = bad == 0 and (name != "pow2_topk" or extra > 0)
            failed += not ok
            print(f"{name} {seq_q}x{seq_k}: {'ok' if ok else 'WRONG'} "
                  f"({bad} wrong entries)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
