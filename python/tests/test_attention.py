"""sattn.attention and sattn.Kernel on NumPy arrays (the CPU backend)
against sattn.reference, the float64 oracle: every stock pattern, f32 and
f16, GQA, both layouts, strided views, lse, scale."""

import unittest

import numpy as np

from support import STOCK, TestCase, random_inputs, relative_error, sattn


class StockPatterns(TestCase):
    """Every stock pattern, GQA 2:1, Sq < Sk, lengths off the blocks."""

    def check(self, name, dtype, layout="bhsd"):
        params = STOCK[name]
        q, k, v, scores = random_inputs(2, 4, 2, 150, 170, 32, dtype,
                                        seed=len(name),
                                        key_score=name == "sparsek")
        if layout == "bshd":
            q, k, v = (x.transpose(0, 2, 1, 3).copy() for x in (q, k, v))
        out, lse = sattn.attention(q, k, v, name, enable_gqa=True,
                                   key_score=scores, layout=layout,
                                   return_lse=True, **params)
        ref, ref_lse = sattn.reference(q, k, v, name, enable_gqa=True,
                                       key_score=scores, layout=layout,
                                       return_lse=True, **params)
        self.assertEqual(out.shape, q.shape)
        self.assertEqual(out.dtype, q.dtype)
        self.assertEqual(lse.shape, (2, 4, 150))
        self.assertEqual(lse.dtype, np.float32)
        self.assertMatchesReference(out, ref, dtype)
        finite = np.isfinite(ref_lse)
        np.testing.assert_array_equal(np.isfinite(lse), finite)
        np.testing.assert_allclose(lse[finite], ref_lse[finite],
                                   atol=1e-3 if dtype == np.float32 else 3e-2)
        # The pattern is sparse here: a dense result would differ.
        dense = sattn.reference(q, k, v, "streaming", enable_gqa=True,
                                layout=layout, sink=1 << 20, window=1 << 20)
        self.assertGreater(relative_error(ref, dense), 1e-2)

    def test_f32(self):
        for name in STOCK:
            with self.subTest(name):
                self.check(name, np.float32)

    def test_f16(self):
        for name in STOCK:
            with self.subTest(name):
                self.check(name, np.float16)

    def test_bshd(self):
        for name in ("power", "sample", "sparsek"):
            with self.subTest(name):
                self.check(name, np.float32, layout="bshd")


class ScoreModifiers(TestCase):
    """softcap and alibi (docs/dsl.md): a pattern from source text, bound,
    against the oracle, and not the same as without its modifiers."""

    SOURCE = """
pattern capped(cap = 50.0) {
  causal
  window 64 tokens
  softcap cap
  alibi
}
"""

    def test_matches_reference_and_changes_the_output(self):
        q, k, v, _ = random_inputs(1, 4, 2, 120, 150, 32, np.float32, seed=5)
        pattern = sattn.Pattern.from_source(self.SOURCE).bind(cap=2.0)
        out = sattn.attention(q, k, v, pattern, enable_gqa=True)
        ref = sattn.reference(q, k, v, pattern, enable_gqa=True)
        self.assertMatchesReference(out, ref, np.float32)
        plain = sattn.Pattern.from_source(
            self.SOURCE.replace("  softcap cap\n  alibi\n", ""))
        unmodified = sattn.reference(q, k, v, plain, enable_gqa=True)
        self.assertGreater(relative_error(ref, unmodified), 1e-2)


