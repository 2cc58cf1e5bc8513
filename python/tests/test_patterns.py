"""sattn.Pattern: loading, binding, masks (against sattn-compile's), pictures;
the package's library, version and cache folder."""

import os
import subprocess
import tempfile
import unittest
from unittest import mock

import numpy as np

from support import STOCK, TestCase, random_inputs, sattn

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOOLS = os.environ.get("SATTN_TOOLS_DIR", os.path.join(REPO, "build", "bin"))

WINDOW = """
# Causal, the diagonal block and `window - 1` blocks before it.
pattern local(window = 2) {
  block 16
  causal
  window window blocks
}
"""


def window_mask(seq, block, window):
    i, j = np.ogrid[:seq, :seq]
    return (j <= i) & (j // block > i // block - window)


class Loading(TestCase):
    def test_from_source_and_bind(self):
        pattern = sattn.Pattern.from_source(WINDOW)
        self.assertEqual(pattern.name, "local")
        self.assertEqual(pattern.block, 16)
        self.assertEqual(pattern.reads, frozenset())
        self.assertEqual(pattern.params, {})
        wide = pattern.bind(window=3)
        self.assertEqual(wide.params, {"window": 3})
        self.assertEqual(repr(wide), "sattn.Pattern('local', window=3)")
        np.testing.assert_array_equal(pattern.mask(70)[0, 0],
                                      window_mask(70, 16, 2))
        np.testing.assert_array_equal(wide.mask(70)[0, 0],
                                      window_mask(70, 16, 3))

    def test_from_file_picks_a_pattern(self):
        two = WINDOW + WINDOW.replace("local", "other").replace("16", "32")
        with tempfile.NamedTemporaryFile("w", suffix=".sattn") as f:
            f.write(two)
            f.flush()
            other = sattn.Pattern.from_file(f.name, name="other")
            self.assertEqual(other.block, 32)
            with self.assertRaisesRegex(ValueError, "local"):
                sattn.Pattern.from_file(f.name)  # which one?

    def test_mlir_source(self):
        with open(os.path.join(REPO, "patterns", "library",
                               "streaming.mlir")) as f:
            text = f.read()
        pattern = sattn.Pattern.from_source(text, language="mlir")
        self.assertEqual(pattern.name, "streaming")

    def test_stock(self):
        self.assertEqual(sattn.stock_patterns(), sorted(STOCK))
        for name in STOCK:
            pattern = sattn.Pattern.stock(name)
            self.assertEqual(pattern.name, name)
        reads = {name: sattn.Pattern.stock(name).reads for name in STOCK}
        self.assertEqual(reads["sparsek"], frozenset({"key_score"}))
        self.assertEqual(reads["sample"], frozenset({"q", "k"}))
        self.assertEqual(reads["power"], frozenset())

    def test_pattern_path_environment(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "mine.sattn"), "w") as f:
                f.write(WINDOW)
            with mock.patch.dict(os.environ, {"SATTN_PATTERN_PATH": d}):
                self.assertIn("mine", sattn.stock_patterns())
                self.assertEqual(sattn.Pattern.stock("mine").name, "local")
                q, k, v, _ = random_inputs(1, 1, 1, 40, 40, 32)
                sattn.attention(q, k, v, "mine")

    def test_edited_file_is_loaded_again(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "p.sattn")
            q, k, v, _ = random_inputs(1, 1, 1, 64, 64, 32)
            with open(path, "w") as f:
                f.write(WINDOW)
            first = sattn.attention(q, k, v, path)
            with open(path, "w") as f:
                f.write(WINDOW.replace("window = 2", "window = 4"))
            os.utime(path, ns=(1, 1))  # a new mtime even within a tick
            second = sattn.attention(q, k, v, path)
            self.assertFalse(np.array_equal(first, second))


