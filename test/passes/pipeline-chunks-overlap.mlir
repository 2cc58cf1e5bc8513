// RUN: sattn-opt %s -split-input-file --sattn-pipeline-chunks=overlap-products=true | FileCheck %s
// RUN: sattn-opt %s -split-input-file --sattn-pipeline-chunks | FileCheck %s --check-prefix=PLAIN

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <wgmma>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <wgmma>>

// A range of keys on the wgmma tile with overlap-products: the first chunk
// is peeled (K0 V0, then K1 V1 in slot 1, Q·Kᵀ, K2 in slot 0, a softmax
// whose rescale follows at once); the loop issues Q·Kᵀ of chunk n in slot
// n % 2 and P·V of the carried chunk n - 1 in the other slot before waiting
// for the scores, stages K of n + 2 and V of n + 1, and yields P of n; the
// last chunk's P·V follows the loop.
// CHECK-LABEL: func.func @range(
// CHECK-SAME: %[[LO:[^:]+]]: index, %[[HI:[^:]+]]: index
// CHECK: %[[T:.+]] = sattn_tile.begin
// CHECK: scf.if %{{.+}} {
// CHECK: %[[FIRST:.+]] = sattn_tile.range_chunk %[[T]], %[[LO]], %{{.+}}
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[FIRST]] keys :
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[FIRST]] values :
// CHECK: %[[SECOND:.+]] = sattn_tile.range_chunk
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[SECOND]] keys slot %[[ONE:.+]] if
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[SECOND]] values slot %[[ONE]] if
// CHECK-NEXT: sattn_tile.wait %[[T]] pending 3
// CHECK-NEXT: %[[S0:.+]] = sattn_tile.qk %[[T]] :
// CHECK-NEXT: sattn_tile.release %[[T]]
// CHECK: %[[THIRD:.+]] = sattn_tile.range_chunk
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[THIRD]] keys if
// CHECK-NEXT: %[[M0:.+]] = sattn_tile.mask %[[T]], %[[FIRST]], %[[S0]]
// CHECK: %[[P0:.+]] = sattn_tile.softmax %[[T]], %[[M0]] defer_rescale
// CHECK-NEXT: sattn_tile.rescale %[[T]], %[[P0]]
// CHECK-NEXT: %[[LAST:.+]] = sattn_tile.for_chunks %[[T]], %{{.+}} to %[[HI]] pipelined carry(%[[P0]] : !scores) : !tile -> !scores {
// CHECK-NEXT: ^bb0(%[[C0:.+]]: index, %[[N:.+]]: index, %[[PREVP:.+]]: !scores):
// CHECK: %[[CH:.+]] = sattn_tile.range_chunk %[[T]], %[[C0]], %[[N]]
// CHECK: %[[SLOT:.+]] = arith.remui
// CHECK: %[[PREV:.+]] = sattn_tile.range_chunk %[[T]], %{{.+}}, %{{.+}}
// CHECK: %[[PREVSLOT:.+]] = arith.subi %{{.+}}, %[[SLOT]]
// CHECK: %[[NEXT:.+]] = sattn_tile.range_chunk
// CHECK: %[[AFTER:.+]] = sattn_tile.range_chunk
// CHECK-NEXT: sattn_tile.wait %[[T]] pending 2
// CHECK-NEXT: %[[S:.+]] = sattn_tile.qk %[[T]] slot %[[SLOT]] async
// CHECK-NEXT: sattn_tile.pv %[[T]], %[[PREVP]] of %[[PREV]] slot %[[PREVSLOT]] async
// CHECK-NEXT: %[[READY:.+]] = sattn_tile.qk_wait %[[T]], %[[S]]
// CHECK-NEXT: sattn_tile.release %[[T]]
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[AFTER]] keys slot %[[SLOT]] if
// CHECK-NEXT: %[[M:.+]] = sattn_tile.mask %[[T]], %[[CH]], %[[READY]]
// CHECK: %[[P:.+]] = sattn_tile.softmax %[[T]], %[[M]] defer_rescale
// CHECK-NEXT: sattn_tile.pv_wait %[[T]]
// CHECK-NEXT: sattn_tile.release %[[T]]
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[NEXT]] values slot %[[PREVSLOT]] if
// CHECK-NEXT: sattn_tile.rescale %[[T]], %[[P]]
// CHECK-NEXT: sattn_tile.yield %[[P]] : !scores
// CHECK-NEXT: }
// CHECK: %[[LASTCH:.+]] = sattn_tile.range_chunk
// CHECK-NEXT: sattn_tile.wait %[[T]] pending 0
// CHECK: sattn_tile.pv %[[T]], %[[LAST]] of %[[LASTCH]] slot %{{.+}} :
// CHECK-NEXT: sattn_tile.release %[[T]]
// CHECK-NEXT: }
// Without the option the wgmma tile keeps the plain pipeline.
// PLAIN-LABEL: func.func @range(
// PLAIN-NOT: async
// PLAIN: sattn_tile.for_chunks %{{.+}} pipelined : !tile {
// PLAIN-NOT: slot
func.func @range(%lo: index, %hi: index, %b: index, %sq: index, %needs: i1) {
  %t = sattn_tile.begin batch(%b) head(%b) kv_head(%b) first_row(%b) seq_q(%sq) seq_k(%sq) scale = 0.125 block = 64 : !tile
  sattn_tile.for_chunks %t, %lo to %hi : !tile {
  ^bb0(%c0: index, %n: index):
    %ch = sattn_tile.range_chunk %t, %c0, %n : !tile -> !sattn_tile.chunk<range>
    sattn_tile.copy %t, %ch keys : !tile, !sattn_tile.chunk<range>
    sattn_tile.copy %t, %ch values : !tile, !sattn_tile.chunk<range>
    sattn_tile.wait %t pending 1 : !tile
    %s = sattn_tile.qk %t : !tile -> !scores
    %m = sattn_tile.mask %t, %ch, %s if %needs : !tile, !sattn_tile.chunk<range>, !scores {
    ^bb0(%row: index, %pos: index, %qb: index, %j: index):
      %keep = arith.cmpi sle, %j, %pos : index
      sattn_tile.yield %keep : i1
    }
    %p = sattn_tile.softmax %t, %m : !tile, !scores
    sattn_tile.wait %t pending 0 : !tile
    sattn_tile.pv %t, %p : !tile, !scores
    sattn_tile.release %t : !tile
  }
  sattn_tile.store %t : !tile
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <mma_sync>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <mma_sync>>

// mma_sync has no asynchronous products: the option leaves its plain
// pipeline.
// CHECK-LABEL: func.func @mma_sync(
// CHECK-NOT: async
// CHECK: sattn_tile.for_chunks %{{.+}} pipelined : !tile {
// CHECK-NOT: slot
// PLAIN-LABEL: func.func @mma_sync(
func.func @mma_sync(%lo: index, %hi: index, %b: index, %sq: index, %needs: i1) {
  %t = sattn_tile.begin batch(%b) head(%b) kv_head(%b) first_row(%b) seq_q(%sq) seq_k(%sq) scale = 0.125 block = 64 : !tile
  sattn_tile.for_chunks %t, %lo to %hi : !tile {
  ^bb0(%c0: index, %n: index):
    %ch = sattn_tile.range_chunk %t, %c0, %n : !tile -> !sattn_tile.chunk<range>
    sattn_tile.copy %t, %ch keys : !tile, !sattn_tile.chunk<range>
    sattn_tile.copy %t, %ch values : !tile, !sattn_tile.chunk<range>
    sattn_tile.wait %t pending 1 : !tile
    %s = sattn_tile.qk %t : !tile -> !scores
    %m = sattn_tile.mask %t, %ch, %s if %needs : !tile, !sattn_tile.chunk<range>, !scores {
    ^bb0(%row: index, %pos: index, %qb: index, %j: index):
      %keep = arith.cmpi sle, %j, %pos : index
      sattn_tile.yield %keep : i1
    }
    %p = sattn_tile.softmax %t, %m : !tile, !scores
    sattn_tile.wait %t pending 0 : !tile
    sattn_tile.pv %t, %p : !tile, !scores
    sattn_tile.release %t : !tile
  }
  sattn_tile.store %t : !tile
  return
}