class RunTimeInputs(TestCase):
    """A pattern reading a run-time integer input (FlexAttention's document
    mask): the kernel matches the oracle for each kind of input, the ids
    change the output, and bad inputs raise before any kernel runs."""

    SOURCE = """
pattern documents {
  block 16
  causal
  input doc: i32[b, s]
  keep where doc[b, q] == doc[b, k]
}
"""

    def test_document_mask(self):
        q, k, v, _ = random_inputs(2, 4, 2, 90, 130, 32, np.float32, seed=8)
        pattern = sattn.Pattern.from_source(self.SOURCE)
        ids = np.repeat(np.arange(13), 10)[None, :].repeat(2, axis=0)
        ids[1] //= 3
        out = sattn.attention(q, k, v, pattern, enable_gqa=True,
                              inputs={"doc": ids})
        ref = sattn.reference(q, k, v, pattern, enable_gqa=True,
                              inputs={"doc": ids.astype(np.int64)})
        self.assertMatchesReference(out, ref, np.float32)
        as_lists = sattn.attention(q, k, v, pattern, enable_gqa=True,
                                   inputs={"doc": ids.tolist()})
        self.assertMatchesReference(as_lists, ref, np.float32)
        kernel = pattern.compile(heads=4, kv_heads=2, head_dim=32,
                                 dtype="f32", backend="cpu")
        self.assertMatchesReference(kernel(q, k, v, inputs={"doc": ids}),
                                    ref, np.float32)
        causal = sattn.reference(q, k, v, pattern, enable_gqa=True,
                                 inputs={"doc": np.zeros_like(ids)})
        self.assertGreater(relative_error(ref, causal), 1e-2)

    def test_bad_inputs(self):
        q, k, v, _ = random_inputs(1, 2, 2, 40, 40, 32, np.float32, seed=9)
        pattern = sattn.Pattern.from_source(self.SOURCE)
        ids = np.zeros((1, 40), dtype=np.int32)
        with self.assertRaisesRegex(sattn.SattnError,
                                    "reads run-time input 'doc'"):
            sattn.attention(q, k, v, pattern)
        with self.assertRaisesRegex(sattn.SattnError,
                                    r"must be i32\[1, 40\] \(b, s\)"):
            sattn.attention(q, k, v, pattern, inputs={"doc": ids[:, :39]})
        with self.assertRaisesRegex(sattn.SattnError,
                                    "no run-time input 'dox'"):
            sattn.attention(q, k, v, pattern,
                            inputs={"doc": ids, "dox": ids})
        with self.assertRaisesRegex(TypeError, "must hold integers"):
            sattn.attention(q, k, v, pattern,
                            inputs={"doc": ids.astype(np.float32)})
        with self.assertRaisesRegex(ValueError, "ragged"):
            sattn.attention(q, k, v, pattern, inputs={"doc": [[0] * 40, [0]]})


class PackedSequences(TestCase):
    """cu_seqlens_q / cu_seqlens_k (FlashAttention's varlen): a call over
    sequences packed along S equals separate calls on each sequence's own
    rows and keys, in the [total, H, D] layout models use (bshd with a
    batch of 1)."""

    def test_equal_separate_calls(self):
        # One row and one key; no rows; rows but no keys; Sq_s < Sk_s.
        cu_q, cu_k = [0, 40, 41, 41, 60, 130], [0, 60, 61, 90, 90, 200]
        q, k, v, scores = random_inputs(1, 4, 2, cu_q[-1], cu_k[-1], 32,
                                        seed=9, key_score=True)
        q, k, v = (x.transpose(0, 2, 1, 3).copy() for x in (q, k, v))
        for name in ("streaming", "sparsek"):
            with self.subTest(name):
                params = STOCK[name]
                extra = {"key_score": scores} if name == "sparsek" else {}
                out, lse = sattn.attention(
                    q, k, v, name, enable_gqa=True, layout="bshd",
                    cu_seqlens_q=cu_q, cu_seqlens_k=np.array(cu_k),
                    return_lse=True, **extra, **params)
                ref = sattn.reference(
                    q, k, v, name, enable_gqa=True, layout="bshd",
                    cu_seqlens_q=cu_q, cu_seqlens_k=cu_k, **extra, **params)
                self.assertMatchesReference(out, ref, np.float32)
                for s in range(len(cu_q) - 1):
                    rows = slice(cu_q[s], cu_q[s + 1])
                    keys = slice(cu_k[s], cu_k[s + 1])
                    if rows.start == rows.stop or keys.start == keys.stop:
                        continue
                    one = {"key_score": scores[:, :, keys].copy()} \
                        if name == "sparsek" else {}
                    alone = sattn.reference(
                        q[:, rows].copy(), k[:, keys].copy(),
                        v[:, keys].copy(), name, enable_gqa=True,
                        layout="bshd", **one, **params)
                    self.assertMatchesReference(out[:, rows], alone,
                                                np.float32)
                # Sequence 3 has rows but no keys: o = 0, lse = -inf.
                np.testing.assert_array_equal(out[:, 41:60], 0)
                np.testing.assert_array_equal(lse[:, :, 41:60], -np.inf)
                self.assertTrue(np.all(np.isfinite(lse[:, :, 40])))

    def test_thd_layout(self):
        # FlashAttention's own [total, H, D] tensors (layout "thd"): the
        # same call as bshd with a batch of 1, out [T, H, D], lse [H, T];
        # key_score [Hkv, T]; through attention, reference and a Kernel.
        cu = [0, 50, 51, 130]
        q, k, v, scores = random_inputs(1, 4, 2, cu[-1], cu[-1], 32,
                                        seed=4, key_score=True)
        q, k, v = (x.transpose(0, 2, 1, 3).copy() for x in (q, k, v))
        extra = {"key_score": scores}
        params = STOCK["sparsek"]
        out, lse = sattn.attention(
            q, k, v, "sparsek", enable_gqa=True, layout="bshd",
            cu_seqlens_q=cu, cu_seqlens_k=cu, return_lse=True, **extra,
            **params)
        tq, tk, tv = q[0], k[0], v[0]
        t_out, t_lse = sattn.attention(
            tq, tk, tv, "sparsek", enable_gqa=True, layout="thd",
            cu_seqlens_q=cu, cu_seqlens_k=cu, return_lse=True,
            key_score=scores[0], **params)
        self.assertEqual(t_out.shape, tq.shape)
        self.assertEqual(t_lse.shape, (4, cu[-1]))
        np.testing.assert_array_equal(t_out, out[0])
        np.testing.assert_array_equal(t_lse, lse[0])
        ref = sattn.reference(tq, tk, tv, "sparsek", enable_gqa=True,
                              layout="thd", cu_seqlens_q=cu,
                              cu_seqlens_k=cu, key_score=scores[0],
                              **params)
        self.assertEqual(ref.shape, tq.shape)
        self.assertMatchesReference(t_out, ref, np.float32)
        kernel = sattn.Pattern.stock("streaming").bind(
            **STOCK["streaming"]).compile(heads=4, kv_heads=2, head_dim=32)
        np.testing.assert_array_equal(
            kernel(tq, tk, tv, layout="thd", cu_seqlens_q=cu,
                   cu_seqlens_k=cu),
            kernel(q, k, v, layout="bshd", cu_seqlens_q=cu,
                   cu_seqlens_k=cu)[0])
        with self.assertRaisesRegex(ValueError,
                                    r"q must have 3 dims \[T, Hq, D\]"):
            sattn.attention(q, tk, tv, "streaming", layout="thd",
                            enable_gqa=True)

    def test_bad_offsets(self):
        q, k, v, _ = random_inputs(1, 2, 2, 10, 10, 32)
        with self.assertRaisesRegex(ValueError, "need both"):
            sattn.attention(q, k, v, "streaming", cu_seqlens_q=[0, 10])
        with self.assertRaisesRegex(ValueError, "must not decrease"):
            sattn.attention(q, k, v, "streaming", cu_seqlens_q=[0, 6, 4, 10],
                            cu_seqlens_k=[0, 3, 6, 10])


