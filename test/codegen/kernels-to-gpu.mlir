// RUN: sattn-opt %s -split-input-file --sattn-convert-kernels-to-gpu | FileCheck %s
// A kernel function becomes a gpu.func of its threads in @sattn_kernels.

// CHECK: module attributes {gpu.container_module}
// CHECK: gpu.module @sattn_kernels
// CHECK-LABEL: gpu.func @kernel(
// CHECK-SAME: %[[BEGIN:[^:]+]]: index, %[[END:[^:]+]]: index, %[[N:[^:]+]]: index)
// Shared buffers: workgroup attributions, 16-byte aligned.
// CHECK-SAME: workgroup(%[[KEYS:.+]] : memref<64xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK: %[[TID:.+]] = gpu.thread_id x
// Private buffers: one row per thread.
// CHECK: %[[STATE:.+]] = memref.alloca() : memref<1x2xf32>
// One work item per block.
// CHECK: %[[BLOCK:.+]] = gpu.block_id x
// CHECK: %[[ITEM:.+]] = arith.addi %[[BEGIN]], %[[BLOCK]]
// CHECK: %[[IN:.+]] = arith.cmpi slt, %[[ITEM]], %[[END]]
// CHECK: scf.if %[[IN]] {
// A cooperative loop strided by the block's threads.
// CHECK: %[[C128:.+]] = arith.constant 128 : index
// CHECK: scf.for %[[I:.+]] = %[[TID]] to %[[N]] step %[[C128]] {
// CHECK: memref.store %{{.*}}, %[[KEYS]][%[[I]]]
// CHECK: gpu.barrier
// 64 rows of 128 threads: the threads past the rows skip them; slot 0.
// CHECK: %[[C64:.+]] = arith.constant 64 : index
// CHECK: %[[ACTIVE:.+]] = arith.cmpi slt, %[[TID]], %[[C64]]
// CHECK: scf.if %[[ACTIVE]] {
// f32 exp becomes ex2.approx of x log2(e); f64 stays a math op.
// CHECK: %[[LOG2E:.+]] = arith.constant 1.44269502 : f32
// CHECK: %[[X:.+]] = arith.mulf %{{.*}}, %[[LOG2E]]
// CHECK: %[[E:.+]] = nvvm.inline_ptx "ex2.approx.ftz.f32 $0, $1;" ro(%[[X]] : f32)
// CHECK: memref.store %[[E]], %[[STATE]][%c0{{.*}}, %{{.*}}]
// CHECK: math.exp %{{.*}} : f64
// CHECK: gpu.return
// CHECK-NOT: func.func
func.func @kernel(%begin: index, %end: index, %n: index) attributes {sattn_tile.threads = 128 : i64} {
  %keys = sattn_tile.alloc_shared : memref<64xi32, #gpu.address_space<workgroup>>
  %state = sattn_tile.alloc_private : memref<128x2xf32>
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0 : i32
  %f = arith.constant 1.0 : f32
  %d = arith.constant 1.0 : f64
  sattn_tile.for_items %begin to %end {
  ^bb0(%item: index):
    sattn_tile.coop_for %n {
    ^bb0(%i: index):
      memref.store %zero, %keys[%i] : memref<64xi32, #gpu.address_space<workgroup>>
    }
    sattn_tile.barrier
    sattn_tile.for_rows 64 {
    ^bb0(%r: index, %slot: index):
      %e = math.exp %f : f32
      memref.store %e, %state[%slot, %c0] : memref<128x2xf32>
      %g = math.exp %d : f64
    }
  }
  return
}

// -----

// Rows for every thread need no test.
// CHECK-LABEL: gpu.func @all_rows(
// CHECK-NOT: scf.if
// CHECK: memref.store
func.func @all_rows(%x: memref<?xf32>) attributes {sattn_tile.threads = 64 : i64} {
  %f = arith.constant 1.0 : f32
  sattn_tile.for_rows 64 {
  ^bb0(%r: index, %slot: index):
    memref.store %f, %x[%r] : memref<?xf32>
  }
  return
}
