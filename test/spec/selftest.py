#!/usr/bin/env python3
"""Self-test of spec_masks.py on hand-worked cases from docs/patterns.md.

Every expected matrix or selection below was worked out by hand from the spec
text (the reasoning is in the comments), not produced by running the code.
Run: python3 selftest.py   (prints 'N passed, M failed'; exit status 1 on failure)
"""

import math
import os
import random
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import spec_masks as sm  # noqa: E402

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def rows_from_strings(lines, sk):
    """'1011' -> bytearray row padded with zeros to sk."""
    out = []
    for line in lines:
        line = line.replace(" ", "")
        check(len(line) <= sk, "literal row too long: %r" % line)
        out.append(bytearray(int(c) for c in line.ljust(sk, "0")))
    return out


def show(rows):
    return "\n".join("".join(str(x) for x in r) for r in rows)


def check_rows(got, want, what):
    if [bytes(r) for r in got] != [bytes(r) for r in want]:
        raise AssertionError("%s mismatch\n got:\n%s\n want:\n%s" % (what, show(got), show(want)))


def one_head(pattern, params, sq, sk, d=4, q=None, k=None, u=None):
    """Mask rows for batch 1, one head, from per-row vectors (lists)."""
    geom = sm.Geometry(1, 1, 1, sq, sk, d)
    inputs = {}
    if q is not None:
        inputs["q"] = [[q]]
    if k is not None:
        inputs["k"] = [[k]]
    if u is not None:
        inputs["u"] = [[u]]
    return sm.compute_masks(pattern, params, geom, inputs)[0][0]


def causal_rows(sq, sk):
    rows = []
    for i in range(sq):
        p = i + sk - sq
        rows.append(bytearray(1 if j <= p else 0 for j in range(sk)))
    return rows


def random_inputs(seed, geom):
    q, k, u = sm.generate_inputs(seed, geom)
    return sm.nest_inputs(geom, q, k, u)


# ---------------------------------------------------------------------------
# .npy and gen
# ---------------------------------------------------------------------------

@test
def npy_roundtrip():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "a.npy")
        vals = [0.5, -1.25, 3.0, 1e-3, 7.0, 2.0]
        sm.write_f32(path, (2, 3), vals)
        raw = open(path, "rb").read()
        check(raw[:8] == b"\x93NUMPY\x01\x00", "magic/version")
        hlen = struct.unpack("<H", raw[8:10])[0]
        check((10 + hlen) % 64 == 0, "header not 64-aligned")
        check(raw[10 + hlen - 1:10 + hlen] == b"\n", "header must end in newline")
        check(b"'descr': '<f4'" in raw and b"'shape': (2, 3)" in raw, "header text")
        shape, descr, got = sm.read_npy(path)
        check(shape == (2, 3) and descr == "<f4", "shape/descr")
        want = list(struct.unpack("<6f", struct.pack("<6f", *vals)))
        check(got == want, "values")
        sm.write_u8(path, (5,), bytes([0, 1, 1, 0, 1]))
        raw = open(path, "rb").read()
        check(b"'shape': (5,)" in raw and b"'|u1'" in raw, "1-d header")
        shape, descr, got = sm.read_npy(path)
        check(shape == (5,) and got == [0, 1, 1, 0, 1], "u8 values")


@test
def gen_order_and_shapes():
    geom = sm.Geometry(2, 4, 2, 3, 5, 2)
    q, k, u = sm.generate_inputs(7, geom)
    check(len(q) == 2 * 4 * 3 * 2 and len(k) == 2 * 2 * 5 * 2 and len(u) == 2 * 2 * 5, "sizes")
    rng = random.Random(7)
    draws = [rng.gauss(0.0, 1.0) for _ in range(len(q) + len(k) + len(u))]
    f32 = list(struct.unpack("<%df" % len(draws), struct.pack("<%df" % len(draws), *draws)))
    check(q + k + u == f32, "draw order must be q, k, u in C order, float32-rounded")
    with tempfile.TemporaryDirectory() as tmp:
        rc = sm.main(["gen", "--seed", "7", "--batch", "2", "--heads", "4", "--kv-heads", "2",
                      "--seq-q", "3", "--seq-k", "5", "--head-dim", "2", "--out", tmp])
        check(rc == 0, "gen rc")
        for name, shape, vals in (("q", (2, 4, 3, 2), q), ("k", (2, 2, 5, 2), k), ("u", (2, 2, 5), u)):
            s, d, v = sm.read_npy(os.path.join(tmp, name + ".npy"))
            check(s == shape and d == "<f4" and v == vals, "%s.npy content" % name)


