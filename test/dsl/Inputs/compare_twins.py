#!/usr/bin/env python3
"""Checks that each stock .sattn pattern equals its .mlir twin.

For every pattern of patterns/library: the IR the two files parse to is
identical text, and sattn-compile's token masks are identical on random
inputs (--random-inputs SEED draws the same q, k and key scores for both) at
several shapes, with the parameters shrunk as in test/spec/check_equivalence.py
so that the masks are non-trivial, and with the stock defaults.

Prints "NAME SHAPE: equal" per comparison and "N passed, N failed"; exits
non-zero when anything differs.
"""
import argparse
import os
import subprocess
import sys

import io

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "spec"))
# The shrunk parameters are shared with the spec equivalence test.
from check_equivalence import CASES  # noqa: E402
from spec_masks import compare_files, read_npy  # noqa: E402

# (label, batch, heads, kv_heads, seq_q, seq_k): lengths not multiples of the
# blocks, Sq < Sk (bottom-right causal alignment), GQA and decode.
SHAPES = [
    ("mha", 2, 2, 2, 300, 300),
    ("gqa", 1, 4, 2, 384, 517),
    ("decode", 1, 2, 1, 3, 450),
]


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--library", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    passed = failed = 0

    def report(label, ok, detail=""):
        nonlocal passed, failed
        if ok:
            print(f"{label}: equal")
            passed += 1
        else:
            print(f"{label}: DIFFERENT {detail}")
            failed += 1

    for name, params in CASES:
        files = [os.path.join(args.library, name + ext)
                 for ext in (".sattn", ".mlir")]
        parsed = [run([args.tool, f, "--emit=mlir-parsed"]).stdout
                  for f in files]
        report(f"{name} ir", parsed[0] == parsed[1])
        for label, sets in (("shrunk", params), ("defaults", [])):
            set_flags = [x for p in sets for x in ("--set", p)]
            for shape in SHAPES:
                tag, batch, heads, kv_heads, seq_q, seq_k = shape
                outs = []
                for i, f in enumerate(files):
                    out = os.path.join(
                        args.work, f"{name}-{label}-{tag}-{i}.npy")
                    run([args.tool, f, *set_flags, "--batch", str(batch),
                         "--heads", str(heads), "--kv-heads", str(kv_heads),
                         "--seq-len", str(seq_q), "--kv-len", str(seq_k),
                         "--head-dim", "16", "--random-inputs",
                         str(args.seed), "--emit=mask-npy", "-o", out])
                    outs.append(out)
                diff = io.StringIO()
                same = compare_files(outs[0], outs[1], out=diff) == 0
                # A mask that keeps everything or nothing proves little.
                values = read_npy(outs[0])[2]
                density = sum(values) / max(1, len(values))
                report(f"{name} {label} {tag}", same,
                       f"(density {density:.3f})\n{diff.getvalue()}")
                if label == "shrunk" and tag == "mha" and not 0 < density < 1:
                    print(f"{name}: trivial mask (density {density})")
                    failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
