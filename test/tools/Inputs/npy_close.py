#!/usr/bin/env python3
"""Float32 .npy helpers for tests (pure Python; CI has no numpy).

npy_close.py A.npy B.npy [--to-bshd] [--rel TOL] [--min-rel TOL]
    Prints "rel=<relative L2 error of A against B>"; exits 1 unless
    MIN_REL <= rel <= REL (both default 0). --to-bshd rearranges A from
    [B, H, S, D] to [B, S, H, D] first.
npy_close.py --write-bshd IN.npy OUT.npy
    Writes IN ([B, H, S, D]) rearranged to [B, S, H, D].
npy_close.py --write-thd IN.npy OUT.npy
    Writes IN ([1, H, S, D]) as the tokens [S, H, D].
A or B of shape [T, ...] is compared with the other's [1, T, ...].
"""
import argparse
import ast
import math
import struct
import sys


def read(path):
    data = open(path, "rb").read()
    assert data[:6] == b"\x93NUMPY", path
    hlen = struct.unpack("<H", data[8:10])[0]
    header = ast.literal_eval(data[10:10 + hlen].decode())
    assert header["descr"] == "<f4", header
    shape = header["shape"]
    n = 1
    for s in shape:
        n *= s
    values = struct.unpack("<%df" % n, data[10 + hlen:10 + hlen + 4 * n])
    return list(shape), list(values)


def to_bshd(shape, values):
    b, h, s, d = shape
    out = [0.0] * len(values)
    for ib in range(b):
        for ih in range(h):
            for i in range(s):
                for x in range(d):
                    out[((ib * s + i) * h + ih) * d + x] = \
                        values[((ib * h + ih) * s + i) * d + x]
    return [b, s, h, d], out


def write(path, shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        ", ".join(str(s) for s in shape))
    header = header.ljust(117) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode())
        f.write(struct.pack("<%df" % len(values), *values))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--write-bshd":
        write(sys.argv[3], *to_bshd(*read(sys.argv[2])))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "--write-thd":
        shape, values = to_bshd(*read(sys.argv[2]))
        assert shape[0] == 1, "--write-thd takes a batch of 1"
        write(sys.argv[3], shape[1:], values)
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--to-bshd", action="store_true")
    ap.add_argument("--rel", type=float, default=0.0)
    ap.add_argument("--min-rel", type=float, default=0.0)
    args = ap.parse_args()
    sa, va = read(args.a)
    sb, vb = read(args.b)
    if args.to_bshd:
        sa, va = to_bshd(sa, va)
    if len(sa) + 1 == len(sb) and sb[0] == 1:
        sb = sb[1:]
    if len(sb) + 1 == len(sa) and sa[0] == 1:
        sa = sa[1:]
    if sa != sb:
        print("shapes differ: %s vs %s" % (sa, sb))
        return 1
    if any(math.isnan(x) for x in va + vb):
        print("NaN")
        return 1
    err = math.sqrt(sum((x - y) ** 2 for x, y in zip(va, vb)))
    norm = math.sqrt(sum(y * y for y in vb)) or 1.0
    rel = err / norm
    print("rel=%.3g" % rel)
    return 0 if args.min_rel <= rel <= args.rel else 1


if __name__ == "__main__":
    sys.exit(main())
