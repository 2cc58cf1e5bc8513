"""The torch operator sattn::attention and its fake implementation.

Imported by _torch.register() only, once torch is imported. The type hints
are the operator's schema (no `from __future__ import annotations`: torch
reads them as types).
"""

from typing import Optional, Tuple

import torch

from . import _arrays, _functional


@torch.library.custom_op("sattn::attention", mutates_args=())
def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              pattern: str, params: str, scale: float, enable_gqa: bool,
              layout: str, key_score: Optional[torch.Tensor],
              score_weights: Optional[torch.Tensor]
              ) -> Tuple[torch.Tensor, torch.Tensor]:
    """sattn.attention on torch tensors: (out, lse). `pattern` is a name,
    a path or a Pattern's token; `params` is "name=value,..."; scale 0
    means 1/sqrt(D)."""
    return _functional.run_attention(
        q, k, v, pattern, scale or None, enable_gqa, True, key_score,
        score_weights, layout, _functional.decode_params(params))


@attention.register_fake
def _(q, k, v, pattern, params, scale, enable_gqa, layout, key_score,
      score_weights):
    # The same checks as a real call, so that torch.compile reports a bad
    # call while tracing; then empty outputs of the real ones' shapes.
    _, shape, _, _ = _functional.check_attention(
        q, k, v, pattern, scale or None, enable_gqa, key_score, score_weights,
        layout, _functional.decode_params(params))
    out = q.new_empty(_arrays.physical_shape(
        shape.batch, shape.heads, shape.seq_q, shape.head_dim, layout))
    lse = q.new_empty((shape.batch, shape.heads, shape.seq_q),
                      dtype=torch.float32)
    return out, lse
