// RUN: sattn-opt %s --split-input-file --sattn-build-schedule | FileCheck %s

// PowerAttention: static enumerators in pattern order, no stage, tiles that
// stay inside one 256-token query block.
sattn.pattern @power(block = 256, window = 5, sink = 256) block = 256 causal {
  sattn.sink 256
  sattn.window 5 blocks
  sattn.strides pow2
}
sattn.kernel @power {heads = 32, kv_heads = 8, head_dim = 128, element_type = bf16, target = "gpu"}
// CHECK-LABEL: sattn.pattern @power
// CHECK: sattn.kernel @power
// CHECK-SAME: schedule = {attention = "sattn_attention", enumerators = [{kind = "sink", primitive = 0 : i64}, {kind = "window_blocks", primitive = 1 : i64}, {kind = "strides_pow2", primitive = 2 : i64}], stages = [], tile_k = 32 : i64, tile_q = 64 : i64, tiles = "absolute"}

// -----

// A 16-token block makes 16-row tiles; D = 64 stages 64 keys at a time.
sattn.pattern @small() block = 16 causal {
  sattn.window 2 blocks
  sattn.diagonals [4]
}
sattn.kernel @small {heads = 4, kv_heads = 4, head_dim = 64, element_type = f32, target = "cpu"}
// CHECK-LABEL: sattn.pattern @small
// CHECK: enumerators = [{kind = "window_blocks", primitive = 0 : i64}, {kind = "diagonals", primitive = 1 : i64}]
// CHECK-SAME: tile_k = 64 : i64, tile_q = 16 : i64, tiles = "absolute"

// -----

// A dynamic primitive becomes the last enumerator and a selection stage.
sattn.pattern @sparsek() block = 128 causal {
  sattn.window 64 tokens
  sattn.topk k = 64 tokens by key_score
}
sattn.kernel @sparsek {heads = 4, kv_heads = 1, head_dim = 64, element_type = f16, target = "cpu"}
// CHECK-LABEL: sattn.pattern @sparsek
// CHECK: enumerators = [{kind = "window_tokens", primitive = 0 : i64}, {kind = "topk_tokens", primitive = 1 : i64}]
// CHECK-SAME: stages = [{function = "sattn_select_topk_tokens_1", grid = "heads", kind = "topk_tokens", primitive = 1 : i64, query_block = 0 : i64, threads = 128 : i64}]
