//===- BlockSources.h - Key sources made of whole key blocks ----*- C++ -*-===//
//
// Static primitives that keep whole key blocks of the pattern's block size B
// for a query block (block windows, strides, columns, diagonals, block-level
// `keep`) share one shape: a walk over candidate blocks that skips blocks an
// earlier source covers, and a keeps(qb, kb) test.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_PRIMITIVES_BLOCKSOURCES_H
#define SATTN_PASSES_PRIMITIVES_BLOCKSOURCES_H

#include "passes/KeySource.h"

namespace mlir::sattn {

/// Whether [start, end), spanning at most two key blocks, misses both
/// (keptBlock(kb) says whether a block is kept for the tile).
Value blocksMissRange(KeySourceContext &cx, Value start, Value end,
                      function_ref<Value(Value)> keptBlock);

/// Visits key block kb as the range [kb B, (kb + 1) B).
void visitBlock(KeySourceContext &cx, const TileContext &tile, unsigned self,
                Value kbValue);

/// Visits block kb unless it is negative or an earlier source covers it.
void visitBlockIfNew(KeySourceContext &cx, const TileContext &tile,
                     unsigned self, Value kbValue);

/// Whole key blocks, kept or not in relation to the query block:
/// keeps(qb, kb).
class BlockSource : public KeySource {
public:
  Value contains(KeySourceContext &cx, const TileContext &tile,
                 const RowContext &row, Value j) override;
  bool visitsOnlyMembers() const override { return true; }
  Value coversBlock(KeySourceContext &cx, const TileContext &tile,
                    Value kbValue) override;
  Value missesRange(KeySourceContext &cx, const TileContext &tile, Value start,
                    Value end) override;
  virtual Value keeps(KeySourceContext &cx, const TileContext &tile, Value qb,
                      Value kbValue) = 0;
};

/// Fixed block distances qb - kb (strides lists, diagonals) or fixed
/// columns kb.
class ListedBlocksSource : public BlockSource {
public:
  ListedBlocksSource(ArrayRef<int64_t> values, bool columns)
      : values(values.begin(), values.end()), columns(columns) {}
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override;
  Value keeps(KeySourceContext &cx, const TileContext &, Value qb,
              Value kbValue) override;

private:
  SmallVector<int64_t> values;
  bool columns;
};

} // namespace mlir::sattn

#endif // SATTN_PASSES_PRIMITIVES_BLOCKSOURCES_H
