// RUN: sattn-opt %s --sattn-build-schedule --sattn-tile-attention --sattn-convert-tile-to-rows | FileCheck %s --check-prefix=ROWS
// RUN: sattn-opt %s --sattn-build-schedule --sattn-tile-attention --sattn-convert-tile-to-rows --sattn-convert-kernels-to-cpu | FileCheck %s --check-prefix=CPU
// The `row` layout; the GPU's use of it is in tile-to-mma-sync.mlir.

// Streaming attention: a sink and a token window, static, no stage.
sattn.pattern @streaming() block = 64 causal {
  sattn.sink 16
  sattn.window 128 tokens
}
sattn.kernel @streaming {heads = 4, kv_heads = 2, head_dim = 32, element_type = bf16, target = #sattn.target<cpu>}

// No tile op is left; the row constructs are sattn_tile's portable ones.
// ROWS-NOT: sattn_tile.begin
// ROWS-NOT: sattn_tile.qk
// ROWS: sattn_tile.alloc_private : memref<64x32xf32>
// ROWS: sattn_tile.alloc_shared : memref<64x32xf32, #gpu.address_space<workgroup>>
// ROWS: sattn_tile.for_items
// ROWS: sattn_tile.for_rows 64
// ROWS: sattn_tile.coop_for
// ROWS: sattn_tile.barrier
// ROWS: linalg.matvec

// On the CPU one host function remains, with the kernel calling convention
// (9 memrefs, then the i64 scalars), and no sattn op.
// CPU-NOT: sattn
// CPU-LABEL: func.func @sattn_attention(
// CPU-SAME: %[[Q:[^:]+]]: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %{{.*}}: memref<?xbf16>, %[[OUT:[^:]+]]: memref<?xbf16>, %[[LSE:[^:]+]]: memref<?xf32>
// Per-row state and the staged key/value tiles live on the stack.
// CPU-DAG: memref.alloca() : memref<64x32xf32>
// CPU-DAG: memref.alloca() : memref<64x64xf32>
// Work items (batch, head, tile) are a loop over [GridBegin, GridEnd).
// CPU: scf.for
// q rows are loaded once, scaled, in f32.
// CPU: memref.load %[[Q]]
// CPU: arith.extf %{{.*}} : bf16 to f32
// Q·Kᵀ: one linalg op per row on the staged tile (each step a
// loop over the tile's rows); element masks only when the chunk needs them
// (an scf.if on the chunk's test).
// CPU: linalg.matvec ins(%{{.*}}, %{{.*}} : memref<64x32xf32>, memref<32xf32, strided<[1], offset: ?>>)
// CPU: scf.for
// CPU: scf.if %{{.*}} {
// CPU: scf.for
// CPU: arith.select
// A chunk counts when its max is not -inf (a NaN max counts: the row keeps
// a NaN score). P·V adds the keys with p != 0 only: a masked key (p = 0)
// must not add 0 * Inf.
// CPU: %[[ANY:.+]] = arith.cmpf une, %{{.*}}, %{{.*}} : f32
// CPU: scf.if %[[ANY]] {
// CPU: math.exp
// CPU: %[[NONZERO:.+]] = arith.cmpf une, %[[P:[^,]+]], %{{.*}} : f32
// CPU-NEXT: scf.if %[[NONZERO]] {
// CPU: arith.mulf %[[P]], %{{.*}} : f32
// out is written once, rounded to bf16, and lse in f32.
// CPU: arith.truncf %{{.*}} : f32 to bf16
// CPU: memref.store %{{.*}}, %[[OUT]]
// CPU: math.log
// CPU: memref.store %{{.*}}, %[[LSE]]
