// PowerAttention (seed power-attention): causal ∩ (sink ∪ window ∪ pow2
// strides). Each query block sees its sink block, the last `window` blocks and
// every block at a power-of-two block distance, so information reaches any
// earlier token in O(log n) layers.
// Differs from the paper: the sink is given in tokens (default one block of
// 256), and the window counts the diagonal block (docs/patterns.md).
sattn.pattern @power(block = 256, window = 5, sink = 256)
    block = #sattn.param<"block"> causal {
  sattn.sink #sattn.param<"sink">
  sattn.window #sattn.param<"window"> blocks
  sattn.strides pow2
}
