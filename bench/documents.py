#!/usr/bin/env python3
"""Document-masked attention against FlexAttention, on the GPU (issue 18's
benchmark of run-time inputs).

Several documents lie packed along one sequence; a token attends causally
within its own document. sattn runs examples/patterns/document_ids.sattn
with the document ids given at run time (`inputs={"doc": ids}`: one compiled
kernel for every layout); Flex runs the same mask as a mask_mod over the
same ids, its BlockMask built once per layout (its build time is reported
apart and excluded from its attention time, as bench/compare.py does). Both
run on the same inputs; their outputs are compared, and each time is the
median of CUDA-event times over calls rotating among input sets.

    python3 bench/documents.py --seq-lens 32768,131072 --docs 16 \\
        --lib .devpack/libsattn.so --json out/documents.json

Prints one line per (length, layout, implementation) and a table last; exits
non-zero when an output differs beyond docs/patterns.md's bf16 tolerance.
"""
import argparse
import json
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATTERN = os.path.join(REPO, "examples", "patterns", "document_ids.sattn")


def parse_ints(text, name):
    try:
        values = [int(x) for x in text.split(",") if x]
    except ValueError:
        sys.exit(f"documents.py: {name} must be integers separated by commas, "
                 f"got {text!r}")
    if not values or min(values) < 1:
        sys.exit(f"documents.py: {name} must be positive, got {text!r}")
    return values


def document_ids(torch, seq, docs, layout, device, seed):
    """[1, seq] int32 ids: `docs` equal documents, or random lengths."""
    if layout == "equal":
        lengths = [seq // docs + (1 if d < seq % docs else 0)
                   for d in range(docs)]
    else:
        g = torch.Generator().manual_seed(seed)
        cuts = sorted(torch.randperm(seq - 1, generator=g)[:docs - 1].add(1)
                      .tolist())
        lengths = [b - a for a, b in zip([0] + cuts, cuts + [seq])]
    ids = torch.repeat_interleave(torch.arange(docs, dtype=torch.int32),
                                  torch.tensor(lengths))
    return ids[None].to(device), lengths


def time_calls(torch, fn, n_sets, warmup, iters, max_s):
    """Median, min and count of CUDA-event times of fn(i), i rotating over
    the input sets, after `warmup` calls; fewer calls when they would take
    more than max_s."""
    for i in range(warmup):
        fn(i % n_sets)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn(0)
    torch.cuda.synchronize()
    per_call = max(time.perf_counter() - t0, 1e-6)
    n = max(3, min(iters, int(max_s / per_call)))
    events = [(torch.cuda.Event(enable_timing=True),
               torch.cuda.Event(enable_timing=True)) for _ in range(n)]
    for j, (start, end) in enumerate(events):
        start.record()
        fn(j % n_sets)
        end.record()
    torch.cuda.synchronize()
    times = [s.elapsed_time(e) for s, e in events]
    return {"ms": statistics.median(times), "min": min(times), "n": n}


