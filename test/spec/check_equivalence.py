#!/usr/bin/env python3
"""Compares sattn-compile's masks with spec_masks.py's for the stock patterns.

Prints one line per pattern ("NAME: equal" or "NAME: DIFFERENT ...") and a
closing "N passed, N failed"; exits non-zero when any pattern differs.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "spec_masks.py")

# Parameters small enough that each pattern is non-trivial at a few hundred
# tokens (the stock defaults keep everything below ~2K tokens).
CASES = [
    ("power", ["block=16", "window=2", "sink=16"]),
    ("streaming", ["sink=8", "window=64"]),
    ("sample", ["block=16", "alpha=0.8"]),
    ("hip", ["block_q=32", "k=64", "sink=8", "window=32"]),
    ("sparsek", ["k=64", "window=64"]),
    ("pbs", ["segment=64", "probe=32", "block=16"]),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--library", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--work", required=True)
    for dim in ("batch", "heads", "kv-heads", "seq-q", "seq-k", "head-dim"):
        ap.add_argument("--" + dim, type=int, required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    shape = ["--batch", str(args.batch), "--heads", str(args.heads),
             "--kv-heads", str(args.kv_heads), "--head-dim", str(args.head_dim)]
    passed = failed = 0
    for name, params in CASES:
        sets = [x for p in params for x in ("--set", p)]
        inputs = []
        if name in ("sample", "hip", "pbs"):
            inputs = ["--q", os.path.join(args.inputs, "q.npy"),
                      "--k", os.path.join(args.inputs, "k.npy")]
        elif name == "sparsek":
            inputs = ["--key-score", os.path.join(args.inputs, "u.npy")]
        ours = os.path.join(args.work, name + "-sattn.npy")
        theirs = os.path.join(args.work, name + "-spec.npy")
        subprocess.run([args.tool, os.path.join(args.library, name + ".mlir"),
                        *sets, *shape, "--seq-len", str(args.seq_q),
                        "--kv-len", str(args.seq_k), *inputs,
                        "--emit=mask-npy", "-o", ours], check=True)
        subprocess.run([sys.executable, SPEC, "mask", "--pattern", name, *sets,
                        *shape, "--seq-q", str(args.seq_q), "--seq-k",
                        str(args.seq_k), "--inputs", args.inputs,
                        "--out", theirs], check=True)
        cmp = subprocess.run([sys.executable, SPEC, "compare", ours, theirs],
                             capture_output=True, text=True)
        if cmp.returncode == 0:
            print(f"{name}: equal")
            passed += 1
        else:
            print(f"{name}: DIFFERENT\n{cmp.stdout}{cmp.stderr}")
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