class Masks(TestCase):
    def test_matches_sattn_compile(self):
        """A dynamic pattern's mask from the C API and from the tool, on
        the same inputs."""
        tool = os.path.join(TOOLS, "sattn-compile")
        self.assertTrue(os.access(tool, os.X_OK), f"no {tool}")
        q, k, _, _ = random_inputs(1, 2, 1, 96, 128, 32, seed=11)
        params = {"block": 16, "alpha": 0.3}
        pattern = sattn.Pattern.stock("sample").bind(**params)
        mask = pattern.mask(96, kv_len=128, heads=2, kv_heads=1, head_dim=32,
                            q=q, k=k)
        with tempfile.TemporaryDirectory() as d:
            np.save(os.path.join(d, "q.npy"), q)
            np.save(os.path.join(d, "k.npy"), k)
            out = os.path.join(d, "mask.npy")
            sets = [f"--set={n}={v}" for n, v in params.items()]
            subprocess.run([tool, os.path.join(REPO, "patterns", "library",
                                               "sample.sattn"), *sets,
                            "--q", os.path.join(d, "q.npy"), "--k",
                            os.path.join(d, "k.npy"), "--emit=mask-npy",
                            "-o", out], check=True)
            expected = np.load(out).astype(bool)
        np.testing.assert_array_equal(mask, expected)
        causal = np.tril(np.ones((96, 128), dtype=bool), k=128 - 96)
        self.assertFalse((mask & ~causal).any())
        self.assertLess(mask.sum(), 0.9 * 2 * causal.sum())  # it selects

    def test_dynamic_pattern_needs_its_inputs(self):
        with self.assertRaisesRegex(ValueError, "pattern 'sparsek' selects "
                                    "keys from key_score at run time: pass "
                                    r"key_score= \[1, 1, 64\]"):
            sattn.Pattern.stock("sparsek").mask(64)
        scores = np.arange(64, dtype=np.float32).reshape(1, 1, 64)
        mask = sattn.Pattern.stock("sparsek").bind(k=8, window=8).mask(
            64, key_score=scores)
        # Top-8 scores are the last keys: each row keeps its window and the
        # highest-scoring earlier keys.
        self.assertTrue(mask[0, 0, 63, 48:].all())

    def test_inputs_must_match_the_sizes(self):
        q, k, _, _ = random_inputs(1, 2, 1, 32, 32, 32)
        with self.assertRaisesRegex(ValueError, r"q has shape \(1, 2, 32, "
                                    r"32\); these sizes need \(1, 1, 32, "
                                    r"32\)"):
            sattn.Pattern.stock("sample").mask(32, head_dim=32, q=q, k=k)

    def test_torch_free_sizes(self):
        with self.assertRaisesRegex(ValueError, "kv_heads 3 must divide "
                                    "heads 4"):
            sattn.Pattern.stock("power").mask(16, heads=4, kv_heads=3)
        with self.assertRaisesRegex(ValueError, "too large"):
            sattn.Pattern.stock("power").mask(1 << 17)


class Pictures(TestCase):
    def test_png_and_svg(self):
        pattern = sattn.Pattern.stock("power")
        with tempfile.TemporaryDirectory() as d:
            png = pattern.picture(os.path.join(d, "power.png"),
                                  seq_len=131072)
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            svg = pattern.picture(os.path.join(d, "power.svg"), seq_len=4096)
            with open(svg) as f:
                self.assertIn("<svg", f.read(200))
            with self.assertRaisesRegex(ValueError, "head 1"):
                pattern.picture(os.path.join(d, "x.png"), head=1)

    def test_dynamic_picture(self):
        q, k, _, _ = random_inputs(1, 1, 1, 256, 256, 64)
        with tempfile.TemporaryDirectory() as d:
            path = sattn.Pattern.stock("hip").picture(
                os.path.join(d, "hip.png"), seq_len=256, q=q, k=k)
            self.assertGreater(os.path.getsize(path), 100)


class Package(TestCase):
    def test_versions_agree(self):
        self.assertEqual(sattn.version(), sattn.__version__)

    def test_library_path(self):
        path = sattn.library_path()
        self.assertTrue(os.path.isfile(path), path)
        if os.environ.get("SATTN_LIBRARY"):
            self.assertEqual(os.path.realpath(path),
                             os.path.realpath(os.environ["SATTN_LIBRARY"]))

    def test_cache_dir(self):
        with mock.patch.dict(os.environ, {"SATTN_CACHE_DIR": "off"}):
            self.assertIsNone(sattn.cache_dir())
        with mock.patch.dict(os.environ, {"SATTN_CACHE_DIR": "/tmp/c"}):
            self.assertEqual(sattn.cache_dir(), "/tmp/c")
        env = {k: v for k, v in os.environ.items() if k != "SATTN_CACHE_DIR"}
        env["XDG_CACHE_HOME"] = "/tmp/xdg"
        with mock.patch.dict(os.environ, env, clear=True):
            self.assertEqual(sattn.cache_dir(), "/tmp/xdg/sattn")

    def test_missing_library_is_explained(self):
        script = ("import sattn\ntry:\n    sattn.version()\n"
                  "except sattn.SattnError as e:\n    print(e)\n")
        env = dict(os.environ, SATTN_LIBRARY="/no/libsattn.so")
        result = subprocess.run(
            [os.sys.executable, "-c", script], env=env, capture_output=True,
            text=True, cwd=os.path.join(REPO, "python"))
        self.assertIn("cannot find libsattn.so; tried:\n  /no/libsattn.so "
                      "(no such file)", result.stdout)
        self.assertIn("set SATTN_LIBRARY", result.stdout)

    def test_numpy_only_use_never_imports_torch(self):
        script = ("import sys, numpy as np, sattn\n"
                  "q = np.zeros((1, 1, 16, 32), np.float32)\n"
                  "sattn.attention(q, q, q, 'power')\n"
                  "print('torch' in sys.modules)\n")
        result = subprocess.run([os.sys.executable, "-c", script],
                                capture_output=True, text=True,
                                cwd=os.path.join(REPO, "python"))
        self.assertEqual(result.stdout.strip(), "False", result.stderr)


if __name__ == "__main__":
    unittest.main()
