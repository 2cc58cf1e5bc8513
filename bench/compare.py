#!/usr/bin/env python3
"""sattn against PyTorch SDPA and FlexAttention, in one process, on one GPU.

For every case (pattern, sequence length S, key/value heads Hkv) the script

  * runs the sattn kernel through the Python package (python/sattn, over
    libsattn.so's C API) on the very torch tensors,
  * runs FlexAttention (torch.compile'd) on a BlockMask built from sattn's own
    block lists (sattn-compile --emit=blocks-json on the very inputs the
    benchmark uses), so that both compute the same blocks, with a mask_mod
    that reproduces the pattern token by token inside partial blocks,
  * runs dense causal SDPA (FlashAttention and cuDNN backends) as the baseline,
  * measures what the pattern keeps of the dense attention (attention recall,
    docs/patterns.md; sattn-compile --emit=recall-json on the very inputs),

on two kinds of inputs (--inputs): random normal ones, and LLM-like ones
(sattn-compile --emit=inputs-npy --llm-inputs SEED, docs/llm-inputs.md) with
the sinks, heavy columns and local decay of long-context attention, on which
cover-based selections keep a few percent of the blocks instead of nearly all.
It times them with CUDA events (warm-up, median, rotating input copies) and
checks sattn's output against Flex's. See bench/README.md for the columns and
the method. Run `python3 bench/compare.py --help` for the options.

Exit status: 0 all checks passed, 1 some check failed (output or mask
mismatch, kernel error), 2 the benchmark could not run (no CUDA device, no
PyTorch, missing library or tool, bad arguments).
"""

import argparse
import concurrent.futures
import ctypes
import itertools
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY_DIR = os.path.join(REPO, "patterns", "library")
STOCK_PATTERNS = ["power", "streaming", "sample", "hip", "sparsek", "pbs"]
DENSE = "dense"  # dense causal: bench/patterns/dense_causal.sattn, else DENSE_SOURCE
DENSE_FILE = os.path.join(REPO, "bench", "patterns", "dense_causal.sattn")
DEFAULT_PATTERNS = STOCK_PATTERNS + [DENSE]
DENSE_SOURCE = """# Dense causal attention (written by bench/compare.py).
pattern dense {
  block 128
  causal
  keep where qb >= kb
}
"""
# Dynamic primitives: they select keys from run-time inputs.
DYNAMIC_OPS = ("stripes", "tree_search", "topk", "permute")
REL_TOL = 1e-2  # docs/patterns.md: bf16 ||out - ref|| / ||ref|| <= 1e-2
EXIT_SETUP = 2

START = time.time()


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def fail(msg, code=EXIT_SETUP):
    print(f"compare.py: error: {msg}", file=sys.stderr)
    sys.exit(code)


VERBOSE = True


def log(msg):
    if VERBOSE:
        print(f"[{time.time() - START:7.1f}s] {msg}", file=sys.stderr, flush=True)


def human_s(S):
    return f"{S // 1024}K" if S % 1024 == 0 else str(S)


def parse_int_list(text, name):
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        mult = 1
        if part.endswith("k"):
            mult, part = 1024, part[:-1]
        try:
            out.append(int(part) * mult)
        except ValueError:
            fail(f"{name}: '{text}' is not a comma-separated list of integers")
    if not out:
        fail(f"{name}: empty list")
    return out


def fmt_ms(t, none="-"):
    """A median time in ms; '*' when fewer than 10 calls were timed."""
    if not t or t.get("ms") is None:
        return none
    ms = t["ms"]
    text = f"{ms:.0f}" if ms >= 1000 else f"{ms:.2f}" if ms >= 100 else f"{ms:.3f}"
    return text + ("*" if t.get("n", 10) < 10 else "")


def fmt(x, spec=".3f", none="-"):
    if x is None:
        return none
    if isinstance(x, str):
        return x
    return format(x, spec)


# ---------------------------------------------------------------------------
# .npy files (no numpy needed: raw little-endian C-order data)
# ---------------------------------------------------------------------------

_NPY_DESCR = {"float32": "<f4", "uint8": "|u1"}


def npy_header(descr, shape):
    shape_txt = "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_txt)
    pad = (-(10 + len(text) + 1)) % 64
    text = text + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1")


def write_npy_f32(path, tensor):
    """Writes a torch tensor as float32 C-order .npy (copies through the host)."""
    import torch
    t = tensor.detach().to(device="cpu", dtype=torch.float32).contiguous()
    nbytes = t.numel() * 4
    with open(path, "wb") as fh:
        fh.write(npy_header("<f4", list(t.shape)))
        if nbytes:
            fh.write(memoryview((ctypes.c_char * nbytes).from_address(t.data_ptr())))
    del t


def read_npy(path, descr):
    """Reads a C-order .npy of dtype descr ('|u1' or '<f4') into a CPU tensor."""
    import torch
    dtype, size = {"|u1": (torch.uint8, 1), "<f4": (torch.float32, 4)}[descr]
    with open(path, "rb") as fh:
        magic = fh.read(8)
        if magic[:6] != b"\x93NUMPY":
            raise ValueError(f"{path}: not a .npy file")
        major = magic[6]
        hlen = int.from_bytes(fh.read(2 if major == 1 else 4), "little")
        header = fh.read(hlen).decode("latin1")
        m = re.search(r"'shape':\s*\(([^)]*)\)", header)
        if f"'{descr}'" not in header or m is None or \
                "True" in header.split("fortran_order")[1][:8]:
            raise ValueError(f"{path}: expected a C-order {descr} array, header {header!r}")
        shape = [int(x) for x in m.group(1).replace(" ", "").split(",") if x]
        count = math.prod(shape) * size
        buf = bytearray(count)
        view = memoryview(buf)
        got = 0
        while got < count:
            n = fh.readinto(view[got:])
            if not n:
                raise ValueError(f"{path}: truncated ({got} of {count} bytes)")
            got += n
    return torch.frombuffer(buf, dtype=dtype).view(*shape)


def read_npy_u8(path):
    """Reads a uint8 .npy written by sattn-compile --emit=mask-npy into a CPU tensor."""
    return read_npy(path, "|u1")


# ---------------------------------------------------------------------------
# Patterns: what sattn-compile --emit=mlir says about them
# ---------------------------------------------------------------------------

class PatternInfo:
    """A pattern, as the bound sattn dialect describes it.

    strategy is how Flex reproduces the pattern inside partial blocks:
      closed  a mask_mod in closed form, exact (static primitives, SampleAttention's
              window, SparseK's prefix top-k through a per-key drop table)
      oracle  a lookup into sattn's oracle token mask (mask-npy), exact, when it fits
      approx  causal inside partial blocks: a superset of the pattern; Flex then
              computes the same blocks (timing is comparable) but outputs differ
    """

    def __init__(self, name, path, pattern_name=None):
        self.name = name
        self.path = path
        self.pattern_name = pattern_name
        self.block = 128
        self.causal = True
        self.ops = []           # primitive names, in order
        self.terms = []         # closed-form keep terms (see make_mask_mod)
        self.dynamic = False    # reads run-time inputs
        self.head_dependent = False
        self.needs_q = self.needs_k = self.needs_scores = self.needs_weights = False
        self.topk = None        # dict(k, window, sink, source) for a prefix top-k
        self.frac_windows = []  # token windows of max(B, round(f * Sk)) tokens
        self.closed_ok = True   # every primitive has an exact closed form
        self.closed_why = ""
        self.mlir = ""

    def describe(self):
        return f"{self.name}: block {self.block}, ops {','.join(self.ops)}"


