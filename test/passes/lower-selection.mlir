// RUN: sattn-opt %s -split-input-file --sattn-build-schedule --sattn-lower-selection | FileCheck %s
// One function per selection stage, written once for every target with the
// kernel calling convention, sattn_tile's parallel constructs and the
// stage's threads; the request stays (before the functions) for
// sattn-tile-attention.

// Stripes: three stages. rows, one work item per (batch, head, group of
// four sample slots): the group's q rows and key chunks staged in shared
// memory, each row's max over the threads, then each thread's float64 sum
// of its keys' exponentials over every chunk, added over the threads once;
// scores, 256 items per (batch, head), each over every 256th key block:
// the block's mass of each sampled row (float64 exponentials over the
// row's denominator), into the column and the row's run; rank, one item
// per (batch, head): diagonal scores from the runs, totals, ranks, cover
// flags.
// (On the CPU keys are read in place: the next case.)
sattn.pattern @sample() block = 64 causal {
  sattn.stripes segments = 2, rows = 4, cover = 0.95, window_frac = 0.05
}
sattn.kernel @sample {heads = 2, kv_heads = 2, head_dim = 32, element_type = f32, target = #sattn.target<gpu>}
// CHECK: sattn.kernel @sample
// CHECK-SAME: stages = [<"sattn_select_stripes_0_rows", primitive = 0, grid = heads, threads = 128, split = 2>, <"sattn_select_stripes_0_scores", primitive = 0, grid = heads, threads = 128, split = 256>, <"sattn_select_stripes_0_rank", primitive = 0, grid = heads, threads = 128>]
// CHECK-LABEL: func.func @sattn_select_stripes_0_rows(
// CHECK-SAME: %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %[[WSF:[^:]+]]: memref<?xf32>, %[[WSI:[^:]+]]: memref<?xi32>
// CHECK-SAME: attributes {sattn_tile.threads = 128 : i64}
// CHECK-DAG: %[[Q:.+]] = sattn_tile.alloc_shared : memref<4x32xf32, #gpu.address_space<workgroup>>
// CHECK-DAG: %[[KEYS:.+]] = sattn_tile.alloc_shared : memref<256x33xf32, #gpu.address_space<workgroup>>
// CHECK-DAG: %[[PARTIAL:.+]] = sattn_tile.alloc_shared : memref<4x128xf64, #gpu.address_space<workgroup>>
// CHECK-DAG: %[[THREADSUM:.+]] = sattn_tile.alloc_private : memref<128x4xf64>
// CHECK: sattn_tile.for_items
// CHECK: sattn_tile.coop_for
// CHECK: memref.store %{{.*}}, %[[Q]]
// CHECK: sattn_tile.barrier
// CHECK: sattn_tile.coop_for
// CHECK: memref.store %{{.*}}, %[[KEYS]]
// CHECK: sattn_tile.barrier
// CHECK: sattn_tile.for_rows
// CHECK: arith.maximumf
// CHECK: math.exp %{{.*}} : f64
// CHECK: arith.addf %{{.*}} : f64
// CHECK: memref.store %{{.*}}, %[[THREADSUM]]
// CHECK: sattn_tile.for_rows
// CHECK: memref.store %{{.*}}, %[[PARTIAL]]
// CHECK: sattn_tile.barrier
// CHECK: memref.load %[[PARTIAL]]
// CHECK: memref.store %{{.*}}, %[[WSF]]
// CHECK: memref.store %{{.*}}, %[[WSI]]
// CHECK-LABEL: func.func @sattn_select_stripes_0_scores(
// CHECK-DAG: %[[SPARTIAL:.+]] = sattn_tile.alloc_shared : memref<4x128xf64, #gpu.address_space<workgroup>>
// CHECK: sattn_tile.for_items
// CHECK: scf.for
// CHECK: sattn_tile.coop_for
// CHECK: sattn_tile.barrier
// CHECK: scf.for {{.*}} iter_args
// CHECK: math.exp %{{.*}} : f64
// CHECK: memref.store %{{.*}}, %[[SPARTIAL]]
// CHECK: sattn_tile.barrier
// CHECK: %[[MASS:.+]] = arith.divf %{{.*}} : f64
// CHECK: memref.store %[[MASS]], %[[MASSES:[0-9]+]]
// CHECK: sattn_tile.barrier
// CHECK: memref.load %[[MASSES]]
// CHECK: arith.addf %{{.*}} : f64
// CHECK-LABEL: func.func @sattn_select_stripes_0_rank(
// CHECK: sattn_tile.for_items
// CHECK: sattn_tile.coop_for
// CHECK: scf.for {{.*}} iter_args
// CHECK: arith.addf %{{.*}} : f64
// CHECK: sattn_tile.barrier
// CHECK: sattn_tile.coop_for
// CHECK: sattn_tile.barrier
// CHECK: scf.while

// -----

// Stripes on the CPU: the same stages, keys read in place (no staged keys).
sattn.pattern @sample_cpu() block = 64 causal {
  sattn.stripes segments = 2, rows = 4, cover = 0.95, window_frac = 0.05
}
sattn.kernel @sample_cpu {heads = 2, kv_heads = 2, head_dim = 32, element_type = f32, target = #sattn.target<cpu>}
// CHECK-LABEL: func.func @sattn_select_stripes_0_rows(
// CHECK: sattn_tile.alloc_shared : memref<4x32xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: memref<256x33xf32
// CHECK: sattn_tile.for_items
// CHECK-LABEL: func.func @sattn_select_stripes_0_scores(
// CHECK-NOT: memref<256x33xf32
// CHECK: sattn_tile.for_items
// CHECK-LABEL: func.func @sattn_select_stripes_0_rank(

// -----

// tree_search: one work item per (batch, head, query block of local rows);
// branch arrays in shared memory when they fit. The 32 sampled rows
// (64 / q_stride) and 64 representative tokens at a time, in rows padded by
// 8 elements, scored by one sattn_tile.dots: on tensor cores for a bf16 GPU
// kernel, in order over d for f32 (and on the CPU: the next case).
sattn.pattern @hip() block = 64 causal {
  sattn.tree_search block_q = 64, block_k = 2, k = 64, q_stride = 2, sink = 16, window = 64
}
sattn.kernel @hip {heads = 2, kv_heads = 1, head_dim = 64, element_type = bf16, target = #sattn.target<gpu>}
// CHECK-LABEL: func.func @sattn_select_tree_search_0(
// CHECK-SAME: attributes {sattn_tile.threads = 128 : i64}
// CHECK-DAG: %[[Q:.+]] = sattn_tile.alloc_shared : memref<32x72xbf16, #gpu.address_space<workgroup>>
// CHECK-DAG: %[[K:.+]] = sattn_tile.alloc_shared : memref<64x72xbf16, #gpu.address_space<workgroup>>
// CHECK-DAG: %[[S:.+]] = sattn_tile.alloc_shared : memref<32x72xf32, #gpu.address_space<workgroup>>
// CHECK-DAG: sattn_tile.alloc_shared : memref<32xi32, #gpu.address_space<workgroup>>
// CHECK: sattn_tile.for_items
// CHECK: memref.store %{{.*}}, %[[Q]]
// CHECK: scf.while
// CHECK: memref.store %{{.*}}, %[[K]]
// CHECK: sattn_tile.dots %[[Q]], %[[K]] into %[[S]] depth 64 layout <mma_sync>
// CHECK: memref.load %[[S]]
// CHECK: arith.maximumf

// -----

sattn.pattern @hip() block = 64 causal {
  sattn.tree_search block_q = 64, block_k = 2, k = 64, q_stride = 2, sink = 16, window = 64
}
sattn.kernel @hip {heads = 2, kv_heads = 1, head_dim = 64, element_type = bf16, target = #sattn.target<cpu>}
// CHECK-LABEL: func.func @sattn_select_tree_search_0(
// CHECK: sattn_tile.dots %{{.*}}, %{{.*}} into %{{.*}} depth 64 layout <row> : memref<32x72xbf16, {{.*}}>, memref<64x72xbf16, {{.*}}>, memref<32x72xf32, {{.*}}>

// -----

sattn.pattern @hip() block = 64 causal {
  sattn.tree_search block_q = 64, block_k = 2, k = 64, q_stride = 2, sink = 16, window = 64
}
sattn.kernel @hip {heads = 2, kv_heads = 1, head_dim = 64, element_type = f32, target = #sattn.target<gpu>}
// CHECK-LABEL: func.func @sattn_select_tree_search_0(
// CHECK: sattn_tile.dots %{{.*}}, %{{.*}} into %{{.*}} depth 64 layout <row> : memref<32x65xf32, {{.*}}>, memref<64x65xf32, {{.*}}>, memref<32x72xf32, {{.*}}>

// -----

// Token top-k: three stages over (batch, head) x 64 items, the heads of a
// KV group sharing its tasks: the checkpoints' k-th best keys by a counting
// search (15 candidates per round, counted per thread, then over the
// threads), each chunk's thresholds from a heap of its prefix's worst kept
// keys (64-bit rank keys, unsigned comparisons), and each tile's list.
sattn.pattern @sparsek() block = 128 causal {
  sattn.window 64 tokens
  sattn.topk k = 32 tokens by key_score
}
sattn.kernel @sparsek {heads = 2, kv_heads = 1, head_dim = 64, element_type = f16, target = #sattn.target<cpu>}
// CHECK-LABEL: func.func @sattn_select_topk_1_checkpoints(
// CHECK-DAG: %[[COUNTS:.+]] = sattn_tile.alloc_shared : memref<15x128xi32, #gpu.address_space<workgroup>>
// CHECK-DAG: %[[MINE:.+]] = sattn_tile.alloc_private : memref<128x15xi32>
// CHECK: sattn_tile.for_items
// CHECK: scf.for
// CHECK: arith.cmpi uge, %{{.*}} : i64
// CHECK: memref.store %{{.*}}, %[[MINE]]
// CHECK: memref.store %{{.*}}, %[[COUNTS]]
// CHECK: sattn_tile.barrier
// CHECK-LABEL: func.func @sattn_select_topk_1_chunks(
// CHECK-DAG: %[[HEAP:.+]] = sattn_tile.alloc_shared : memref<2050xi64, #gpu.address_space<workgroup>>
// CHECK: sattn_tile.for_items
// CHECK: scf.while
// CHECK: arith.cmpi ugt, %{{.*}} : i64
// CHECK: memref.store %{{.*}}, %[[HEAP]]
// CHECK-LABEL: func.func @sattn_select_topk_1_lists(
// CHECK: sattn_tile.for_items
// CHECK: sattn_tile.for_rows
// CHECK: arith.cmpi uge, %{{.*}} : i64
// CHECK: sattn_tile.barrier

// -----

// Block top-k: per (batch, head, query block); the static primitives'
// membership decides the candidates.
sattn.pattern @blocks() block = 32 causal {
  sattn.sink 8
  sattn.topk cover = 0.9 blocks by pooled_qk
}
sattn.kernel @blocks {heads = 2, kv_heads = 1, head_dim = 32, element_type = bf16, target = #sattn.target<cpu>}
// CHECK-LABEL: func.func @sattn_select_topk_1(
// CHECK: sattn_tile.for_items
// CHECK: sattn_tile.coop_for
// CHECK: arith.cmpi slt, %{{.*}}, %c8
// CHECK: math.exp %{{.*}} : f64

// -----

// Permute: five stages over grids of (batch, head) items: probe-row
// statistics, key importance (a float64 sum per thread's key), the
// segment sort (a NaN ranks last), pooled blocks, and the kept blocks of
// every query block.
sattn.pattern @pbs() block = 128 causal {
  sattn.permute segment = 256, probe = 128, block = 128, cover = 0.9
}
sattn.kernel @pbs {heads = 2, kv_heads = 1, head_dim = 64, element_type = f32, target = #sattn.target<cpu>}
// CHECK-LABEL: func.func @sattn_select_permute_0_probe(
// CHECK: sattn_tile.alloc_shared : memref<4x64xf32, #gpu.address_space<workgroup>>
// CHECK: sattn_tile.alloc_private : memref<128x4xf32>
// CHECK: sattn_tile.for_items
// CHECK: math.exp %{{.*}} : f64
// CHECK-LABEL: func.func @sattn_select_permute_0_importance(
// CHECK: sattn_tile.alloc_private : memref<128x1xf64>
// CHECK: sattn_tile.for_items
// CHECK: math.exp %{{.*}} : f64
// CHECK-LABEL: func.func @sattn_select_permute_0_sort(
// CHECK: sattn_tile.for_items
// CHECK: sattn_tile.coop_for
// CHECK: arith.cmpf uno
// CHECK-LABEL: func.func @sattn_select_permute_0_blocks(
// CHECK: sattn_tile.coop_for
// CHECK-LABEL: func.func @sattn_select_permute_0_lists(
// CHECK: sattn_tile.alloc_shared : memref<2xf64, #gpu.address_space<workgroup>>
// CHECK: sattn_tile.for_items
// CHECK: scf.while
