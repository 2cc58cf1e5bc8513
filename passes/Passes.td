//===- Passes.td - sattn passes ------------------------------------------===//

#ifndef SATTN_PASSES_TD
#define SATTN_PASSES_TD

include "mlir/Pass/PassBase.td"

def SattnSpecialize : Pass<"sattn-specialize", "::mlir::ModuleOp"> {
  let summary = "Bind pattern parameters to values";
  let description = [{
    Replaces every `#sattn.param` reference and `sattn.param` op of the chosen
    patterns by its value: an override given with `set`, else the default the
    pattern declares. The pattern's parameter list then records the bound
    values. Overrides that name an unknown parameter, or give a value of the
    wrong kind, are errors at the pattern's location; values out of range are
    reported by the primitive's verifier at the primitive's location.

    Example: `sattn-opt --sattn-specialize="pattern=power set=window=3"`.
  }];
  let options = [
    Option<"patternName", "pattern", "std::string", /*default=*/"\"\"",
           "Pattern to specialise (default: every pattern in the module)">,
    ListOption<"overrides", "set", "std::string",
               "Parameter overrides NAME=VALUE">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}


def SattnBuildSchedule : Pass<"sattn-build-schedule", "::mlir::ModuleOp"> {
  let summary = "Plan each kernel request: tiles, key sources, stages";
  let description = [{
    For every `sattn.kernel`, reads its pattern's primitives through their
    KeySourcePrimitive and SelectionPrimitive interfaces and attaches a
    `#sattn.schedule`: the query tile (`tile_q` rows, aligned to absolute
    positions or, for tree_search, to local indices), the key chunk
    (`chunk`), the key sources in visiting order (static primitives as
    closed-form walks, then the dynamic one as a workspace list) and the
    selection stages that fill those lists, each a `#sattn.stage` with its
    function name and launch grid. Parameters still referenced take their
    defaults. Combinations the compiler does not support yet are errors at
    the request.

    Example: `sattn-opt --sattn-specialize --sattn-build-schedule`.
  }];
}

def SattnLowerSelection : Pass<"sattn-lower-selection", "::mlir::ModuleOp"> {
  let summary = "Emit the selection stages of each kernel as loops";
  let description = [{
    For every scheduled `sattn.kernel`, emits one function per selection
    stage (stripes, tree_search, topk, permute), through the primitive's
    SelectionPrimitive interface: a `func.func` with the kernel calling
    convention of docs/lowering.md, written with `scf` loops over the
    workspace and `sattn_tile`'s portable parallel constructs, the same for
    every target.

    Example: `sattn-opt --sattn-build-schedule --sattn-lower-selection`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::sattn::tile::SattnTileDialect"];
}

def SattnTileAttention : Pass<"sattn-tile-attention", "::mlir::ModuleOp"> {
  let summary = "Write the attention of each kernel as a sattn_tile program";
  let description = [{
    For every scheduled `sattn.kernel`, emits the attention function in the
    `sattn_tile` dialect: one work item (`sattn_tile.for_items`) per (batch,
    query head, query tile); per tile, `sattn_tile.begin`, then each key
    source of the schedule walks its keys (closed-form index arithmetic for
    static primitives, workspace lists for dynamic ones) as
    `sattn_tile.for_chunks` loops whose bodies stage a chunk, copy its K and
    V rows and compute `qk`, `mask` (an element mask only where the chunk
    needs one: partial blocks, the causal edge, keys an earlier source
    holds), `softmax` and `pv`; `sattn_tile.store` writes out and lse. The
    tile's layout is `mma_sync` on the GPU for head dims and query tiles
    that are multiples of 16 (head dims up to 128), else `row`; with
    `wgmma` (the target has warpgroup products, sm_90a), bf16/f16 tiles of
    64 rows and head dim 64 or 128 take layout `wgmma` instead.
    Then erases the request and the patterns, leaving only kernel functions.

    Example: `sattn-opt --sattn-build-schedule --sattn-tile-attention`.
  }];
  let options = [
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "The GPU target has warpgroup MMA (sm_90a)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::sattn::tile::SattnTileDialect"];
}

def SattnPipelineChunks : Pass<"sattn-pipeline-chunks", "::mlir::ModuleOp"> {
  let summary = "Software-pipeline the chunk loops over ranges of keys";
  let description = [{
    For tiles whose layout copies asynchronously (`mma_sync`), rewrites each
    `sattn_tile.for_chunks` over a range of keys so that the next chunk's K
    rows load during this chunk's mask, softmax and P·V, and its V rows
    during this chunk's Q·Kᵀ: the first chunk's copies move before the
    loop, each iteration copies the next chunk's rows after releasing its
    own, and the loop is marked `pipelined`. Loops over lists of keys and
    other layouts are left as they are.

    With `overlap-products`, layouts with asynchronous products (`wgmma`)
    take FlashAttention-3's intra-warpgroup form instead: P·V of chunk
    n - 1 is issued after Q·Kᵀ of chunk n and runs during chunk n's
    softmax, the loop carries the probabilities of chunk n - 1, and K and V
    rows alternate between two staging slots (docs/lowering.md). It is
    correct on the GPU suite but slower than the plain form on most
    patterns (docs/performance.md), hence off by default.

    Example: `sattn-opt --sattn-tile-attention --sattn-pipeline-chunks`.
  }];
  let options = [
    Option<"overlapProducts", "overlap-products", "bool", /*default=*/"false",
           "wgmma tiles: overlap P·V of a chunk with the next chunk's "
           "softmax (two staging slots)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // SATTN_PASSES_TD