def parse_pattern(info, mlir):
    info.mlir = mlir
    lines = [ln.strip() for ln in mlir.splitlines() if ln.strip()]
    head = next((ln for ln in lines if ln.startswith("sattn.pattern")), None)
    if head is None:
        raise ValueError("no sattn.pattern in the --emit=mlir output")
    # "sattn.pattern @name(params) block = N causal {": parameters may be named
    # "block" too, so read what follows the parameter list.
    tail = head.rsplit(")", 1)[-1]
    m = re.search(r"\bblock = (\d+)", tail)
    if m is None:
        raise ValueError(f"cannot read the block size from: {head}")
    info.block = int(m.group(1))
    info.causal = re.search(r"\bcausal\b", tail) is not None
    statics_sink, statics_wtok, other_static = [], [], []
    dyn_block_level = False
    token_dynamic = []
    for ln in lines:
        if not ln.startswith("sattn.") or ln.startswith("sattn.pattern") or ln.startswith("sattn.yield"):
            continue
        op = ln.split()[0][len("sattn."):]
        rest = ln[len("sattn.") + len(op):].strip()
        info.ops.append(op)
        if op == "sink":
            n = int(rest.split()[0])
            info.terms.append(("sink", n))
            statics_sink.append(n)
        elif op == "window":
            val, unit = rest.split()[:2]
            if unit == "tokens":
                info.terms.append(("wtok", int(val)))
                statics_wtok.append(int(val))
            elif unit == "blocks":
                info.terms.append(("wblk", int(val)))
                other_static.append(op)
            elif unit == "fraction":
                info.frac_windows.append(float(val))
                other_static.append("window-fraction")
            else:
                info.closed_ok, info.closed_why = False, f"window unit {unit!r}"
        elif op == "strides":
            other_static.append(op)
            if rest.startswith("pow2"):
                info.terms.append(("pow2",))
            elif rest.startswith("every"):
                info.terms.append(("every", int(rest.split()[1])))
            elif rest.startswith("["):
                vals = [int(x) for x in re.findall(r"-?\d+", rest)]
                info.terms.append(("dlist", vals))
            else:
                info.closed_ok, info.closed_why = False, f"strides {rest!r}"
        elif op == "columns":
            info.terms.append(("cols", [int(x) for x in re.findall(r"-?\d+", rest)]))
            other_static.append(op)
        elif op == "diagonals":
            info.terms.append(("dlist", [int(x) for x in re.findall(r"-?\d+", rest)]))
            other_static.append(op)
        elif op == "keep":
            info.head_dependent = True  # may read h; evaluated per element
            if info.name == DENSE:
                info.terms.append(("all",))
                info.head_dependent = False
            else:
                info.closed_ok, info.closed_why = False, "keep where (evaluated by the oracle)"
        elif op == "stripes":
            info.dynamic = True
            info.needs_q = info.needs_k = True
            f = re.search(r"window_frac = ([-+0-9.eE]+)", rest)
            info.frac_windows.append(float(f.group(1)) if f else 0.05)
            dyn_block_level = True
        elif op == "topk":
            info.dynamic = True
            tokens = re.search(r"\btokens\b", rest) is not None
            by = re.search(r"\bby (\w+)", rest)
            source = by.group(1) if by else "?"
            kk = re.search(r"\bk = (\d+)", rest)
            if source == "key_score":
                info.needs_scores = True
            elif source == "linear":
                info.needs_k = info.needs_weights = True
            else:
                info.needs_q = info.needs_k = True
            if tokens and kk and source in ("key_score", "linear"):
                token_dynamic.append(("topk", int(kk.group(1)), source))
            elif not tokens:
                dyn_block_level = True
            else:
                info.closed_ok, info.closed_why = False, f"topk {rest}"
        elif op in ("tree_search", "permute"):
            info.dynamic = True
            info.needs_q = info.needs_k = True
            info.closed_ok, info.closed_why = False, f"{op} selects single tokens"
        else:
            info.closed_ok, info.closed_why = False, f"unknown primitive {op}"
    if not info.causal:
        info.closed_ok, info.closed_why = False, "not causal"
    if token_dynamic:
        if len(token_dynamic) > 1 or other_static or dyn_block_level or len(statics_wtok) > 1 \
                or len(statics_sink) > 1:
            info.closed_ok, info.closed_why = False, "top-k candidates are not a key prefix"
        else:
            _, k, source = token_dynamic[0]
            info.topk = {"k": k, "source": source,
                         "window": statics_wtok[0] if statics_wtok else 0,
                         "sink": statics_sink[0] if statics_sink else 0}
    if dyn_block_level and info.closed_ok:
        # A partial block kept by a block-level run-time selection can only be a
        # diagonal block; its causal part is all kept. A token window of >= B
        # tokens (or a block window) covers it, so the mask is then exact.
        covered = bool(info.frac_windows) or any(
            (t[0] == "wtok" and t[1] >= info.block) or (t[0] == "wblk" and t[1] >= 1)
            for t in info.terms)
        if not covered:
            info.closed_ok, info.closed_why = False, "block-level selection without a covering window"
    return info


def frac_window(f, block, S):
    return max(block, int(math.floor(f * S + 0.5)))


# ---------------------------------------------------------------------------
# sattn-compile (the oracle): block lists and token masks
# ---------------------------------------------------------------------------

