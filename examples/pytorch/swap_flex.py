#!/usr/bin/env python3
"""A small causal self-attention block written for FlexAttention, and the
same block with sattn: one line differs (marked below). Both compute
StreamingLLM-style attention (64 sink tokens, a 256-token window); the
script runs both and compares them.

    python3 examples/pytorch/swap_flex.py [--device cuda] [--seq-len 2048]

Needs torch >= 2.5 (torch.nn.attention.flex_attention) and sattn
(PYTHONPATH=python, SATTN_LIBRARY=build/lib/libsattn.so from the source
tree; README.md, "Python").
"""

import argparse
import sys

import torch
from torch import nn

import sattn

try:
    from torch.nn.attention.flex_attention import (create_block_mask,
                                                   flex_attention)
except ImportError as e:
    sys.exit(f"swap_flex.py: needs torch >= 2.5 with FlexAttention ({e})")

SINK, WINDOW = 64, 256


def streaming(b, h, q_idx, kv_idx):
    """The stock pattern "streaming" as a Flex mask_mod."""
    return (q_idx >= kv_idx) & ((kv_idx < SINK) | (q_idx - kv_idx < WINDOW))


class SelfAttention(nn.Module):
    def __init__(self, dim, heads, kv_heads, use_sattn):
        super().__init__()
        self.heads, self.kv_heads = heads, kv_heads
        self.head_dim = dim // heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * kv_heads * self.head_dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)
        self.use_sattn = use_sattn

    def forward(self, x, block_mask=None):
        b, s, _ = x.shape
        q = self.q(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)
        k, v = self.kv(x).view(b, s, 2, self.kv_heads,
                               self.head_dim).permute(2, 0, 3, 1, 4)
        if not self.use_sattn:
            y = flex_attention(q, k, v, block_mask=block_mask,
                               enable_gqa=True)
        else:
            # The one line that changes:
            y = sattn.attention(q, k, v, "streaming", enable_gqa=True,
                                sink=SINK, window=WINDOW)
        return self.out(y.transpose(1, 2).reshape(b, s, -1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available()
                        else "cpu")
    parser.add_argument("--seq-len", type=int, default=2048)
    args = parser.parse_args()
    torch.manual_seed(0)
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    flex_block = SelfAttention(1024, 8, 2, use_sattn=False)
    sattn_block = SelfAttention(1024, 8, 2, use_sattn=True)
    sattn_block.load_state_dict(flex_block.state_dict())
    for block in (flex_block, sattn_block):
        block.to(device=args.device, dtype=dtype)
    x = torch.randn(1, args.seq_len, 1024, device=args.device, dtype=dtype)
    block_mask = create_block_mask(streaming, None, None, args.seq_len,
                                   args.seq_len, device=args.device)
    with torch.no_grad():
        want = flex_block(x, block_mask)
        got = sattn_block(x)
    error = ((got.double() - want.double()).norm() / want.double().norm())
    tolerance = 2e-2 if dtype == torch.bfloat16 else 1e-4
    print(f"{args.device}, {dtype}, {args.seq_len} tokens: relative L2 "
          f"difference {error.item():.2e} (tolerance {tolerance:g})")
    if error.item() > tolerance:
        print("DIFFERENT outputs")
        return 1
    print("same output from FlexAttention and sattn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
