//===- AttentionEmitter.cpp - The attention tile program ------------------===//

#include "passes/AttentionEmitter.h"

#include "dialect/tile/TileDialect.h"
#include "sattn/ScoreModifiers.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelScalar;

AttentionEmitter::AttentionEmitter(KernelBuilder &kb,
                                   const KernelRequest &request,
                                   bool warpgroupMma)
    : KeySourceContext(kb, request),
      kernelPlan(planAttentionKernel(request, warpgroupMma)),
      sources(makeKeySources(request)) {}

AttentionEmitter::~AttentionEmitter() = default;

LogicalResult AttentionEmitter::emit() {
  ScheduleAttr sched = req.schedule;
  MLIRContext *ctx = kb.b().getContext();
  kb.beginFunction(sched.getAttention(), kernelPlan.threads);
  auto layout = tile::LayoutAttr::get(
      ctx, kernelPlan.warpgroupMma  ? tile::Layout::wgmma
           : kernelPlan.tensorCores ? tile::Layout::mma_sync
                                    : tile::Layout::row);
  auto tileType =
      tile::TileType::get(ctx, sched.getTileQ(), req.shape.headDim,
                          req.elementType, kernelPlan.chunkKeys, layout);

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
  const int64_t heads = req.shape.heads;
  const int64_t group = req.shape.groupSize();

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
    tile.value = tile::BeginOp::create(
        kb.b(), kb.loc(), tileType, tile.batch, tile.head, tile.kvHead,
        tile.firstRow, seqQ, seqK,
        kb.b().getF64FloatAttr(req.shape.effectiveScale()),
        kb.b().getI64IntegerAttr(req.block),
        req.alignedKV ? kb.b().getUnitAttr() : UnitAttr());
    if (req.pattern.getAlibi())
      tile.alibiSlope = alibiSlopeOf(tile.head);
    for (unsigned e = 0; e < sources.size(); ++e)
      sources[e]->enumerate(*this, tile, e);
    tile::StoreOp::create(kb.b(), kb.loc(), tile.value);
  });
  kb.endFunction();
  return success();
}

/// A for_chunks loop over positions [lo, hi) of `tile`.
static void forChunks(KernelBuilder &kb, const TileContext &tile, Value lo,
                      Value hi, function_ref<void(Value, Value)> body) {
  auto op = tile::ForChunksOp::create(kb.b(), kb.loc(), tile.value, lo, hi,
                                      /*pipelined=*/false);
  kb.fillBody(op.getBody(), 2,
              [&](ValueRange args) { body(args[0], args[1]); });
}

void AttentionEmitter::visitRange(const TileContext &tile, unsigned sourceIndex,
                                  Value start, Value end) {
  Value lo = kb.max(start, kb.idx(0));
  Value hi = kb.min(end, tile.keyEnd);
  forChunks(kb, tile, lo, hi, [&](Value c0, Value count) {
    Value needsMask = rangeNeedsMask(tile, sourceIndex, c0, count);
    Value chunk = tile::RangeChunkOp::create(
        kb.b(), kb.loc(),
        tile::ChunkType::get(kb.b().getContext(), tile::ChunkKind::range),
        tile.value, c0, count);
    computeChunk(tile, sourceIndex, chunk, needsMask);
  });
}

void AttentionEmitter::visitKeys(const TileContext &tile, unsigned sourceIndex,
                                 Value count,
                                 function_ref<Value(Value)> keyAt) {
  forChunks(kb, tile, kb.idx(0), count, [&](Value c0, Value n) {
    auto op = tile::ListChunkOp::create(
        kb.b(), kb.loc(),
        tile::ChunkType::get(kb.b().getContext(), tile::ChunkKind::list),
        tile.value, n);
    Block *block = new Block();
    block->addArgument(kb.b().getIndexType(), kb.loc());
    op.getKeys().push_back(block);
    {
      OpBuilder::InsertionGuard guard(kb.b());
      kb.b().setInsertionPointToStart(block);
      Value key = keyAt(kb.add(c0, block->getArgument(0)));
      tile::YieldOp::create(kb.b(), kb.loc(), ValueRange{key});
    }
    // Workspace lists are always masked.
    computeChunk(tile, sourceIndex, op, kb.boolean(true));
  });
}

