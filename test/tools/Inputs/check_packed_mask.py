#!/usr/bin/env python3
"""check_packed_mask.py PACKED.npy CU_Q CU_K PART_PATTERN: the packed token
mask [1, H, Sq, Sk] holds, for each sequence s, the mask of the separate call
PART_PATTERN % s (a .npy of [1, H, Sq_s, Sk_s]) on its diagonal block, and
nothing across sequences. Prints 'N sequences ok' or what differs."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "spec"))
from spec_masks import read_npy  # noqa: E402


def main(packed, cu_q, cu_k, part):
    cu_q = [int(x) for x in cu_q.split(",")]
    cu_k = [int(x) for x in cu_k.split(",")]
    shape, _, mask = read_npy(packed)
    _, heads, sq, sk = shape
    owner_q = [None] * sq
    owner_k = [None] * sk
    for s in range(len(cu_q) - 1):
        for i in range(cu_q[s], cu_q[s + 1]):
            owner_q[i] = s
        for j in range(cu_k[s], cu_k[s + 1]):
            owner_k[j] = s
    parts = {}
    for s in range(len(cu_q) - 1):
        if cu_q[s + 1] > cu_q[s] and cu_k[s + 1] > cu_k[s]:
            parts[s] = read_npy(part % s)
    bad = 0
    for h in range(heads):
        for i in range(sq):
            for j in range(sk):
                got = mask[(h * sq + i) * sk + j]
                s = owner_q[i]
                if s != owner_k[j] or s not in parts:
                    want = 0
                else:
                    pshape, _, pmask = parts[s]
                    li, lj = i - cu_q[s], j - cu_k[s]
                    want = pmask[(h * pshape[2] + li) * pshape[3] + lj]
                if got != want:
                    bad += 1
                    if bad <= 5:
                        print(f"head {h} row {i} key {j}: {got}, want {want}")
    print(f"{len(cu_q) - 1} sequences ok" if not bad else f"{bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
