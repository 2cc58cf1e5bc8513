// RUN: sattn-opt %s -split-input-file --sattn-build-schedule --sattn-lower-selection --sattn-convert-tile-to-mma-sync --sattn-convert-tile-to-rows --sattn-convert-kernels-to-gpu | FileCheck %s
// sattn_tile.dots on the GPU, in tree_search's stage: the mma_sync layout
// for bf16 operands, the row layout for f32 ones (dots-rows.mlir: the CPU).

// mma_sync: 32 x 64 results in m16n8 fragments dealt to the 4 warps; per
// fragment 4 k steps of m16n8k16 with A and B as 32-bit pairs from shared
// memory; results stored as pairs; a barrier. No dots op is left.
sattn.pattern @hip() block = 64 causal {
  sattn.tree_search block_q = 64, block_k = 2, k = 64, q_stride = 2, sink = 16, window = 64
}
sattn.kernel @hip {heads = 2, kv_heads = 1, head_dim = 64, element_type = bf16, target = #sattn.target<gpu>}
// CHECK-LABEL: gpu.func @sattn_select_tree_search_0(
// CHECK-SAME: workgroup(%[[Q:[^ ]+]] : memref<32x72xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[K:[^ ]+]] : memref<64x72xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[S:[^ ]+]] : memref<32x72xf32, #gpu.address_space<workgroup>>
// CHECK: %[[TID:.+]] = gpu.thread_id x
// CHECK: %[[WARP:.+]] = arith.divui %[[TID]], %c32
// CHECK: scf.for %[[F:.+]] = %[[WARP]] to %c16{{.*}} step %c4
// CHECK: vector.load %[[Q]]
// CHECK: vector.load %[[K]]
// CHECK-COUNT-4: nvvm.mma.sync A[{{.*}}]  B[{{.*}}]  C[{{.*}}]  {{{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>{{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>}
// CHECK: vector.store %{{.*}}, %[[S]]
// CHECK: vector.store %{{.*}}, %[[S]]
// CHECK: }
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: sattn_tile.dots

// -----

// f32 operands: the row layout on the GPU too, a thread per result.
sattn.pattern @hip() block = 64 causal {
  sattn.tree_search block_q = 64, block_k = 2, k = 64, q_stride = 2, sink = 16, window = 64
}
sattn.kernel @hip {heads = 2, kv_heads = 1, head_dim = 64, element_type = f32, target = #sattn.target<gpu>}
// CHECK-LABEL: gpu.func @sattn_select_tree_search_0(
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.for %{{.*}} = %{{.*}} to %c2048{{.*}} step %c128
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: nvvm.mma.sync