# ---------------------------------------------------------------------------
# Static patterns
# ---------------------------------------------------------------------------

@test
def power_block4_s20():
    # block=4, window=2 blocks, sink=4 tokens (= block 0).  Kept key blocks per query block:
    # kb = 0 (sink) or d = qb - kb in {0, 1} (window) or d in {1, 2, 4} (pow2).  Only (qb 4, kb 1),
    # d = 3, is dropped among the causal blocks.
    blocks = ["10000",
              "11000",
              "11100",
              "11110",
              "10111"]
    got = one_head("power", {"block": 4, "window": 2, "sink": 4}, 20, 20)
    want = []
    for i in range(20):
        qb = i // 4
        want.append(bytearray(1 if (j <= i and blocks[qb][j // 4] == "1") else 0 for j in range(20)))
    check_rows(got, want, "power block=4")


@test
def power_block2_s20_literal():
    # block=2, window=1 block (diagonal only), sink=1 token (j = 0), strides d in {1, 2, 4, 8}.
    want = rows_from_strings([
        "1",
        "11",
        "111",
        "1111",
        "11111",                      # qb 2: kb 2,1,0 (d 0,1,2)
        "111111",
        "1011111",                    # qb 3: kb 3,2,1; kb 0 (d=3) only via sink j=0
        "10111111",
        "11 00 11 11 1",              # qb 4: kb 4,3,2,0 (d 0,1,2,4)
        "11 00 11 11 11",
        "10 11 00 11 11 1",           # qb 5: kb 5,4,3,1; sink j=0
        "10 11 00 11 11 11",
        "10 00 11 00 11 11 1",        # qb 6: kb 6,5,4,2
        "10 00 11 00 11 11 11",
        "10 00 00 11 00 11 11 1",     # qb 7: kb 7,6,5,3
        "10 00 00 11 00 11 11 11",
        "11 00 00 00 11 00 11 11 1",  # qb 8: kb 8,7,6,4,0 (d 8)
        "11 00 00 00 11 00 11 11 11",
        "10 11 00 00 00 11 00 11 11 1",   # qb 9: kb 9,8,7,5,1 (d 8); sink j=0
        "10 11 00 00 00 11 00 11 11 11",
    ], 20)
    got = one_head("power", {"block": 2, "window": 1, "sink": 1}, 20, 20)
    check_rows(got, want, "power block=2 literal")


@test
def power_decode_matches_prefill_rows():
    prm = {"block": 2, "window": 1, "sink": 1}
    full = one_head("power", prm, 20, 20)
    for sq in (1, 3, 7):
        got = one_head("power", prm, sq, 20)
        check_rows(got, full[20 - sq:], "power decode Sq=%d" % sq)


@test
def power_defaults_are_the_paper():
    # At S=1024 with B=256, W=5 blocks covers every causal block: mask == causal.
    got = one_head("power", {}, 1024, 1024)
    check_rows(got, causal_rows(1024, 1024), "power defaults at S=1024")


@test
def streaming_sink2_window3_s8_literal():
    # keys j <= i with j < 2 or i - 3 < j.
    want = rows_from_strings([
        "10000000",
        "11000000",
        "11100000",
        "11110000",
        "11111000",
        "11011100",
        "11001110",
        "11000111",
    ], 8)
    got = one_head("streaming", {"sink": 2, "window": 3}, 8, 8)
    check_rows(got, want, "streaming literal")
    check_rows(one_head("streaming", {"sink": 2, "window": 3}, 3, 8), want[5:], "streaming decode")
    # Sq > Sk: p(i) = i - 2 < 0 for the first two rows -> empty rows (C(i) empty).
    got = one_head("streaming", {"sink": 2, "window": 3}, 10, 8)
    check_rows(got, [bytearray(8), bytearray(8)] + want, "streaming Sq > Sk")


# ---------------------------------------------------------------------------
# SparseK
# ---------------------------------------------------------------------------

U8 = [0.5, 3.0, -1.0, 2.0, 2.0, 0.1, 5.0, -2.0]


@test
def sparsek_literal():
    # window 2 tokens {i-1, i}; candidates j <= i - 2; keep the 2 best by u, ties -> smaller j.
    want = rows_from_strings([
        "10000000",   # window {0}
        "11000000",   # window {0,1}
        "11100000",   # cand {0}
        "11110000",   # cand {0,1}
        "11011000",   # cand {0,1,2}: u 0.5, 3, -1 -> {1, 0}
        "01011100",   # cand {0..3}: -> {1 (3.0), 3 (2.0)}
        "01010110",   # cand {0..4}: 3 and 4 tie at 2.0 -> 3
        "01010011",   # cand {0..5}: -> {1, 3}; key 6 (u=5) is in the window
    ], 8)
    got = one_head("sparsek", {"k": 2, "window": 2}, 8, 8, u=U8)
    check_rows(got, want, "sparsek literal")
    check_rows(one_head("sparsek", {"k": 2, "window": 2}, 2, 8, u=U8), want[6:], "sparsek decode")


@test
def sparsek_gqa_uses_kv_head():
    geom = sm.Geometry(1, 4, 2, 8, 8, 4)
    u0 = U8
    u1 = list(reversed(U8))
    masks = sm.compute_masks("sparsek", {"k": 2, "window": 2}, geom, {"u": [[u0, u1]]})
    h0 = one_head("sparsek", {"k": 2, "window": 2}, 8, 8, u=u0)
    h1 = one_head("sparsek", {"k": 2, "window": 2}, 8, 8, u=u1)
    for h, want in ((0, h0), (1, h0), (2, h1), (3, h1)):
        check_rows(masks[0][h], want, "GQA head %d" % h)
    check(h0 != h1, "the two kv heads should differ in this case")


@test
def sparsek_random_structure():
    geom = sm.Geometry(1, 2, 1, 96, 96, 4)
    inputs = random_inputs(3, geom)
    k, w = 10, 7
    masks = sm.compute_masks("sparsek", {"k": k, "window": w}, geom, inputs)
    u = inputs["u"][0][0]
    for rows in masks[0]:
        for i, row in enumerate(rows):
            window = set(range(max(0, i - w + 1), i + 1))
            kept = {j for j in range(96) if row[j]}
            check(all(j <= i for j in kept), "causal")
            check(window <= kept, "window present")
            extra = kept - window
            ncand = max(0, i - w + 1)
            check(len(extra) == min(k, ncand), "row %d: %d selected, want %d" % (i, len(extra), min(k, ncand)))
            if extra:
                worst = min(u[j] for j in extra)
                check(all(u[j] <= worst for j in range(ncand) if j not in extra), "top-k by u")


# ---------------------------------------------------------------------------
# stripes (SampleAttention)
# ---------------------------------------------------------------------------

def sink_inputs(sk, big):
    # q_i = e0; k_j = big * e0 for j < 8 (key block 0 when B = 8), else 0.  With D = 4 and
    # scale 1/2 every causal row puts ~all of its mass on key block 0.
    q = [[1.0, 0.0, 0.0, 0.0] for _ in range(sk)]
    k = [[big if j < 8 else 0.0, 0.0, 0.0, 0.0] for j in range(sk)]
    return q, k


@test
def sample_handworked_sink_rows():
    # S=64, B=8, m=4 segments of 16 rows, r=4: sampled rows 12-15, 28-31, 44-47, 60-63
    # (qb 1, 3, 5, 7).  Col(0) ~ 1 -> one column kept {0}.  Dia(qb(t)) gets ~1/4 each for d = 1,3,5,7
    # (everything else ~1e-5): alpha 0.9 needs cumsum 0.25, 0.5, 0.75 < 0.9 -> 3 + 1 = 4 diagonals.
    # Window max(8, round(0.05 * 64) = 3) = 8 tokens.
    q, k = sink_inputs(64, 20.0)
    prm = {"block": 8, "segments": 4, "rows": 4, "alpha": 0.9, "window_frac": 0.05}
    geom = sm.Geometry(1, 1, 1, 64, 64, 4)
    cols, dias, w = sm.stripes_selection(geom, q, k, sm.resolve_params("sample", prm))
    check((cols, dias, w) == ([0], [1, 3, 5, 7], 8), "selection %r" % ((cols, dias, w),))
    got = one_head("sample", prm, 64, 64, q=q, k=k)
    want = [bytearray(1 if j <= i and (j < 8 or (i // 8 - j // 8) in (1, 3, 5, 7) or i - 8 < j) else 0
                      for j in range(64)) for i in range(64)]
    check_rows(got, want, "sample sink rows alpha=0.9")
    # alpha 0.2: one column, one diagonal.  Dia(1) is largest: rows 12-15 lose the least mass to
    # other keys, and d = 1 also collects the (tiny) mass of kb = qb - 1 from later rows.
    prm["alpha"] = 0.2
    cols, dias, w = sm.stripes_selection(geom, q, k, sm.resolve_params("sample", prm))
    check((cols, dias) == ([0], [1]), "alpha 0.2 selection %r" % ((cols, dias),))
    # window_frac 0.25 -> round(16) = 16 > B.
    prm["window_frac"] = 0.25
    check(sm.stripes_selection(geom, q, k, sm.resolve_params("sample", prm))[2] == 16, "window 16")


def independent_stripes_scores(q, k, sq, sk, B, m, r, scale):
    """Col/Dia by a different route: full row-by-row probability tables."""
    nkb = -(-sk // B)
    col = [0.0] * nkb
    dia = [0.0] * nkb
    sampled = []
    for s in range(m):
        lo, hi = (s * sq) // m, ((s + 1) * sq) // m
        sampled += list(range(hi - min(r, hi - lo), hi))
    for t in sampled:
        p = t + sk - sq
        logits = [scale * sum(a * b for a, b in zip(q[t], k[j])) for j in range(p + 1)]
        z = math.fsum(math.exp(x) for x in logits)
        for j in range(p + 1):
            col[j // B] += math.exp(logits[j]) / z
            dia[p // B - j // B] += math.exp(logits[j]) / z
    return [x / sum(col) for x in col], [x / sum(dia) for x in dia]


@test
def sample_random_structure():
    sq = sk = 80
    geom = sm.Geometry(1, 2, 1, sq, sk, 8)
    inputs = random_inputs(11, geom)
    prm = {"block": 8, "segments": 3, "rows": 5, "alpha": 0.7, "window_frac": 0.15}
    full = sm.resolve_params("sample", prm)
    masks = sm.compute_masks("sample", prm, geom, inputs)
    for h in range(2):
        q, k = inputs["q"][0][h], inputs["k"][0][0]
        cols, dias, w = sm.stripes_selection(geom, q, k, full)
        check(w == 12, "window max(8, round(12.0)) = 12")
        col, dia = independent_stripes_scores(q, k, sq, sk, 8, 3, 5, 1 / math.sqrt(8))
        for scores, kept in ((col, cols), (dia, dias)):
            mass = sum(scores[c] for c in kept)
            check(mass >= 0.7 - 1e-9, "kept mass %.4f below alpha" % mass)
            smallest = min(scores[c] for c in kept)
            check(mass - smallest < 0.7 + 1e-9, "prefix not minimal")
            check(all(scores[c] <= smallest + 1e-12 for c in range(len(scores)) if c not in kept),
                  "kept entries must be the top scores")
        for i, row in enumerate(masks[0][h]):
            check(all(row[j] == 0 for j in range(i + 1, sk)), "causal")
            check(all(row[j] == 1 for j in range(max(0, i - w + 1), i + 1)), "window present")
            for j in range(i + 1):
                want = (j // 8 in cols) or ((i // 8 - j // 8) in dias) or (i - w < j)
                check(row[j] == (1 if want else 0), "row %d key %d" % (i, j))


# ---------------------------------------------------------------------------
# tree_search (HiP)
# ---------------------------------------------------------------------------

HIP = {"block_q": 4, "block_k": 2, "k": 4, "q_stride": 2, "sink": 2, "window": 4}


def hip_expected(sel_by_block, S, prm):
    rows = []
    for i in range(S):
        row = bytearray(S)
        for b in sel_by_block[i // prm["block_q"]]:
            for t in range(prm["sink"] + b * prm["block_k"], prm["sink"] + (b + 1) * prm["block_k"]):
                row[t] = 1
        for t in range(S):
            if t < prm["sink"] or i - prm["window"] < t:
                row[t] = 1
            if t > i:
                row[t] = 0
        rows.append(row)
    return rows


@test
def hip_increasing_scores():
    # S=32, Bq=4, Bk=2, K=4/2=2, sink 2, window 4.  Query block c (rows 4c..4c+3): P = 4c+3,
    # n = max(0, floor((4c + 4 - 4 - 2) / 2)) = max(0, 2c - 1).  dot(q_i, k_t) = t, so the search
    # always keeps the rightmost branches: n <= 2 -> all; else blocks {n-2, n-1}.
    # e.g. c=3 (n=5): [0,2),[2,5) -> [0,1),[1,2),[2,3),[3,5) reps 0,1,2,4 -> keep [2,3),[3,5)
    #      -> [2,3),[3,4),[4,5) -> keep 3, 4.
    S = 32
    q = [[1.0, 0.0, 0.0, 0.0] for _ in range(S)]
    k = [[float(t), 0.0, 0.0, 0.0] for t in range(S)]
    sel = {0: [], 1: [0]}
    for c in range(2, 8):
        n = 2 * c - 1
        sel[c] = [n - 2, n - 1]
    debug = []
    got = sm.hip_head(sm.Geometry(1, 1, 1, S, S, 4), q, k, sm.resolve_params("hip", HIP), debug)
    check([s for _, _, s in debug] == [sel[c] for c in range(8)], "selections %r" % debug)
    check([n for _, n, _ in debug] == [0, 1, 3, 5, 7, 9, 11, 13], "n per block")
    check_rows(got, hip_expected(sel, S, HIP), "hip increasing")


@test
def hip_representative_misses_peak():
    # Same geometry; dot = 100 only for tokens 24, 25 (block 11), else 0.  Last query block
    # (n = 13): [0,6),[6,13) -> [0,3),[3,6),[6,9),[9,13), reps 1,4,7,11 -> keep [9,13) (100) and
    # [0,3) (tie, smaller start) -> [0,1),[1,3),[9,11),[11,13), reps 0,2,10,12 all 0 -> keep
    # [0,1),[1,3) -> [0,1),[1,2),[2,3) -> keep blocks 0, 1.  The peak is lost (as the spec says).
    S = 32
    q = [[1.0, 0.0, 0.0, 0.0] for _ in range(S)]
    k = [[100.0 if t in (24, 25) else 0.0, 0.0, 0.0, 0.0] for t in range(S)]
    sel = {0: [], 1: [0]}
    for c in range(2, 8):
        sel[c] = [0, 1]
    got = one_head("hip", HIP, S, S, q=q, k=k)
    check_rows(got, hip_expected(sel, S, HIP), "hip peak")


@test
def hip_causality_inside_scoring():
    # S=16, Bq=8, Bk=2, k=2 -> K=1, qs=4, sink 0, window 0 (empty window).  dot = t.
    # Block 0 (rows 0..7, P=7): n=4, sampled rows 0, 4.  [0,4) -> [0,2) rep 1 (t 2,3: row 4 -> 3),
    #   [2,4) rep 3 (t 6,7 > every sampled row -> -inf) -> [0,2) -> [0,1) rep 0 (1), [1,2) rep 1 (3)
    #   -> block 1 = tokens 2, 3.
    # Block 1 (rows 8..15, P=15): n=8, sampled rows 8, 12.  [0,4) rep 2 (t 4,5 -> 5) vs [4,8) rep 6
    #   (t 12,13: row 12 sees 12) -> [4,8) -> [4,6) rep 5 (11) vs [6,8) rep 7 (14,15 > 12: -inf)
    #   -> [4,6) -> [4,5) rep 4 (t 8,9 -> 9) vs [5,6) (11) -> block 5 = tokens 10, 11.
    prm = {"block_q": 8, "block_k": 2, "k": 2, "q_stride": 4, "sink": 0, "window": 0}
    S = 16
    q = [[1.0, 0.0, 0.0, 0.0] for _ in range(S)]
    k = [[float(t), 0.0, 0.0, 0.0] for t in range(S)]
    want = rows_from_strings([
        "", "", "001", "0011", "0011", "0011", "0011", "0011",
        "", "", "0000000000 1", "0000000000 11", "0000000000 11", "0000000000 11",
        "0000000000 11", "0000000000 11"], S)
    got = one_head("hip", prm, S, S, q=q, k=k)
    check_rows(got, want, "hip causal scoring")


@test
def hip_random_structure():
    S = 120
    prm = {"block_q": 16, "block_k": 4, "k": 16, "q_stride": 3, "sink": 4, "window": 8}
    geom = sm.Geometry(1, 2, 1, S, S, 8)
    inputs = random_inputs(5, geom)
    K = 16 // 4
    for h in range(2):
        debug = []
        rows = sm.hip_head(geom, inputs["q"][0][h], inputs["k"][0][0], sm.resolve_params("hip", prm), debug)
        for start, n, sel in debug:
            check(len(sel) == min(n, K) and len(set(sel)) == len(sel), "selection size")
            check(all(0 <= b < n for b in sel), "selected blocks searchable")
            last = min(start + 16, S) - 1
            row = rows[last]
            region = [row[t] for t in range(4, last + 1 - 8)]     # [sink, P + 1 - window)
            check(sum(region) == min(n, K) * 4, "last row of block %d: %d tokens" % (start, sum(region)))
        for i, row in enumerate(rows):
            check(all(row[j] == 0 for j in range(i + 1, S)), "causal")
            check(all(row[j] == 1 for j in range(min(4, i + 1))), "sink")
            check(all(row[j] == 1 for j in range(max(0, i - 7), i + 1)), "window")


# ---------------------------------------------------------------------------
# permute (PBS-Attn)
# ---------------------------------------------------------------------------

PBS = {"segment": 8, "probe": 4, "block": 4, "alpha": 0.8}
X_SEG0 = [0, 8, 1, 7, 2, 6, 3, 5]
X_SEG1 = [-5, 10, -5, 10, -5, 10, -5, 10]


def pbs_inputs(sk, seg0=X_SEG0):
    x = (seg0 + X_SEG1 + [0] * 16)[:sk]
    q = [[1.0, 0.0, 0.0, 0.0] for _ in range(sk)]
    k = [[float(v), 0.0, 0.0, 0.0] for v in x]
    return q, k


def pbs_expected(sq, sk, excluded_late, excluded_mid=()):
    """Causal rows; rows with p >= 16 drop excluded_late, rows with 8 <= p < 16 drop excluded_mid."""
    rows = []
    for i in range(sq):
        p = i + sk - sq
        drop = excluded_late if p >= 16 else (excluded_mid if p >= 8 else ())
        rows.append(bytearray(1 if j <= p and j not in drop else 0 for j in range(sk)))
    return rows


@test
def pbs_handworked():
    # q = e0, k_j = x_j e0, scale 1/2.  Importance is increasing in x within each segment, so the
    # permuted blocks are: b0 = {1,3,5,7} (mean x 6.5), b1 = {6,4,2,0} (1.5, holds key 0),
    # b2 = {9,11,13,15} (10), b3 = {8,10,12,14} (-5).
    # Rows 16..23 (segment 2): candidates b0..b3, scores 3.25, 0.75, 5, -2.5 -> softmax
    #   0.146, 0.012, 0.841, 0.0005.  alpha 0.8: keep b2 only; + b1 (key 0); + own segment 16..23.
    #   -> excluded keys {1,3,5,7, 8,10,12,14}.  alpha 0.9: keep b2, b0 -> excluded {8,10,12,14}.
    # Rows 8..15: candidates b0, b1 -> 0.924, 0.076 -> keep b0; + b1 -> all of segment 0 kept.
    q, k = pbs_inputs(24)
    got = one_head("pbs", PBS, 24, 24, q=q, k=k)
    check_rows(got, pbs_expected(24, 24, {1, 3, 5, 7, 8, 10, 12, 14}), "pbs alpha=0.8")
    prm = dict(PBS, alpha=0.9)
    got = one_head("pbs", prm, 24, 24, q=q, k=k)
    check_rows(got, pbs_expected(24, 24, {8, 10, 12, 14}), "pbs alpha=0.9")
    # decode: same rows as the prefill bottom rows (same probe direction, same pooled query).
    for sq in (1, 4):
        got = one_head("pbs", PBS, sq, 24, q=q[:sq], k=k)
        check_rows(got, pbs_expected(sq, 24, {1, 3, 5, 7, 8, 10, 12, 14}), "pbs decode Sq=%d" % sq)


@test
def pbs_tail_and_key0_block():
    # Sk = 22: segment 2 is the incomplete tail 16..21 and stays in place; same answer.
    q, k = pbs_inputs(22)
    got = one_head("pbs", PBS, 22, 22, q=q, k=k)
    check_rows(got, pbs_expected(22, 22, {1, 3, 5, 7, 8, 10, 12, 14}), "pbs tail")
    # Key 0 made the most important in segment 0: b0 = {0,1,3,5} (mean 7.5, score 3.75),
    # b1 = {7,6,4,2} (mean 2.75, 1.375).  Rows 16..23: softmax of (3.75, 1.375, 5, -2.5) =
    # (0.218, 0.020, 0.761, 0.0004): cumsum 0.761 < 0.8 -> 2 blocks: b2, b0 (b0 also holds key 0).
    # Excluded: b1 {2,4,6,7} and b3 {8,10,12,14}.
    # Rows 8..15: softmax of (3.75, 1.375) = (0.915, 0.085) -> b0 only; key 0 is in b0 too, so
    # b1 {2,4,6,7} is now dropped there as well.
    q, k = pbs_inputs(24, seg0=[9, 8, 1, 7, 2, 6, 3, 5])
    got = one_head("pbs", PBS, 24, 24, q=q, k=k)
    check_rows(got, pbs_expected(24, 24, {2, 4, 6, 7, 8, 10, 12, 14}, {2, 4, 6, 7}), "pbs key0 in b0")


@test
def pbs_random_structure():
    S = 100
    prm = {"segment": 16, "probe": 12, "block": 8, "alpha": 0.6}
    geom = sm.Geometry(1, 2, 1, S, S, 8)
    inputs = random_inputs(9, geom)
    masks = sm.compute_masks("pbs", prm, geom, inputs)
    for h in range(2):
        _, perm = sm.permute_selection(geom, inputs["q"][0][h], inputs["k"][0][0],
                                       sm.resolve_params("pbs", prm))
        check(sorted(perm) == list(range(S)), "permutation")
        check(perm[96:] == [96, 97, 98, 99], "tail in place")
        check(all(m * 16 <= perm[x] < (m + 1) * 16 for m in range(6) for x in range(m * 16, (m + 1) * 16)),
              "keys stay in their segment")
        key0_block = set(perm[(perm.index(0) // 8) * 8:(perm.index(0) // 8 + 1) * 8])
        for i, row in enumerate(masks[0][h]):
            check(all(row[j] == 0 for j in range(i + 1, S)), "causal")
            seg = i // 16
            check(all(row[j] == 1 for j in range(seg * 16, i + 1)), "own segment")
            check(all(row[j] == 1 for j in key0_block if j <= i), "key 0 block")
            # kept keys outside the own segment come in whole permuted blocks
            for c in range(seg * 2):
                keys = perm[c * 8:(c + 1) * 8]
                vals = {row[j] for j in keys}
                check(len(vals) == 1, "row %d: permuted block %d partially kept" % (i, c))


# ---------------------------------------------------------------------------
# CLI end to end
# ---------------------------------------------------------------------------

@test
def cli_end_to_end():
    script = os.path.join(HERE, "spec_masks.py")
    dims = ["--batch", "2", "--heads", "4", "--kv-heads", "2", "--seq-q", "40", "--seq-k", "48",
            "--head-dim", "4"]
    sets = {"power": ["block=4,window=2", "--set", "sink=4"], "streaming": ["sink=3,window=5"],
            "sample": ["block=8,segments=3,rows=4"], "hip": ["block_q=8,block_k=2,k=8,sink=2,window=6"],
            "sparsek": ["k=5,window=6"], "pbs": ["segment=16,probe=8,block=8"]}
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, script, "gen", "--seed", "4"] + dims + ["--out", tmp])
        check(r.returncode == 0, "gen")
        geom = sm.Geometry(2, 4, 2, 40, 48, 4)
        inputs = sm.load_inputs(tmp, geom, True, True)
        for name, s in sets.items():
            out = os.path.join(tmp, name + ".npy")
            r = subprocess.run([sys.executable, script, "mask", "--pattern", name, "--set"] + s + dims
                               + ["--inputs", tmp, "--out", out])
            check(r.returncode == 0, "mask %s" % name)
            shape, descr, vals = sm.read_npy(out)
            check(shape == (2, 4, 40, 48) and descr == "|u1", "mask shape")
            params = sm._parse_sets(["".join(s).replace("--set", ",")])
            check(bytes(vals) == bytes(sm.flatten(sm.compute_masks(name, params, geom, inputs))),
                  "CLI == API for %s" % name)
        a, b = os.path.join(tmp, "power.npy"), os.path.join(tmp, "b.npy")
        r = subprocess.run([sys.executable, script, "compare", a, a], capture_output=True)
        check(r.returncode == 0, "compare equal")
        shape, _, vals = sm.read_npy(a)
        vals[1 * 4 * 40 * 48 + 2 * 40 * 48 + 5 * 48 + 7] ^= 1
        sm.write_u8(b, shape, bytes(vals))
        r = subprocess.run([sys.executable, script, "compare", a, b], capture_output=True, text=True)
        check(r.returncode == 1, "compare differing")
        check("1 differing" in r.stdout and "(1, 2, 5, 7)" in r.stdout, r.stdout)
        r = subprocess.run([sys.executable, script, "mask", "--pattern", "power", "--set", "bogus=1"]
                           + dims + ["--out", b], capture_output=True)
        check(r.returncode != 0, "unknown parameter rejected")


def main():
    passed = failed = 0
    for fn in TESTS:
        try:
            fn()
            passed += 1
        except Exception as exc:  # noqa: BLE001
            failed += 1
            print("FAIL %s: %s: %s" % (fn.__name__, type(exc).__name__, exc))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
