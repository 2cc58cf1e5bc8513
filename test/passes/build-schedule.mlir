// RUN: sattn-opt %s --split-input-file --sattn-build-schedule | FileCheck %s

// PowerAttention: static sources in pattern order, no stage, tiles that
// stay inside one 256-token query block.
sattn.pattern @power(block = 256, window = 5, sink = 256) block = 256 causal {
  sattn.sink 256
  sattn.window 5 blocks
  sattn.strides pow2
}
sattn.kernel @power {heads = 32, kv_heads = 8, head_dim = 128, element_type = bf16, target = #sattn.target<gpu>}
// CHECK-LABEL: sattn.pattern @power
// CHECK: sattn.kernel @power
// CHECK-SAME: schedule = #sattn.schedule<tile_q = 64, chunk = 32, tiles = absolute, sources = [0, 1, 2], attention = "sattn_attention">

// -----

// A 16-token block makes 16-row tiles; D = 64 stages 64 keys at a time.
sattn.pattern @small() block = 16 causal {
  sattn.window 2 blocks
  sattn.diagonals [4]
}
sattn.kernel @small {heads = 4, kv_heads = 4, head_dim = 64, element_type = f32, target = #sattn.target<cpu>}
// CHECK-LABEL: sattn.pattern @small
// CHECK: schedule = #sattn.schedule<tile_q = 16, chunk = 64, tiles = absolute, sources = [0, 1], attention

// -----

// A dynamic primitive becomes the last source and a selection stage, even
// when it is written first.
sattn.pattern @sparsek() block = 128 causal {
  sattn.topk k = 64 tokens by key_score
  sattn.window 64 tokens
}
sattn.kernel @sparsek {heads = 4, kv_heads = 1, head_dim = 64, element_type = f16, target = #sattn.target<cpu>}
// CHECK-LABEL: sattn.pattern @sparsek
// CHECK: sources = [1, 0]
// CHECK-SAME: stages = [<"sattn_select_topk_0_checkpoints", primitive = 0, grid = heads, threads = 128, split = 64>, <"sattn_select_topk_0_chunks", primitive = 0, grid = heads, threads = 128, split = 64>, <"sattn_select_topk_0_lists", primitive = 0, grid = heads, threads = 128, split = 64>]

// -----

// tree_search: tiles and the stage's query blocks follow local rows.
sattn.pattern @hip() block = 64 causal {
  sattn.tree_search block_q = 32, block_k = 2, k = 64, q_stride = 2, sink = 8, window = 32
}
sattn.kernel @hip {heads = 2, kv_heads = 2, head_dim = 64, element_type = f32, target = #sattn.target<cpu>}
// CHECK-LABEL: sattn.pattern @hip
// CHECK: tile_q = 32, chunk = 64, tiles = local, sources = [0]
// CHECK-SAME: stages = [<"sattn_select_tree_search_0", primitive = 0, grid = query_blocks, query_block = 32, blocks = local, threads = 128>]

// -----

// Block top-k: one selection per query block of B positions.
sattn.pattern @blocks() block = 32 causal {
  sattn.sink 8
  sattn.topk cover = 0.9 blocks by pooled_qk
}
sattn.kernel @blocks {heads = 2, kv_heads = 1, head_dim = 32, element_type = bf16, target = #sattn.target<gpu>}
// CHECK-LABEL: sattn.pattern @blocks
// CHECK: tile_q = 32, chunk = 64, tiles = absolute, sources = [0, 1]
// CHECK-SAME: stages = [<"sattn_select_topk_1", primitive = 1, grid = query_blocks, query_block = 32, threads = 128>]