def relative_l2(torch, a, b):
    a, b = a.float(), b.float()
    return float(torch.linalg.vector_norm(a - b) /
                 torch.linalg.vector_norm(b).clamp_min(1e-30))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seq-lens", default="32768",
                    help="total tokens per call (default: 32768)")
    ap.add_argument("--docs", default="16",
                    help="documents per sequence (default: 16)")
    ap.add_argument("--layouts", default="equal,random",
                    help="equal lengths and/or random lengths (default: both)")
    ap.add_argument("--heads", type=int, default=32, help="Hq (default: 32)")
    ap.add_argument("--kv-heads", type=int, default=8, help="Hkv (default: 8)")
    ap.add_argument("--head-dim", type=int, default=128,
                    help="D (default: 128)")
    ap.add_argument("--sets", type=int, default=3,
                    help="input sets the timed calls rotate over (default: 3)")
    ap.add_argument("--warmup", type=int, default=3,
                    help="untimed calls (default: 3)")
    ap.add_argument("--iters", type=int, default=20,
                    help="timed calls at most (default: 20)")
    ap.add_argument("--max-s", type=float, default=10.0,
                    help="seconds of timed calls per measurement at most "
                         "(default: 10)")
    ap.add_argument("--lib", default="",
                    help="libsattn.so to use (default: the build's)")
    ap.add_argument("--json", default="", help="write the results here")
    args = ap.parse_args()
    seqs = parse_ints(args.seq_lens, "--seq-lens")
    docs_list = parse_ints(args.docs, "--docs")
    layouts = [x for x in args.layouts.split(",") if x]
    if any(x not in ("equal", "random") for x in layouts):
        sys.exit("documents.py: --layouts takes equal and random")

    import torch
    from torch.nn.attention.flex_attention import (create_block_mask,
                                                   flex_attention)
    if not torch.cuda.is_available():
        print("documents.py: skipped: no CUDA device")
        return 0
    if args.lib:
        os.environ["SATTN_LIBRARY"] = args.lib
    # The GPU path of run-time inputs is a preview until the suite passes it.
    os.environ.setdefault("SATTN_GPU_PREVIEW", "1")
    sys.path.insert(0, os.path.join(REPO, "python"))
    import sattn

    device = "cuda"
    flex = torch.compile(flex_attention, dynamic=False)
    H, G, D = args.heads, args.kv_heads, args.head_dim
    pattern = sattn.Pattern.from_file(PATTERN)
    results, failed = [], 0
    for S in seqs:
        sets = []
        for i in range(args.sets):
            g = torch.Generator(device=device).manual_seed(100 + i)
            q = torch.randn(1, H, S, D, device=device, dtype=torch.bfloat16,
                            generator=g)
            k = torch.randn(1, G, S, D, device=device, dtype=torch.bfloat16,
                            generator=g)
            v = torch.randn(1, G, S, D, device=device, dtype=torch.bfloat16,
                            generator=g)
            sets.append((q, k, v))
        for docs in docs_list:
            for layout in layouts:
                ids, lengths = document_ids(torch, S, docs, layout, device, 7)
                row = {"seq": S, "docs": docs, "layout": layout,
                       "lengths": lengths}
                doc = ids[0]

                def mask_mod(b, h, q_idx, kv_idx):
                    return (doc[q_idx] == doc[kv_idx]) & (q_idx >= kv_idx)

                torch.cuda.synchronize()
                t0 = time.perf_counter()
                block_mask = create_block_mask(mask_mod, None, None, S, S,
                                               device=device)
                torch.cuda.synchronize()
                row["flex_mask_ms"] = (time.perf_counter() - t0) * 1e3

                def run_flex(i):
                    q, k, v = sets[i]
                    return flex(q, k, v, block_mask=block_mask,
                                enable_gqa=True)

                def run_sattn(i):
                    q, k, v = sets[i]
                    return sattn.attention(q, k, v, pattern, enable_gqa=True,
                                           inputs={"doc": ids})

                out_s, out_f = run_sattn(0), run_flex(0)
                torch.cuda.synchronize()
                row["rel_l2"] = relative_l2(torch, out_s, out_f)
                row["ok"] = row["rel_l2"] <= 1e-2
                failed += not row["ok"]
                del out_s, out_f
                row["flex"] = time_calls(torch, run_flex, args.sets,
                                         args.warmup, args.iters, args.max_s)
                row["sattn"] = time_calls(torch, run_sattn, args.sets,
                                          args.warmup, args.iters, args.max_s)
                row["ratio"] = row["sattn"]["ms"] / row["flex"]["ms"]
                print(f"S {S} docs {docs} {layout}: sattn "
                      f"{row['sattn']['ms']:.3f} ms, flex "
                      f"{row['flex']['ms']:.3f} ms (mask "
                      f"{row['flex_mask_ms']:.1f} ms), ratio "
                      f"{row['ratio']:.2f}, rel L2 {row['rel_l2']:.2e}",
                      flush=True)
                results.append(row)
    print()
    print("| S | docs | lengths | sattn ms | Flex ms | sattn / Flex | "
          "Flex BlockMask ms | rel L2 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['seq']} | {r['docs']} | {r['layout']} | "
              f"{r['sattn']['ms']:.3f} | {r['flex']['ms']:.3f} | "
              f"{r['ratio']:.2f} | {r['flex_mask_ms']:.1f} | "
              f"{r['rel_l2']:.1e}{'' if r['ok'] else ' FAIL'} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(),
                       "heads": H, "kv_heads": G, "head_dim": D,
                       "results": results}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
