// RUN: sattn-opt %s | FileCheck %s
// RUN: sattn-opt %s | sattn-opt | FileCheck %s
// The kernel constructs of sattn_tile print and parse back.

// CHECK-LABEL: func.func @kernel(
// CHECK-SAME: attributes {sattn_tile.threads = 128 : i64}
// CHECK: %[[K:.+]] = sattn_tile.alloc_shared : memref<64xi32, #gpu.address_space<workgroup>>
// CHECK: %[[P:.+]] = sattn_tile.alloc_private : memref<128x2xf32>
// CHECK: %[[T:.+]] = sattn_tile.thread_id
// CHECK: sattn_tile.for_items %{{.*}} to %{{.*}} {
// CHECK-NEXT: ^bb0(%[[I:.+]]: index):
// CHECK: sattn_tile.coop_for %{{.*}} {
// CHECK: sattn_tile.barrier
// CHECK: sattn_tile.for_rows 64 {
// CHECK-NEXT: ^bb0(%{{.*}}: index, %[[SLOT:.+]]: index):
// CHECK: memref.store %{{.*}}, %[[P]][%[[SLOT]], %{{.*}}]
func.func @kernel(%begin: index, %end: index, %n: index) attributes {sattn_tile.threads = 128 : i64} {
  %keys = sattn_tile.alloc_shared : memref<64xi32, #gpu.address_space<workgroup>>
  %state = sattn_tile.alloc_private : memref<128x2xf32>
  %t = sattn_tile.thread_id
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0 : i32
  %f = arith.constant 0.0 : f32
  sattn_tile.for_items %begin to %end {
  ^bb0(%item: index):
    sattn_tile.coop_for %n {
    ^bb0(%i: index):
      memref.store %zero, %keys[%i] : memref<64xi32, #gpu.address_space<workgroup>>
    }
    sattn_tile.barrier
    sattn_tile.for_rows 64 {
    ^bb0(%r: index, %slot: index):
      memref.store %f, %state[%slot, %c0] : memref<128x2xf32>
    }
  }
  return
}

// CHECK-LABEL: func.func @modify(
// CHECK: %[[M:.+]] = sattn_tile.modify %{{.*}}, %{{.*}}, %{{.*}} : !{{.*}}, <range>, !{{.*}} {
// CHECK-NEXT: ^bb0(%{{.*}}: index, %[[POS:.+]]: index, %[[J:.+]]: index, %[[S:.+]]: f32):
// CHECK: math.tanh
// CHECK: sattn_tile.yield %{{.*}} : f32
// CHECK: sattn_tile.softmax %{{.*}}, %[[M]]
!mtile = !sattn_tile.tile<rows = 64, head_dim = 64, element = f32, chunk = 64, layout = <row>>
!mscores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <row>>
func.func @modify(%t: !mtile, %c: index, %s: !mscores) {
  %ch = sattn_tile.range_chunk %t, %c, %c : !mtile -> !sattn_tile.chunk<range>
  %m = sattn_tile.modify %t, %ch, %s : !mtile, !sattn_tile.chunk<range>, !mscores {
  ^bb0(%row: index, %pos: index, %j: index, %x: f32):
    %cap = arith.constant 5.0 : f32
    %y = arith.divf %x, %cap : f32
    %z = math.tanh %y : f32
    %w = arith.mulf %z, %cap : f32
    sattn_tile.yield %w : f32
  }
  %p = sattn_tile.softmax %t, %m : !mtile, !mscores
  return
}

