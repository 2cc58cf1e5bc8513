import numpy as np
import sattn

# A document mask written as a new user would, in the DSL.
source = """
pattern my_documents {
  causal
  input doc: i32[b, s]
  keep where doc[b, q] == doc[b, k]
}
"""
rng = np.random.default_rng(0)
q = rng.standard_normal((2, 8, 2048, 64), dtype=np.float32)
k = rng.standard_normal((2, 2, 2048, 64), dtype=np.float32)
v = rng.standard_normal((2, 2, 2048, 64), dtype=np.float32)
doc = np.stack([np.repeat([0, 1, 2], [300, 700, 1048]),
                np.repeat(np.arange(4), 512)])
pattern = sattn.Pattern.from_source(source)
out = sattn.attention(q, k, v, pattern, enable_gqa=True, inputs={"doc": doc})
ref = sattn.reference(q, k, v, pattern, enable_gqa=True, inputs={"doc": doc})
print("documents: max |out - ref| =", float(np.abs(out - ref).max()))
# New document lengths: the same kernel (no recompile).
kernel = pattern.compile(heads=8, kv_heads=2, head_dim=64, dtype="f32")
doc2 = np.stack([np.repeat(np.arange(8), 256)] * 2)
out2 = kernel(q, k, v, inputs={"doc": doc2})
print("compiled once:", kernel.origin, "| second layout ok:",
      bool(np.isfinite(out2).all()))
try:
    sattn.attention(q, k, v, pattern, enable_gqa=True,
                    inputs={"doc": doc[:, :100]})
except sattn.SattnError as e:
    print("error:", e)

# Gemma 2's soft-capped local layer.
gemma = sattn.Pattern.from_source("""
pattern gemma2_local(window = 4096, cap = 50.0) {
  causal
  window window tokens
  softcap cap
}
""")
out = sattn.attention(q, k, v, gemma, enable_gqa=True, window=1024, cap=30.0)
ref = sattn.reference(q, k, v, gemma, enable_gqa=True, window=1024, cap=30.0)
print("gemma2_local: max |out - ref| =", float(np.abs(out - ref).max()))
