"""Bad calls get a TypeError or ValueError that says what is wrong, before
any kernel is compiled or run."""

import os
import tempfile
import unittest
from unittest import mock

import numpy as np

from support import STOCK, TestCase, random_inputs, sattn


class BadCalls(TestCase):
    def setUp(self):
        self.q, self.k, self.v, self.scores = random_inputs(
            1, 4, 2, 64, 64, 32, key_score=True)

    def refused(self, error, message, *args, compiles=False, **kwargs):
        """attention(*args, **kwargs) raises `error` with `message` in it,
        without running a kernel (nor compiling one unless `compiles`)."""
        def must_not_run(*_args, **_kwargs):
            raise AssertionError("a kernel ran")

        def must_not_compile(*_args, **_kwargs):
            raise AssertionError("a kernel was compiled")

        with mock.patch.object(sattn.Kernel, "_launch", must_not_run):
            patches = [] if compiles else [mock.patch(
                "sattn._functional.kernel_for", must_not_compile)]
            for p in patches:
                p.start()
            try:
                with self.assertRaises(error) as caught:
                    sattn.attention(*args, **kwargs)
            finally:
                for p in patches:
                    p.stop()
        self.assertIn(message, str(caught.exception))
        return caught.exception

    def test_not_arrays(self):
        self.refused(TypeError, "q must be a torch tensor or a NumPy array, "
                     "got builtins.list", [[1.0]], self.k, self.v, "power")
        self.refused(TypeError, "v must be a torch tensor or a NumPy array",
                     self.q, self.k, None, "power")

    def test_rank(self):
        self.refused(ValueError, "q must have 4 dims [B, H, S, D] "
                     "(layout='bhsd'), got shape (4, 64, 32)", self.q[0],
                     self.k, self.v, "power")

    def test_layout(self):
        self.refused(ValueError, "layout must be 'bhsd' ([B, H, S, D]), "
                     "'bshd' ([B, S, H, D]) or 'thd' ([T, H, D]), got 'bsdh'",
                     self.q, self.k, self.v, "power", layout="bsdh")

    def test_dtypes(self):
        self.refused(TypeError, "q has dtype float64; sattn takes float32, "
                     "float16 or bfloat16", self.q.astype(np.float64),
                     self.k, self.v, "power")
        self.refused(TypeError, "k has dtype float16 but q has float32",
                     self.q, self.k.astype(np.float16), self.v, "power")

    def test_shapes(self):
        self.refused(ValueError, "v has shape (1, 2, 60, 32) but k has "
                     "(1, 2, 64, 32)", self.q, self.k, self.v[:, :, :60],
                     "power", enable_gqa=True)
        self.refused(ValueError, "k has batch 2 but q has 1", self.q,
                     np.concatenate([self.k] * 2),
                     np.concatenate([self.v] * 2),
                     "power", enable_gqa=True)
        self.refused(ValueError, "k has head dim 16 but q has 32", self.q,
                     self.k[..., :16], self.v[..., :16], "power",
                     enable_gqa=True)
        self.refused(ValueError, "sizes must be positive", self.q[:, :, :0],
                     self.k, self.v, "power", enable_gqa=True)

    def test_gqa(self):
        self.refused(ValueError, "q has 4 heads and k, v have 2: pass "
                     "enable_gqa=True", self.q, self.k, self.v, "power")
        k3, v3 = (np.concatenate([x, x[:, :1]], axis=1)
                  for x in (self.k, self.v))
        self.refused(ValueError, "q has 4 heads, not a multiple of the 3",
                     self.q, k3, v3, "power", enable_gqa=True)

    def test_scale(self):
        for scale, error in ((-1.0, ValueError), (0.0, ValueError),
                             (float("nan"), ValueError), (True, TypeError),
                             ("big", TypeError)):
            with self.subTest(scale=scale):
                self.refused(error, "scale must be", self.q, self.k, self.v,
                             "power", enable_gqa=True, scale=scale)

    def test_patterns(self):
        self.refused(ValueError, "no stock pattern 'powr' (stock patterns: "
                     "hip, pbs, power, sample, sparsek, streaming)", self.q,
                     self.k, self.v, "powr", enable_gqa=True)
        self.refused(ValueError, "pattern file '/no/such.sattn': No such "
                     "file", self.q, self.k, self.v, "/no/such.sattn",
                     enable_gqa=True)
        self.refused(TypeError, "pattern must be a stock pattern's name",
                     self.q, self.k, self.v, 42, enable_gqa=True)

    def test_parameters(self):
        error = self.refused(ValueError, "window", self.q, self.k, self.v,
                             "power", enable_gqa=True, window=-3)
        self.assertIsInstance(error, sattn.SattnArgumentError)
        self.refused(ValueError, "no_such_parameter", self.q, self.k, self.v,
                     "power", enable_gqa=True, no_such_parameter=1)
        self.refused(TypeError, "parameter window must be a number", self.q,
                     self.k, self.v, "power", enable_gqa=True, window=[1])

    def test_key_scores(self):
        self.refused(ValueError, "pattern 'sparsek' selects keys by "
                     "key_score at run time: pass key_score=", self.q, self.k,
                     self.v, "sparsek", enable_gqa=True, **STOCK["sparsek"])
        self.refused(ValueError, "pattern 'power' does not read key_score",
                     self.q, self.k, self.v, "power", enable_gqa=True,
                     key_score=self.scores)
        self.refused(ValueError, "key_score must have shape [B, Hkv, Sk] = "
                     "(1, 2, 64), got (1, 2, 63)", self.q, self.k, self.v,
                     "sparsek", enable_gqa=True,
                     key_score=self.scores[..., 1:])
        self.refused(TypeError, "key_score must be float32, got float16",
                     self.q, self.k, self.v, "sparsek", enable_gqa=True,
                     key_score=self.scores.astype(np.float16))

    def test_head_dim_the_kernels_lack(self):
        q, k, v, _ = random_inputs(1, 2, 2, 32, 32, 48)
        error = self.refused(ValueError, "head dim must be 32, 64, 80, 96, "
                             "128, 192 or 256, got 48", q, k, v, "power",
                             compiles=True)
        self.assertIsInstance(error, sattn.SattnArgumentError)


