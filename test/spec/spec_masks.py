#!/usr/bin/env python3
"""Independent, test-only implementation of docs/patterns.md (token-level masks).

Written from the specification text alone, in pure Python 3 (standard library
only), so that the C++ oracle and the kernels can be checked against a second
reading of the spec.  Clarity is preferred over speed.  Do NOT change this file
to agree with the C++ code without re-reading docs/patterns.md: a disagreement
is a finding, not a bug in this file by default.  See README.md.

CLI:
  spec_masks.py gen  --seed S --batch B --heads H --kv-heads G --seq-q N
                     --seq-k M --head-dim D --out DIR
      writes DIR/q.npy [B,H,N,D], DIR/k.npy [B,G,M,D], DIR/u.npy [B,G,M]
      (float32, standard normal from random.Random(S).gauss, drawn in the
      order q, k, u, each in C order).
  spec_masks.py mask --pattern NAME [--set name=value ...] --batch B
                     --heads H --kv-heads G --seq-q N --seq-k M --head-dim D
                     [--inputs DIR] --out mask.npy
      writes a uint8 .npy mask [B,H,N,M], 1 = query attends to key.
  spec_masks.py compare A.npy B.npy
      exit 0 if the two masks are equal, else report and exit 1.
  spec_masks.py patterns
      list the stock patterns and their parameters.
  --set takes name=value, repeatable, or comma-separated (--set block=16,window=2).

Interpretation choices (where docs/patterns.md leaves room):
  * Selection scores are float64, not fp32 ("Scores used for selection are computed in fp32").
  * GQA g = h // (H // G); selections are made per (batch, query head).  Rows with p(i) < 0
    (Sq > Sk) have C(i) empty and attend to nothing; as sampled/probe rows they add no mass.
  * stripes: the ranked entries are key blocks c = 0..ceil(Sk/B)-1 and diagonals d = 0..ceil(Sk/B)-1
    (every causal diagonal), zero-score ones included; this only matters for the cap in step 4.
    If no sampled row has a causal key, no column/diagonal is kept (window only).  The window is
    max(B, floor(f * Sk + 0.5)) with f * Sk in float64.  Optional --set scale=X (default 1/sqrt(D)).
  * tree_search: K = floor(k / Bk); K = 0 selects nothing.  Each round splits every multi-block
    branch, then scores all branches (one-block branches too) and keeps the K best; the initial
    chunks are not scored.  The branch score is the unscaled dot(q_i, k_t), as written.  Sampled
    rows are the block's rows first, first+qs, ...; P is the block's largest p(i).
  * topk (SparseK): candidates are j <= p(i) - w (causal and outside the token window); fewer than
    k candidates -> all of them.
  * permute: a_j divides by min(n, Sq) (probe rows with an empty C(t) count, adding zeros); keys outside
    C(t) add 0.  The pooled query is the mean over Q's rows present in this call (in decode, only the
    one row).  The last permuted block may hold fewer than B keys (tail).  B must divide S.
    Optional --set scale=X (default 1/sqrt(D)).
"""

import argparse
import ast
import math
import operator
import os
import random
import struct
import sys

# ---------------------------------------------------------------------------
# .npy reading / writing (format version 1.0; 2.0/3.0 accepted when reading)
# ---------------------------------------------------------------------------

_MAGIC = b"\x93NUMPY"


def _npy_header(descr, shape):
    shape_txt = "(" + ", ".join("%d" % n for n in shape) + ("," if len(shape) == 1 else "") + ")"
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_txt)
    # magic(6) + version(2) + header length(2) + text + '\n' is a multiple of 64.
    total = 10 + len(text) + 1
    pad = (-total) % 64
    text = text + " " * pad + "\n"
    return _MAGIC + b"\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def write_npy_bytes(path, descr, shape, payload):
    count = 1
    for n in shape:
        count *= n
    itemsize = {"<f4": 4, "<f8": 8, "|u1": 1, "<i4": 4}[descr]
    if len(payload) != count * itemsize:
        raise ValueError("payload size %d does not match shape %r" % (len(payload), shape))
    with open(path, "wb") as fh:
        fh.write(_npy_header(descr, shape))
        fh.write(payload)


