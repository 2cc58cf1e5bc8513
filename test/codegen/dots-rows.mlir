// RUN: sattn-opt %s --sattn-build-schedule --sattn-lower-selection --sattn-convert-tile-to-rows --sattn-convert-kernels-to-cpu | FileCheck %s
// RUN: sattn-opt %s --sattn-build-schedule --sattn-lower-selection '--sattn-convert-tile-to-rows=dots-by-depth=true' --sattn-convert-kernels-to-cpu | FileCheck %s --check-prefix=DEPTH
// sattn_tile.dots in the row layout on the CPU (tree_search's stage): each
// of the 32 x 64 results is one iteration, its products added in order over
// d; no dots op is left (dots-mma-sync.mlir: the GPU).
sattn.pattern @hip() block = 64 causal {
  sattn.tree_search block_q = 64, block_k = 2, k = 64, q_stride = 2, sink = 16, window = 64
}
sattn.kernel @hip {heads = 2, kv_heads = 1, head_dim = 64, element_type = bf16, target = #sattn.target<cpu>}
// CHECK-LABEL: func.func @sattn_select_tree_search_0(
// CHECK-NOT: sattn_tile.dots
// CHECK: %[[S:.+]] = memref.alloca() : memref<32x72xf32>
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c2048
// CHECK: arith.divui %{{.*}}, %c64
// CHECK: arith.remui %{{.*}}, %c64
// CHECK: scf.for {{.*}} iter_args
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %[[S]]
// CHECK-NOT: sattn_tile.dots

// By depth (the CPU pipeline): the rhs transposed to [d][n] in f32, then per
// lhs row its 64 results cleared and, for each d in order, each result adds
// its product (the innermost loop runs over consecutive results).
// DEPTH-LABEL: func.func @sattn_select_tree_search_0(
// DEPTH-NOT: sattn_tile.dots
// DEPTH: %[[T:.+]] = memref.alloca() : memref<64x64xf32>
// DEPTH: %[[S:.+]] = memref.alloca() : memref<32x72xf32>
// DEPTH: %[[V:.+]] = memref.load %{{.*}}[%[[C:arg[0-9]+]], %[[D:arg[0-9]+]]] : memref<64x72xbf16>
// DEPTH-NEXT: %[[W:.+]] = arith.extf %[[V]] : bf16 to f32
// DEPTH-NEXT: memref.store %[[W]], %[[T]][%[[D]], %[[C]]]
// DEPTH: scf.for %[[R:.+]] = %{{.*}} to %c32
// DEPTH: memref.store %cst{{.*}}, %[[S]][%[[R]], %{{.*}}]
// DEPTH: scf.for %[[D2:.+]] = %{{.*}} to %c64
// DEPTH: scf.for %[[C2:.+]] = %{{.*}} to %c64
// DEPTH: memref.load %[[T]][%[[D2]], %[[C2]]]
// DEPTH: arith.mulf
// DEPTH: memref.load %[[S]][%[[R]], %[[C2]]]
// DEPTH: arith.addf
// DEPTH: memref.store %{{.*}}, %[[S]][%[[R]], %[[C2]]]
// DEPTH-NOT: sattn_tile.dots
