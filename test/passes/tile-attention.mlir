// RUN: sattn-opt %s -split-input-file --sattn-build-schedule --sattn-lower-selection --sattn-tile-attention | FileCheck %s
// The attention function of each stock pattern's key sources as a tile
// program: one for_chunks loop per range or list a source walks, each body
// staging a chunk, copying K and V, and computing qk, mask, softmax and pv.

// Streaming (sink + token window) on the CPU: the `row` layout. The
// request and the pattern are gone; the function has the kernel calling
// convention (9 memrefs, then the i64 scalars) and its threads.
sattn.pattern @streaming() block = 64 causal {
  sattn.sink 16
  sattn.window 128 tokens
}
sattn.kernel @streaming {heads = 4, kv_heads = 2, head_dim = 32, element_type = bf16, target = #sattn.target<cpu>}

// CHECK: !tile = !sattn_tile.tile<rows = 64, head_dim = 32, element = bf16, chunk = 64, layout = <row>>
// CHECK-NOT: sattn.pattern
// CHECK-NOT: sattn.kernel
// CHECK-LABEL: func.func @sattn_attention(
// CHECK-SAME: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xf32>
// CHECK-SAME: attributes {sattn_tile.threads = 64 : i64}
// CHECK: sattn_tile.for_items
// CHECK: %[[T:.+]] = sattn_tile.begin batch(%{{.*}}) head(%{{.*}}) kv_head(%{{.*}}) first_row(%{{.*}}) seq_q(%{{.*}}) seq_k(%{{.*}}) scale = 0.17677669529663687 block = 64 : !tile
// The sink [0, 16): one range.
// CHECK: sattn_tile.for_chunks %[[T]], %{{.*}} to %{{.*}} : !tile {
// CHECK-NEXT: ^bb0(%[[C0:.+]]: index, %[[N:.+]]: index):
// Whether the chunk needs element masks: full, before the causal edge, ...
// CHECK: %[[NEEDS:.+]] = arith.xori
// CHECK: %[[CH:.+]] = sattn_tile.range_chunk %[[T]], %[[C0]], %[[N]] : !tile -> <range>
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[CH]] keys
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[CH]] values
// CHECK-NEXT: sattn_tile.wait %[[T]] pending 1
// CHECK-NEXT: %[[S:.+]] = sattn_tile.qk %[[T]] : !tile -> !scores
// CHECK-NEXT: %[[M:.+]] = sattn_tile.mask %[[T]], %[[CH]], %[[S]] if %[[NEEDS]]
// CHECK-NEXT: ^bb0(%{{.*}}: index, %[[POS:.+]]: index, %{{.*}}: index, %[[J:.+]]: index):
// The sink's own keys only need the causal test.
// CHECK: arith.cmpi sle, %[[J]], %[[POS]]
// CHECK: sattn_tile.yield %{{.*}} : i1
// CHECK: %[[P:.+]] = sattn_tile.softmax %[[T]], %[[M]]
// CHECK-NEXT: sattn_tile.wait %[[T]] pending 0
// CHECK-NEXT: sattn_tile.pv %[[T]], %[[P]]
// CHECK-NEXT: sattn_tile.release %[[T]]
// The window (p - 128, p]: a second range, whose masks also exclude the
// sink's keys.
// CHECK: sattn_tile.for_chunks %[[T]]
// CHECK: sattn_tile.mask
// CHECK: arith.cmpi slt, %{{.*}}, %c16
// CHECK: sattn_tile.store %[[T]] : !tile

// -----