def write_f32(path, shape, values):
    write_npy_bytes(path, "<f4", shape, struct.pack("<%df" % len(values), *values))


def write_i32(path, shape, values):
    write_npy_bytes(path, "<i4", shape, struct.pack("<%di" % len(values), *values))


def write_u8(path, shape, payload):
    write_npy_bytes(path, "|u1", shape, bytes(payload))


_DESCR = {
    "<f4": ("f", 4), "f4": ("f", 4), "<f8": ("d", 8), "f8": ("d", 8),
    "|u1": ("B", 1), "<u1": ("B", 1), ">u1": ("B", 1), "u1": ("B", 1),
    "|b1": ("B", 1), "<b1": ("B", 1), "b1": ("B", 1), "|i1": ("b", 1), "i1": ("b", 1),
    "<i4": ("i", 4),
}


def read_npy(path):
    """Return (shape, descr, flat list of values) of a C-order .npy file."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:6] != _MAGIC:
        raise ValueError("%s: not an .npy file" % path)
    major = data[6]
    if major == 1:
        hlen = struct.unpack("<H", data[8:10])[0]
        start = 10
    else:
        hlen = struct.unpack("<I", data[8:12])[0]
        start = 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    descr = header["descr"]
    if descr not in _DESCR:
        raise ValueError("%s: unsupported dtype %r" % (path, descr))
    if header.get("fortran_order"):
        raise ValueError("%s: fortran_order arrays are not supported" % path)
    shape = tuple(header["shape"])
    count = 1
    for n in shape:
        count *= n
    code, size = _DESCR[descr]
    body = data[start + hlen:]
    if len(body) < count * size:
        raise ValueError("%s: truncated data" % path)
    values = list(struct.unpack("<%d%s" % (count, code), body[:count * size]))
    return shape, descr, values


def _nest(flat, shape):
    """Turn a flat C-order list into nested lists; the last axis stays a flat list."""
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[a * step:(a + 1) * step], shape[1:]) for a in range(shape[0])]


# ---------------------------------------------------------------------------
# Geometry and notation of the spec
# ---------------------------------------------------------------------------

class Geometry:
    def __init__(self, batch, heads, kv_heads, seq_q, seq_k, head_dim):
        if heads <= 0 or kv_heads <= 0 or heads % kv_heads != 0:
            raise ValueError("heads (%d) must be a positive multiple of kv-heads (%d)" % (heads, kv_heads))
        if min(batch, seq_q, seq_k, head_dim) < 0:
            raise ValueError("negative dimension")
        self.batch, self.heads, self.kv_heads = batch, heads, kv_heads
        self.seq_q, self.seq_k, self.head_dim = seq_q, seq_k, head_dim

    def pos(self, i):
        """p(i) = i + (Sk - Sq): bottom-right alignment."""
        return i + (self.seq_k - self.seq_q)

    def kv_head(self, h):
        """g = h / (Hq / Hkv)."""
        return h // (self.heads // self.kv_heads)

    def default_scale(self):
        return 1.0 / math.sqrt(self.head_dim) if self.head_dim > 0 else 1.0


def _dot(a, b):
    return sum(map(operator.mul, a, b))


def _fill(row, lo, hi):
    """row[j] = 1 for lo <= j < hi (clipped to the row)."""
    lo = max(lo, 0)
    hi = min(hi, len(row))
    if hi > lo:
        row[lo:hi] = b"\x01" * (hi - lo)


def _causal_clip(row, p):
    """Apply C(i) = {j : j <= p(i)}."""
    start = max(p + 1, 0)
    if start < len(row):
        row[start:] = bytes(len(row) - start)


def _is_pow2(d):
    return d >= 1 and (d & (d - 1)) == 0


def _ranked(scores):
    """Indices sorted by descending score, ties toward the smaller index."""
    return sorted(range(len(scores)), key=lambda x: (-scores[x], x))


def cover_prefix(scores, alpha):
    """Stripes step 4: sort descending, keep count(cumsum < alpha) + 1 entries (capped)."""
    order = _ranked(scores)
    cum = 0.0
    below = 0
    for idx in order:
        cum += scores[idx]
        if cum < alpha:
            below += 1
    keep = min(below + 1, len(order))
    return order[:keep]


def _softmax_causal(q_row, k_rows, p, scale):
    """P_t(j) over C(t) = {0..p}: list of probabilities of length p + 1 (float64)."""
    s = [scale * _dot(q_row, k_rows[j]) for j in range(p + 1)]
    mx = max(s)
    e = [math.exp(x - mx) for x in s]
    z = sum(e)
    return [x / z for x in e]


# ---------------------------------------------------------------------------
# Stock patterns
# ---------------------------------------------------------------------------

# name -> (ordered parameter defaults, needs q/k, needs u)
STOCK = {
    "power": ({"block": 256, "window": 5, "sink": 256}, False, False),
    "streaming": ({"sink": 64, "window": 1024}, False, False),
    "sample": ({"block": 128, "segments": 8, "rows": 64, "alpha": 0.95, "window_frac": 0.05,
                "scale": None}, True, False),
    "hip": ({"block_q": 64, "block_k": 2, "k": 512, "q_stride": 2, "sink": 16, "window": 256},
            True, False),
    "sparsek": ({"k": 2048, "window": 1024}, False, True),
    "pbs": ({"segment": 256, "probe": 128, "block": 128, "alpha": 0.9, "scale": None}, True, False),
}
_FLOAT_PARAMS = {"alpha", "window_frac", "scale"}


def resolve_params(pattern, overrides):
    if pattern not in STOCK:
        raise ValueError("unknown pattern %r (known: %s)" % (pattern, ", ".join(sorted(STOCK))))
    params = dict(STOCK[pattern][0])
    for name, value in overrides.items():
        if name not in params:
            raise ValueError("pattern %s has no parameter %r (has: %s)"
                             % (pattern, name, ", ".join(params)))
        if isinstance(value, str):
            value = float(value) if name in _FLOAT_PARAMS else int(value, 10)
        params[name] = value
    return params


def power_head(geom, prm):
    """causal ∩ (sink n tokens ∪ window W blocks ∪ strides pow2), qb/kb with block B."""
    B, W, n = prm["block"], prm["window"], prm["sink"]
    rows = []
    for i in range(geom.seq_q):
        p = geom.pos(i)
        qb = p // B
        row = bytearray(geom.seq_k)
        for j in range(geom.seq_k):
            if j > p:                         # causal
                continue
            d = qb - j // B
            if j < n or 0 <= d < W or _is_pow2(d):
                row[j] = 1
        rows.append(row)
    return rows


def streaming_head(geom, prm):
    """causal ∩ (sink n tokens ∪ window w tokens)."""
    n, w = prm["sink"], prm["window"]
    rows = []
    for i in range(geom.seq_q):
        p = geom.pos(i)
        row = bytearray(geom.seq_k)
        for j in range(geom.seq_k):
            if j <= p and (j < n or p - w < j):
                row[j] = 1
        rows.append(row)
    return rows


def stripes_selection(geom, q_rows, k_rows, prm):
    """Steps 1-4 of `stripes`: returns (kept columns, kept diagonals, window tokens)."""
    B, m, r = prm["block"], prm["segments"], prm["rows"]
    scale = prm["scale"] if prm.get("scale") is not None else geom.default_scale()
    Sq, Sk = geom.seq_q, geom.seq_k
    nkb = -(-Sk // B)
    col = [0.0] * nkb          # key blocks 0 .. nkb-1
    dia = [0.0] * nkb          # diagonals 0 .. nkb-1 (every causal diagonal)
    for s in range(m):
        lo, hi = s * Sq // m, (s + 1) * Sq // m
        take = max(0, min(r, hi - lo))
        for t in range(hi - take, hi):
            pt = geom.pos(t)
            if pt < 0:
                continue                      # C(t) empty: contributes nothing
            probs = _softmax_causal(q_rows[t], k_rows, pt, scale)
            qbt = pt // B
            for j, pj in enumerate(probs):
                c = j // B
                col[c] += pj
                dia[qbt - c] += pj
    tot_c, tot_d = sum(col), sum(dia)
    if tot_c > 0:
        kept_cols = cover_prefix([x / tot_c for x in col], prm["alpha"])
    else:
        kept_cols = []
    if tot_d > 0:
        kept_dia = cover_prefix([x / tot_d for x in dia], prm["alpha"])
    else:
        kept_dia = []
    window = max(B, math.floor(prm["window_frac"] * Sk + 0.5))
    return sorted(kept_cols), sorted(kept_dia), window


def sample_head(geom, q_rows, k_rows, prm):
    """SampleAttention = causal ∩ stripes."""
    B = prm["block"]
    cols, dias, w = stripes_selection(geom, q_rows, k_rows, prm)
    rows = []
    for i in range(geom.seq_q):
        p = geom.pos(i)
        row = bytearray(geom.seq_k)
        if p >= 0:
            for c in cols:
                _fill(row, c * B, (c + 1) * B)
            qb = p // B
            for d in dias:
                c = qb - d
                if c >= 0:
                    _fill(row, c * B, (c + 1) * B)
            _fill(row, p - w + 1, p + 1)
            _causal_clip(row, p)
        rows.append(row)
    return rows


def tree_search_blocks(geom, q_rows, k_rows, prm, rows_of_block, dot_cache):
    """Steps 1-4 of `tree_search` for one query block: selected key-block indices, n."""
    Bk, sink, window, qs = prm["block_k"], prm["sink"], prm["window"], prm["q_stride"]
    K = prm["k"] // Bk
    P = max(geom.pos(i) for i in rows_of_block)
    n = max(0, (P + 1 - window - sink) // Bk)
    if n <= K:
        return list(range(n)), n
    if K <= 0:
        return [], n
    sampled = rows_of_block[::qs]

    def dot(i, t):
        key = (i, t)
        v = dot_cache.get(key)
        if v is None:
            v = _dot(q_rows[i], k_rows[t])
            dot_cache[key] = v
        return v

    def score(start, m):
        rep = start + m // 2
        best = -math.inf
        for i in sampled:
            p = geom.pos(i)
            for t in range(sink + rep * Bk, sink + (rep + 1) * Bk):
                if t <= p:
                    best = max(best, dot(i, t))
        return best

    branches = [(c * n // K, (c + 1) * n // K - c * n // K) for c in range(K)]
    while any(m > 1 for _, m in branches):
        split = []
        for start, m in branches:
            if m > 1:
                half = m // 2
                split.append((start, half))
                split.append((start + half, m - half))
            else:
                split.append((start, m))
        scored = [(score(s, m), s, m) for s, m in split]
        scored.sort(key=lambda x: (-x[0], x[1]))
        branches = [(s, m) for _, s, m in scored[:K]]
    return sorted(s for s, _ in branches), n


def hip_head(geom, q_rows, k_rows, prm, debug=None):
    """HiP = causal ∩ tree_search (selected tokens ∪ sink ∪ window)."""
    Bq, Bk, sink, window = prm["block_q"], prm["block_k"], prm["sink"], prm["window"]
    if Bq <= 0 or Bk <= 0 or prm["q_stride"] <= 0:
        raise ValueError("hip: block_q, block_k and q_stride must be positive")
    rows = [None] * geom.seq_q
    cache = {}
    for start in range(0, geom.seq_q, Bq):
        block_rows = list(range(start, min(start + Bq, geom.seq_q)))
        sel, n = tree_search_blocks(geom, q_rows, k_rows, prm, block_rows, cache)
        if debug is not None:
            debug.append((start, n, sel))
        for i in block_rows:
            p = geom.pos(i)
            row = bytearray(geom.seq_k)
            if p >= 0:
                for b in sel:
                    _fill(row, sink + b * Bk, sink + (b + 1) * Bk)
                _fill(row, 0, sink)
                _fill(row, p - window + 1, p + 1)
                _causal_clip(row, p)
            rows[i] = row
    return rows


def sparsek_head(geom, u_row, prm):
    """SparseK = causal ∩ (window w tokens ∪ topk k tokens by key_score), token granularity."""
    k, w = prm["k"], prm["window"]
    order = _ranked(u_row)            # descending u, ties toward the smaller index
    rows = []
    for i in range(geom.seq_q):
        p = geom.pos(i)
        row = bytearray(geom.seq_k)
        if p >= 0:
            _fill(row, p - w + 1, p + 1)          # window
            # candidates: causal keys the window does not keep, i.e. j <= p - w
            last_candidate = p - w
            taken = 0
            for j in order:
                if taken >= k:
                    break
                if j <= last_candidate:
                    row[j] = 1
                    taken += 1
        rows.append(row)
    return rows


def permute_selection(geom, q_rows, k_rows, prm):
    """Steps 1-2 of `permute`: importance, and the permuted order (perm[pos] = key)."""
    S, n = prm["segment"], prm["probe"]
    scale = prm["scale"] if prm.get("scale") is not None else geom.default_scale()
    Sq, Sk = geom.seq_q, geom.seq_k
    nprobe = min(n, Sq)
    a = [0.0] * Sk
    for t in range(Sq - nprobe, Sq):
        pt = geom.pos(t)
        if pt < 0:
            continue
        for j, pj in enumerate(_softmax_causal(q_rows[t], k_rows, pt, scale)):
            a[j] += pj
    if nprobe > 0:
        a = [x / nprobe for x in a]
    perm = []
    full = Sk // S
    for m in range(full):
        seg = list(range(m * S, (m + 1) * S))
        seg.sort(key=lambda j: (-a[j], j))           # descending, stable
        perm.extend(seg)
    perm.extend(range(full * S, Sk))                  # tail stays in place
    return a, perm


def pbs_head(geom, q_rows, k_rows, prm, debug=None):
    """PBS-Attn = causal ∩ permute."""
    S, B, alpha = prm["segment"], prm["block"], prm["alpha"]
    if B <= 0 or S <= 0 or S % B != 0:
        raise ValueError("pbs: block (%d) must divide segment (%d)" % (B, S))
    scale = prm["scale"] if prm.get("scale") is not None else geom.default_scale()
    Sq, Sk, D = geom.seq_q, geom.seq_k, geom.head_dim
    _, perm = permute_selection(geom, q_rows, k_rows, prm)
    nblocks = -(-Sk // B)
    block_keys = [perm[c * B:(c + 1) * B] for c in range(nblocks)]
    block_of_key0 = perm.index(0) // B if Sk > 0 else None
    kmean_cache = {}

    def kmean(c):
        if c not in kmean_cache:
            keys = block_keys[c]
            kmean_cache[c] = [sum(k_rows[j][x] for j in keys) / len(keys) for x in range(D)]
        return kmean_cache[c]

    rows = [bytearray(Sk) for _ in range(Sq)]
    # group rows into query blocks Q = {i : qb(i) equal}
    groups = {}
    for i in range(Sq):
        p = geom.pos(i)
        if p < 0:
            continue                                   # C(i) empty
        groups.setdefault(p // B, []).append(i)
    for qb in sorted(groups):
        members = groups[qb]
        mQ = geom.pos(members[0]) // S
        cands = [c for c in range(nblocks) if (c + 1) * B <= mQ * S]
        kept = []
        if cands:
            qmean = [sum(q_rows[i][x] for i in members) / len(members) for x in range(D)]
            sc = [scale * _dot(qmean, kmean(c)) for c in cands]
            mx = max(sc)
            e = [math.exp(x - mx) for x in sc]
            z = sum(e)
            kept = [cands[idx] for idx in cover_prefix([x / z for x in e], alpha)]
        if block_of_key0 is not None:
            kept = sorted(set(kept) | {block_of_key0})
        if debug is not None:
            debug.append((qb, mQ, kept))
        template = bytearray(Sk)
        for c in kept:
            for j in block_keys[c]:
                template[j] = 1
        _fill(template, mQ * S, min((mQ + 1) * S, Sk))
        for i in members:
            row = bytearray(template)
            _causal_clip(row, geom.pos(i))
            rows[i] = row
    return rows


def compute_masks(pattern, params, geom, inputs=None):
    """Nested result masks[b][h] = list of Sq bytearrays of length Sk."""
    prm = resolve_params(pattern, params)
    _, need_qk, need_u = STOCK[pattern]
    out = []
    for b in range(geom.batch):
        per_head = []
        for h in range(geom.heads):
            g = geom.kv_head(h)
            if pattern == "power":
                rows = power_head(geom, prm)
            elif pattern == "streaming":
                rows = streaming_head(geom, prm)
            elif pattern == "sparsek":
                rows = sparsek_head(geom, inputs["u"][b][g], prm)
            else:
                q_rows, k_rows = inputs["q"][b][h], inputs["k"][b][g]
                if pattern == "sample":
                    rows = sample_head(geom, q_rows, k_rows, prm)
                elif pattern == "hip":
                    rows = hip_head(geom, q_rows, k_rows, prm)
                else:
                    rows = pbs_head(geom, q_rows, k_rows, prm)
            per_head.append(rows)
        out.append(per_head)
    return out


def flatten(masks):
    buf = bytearray()
    for per_head in masks:
        for rows in per_head:
            for row in rows:
                buf += row
    return buf


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------

def generate_inputs(seed, geom):
    """Flat float32-rounded lists q, k, u drawn in that order from Random(seed).gauss(0, 1)."""
    rng = random.Random(seed)

    def draw(count):
        vals = [rng.gauss(0.0, 1.0) for _ in range(count)]
        return list(struct.unpack("<%df" % count, struct.pack("<%df" % count, *vals)))

    B, H, G, N, M, D = geom.batch, geom.heads, geom.kv_heads, geom.seq_q, geom.seq_k, geom.head_dim
    q = draw(B * H * N * D)
    k = draw(B * G * M * D)
    u = draw(B * G * M)
    return q, k, u


def nest_inputs(geom, q=None, k=None, u=None):
    B, H, G, N, M, D = geom.batch, geom.heads, geom.kv_heads, geom.seq_q, geom.seq_k, geom.head_dim
    out = {}
    if q is not None:
        out["q"] = _nest(q, (B, H, N, D))
    if k is not None:
        out["k"] = _nest(k, (B, G, M, D))
    if u is not None:
        out["u"] = _nest(u, (B, G, M))
    return out


def load_inputs(directory, geom, need_qk, need_u):
    B, H, G, N, M, D = geom.batch, geom.heads, geom.kv_heads, geom.seq_q, geom.seq_k, geom.head_dim
    want = {}
    if need_qk:
        want["q"] = (B, H, N, D)
        want["k"] = (B, G, M, D)
    if need_u:
        want["u"] = (B, G, M)
    flat = {}
    for name, shape in want.items():
        got, _, values = read_npy(os.path.join(directory, name + ".npy"))
        if tuple(got) != shape:
            raise ValueError("%s.npy has shape %r, expected %r" % (name, got, shape))
        flat[name] = values
    return nest_inputs(geom, flat.get("q"), flat.get("k"), flat.get("u"))


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

def _add_dims(ap):
    for flag in ("--batch", "--heads", "--kv-heads", "--seq-q", "--seq-k", "--head-dim"):
        ap.add_argument(flag, type=int, required=True)


def _geom(args):
    return Geometry(args.batch, args.heads, args.kv_heads, args.seq_q, args.seq_k, args.head_dim)


def _parse_sets(items):
    out = {}
    for item in items or []:
        for part in item.split(","):
            if "=" not in part:
                raise ValueError("--set expects name=value, got %r" % part)
            name, value = part.split("=", 1)
            out[name.strip().replace("-", "_")] = value.strip()
    return out


def cmd_gen(args):
    geom = _geom(args)
    q, k, u = generate_inputs(args.seed, geom)
    os.makedirs(args.out, exist_ok=True)
    B, H, G, N, M, D = geom.batch, geom.heads, geom.kv_heads, geom.seq_q, geom.seq_k, geom.head_dim
    write_f32(os.path.join(args.out, "q.npy"), (B, H, N, D), q)
    write_f32(os.path.join(args.out, "k.npy"), (B, G, M, D), k)
    write_f32(os.path.join(args.out, "u.npy"), (B, G, M), u)
    return 0


def cmd_mask(args):
    geom = _geom(args)
    overrides = _parse_sets(args.set)
    resolve_params(args.pattern, overrides)                 # validate early
    _, need_qk, need_u = STOCK[args.pattern]
    inputs = None
    if need_qk or need_u:
        if not args.inputs:
            raise ValueError("pattern %s needs --inputs DIR" % args.pattern)
        inputs = load_inputs(args.inputs, geom, need_qk, need_u)
    masks = compute_masks(args.pattern, overrides, geom, inputs)
    write_u8(args.out, (geom.batch, geom.heads, geom.seq_q, geom.seq_k), flatten(masks))
    return 0


def compare_files(path_a, path_b, show=10, out=sys.stdout):
    sa, _, va = read_npy(path_a)
    sb, _, vb = read_npy(path_b)
    if tuple(sa) != tuple(sb):
        print("shape differs: %r vs %r" % (tuple(sa), tuple(sb)), file=out)
        return 1
    diffs = [x for x in range(len(va)) if (va[x] != 0) != (vb[x] != 0)]
    if not diffs:
        return 0
    print("shape %r: %d differing entries" % (tuple(sa), len(diffs)), file=out)
    for flat in diffs[:show]:
        idx = []
        rest = flat
        for n in reversed(sa):
            idx.append(rest % n)
            rest //= n
        idx.reverse()
        print("  %s: %s=%d %s=%d" % (tuple(idx), os.path.basename(path_a), va[flat],
                                     os.path.basename(path_b), vb[flat]), file=out)
    return 1


def cmd_compare(args):
    return compare_files(args.a, args.b)


def cmd_patterns(_args):
    for name, (defaults, need_qk, need_u) in STOCK.items():
        txt = ", ".join("%s=%s" % kv for kv in defaults.items() if kv[1] is not None)
        inputs = "q,k" if need_qk else ("u" if need_u else "none")
        print("%-10s %s  (inputs: %s)" % (name, txt, inputs))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="write random q.npy, k.npy, u.npy")
    g.add_argument("--seed", type=int, required=True)
    _add_dims(g)
    g.add_argument("--out", required=True)
    g.set_defaults(func=cmd_gen)
    m = sub.add_parser("mask", help="compute a stock pattern's token-level mask")
    m.add_argument("--pattern", required=True, choices=sorted(STOCK))
    m.add_argument("--set", action="append", metavar="NAME=VALUE")
    _add_dims(m)
    m.add_argument("--inputs")
    m.add_argument("--out", required=True)
    m.set_defaults(func=cmd_mask)
    c = sub.add_parser("compare", help="compare two uint8 mask .npy files")
    c.add_argument("a")
    c.add_argument("b")
    c.set_defaults(func=cmd_compare)
    p = sub.add_parser("patterns", help="list stock patterns")
    p.set_defaults(func=cmd_patterns)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, KeyError) as exc:
        print("spec_masks: error: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
