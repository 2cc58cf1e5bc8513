#!/usr/bin/env python3
"""Runs the examples that read run-time integer inputs (document_ids,
prefix_lm) through sattn-compile's oracle masks and sattn-run's check.

Writes the inputs as int32 .npy files, compares each mask with one computed
here from the pattern's text (docs/patterns.md semantics), for Sq = Sk and
Sq < Sk and two batch entries, and runs each pattern with --check. Prints one
line per check and exits non-zero on failure.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "spec"))
from spec_masks import read_npy, write_i32  # noqa: E402

BATCH, SEQ_K = 2, 300


def document_ids():
    """Documents of 50, 120 and 130 tokens, then one of 300."""
    return [0] * 50 + [1] * 120 + [2] * 130 + [7] * 300


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True, help="folder of sattn-compile, sattn-run")
    ap.add_argument("--examples", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    doc = document_ids()
    prefix = [40, 0]
    doc_path = os.path.join(args.work, "doc.npy")
    prefix_path = os.path.join(args.work, "prefix.npy")
    write_i32(doc_path, (BATCH, SEQ_K), doc)
    write_i32(prefix_path, (BATCH,), prefix)
    cases = (
        ("document_ids", "doc=" + doc_path,
         lambda b, p, j: j <= p and doc[b * SEQ_K + p] == doc[b * SEQ_K + j]),
        ("prefix_lm", "prefix=" + prefix_path,
         lambda b, p, j: j < prefix[b] or j <= p),
    )
    failed = 0
    for seq_q in (SEQ_K, 200):
        for name, given, keep in cases:
            path = os.path.join(args.examples, name + ".sattn")
            out = os.path.join(args.work, f"{name}-{seq_q}.npy")
            subprocess.run([os.path.join(args.bin, "sattn-compile"), path,
                            "--batch", str(BATCH), "--seq-len", str(seq_q),
                            "--kv-len", str(SEQ_K), "--input", given,
                            "--emit=mask-npy", "-o", out], check=True)
            shape, _, values = read_npy(out)
            assert shape == (BATCH, 1, seq_q, SEQ_K), shape
            wrong = 0
            for b in range(BATCH):
                for i in range(seq_q):
                    p = i + SEQ_K - seq_q
                    for j in range(SEQ_K):
                        want = 1 if keep(b, p, j) else 0
                        wrong += values[(b * seq_q + i) * SEQ_K + j] != want
            print(f"{name} {seq_q}x{SEQ_K}: "
                  f"{'ok' if wrong == 0 else f'{wrong} wrong'}")
            failed += wrong != 0
    for name, given, _ in cases:
        run = subprocess.run(
            [os.path.join(args.bin, "sattn-run"),
             os.path.join(args.examples, name + ".sattn"), "--batch",
             str(BATCH), "--seq-len", "200", "--kv-len", str(SEQ_K),
             "--heads", "4", "--kv-heads", "2", "--head-dim", "32",
             "--random-inputs", "1", "--input", given, "--check", "-o",
             os.path.join(args.work, name + "-out.npy")],
            capture_output=True, text=True)
        ok = run.returncode == 0 and ": ok" in run.stderr + run.stdout
        print(f"{name} run: {'ok' if ok else 'FAILED'}")
        if not ok:
            print(run.stdout + run.stderr)
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
