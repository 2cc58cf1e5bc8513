//===- BlockSources.cpp - Key sources made of whole key blocks ------------===//

#include "passes/primitives/BlockSources.h"

using namespace mlir;
using namespace mlir::sattn;

Value mlir::sattn::blocksMissRange(KeySourceContext &cx, Value start, Value end,
                                   function_ref<Value(Value)> keptBlock) {
  KernelBuilder &kb = cx.builder();
  Value first = kb.floorDiv(start, cx.patternBlock());
  Value last = kb.floorDiv(kb.sub(end, kb.idx(1)), cx.patternBlock());
  Value twoAtMost = kb.le(kb.sub(last, first), kb.idx(1));
  Value neither = kb.andI(kb.notI(keptBlock(first)), kb.notI(keptBlock(last)));
  return kb.andI(twoAtMost, neither);
}

void mlir::sattn::visitBlock(KeySourceContext &cx, const TileContext &tile,
                             unsigned self, Value kbValue) {
  KernelBuilder &kb = cx.builder();
  Value start = kb.mul(kbValue, cx.patternBlock());
  cx.visitRange(tile, self, start, kb.add(start, cx.patternBlock()));
}

void mlir::sattn::visitBlockIfNew(KeySourceContext &cx, const TileContext &tile,
                                  unsigned self, Value kbValue) {
  KernelBuilder &kb = cx.builder();
  Value ok = kb.andI(kb.ge(kbValue, kb.idx(0)),
                     kb.notI(cx.coveredBefore(tile, self, kbValue)));
  kb.ifThen(ok, [&] { visitBlock(cx, tile, self, kbValue); });
}

Value BlockSource::contains(KeySourceContext &cx, const TileContext &tile,
                            const RowContext &row, Value j) {
  KernelBuilder &kb = cx.builder();
  return keeps(cx, tile, row.queryBlock, kb.floorDiv(j, cx.patternBlock()));
}

Value BlockSource::coversBlock(KeySourceContext &cx, const TileContext &tile,
                               Value kbValue) {
  return keeps(cx, tile, tile.queryBlock, kbValue);
}

Value BlockSource::missesRange(KeySourceContext &cx, const TileContext &tile,
                               Value start, Value end) {
  return blocksMissRange(cx, start, end, [&](Value kbValue) {
    return keeps(cx, tile, tile.queryBlock, kbValue);
  });
}

void ListedBlocksSource::enumerate(KeySourceContext &cx,
                                   const TileContext &tile, unsigned self) {
  KernelBuilder &kb = cx.builder();
  for (int64_t v : values) {
    Value kbValue = columns ? kb.idx(v) : kb.sub(tile.queryBlock, kb.idx(v));
    visitBlockIfNew(cx, tile, self, kbValue);
  }
}

Value ListedBlocksSource::keeps(KeySourceContext &cx, const TileContext &,
                                Value qb, Value kbValue) {
  KernelBuilder &kb = cx.builder();
  Value key = columns ? kbValue : kb.sub(qb, kbValue);
  Value any = kb.boolean(false);
  for (int64_t v : values)
    any = kb.orI(any, kb.eq(key, kb.idx(v)));
  return any;
}