class Views(TestCase):
    def test_strided_views(self):
        # Every other key of a longer buffer, heads sliced out of a wider q.
        q, k, v, _ = random_inputs(1, 6, 2, 100, 200, 64, seed=3)
        q_view, k_view, v_view = q[:, 1:5], k[:, :, ::2], v[:, :, ::2]
        self.assertFalse(k_view.flags.c_contiguous)
        out = sattn.attention(q_view, k_view, v_view, "power", enable_gqa=True,
                              **STOCK["power"])
        ref = sattn.attention(q_view.copy(), k_view.copy(), v_view.copy(),
                              "power", enable_gqa=True, **STOCK["power"])
        np.testing.assert_array_equal(out, ref)

    def test_inner_stride_and_negative_strides_are_copied(self):
        q, k, v, _ = random_inputs(1, 2, 2, 64, 64, 32, seed=4)
        wide = np.repeat(k, 2, axis=3)[..., ::2]  # k with head-dim stride 2
        reversed_v = v[:, :, ::-1]  # a negative key stride
        reversed_q = q[:, ::-1]  # a negative head stride
        ref = sattn.reference(reversed_q.copy(), k, reversed_v.copy(),
                              "streaming", **STOCK["streaming"])
        kernel = sattn.Pattern.stock("streaming").bind(
            **STOCK["streaming"]).compile(heads=2, head_dim=32)
        # Twice each: a call that copies keeps no plan for the views.
        for call in (lambda: sattn.attention(reversed_q, wide, reversed_v,
                                             "streaming",
                                             **STOCK["streaming"]),
                     lambda: kernel(reversed_q, wide, reversed_v)) * 2:
            self.assertMatchesReference(call(), ref, np.float32)
        self.assertEqual(len(kernel._structs.plans), 0)

    def test_unaligned_data_is_copied(self):
        # Float32 data at an odd address: whole-element strides, but not
        # flags.aligned (ascontiguousarray would return it as it is).
        q, k, v, _ = random_inputs(1, 2, 2, 16, 16, 32, seed=7)
        raw = bytearray(q.nbytes + 2)
        odd = np.frombuffer(raw, np.float32, q.size, offset=2).reshape(
            q.shape)
        odd[...] = q
        self.assertFalse(odd.flags.aligned)
        np.testing.assert_array_equal(
            sattn.attention(odd, k, v, "streaming", **STOCK["streaming"]),
            sattn.attention(q, k, v, "streaming", **STOCK["streaming"]))

    def test_packed_qkv(self):
        # One [B, S, 3, H, D] buffer, as fused projections produce.
        rng = np.random.default_rng(5)
        qkv = rng.standard_normal((1, 90, 3, 2, 32)).astype(np.float32)
        q, k, v = (qkv[:, :, i] for i in range(3))
        out = sattn.attention(q, k, v, "power", layout="bshd",
                              **STOCK["power"])
        ref = sattn.reference(q.copy(), k.copy(), v.copy(), "power",
                              layout="bshd", **STOCK["power"])
        self.assertMatchesReference(out, ref, np.float32)