// PowerAttention on the GPU at D = 64, bf16: the `mma_sync` layout with 128
// threads (4 warps of 16 rows); block windows and pow2 strides walk whole
// key blocks and skip those an earlier source covers.
sattn.pattern @power() block = 64 causal {
  sattn.sink 64
  sattn.window 2 blocks
  sattn.strides pow2
}
sattn.kernel @power {heads = 4, kv_heads = 2, head_dim = 64, element_type = bf16, target = #sattn.target<gpu>}

// CHECK: !tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <mma_sync>>
// CHECK-LABEL: func.func @sattn_attention(
// CHECK-SAME: sattn_tile.threads = 128 : i64
// CHECK: %[[T:.+]] = sattn_tile.begin
// Sink: a range.
// CHECK: sattn_tile.for_chunks %[[T]]
// Window blocks: a loop over the query block's window, each block a range.
// CHECK: scf.for
// CHECK: scf.if
// CHECK: sattn_tile.for_chunks %[[T]]
// Strides: distances 1, 2, 4, ... while they stay in the sequence.
// CHECK: scf.while
// CHECK: scf.if
// CHECK: sattn_tile.for_chunks %[[T]]
// CHECK: sattn_tile.store %[[T]]

// -----

// HiP (tree_search): its sink and window as ranges, then the selected
// blocks as a list of keys read from the workspace, always masked.
sattn.pattern @hip() block = 64 causal {
  sattn.tree_search block_q = 64, block_k = 2, k = 64, q_stride = 2, sink = 16, window = 64
}
sattn.kernel @hip {heads = 2, kv_heads = 1, head_dim = 64, element_type = f32, target = #sattn.target<cpu>}

// CHECK-LABEL: func.func @sattn_select_tree_search_0(
// CHECK-LABEL: func.func @sattn_attention(
// CHECK: %[[T:.+]] = sattn_tile.begin
// CHECK: sattn_tile.for_chunks %[[T]]
// CHECK: sattn_tile.range_chunk
// CHECK: sattn_tile.for_chunks %[[T]]
// CHECK: sattn_tile.range_chunk
// CHECK: sattn_tile.for_chunks %[[T]], %{{.*}} to %{{.*}}
// CHECK: %[[L:.+]] = sattn_tile.list_chunk %[[T]], %{{.*}} : !tile -> <list> {
// CHECK-NEXT: ^bb0(%{{.*}}: index):
// CHECK: memref.load %arg8
// CHECK: sattn_tile.yield %{{.*}} : index
// CHECK: sattn_tile.mask %[[T]], %[[L]], %{{.*}} if %true

// -----

// SparseK (token top-k): the candidates of the first row's prefix as a
// list, then the keys past it as a range tested against the thresholds.
sattn.pattern @sparsek() block = 128 causal {
  sattn.sink 8
  sattn.window 64 tokens
  sattn.topk k = 32 tokens by key_score
}
sattn.kernel @sparsek {heads = 2, kv_heads = 1, head_dim = 64, element_type = f16, target = #sattn.target<cpu>}

// CHECK-LABEL: func.func @sattn_attention(
// CHECK: %[[T:.+]] = sattn_tile.begin
// CHECK-COUNT-2: sattn_tile.range_chunk %[[T]]
// CHECK: sattn_tile.list_chunk %[[T]]
// CHECK: sattn_tile.range_chunk %[[T]]
// CHECK: sattn_tile.store %[[T]]

// -----

// PBS (permute): the own segment as a range, key 0's block and the kept
// permuted blocks as lists.
sattn.pattern @pbs() block = 128 causal {
  sattn.permute segment = 256, probe = 128, block = 128, cover = 0.9
}
sattn.kernel @pbs {heads = 2, kv_heads = 1, head_dim = 64, element_type = f32, target = #sattn.target<cpu>}

// CHECK-LABEL: func.func @sattn_attention(
// CHECK: %[[T:.+]] = sattn_tile.begin
// CHECK: sattn_tile.range_chunk %[[T]]
// CHECK: sattn_tile.list_chunk %[[T]]
// CHECK: sattn_tile.list_chunk %[[T]]
// CHECK: sattn_tile.store %[[T]]

// -----

// SampleAttention (stripes): kept columns and diagonals whole, other
// blocks only inside the window, as ranges over the causal key blocks.
sattn.pattern @sample() block = 64 causal {
  sattn.stripes segments = 2, rows = 4, cover = 0.95, window_frac = 0.05
}
sattn.kernel @sample {heads = 2, kv_heads = 2, head_dim = 32, element_type = f32, target = #sattn.target<cpu>}

// CHECK-LABEL: func.func @sattn_select_stripes_0_rank(
// CHECK-LABEL: func.func @sattn_attention(
// CHECK: %[[T:.+]] = sattn_tile.begin
// CHECK: scf.for
// CHECK: sattn_tile.for_chunks %[[T]]
// CHECK: sattn_tile.range_chunk %[[T]]
// CHECK-NOT: sattn_tile.list_chunk
// CHECK: sattn_tile.store %[[T]]
