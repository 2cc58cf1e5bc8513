//===- TileOps.td - The ops of the sattn_tile dialect --------------------===//

#ifndef SATTN_TILE_OPS_TD
#define SATTN_TILE_OPS_TD

include "dialect/tile/TileBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

class SattnTile_Op<string mnemonic, list<Trait> traits = []>
    : Op<SattnTile_Dialect, mnemonic, traits>;

def SattnTile_YieldOp : SattnTile_Op<"yield", [Pure, Terminator,
    ReturnLike]> {
  let summary = "Ends a sattn_tile region, yielding its values.";
  let description = [{
    Example: `sattn_tile.yield %keep : i1`.
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let builders = [OpBuilder<(ins), [{ build($_builder, $_state, {}); }]>];
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

//===----------------------------------------------------------------------===//
// Portable kernel parallelism
//===----------------------------------------------------------------------===//

def SattnTile_ForItemsOp : SattnTile_Op<"for_items", [
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "Runs the body for every work item of a launch.";
  let description = [{
    Work items [begin, end) of a kernel call: a loop on the CPU (a thread
    runs a contiguous range), one thread block each on the GPU.

    Example:

    ```mlir
    sattn_tile.for_items %begin to %end {
    ^bb0(%item: index):
      ...
    }
    ```
  }];
  let arguments = (ins Index:$begin, Index:$end);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$begin `to` $end $body attr-dict";
  let hasRegionVerifier = 1;
}

def SattnTile_ForRowsOp : SattnTile_Op<"for_rows", [
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "Runs the body for each of a work item's rows.";
  let description = [{
    Rows r in [0, rows): one GPU thread each (threads past `rows` skip it),
    a loop on the CPU. The second block argument is the row's index into
    `alloc_private` buffers (r on the CPU, 0 on the GPU, where each thread
    has its own).

    Example:

    ```mlir
    sattn_tile.for_rows 64 {
    ^bb0(%r: index, %slot: index):
      ...
    }
    ```
  }];
  let arguments = (ins I64Attr:$rows);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$rows $body attr-dict";
  let hasRegionVerifier = 1;
}

def SattnTile_CoopForOp : SattnTile_Op<"coop_for", [
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "A loop over [0, n) shared by the work item's threads.";
  let description = [{
    On the GPU thread t runs i = t, t + threads, ...; on the CPU the one
    thread runs every i in order.

    Example:

    ```mlir
    sattn_tile.coop_for %n {
    ^bb0(%i: index):
      ...
    }
    ```
  }];
  let arguments = (ins Index:$count);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$count $body attr-dict";
  let hasRegionVerifier = 1;
}

def SattnTile_ThreadIdOp : SattnTile_Op<"thread_id", [Pure]> {
  let summary = "The thread's index in its work item (0 on the CPU).";
  let description = [{
    Example: `%t = sattn_tile.thread_id`.
  }];
  let results = (outs Index:$result);
  let assemblyFormat = "attr-dict";
}

def SattnTile_BarrierOp : SattnTile_Op<"barrier"> {
  let summary = "Waits for the work item's threads (nothing on the CPU).";
  let description = [{
    Makes the shared-memory writes of every thread of the work item visible
    to all of them. Example: `sattn_tile.barrier`.
  }];
  let assemblyFormat = "attr-dict";
}

def SattnTile_AllocSharedOp : SattnTile_Op<"alloc_shared"> {
  let summary = "Memory shared by the threads of a work item.";
  let description = [{
    A static buffer in workgroup memory on the GPU, a stack buffer on the
    CPU. Only at the top level of a kernel function. `alignment` (bytes, a
    power of two, at least 16; 16 when absent) is the GPU buffer's
    alignment: swizzled wgmma operands need 1024.

    Example:
    `%keys = sattn_tile.alloc_shared : memref<64xi32, #gpu.address_space<workgroup>>`,
    `%k = sattn_tile.alloc_shared {alignment = 1024 : i64} : memref<8192xbf16, #gpu.address_space<workgroup>>`
  }];
  let arguments = (ins OptionalAttr<I64Attr>:$alignment);
  let results = (outs AnyStaticShapeMemRef:$buffer);
  let assemblyFormat = "attr-dict `:` type($buffer)";
  let hasVerifier = 1;
}

def SattnTile_AllocPrivateOp : SattnTile_Op<"alloc_private"> {
  let summary = "Memory private to each row of a work item.";
  let description = [{
    A buffer [rows, ...] indexed by the row slot of `for_rows`: one row
    each for the GPU's threads, every row for the CPU's single thread.
    Only at the top level of a kernel function.

    Example: `%acc = sattn_tile.alloc_private : memref<64x128xf32>`
  }];
  let results = (outs AnyStaticShapeMemRef:$buffer);
  let assemblyFormat = "attr-dict `:` type($buffer)";
}

def SattnTile_DotsOp : SattnTile_Op<"dots"> {
  let summary = "S = A · Bᵀ of rows staged in shared memory (selection scores).";
  let description = [{
    The fp32 dot products of every row of `lhs` ([M, *], shared) with every
    row of `rhs` ([N, *], shared) over their first `depth` elements:
    `result[r][c] = sum_{d < depth} lhs[r][d] * rhs[c][d]` for r < M, c < N
    (`result` is [M, >= N] f32, shared). Selection stages score keys against
    sampled query rows with it. It is cooperative: every thread of the work
    item reaches it, it reads what an earlier barrier published, and it ends
    with a barrier, so the results are readable and the operands free after
    it.

    The layout says how the products are computed, and so the order in which
    each dot is added: `row` gives each result to one thread (one loop
    iteration on the CPU) that adds the products in order over d, as the
    oracle does; `mma_sync` (f16 and bf16 operands, M and `depth` multiples
    of 16, N a multiple of 8) uses the warps' m16n8k16 tensor-core products
    with fp32 accumulation, whose order of addition is the hardware's
    (docs/patterns.md allows the near-ties this can flip).

    Example:
    `sattn_tile.dots %q, %k into %s depth 128 layout <mma_sync> : memref<32x136xbf16, #gpu.address_space<workgroup>>, memref<64x136xbf16, #gpu.address_space<workgroup>>, memref<32x68xf32, #gpu.address_space<workgroup>>`
  }];
  let arguments = (ins AnyStaticShapeMemRef:$lhs, AnyStaticShapeMemRef:$rhs,
                       AnyStaticShapeMemRef:$result, I64Attr:$depth,
                       SattnTile_LayoutAttr:$layout);
  let assemblyFormat = [{
    $lhs `,` $rhs `into` $result `depth` $depth `layout` $layout attr-dict `:`
    type($lhs) `,` type($rhs) `,` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention tiles
//===----------------------------------------------------------------------===//

def SattnTile_BeginOp : SattnTile_Op<"begin"> {
  let summary = "Starts a query tile: loads its queries, clears its state.";
  let description = [{
    The tile of rows [first_row, first_row + rows) (local indices; rows
    outside [0, Sq) compute but are never stored) of query head `head` in
    batch `batch`, reading keys of `kv_head`. `scale` is the softmax scale
    and `block` the pattern's block size B (qb = floor(p / B) of each row is
    what `mask` regions receive). `aligned_kv`: every K and V row starts at a
    16-byte aligned address.

    Example:

    ```mlir
    %t = sattn_tile.begin batch(%b) head(%h) kv_head(%g) first_row(%r)
           seq_q(%sq) seq_k(%sk) scale = 0.125 block = 128
           : !sattn_tile.tile<rows = 64, head_dim = 64, element = f32,
                              chunk = 64, layout = <row>>
    ```
  }];
  let arguments = (ins Index:$batch, Index:$head, Index:$kv_head,
                       Index:$first_row, Index:$seq_q, Index:$seq_k,
                       F64Attr:$scale, I64Attr:$block, UnitAttr:$aligned_kv);
  let results = (outs SattnTile_TileType:$tile);
  let assemblyFormat = [{
    `batch` `(` $batch `)` `head` `(` $head `)` `kv_head` `(` $kv_head `)`
    `first_row` `(` $first_row `)` `seq_q` `(` $seq_q `)` `seq_k` `(` $seq_k `)`
    `scale` `=` $scale `block` `=` $block (`aligned_kv` $aligned_kv^)?
    attr-dict `:` type($tile)
  }];
  let hasVerifier = 1;
}

def SattnTile_ForChunksOp : SattnTile_Op<"for_chunks", [
    SingleBlockImplicitTerminator<"YieldOp">, RecursiveMemoryEffects]> {
  let summary = "A loop over the chunks of a key source.";
  let description = [{
    Positions [lo, hi) in steps of the tile's chunk size; the body receives
    the chunk's start c0 and its count min(chunk, hi - c0), then the values
    it carries from one chunk to the next (`carry`: their initial values;
    the body yields the next ones, the loop returns the last). For a range
    of keys the positions are the keys; for a list they index it.
    `pipelined` marks a loop whose body stages the next chunk itself
    (sattn-pipeline-chunks), which carries the probabilities of the chunk
    whose P·V is still to come when the layout's products are asynchronous.

    Example:

    ```mlir
    sattn_tile.for_chunks %t, %lo to %hi : !sattn_tile.tile<...> {
    ^bb0(%c0: index, %count: index):
      ...
    }
    %last = sattn_tile.for_chunks %t, %lo to %hi pipelined carry(%p0 : !sattn_tile.scores<...>)
        : !sattn_tile.tile<...> -> !sattn_tile.scores<...> {
    ^bb0(%c0: index, %count: index, %p: !sattn_tile.scores<...>):
      ...
      sattn_tile.yield %next : !sattn_tile.scores<...>
    }
    ```
  }];
  let arguments = (ins SattnTile_TileType:$tile, Index:$lo, Index:$hi,
                       Variadic<SattnTile_ScoresType>:$inits,
                       UnitAttr:$pipelined);
  let results = (outs Variadic<SattnTile_ScoresType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $tile `,` $lo `to` $hi (`pipelined` $pipelined^)?
    (`carry` `(` $inits^ `:` type($inits) `)`)? `:` type($tile)
    (`->` type($results)^)? $body attr-dict
  }];
  let builders = [
    OpBuilder<(ins "Value":$tile, "Value":$lo, "Value":$hi,
                   CArg<"bool", "false">:$pipelined), [{
      build($_builder, $_state, TypeRange(), tile, lo, hi, ValueRange(),
            pipelined);
    }]>
  ];
  let hasRegionVerifier = 1;
}

def SattnTile_RangeChunkOp : SattnTile_Op<"range_chunk", [Pure]> {
  let summary = "The chunk of keys [c0, c0 + count).";
  let description = [{
    Slots c >= count of the chunk are empty.
    Example: `%ch = sattn_tile.range_chunk %t, %c0, %count : !sattn_tile.tile<...>`
  }];
  let arguments = (ins SattnTile_TileType:$tile, Index:$start, Index:$count);
  let results = (outs SattnTile_ChunkType:$chunk);
  let assemblyFormat = [{
    $tile `,` $start `,` $count attr-dict `:` type($tile) `->` type($chunk)
  }];
  let hasVerifier = 1;
}

def SattnTile_ListChunkOp : SattnTile_Op<"list_chunk", [
    SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "A chunk of listed keys, staged for the tile's threads.";
  let description = [{
    Slot c < count holds the key the region yields for it (an index in
    [0, Sk), or -1 for none); the other slots are empty. The region runs
    once per slot, on any thread.

    Example:

    ```mlir
    %ch = sattn_tile.list_chunk %t, %count : !sattn_tile.tile<...>
        -> !sattn_tile.chunk<list> {
    ^bb0(%slot: index):
      ...
      sattn_tile.yield %key : index
    }
    ```
  }];
  let arguments = (ins SattnTile_TileType:$tile, Index:$count);
  let results = (outs SattnTile_ChunkType:$chunk);
  let regions = (region SizedRegion<1>:$keys);
  let assemblyFormat = [{
    $tile `,` $count attr-dict `:` type($tile) `->` type($chunk) $keys
  }];
  let hasVerifier = 1;
}

def SattnTile_CopyOp : SattnTile_Op<"copy", [AttrSizedOperandSegments]> {
  let summary = "Stages the K or V rows of a chunk; closes a copy group.";
  let description = [{
    Copies the key (or value) rows of the chunk's keys into the tile's
    staging buffer, zeros for empty slots, when `if` is absent or true; in
    either case one copy group ends, so that `wait` can count groups. The
    rows go to staging slot `slot` (default 0) of the layout's
    `stagingSlots()`, so that one chunk's rows may load while a product
    reads another's.

    Example: `sattn_tile.copy %t, %ch values slot %s if %more : !sattn_tile.tile<...>, !sattn_tile.chunk<range>`
  }];
  let arguments = (ins SattnTile_TileType:$tile, SattnTile_ChunkType:$chunk,
                       SattnTile_Operand:$operand, Optional<Index>:$slot,
                       Optional<I1>:$pred);
  let assemblyFormat = [{
    $tile `,` $chunk $operand (`slot` $slot^)? (`if` $pred^)? attr-dict `:`
    type($tile) `,` type($chunk)
  }];
  let builders = [
    OpBuilder<(ins "Value":$tile, "Value":$chunk, "Operand":$operand,
                   "Value":$pred), [{
      build($_builder, $_state, tile, chunk, operand, Value(), pred);
    }]>
  ];
  let hasVerifier = 1;
}

def SattnTile_WaitOp : SattnTile_Op<"wait"> {
  let summary = "Waits until at most `pending` copy groups are in flight.";
  let description = [{
    Then the staged rows of every finished group are visible to every
    thread of the work item.
    Example: `sattn_tile.wait %t pending 1 : !sattn_tile.tile<...>`
  }];
  let arguments = (ins SattnTile_TileType:$tile, I64Attr:$pending);
  let assemblyFormat = "$tile `pending` $pending attr-dict `:` type($tile)";
}

def SattnTile_ReleaseOp : SattnTile_Op<"release"> {
  let summary = "Every thread is done with the staged rows.";
  let description = [{
    After it, a copy may overwrite the staging buffers.
    Example: `sattn_tile.release %t : !sattn_tile.tile<...>`
  }];
  let arguments = (ins SattnTile_TileType:$tile);
  let assemblyFormat = "$tile attr-dict `:` type($tile)";
}

def SattnTile_QKOp : SattnTile_Op<"qk"> {
  let summary = "S = Q · Kᵀ of the staged chunk.";
  let description = [{
    Raw (unscaled) scores of the tile's rows for the K rows of staging
    slot `slot` (default 0). With `async` (layouts with asynchronous
    products) the product is only issued: its one user is the `qk_wait`
    that makes the scores readable, later in the same block, and the staged
    K rows stay in use until then.
    Example: `%s = sattn_tile.qk %t slot %k async : !sattn_tile.tile<...> -> !sattn_tile.scores<...>`
  }];
  let arguments = (ins SattnTile_TileType:$tile, Optional<Index>:$slot,
                       UnitAttr:$async);
  let results = (outs SattnTile_ScoresType:$scores);
  let assemblyFormat = [{
    $tile (`slot` $slot^)? (`async` $async^)? attr-dict `:` type($tile) `->`
    type($scores)
  }];
  let builders = [
    OpBuilder<(ins "Type":$scores, "Value":$tile), [{
      build($_builder, $_state, scores, tile, Value(), false);
    }]>
  ];
  let hasVerifier = 1;
}

def SattnTile_QKWaitOp : SattnTile_Op<"qk_wait", [
    AllTypesMatch<["pending", "scores"]>]> {
  let summary = "Waits for an asynchronous Q·Kᵀ; returns its scores.";
  let description = [{
    Products issued after the `qk` (an asynchronous P·V) may still run.
    Example: `%s = sattn_tile.qk_wait %t, %x : !sattn_tile.tile<...>, !sattn_tile.scores<...>`
  }];
  let arguments = (ins SattnTile_TileType:$tile, SattnTile_ScoresType:$pending);
  let results = (outs SattnTile_ScoresType:$scores);
  let assemblyFormat = [{
    $tile `,` $pending attr-dict `:` type($tile) `,` type($pending)
  }];
  let hasVerifier = 1;
}

def SattnTile_MaskOp : SattnTile_Op<"mask", [
    SingleBlockImplicitTerminator<"YieldOp">,
    AllTypesMatch<["scores", "result"]>]> {
  let summary = "Sets the scores of keys a row does not attend to -inf.";
  let description = [{
    When `needs` is true, the region decides for each row and slot of the
    chunk whether the key counts: it receives the row's local index i, its
    position p(i), its query block floor(p / B) and the key j (-1 for an
    empty slot) and yields an i1. When `needs` is false every key counts.

    Example:

    ```mlir
    %m = sattn_tile.mask %t, %ch, %s if %needs : ... {
    ^bb0(%row: index, %pos: index, %qb: index, %j: index):
      ...
      sattn_tile.yield %keep : i1
    }
    ```
  }];
  let arguments = (ins SattnTile_TileType:$tile, SattnTile_ChunkType:$chunk,
                       SattnTile_ScoresType:$scores, I1:$needs);
  let results = (outs SattnTile_ScoresType:$result);
  let regions = (region SizedRegion<1>:$keep);
  let assemblyFormat = [{
    $tile `,` $chunk `,` $scores `if` $needs attr-dict `:` type($tile) `,`
    type($chunk) `,` type($scores) $keep
  }];
  let hasRegionVerifier = 1;
}

def SattnTile_ModifyOp : SattnTile_Op<"modify", [
    SingleBlockImplicitTerminator<"YieldOp">,
    AllTypesMatch<["scores", "result"]>]> {
  let summary = "Applies the pattern's score modifiers to the kept keys.";
  let description = [{
    For each row and slot of the chunk whose score is not -inf (a key the
    row keeps), the region receives the row's local index i, its position
    p(i), the key j and the score scaled by the tile's scale (f32), and
    yields the modified scaled score (docs/patterns.md, "Score modifiers").
    Dropped keys stay -inf, so a modifier never brings a key back. Follows
    the `mask` of the chunk, precedes its `softmax`.

    Example (a soft cap of 50):

    ```mlir
    %s2 = sattn_tile.modify %t, %ch, %m : ... {
    ^bb0(%row: index, %pos: index, %j: index, %s: f32):
      %x = arith.divf %s, %c50 : f32
      %y = math.tanh %x : f32
      %z = arith.mulf %y, %c50 : f32
      sattn_tile.yield %z : f32
    }
    ```
  }];
  let arguments = (ins SattnTile_TileType:$tile, SattnTile_ChunkType:$chunk,
                       SattnTile_ScoresType:$scores);
  let results = (outs SattnTile_ScoresType:$result);
  let regions = (region SizedRegion<1>:$modifier);
  let assemblyFormat = [{
    $tile `,` $chunk `,` $scores attr-dict `:` type($tile) `,`
    type($chunk) `,` type($scores) $modifier
  }];
  let hasRegionVerifier = 1;
}

def SattnTile_SoftmaxOp : SattnTile_Op<"softmax", [
    AllTypesMatch<["scores", "probabilities"]>]> {
  let summary = "The online-softmax update; returns the probabilities.";
  let description = [{
    Updates each row's running max and sum with the chunk's scores,
    rescales its accumulator, and returns exp(s - max) (in the layout's
    base and scale). With `defer_rescale` the accumulator is left as it is
    (an asynchronous P·V may be adding to it) until the `rescale` of the
    probabilities, later in the same block.
    Example: `%p = sattn_tile.softmax %t, %m : !sattn_tile.tile<...>, !sattn_tile.scores<...>`
  }];
  let arguments = (ins SattnTile_TileType:$tile, SattnTile_ScoresType:$scores,
                       UnitAttr:$defer_rescale);
  let results = (outs SattnTile_ScoresType:$probabilities);
  let assemblyFormat = [{
    $tile `,` $scores (`defer_rescale` $defer_rescale^)? attr-dict `:`
    type($tile) `,` type($scores)
  }];
  let hasVerifier = 1;
}

def SattnTile_RescaleOp : SattnTile_Op<"rescale"> {
  let summary = "The accumulator rescale of a `defer_rescale` softmax.";
  let description = [{
    Multiplies each row's accumulator by exp(old max - new max) of the
    softmax that returned `probabilities`.
    Example: `sattn_tile.rescale %t, %p : !sattn_tile.tile<...>, !sattn_tile.scores<...>`
  }];
  let arguments = (ins SattnTile_TileType:$tile,
                       SattnTile_ScoresType:$probabilities);
  let assemblyFormat = [{
    $tile `,` $probabilities attr-dict `:` type($tile) `,` type($probabilities)
  }];
  let hasVerifier = 1;
}

def SattnTile_PVOp : SattnTile_Op<"pv", [AttrSizedOperandSegments]> {
  let summary = "O += P · V of the staged chunk.";
  let description = [{
    The V rows are those of staging slot `slot` (default 0); `of` names the
    chunk whose probabilities P holds when it is not the chunk of the last
    `mask` (a P·V one chunk behind). With `async` (layouts with
    asynchronous products) the product is only issued: a `pv_wait` later in
    the same block completes it, and the staged V rows stay in use until
    then.

    Example: `sattn_tile.pv %t, %p of %prev slot %s async : !sattn_tile.tile<...>, !sattn_tile.scores<...>, !sattn_tile.chunk<range>`
  }];
  let arguments = (ins SattnTile_TileType:$tile,
                       SattnTile_ScoresType:$probabilities,
                       Optional<SattnTile_ChunkType>:$chunk,
                       Optional<Index>:$slot, UnitAttr:$async);
  let assemblyFormat = [{
    $tile `,` $probabilities (`of` $chunk^)? (`slot` $slot^)?
    (`async` $async^)? attr-dict `:` type($tile) `,` type($probabilities)
    (`,` type($chunk)^)?
  }];
  let builders = [
    OpBuilder<(ins "Value":$tile, "Value":$probabilities), [{
      build($_builder, $_state, tile, probabilities, Value(), Value(), false);
    }]>
  ];
  let hasVerifier = 1;
}

def SattnTile_PVWaitOp : SattnTile_Op<"pv_wait"> {
  let summary = "Waits for the asynchronous P·V of the tile.";
  let description = [{
    After it the accumulator holds the product and its V rows may be
    overwritten (after a `release`).
    Example: `sattn_tile.pv_wait %t : !sattn_tile.tile<...>`
  }];
  let arguments = (ins SattnTile_TileType:$tile);
  let assemblyFormat = "$tile attr-dict `:` type($tile)";
}

def SattnTile_StoreOp : SattnTile_Op<"store"> {
  let summary = "Writes the tile's out (normalised, in its dtype) and lse.";
  let description = [{
    Rows with no attended key get out = 0 and lse = -inf.
    Example: `sattn_tile.store %t : !sattn_tile.tile<...>`
  }];
  let arguments = (ins SattnTile_TileType:$tile);
  let assemblyFormat = "$tile attr-dict `:` type($tile)";
}

#endif // SATTN_TILE_OPS_TD
