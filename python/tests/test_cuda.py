"""sattn on CUDA tensors (run on a GPU machine with torch; bench/README.md
says how): every stock pattern against the oracle, the caller's stream,
two streams at once, a torch.compile(fullgraph=True) module, and
FlexAttention on the same token mask. Skips, saying why, without torch or
a CUDA device, and then exits 77 (never a pass)."""

import os
import subprocess
import sys
import unittest

from support import STOCK, TestCase
from torch_support import (cuda_missing, custom_op_missing, main, sattn,
                           torch)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CUDA_MISSING = cuda_missing()


def inputs(batch, heads, kv_heads, seq_q, seq_k, head_dim, dtype, seed=0):
    generator = torch.Generator(device="cpu").manual_seed(seed)
    make = (lambda *shape: torch.randn(*shape, generator=generator).to(
        device="cuda", dtype=dtype))
    return (make(batch, heads, seq_q, head_dim),
            make(batch, kv_heads, seq_k, head_dim),
            make(batch, kv_heads, seq_k, head_dim))


def relative_l2(out, ref):
    out, ref = out.double(), ref.double().to(out.device)
    return ((out - ref).norm() / ref.norm().clamp_min(1e-30)).item()


@unittest.skipIf(CUDA_MISSING, CUDA_MISSING)
class CudaTensors(TestCase):
    def test_stock_patterns(self):
        for name in STOCK:
            for dtype in (torch.bfloat16, torch.float16):
                with self.subTest(name, dtype=dtype):
                    q, k, v = inputs(2, 8, 2, 300, 333, 128, dtype,
                                     seed=len(name))
                    scores = (torch.randn(2, 2, 333, device="cuda")
                              if name == "sparsek" else None)
                    out, lse = sattn.attention(
                        q, k, v, name, enable_gqa=True, key_score=scores,
                        return_lse=True, **STOCK[name])
                    ref, ref_lse = sattn.reference(
                        q, k, v, name, enable_gqa=True, key_score=scores,
                        return_lse=True, **STOCK[name])
                    self.assertEqual(out.device, q.device)
                    self.assertEqual(out.dtype, dtype)
                    self.assertLessEqual(relative_l2(out, ref), 1e-2)
                    finite = torch.isfinite(ref_lse)
                    torch.testing.assert_close(lse[finite], ref_lse[finite],
                                               atol=3e-2, rtol=0)

    def test_f32_and_bshd_views(self):
        q, k, v = inputs(1, 4, 4, 256, 256, 64, torch.float32)
        q_bshd, k_bshd, v_bshd = (x.transpose(1, 2) for x in (q, k, v))
        out = sattn.attention(q_bshd, k_bshd, v_bshd, "power", layout="bshd",
                              **STOCK["power"])
        ref = sattn.reference(q, k, v, "power", **STOCK["power"])
        self.assertLessEqual(relative_l2(out.transpose(1, 2), ref), 1e-4)

    def test_kernel_handle(self):
        kernel = sattn.Pattern.stock("streaming").bind(
            **STOCK["streaming"]).compile(heads=8, kv_heads=2, head_dim=128,
                                          dtype=torch.bfloat16,
                                          backend="cuda")
        for seq in (1, 200, 1024):
            q, k, v = inputs(1, 8, 2, seq, 1024, 128, torch.bfloat16, seq)
            ref = sattn.reference(q, k, v, "streaming", enable_gqa=True,
                                  **STOCK["streaming"])
            self.assertLessEqual(relative_l2(kernel(q, k, v), ref), 1e-2)
        cpu = torch.zeros(1, 8, 4, 128, dtype=torch.bfloat16)
        with self.assertRaisesRegex(ValueError, "the tensors are on cpu"):
            kernel(cpu, cpu[:, :2], cpu[:, :2])

    def test_runs_on_the_current_stream(self):
        # q is written on a side stream after a long sleep; a kernel that
        # ran on any other stream would read it before it is written.
        q, k, v = inputs(1, 8, 8, 2048, 2048, 64, torch.bfloat16)
        ref = sattn.attention(q, k, v, "power", **STOCK["power"])
        torch.cuda.synchronize()
        side = torch.cuda.Stream()
        with torch.cuda.stream(side):
            late_q = torch.full_like(q, float("nan"))
            torch.cuda._sleep(200_000_000)
            late_q.copy_(q)
            out = sattn.attention(late_q, k, v, "power", **STOCK["power"])
        side.synchronize()
        torch.testing.assert_close(out, ref)

    def test_two_streams_at_once(self):
        kernel = sattn.Pattern.stock("sample").bind(
            **STOCK["sample"]).compile(heads=8, kv_heads=2, head_dim=64,
                                       dtype=torch.bfloat16, backend="cuda")
        cases = [inputs(1, 8, 2, 1024, 1024, 64, torch.bfloat16, seed=1),
                 inputs(2, 8, 2, 300, 777, 64, torch.bfloat16, seed=2)]
        expected = [kernel(*c) for c in cases]
        torch.cuda.synchronize()
        streams = [torch.cuda.Stream(), torch.cuda.Stream()]
        results = [[], []]
        for _ in range(20):
            for i, stream in enumerate(streams):
                with torch.cuda.stream(stream):
                    results[i].append(kernel(*cases[i]))
        torch.cuda.synchronize()
        for i in range(2):
            for out in results[i]:
                torch.testing.assert_close(out, expected[i])

    def test_bad_devices(self):
        q, k, v = inputs(1, 2, 2, 64, 64, 64, torch.bfloat16)
        with self.assertRaisesRegex(ValueError, "k is on cpu but q is on "
                                    "cuda:0"):
            sattn.attention(q, k.cpu(), v, "power")