class Options(TestCase):
    def test_gqa_matches_repeated_heads(self):
        q, k, v, _ = random_inputs(1, 8, 2, 80, 80, 32, seed=6)
        grouped = sattn.attention(q, k, v, "power", enable_gqa=True,
                                  **STOCK["power"])
        repeated = sattn.attention(q, np.repeat(k, 4, axis=1),
                                   np.repeat(v, 4, axis=1), "power",
                                   **STOCK["power"])
        self.assertLessEqual(relative_error(grouped, repeated), 1e-5)

    def test_scale(self):
        q, k, v, _ = random_inputs(1, 2, 2, 64, 64, 32, seed=7)
        out = sattn.attention(q, k, v, "power", scale=0.3, **STOCK["power"])
        ref = sattn.reference(q, k, v, "power", scale=0.3, **STOCK["power"])
        default = sattn.reference(q, k, v, "power", **STOCK["power"])
        self.assertMatchesReference(out, ref, np.float32)
        self.assertGreater(relative_error(ref, default), 1e-2)

    def test_lse_wanted_or_not(self):
        q, k, v, _ = random_inputs(2, 2, 2, 70, 70, 32, seed=8)
        alone = sattn.attention(q, k, v, "sample", **STOCK["sample"])
        with_lse, lse = sattn.attention(q, k, v, "sample", return_lse=True,
                                        **STOCK["sample"])
        np.testing.assert_array_equal(alone, with_lse)
        self.assertTrue(np.isfinite(lse).all())

    def test_pattern_object_path_and_name_agree(self):
        q, k, v, _ = random_inputs(1, 2, 2, 64, 64, 32, seed=9)
        by_name = sattn.attention(q, k, v, "streaming", **STOCK["streaming"])
        path = sattn.Pattern.stock("streaming")._origin[1]
        by_path = sattn.attention(q, k, v, path, **STOCK["streaming"])
        pattern = sattn.Pattern.from_file(path).bind(**STOCK["streaming"])
        by_object = sattn.attention(q, k, v, pattern)
        np.testing.assert_array_equal(by_name, by_path)
        np.testing.assert_array_equal(by_name, by_object)


