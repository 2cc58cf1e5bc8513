// RUN: sattn-opt %s --split-input-file --verify-diagnostics --sattn-build-schedule

sattn.pattern @two() block = 64 causal {
  sattn.topk k = 16 tokens by key_score
  sattn.stripes segments = 2, rows = 4, cover = 0.9, window_frac = 0.05
}
// expected-error @+1 {{'sattn.kernel' op pattern 'two': not supported by the compiler yet: more than one dynamic primitive (stripes, tree_search, topk, permute) in one pattern}}
sattn.kernel @two {heads = 4, kv_heads = 4, head_dim = 64, element_type = f32, target = #sattn.target<cpu>}

// -----

sattn.pattern @mixed() block = 64 causal {
  sattn.window 2 blocks
  sattn.tree_search block_q = 64, block_k = 2, k = 64, q_stride = 2, sink = 8, window = 32
}
// expected-error @+1 {{'sattn.kernel' op pattern 'mixed': not supported by the compiler yet: tree_search together with block-level primitives (its query blocks follow local indices)}}
sattn.kernel @mixed {heads = 4, kv_heads = 4, head_dim = 64, element_type = f32, target = #sattn.target<cpu>}


// -----

sattn.pattern @wide() block = 64 causal {
  sattn.window 2 blocks
}
// CHECK-NOT: error
sattn.kernel @wide {heads = 4, kv_heads = 4, head_dim = 256, element_type = bf16, target = #sattn.target<cpu>}
