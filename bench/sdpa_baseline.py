#!/usr/bin/env python3
"""PyTorch SDPA dense causal attention timings, the baseline next to
sattn-bench in the same device run (issue 7's first timing).

  python3 bench/sdpa_baseline.py --seq-len 32768 --heads 32 --head-dim 128

Median of --iters runs after --warmup runs, CUDA events, bf16, B=1; flash
and cuDNN backends when available.
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seq-len", type=int, default=32768)
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=0)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iters", type=int, default=10)
    args = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError as e:
        print(f"sdpa_baseline: PyTorch is not available: {e}", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("sdpa_baseline: no CUDA device", file=sys.stderr)
        return 2
    s, h, d = args.seq_len, args.heads, args.head_dim
    g = args.kv_heads or h
    q = torch.randn(1, h, s, d, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(1, g, s, d, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(1, g, s, d, device="cuda", dtype=torch.bfloat16)
    flops = 4.0 * h * d * s * (s + 1) / 2
    results = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
               "seq_len": s, "heads": h, "kv_heads": g, "head_dim": d}
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                          ("cudnn", SDPBackend.CUDNN_ATTENTION)):
        try:
            with sdpa_kernel(backend):
                times = []
                for i in range(args.warmup + args.iters):
                    start = torch.cuda.Event(enable_timing=True)
                    end = torch.cuda.Event(enable_timing=True)
                    start.record()
                    F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                   enable_gqa=g != h)
                    end.record()
                    torch.cuda.synchronize()
                    if i >= args.warmup:
                        times.append(start.elapsed_time(end))
            ms = sorted(times)[len(times) // 2]
            results[name + "_ms"] = ms
            results[name + "_tflops"] = flops / (ms * 1e-3) / 1e12
        except Exception as e:  # a backend may be unavailable
            results[name + "_error"] = str(e).splitlines()[0]
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