class Kernels(TestCase):
    def test_one_kernel_serves_every_length(self):
        pattern = sattn.Pattern.stock("power").bind(**STOCK["power"])
        kernel = pattern.compile(heads=2, kv_heads=1, head_dim=32)
        again = pattern.compile(heads=2, kv_heads=1, head_dim=32)
        self.assertEqual(again.origin, "memory cache")
        self.assertEqual(again.digest, kernel.digest)
        for seq_q, seq_k in ((1, 40), (64, 64), (130, 257)):
            q, k, v, _ = random_inputs(1, 2, 1, seq_q, seq_k, 32, seed=seq_q)
            ref = sattn.reference(q, k, v, pattern, enable_gqa=True)
            self.assertMatchesReference(kernel(q, k, v), ref, np.float32)

    def test_threads(self):
        import concurrent.futures
        kernel = sattn.Pattern.stock("streaming").bind(
            **STOCK["streaming"]).compile(heads=2, head_dim=32)
        inputs = [random_inputs(1, 2, 2, 100, 100, 32, seed=s)[:3]
                  for s in range(8)]
        expected = [kernel(*x) for x in inputs]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda x: kernel(*x), inputs * 4))
        for i, out in enumerate(got):
            np.testing.assert_array_equal(out, expected[i % 8])

    def test_planned_calls(self):
        # Calls of one kernel with the same metadata share a plan; each
        # call still reads its own inputs and returns new outputs.
        pattern = sattn.Pattern.stock("streaming").bind(**STOCK["streaming"])
        kernel = pattern.compile(heads=4, head_dim=32)
        first = random_inputs(1, 4, 4, 4, 4, 32, seed=1)[:3]
        second = random_inputs(1, 4, 4, 4, 4, 32, seed=2)[:3]
        out1 = kernel(*first)
        kept = out1.copy()
        out2 = kernel(*second)
        self.assertEqual(len(kernel._structs.plans), 1)
        self.assertFalse(np.shares_memory(out1, out2))
        np.testing.assert_array_equal(out1, kept)
        for x, out in ((first, out1), (second, out2)):
            self.assertMatchesReference(out, sattn.reference(*x, pattern),
                                        np.float32)
        # [B, S, H, D] arrays of the same shape (H = S = 4): another plan.
        bshd = kernel(*first, layout="bshd")
        self.assertEqual(len(kernel._structs.plans), 2)
        self.assertMatchesReference(
            bshd, sattn.reference(*first, pattern, layout="bshd"),
            np.float32)
        self.assertGreater(relative_error(bshd, out1), 1e-2)
        # A view of other strides, same shape: another plan, read as such.
        wide = random_inputs(1, 4, 4, 8, 8, 32, seed=3)[:3]
        view = tuple(x[:, :, ::2] for x in wide)
        self.assertMatchesReference(kernel(*view),
                                    sattn.reference(*view, pattern),
                                    np.float32)
        self.assertEqual(len(kernel._structs.plans), 3)

    def test_planned_calls_with_unaligned_data(self):
        # The same shape and strides as a planned call, data off the
        # element alignment: copied, as on a first call.
        pattern = sattn.Pattern.stock("streaming").bind(**STOCK["streaming"])
        kernel = pattern.compile(heads=2, head_dim=32)
        q, k, v, _ = random_inputs(1, 2, 2, 16, 16, 32, seed=4)
        expected = kernel(q, k, v)
        raw = bytearray(q.nbytes + 2)
        odd = np.frombuffer(raw, np.float32, q.size, offset=2).reshape(
            q.shape)
        odd[...] = q
        self.assertFalse(odd.flags.aligned)
        self.assertEqual(odd.strides, q.strides)
        np.testing.assert_array_equal(kernel(odd, k, v), expected)

    def test_planned_attention(self):
        # sattn.attention reuses the kernel of an earlier call that matches
        # in every checked way, and only then.
        from sattn import _functional
        q, k, v, _ = random_inputs(1, 2, 2, 32, 32, 32, seed=5)
        outs = [sattn.attention(q, k, v, "streaming", **STOCK["streaming"])
                for _ in range(3)]
        np.testing.assert_array_equal(outs[0], outs[2])
        found = [key for key in _functional._calls
                 if key[0][1] == (q.dtype, q.shape, q.strides)]
        self.assertEqual(len(found), 1)
        scaled = sattn.attention(q, k, v, "streaming", scale=0.5,
                                 **STOCK["streaming"])
        self.assertMatchesReference(
            scaled, sattn.reference(q, k, v, "streaming", scale=0.5,
                                    **STOCK["streaming"]), np.float32)
        self.assertGreater(relative_error(scaled, outs[0]), 1e-3)

    def test_timed(self):
        kernel = sattn.Pattern.stock("sample").bind(**STOCK["sample"]).compile(
            heads=2, head_dim=32)
        q, k, v, _ = random_inputs(1, 2, 2, 200, 200, 32, seed=12)
        out, selection_ms, attention_ms = kernel.timed(q, k, v)
        np.testing.assert_array_equal(out, kernel(q, k, v))
        self.assertGreater(selection_ms, 0)  # sample selects stripes first
        self.assertGreater(attention_ms, 0)

    def test_workspace_bytes(self):
        kernel = sattn.Pattern.stock("sample").bind(**STOCK["sample"]).compile(
            heads=2, head_dim=32)
        small = kernel.workspace_bytes(1, 64, 64)
        self.assertGreaterEqual(small, 2 * 64 * 4)  # the lse at least
        self.assertGreater(kernel.workspace_bytes(4, 1024, 1024), small)


if __name__ == "__main__":
    unittest.main()