// The overlapped chunk loop of layouts with asynchronous products: carried
// probabilities, staging slots, Q·Kᵀ and P·V issued apart from their waits,
// a softmax whose rescale comes later.
// CHECK-LABEL: func.func @overlapped(
// CHECK: %[[LAST:.+]] = sattn_tile.for_chunks %{{.*}}, %{{.*}} to %{{.*}} pipelined carry(%[[P0:.+]] : !{{.*}}) : !{{.*}} -> !{{.*}} {
// CHECK-NEXT: ^bb0(%[[C0:.+]]: index, %[[N:.+]]: index, %[[PREV:.+]]: !{{.*}}):
// CHECK: %[[S:.+]] = sattn_tile.qk %{{.*}} slot %{{.*}} async :
// CHECK-NEXT: sattn_tile.pv %{{.*}}, %[[PREV]] of %{{.*}} slot %{{.*}} async :
// CHECK-NEXT: %[[READY:.+]] = sattn_tile.qk_wait %{{.*}}, %[[S]] :
// CHECK-NEXT: sattn_tile.copy %{{.*}}, %{{.*}} keys slot %{{.*}} if %{{.*}} :
// CHECK-NEXT: %[[P:.+]] = sattn_tile.softmax %{{.*}}, %[[READY]] defer_rescale :
// CHECK-NEXT: sattn_tile.pv_wait
// CHECK-NEXT: sattn_tile.rescale %{{.*}}, %[[P]] :
// CHECK-NEXT: sattn_tile.yield %[[P]] :
// CHECK: sattn_tile.pv %{{.*}}, %[[LAST]] :
!wtile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <wgmma>>
!wscores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <wgmma>>
func.func @overlapped(%t: !wtile, %lo: index, %hi: index, %p0: !wscores, %more: i1) {
  %last = sattn_tile.for_chunks %t, %lo to %hi pipelined carry(%p0 : !wscores) : !wtile -> !wscores {
  ^bb0(%c0: index, %n: index, %prev: !wscores):
    %ch = sattn_tile.range_chunk %t, %c0, %n : !wtile -> !sattn_tile.chunk<range>
    %s = sattn_tile.qk %t slot %n async : !wtile -> !wscores
    sattn_tile.pv %t, %prev of %ch slot %n async : !wtile, !wscores, !sattn_tile.chunk<range>
    %ready = sattn_tile.qk_wait %t, %s : !wtile, !wscores
    sattn_tile.copy %t, %ch keys slot %n if %more : !wtile, !sattn_tile.chunk<range>
    %p = sattn_tile.softmax %t, %ready defer_rescale : !wtile, !wscores
    sattn_tile.pv_wait %t : !wtile
    sattn_tile.rescale %t, %p : !wtile, !wscores
    sattn_tile.yield %p : !wscores
  }
  sattn_tile.pv %t, %last : !wtile, !wscores
  return
}

// CHECK-LABEL: func.func @dots(
// CHECK: sattn_tile.dots %{{.*}}, %{{.*}} into %{{.*}} depth 64 layout <mma_sync> : memref<32x72xbf16, #gpu.address_space<workgroup>>, memref<64x72xbf16, #gpu.address_space<workgroup>>, memref<32x72xf32, #gpu.address_space<workgroup>>
// CHECK: sattn_tile.dots %{{.*}}, %{{.*}} into %{{.*}} depth 64 layout <row> : memref<16x65xf32, #gpu.address_space<workgroup>>, memref<8x65xf32, #gpu.address_space<workgroup>>, memref<16x8xf32, #gpu.address_space<workgroup>>
func.func @dots() attributes {sattn_tile.threads = 128 : i64} {
  %q = sattn_tile.alloc_shared : memref<32x72xbf16, #gpu.address_space<workgroup>>
  %k = sattn_tile.alloc_shared : memref<64x72xbf16, #gpu.address_space<workgroup>>
  %s = sattn_tile.alloc_shared : memref<32x72xf32, #gpu.address_space<workgroup>>
  sattn_tile.dots %q, %k into %s depth 64 layout <mma_sync> : memref<32x72xbf16, #gpu.address_space<workgroup>>, memref<64x72xbf16, #gpu.address_space<workgroup>>, memref<32x72xf32, #gpu.address_space<workgroup>>
  %a = sattn_tile.alloc_shared : memref<16x65xf32, #gpu.address_space<workgroup>>
  %b = sattn_tile.alloc_shared : memref<8x65xf32, #gpu.address_space<workgroup>>
  %r = sattn_tile.alloc_shared : memref<16x8xf32, #gpu.address_space<workgroup>>
  sattn_tile.dots %a, %b into %r depth 64 layout <row> : memref<16x65xf32, #gpu.address_space<workgroup>>, memref<8x65xf32, #gpu.address_space<workgroup>>, memref<16x8xf32, #gpu.address_space<workgroup>>
  return
}
