// RUN: sattn-opt %s -split-input-file --sattn-pipeline-chunks | FileCheck %s

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <mma_sync>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <mma_sync>>

// A range of keys: the first chunk's copies move before the loop (guarded
// by lo < hi); each iteration copies the next chunk's K after its Q·Kᵀ and
// the next chunk's V after its P·V, and waits for one group instead of none
// before P·V.
// CHECK-LABEL: func.func @range(
// CHECK-SAME: %[[LO:[^:]+]]: index, %[[HI:[^:]+]]: index
// CHECK: %[[T:.+]] = sattn_tile.begin
// CHECK: %[[C64:.+]] = arith.constant 64 : index
// CHECK: %[[NONEMPTY:.+]] = arith.cmpi slt, %[[LO]], %[[HI]]
// CHECK: scf.if %[[NONEMPTY]] {
// CHECK: %[[LEFT:.+]] = arith.subi %[[HI]], %[[LO]]
// CHECK: %[[FIRSTN:.+]] = arith.minsi %[[C64]], %[[LEFT]]
// CHECK: %[[FIRST:.+]] = sattn_tile.range_chunk %[[T]], %[[LO]], %[[FIRSTN]]
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[FIRST]] keys :
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[FIRST]] values :
// CHECK-NEXT: sattn_tile.for_chunks %[[T]], %[[LO]] to %[[HI]] pipelined : !tile {
// CHECK-NEXT: ^bb0(%[[C0:.+]]: index, %[[N:.+]]: index):
// CHECK: %[[CH:.+]] = sattn_tile.range_chunk %[[T]], %[[C0]], %[[N]]
// CHECK-NEXT: %[[NEXTSTART:.+]] = arith.addi %[[C0]], %[[C64]]
// CHECK-NEXT: %[[MORE:.+]] = arith.cmpi slt, %[[NEXTSTART]], %[[HI]]
// CHECK: %[[NEXT:.+]] = sattn_tile.range_chunk %[[T]], %[[NEXTSTART]]
// CHECK-NEXT: sattn_tile.wait %[[T]] pending 1
// CHECK-NEXT: %[[S:.+]] = sattn_tile.qk %[[T]]
// CHECK-NEXT: sattn_tile.release %[[T]]
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[NEXT]] keys if %[[MORE]]
// CHECK-NEXT: sattn_tile.mask %[[T]], %[[CH]], %[[S]]
// CHECK: sattn_tile.softmax
// CHECK-NEXT: sattn_tile.wait %[[T]] pending 1
// CHECK-NEXT: sattn_tile.pv
// CHECK-NEXT: sattn_tile.release %[[T]]
// CHECK-NEXT: sattn_tile.copy %[[T]], %[[NEXT]] values if %[[MORE]]
// CHECK-NEXT: }
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

// A list of keys stages its indices first: left alone.
// CHECK-LABEL: func.func @list(
// CHECK-NOT: scf.if
// CHECK: sattn_tile.for_chunks %{{.*}} : !tile {
// CHECK: sattn_tile.list_chunk
// CHECK-NEXT: ^bb0
// CHECK: sattn_tile.copy %{{.*}} keys :
// CHECK-NEXT: sattn_tile.copy %{{.*}} values :
// CHECK: sattn_tile.wait %{{.*}} pending 0
func.func @list(%n: index, %b: index, %needs: i1) {
  %c0 = arith.constant 0 : index
  %t = sattn_tile.begin batch(%b) head(%b) kv_head(%b) first_row(%b) seq_q(%n) seq_k(%n) scale = 0.125 block = 64 : !tile
  sattn_tile.for_chunks %t, %c0 to %n : !tile {
  ^bb0(%c: index, %k: index):
    %ch = sattn_tile.list_chunk %t, %k : !tile -> !sattn_tile.chunk<list> {
    ^bb0(%slot: index):
      %key = arith.addi %c, %slot : index
      sattn_tile.yield %key : index
    }
    sattn_tile.copy %t, %ch keys : !tile, !sattn_tile.chunk<list>
    sattn_tile.copy %t, %ch values : !tile, !sattn_tile.chunk<list>
    sattn_tile.wait %t pending 1 : !tile
    %s = sattn_tile.qk %t : !tile -> !scores
    %m = sattn_tile.mask %t, %ch, %s if %needs : !tile, !sattn_tile.chunk<list>, !scores {
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

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = f32, chunk = 64, layout = <row>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <row>>

// The row layout copies synchronously: left alone.
// CHECK-LABEL: func.func @rows(
// CHECK-NOT: pipelined
// CHECK: sattn_tile.wait %{{.*}} pending 0
func.func @rows(%lo: index, %hi: index, %b: index, %needs: i1) {
  %t = sattn_tile.begin batch(%b) head(%b) kv_head(%b) first_row(%b) seq_q(%hi) seq_k(%hi) scale = 0.125 block = 64 : !tile
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
