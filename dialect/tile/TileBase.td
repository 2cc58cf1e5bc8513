//===- TileBase.td - The sattn_tile dialect, its layouts and types -------===//
//
// The tile level of sattn's lowering: the attention of one query tile as
// FlashAttention-granularity ops on opaque tiles (Q·Kᵀ, mask, online
// softmax, P·V), each tile typed with the layout a target lowers it to, and
// the few parallel constructs (work items, rows, cooperative loops, shared
// memory, barriers) that kernels are written with for every target.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_TILE_BASE_TD
#define SATTN_TILE_BASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def SattnTile_Dialect : Dialect {
  let name = "sattn_tile";
  let cppNamespace = "::mlir::sattn::tile";
  let summary = "Tiles of online-softmax attention and portable kernel parallelism.";
  let description = [{
    `sattn-tile-attention` writes the attention function of a kernel request
    in this dialect: a loop over work items (batch, query head, query tile);
    per tile, `begin` loads the queries, each key source walks its keys in
    `for_chunks` loops whose bodies stage a chunk of keys (`range_chunk`,
    `list_chunk`), copy its K and V rows (`copy`, `wait`, `release`), and
    compute `qk`, `mask`, `softmax` and `pv`; `store` writes out and lse.
    Tiles carry a `#sattn_tile.layout`: `row` (one thread or loop iteration
    per query row; the CPU, and GPU shapes tensor cores do not take) or
    `mma_sync` (warps of tensor-core products, sm_80+). Per-target
    conversions in codegen/ lower each layout; `for_items`, `for_rows`,
    `coop_for`, `thread_id`, `barrier`, `alloc_shared` and `alloc_private`
    are lowered to loops on the CPU and to GPU blocks and threads on the GPU.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// On a kernel function: the threads of a GPU block, and the rows a CPU
    /// work item holds private memory for.
    static constexpr ::llvm::StringLiteral kThreadsAttrName =
        "sattn_tile.threads";
    /// On a GPU kernel whose shared buffers are carved from dynamic shared
    /// memory: the bytes its launch requests.
    static constexpr ::llvm::StringLiteral kDynamicSharedBytesAttrName =
        "sattn_tile.dynamic_shared_bytes";
  }];
}

//===----------------------------------------------------------------------===//
// Enums and attributes
//===----------------------------------------------------------------------===//

def SattnTile_LayoutKind : I32EnumAttr<"Layout",
    "how the threads of a work item hold a tile", [
    I32EnumAttrCase<"row", 0>,
    I32EnumAttrCase<"mma_sync", 1>,
    I32EnumAttrCase<"wgmma", 2>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::sattn::tile";
}
def SattnTile_LayoutAttr : EnumAttr<SattnTile_Dialect, SattnTile_LayoutKind,
                                    "layout"> {
  let summary = "How a target computes a tile: row, mma_sync or wgmma.";
  let description = [{
    `row`: one thread (on the CPU one loop iteration) per query row, each
    with its running max, sum and fp32 accumulator; K and V rows staged as
    f32. `mma_sync`: FlashAttention-2's warp tile — 16 query rows per warp,
    Q·Kᵀ and P·V as `mma.sync` products with the softmax state in registers,
    K and V copied with asynchronous 16-byte copies. `wgmma` (sm_90a,
    bf16/f16): the same per-warp fragments, four warps computing 64 rows
    with Hopper's warpgroup products, K and V staged in 128-byte-swizzled
    panels. A new matrix-multiply generation is a new value here and a
    conversion in codegen/.

    Example: `#sattn_tile.layout<mma_sync>`, `#sattn_tile.layout<wgmma>`.
  }];
  let assemblyFormat = "`<` $value `>`";
  let extraClassDeclaration = [{
    /// Whether copies complete asynchronously (wait counts groups).
    bool hasAsyncCopies() const {
      return getValue() == Layout::mma_sync || getValue() == Layout::wgmma;
    }
    /// Whether Q·Kᵀ and P·V may be issued and waited for apart (`async`).
    bool hasAsyncProducts() const { return getValue() == Layout::wgmma; }
    /// Staging slots for K rows and for V rows (`slot` of copy, qk, pv).
    int64_t stagingSlots() const { return hasAsyncProducts() ? 2 : 1; }
  }];
}

def SattnTile_ChunkKind : I32EnumAttr<"ChunkKind",
    "where the keys of a chunk come from", [
    I32EnumAttrCase<"range", 0>,
    I32EnumAttrCase<"list", 1>]> {
  let cppNamespace = "::mlir::sattn::tile";
}

def SattnTile_Operand : I32EnumAttr<"Operand",
    "which rows a copy stages", [
    I32EnumAttrCase<"keys", 0>,
    I32EnumAttrCase<"values", 1>]> {
  let cppNamespace = "::mlir::sattn::tile";
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

class SattnTile_Type<string name, string typeMnemonic>
    : TypeDef<SattnTile_Dialect, name> {
  let mnemonic = typeMnemonic;
}

def SattnTile_TileType : SattnTile_Type<"Tile", "tile"> {
  let summary = "The query tile a work item computes.";
  let description = [{
    `rows` query rows of `head_dim` components of `element` type, keys
    staged `chunk` at a time, held as `layout` says. Its softmax state (row
    max, row sum, output accumulator) lives with it until `store`.

    Example:
    `!sattn_tile.tile<rows = 64, head_dim = 128, element = bf16, chunk = 64,
                      layout = <mma_sync>>`
  }];
  let parameters = (ins "int64_t":$rows, "int64_t":$head_dim,
                        "::mlir::Type":$element, "int64_t":$chunk,
                        "::mlir::sattn::tile::LayoutAttr":$layout);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def SattnTile_ChunkType : SattnTile_Type<"Chunk", "chunk"> {
  let summary = "A chunk of keys: a range, or a list staged for the tile.";
  let description = [{
    Example: `!sattn_tile.chunk<range>`, `!sattn_tile.chunk<list>`.
  }];
  let parameters = (ins EnumParameter<SattnTile_ChunkKind>:$kind);
  let assemblyFormat = "`<` $kind `>`";
}

def SattnTile_ScoresType : SattnTile_Type<"Scores", "scores"> {
  let summary = "Scores (or probabilities) of a tile's rows for one chunk.";
  let description = [{
    Held as the tile's layout says (registers of a warp's fragments, or a
    per-row buffer).

    Example: `!sattn_tile.scores<rows = 64, chunk = 64, layout = <row>>`
  }];
  let parameters = (ins "int64_t":$rows, "int64_t":$chunk,
                        "::mlir::sattn::tile::LayoutAttr":$layout);
  let assemblyFormat = "`<` struct(params) `>`";
}

#endif // SATTN_TILE_BASE_TD
