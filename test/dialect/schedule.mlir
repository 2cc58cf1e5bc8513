// RUN: sattn-opt %s | FileCheck %s
// RUN: sattn-opt %s | sattn-opt | FileCheck %s
// The typed schedule prints and parses back unchanged.

sattn.pattern @p() block = 64 causal {
  sattn.sink 8
  sattn.tree_search block_q = 32, block_k = 2, k = 64, q_stride = 2, sink = 8, window = 32
}
// CHECK-LABEL: sattn.kernel @p
// CHECK-SAME: schedule = #sattn.schedule<tile_q = 32, chunk = 64, tiles = local, sources = [0, 1], stages = [<"sattn_select_tree_search_1", primitive = 1, grid = query_blocks, query_block = 32, blocks = local, threads = 128>], attention = "sattn_attention">
// CHECK-SAME: target = #sattn.target<cpu>
sattn.kernel @p {heads = 2, kv_heads = 2, head_dim = 64, element_type = f32, target = #sattn.target<cpu>,
  schedule = #sattn.schedule<tile_q = 32, chunk = 64, tiles = local, sources = [0, 1],
    stages = [#sattn.stage<"sattn_select_tree_search_1", primitive = 1, grid = query_blocks, query_block = 32, blocks = local, threads = 128>],
    attention = "sattn_attention">}

// A stage on a heads grid omits the query block.
sattn.pattern @q() block = 64 causal {
  sattn.topk k = 4 tokens by key_score
}
// CHECK-LABEL: sattn.kernel @q
// CHECK-SAME: stages = [<"s", primitive = 0, grid = heads, threads = 64>]
sattn.kernel @q {heads = 2, kv_heads = 2, head_dim = 64, element_type = f32, target = #sattn.target<gpu>,
  schedule = #sattn.schedule<tile_q = 64, chunk = 32, tiles = absolute, sources = [0],
    stages = [#sattn.stage<"s", primitive = 0, grid = heads, threads = 64>], attention = "a">}

// A split grid prints its split; stages of one primitive come in order.
sattn.pattern @r() block = 64 causal {
  sattn.stripes segments = 2, rows = 4, cover = 0.95, window_frac = 0.05
}
// CHECK-LABEL: sattn.kernel @r
// CHECK-SAME: stages = [<"s_rows", primitive = 0, grid = heads, threads = 128, split = 8>, <"s_rank", primitive = 0, grid = heads, threads = 128>]
sattn.kernel @r {heads = 2, kv_heads = 2, head_dim = 64, element_type = f32, target = #sattn.target<gpu>,
  schedule = #sattn.schedule<tile_q = 64, chunk = 32, tiles = absolute, sources = [0],
    stages = [#sattn.stage<"s_rows", primitive = 0, grid = heads, threads = 128, split = 8>,
              #sattn.stage<"s_rank", primitive = 0, grid = heads, threads = 128, split = 1>], attention = "a">}