class BadKernelCalls(TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kernel = sattn.Pattern.stock("power").bind(
            **STOCK["power"]).compile(heads=4, kv_heads=2, head_dim=32)

    def test_sizes_the_kernel_was_not_built_for(self):
        q, k, v, _ = random_inputs(1, 4, 4, 64, 64, 32)
        with self.assertRaisesRegex(ValueError, "this kernel takes heads=4, "
                                    "kv_heads=2, head_dim=32, dtype=f32; "
                                    "the tensors have heads=4, kv_heads=4"):
            self.kernel(q, k, v)
        q, k, v, _ = random_inputs(1, 4, 2, 64, 64, 32, np.float16)
        with self.assertRaisesRegex(ValueError, "dtype=f16"):
            self.kernel(q, k, v)

    def test_closed_kernel(self):
        kernel = sattn.Pattern.stock("power").bind(
            **STOCK["power"]).compile(heads=4, kv_heads=2, head_dim=32)
        q, k, v, _ = random_inputs(1, 4, 2, 64, 64, 32)
        kernel(q, k, v)
        kernel.close()
        with self.assertRaisesRegex(ValueError, "is closed"):
            kernel(q, k, v)
        kernel.close()  # twice is harmless

    def test_compile_options(self):
        pattern = sattn.Pattern.stock("power")
        with self.assertRaisesRegex(ValueError, "backend must be 'cpu' or "
                                    "'cuda', got 'tpu'"):
            pattern.compile(heads=2, head_dim=32, backend="tpu")
        with self.assertRaisesRegex(TypeError, "dtype must be f32, f16 or "
                                    "bf16"):
            pattern.compile(heads=2, head_dim=32, dtype="int8")
        with self.assertRaisesRegex(ValueError, "kv heads 3 must be >= 1 "
                                    "and divide heads 2"):
            pattern.compile(heads=2, kv_heads=3, head_dim=32)


class BadCallsAfterGoodOnes(BadCalls):
    """The same refusals once good calls of the same pattern, kernel and
    sizes have run, so that the calls' plans (sattn.Kernel) and kernel
    lookups (sattn.attention) are cached: a call that differs from a cached
    one in any checked way is still checked in full."""

    def setUp(self):
        super().setUp()
        for name in ("power", "sparsek"):
            for scale in (None, 1, 0.5):
                sattn.attention(self.q, self.k, self.v, name,
                                enable_gqa=True, scale=scale,
                                key_score=self.scores if name == "sparsek"
                                else None, **STOCK[name])
        sattn.attention(self.q, self.k, self.v, "power", enable_gqa=True,
                        layout="bshd")  # [B, S, H, D]: H = 64, S = 4, 2

    def test_near_misses(self):
        # Each differs from a cached call in one checked thing only.
        self.refused(ValueError, "pass enable_gqa=True", self.q, self.k,
                     self.v, "power", **STOCK["power"])
        self.refused(TypeError, "scale must be a number, got True", self.q,
                     self.k, self.v, "power", enable_gqa=True, scale=True,
                     **STOCK["power"])
        self.refused(ValueError, "selects keys by key_score", self.q,
                     self.k, self.v, "sparsek", enable_gqa=True,
                     **STOCK["sparsek"])
        self.refused(TypeError, "k has dtype float16", self.q,
                     self.k.astype(np.float16), self.v, "power",
                     enable_gqa=True, **STOCK["power"])
        self.refused(ValueError, "v has shape", self.q, self.k,
                     self.v[:, :, 1:], "power", enable_gqa=True,
                     **STOCK["power"])
        self.refused(TypeError, "v must be a torch tensor or a NumPy array",
                     self.q, self.k, self.v.tolist(), "power",
                     enable_gqa=True, **STOCK["power"])
        self.refused(ValueError, "layout must be", self.q, self.k, self.v,
                     "power", enable_gqa=True, layout="BHSD")


class BadCallsOfAPlannedKernel(TestCase):
    """A kernel that has run a call keeps its plan (sattn.Kernel._call):
    calls that differ from it in shape, dtype, layout or kind are checked
    in full and refused before anything runs."""

    def test_changed_calls_are_refused(self):
        kernel = sattn.Pattern.stock("power").bind(**STOCK["power"]).compile(
            heads=4, kv_heads=2, head_dim=32)
        q, k, v, _ = random_inputs(1, 4, 2, 64, 64, 32)
        kernel(q, k, v)
        kernel(q, k, v, return_lse=True)
        self.assertEqual(len(kernel._structs.plans), 2)
        bad = [
            (ValueError, "heads=4, kv_heads=4",
             (q, np.concatenate([k] * 2, axis=1),
              np.concatenate([v] * 2, axis=1)), {}),
            (ValueError, "dtype=f16", tuple(x.astype(np.float16)
                                            for x in (q, k, v)), {}),
            (ValueError, "k has head dim 16", (q, k[..., :16], v[..., :16]),
             {}),
            (ValueError, "v has shape", (q, k, v[:, :, 1:]), {}),
            (ValueError, "does not read key_score", (q, k, v),
             {"key_score": np.zeros((1, 2, 64), np.float32)}),
            (ValueError, "heads=64", (q, k, v), {"layout": "bshd"}),
            (TypeError, "q must be a torch tensor", (q.tolist(), k, v), {}),
        ]
        with mock.patch.object(sattn.Kernel, "_launch",
                               side_effect=AssertionError("a kernel ran")):
            for error, message, args, kwargs in bad:
                with self.subTest(message=message):
                    with self.assertRaisesRegex(error, message):
                        kernel(*args, **kwargs)
        # A good call still runs after them, through its plan.
        np.testing.assert_array_equal(kernel(q, k, v), kernel(q, k, v))
        self.assertEqual(len(kernel._structs.plans), 2)


class BadPatterns(TestCase):
    def test_source_errors_carry_the_location(self):
        with self.assertRaises(sattn.SattnArgumentError) as caught:
            sattn.Pattern.from_source("pattern p {\n  block 16\n  causl\n}\n")
        self.assertIn("3:", str(caught.exception))

    def test_missing_file(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(ValueError,
                                        os.path.join(d, "gone.sattn")):
                sattn.Pattern.from_file(os.path.join(d, "gone.sattn"))


if __name__ == "__main__":
    unittest.main()
