// RUN: sattn-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{element must be f16, bf16 or f32, got 'f64'}}
func.func private @f(!sattn_tile.tile<rows = 64, head_dim = 64, element = f64, chunk = 64, layout = <row>>)

// -----

// expected-error @+1 {{rows, head_dim and chunk must be >= 1}}
func.func private @f(!sattn_tile.tile<rows = 0, head_dim = 64, element = f32, chunk = 64, layout = <row>>)

// -----

func.func @shared() {
  // expected-error @+1 {{buffer must be in #gpu.address_space<workgroup>}}
  %0 = sattn_tile.alloc_shared : memref<64xi32>
  return
}

// -----

func.func @rows() {
  // expected-error @+1 {{rows must be >= 1, got 0}}
  sattn_tile.for_rows 0 {
  ^bb0(%r: index, %slot: index):
  }
  return
}

// -----

func.func @items(%a: index) {
  // expected-error @+1 {{body must take 1 index arguments}}
  sattn_tile.for_items %a to %a {
  ^bb0(%x: index, %y: index):
  }
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = f32, chunk = 64, layout = <row>>
func.func @begin(%b: index) {
  // expected-error @+1 {{scale must be positive}}
  %t = sattn_tile.begin batch(%b) head(%b) kv_head(%b) first_row(%b) seq_q(%b) seq_k(%b) scale = -1.0 block = 64 : !tile
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = f32, chunk = 64, layout = <row>>
func.func @qk(%t: !tile) {
  // expected-error @+1 {{scores must have the tile's rows, chunk and layout}}
  %s = sattn_tile.qk %t : !tile -> !sattn_tile.scores<rows = 64, chunk = 32, layout = <row>>
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = f32, chunk = 64, layout = <row>>
func.func @range(%t: !tile, %c: index) {
  // expected-error @+1 {{result must be a !sattn_tile.chunk<range>}}
  %ch = sattn_tile.range_chunk %t, %c, %c : !tile -> !sattn_tile.chunk<list>
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = f32, chunk = 64, layout = <row>>
func.func @list(%t: !tile, %c: index) {
  // expected-error @+1 {{region must yield one 'index'}}
  %ch = sattn_tile.list_chunk %t, %c : !tile -> !sattn_tile.chunk<list> {
  ^bb0(%slot: index):
    %x = arith.constant 1 : i32
    sattn_tile.yield %x : i32
  }
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = f32, chunk = 64, layout = <row>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <row>>
func.func @mask(%t: !tile, %c: index, %s: !scores, %b: i1) {
  %ch = sattn_tile.range_chunk %t, %c, %c : !tile -> !sattn_tile.chunk<range>
  // expected-error @+1 {{body must take 4 index arguments}}
  %m = sattn_tile.mask %t, %ch, %s if %b : !tile, !sattn_tile.chunk<range>, !scores {
  ^bb0(%j: index):
    sattn_tile.yield %b : i1
  }
  return
}

// -----

// expected-error @+1 {{sattn_tile.threads must be an integer >= 1}}
func.func @threads() attributes {sattn_tile.threads = 0 : i64} {
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = f32, chunk = 64, layout = <row>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <row>>
func.func @modify_args(%t: !tile, %c: index, %s: !scores) {
  %ch = sattn_tile.range_chunk %t, %c, %c : !tile -> !sattn_tile.chunk<range>
  // expected-error @+1 {{body must take three index arguments and an f32}}
  %m = sattn_tile.modify %t, %ch, %s : !tile, !sattn_tile.chunk<range>, !scores {
  ^bb0(%row: index, %pos: index, %j: index, %x: index):
    %y = arith.constant 0.0 : f32
    sattn_tile.yield %y : f32
  }
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = f32, chunk = 64, layout = <row>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <row>>
func.func @modify_yield(%t: !tile, %c: index, %s: !scores) {
  %ch = sattn_tile.range_chunk %t, %c, %c : !tile -> !sattn_tile.chunk<range>
  // expected-error @+1 {{region must yield one 'f32'}}
  %m = sattn_tile.modify %t, %ch, %s : !tile, !sattn_tile.chunk<range>, !scores {
  ^bb0(%row: index, %pos: index, %j: index, %x: f32):
    sattn_tile.yield %pos : index
  }
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <mma_sync>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <mma_sync>>
func.func @async_qk_layout(%t: !tile) {
  // expected-error @+1 {{async: the mma_sync layout has no asynchronous products}}
  %s = sattn_tile.qk %t async : !tile -> !scores
  %r = sattn_tile.qk_wait %t, %s : !tile, !scores
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <wgmma>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <wgmma>>
func.func @async_qk_unwaited(%t: !tile) {
  // expected-error @+1 {{async scores must have one user, a sattn_tile.qk_wait}}
  %s = sattn_tile.qk %t async : !tile -> !scores
  %p = sattn_tile.softmax %t, %s : !tile, !scores
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <wgmma>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <wgmma>>
func.func @qk_wait_sync(%t: !tile) {
  %s = sattn_tile.qk %t : !tile -> !scores
  // expected-error @+1 {{must wait for an async sattn_tile.qk earlier in its block}}
  %r = sattn_tile.qk_wait %t, %s : !tile, !scores
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <wgmma>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <wgmma>>
func.func @async_pv_unwaited(%t: !tile, %p: !scores) {
  // expected-error @+1 {{async needs a sattn_tile.pv_wait later in its block, before the next pv or store}}
  sattn_tile.pv %t, %p async : !tile, !scores
  sattn_tile.store %t : !tile
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <mma_sync>>
func.func @slot_layout(%t: !tile, %c: index) {
  %ch = sattn_tile.range_chunk %t, %c, %c : !tile -> !sattn_tile.chunk<range>
  // expected-error @+1 {{the mma_sync layout has one staging slot}}
  sattn_tile.copy %t, %ch values slot %c : !tile, !sattn_tile.chunk<range>
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <wgmma>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <wgmma>>
func.func @deferred_without_rescale(%t: !tile, %s: !scores) {
  // expected-error @+1 {{with defer_rescale needs a sattn_tile.rescale of its probabilities later in its block}}
  %p = sattn_tile.softmax %t, %s defer_rescale : !tile, !scores
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <wgmma>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <wgmma>>
func.func @rescale_plain(%t: !tile, %s: !scores) {
  %p = sattn_tile.softmax %t, %s : !tile, !scores
  // expected-error @+1 {{must rescale for a sattn_tile.softmax with defer_rescale}}
  sattn_tile.rescale %t, %p : !tile, !scores
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <wgmma>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <wgmma>>
func.func @carry_yield(%t: !tile, %lo: index, %p0: !scores) {
  // expected-error @+1 {{body must yield the carried values' types, got 0 values}}
  %r = sattn_tile.for_chunks %t, %lo to %lo carry(%p0 : !scores) : !tile -> !scores {
  ^bb0(%c0: index, %n: index, %p: !scores):
    sattn_tile.yield
  }
  return
}

// -----

!tile = !sattn_tile.tile<rows = 64, head_dim = 64, element = bf16, chunk = 64, layout = <wgmma>>
!scores = !sattn_tile.scores<rows = 64, chunk = 64, layout = <wgmma>>
func.func @carry_args(%t: !tile, %lo: index, %p0: !scores) {
  // expected-error @+1 {{body must take 2 index arguments and one per carried value}}
  %r = sattn_tile.for_chunks %t, %lo to %lo carry(%p0 : !scores) : !tile -> !scores {
  ^bb0(%c0: index, %n: index):
    sattn_tile.yield %p0 : !scores
  }
  return
}

// -----

!w16 = memref<32x72xbf16, #gpu.address_space<workgroup>>
func.func @dots_depth(%q: !w16, %k: !w16, %s: memref<32x32xf32, #gpu.address_space<workgroup>>) {
  // expected-error @+1 {{depth 80 must be in [1, the operands' row lengths]}}
  sattn_tile.dots %q, %k into %s depth 80 layout <row> : !w16, !w16, memref<32x32xf32, #gpu.address_space<workgroup>>
  return
}

// -----

!w16 = memref<32x72xbf16, #gpu.address_space<workgroup>>
func.func @dots_result(%q: !w16, %k: !w16, %s: memref<32x16xf32, #gpu.address_space<workgroup>>) {
  // expected-error @+1 {{result must be [32, >= 32], got 'memref<32x16xf32, #gpu.address_space<workgroup>>'}}
  sattn_tile.dots %q, %k into %s depth 64 layout <row> : !w16, !w16, memref<32x16xf32, #gpu.address_space<workgroup>>
  return
}

// -----

func.func @dots_types(%q: memref<16x64xbf16, #gpu.address_space<workgroup>>, %k: memref<8x64xf16, #gpu.address_space<workgroup>>, %s: memref<16x8xf32, #gpu.address_space<workgroup>>) {
  // expected-error @+1 {{lhs and rhs must have one element type}}
  sattn_tile.dots %q, %k into %s depth 64 layout <row> : memref<16x64xbf16, #gpu.address_space<workgroup>>, memref<8x64xf16, #gpu.address_space<workgroup>>, memref<16x8xf32, #gpu.address_space<workgroup>>
  return
}

// -----

func.func @dots_global(%q: memref<16x64xbf16>, %k: memref<8x64xbf16, #gpu.address_space<workgroup>>, %s: memref<16x8xf32, #gpu.address_space<workgroup>>) {
  // expected-error @+1 {{operands must be in #gpu.address_space<workgroup>}}
  sattn_tile.dots %q, %k into %s depth 64 layout <row> : memref<16x64xbf16>, memref<8x64xbf16, #gpu.address_space<workgroup>>, memref<16x8xf32, #gpu.address_space<workgroup>>
  return
}

// -----

!f = memref<16x64xf32, #gpu.address_space<workgroup>>
func.func @dots_mma_f32(%q: !f, %k: !f, %s: memref<16x16xf32, #gpu.address_space<workgroup>>) {
  // expected-error @+1 {{layout mma_sync needs f16 or bf16 operands}}
  sattn_tile.dots %q, %k into %s depth 64 layout <mma_sync> : !f, !f, memref<16x16xf32, #gpu.address_space<workgroup>>
  return
}

// -----

func.func @dots_mma_shape(%q: memref<24x64xbf16, #gpu.address_space<workgroup>>, %k: memref<8x64xbf16, #gpu.address_space<workgroup>>, %s: memref<24x8xf32, #gpu.address_space<workgroup>>) {
  // expected-error @+1 {{layout mma_sync needs M and depth multiples of 16 and N of 8, got M = 24, N = 8, depth = 64}}
  sattn_tile.dots %q, %k into %s depth 64 layout <mma_sync> : memref<24x64xbf16, #gpu.address_space<workgroup>>, memref<8x64xbf16, #gpu.address_space<workgroup>>, memref<24x8xf32, #gpu.address_space<workgroup>>
  return
}

// -----

!h = memref<16x65xf16, #gpu.address_space<workgroup>>
func.func @dots_mma_odd(%q: !h, %k: !h, %s: memref<16x16xf32, #gpu.address_space<workgroup>>) {
  // expected-error @+1 {{layout mma_sync needs rows of even length}}
  sattn_tile.dots %q, %k into %s depth 64 layout <mma_sync> : !h, !h, memref<16x16xf32, #gpu.address_space<workgroup>>
  return
}

// -----

!h = memref<16x64xf16, #gpu.address_space<workgroup>>
func.func @dots_wgmma(%q: !h, %k: !h, %s: memref<16x16xf32, #gpu.address_space<workgroup>>) {
  // expected-error @+1 {{layout must be row or mma_sync}}
  sattn_tile.dots %q, %k into %s depth 64 layout <wgmma> : !h, !h, memref<16x16xf32, #gpu.address_space<workgroup>>
  return
}