class Oracle:
    def __init__(self, tool, jobs):
        self.tool = tool
        self.jobs = jobs

    def run(self, argv, timeout=600):
        proc = subprocess.run([self.tool] + argv, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"sattn-compile {' '.join(argv)}: exit {proc.returncode}: "
                               f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
        return proc.stdout

    def mlir(self, info):
        argv = [info.path, "--emit=mlir"]
        if info.pattern_name:
            argv.append(f"--pattern={info.pattern_name}")
        return self.run(argv)



def load_blocks_json(path):
    with open(path) as fh:
        return json.load(fh)


def summarize_recall(docs, head_kinds=None):
    """One figure per case from per-head recall-json reports (one head each):
    means over heads of recall mean and p5, density and output error, the
    minimum of the minima, and the mean recall per LLM-like head kind."""
    heads = [d for doc in docs for d in doc["heads_detail"]]
    if not heads:
        return None
    errs = [h["out_rel_err"] for h in heads if h.get("out_rel_err") is not None]
    out = {"heads": len(heads), "rows_sampled": docs[0]["rows_sampled"],
           "rows_total": docs[0]["rows_total"],
           "recall_mean": statistics.fmean(h["recall_mean"] for h in heads),
           "recall_p5": statistics.fmean(h["recall_p5"] for h in heads),
           "recall_min": min(h["recall_min"] for h in heads),
           "density": statistics.fmean(h["density"] for h in heads),
           "dense_cover": statistics.fmean(h["dense_cover"] for h in heads),
           "out_rel_err": statistics.fmean(errs) if errs else None}
    if head_kinds:
        by_kind = {}
        for n, h in enumerate(heads):
            by_kind.setdefault(head_kinds[n % len(head_kinds)], []).append(h["recall_mean"])
        out["recall_by_kind"] = {k: statistics.fmean(v) for k, v in sorted(by_kind.items())}
    return out


# ---------------------------------------------------------------------------
# Block lists -> FlexAttention BlockMask
# ---------------------------------------------------------------------------

class BlockLists:
    """sattn's block lists for some heads, as BlockMask-ready int32 tensors."""

    def __init__(self, torch, docs, S, block):
        self.S, self.block = S, block
        self.nq = -(-S // block)
        self.nk = -(-S // block)
        for doc in docs:
            if doc["block"] != block or doc["seq_q"] != S or doc["seq_k"] != S:
                raise ValueError(f"blocks-json has block {doc['block']}, seq {doc['seq_q']}x"
                                 f"{doc['seq_k']}; expected {block}, {S}x{S}")
        details = [d for doc in docs for d in doc["heads_detail"]]
        n = len(details)
        if n == 0:
            raise ValueError("blocks-json lists no heads")
        self.heads = n
        shape = (n, self.nq, self.nk)
        kv_idx = torch.zeros(shape, dtype=torch.int32)
        kv_num = torch.zeros((n, self.nq), dtype=torch.int32)
        full_idx = torch.zeros(shape, dtype=torch.int32)
        full_num = torch.zeros((n, self.nq), dtype=torch.int32)
        self.full_tiles, self.partial_tiles = [], []
        self.token_density, self.token_causal_density = [], []
        self.state0 = None
        for h, d in enumerate(details):
            rows = d["rows"]
            self.token_density.append(d["density"])
            self.token_causal_density.append(d["causal_density"])
            for key, idx, num, tiles in (("full", full_idx, full_num, self.full_tiles),
                                         ("partial", kv_idx, kv_num, self.partial_tiles)):
                counts = [len(r[key]) for r in rows]
                qbs = torch.tensor([r["q_block"] for r in rows], dtype=torch.int64)
                cols = torch.tensor(list(itertools.chain.from_iterable(r[key] for r in rows)),
                                    dtype=torch.int64)
                cnt = torch.tensor(counts, dtype=torch.int64)
                total = int(cnt.sum())
                tiles.append(total)
                if qbs.numel() and (int(qbs.min()) < 0 or int(qbs.max()) >= self.nq):
                    raise ValueError("blocks-json q_block out of range")
                num[h, qbs] = cnt.to(torch.int32)
                if total:
                    row_ids = torch.repeat_interleave(qbs, cnt)
                    starts = torch.cumsum(cnt, 0) - cnt
                    pos = torch.arange(total) - torch.repeat_interleave(starts, cnt)
                    idx[h, row_ids, pos] = cols.to(torch.int32)
                if h == 0:
                    if self.state0 is None:
                        self.state0 = torch.zeros((self.nq, self.nk), dtype=torch.uint8)
                    if total:
                        self.state0[row_ids, cols] = 2 if key == "full" else 1
        self.kv_num, self.kv_idx, self.full_num, self.full_idx = kv_num, kv_idx, full_num, full_idx
        self.causal_tiles = self.nq * (self.nq + 1) // 2  # Sq == Sk, square blocks

    def computed_tiles(self):
        """Mean full + partial tiles per head."""
        return statistics.mean(f + p for f, p in zip(self.full_tiles, self.partial_tiles))

    def block_density(self):
        return self.computed_tiles() / self.causal_tiles

    def block_mask(self, torch, flex_mod, H, mask_mod, device):
        """A BlockMask over H query heads (head h uses list h % n when n < H)."""
        n = self.heads
        tensors = [self.kv_num, self.kv_idx, self.full_num, self.full_idx]
        if n > 1 and n != H:
            hmap = torch.arange(H) % n
            tensors = [t[hmap] for t in tensors]
        tensors = [t.unsqueeze(0).to(device).contiguous() for t in tensors]
        kw = dict(kv_num_blocks=tensors[0], kv_indices=tensors[1],
                  full_kv_num_blocks=tensors[2], full_kv_indices=tensors[3],
                  BLOCK_SIZE=self.block, mask_mod=mask_mod, seq_lengths=(self.S, self.S))
        try:
            return flex_mod.BlockMask.from_kv_blocks(compute_q_blocks=False, **kw)
        except TypeError:
            return flex_mod.BlockMask.from_kv_blocks(**kw)


# ---------------------------------------------------------------------------
# Mask mods
# ---------------------------------------------------------------------------

def topk_drop_table(torch, scores, k, sink, chunk=1024, rows_per_batch=8192):
    """SparseK's prefix top-k as one int32 table per key.

    For scores u [G, S], row i of the pattern keeps, among the eligible keys
    (j >= sink) with j <= c(i) = p(i) - window, the k best (ties toward the
    smaller index, as sattn's oracle). Key j is kept by row i iff
    j <= c(i) < drop[g, j], where drop[g, j] is the index of the k-th eligible key
    that beats j, in ascending index order (S when fewer than k do; 0 for keys
    that are never candidates). Computed on the GPU, chunked over the index axis.
    """
    G, S = scores.shape
    dev = scores.device
    drop = torch.empty((G, S), dtype=torch.int32, device=dev)
    if k <= 0:
        drop.zero_()
        return drop
    nch = -(-S // chunk)
    ar = torch.arange(S, device=dev)
    car = torch.arange(chunk, device=dev)
    for g in range(G):
        order = torch.sort(scores[g], descending=True, stable=True).indices
        rank = torch.empty_like(order)
        rank[order] = ar
        elig_r = (order >= sink).to(torch.int64)
        onehot = torch.zeros((S, nch), dtype=torch.int64, device=dev)
        onehot[ar, order // chunk] = elig_r
        cum = onehot.cumsum(0)
        cum -= onehot                    # eligible keys of rank < r, per chunk
        del onehot
        cum = cum.cumsum(1)              # ... in chunks <= c
        has = cum[:, -1] >= k
        kk = torch.full((S, 1), k, dtype=torch.int64, device=dev)
        ch = torch.searchsorted(cum, kk).squeeze(1).clamp(max=nch - 1)
        before = torch.where(ch > 0, cum.gather(1, (ch - 1).clamp(min=0).unsqueeze(1)).squeeze(1),
                             torch.zeros_like(ch))
        del cum
        need = (k - before).unsqueeze(1)  # the need-th eligible better key of chunk ch
        res = torch.full((S,), S, dtype=torch.int64, device=dev)
        rows = has.nonzero().squeeze(1)
        for s0 in range(0, rows.numel(), rows_per_batch):
            rr = rows[s0:s0 + rows_per_batch]
            base = ch[rr] * chunk
            keys = base.unsqueeze(1) + car.unsqueeze(0)
            valid = keys < S
            keys = keys.clamp(max=S - 1)
            cond = valid & (rank[keys] < rr.unsqueeze(1)) & (keys >= sink)
            cs = cond.to(torch.int64).cumsum(1)
            t = torch.searchsorted(cs, need[rr]).squeeze(1)
            res[rr] = base + t
        drop[g, order] = res.to(torch.int32)
        if sink > 0:
            drop[g, :min(sink, S)] = 0
    return drop


def make_mask_mod(info, strategy, S, n_heads, tables):
    """mask_mod(b, h, q_idx, kv_idx) for partial blocks (Sq == Sk, so p(i) = i).

    Flex applies it only inside partial blocks; full blocks skip it and absent
    blocks are never visited, so within a partial block it must give exactly
    causal ∩ (the pattern's keep terms).
    """
    B = info.block
    n = max(1, n_heads)
    if strategy == "oracle":
        dense = tables["dense"]  # [n, S, S] bool

        def mask_mod(b, h, q_idx, kv_idx):
            return dense[h % n, q_idx, kv_idx]
        return mask_mod
    if strategy == "approx":
        def mask_mod(b, h, q_idx, kv_idx):
            return q_idx >= kv_idx
        return mask_mod

    terms = list(info.terms) + [("wtok", frac_window(f, B, S)) for f in info.frac_windows]
    if info.topk is not None:
        # Sink and window keys stay static terms; the top-k adds its own keys.
        terms.append(("topk", info.topk["window"]))
    drop = tables.get("drop")  # [H, S] int32, head-mapped

    def mask_mod(b, h, q_idx, kv_idx):
        causal = q_idx >= kv_idx
        keep = kv_idx < 0
        d = q_idx // B - kv_idx // B
        for t in terms:
            kind = t[0]
            if kind == "all":
                keep = keep | (kv_idx >= 0)
            elif kind == "sink":
                keep = keep | (kv_idx < t[1])
            elif kind == "wtok":
                keep = keep | (q_idx - kv_idx < t[1])
            elif kind == "wblk":
                keep = keep | (d < t[1])
            elif kind == "pow2":
                keep = keep | ((d >= 1) & ((d & (d - 1)) == 0))
            elif kind == "every":
                keep = keep | ((d >= 1) & (d % t[1] == 0))
            elif kind == "dlist":
                for x in t[1]:
                    keep = keep | (d == x)
            elif kind == "cols":
                for x in t[1]:
                    keep = keep | (kv_idx // B == x)
            elif kind == "topk":
                c = q_idx - t[1]
                keep = keep | ((kv_idx <= c) & (c < drop[h, kv_idx]))
        return causal & keep
    return mask_mod


def effective_mask(torch, blocks, mask_mod, S, device, head=0):
    """The token mask Flex computes for one head: full blocks, partial blocks through mask_mod."""
    B = blocks.block
    state = blocks.state0.to(device)
    tok = state.repeat_interleave(B, 0)[:S].repeat_interleave(B, 1)[:, :S]
    q_idx = torch.arange(S, device=device).unsqueeze(1)
    kv_idx = torch.arange(S, device=device).unsqueeze(0)
    h = torch.tensor(head, device=device)
    b = torch.tensor(0, device=device)
    mm = mask_mod(b, h, q_idx, kv_idx)
    mm = mm.expand(S, S) if mm.dim() == 2 else mm.reshape(S, S)
    return (tok == 2) | ((tok == 1) & mm)


# ---------------------------------------------------------------------------
# sattn, through its Python package (python/sattn)
# ---------------------------------------------------------------------------

def import_sattn(lib):
    """The sattn package of this tree, using the library `lib` (when
    given; else the package finds the build's own)."""
    if lib:
        os.environ["SATTN_LIBRARY"] = lib
    sys.path.insert(0, os.path.join(REPO, "python"))
    import sattn
    sattn.version()  # loads the library now: a missing one fails here
    return sattn


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------

def time_cuda(torch, fn, n_sets, warmup, iters, max_s, min_iters, deadline=None,
              first_call_s=None):
    """Median of per-call CUDA-event times; the calls rotate over the input sets.

    fn(i) runs one call on input set i. Warm-up calls come first (fewer when one call
    is slow; first_call_s is the wall time of a call already made, which then counts
    as warm-up). The number of timed calls is `iters`, cut when they would take more
    than max_s (to no fewer than min_iters, or fewer still when a single call takes
    seconds) and to what fits before `deadline`. Returns dict(ms=median, min, mean, n,
    warmup, times) and, under "last0", what the last call on set 0 returned.
    """
    torch.cuda.synchronize()
    per_call = first_call_s
    spent, done, last0 = 0.0, 0, None
    for i in range(warmup):
        if per_call is not None and spent + per_call > max_s / 3:
            break
        t0 = time.perf_counter()
        r = fn(i % n_sets)
        torch.cuda.synchronize()
        per_call = time.perf_counter() - t0
        spent += per_call
        done += 1
        if i % n_sets == 0:
            last0 = r
    per_call = max(per_call or 1e-4, 1e-6)
    n = iters
    if per_call * iters > max_s:
        n = max(min_iters, int(max_s / per_call))
        if per_call * n > 2 * max_s:
            n = max(1, int(2 * max_s / per_call))
    if deadline is not None:
        n = max(1, min(n, int((deadline - time.time()) / per_call)))
    n = min(n, iters)
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
              for _ in range(n)]
    for j, (s, e) in enumerate(events):
        idx = (done + j) % n_sets
        s.record()
        r = fn(idx)
        e.record()
        if idx == 0:
            last0 = r
    torch.cuda.synchronize()
    times = [s.elapsed_time(e) for s, e in events]
    return {"ms": statistics.median(times), "min": min(times), "mean": statistics.fmean(times),
            "n": n, "warmup": done, "times": [round(t, 5) for t in times], "last0": last0}


def timing_record(t):
    return {k: v for k, v in t.items() if k != "last0"}


def compare_outputs(torch, a, b, heads):
    """max |a - b| and ||a - b|| / ||b|| over heads [0, heads), head by head in float32."""
    max_abs, num, den = 0.0, 0.0, 0.0
    nan = False
    for h in range(heads):
        x = a[:, h].float()
        y = b[:, h].float()
        if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
            nan = True
        diff = x - y
        max_abs = max(max_abs, float(diff.abs().max()))
        num += float((diff * diff).sum())
        den += float((y * y).sum())
        del x, y, diff
    rel = math.sqrt(num) / math.sqrt(den) if den > 0 else float("inf")
    if nan or math.isnan(rel):
        return {"max_abs": max_abs, "rel": float("nan"), "ok": False, "heads": heads,
                "note": "non-finite values"}
    return {"max_abs": max_abs, "rel": rel, "ok": rel <= REL_TOL, "heads": heads}


# ---------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------

COLUMNS = [
    ("pattern", 9, "<"), ("inputs", 6, "<"), ("S", 5, ">"), ("Hkv", 3, ">"), ("blk%", 6, ">"),
    ("dens%", 6, ">"), ("recall", 6, ">"), ("rec-p5", 6, ">"),
    ("sattn", 9, ">"), ("flex", 9, ">"), ("fa", 9, ">"), ("cudnn", 9, ">"),
    ("s/flex", 6, ">"), ("s/sdpa", 6, ">"), ("TF/s", 6, ">"), ("TF/s-eq", 7, ">"),
    ("max|d|", 8, ">"), ("rel", 8, ">"), ("check", 6, "<"), ("s-comp", 8, ">"),
    ("flex-1st", 8, ">"),
]


def table_header():
    head = " ".join(f"{name:{align}{w}}" for name, w, align in COLUMNS)
    units = {"sattn": "ms", "flex": "ms", "fa": "ms", "cudnn": "ms", "s-comp": "ms",
             "flex-1st": "ms"}
    unit_row = " ".join(f"{units.get(name, ''):{align}{w}}" for name, w, align in COLUMNS)
    return head + "\n" + unit_row + "\n" + "-" * len(head)


def table_row(values):
    cells = []
    for (name, w, align), v in zip(COLUMNS, values):
        s = str(v)
        if len(s) > w:
            s = s[:w]
        cells.append(f"{s:{align}{w}}")
    return " ".join(cells)


class Bench:
    def __init__(self, args, torch):
        self.args = args
        self.torch = torch
        self.dev = torch.device("cuda")
        self.H = args.heads
        self.D = args.head_dim
        self.results = []
        self.sdpa = {}
        self.skipped = []
        self.kernels = {}  # (pattern, Hkv) -> (kernel, compile info) or error string
        self.any_fail = False
        self.case_estimate = {}
        self.deadline = START + args.budget_s
        self.flex = None
        self.flex_compiled = None
        self.flex_error = None
        self.sattn = None
        self.oracle = None
        self.patterns = []
        self.tmp = None
        self.head_kinds = None  # of LLM-like inputs, per query head

    # -- setup --------------------------------------------------------------
    def setup(self, patterns):
        a, torch = self.args, self.torch
        self.tmp = tempfile.mkdtemp(prefix="sattn-bench-", dir=a.tmp_dir)
        tool = os.path.join(a.bin_dir, "sattn-compile")
        if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
            fail(f"sattn-compile not found at {tool} (build it, or pass --bin-dir)")
        self.oracle = Oracle(tool, a.jobs)
        dense_path = DENSE_FILE
        if not os.path.isfile(dense_path):
            dense_path = os.path.join(self.tmp, "dense.sattn")
            with open(dense_path, "w") as fh:
                fh.write(DENSE_SOURCE)
        for p in patterns:
            if p == DENSE:
                info = PatternInfo(DENSE, dense_path)
            elif p.endswith(".sattn") or p.endswith(".mlir"):
                info = PatternInfo(os.path.splitext(os.path.basename(p))[0], os.path.abspath(p))
            else:
                path = os.path.join(LIBRARY_DIR, p + ".sattn")
                if not os.path.isfile(path):
                    fail(f"no pattern '{p}' ({path} does not exist)")
                info = PatternInfo(p, path)
            try:
                parse_pattern(info, self.oracle.mlir(info))
            except Exception as e:  # noqa: BLE001
                fail(f"cannot read pattern {p}: {e}")
            log(f"pattern {info.describe()}; flex mask "
                f"{'closed form' if info.closed_ok else 'oracle/approx: ' + info.closed_why}")
            self.patterns.append(info)
        if not a.skip_sattn:
            if not a.warm_cache:
                os.environ["SATTN_CACHE_DIR"] = os.path.join(self.tmp, "kernel-cache")
            if a.lib and not os.path.isfile(a.lib):
                fail(f"sattn library not found at {a.lib} (build it, pass --lib PATH, or "
                     f"--skip-sattn to run the baselines only)")
            try:
                self.sattn = import_sattn(a.lib)
            except Exception as e:  # noqa: BLE001 (SattnError, OSError)
                fail(f"cannot load sattn: {e} (is LD_LIBRARY_PATH set for its LLVM/MLIR "
                     f"libraries?)")
        if not a.skip_flex:
            try:
                import torch.nn.attention.flex_attention as flex_mod
                self.flex = flex_mod
                import torch._dynamo
                cfg = torch._dynamo.config
                for name in ("cache_size_limit", "recompile_limit"):
                    if hasattr(cfg, name):
                        setattr(cfg, name, 1024)
                for name in ("accumulated_cache_size_limit", "accumulated_recompile_limit"):
                    if hasattr(cfg, name):
                        setattr(cfg, name, 4096)
                self.flex_compiled = torch.compile(flex_mod.flex_attention, dynamic=False)
            except Exception as e:  # noqa: BLE001
                self.flex_error = f"FlexAttention unavailable: {e}"
                log(self.flex_error)

    def close(self):
        for v in self.kernels.values():
            if isinstance(v, tuple):
                v[0].close()
        if self.tmp and not self.args.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- budget -------------------------------------------------------------
    def remaining(self):
        return self.deadline - time.time()

    def estimate(self, S):
        """Seconds one case at S is expected to take: the slowest case seen at S, else
        extrapolated from the largest shorter S seen (as S^1.5), else a guess."""
        if S in self.case_estimate:
            return self.case_estimate[S]
        known = [s for s in self.case_estimate if s < S]
        if known:
            s0 = max(known)
            return self.case_estimate[s0] * (S / s0) ** 1.5
        return 10.0 * max(1.0, S / 8192)

    def skip(self, pattern, S, hkv, why, kind=None):
        self.skipped.append({"pattern": pattern, "S": S, "Hkv": hkv, "inputs": kind,
                             "reason": why})
        print(f"  skipped {pattern}{' ' + kind if kind else ''} S={human_s(S)} Hkv={hkv}: "
              f"{why}", flush=True)

    # -- inputs -------------------------------------------------------------
    def make_inputs(self, S, hkv, kind="random"):
        """Input sets for one group: random normal ones, or copies of one LLM-like set
        (whose head kinds go to self.head_kinds; None for random inputs)."""
        torch, H, D = self.torch, self.H, self.D
        set_bytes = 2 * D * S * (H + 2 * hkv)
        l2 = self.l2_bytes
        n_sets = self.args.sets or max(2, math.ceil(2 * l2 / set_bytes))
        if kind == "llm":
            return self.make_llm_inputs(S, hkv, n_sets), set_bytes
        gen = torch.Generator(device=self.dev)
        gen.manual_seed(self.args.seed * 1000003 + S * 7 + hkv)
        sets = []
        for _ in range(n_sets):
            q = torch.randn((1, H, S, D), generator=gen, device=self.dev, dtype=torch.bfloat16)
            k = torch.randn((1, hkv, S, D), generator=gen, device=self.dev, dtype=torch.bfloat16)
            v = torch.randn((1, hkv, S, D), generator=gen, device=self.dev, dtype=torch.bfloat16)
            ks = torch.randn((1, hkv, S), generator=gen, device=self.dev, dtype=torch.float32)
            w = torch.randn((hkv, D), generator=gen, device=self.dev, dtype=torch.float32)
            sets.append({"q": q, "k": k, "v": v, "scores": ks, "weights": w})
        self.head_kinds = None
        return sets, set_bytes

    def make_llm_inputs(self, S, hkv, n_sets):
        """LLM-like inputs from sattn's generator (seed --seed), as n_sets copies at
        distinct addresses (the rotation then still defeats the L2 cache)."""
        torch, H, D = self.torch, self.H, self.D
        gdir = os.path.join(self.tmp, f"llm-S{S}-kv{hkv}")
        self.oracle.run([DENSE_FILE if os.path.isfile(DENSE_FILE) else self.patterns[0].path,
                         f"--seq-len={S}", f"--heads={H}", f"--kv-heads={hkv}",
                         f"--head-dim={D}", f"--llm-inputs={self.args.seed}",
                         f"--rope-theta={self.args.rope_theta}", "--emit=inputs-npy", "-o", gdir])
        with open(os.path.join(gdir, "inputs.json")) as fh:
            self.head_kinds = json.load(fh).get("head_kinds")
        base = {}
        for name, key, dtype in (("q", "q", torch.bfloat16), ("k", "k", torch.bfloat16),
                                 ("v", "v", torch.bfloat16), ("key_score", "scores", torch.float32),
                                 ("weights", "weights", torch.float32)):
            path = os.path.join(gdir, name + ".npy")
            base[key] = read_npy(path, "<f4").to(self.dev).to(dtype).contiguous()
            os.remove(path)
        shutil.rmtree(gdir, ignore_errors=True)
        return [base] + [{key: t.clone() for key, t in base.items()} for _ in range(n_sets - 1)]

    # -- SDPA ---------------------------------------------------------------
    def run_sdpa(self, S, hkv, sets):
        torch = self.torch
        from torch.nn.attention import SDPBackend, sdpa_kernel
        F = torch.nn.functional
        gqa = hkv != self.H
        res = {}
        for label, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                               ("cudnn", SDPBackend.CUDNN_ATTENTION)):
            entry = {"backend": label}
            mode = "enable_gqa" if gqa else "mha"
            try:
                with sdpa_kernel([backend]):
                    def call(i, expanded=None):
                        s = sets[i]
                        if expanded is not None:
                            return F.scaled_dot_product_attention(
                                s["q"], expanded[i][0], expanded[i][1], is_causal=True)
                        if gqa:
                            return F.scaled_dot_product_attention(
                                s["q"], s["k"], s["v"], is_causal=True, enable_gqa=True)
                        return F.scaled_dot_product_attention(s["q"], s["k"], s["v"], is_causal=True)
                    expanded = None
                    try:
                        call(0)
                    except RuntimeError as e:
                        if not gqa:
                            raise
                        # Backend without GQA: materialise repeated k/v (not timed).
                        mode = f"expanded k/v ({str(e).splitlines()[0][:80]})"
                        g = self.H // hkv
                        expanded = [(s["k"].repeat_interleave(g, 1), s["v"].repeat_interleave(g, 1))
                                    for s in sets]
                        call(0, expanded)
                    t = time_cuda(torch, lambda i: call(i, expanded), len(sets), self.args.warmup,
                                  self.args.iters, self.args.max_measure_s, self.args.min_iters,
                                  deadline=self.deadline)
                    entry.update(timing_record(t))
                    del t
                    entry["gqa"] = mode
                    del expanded
            except Exception as e:  # noqa: BLE001
                entry["error"] = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
            res[label] = entry
        torch.cuda.empty_cache()
        return res

    # -- oracle work for a group ----------------------------------------------
    def plan_heads(self, info, S):
        """(number of heads whose block lists Flex uses, strategy)."""
        a = self.args
        if not info.dynamic and not info.head_dependent:
            n = 1
        else:
            if a.flex_heads == "all":
                n = self.H
            elif a.flex_heads == "auto":
                n = self.H if S <= 32768 else min(self.H, 8)
            else:
                n = max(1, min(self.H, int(a.flex_heads)))
        if info.closed_ok:
            return n, "closed"
        dense_n = int(a.dense_mask_gib * (1 << 30)) // (S * S)
        dense_n = min(dense_n, (2 ** 31 - 1) // (S * S))  # keep Flex's int32 indexing safe
        if dense_n >= 1:
            return min(n, dense_n), "oracle"
        return n, "approx"

    def prepare_group(self, S, hkv, sets, todo, kind="random"):
        """Writes the inputs the oracle needs and runs sattn-compile for every pattern of
        the group at once (in parallel). Returns {pattern: plan dict}."""
        D, H = self.D, self.H
        group = H // hkv
        gdir = os.path.join(self.tmp, f"S{S}-kv{hkv}-{kind}")
        os.makedirs(gdir, exist_ok=True)
        s0 = sets[0]
        written = set()

        def npy_file(tensor, index):
            """Slice `index` of set 0's tensor (q, k, v, scores: axis 1; weights:
            axis 0) as a float32 .npy, written once."""
            p = os.path.join(gdir, f"{tensor}{index}.npy")
            if p not in written:
                t = s0[tensor]
                write_npy_f32(p, t[index:index + 1] if tensor == "weights"
                              else t[:, index:index + 1])
                written.add(p)
            return p

        def input_flags(info, h, q, k, v=False):
            """The input flags of head h: its q, and its KV head's k, v, key scores and
            weights, as asked and as the pattern reads them."""
            g = h // group
            flags = [f"--q={npy_file('q', h)}"] if q else []
            if k:
                flags.append(f"--k={npy_file('k', g)}")
            if v:
                flags.append(f"--v={npy_file('v', g)}")
            if info.needs_scores:
                flags.append(f"--key-score={npy_file('scores', g)}")
            if info.needs_weights:
                flags.append(f"--weights={npy_file('weights', g)}")
            return flags

        plans, jobs = {}, []
        t0 = time.time()
        check = (self.args.check_masks_max_seq > 0 and S <= self.args.check_masks_max_seq
                 and self.flex is not None)
        for info in todo:
            n, strategy = self.plan_heads(info, S)
            pdir = os.path.join(gdir, info.name)
            os.makedirs(pdir, exist_ok=True)
            plan = {"heads": n, "strategy": strategy, "json": [], "masks": [], "check": None,
                    "recall": []}
            # Dynamic patterns: one process per head (the oracle is single-threaded), fed
            # that head's q and its kv head's k / key scores. Static patterns: one call;
            # n = 1 unless the pattern may read the head index (keep where).
            units = [(h, 1) for h in range(n)] if info.dynamic else [(0, n)]
            for h0, cnt in units:
                argv = [info.path, f"--seq-len={S}", f"--head-dim={D}", f"--heads={cnt}"]
                if info.pattern_name:
                    argv.append(f"--pattern={info.pattern_name}")
                if info.dynamic:
                    argv += input_flags(info, h0, info.needs_q, info.needs_k)
                else:
                    argv += ["--kv-heads=1", "--random-inputs=1"]
                jpath = os.path.join(pdir, f"blocks{h0}.json")
                plan["json"].append(jpath)
                jobs.append((info.name, argv + ["--emit=blocks-json", "-o", jpath]))
                mpath = os.path.join(pdir, f"mask{h0}.npy")
                if strategy == "oracle" and self.flex is not None:
                    plan["masks"].append(mpath)
                    jobs.append((info.name, argv + ["--emit=mask-npy", "-o", mpath]))
                    if check and h0 == 0:
                        plan["check"] = mpath
                elif check and h0 == 0 and cnt == 1:
                    plan["check"] = mpath
                    jobs.append((info.name, argv + ["--emit=mask-npy", "-o", mpath]))
            # Recall of the first heads (the oracle is float64 on the CPU: one process
            # per head), on the inputs the kernels see (bf16 values, as float32).
            if S <= self.args.recall_max_seq:
                for h in range(min(H, self.args.recall_heads)):
                    argv = [info.path, f"--seq-len={S}", f"--head-dim={D}", "--heads=1"]
                    argv += input_flags(info, h, True, True, True)
                    if info.pattern_name:
                        argv.append(f"--pattern={info.pattern_name}")
                    rpath = os.path.join(pdir, f"recall{h}.json")
                    plan["recall"].append(rpath)
                    jobs.append((info.name, argv + ["--emit=recall-json", "-o", rpath]))
            plans[info.name] = plan
        log(f"S={human_s(S)} Hkv={hkv}: inputs written ({len(written)} files, "
            f"{time.time() - t0:.1f}s); running {len(jobs)} sattn-compile jobs on "
            f"{self.args.jobs} workers")
        t0 = time.time()
        errors = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, self.args.jobs)) as ex:
            futs = [(ex.submit(self.oracle.run, argv), name) for name, argv in jobs]
            for f, name in futs:
                try:
                    f.result()
                except Exception as e:  # noqa: BLE001
                    errors.setdefault(name, str(e))
        for name, msg in errors.items():
            plans[name]["error"] = msg
        for p in written:
            try:
                os.remove(p)
            except OSError:
                pass
        log(f"S={human_s(S)} Hkv={hkv}: oracle done in {time.time() - t0:.1f}s")
        return plans

    # -- sattn ----------------------------------------------------------------
    def sattn_kernel(self, info, hkv):
        key = (info.name, hkv)
        if key not in self.kernels:
            try:
                t0 = time.perf_counter()
                pattern = self.sattn.Pattern.from_file(info.path, name=info.pattern_name)
                k = pattern.compile(heads=self.H, kv_heads=hkv, head_dim=self.D,
                                    dtype="bf16", backend="cuda")
                wall = (time.perf_counter() - t0) * 1e3
                self.kernels[key] = (k, {"compile_ms": k.compile_ms,
                                         "origin": k.origin.replace(" ", "-"),
                                         "wall_ms": wall, "first_use": True})
            except Exception as e:  # noqa: BLE001
                self.kernels[key] = f"compile error: {e}"
        v = self.kernels[key]
        if isinstance(v, str):
            return None, v
        info_d = dict(v[1])
        v[1]["first_use"] = False
        return v[0], info_d

    # -- one case -------------------------------------------------------------
    def run_case(self, info, S, hkv, sets, plan, sdpa, kind="random"):
        torch, H, D = self.torch, self.H, self.D
        a = self.args
        gqa = hkv != H
        row = {"pattern": info.name, "inputs": kind, "S": S, "Hkv": hkv, "H": H, "D": D, "B": 1,
               "block": info.block, "sets": len(sets), "flex_heads": plan["heads"],
               "flex_mask": plan["strategy"], "notes": []}
        if plan["strategy"] == "approx":
            row["notes"].append(f"flex mask is a superset inside partial blocks "
                                f"({info.closed_why}; no oracle token mask at this size): "
                                f"timing only, no output check")
        if plan["strategy"] == "oracle":
            row["notes"].append(f"flex mask from the oracle's token mask ({info.closed_why})")
        if plan["heads"] < H and (info.dynamic or info.head_dependent):
            n = plan["heads"]
            which = "head 0" if n == 1 else f"heads 0-{n - 1}"
            row["notes"].append(f"Flex uses the block lists of {which} for head h as h % {n}"
                                + ("" if plan["strategy"] == "approx"
                                   else f"; outputs compared on {which}"))

        # Block lists -> density, BlockMask.
        blocks = None
        if "error" in plan:
            row["notes"].append(f"sattn-compile failed: {plan['error'][:300]}")
            self.any_fail = True
        else:
            t0 = time.time()
            try:
                docs = [load_blocks_json(p) for p in plan["json"]]
                blocks = BlockLists(torch, docs, S, info.block)
                del docs
            except Exception as e:  # noqa: BLE001
                row["notes"].append(f"cannot read block lists: {e}")
                self.any_fail = True
            row["blocks_read_s"] = round(time.time() - t0, 3)
        if plan["recall"] and "error" not in plan:
            try:
                row["recall"] = summarize_recall([load_blocks_json(p) for p in plan["recall"]],
                                                 self.head_kinds)
            except Exception as e:  # noqa: BLE001
                row["notes"].append(f"cannot read recall reports: {e}")
                self.any_fail = True
        elif S > a.recall_max_seq:
            row["notes"].append(f"no recall above --recall-max-seq {a.recall_max_seq}")
        flops_eq = 4.0 * H * D * S * (S + 1) / 2  # B = 1
        if blocks is not None:
            row["block_density"] = blocks.block_density()
            row["token_causal_density"] = statistics.mean(blocks.token_causal_density)
            row["computed_tiles_per_head"] = blocks.computed_tiles()
            row["full_tiles_per_head"] = statistics.mean(blocks.full_tiles)
            row["partial_tiles_per_head"] = statistics.mean(blocks.partial_tiles)
            row["computed_pairs_per_head"] = blocks.computed_tiles() * info.block * info.block
        flops_comp = 4.0 * H * D * row.get("computed_pairs_per_head", 0)

        # sattn.
        sattn_out = None
        if self.sattn is not None:
            kernel, kinfo = self.sattn_kernel(info, hkv)
            if kernel is None:
                row["sattn_error"] = kinfo
                self.any_fail = True
            else:
                row["sattn_compile"] = kinfo
                try:
                    def call(i, timed=False):
                        s = sets[i]
                        kw = {"key_score": s["scores"] if info.needs_scores else None,
                              "score_weights": s["weights"] if info.needs_weights else None}
                        run = kernel.timed if timed else kernel
                        return run(s["q"], s["k"], s["v"], **kw)

                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    sattn_out, sel, att = call(0, timed=True)
                    first_s = time.perf_counter() - t0
                    row["sattn_first_run"] = {"wall_ms": first_s * 1e3,
                                              "selection_ms": sel, "attention_ms": att}
                    t = time_cuda(torch, call, len(sets), a.warmup, a.iters, a.max_measure_s,
                                  a.min_iters, deadline=self.deadline, first_call_s=first_s)
                    row["sattn"] = timing_record(t)
                    if t["ms"] < 1000:
                        _, sel, att = call(0, timed=True)
                        row["sattn_warm_split"] = {"selection_ms": sel, "attention_ms": att}
                    torch.cuda.synchronize()
                    if t["last0"] is not None:
                        sattn_out = t["last0"]
                    del t
                except Exception as e:  # noqa: BLE001
                    row["sattn_error"] = f"run error: {e}"
                    self.any_fail = True

        # Flex.
        flex_out = None
        if self.flex is None:
            row["flex_error"] = self.flex_error or "skipped (--skip-flex)"
        elif blocks is not None:
            try:
                tables = {}
                t0 = time.time()
                n = plan["heads"]
                if plan["strategy"] == "oracle":
                    dense = torch.empty((n, S, S), dtype=torch.bool, device=self.dev)
                    h = 0
                    for p in plan["masks"]:
                        m = read_npy_u8(p).view(-1, S, S)
                        dense[h:h + m.shape[0]].copy_(m.to(self.dev).bool())
                        h += m.shape[0]
                        del m
                    if h != n:
                        raise RuntimeError(f"oracle token masks hold {h} heads, expected {n}")
                    tables["dense"] = dense
                if plan["strategy"] == "closed" and info.topk is not None:
                    tk = info.topk
                    if tk["source"] == "key_score":
                        u = sets[0]["scores"][0]
                    else:  # linear: u[g, j] = k_j . w[g] in fp32
                        u = torch.einsum("gsd,gd->gs", sets[0]["k"][0].float(), sets[0]["weights"])
                    drop = topk_drop_table(torch, u.float().contiguous(), tk["k"], tk["sink"])
                    g_of = (torch.arange(H, device=self.dev) % n) // (H // hkv)
                    tables["drop"] = drop[g_of].contiguous()
                    del drop
                mask_mod = make_mask_mod(info, plan["strategy"], S, n, tables)
                bm = blocks.block_mask(torch, self.flex, H, mask_mod, self.dev)
                torch.cuda.synchronize()
                row["flex_mask_build_s"] = round(time.time() - t0, 3)
                # Mask check against the oracle's token mask of head 0.
                if plan["check"] is not None and os.path.exists(plan["check"]):
                    ref = read_npy_u8(plan["check"]).view(-1, S, S)[0].to(self.dev).bool()
                    eff = effective_mask(torch, blocks, mask_mod, S, self.dev, head=0)
                    mism = int((eff != ref).sum())
                    row["mask_check"] = {"head": 0, "mismatches": mism, "pairs": S * S,
                                         "missing": int((ref & ~eff).sum()),
                                         "extra": int((eff & ~ref).sum())}
                    if mism and plan["strategy"] != "approx":
                        self.any_fail = True
                    del ref, eff
                kopts = None
                if info.block < 128:
                    kopts = {"BLOCK_M": info.block, "BLOCK_N": info.block}
                row["flex_kernel_options"] = kopts

                def flex_call(i):
                    s = sets[i]
                    kw = {"block_mask": bm}
                    if gqa:
                        kw["enable_gqa"] = True
                    if kopts:
                        kw["kernel_options"] = kopts
                    return self.flex_compiled(s["q"], s["k"], s["v"], **kw)

                torch.cuda.synchronize()
                t0 = time.perf_counter()
                flex_out = flex_call(0)
                torch.cuda.synchronize()
                row["flex_first_call_ms"] = (time.perf_counter() - t0) * 1e3
                t = time_cuda(torch, flex_call, len(sets), a.warmup, a.iters, a.max_measure_s,
                              a.min_iters, deadline=self.deadline)
                row["flex"] = timing_record(t)
                if t["last0"] is not None:
                    flex_out = t["last0"]
                del t, tables, bm
            except Exception as e:  # noqa: BLE001
                msg = str(e).strip().splitlines()
                row["flex_error"] = (msg[0] if msg else type(e).__name__)[:400]
                self.any_fail = True
                log(f"flex error ({info.name} S={S} Hkv={hkv}): {e}")
        # Files of this pattern that were not consumed.
        for p in plan.get("masks", []) + ([plan["check"]] if plan.get("check") else []):
            if p and os.path.exists(p):
                os.remove(p)

        # Checks.
        if sattn_out is not None and flex_out is not None and plan["strategy"] != "approx":
            heads = H if not (info.dynamic or info.head_dependent) else min(H, plan["heads"])
            row["check"] = compare_outputs(torch, sattn_out, flex_out, heads)
            row["check"]["against"] = "flex"
            if not row["check"]["ok"]:
                self.any_fail = True
        if info.name == DENSE and sattn_out is not None:
            try:
                from torch.nn.attention import SDPBackend, sdpa_kernel
                F = torch.nn.functional
                s = sets[0]
                # FlashAttention only: the math backend would need S x S scores at 128K.
                with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                    try:
                        ref = F.scaled_dot_product_attention(s["q"], s["k"], s["v"], is_causal=True,
                                                             enable_gqa=gqa)
                    except RuntimeError:
                        if not gqa:
                            raise
                        g = H // hkv
                        ref = F.scaled_dot_product_attention(
                            s["q"], s["k"].repeat_interleave(g, 1), s["v"].repeat_interleave(g, 1),
                            is_causal=True)
                row["check_vs_sdpa"] = compare_outputs(torch, sattn_out, ref, H)
                if not row["check_vs_sdpa"]["ok"]:
                    self.any_fail = True
                del ref
            except Exception as e:  # noqa: BLE001
                row["notes"].append(f"sattn vs SDPA check failed to run: {e}")
        del sattn_out, flex_out

        # Derived numbers.
        best_sdpa = min((e["ms"] for e in sdpa.values() if "ms" in e), default=None)
        st = row.get("sattn", {}).get("ms")
        ft = row.get("flex", {}).get("ms")
        row["sattn_over_flex"] = st / ft if st and ft else None
        row["sattn_over_sdpa"] = st / best_sdpa if st and best_sdpa else None
        row["sattn_tflops_computed"] = flops_comp / (st * 1e9) if st and flops_comp else None
        row["sattn_tflops_dense_eq"] = flops_eq / (st * 1e9) if st else None
        row["flex_tflops_computed"] = flops_comp / (ft * 1e9) if ft and flops_comp else None
        row["flex_tflops_dense_eq"] = flops_eq / (ft * 1e9) if ft else None
        torch.cuda.empty_cache()
        return row

    def print_row(self, row, sdpa):
        chk = row.get("check")
        if chk is not None:
            verdict = "PASS" if chk["ok"] else "FAIL"
        elif row.get("flex_mask") == "approx" and "flex" in row:
            verdict = "n/a"
        else:
            verdict = "-"
        mc = row.get("mask_check")
        if mc is not None and mc["mismatches"] and row.get("flex_mask") != "approx":
            verdict = "MASK!"
        comp = row.get("sattn_compile")
        scomp = None
        if comp:
            scomp = f"{comp['compile_ms']:.0f}" + ("" if comp["origin"] == "built" else "c")
        elif "sattn_error" in row:
            scomp = "err"
        ms_s = fmt_ms(row.get("sattn"))
        ft = row.get("flex")
        ms_f = fmt_ms(ft)
        if "flex_error" in row and not ft:
            ms_f = "err" if self.flex is not None else "-"
        rec = row.get("recall")
        vals = [
            row["pattern"], row.get("inputs", "random"), human_s(row["S"]), row["Hkv"],
            fmt(100 * row["block_density"], ".1f") if "block_density" in row else "-",
            fmt(100 * row["token_causal_density"], ".1f") if "token_causal_density" in row else "-",
            fmt(rec["recall_mean"], ".3f") if rec else "-",
            fmt(rec["recall_p5"], ".3f") if rec else "-",
            ms_s if "sattn_error" not in row else "err", ms_f,
            fmt_ms(sdpa.get("flash"), "n/a"), fmt_ms(sdpa.get("cudnn"), "n/a"),
            fmt(row.get("sattn_over_flex"), ".2f"), fmt(row.get("sattn_over_sdpa"), ".2f"),
            fmt(row.get("sattn_tflops_computed"), ".0f"), fmt(row.get("sattn_tflops_dense_eq"), ".0f"),
            fmt(chk["max_abs"], ".2e") if chk else "-", fmt(chk["rel"], ".2e") if chk else "-",
            verdict, fmt(scomp), fmt(row.get("flex_first_call_ms"), ".0f"),
        ]
        print(table_row(vals), flush=True)
        details = []
        fr = row.get("sattn_first_run")
        if fr:
            details.append(f"sattn 1st run {fr['wall_ms']:.2f} ms wall = selection "
                           f"{fr['selection_ms']:.3f} + attention {fr['attention_ms']:.3f} ms")
        ws = row.get("sattn_warm_split")
        if ws:
            details.append(f"warm split {ws['selection_ms']:.3f} + {ws['attention_ms']:.3f} ms")
        if comp:
            details.append(f"compile {comp['origin']} {comp['compile_ms']:.0f} ms"
                           + ("" if comp["first_use"] else " (kernel reused: S is a run-time value)"))
        if "sattn_error" in row:
            details.append(f"sattn: {row['sattn_error'][:200]}")
        if "flex_error" in row and self.flex is not None:
            details.append(f"flex: {row['flex_error'][:200]}")
        if mc is not None:
            details.append(f"mask check head 0: {mc['mismatches']} mismatching pairs "
                           f"({mc['missing']} missing, {mc['extra']} extra)")
        if "check_vs_sdpa" in row:
            c = row["check_vs_sdpa"]
            details.append(f"sattn vs SDPA rel {c['rel']:.2e} {'PASS' if c['ok'] else 'FAIL'}")
        if rec:
            err = rec["out_rel_err"]
            details.append(f"recall over heads 0-{rec['heads'] - 1} ({rec['rows_sampled']} of "
                           f"{rec['rows_total']} rows): mean {rec['recall_mean']:.4f}, p5 "
                           f"{rec['recall_p5']:.4f}, min {rec['recall_min']:.4f}; output error "
                           f"{'-' if err is None else format(err, '.3g')}; dense cover "
                           f"{100 * rec['dense_cover']:.1f}% of causal blocks")
            if rec.get("recall_by_kind"):
                details.append("recall by head kind: " + ", ".join(
                    f"{k} {v:.3f}" for k, v in rec["recall_by_kind"].items()))
        if self.flex is not None:
            details.append(f"flex mask: {row['flex_mask']}, heads {row['flex_heads']}")
            details += row["notes"]
        else:
            details += [n for n in row["notes"] if n.startswith("sattn-compile")
                        or n.startswith("cannot read")]
        for d in details:
            print(f"    {d}", flush=True)

    # -- main loop ------------------------------------------------------------
    def run(self):
        for S in self.args.seq_lens:
            for hkv in self.args.kv_heads:
                sdpa = None  # dense SDPA does not depend on the inputs: timed once
                for kind in self.args.inputs:
                    sdpa = self.run_group(S, hkv, kind, sdpa)

    def run_group(self, S, hkv, kind, sdpa):
        """Every pattern at (S, hkv) on one kind of inputs; returns the SDPA timings."""
        torch = self.torch
        if self.remaining() < self.estimate(S):
            for info in self.patterns:
                self.skip(info.name, S, hkv, "time budget (--budget-s)", kind)
            return sdpa
        g0 = time.time()
        log(f"S={human_s(S)} Hkv={hkv} {kind}: allocating inputs")
        try:
            sets, set_bytes = self.make_inputs(S, hkv, kind)
        except torch.cuda.OutOfMemoryError as e:
            for info in self.patterns:
                self.skip(info.name, S, hkv, f"out of memory allocating inputs: {e}", kind)
            return sdpa
        except RuntimeError as e:  # the input generator (sattn-compile) failed
            for info in self.patterns:
                self.skip(info.name, S, hkv, f"inputs failed: {str(e)[:300]}", kind)
            self.any_fail = True
            return sdpa
        log(f"S={human_s(S)} Hkv={hkv} {kind}: {len(sets)} input sets of "
            f"{set_bytes / 2**20:.0f} MiB (L2 {self.l2_bytes / 2**20:.0f} MiB)")
        if sdpa is None:
            sdpa = self.run_sdpa(S, hkv, sets)
            self.sdpa[f"{S}/{hkv}"] = sdpa
            for label in ("flash", "cudnn"):
                e = sdpa[label]
                if "ms" in e:
                    log(f"  SDPA {label}: {e['ms']:.3f} ms ({e['gqa']}, n={e['n']})")
                else:
                    log(f"  SDPA {label}: unavailable: {e.get('error')}")
        try:
            plans = self.prepare_group(S, hkv, sets, self.patterns, kind)
        except Exception as e:  # noqa: BLE001
            for info in self.patterns:
                self.skip(info.name, S, hkv, f"oracle inputs failed: {e}", kind)
            del sets
            return sdpa
        for info in self.patterns:
            est = self.estimate(S)
            if self.remaining() < est:
                self.skip(info.name, S, hkv,
                          f"time budget (needs ~{est:.0f}s, {self.remaining():.0f}s left)", kind)
                continue
            c0 = time.time()
            log(f"case {info.name} {kind} S={human_s(S)} Hkv={hkv}")
            try:
                row = self.run_case(info, S, hkv, sets, plans[info.name], sdpa, kind)
            except torch.cuda.OutOfMemoryError as e:
                torch.cuda.empty_cache()
                self.skip(info.name, S, hkv, f"out of memory: {str(e)[:200]}", kind)
                continue
            except Exception as e:  # noqa: BLE001 - a bug here must not stop the run
                traceback.print_exc()
                torch.cuda.empty_cache()
                self.any_fail = True
                self.skip(info.name, S, hkv, f"internal error: {type(e).__name__}: "
                                             f"{str(e)[:200]}", kind)
                continue
            row["case_s"] = round(time.time() - c0, 2)
            self.case_estimate[S] = max(self.case_estimate.get(S, 0.0), time.time() - c0)
            self.results.append(row)
            self.print_row(row, sdpa)
        del sets
        torch.cuda.empty_cache()
        shutil.rmtree(os.path.join(self.tmp, f"S{S}-kv{hkv}-{kind}"), ignore_errors=True)
        log(f"S={human_s(S)} Hkv={hkv} {kind}: group took {time.time() - g0:.1f}s")
        return sdpa


def environment(torch, args):
    env = {"python": platform.python_version(), "torch": torch.__version__,
           "cuda_runtime": torch.version.cuda, "host": platform.node()}
    try:
        import triton
        env["triton"] = triton.__version__
    except Exception:  # noqa: BLE001
        env["triton"] = None
    try:
        env["cudnn"] = torch.backends.cudnn.version()
    except Exception:  # noqa: BLE001
        env["cudnn"] = None
    props = torch.cuda.get_device_properties(0)
    env["gpu"] = torch.cuda.get_device_name(0)
    env["capability"] = f"{props.major}.{props.minor}"
    env["sms"] = props.multi_processor_count
    env["memory_gib"] = round(props.total_memory / 2**30, 1)
    env["l2_bytes"] = getattr(props, "L2_cache_size", None) or 50 * 2**20
    env["driver"] = None
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
            env["driver"] = out.splitlines()[0] if out else None
        except Exception:  # noqa: BLE001
            pass
    if env["driver"] is None:
        try:
            drv = ctypes.c_int()
            ctypes.CDLL("libcuda.so.1").cuDriverGetVersion(ctypes.byref(drv))
            env["driver"] = f"CUDA driver API {drv.value // 1000}.{drv.value % 1000 // 10}"
        except Exception:  # noqa: BLE001
            env["driver"] = "unknown"
    return env


def build_parser():
    p = argparse.ArgumentParser(
        prog="bench/compare.py",
        description="Compare sattn's sparse attention kernels with FlexAttention (same blocks, "
                    "from sattn's own block lists) and dense causal SDPA (FlashAttention, "
                    "cuDNN) on one GPU, in one process. See bench/README.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--patterns", default=",".join(DEFAULT_PATTERNS),
                   help="comma-separated: stock pattern names (patterns/library), 'dense' "
                        "(dense causal), or paths to .sattn/.mlir files")
    p.add_argument("--seq-lens", default="8192,32768,131072",
                   help="sequence lengths S (Sq = Sk), e.g. 8k,32k,128k")
    p.add_argument("--kv-heads", default="32,8", help="key/value head counts Hkv")
    p.add_argument("--heads", type=int, default=32, help="query heads H")
    p.add_argument("--head-dim", type=int, default=128, help="head dim D")
    p.add_argument("--quick", action="store_true", help="S = 8192 only")
    p.add_argument("--json", metavar="OUT.json", help="write every measurement to this file")
    p.add_argument("--lib", default="",
                   help="libsattn.so to use (default: what the sattn package finds, "
                        "build/lib/libsattn.so of this tree)")
    p.add_argument("--bin-dir", default=os.path.join(REPO, "build", "bin"),
                   help="folder holding sattn-compile")
    p.add_argument("--skip-flex", action="store_true", help="do not run FlexAttention")
    p.add_argument("--skip-sattn", action="store_true",
                   help="do not load the sattn library (baselines and block lists only)")
    p.add_argument("--flex-heads", default="auto",
                   help="heads whose block lists (and token masks) the oracle builds for "
                        "dynamic patterns; Flex uses list h %% N for head h. 'auto': all "
                        "heads up to S=32K, 8 above; 'all'; or a number. Static patterns "
                        "always use one list (they do not depend on the head)")
    p.add_argument("--dense-mask-gib", type=float, default=1.0,
                   help="GPU memory for oracle token masks (hip, pbs: N*S*S bytes); at "
                        "sizes where not even one head fits, Flex runs causal-masked partial "
                        "blocks (timing only)")
    p.add_argument("--check-masks-max-seq", type=int, default=8192,
                   help="compare Flex's effective token mask of head 0 with sattn's oracle "
                        "(mask-npy) up to this S; 0 turns the check off")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls before timing")
    p.add_argument("--iters", type=int, default=10, help="timed calls (median reported)")
    p.add_argument("--min-iters", type=int, default=5,
                   help="fewest timed calls when --max-measure-s cuts the count")
    p.add_argument("--max-measure-s", type=float, default=6.0,
                   help="cut the timed calls of one measurement to about this many seconds "
                        "(only slow 128K cases reach it); the count is in the JSON")
    p.add_argument("--sets", type=int, default=0,
                   help="input copies to rotate through (0: enough to exceed 2x L2, at least 2)")
    p.add_argument("--budget-s", type=float, default=560.0,
                   help="wall-clock budget; cases that would not fit are skipped with a reason")
    p.add_argument("--jobs", type=int, default=min(16, os.cpu_count() or 1),
                   help="parallel sattn-compile processes")
    p.add_argument("--seed", type=int, default=1,
                   help="input seed: random normal inputs, and --llm-inputs SEED")
    p.add_argument("--inputs", default="random,llm",
                   help="kinds of inputs, comma-separated: 'random' (standard normal) and "
                        "'llm' (LLM-like: sinks, rotary decay, heavy columns, retrieval "
                        "heads; docs/llm-inputs.md)")
    p.add_argument("--rope-theta", type=float, default=500000.0,
                   help="rotary base of the LLM-like inputs")
    p.add_argument("--recall-max-seq", type=int, default=32768,
                   help="compute attention recall (float64 oracle on the CPU) up to this S")
    p.add_argument("--recall-heads", type=int, default=8,
                   help="heads whose recall is computed (the first N; LLM-like inputs "
                        "cycle through four head kinds, so 8 holds each kind twice)")
    p.add_argument("--warm-cache", action="store_true",
                   help="use the normal sattn kernel cache instead of a fresh one (then the "
                        "compile column shows cache hits, marked 'c')")
    p.add_argument("--tmp-dir", default=None,
                   help="scratch folder for .npy inputs, block lists and masks (default: "
                        "/dev/shm when it has room, else the system temp folder)")
    p.add_argument("--keep-tmp", action="store_true", help="keep the scratch folder")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def main(argv=None):
    global VERBOSE
    args = build_parser().parse_args(argv)
    VERBOSE = not args.quiet
    args.seq_lens = [8192] if args.quick else parse_int_list(args.seq_lens, "--seq-lens")
    args.kv_heads = parse_int_list(args.kv_heads, "--kv-heads")
    args.inputs = [k.strip() for k in args.inputs.split(",") if k.strip()]
    if not args.inputs or any(k not in ("random", "llm") for k in args.inputs):
        fail("--inputs takes 'random', 'llm' or both, comma-separated")
    if args.recall_heads < 0:
        fail("--recall-heads must be >= 0")
    patterns = [p.strip() for p in args.patterns.split(",") if p.strip()]
    if not patterns:
        fail("--patterns: empty list")
    if args.flex_heads not in ("auto", "all"):
        try:
            if int(args.flex_heads) < 1:
                raise ValueError
        except ValueError:
            fail("--flex-heads takes 'auto', 'all' or a positive number")
    for hkv in args.kv_heads:
        if hkv < 1 or args.heads % hkv:
            fail(f"--kv-heads {hkv} must divide --heads {args.heads}")
    if args.iters < 1 or args.warmup < 0:
        fail("--iters must be >= 1 and --warmup >= 0")
    if args.tmp_dir is None:
        try:
            st = os.statvfs("/dev/shm")
            if st.f_bavail * st.f_frsize > 24 * 2**30 and os.access("/dev/shm", os.W_OK):
                args.tmp_dir = "/dev/shm"
        except OSError:
            pass

    try:
        import torch
    except Exception as e:  # noqa: BLE001
        fail(f"PyTorch is not importable ({e}); this benchmark needs PyTorch with CUDA")
    if not torch.cuda.is_available():
        fail("no CUDA device (torch.cuda.is_available() is False); run on a GPU machine")

    env = environment(torch, args)
    print(f"GPU: {env['gpu']} (sm_{env['capability'].replace('.', '')}, {env['sms']} SMs, "
          f"{env['memory_gib']} GiB, L2 {env['l2_bytes'] / 2**20:.0f} MiB)")
    print(f"driver {env['driver']}, CUDA runtime {env['cuda_runtime']}, cuDNN {env['cudnn']}, "
          f"torch {env['torch']}, triton {env['triton']}, python {env['python']}")
    print(f"cases: patterns {','.join(patterns)}; S {','.join(human_s(s) for s in args.seq_lens)}; "
          f"Hkv {','.join(map(str, args.kv_heads))}; B=1 H={args.heads} D={args.head_dim} bf16; "
          f"inputs {','.join(args.inputs)} (seed {args.seed})")

    bench = Bench(args, torch)
    bench.l2_bytes = env["l2_bytes"]
    exit_code = 0
    try:
        bench.setup(patterns)
        print(f"sattn: {'not loaded (--skip-sattn)' if bench.sattn is None else bench.sattn.library_path()}; "
              f"kernel cache {'normal' if args.warm_cache else 'fresh (cold compiles)'}; "
              f"flex: {'off' if bench.flex is None else 'torch.compile(flex_attention)'}")
        print(f"timing: {args.warmup} warm-up + median of {args.iters} CUDA-event-timed calls "
              f"rotating over input copies; times in ms; ratios < 1 mean sattn is faster\n")
        print(table_header(), flush=True)
        bench.run()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        exit_code = 130
    finally:
        bench.close()

    n_pass = sum(1 for r in bench.results if r.get("check", {}).get("ok"))
    n_fail = sum(1 for r in bench.results if "check" in r and not r["check"]["ok"])
    n_mask = sum(1 for r in bench.results
                 if r.get("mask_check", {}).get("mismatches") and r.get("flex_mask") != "approx")
    n_err = sum(1 for r in bench.results if "sattn_error" in r or
                ("flex_error" in r and bench.flex is not None))
    print(f"\n{len(bench.results)} cases run, {len(bench.skipped)} skipped; output checks "
          f"{n_pass} passed, {n_fail} failed; mask mismatches {n_mask}; cases with errors "
          f"{n_err}; wall {time.time() - START:.0f}s")
    print("columns: inputs = random normal or LLM-like (docs/llm-inputs.md); blk% = computed "
          "blocks / causal blocks; dens% = attended pairs / causal pairs; recall, rec-p5 = mean "
          "over heads of the per-head recall mean and 5th percentile (docs/patterns.md, "
          "'Attention recall'; '-' above --recall-max-seq); s/flex, s/sdpa = sattn time over "
          "Flex / best SDPA time; TF/s = 4*H*D*pairs/t on computed blocks, TF/s-eq = dense "
          "causal equivalent; '*' = fewer than 10 timed calls; s-comp = sattn cold compile "
          "(c = cache hit); flex-1st = first Flex call incl. torch.compile")
    if args.json:
        doc = {"environment": env, "args": {k: v for k, v in vars(args).items()},
               "sdpa": bench.sdpa, "cases": bench.results, "skipped": bench.skipped,
               "wall_s": time.time() - START}
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1, default=str)
        print(f"wrote {args.json}")
    if exit_code:
        return exit_code
    return 1 if (bench.any_fail or n_fail or n_mask) else 0


if __name__ == "__main__":
    sys.exit(main())
