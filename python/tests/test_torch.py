"""sattn on torch CPU tensors: dtypes (bf16 included), strided views,
layouts, the Kernel handle; with torch >= 2.4, the operator
torch.ops.sattn.attention (opcheck) and a torch.compile(fullgraph=True)
module. Skips, saying why, without torch; exits 77 when nothing ran."""

import os
import subprocess
import sys
import unittest

from support import STOCK, TestCase
from torch_support import (TORCH_MISSING, custom_op_missing, main, sattn,
                           torch)


REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def inputs(batch, heads, kv_heads, seq_q, seq_k, head_dim, dtype,
           device="cpu", seed=0):
    generator = torch.Generator(device="cpu").manual_seed(seed)
    make = (lambda *shape: torch.randn(*shape, generator=generator).to(
        device=device, dtype=dtype))
    return (make(batch, heads, seq_q, head_dim),
            make(batch, kv_heads, seq_k, head_dim),
            make(batch, kv_heads, seq_k, head_dim))


def relative_l2(out, ref):
    out, ref = out.double(), ref.double()
    return ((out - ref).norm() / ref.norm().clamp_min(1e-30)).item()


@unittest.skipIf(torch is None, TORCH_MISSING)
class CpuTensors(TestCase):
    def test_stock_patterns_in_bf16(self):
        for name in ("power", "sample", "sparsek"):
            with self.subTest(name):
                q, k, v = inputs(1, 4, 2, 120, 150, 64, torch.bfloat16)
                scores = (torch.randn(1, 2, 150) if name == "sparsek"
                          else None)
                out = sattn.attention(q, k, v, name, enable_gqa=True,
                                      key_score=scores, **STOCK[name])
                ref = sattn.reference(q, k, v, name, enable_gqa=True,
                                      key_score=scores, **STOCK[name])
                self.assertIsInstance(out, torch.Tensor)
                self.assertEqual(out.dtype, torch.bfloat16)
                self.assertLessEqual(relative_l2(out, ref), 1e-2)

    def test_views_and_layouts(self):
        q, k, v = inputs(2, 4, 4, 64, 64, 32, torch.float16)
        # A [B, S, H, D] model tensor, seen as [B, H, S, D] by transpose.
        q_bshd, k_bshd, v_bshd = (x.transpose(1, 2) for x in (q, k, v))
        self.assertFalse(q_bshd.is_contiguous())
        by_view = sattn.attention(q_bshd, k_bshd, v_bshd, "power",
                                  layout="bshd", **STOCK["power"])
        by_copy = sattn.attention(q, k, v, "power", **STOCK["power"])
        self.assertEqual(by_view.shape, q_bshd.shape)
        torch.testing.assert_close(by_view.transpose(1, 2), by_copy)
        # Every other key of a longer buffer.
        long_k, long_v = (torch.cat([x, x], dim=2)[:, :, ::2] for x in (k, v))
        strided = sattn.attention(q, long_k, long_v, "power",
                                  **STOCK["power"])
        dense = sattn.attention(q, long_k.contiguous(), long_v.contiguous(),
                                "power", **STOCK["power"])
        torch.testing.assert_close(strided, dense)

    def test_kernel_and_lse(self):
        kernel = sattn.Pattern.stock("streaming").bind(
            **STOCK["streaming"]).compile(heads=2, head_dim=32,
                                          dtype=torch.float32)
        q, k, v = inputs(1, 2, 2, 90, 90, 32, torch.float32)
        out, lse = kernel(q, k, v, return_lse=True)
        ref, ref_lse = sattn.reference(q, k, v, "streaming", return_lse=True,
                                       **STOCK["streaming"])
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(lse, ref_lse, rtol=1e-3, atol=1e-3)

    def test_inputs_that_require_grad(self):
        q, k, v = (x.requires_grad_() for x in
                   inputs(1, 2, 2, 32, 32, 32, torch.float32))
        out = sattn.attention(q, k, v, "power", **STOCK["power"])
        self.assertEqual(out.shape, q.shape)

    def test_torch_imported_after_sattn(self):
        # The import hook registers the operator once torch's import ends.
        script = ("import sattn, torch\n"
                  "has_op = hasattr(torch.library, 'custom_op')\n"
                  "print(sattn._torch.torch is torch,\n"
                  "      (sattn._torch.op is not None) == has_op)\n")
        result = subprocess.run([sys.executable, "-c", script],
                                capture_output=True, text=True,
                                cwd=os.path.join(REPO, "python"))
        self.assertEqual(result.stdout.split(), ["True", "True"],
                         result.stderr)

    def test_bad_tensors(self):
        q, k, v = inputs(1, 2, 2, 32, 32, 32, torch.float32)
        with self.assertRaisesRegex(TypeError, "q has dtype float64"):
            sattn.attention(q.double(), k, v, "power")
        with self.assertRaisesRegex(TypeError, "k is a numpy array but q is "
                                    "a torch one"):
            sattn.attention(q, k.numpy(), v, "power")
        with self.assertRaisesRegex(ValueError, "q is on meta"):
            sattn.attention(q.to("meta"), k.to("meta"), v.to("meta"),
                            "power")


@unittest.skipIf(custom_op_missing(), custom_op_missing())
class Operator(TestCase):
    def test_opcheck(self):
        q, k, v = inputs(1, 2, 1, 64, 64, 32, torch.float32)
        torch.library.opcheck(
            torch.ops.sattn.attention.default,
            (q, k, v, "power", "block=16,sink=16,window=2", 0.0, True, "bhsd",
             None, None))

    def test_compiled_module_has_one_graph(self):
        class Attention(torch.nn.Module):
            def forward(self, q, k, v):
                return sattn.attention(q, k, v, "power", enable_gqa=True,
                                       **STOCK["power"]) * 2

        q, k, v = inputs(1, 4, 2, 80, 80, 32, torch.float32)
        model = Attention()
        eager = model(q, k, v)
        compiled = torch.compile(model, fullgraph=True)
        torch.testing.assert_close(compiled(q, k, v), eager)
        explained = torch._dynamo.explain(model)(q, k, v)
        self.assertEqual(explained.graph_break_count, 0)
        self.assertEqual(explained.graph_count, 1)

    def test_pattern_object_in_a_compiled_module(self):
        pattern = sattn.Pattern.stock("streaming").bind(**STOCK["streaming"])
        q, k, v = inputs(1, 2, 2, 70, 70, 32, torch.float32)
        compiled = torch.compile(
            lambda q, k, v: sattn.attention(q, k, v, pattern), fullgraph=True)
        torch.testing.assert_close(compiled(q, k, v),
                                   sattn.attention(q, k, v, pattern))

    def test_bad_call_fails_while_tracing(self):
        q, k, v = inputs(1, 4, 2, 32, 32, 32, torch.float32)
        compiled = torch.compile(
            lambda q, k, v: sattn.attention(q, k, v, "power"), fullgraph=True)
        with self.assertRaisesRegex(Exception, "enable_gqa=True"):
            compiled(q, k, v)


if __name__ == "__main__":
    main()
