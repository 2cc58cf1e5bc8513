// RUN: sattn-opt %s --sattn-build-schedule --sattn-lower-selection --sattn-tile-attention | FileCheck %s
// RUN: sattn-opt %s --sattn-build-schedule --sattn-tile-attention --sattn-convert-tile-to-rows | FileCheck %s --check-prefix=ROWS
// Score modifiers: each chunk's masked scores pass through sattn_tile.modify
// before the softmax; the region holds the pattern's modifiers in the
// order of docs/patterns.md (the cap, then ALiBi).

sattn.pattern @capped_alibi() block = 64 causal softcap = 30.0 alibi {
  sattn.window 128 tokens
}
sattn.kernel @capped_alibi {heads = 4, kv_heads = 2, head_dim = 32, element_type = f32, target = #sattn.target<cpu>}

// ALiBi's slopes of the 4 heads (2^-2, 2^-4, 2^-6, 2^-8), one picked per
// tile by its head.
// CHECK: sattn_tile.begin
// CHECK: arith.constant 3.906250e-03 : f32
// CHECK: arith.constant 1.562500e-02 : f32
// CHECK: arith.select
// CHECK: arith.constant 6.250000e-02 : f32
// CHECK: arith.select
// CHECK: arith.constant 2.500000e-01 : f32
// CHECK: %[[SLOPE:.+]] = arith.select
// CHECK-NOT: arith.select
// CHECK: sattn_tile.for_chunks
// CHECK: %[[M:.+]] = sattn_tile.mask
// CHECK: %[[MOD:.+]] = sattn_tile.modify %{{.*}}, %{{.*}}, %[[M]]
// CHECK-NEXT: ^bb0(%{{.*}}: index, %[[POS:.+]]: index, %[[J:.+]]: index, %[[S:.+]]: f32):
// CHECK-NEXT: %[[CAP:.+]] = arith.constant 3.000000e+01 : f32
// CHECK-NEXT: %[[X:.+]] = arith.divf %[[S]], %[[CAP]] : f32
// CHECK-NEXT: %[[T:.+]] = math.tanh %[[X]] : f32
// CHECK-NEXT: %[[C:.+]] = arith.mulf %[[T]], %[[CAP]] : f32
// CHECK-NEXT: %[[D:.+]] = arith.subi %[[POS]], %[[J]] : index
// CHECK-NEXT: %[[DI:.+]] = arith.index_cast %[[D]] : index to i64
// CHECK-NEXT: %[[DF:.+]] = arith.sitofp %[[DI]] : i64 to f32
// CHECK-NEXT: %[[PEN:.+]] = arith.mulf %[[SLOPE]], %[[DF]] : f32
// CHECK-NEXT: %[[R:.+]] = arith.subf %[[C]], %[[PEN]] : f32
// CHECK-NEXT: sattn_tile.yield %[[R]] : f32
// CHECK: sattn_tile.softmax %{{.*}}, %[[MOD]]

// The row layout applies the region to every kept score (not -inf) of each
// row, in place.
// ROWS-NOT: sattn_tile.modify
// ROWS: linalg.matvec
// ROWS: arith.cmpf une, %[[X:.+]], %{{.*}} : f32
// ROWS-NEXT: scf.if
// ROWS: math.tanh
// ROWS: arith.sitofp
// ROWS: memref.store