void AttentionEmitter::computeChunk(const TileContext &tile,
                                    unsigned sourceIndex, Value chunk,
                                    Value needsMask) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  auto tileType = cast<tile::TileType>(tile.value.getType());
  auto scoresType =
      tile::ScoresType::get(b.getContext(), tileType.getRows(),
                            tileType.getChunk(), tileType.getLayout());
  tile::CopyOp::create(b, loc, tile.value, chunk, tile::Operand::keys, Value());
  tile::CopyOp::create(b, loc, tile.value, chunk, tile::Operand::values,
                       Value());
  tile::WaitOp::create(b, loc, tile.value, 1);
  Value scores = tile::QKOp::create(b, loc, scoresType, tile.value);
  auto mask = tile::MaskOp::create(b, loc, scores.getType(), tile.value, chunk,
                                   scores, needsMask);
  {
    Block *block = new Block();
    for (int i = 0; i < 4; ++i)
      block->addArgument(b.getIndexType(), loc);
    mask.getKeep().push_back(block);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(block);
    RowContext row{block->getArgument(0), block->getArgument(1),
                   block->getArgument(2)};
    Value keep = elementKept(tile, sourceIndex, row, block->getArgument(3));
    tile::YieldOp::create(b, loc, ValueRange{keep});
  }
  Value masked = mask.getResult();
  if (req.pattern.hasScoreModifiers())
    masked = modifyScores(tile, chunk, masked);
  Value probabilities =
      tile::SoftmaxOp::create(b, loc, scores.getType(), tile.value, masked);
  tile::WaitOp::create(b, loc, tile.value, 0);
  tile::PVOp::create(b, loc, tile.value, probabilities);
  // The next chunk overwrites the staged keys and rows.
  tile::ReleaseOp::create(b, loc, tile.value);
}

Value AttentionEmitter::alibiSlopeOf(Value head) {
  // The query heads are known at compile time: the slopes are constants,
  // one of which each tile picks once.
  const int64_t heads = req.shape.heads;
  Value slope = kb.f32(::sattn::alibiSlope(heads - 1, heads));
  for (int64_t h = heads - 2; h >= 0; --h)
    slope = kb.select(kb.eq(head, kb.idx(h)),
                      kb.f32(::sattn::alibiSlope(h, heads)), slope);
  return slope;
}

Value AttentionEmitter::modifyScores(const TileContext &tile, Value chunk,
                                     Value scores) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  auto modify = tile::ModifyOp::create(b, loc, scores.getType(), tile.value,
                                       chunk, scores);
  Block *block = new Block();
  for (int i = 0; i < 3; ++i)
    block->addArgument(b.getIndexType(), loc);
  block->addArgument(b.getF32Type(), loc);
  modify.getModifier().push_back(block);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(block);
  Value pos = block->getArgument(1), key = block->getArgument(2);
  Value s = block->getArgument(3);
  // docs/patterns.md, "Score modifiers": the cap, then ALiBi.
  if (std::optional<double> cap = req.pattern.getSoftcapValue()) {
    Value c = kb.f32(*cap);
    s = kb.fmul(math::TanhOp::create(b, loc, kb.fdiv(s, c)), c);
  }
  if (req.pattern.getAlibi()) {
    Value distance = arith::SIToFPOp::create(b, loc, b.getF32Type(),
                                             kb.toI64(kb.sub(pos, key)));
    s = kb.fsub(s, kb.fmul(tile.alibiSlope, distance));
  }
  tile::YieldOp::create(b, loc, ValueRange{s});
  return modify.getResult();
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
