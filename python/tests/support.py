"""What the Python tests share: the stock patterns with parameters shrunk
so that each is sparse and non-trivial at a few hundred tokens (as in
test/unit/runtime/OracleHarness.h, with a lower cover for sample, which
keeps every block of random inputs at 0.8), random inputs, and the
tolerances of docs/patterns.md."""

import os
import sys
import unittest

import numpy as np

# The tests run against the package of this source tree.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))

import sattn  # noqa: E402

STOCK = {
    "power": {"block": 16, "window": 2, "sink": 16},
    "streaming": {"sink": 8, "window": 64},
    "sample": {"block": 16, "alpha": 0.5},
    "hip": {"block_q": 32, "k": 64, "sink": 8, "window": 32},
    "sparsek": {"k": 64, "window": 64},
    "pbs": {"segment": 64, "probe": 32, "block": 16},
}


def random_inputs(batch, heads, kv_heads, seq_q, seq_k, head_dim,
                  dtype=np.float32, seed=0, key_score=False):
    """q, k, v (and key scores) drawn from a standard normal, [B, H, S, D]."""
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((batch, heads, seq_q, head_dim)).astype(dtype)
    k = rng.standard_normal((batch, kv_heads, seq_k, head_dim)).astype(dtype)
    v = rng.standard_normal((batch, kv_heads, seq_k, head_dim)).astype(dtype)
    scores = (rng.standard_normal((batch, kv_heads, seq_k)).astype(
        np.float32) if key_score else None)
    return q, k, v, scores


def relative_error(out, ref):
    """max |out - ref| / max |ref| in float64."""
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    return float(np.abs(out - ref).max() / max(np.abs(ref).max(), 1e-30))


def relative_l2(out, ref):
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    return float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-30))


class TestCase(unittest.TestCase):
    def assertMatchesReference(self, out, ref, dtype):
        """docs/patterns.md: f32 max |err| <= 1e-4 max |ref|; f16 and
        bf16 relative L2 <= 1e-2; no NaN."""
        self.assertFalse(np.isnan(np.asarray(out, dtype=np.float64)).any())
        if np.dtype(dtype) == np.float32:
            self.assertLessEqual(relative_error(out, ref), 1e-4)
        else:
            self.assertLessEqual(relative_l2(out, ref), 1e-2)
