//===- AttentionEmitter.cpp - Tiled online-softmax attention --------------===//

#include "passes/AttentionEmitter.h"

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelScalar;

TileComputer::~TileComputer() = default;

AttentionEmitter::AttentionEmitter(KernelBuilder &kb,
                                   const KernelRequest &request)
    : KeySourceContext(kb, request), kernelPlan(planAttentionKernel(request)),
      sources(makeKeySources(request)) {}

AttentionEmitter::~AttentionEmitter() = default;

LogicalResult AttentionEmitter::emit() {
  computer = kernelPlan.tensorCores ? makeMmaTile(*this) : makeRowTile(*this);
  ScheduleAttr sched = req.schedule;
  kb.beginFunction(sched.getAttention(), kernelPlan.threads);
  computer->allocate();

  Value seqQ = kb.scalar(KernelScalar::SeqQ);
  Value seqK = kb.scalar(KernelScalar::SeqK);
  Value offset = kb.sub(seqK, seqQ);
  Value tileRows = kb.idx(sched.getTileQ());
  const bool absoluteTiles = sched.getTiles() == BlockOrigin::absolute;
  Value numTiles, firstTile;
  if (absoluteTiles) {
    firstTile = kb.floorDiv(offset, tileRows);
    Value lastTile =
        kb.floorDiv(kb.sub(kb.add(offset, seqQ), kb.idx(1)), tileRows);
    numTiles = kb.add(kb.sub(lastTile, firstTile), kb.idx(1));
  } else {
    numTiles = kb.ceilDiv(seqQ, tileRows);
  }
  const int64_t heads = kb.shape().heads;
  const int64_t group = heads / kb.shape().kvHeads;

  kb.forEachWorkItem([&](Value item) {
    TileContext tile;
    tile.seqQ = seqQ;
    tile.seqK = seqK;
    tile.offset = offset;
    tile.tile = kb.floorMod(item, numTiles);
    Value bh = kb.floorDiv(item, numTiles);
    tile.head = kb.floorMod(bh, kb.idx(heads));
    tile.batch = kb.floorDiv(bh, kb.idx(heads));
    tile.kvHead = kb.floorDiv(tile.head, kb.idx(group));
    if (absoluteTiles) {
      tile.firstPos = kb.mul(kb.add(firstTile, tile.tile), tileRows);
      tile.firstRow = kb.sub(tile.firstPos, offset);
    } else {
      tile.firstRow = kb.mul(tile.tile, tileRows);
      tile.firstPos = kb.add(tile.firstRow, offset);
    }
    Value lastRow =
        kb.sub(kb.min(kb.add(tile.firstRow, tileRows), seqQ), kb.idx(1));
    tile.lastPos = kb.add(lastRow, offset);
    tile.keyEnd =
        req.causal
            ? kb.max(kb.min(seqK, kb.add(tile.lastPos, kb.idx(1))), kb.idx(0))
            : seqK;
    tile.queryBlock = kb.floorDiv(tile.firstPos, patternBlock());

    computer->beginTile(tile);
    for (unsigned e = 0; e < sources.size(); ++e)
      sources[e]->enumerate(*this, tile, e);
    computer->endTile(tile);
  });
  kb.endFunction();
  return success();
}

void AttentionEmitter::visitRange(const TileContext &tile, unsigned sourceIndex,
                                  Value start, Value end) {
  Value lo = kb.max(start, kb.idx(0));
  Value hi = kb.min(end, tile.keyEnd);
  computer->processRange(tile, sourceIndex, lo, hi, [&](Value c0, Value n) {
    return rangeNeedsMask(tile, sourceIndex, c0, n);
  });
}

void TileComputer::processRange(const TileContext &tile, unsigned sourceIndex,
                                Value lo, Value hi,
                                function_ref<Value(Value, Value)> needsMask) {
  KernelBuilder &kb = emitter.builder();
  Value chunk = kb.idx(emitter.plan().chunkKeys);
  kb.forRange(lo, hi, chunk, [&](Value c0) {
    Value count = kb.min(chunk, kb.sub(hi, c0));
    processChunk(
        tile, sourceIndex, [&](Value c) { return kb.add(c0, c); }, count,
        needsMask(c0, count));
  });
}

void AttentionEmitter::visitKeys(const TileContext &tile, unsigned sourceIndex,
                                 Value count,
                                 function_ref<Value(Value)> keyAt) {
  Value chunk = kb.idx(kernelPlan.chunkKeys);
  kb.forRange(kb.idx(0), count, chunk, [&](Value c0) {
    Value n = kb.min(chunk, kb.sub(count, c0));
    computer->processChunk(
        tile, sourceIndex, [&](Value c) { return keyAt(kb.add(c0, c)); }, n,
        kb.boolean(true));
  });
}

Value AttentionEmitter::rangeNeedsMask(const TileContext &tile,
                                       unsigned sourceIndex, Value start,
                                       Value count) {
  Value end = kb.add(start, count);
  // A full chunk (no empty slots), before the causal edge of every row.
  Value clear = kb.eq(count, kb.idx(kernelPlan.chunkKeys));
  if (req.causal)
    clear = kb.andI(
        clear, kb.lt(kb.sub(end, kb.idx(1)), kb.add(tile.firstPos, kb.idx(1))));
  KeySource &self = *sources[sourceIndex];
  if (!self.visitsOnlyMembers()) {
    Value covers = self.coversRange(*this, tile, start, end);
    if (!covers)
      return kb.boolean(true);
    clear = kb.andI(clear, covers);
  }
  for (unsigned e = 0; e < sourceIndex; ++e) {
    Value misses = sources[e]->missesRange(*this, tile, start, end);
    if (!misses)
      return kb.boolean(true);
    clear = kb.andI(clear, misses);
  }
  return kb.notI(clear);
}

Value AttentionEmitter::coveredBefore(const TileContext &tile,
                                      unsigned sourceIndex, Value kbValue) {
  Value covered = kb.boolean(false);
  for (unsigned e = 0; e < sourceIndex; ++e)
    if (Value c = sources[e]->coversBlock(*this, tile, kbValue))
      covered = kb.orI(covered, c);
  return covered;
}

Value AttentionEmitter::elementKept(const TileContext &tile,
                                    unsigned sourceIndex, const RowContext &row,
                                    Value j) {
  Value keep = kb.ge(j, kb.idx(0));
  if (req.causal)
    keep = kb.andI(keep, kb.le(j, row.pos));
  // Membership tests read lists and scores at j: ask them about a key in
  // range (the result is discarded for empty slots).
  Value key = kb.max(j, kb.idx(0));
  if (!sources[sourceIndex]->visitsOnlyMembers())
    keep = kb.andI(keep, sources[sourceIndex]->contains(*this, tile, row, key));
  for (unsigned e = 0; e < sourceIndex; ++e)
    keep = kb.andI(keep, kb.notI(sources[e]->contains(*this, tile, row, key)));
  return keep;
}
