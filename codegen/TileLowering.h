//===- TileLowering.h - Lowering sattn_tile tiles per layout ----*- C++ -*-===//
//
// A layout's conversion (TileToRows/, TileToMmaSync/) says how each tile op
// becomes code; lowerTileOps walks a kernel function's tile ops of that
// layout in program order, turns `for_chunks` into scf.for, inlines the
// `list_chunk` and `mask` regions where the layout asks for keys and
// membership, and hands every other op to the layout.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_CODEGEN_TILELOWERING_H
#define SATTN_CODEGEN_TILELOWERING_H

#include "dialect/tile/TileDialect.h"
#include "passes/KernelBuilder.h"
#include "passes/KeySource.h"

#include <memory>

namespace mlir::sattn {

/// A chunk of keys as a layout sees it.
struct ChunkValues {
  tile::ChunkKind kind = tile::ChunkKind::range;
  /// Range: the first key. List: unused.
  Value start;
  /// Keys in the chunk (slots past it are empty).
  Value count;
};

/// The values `begin` gives a tile.
struct TileValues {
  Value batch, head, kvHead, firstRow, seqQ, seqK, offset;
  int64_t block = 1;
  /// K and V rows are 16-byte aligned in every call.
  bool alignedKV = false;
};

/// How one layout computes a tile. Every call is made with the builder's
/// insertion point at the op being lowered.
class TileLayoutLowering {
public:
  explicit TileLayoutLowering(KernelBuilder &kb) : kb(kb) {}
  virtual ~TileLayoutLowering();

  /// Allocates the tile's buffers and per-thread values at `top` (an op at
  /// the top of the function, before any tile op), then loads the queries
  /// and clears the softmax state at the insertion point.
  virtual void begin(const TileValues &tile, Operation *top) = 0;
  virtual ChunkValues rangeChunk(Value start, Value count) = 0;
  /// keyOf(slot) emits the key of a slot < count.
  virtual ChunkValues listChunk(Value count,
                                function_ref<Value(Value)> keyOf) = 0;
  /// `pred` may be null (always copy); `slot` (layouts with several
  /// staging slots) may be null (slot 0).
  virtual void copy(const ChunkValues &chunk, tile::Operand operand, Value pred,
                    Value slot) = 0;
  virtual void wait(int64_t pending) = 0;
  virtual void release() = 0;
  virtual SmallVector<Value> qk() = 0;
  /// Issues Q·Kᵀ of the K rows of `slot` (may be null) without waiting
  /// (layouts with asynchronous products); the values are readable after
  /// qkWait.
  virtual FailureOr<SmallVector<Value>> qkAsync(Value slot) {
    return failure();
  }
  virtual SmallVector<Value> qkWait(ValueRange pending) {
    llvm_unreachable("qkWait without qkAsync");
  }
  /// keep(row, j) emits whether key j (-1: none) counts for the row.
  using KeepFn = function_ref<Value(const RowContext &, Value)>;
  virtual SmallVector<Value> mask(const ChunkValues &chunk, ValueRange scores,
                                  Value needs, KeepFn keep) = 0;
  /// modify(row, j, s) emits the modified scaled score s of key j.
  using ModifyFn = function_ref<Value(const RowContext &, Value, Value)>;
  /// Applies score modifiers to the chunk's kept keys (sattn_tile.modify);
  /// fails in layouts that do not support them yet.
  virtual FailureOr<SmallVector<Value>> modify(const ChunkValues &chunk,
                                               ValueRange scores, ModifyFn fn) {
    return failure();
  }
  virtual SmallVector<Value> softmax(ValueRange scores) = 0;
  /// The softmax without the accumulator rescale, which rescale() applies
  /// later in the same block (sattn_tile.softmax defer_rescale).
  virtual FailureOr<SmallVector<Value>> softmaxDeferred(ValueRange scores) {
    return failure();
  }
  virtual void rescale() { llvm_unreachable("rescale without deferral"); }
  virtual void pv(ValueRange probabilities) = 0;
  /// P·V of the probabilities of chunk `of` (null: the last mask's) with
  /// the V rows of `slot` (may be null); with `async` only issued, until
  /// pvWait.
  virtual LogicalResult pvStaged(ValueRange probabilities,
                                 const ChunkValues *of, Value slot,
                                 bool async) {
    return failure();
  }
  virtual void pvWait() { llvm_unreachable("pvWait without an async pv"); }
  virtual void store() = 0;

protected:
  KernelBuilder &kb;
  TileValues tile;
};

/// Makes the lowering of one tile of `type`.
using TileLoweringFactory = function_ref<std::unique_ptr<TileLayoutLowering>(
    KernelBuilder &, tile::TileType type)>;

/// Lowers every tile op of `layout` in `fn` through `make`'s lowering.
LogicalResult lowerTileOps(func::FuncOp fn, tile::Layout layout,
                           TileLoweringFactory make);

/// Lowers the `sattn_tile.dots` ops of layout `row` in `fn`: each result
/// by one thread, its products added in order over d (TileToRows/); with
/// `byDepth`, each lhs row by one thread, its results added depth by depth
/// (each still in order over d: the same sums, independent additions).
LogicalResult lowerRowDots(func::FuncOp fn, bool byDepth);
/// Lowers the `sattn_tile.dots` ops of layout `mma_sync` in `fn`: m16n8k16
/// products spread over the work item's warps (TileToMmaSync/).
LogicalResult lowerMmaSyncDots(func::FuncOp fn);

/// Clones `region`'s block with its arguments bound to `args` at the
/// builder's insertion point; returns the value it yields (if any).
Value inlineRegion(OpBuilder &b, Region &region, ValueRange args);

} // namespace mlir::sattn

#endif // SATTN_CODEGEN_TILELOWERING_H