@unittest.skipIf(CUDA_MISSING or custom_op_missing(),
                 CUDA_MISSING or custom_op_missing())
class CompiledModule(TestCase):
    def test_fullgraph(self):
        class Block(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.qkv = torch.nn.Linear(512, 3 * 512)
                self.out = torch.nn.Linear(512, 512)

            def forward(self, x):
                b, s, _ = x.shape
                q, k, v = self.qkv(x).view(b, s, 3, 4, 128).unbind(2)
                y = sattn.attention(q, k, v, "streaming", layout="bshd",
                                    **STOCK["streaming"])
                return self.out(y.reshape(b, s, 512))

        model = Block().cuda().to(torch.bfloat16)
        x = torch.randn(2, 1000, 512, device="cuda", dtype=torch.bfloat16)
        with torch.no_grad():
            eager = model(x)
            compiled = torch.compile(model, fullgraph=True)
            self.assertLessEqual(relative_l2(compiled(x), eager), 1e-2)
            explained = torch._dynamo.explain(model)(x)
        self.assertEqual(explained.graph_break_count, 0)
        self.assertEqual(explained.graph_count, 1)

    def test_opcheck(self):
        q, k, v = inputs(1, 4, 2, 128, 128, 64, torch.bfloat16)
        scores = torch.randn(1, 2, 128, device="cuda")
        torch.library.opcheck(
            torch.ops.sattn.attention.default,
            (q, k, v, "sparsek", "k=32,window=32", 0.0, True, "bhsd", scores,
             None))


def flex():
    """FlexAttention, or why it cannot run."""
    try:
        from torch.nn.attention import flex_attention as module
        return module, None
    except ImportError as e:
        return None, f"no torch.nn.attention.flex_attention ({e})"


@unittest.skipIf(CUDA_MISSING or flex()[1], CUDA_MISSING or flex()[1])
class AgainstFlexAttention(TestCase):
    """Flex on a BlockMask made from the pattern's own token mask computes
    the same blocks and the same output."""

    def check(self, name, params, seq=2048, heads=8, kv_heads=2,
              head_dim=128, key_score=None, q_k_read=False):
        module, _ = flex()
        q, k, v = inputs(1, heads, kv_heads, seq, seq, head_dim,
                         torch.bfloat16, seed=seq)
        pattern = sattn.Pattern.stock(name).bind(**params)
        dense = torch.from_numpy(pattern.mask(
            seq, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
            key_score=key_score, q=q if q_k_read else None,
            k=k if q_k_read else None)[0]).cuda()

        def mask_mod(b, h, q_idx, kv_idx):
            return dense[h, q_idx, kv_idx]

        block_mask = module.create_block_mask(
            mask_mod, None, heads, seq, seq, device="cuda",
            BLOCK_SIZE=128)
        flex_attention = torch.compile(module.flex_attention)
        want = flex_attention(q, k, v, block_mask=block_mask,
                              enable_gqa=True)
        got = sattn.attention(q, k, v, pattern, enable_gqa=True,
                              key_score=key_score)
        self.assertLessEqual(relative_l2(got, want), 2e-2)

    def test_power(self):
        self.check("power", {})

    def test_streaming(self):
        self.check("streaming", {"sink": 64, "window": 256})

    def test_sparsek(self):
        scores = torch.randn(1, 2, 2048, device="cuda")
        self.check("sparsek", {"k": 256, "window": 256}, key_score=scores)

    def test_hip(self):
        self.check("hip", {}, q_k_read=True)


@unittest.skipIf(CUDA_MISSING or flex()[1], CUDA_MISSING or flex()[1])
class Example(TestCase):
    def test_swap_flex_for_sattn(self):
        example = os.path.join(REPO, "examples", "pytorch", "swap_flex.py")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(REPO, "python")] +
            os.environ.get("PYTHONPATH", "").split(os.pathsep)))
        result = subprocess.run([sys.executable, example, "--device", "cuda"],
                                capture_output=True, text=True, env=env)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("same output", result.stdout)


if __name__ == "__main__":
    main()
