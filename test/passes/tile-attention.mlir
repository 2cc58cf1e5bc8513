// RUN: sattn-opt %s --sattn-build-schedule --sattn-lower-selection --sattn-tile-attention | FileCheck %s --check-prefix=CPU
// The GPU forms (tensor-core and per-row tiles) are in tile-attention-gpu.mlir.

// Streaming attention: a sink and a token window, static, no stage.
sattn.pattern @streaming() block = 64 causal {
  sattn.sink 16
  sattn.window 128 tokens
}
sattn.kernel @streaming {heads = 4, kv_heads = 2, head_dim = 32, element_type = bf16, target = #sattn.target<cpu>}

// The request and the pattern are gone; one host function remains, with the
// kernel calling convention (9 memrefs, then the i64 scalars).
// CPU-NOT: sattn.
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
// Q·Kᵀ and P·V: one linalg op each per row on the staged tile; element
// masks only when the chunk needs them (an scf.if on the chunk's test).
// CPU: linalg.matvec ins(%{{.*}}, %{{.*}} : memref<64x32xf32>, memref<32xf32, strided<[1], offset: ?>>)
// CPU-NEXT: scf.if %{{.*}} {
// CPU: scf.for
// CPU: math.exp
// CPU: linalg.vecmat ins(%{{.*}}, %{{.*}} : memref<64xf32, strided<[1], offset: ?>>, memref<64x32xf32>)
// out is written once, rounded to bf16, and lse in f32.
// CPU: arith.truncf %{{.*}} : f32 to bf16
// CPU: memref.store %{{.*}}, %[[OUT]]
// CPU: math.log
// CPU: memref.store %{{.*}}, %[[LSE]]
