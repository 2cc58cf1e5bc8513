// HiP attention (seed hip-attention), v1.1 form: per query block, a
// hierarchical search over key blocks keeps the k / block_k best blocks by the
// max score of each branch's centre block; sink and window tokens are added.
// Differs from the paper: scores are exact dot products (no approximation in
// the search), and the branch representative is the centre block.
sattn.pattern @hip(block_q = 64, block_k = 2, k = 512, q_stride = 2, sink = 16,
                   window = 256)
    block = 64 causal {
  sattn.tree_search block_q = #sattn.param<"block_q">,
      block_k = #sattn.param<"block_k">, k = #sattn.param<"k">,
      q_stride = #sattn.param<"q_stride">, sink = #sattn.param<"sink">,
      window = #sattn.param<"window">
}
