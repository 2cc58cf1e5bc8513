// RUN: sattn-opt %s --sattn-convert-kernels-to-cpu | FileCheck %s
// On the CPU the work item's threads are one thread: every construct is a
// loop or nothing.

// CHECK-LABEL: func.func @kernel(
// CHECK-SAME: %[[BEGIN:[^:]+]]: index, %[[END:[^:]+]]: index, %[[N:[^:]+]]: index)
// CHECK-NOT: sattn_tile
// Shared and private buffers live on the stack.
// CHECK-DAG: %[[KEYS:.+]] = memref.alloca() : memref<64xi32>
// CHECK-DAG: %[[STATE:.+]] = memref.alloca() : memref<128x2xf32>
// Work items: a loop over the launch's range.
// CHECK: scf.for %[[ITEM:.+]] = %[[BEGIN]] to %[[END]] step %{{.*}} {
// A cooperative loop: every index in order.
// CHECK: scf.for %[[I:.+]] = %{{.*}} to %[[N]] step %{{.*}} {
// CHECK: memref.store %{{.*}}, %[[KEYS]][%[[I]]]
// The thread index is 0.
// CHECK: arith.cmpi eq, %c0{{.*}}, %c0
// Rows: a loop whose private slot is the row.
// CHECK: scf.for %[[R:.+]] = %{{.*}} to %{{.*}} step
// CHECK: memref.store %{{.*}}, %[[STATE]][%[[R]], %{{.*}}]
// CHECK-NOT: gpu.barrier
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
    %first = arith.cmpi eq, %t, %c0 : index
    sattn_tile.for_rows 64 {
    ^bb0(%r: index, %slot: index):
      memref.store %f, %state[%slot, %c0] : memref<128x2xf32>
    }
  }
  return
}
