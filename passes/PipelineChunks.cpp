//===- PipelineChunks.cpp - sattn-pipeline-chunks -------------------------===//
//
// Software pipelining of the chunk loops over ranges of keys, for layouts
// whose copies are asynchronous: the next chunk's K rows load during this
// chunk's mask, softmax and P·V, its V rows during its Q·Kᵀ. Copy groups
// stay in the order K0 V0 K1 V1 ... (empty groups where there is no next
// chunk), so "at most one pending" always means the one wanted has landed.
//
//   for_chunks [lo, hi):            if lo < hi:
//     ch = range_chunk c0, n          copy K, V of the first chunk
//     copy ch keys                    for_chunks [lo, hi) pipelined:
//     copy ch values                    ch = range_chunk c0, n
//     wait 1                            next = range_chunk c0 + C, ...
//     s = qk                            wait 1; s = qk; release
//     m = mask ch, s                    copy next keys if there is one
//     p = softmax m                     m = mask ch, s; p = softmax m
//     wait 0                            wait 1; pv p; release
//     pv p; release                     copy next values if there is one
//
// Loops of other shapes (lists of keys, layouts with synchronous copies)
// are left alone.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/tile/TileDialect.h"

#include "mlir/IR/IRMapping.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNPIPELINECHUNKS
#include "passes/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::tile;

namespace {

/// The ops of a chunk body in the form sattn-tile-attention writes.
struct ChunkBody {
  RangeChunkOp chunk;
  CopyOp copyKeys, copyValues;
  WaitOp firstWait, secondWait;
  QKOp qk;
  SoftmaxOp softmax;
  PVOp pv;
  ReleaseOp release;
};

/// Matches the body; other ops of the body must not touch the tile.
std::optional<ChunkBody> matchBody(ForChunksOp loop) {
  ChunkBody m;
  Block &body = loop.getBody().front();
  auto args = body.getArguments();
  SmallVector<Operation *> tileOps;
  for (Operation &op : body.without_terminator())
    if (op.getDialect() == loop->getDialect())
      tileOps.push_back(&op);
  // A modify between the mask and the softmax (score modifiers) reads only
  // the scores: it stays where it is.
  if (tileOps.size() == 11) {
    auto modify = dyn_cast<ModifyOp>(tileOps[6]);
    auto mask = dyn_cast<MaskOp>(tileOps[5]);
    if (!modify || !mask || modify.getScores() != mask.getResult() ||
        modify.getChunk() != mask.getChunk())
      return std::nullopt;
    tileOps.erase(tileOps.begin() + 6);
  }
  // range_chunk copy copy wait qk mask [modify] softmax wait pv release
  if (tileOps.size() != 10)
    return std::nullopt;
  m.chunk = dyn_cast<RangeChunkOp>(tileOps[0]);
  m.copyKeys = dyn_cast<CopyOp>(tileOps[1]);
  m.copyValues = dyn_cast<CopyOp>(tileOps[2]);
  m.firstWait = dyn_cast<WaitOp>(tileOps[3]);
  m.qk = dyn_cast<QKOp>(tileOps[4]);
  auto mask = dyn_cast<MaskOp>(tileOps[5]);
  auto softmax = m.softmax = dyn_cast<SoftmaxOp>(tileOps[6]);
  m.secondWait = dyn_cast<WaitOp>(tileOps[7]);
  m.pv = dyn_cast<PVOp>(tileOps[8]);
  m.release = dyn_cast<ReleaseOp>(tileOps[9]);
  if (!m.chunk || !m.copyKeys || !m.copyValues || !m.firstWait || !m.qk ||
      !mask || !softmax || !m.secondWait || !m.pv || !m.release)
    return std::nullopt;
  if (m.chunk.getStart() != args[0] || m.chunk.getCount() != args[1] ||
      m.copyKeys.getChunk() != m.chunk ||
      m.copyKeys.getOperand() != Operand::keys || m.copyKeys.getPred() ||
      m.copyValues.getChunk() != m.chunk ||
      m.copyValues.getOperand() != Operand::values || m.copyValues.getPred() ||
      m.firstWait.getPending() != 1 || m.secondWait.getPending() != 0 ||
      mask.getChunk() != m.chunk)
    return std::nullopt;
  return m;
}

/// The chunks of a range loop [lo, hi) in steps of the tile's chunk, as the
/// pipeliners address them.
struct RangeChunks {
  RangeChunks(OpBuilder &b, ForChunksOp loop, RangeChunkOp body)
      : loc(loop.getLoc()), tile(loop.getTile()), lo(loop.getLo()),
        hi(loop.getHi()), chunkType(body.getType()) {
    auto tileType = cast<TileType>(tile.getType());
    step = arith::ConstantIndexOp::create(b, loc, tileType.getChunk());
  }
  /// min(chunk, hi - start): the keys of the chunk at `start`.
  Value countFrom(OpBuilder &b, Value start) const {
    Value left = arith::SubIOp::create(b, loc, hi, start);
    return arith::MinSIOp::create(b, loc, step, left);
  }
  /// The chunk at `start`, and whether it exists (start < hi).
  std::pair<Value, Value> chunkAt(OpBuilder &b, Value start) const {
    Value exists =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, start, hi);
    Value chunk = RangeChunkOp::create(b, loc, chunkType, tile, start,
                                       countFrom(b, start));
    return {chunk, exists};
  }
  /// `scf.if lo < hi`, built at b's insertion point: where the first chunk
  /// and the loop go.
  scf::IfOp guardNonEmpty(OpBuilder &b) const {
    Value nonEmpty =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, lo, hi);
    return scf::IfOp::create(b, loc, TypeRange(), nonEmpty,
                             /*withElseRegion=*/false);
  }

  Location loc;
  Value tile, lo, hi, step;
  Type chunkType;
};

void pipeline(ForChunksOp loop, ChunkBody &m) {
  OpBuilder b(loop);
  RangeChunks range(b, loop, m.chunk);
  Location loc = range.loc;
  Value tile = range.tile, step = range.step, lo = range.lo;

  // The first chunk's copies, when there is a first chunk.
  scf::IfOp guard = range.guardNonEmpty(b);
  loop->moveBefore(guard.thenBlock()->getTerminator());
  b.setInsertionPoint(loop);
  Value first = RangeChunkOp::create(b, loc, range.chunkType, tile, lo,
                                     range.countFrom(b, lo));
  CopyOp::create(b, loc, tile, first, Operand::keys, Value());
  CopyOp::create(b, loc, tile, first, Operand::values, Value());

  // The next chunk of every iteration.
  b.setInsertionPointAfter(m.chunk);
  Value c0 = m.chunk.getStart();
  auto [next, hasNext] =
      range.chunkAt(b, arith::AddIOp::create(b, loc, c0, step));
  m.copyKeys.erase();
  m.copyValues.erase();
  // Every warp is done with K: the next chunk's K may load.
  b.setInsertionPointAfter(m.qk);
  ReleaseOp::create(b, loc, tile);
  CopyOp::create(b, loc, tile, next, Operand::keys, hasNext);
  // This chunk's V is the older of the two groups in flight.
  m.secondWait.setPending(1);
  // Every warp is done with V: the next chunk's V may load.
  b.setInsertionPointAfter(m.release);
  CopyOp::create(b, loc, tile, next, Operand::values, hasNext);
  loop.setPipelined(true);
}

/// The staging slot of the rows of the chunk at `start`: chunks of a range
/// alternate between two.
Value stagingSlot(OpBuilder &b, Location loc, Value lo, Value start,
                  Value step) {
  Value ordinal = arith::DivUIOp::create(
      b, loc, arith::SubIOp::create(b, loc, start, lo), step);
  Value two = arith::ConstantIndexOp::create(b, loc, 2);
  return arith::RemUIOp::create(b, loc, ordinal, two);
}

/// Layouts with asynchronous products (wgmma): P·V of chunk n - 1 runs on
/// the tensor cores while the softmax of chunk n runs on the other units
/// (FlashAttention-3's intra-warpgroup overlap). The first chunk is peeled;
/// the loop carries the probabilities whose P·V is still to come. K and V
/// rows alternate between two staging slots: K of chunk n + 2 loads while
/// chunk n + 1 waits its turn, V of chunk n + 1 while P·V reads n - 1's.
///
///   [copy K0, V0 (slot 0), K1, V1       for_chunks [lo + C, hi) carry(p):
///     (slot 1) if any]                    wait 2 (K n, V n-1 landed)
///   wait 3; s = qk; release               s = qk slot n%2 async
///   copy K2 (slot 0) if any               pv p of chunk n-1 slot (n-1)%2
///   m = mask ch0, s; p0 = softmax m         async
///     defer_rescale; rescale p0           s = qk_wait s; release
///   ...loop...                            copy K n+2 slot n%2 if any
///   wait 0; pv p_last of last chunk       m = mask ch, s
///     slot; release                       p' = softmax m defer_rescale
///                                         pv_wait; release
///                                         copy V n+1 slot (n+1)%2 if any
///                                         rescale p'; yield p'
///
/// Copy groups go K0 V0 K1 V1 K2, then K n+2 V n+1 per chunk n, so at the
/// top of chunk n only K n+1 and V n may be in flight.
void pipelineAsync(ForChunksOp loop, ChunkBody &m) {
  OpBuilder b(loop);
  RangeChunks range(b, loop, m.chunk);
  Location loc = range.loc;
  Value tile = range.tile, step = range.step, lo = range.lo, hi = range.hi;
  auto chunkType = range.chunkType;
  scf::IfOp guard = range.guardNonEmpty(b);
  b.setInsertionPoint(guard.thenBlock()->getTerminator());

  // The first chunk: a copy of the body for c0 = lo.
  Value secondStart = arith::AddIOp::create(b, loc, lo, step);
  Value thirdStart = arith::AddIOp::create(b, loc, secondStart, step);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Block &body = loop.getBody().front();
  IRMapping first;
  first.map(body.getArgument(0), lo);
  first.map(body.getArgument(1), range.countFrom(b, lo));
  for (Operation &op : body.without_terminator())
    b.clone(op, first);
  auto peeled = [&](Operation *op) { return first.lookupOrDefault(op); };
  auto firstQK = cast<QKOp>(peeled(m.qk));
  auto firstSoftmax = cast<SoftmaxOp>(peeled(m.softmax));
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointAfter(peeled(m.copyValues));
    auto [second, hasSecond] = range.chunkAt(b, secondStart);
    CopyOp::create(b, loc, tile, second, Operand::keys, one, hasSecond);
    CopyOp::create(b, loc, tile, second, Operand::values, one, hasSecond);
    cast<WaitOp>(peeled(m.firstWait)).setPending(3);
    b.setInsertionPointAfter(firstQK);
    ReleaseOp::create(b, loc, tile);
    auto [third, hasThird] = range.chunkAt(b, thirdStart);
    CopyOp::create(b, loc, tile, third, Operand::keys, Value(), hasThird);
    firstSoftmax.setDeferRescale(true);
    b.setInsertionPointAfter(firstSoftmax);
    RescaleOp::create(b, loc, tile, firstSoftmax);
  }
  // The peeled body's second wait, P·V and release: P·V moves after the
  // loop (or into the next iteration).
  for (Operation *op : {m.secondWait.getOperation(), m.pv.getOperation(),
                        m.release.getOperation()})
    peeled(op)->erase();
  b.setInsertionPoint(guard.thenBlock()->getTerminator());

  // The loop over the other chunks, carrying the probabilities.
  Value p0 = firstSoftmax.getProbabilities();
  auto newLoop = ForChunksOp::create(b, loc, TypeRange{p0.getType()}, tile,
                                     secondStart, hi, ValueRange{p0},
                                     /*pipelined=*/true);
  Block *newBody = b.createBlock(&newLoop.getBody());
  Type index = b.getIndexType();
  newBody->addArguments({index, index, p0.getType()}, {loc, loc, loc});
  body.getArgument(0).replaceAllUsesWith(newBody->getArgument(0));
  body.getArgument(1).replaceAllUsesWith(newBody->getArgument(1));
  newBody->getOperations().splice(newBody->end(), body.getOperations(),
                                  body.begin(), std::prev(body.end()));
  Value c0 = newBody->getArgument(0), carried = newBody->getArgument(2);

  b.setInsertionPointAfter(m.chunk);
  Value slot = stagingSlot(b, loc, lo, c0, step);
  Value prevStart = arith::SubIOp::create(b, loc, c0, step);
  Value prev = RangeChunkOp::create(b, loc, chunkType, tile, prevStart, step);
  Value prevSlot = arith::SubIOp::create(b, loc, one, slot);
  Value nextStart = arith::AddIOp::create(b, loc, c0, step);
  auto [next, hasNext] = range.chunkAt(b, nextStart);
  auto [afterNext, hasAfterNext] =
      range.chunkAt(b, arith::AddIOp::create(b, loc, nextStart, step));
  m.copyKeys.erase();
  m.copyValues.erase();
  m.firstWait.setPending(2);

  b.setInsertionPoint(m.qk);
  auto qk = QKOp::create(b, loc, m.qk.getScores().getType(), tile, slot,
                         /*async=*/true);
  PVOp::create(b, loc, tile, carried, prev, prevSlot, /*async=*/true);
  auto ready =
      QKWaitOp::create(b, loc, qk.getScores().getType(), tile, qk.getScores());
  // Every warp is done with K of chunk n: chunk n + 2's may take its slot.
  ReleaseOp::create(b, loc, tile);
  CopyOp::create(b, loc, tile, afterNext, Operand::keys, slot, hasAfterNext);
  m.qk.getScores().replaceAllUsesWith(ready.getScores());
  m.qk.erase();

  m.softmax.setDeferRescale(true);
  b.setInsertionPoint(m.pv);
  PVWaitOp::create(b, loc, tile);
  m.secondWait.erase();
  m.pv.erase();
  // Every warp is done with V of chunk n - 1: chunk n + 1's may take its
  // slot.
  b.setInsertionPointAfter(m.release);
  CopyOp::create(b, loc, tile, next, Operand::values, prevSlot, hasNext);
  RescaleOp::create(b, loc, tile, m.softmax);
  YieldOp::create(b, loc, ValueRange{m.softmax.getProbabilities()});

  // The last chunk's P·V.
  b.setInsertionPointAfter(newLoop);
  Value lastOrdinal = arith::DivUIOp::create(
      b, loc,
      arith::SubIOp::create(b, loc, arith::SubIOp::create(b, loc, hi, lo), one),
      step);
  Value lastStart = arith::AddIOp::create(
      b, loc, lo, arith::MulIOp::create(b, loc, lastOrdinal, step));
  Value last = RangeChunkOp::create(b, loc, chunkType, tile, lastStart,
                                    range.countFrom(b, lastStart));
  WaitOp::create(b, loc, tile, 0);
  PVOp::create(b, loc, tile, newLoop.getResult(0), last,
               stagingSlot(b, loc, lo, lastStart, step), /*async=*/false);
  ReleaseOp::create(b, loc, tile);
  loop.erase();
}

struct PipelineChunksPass
    : public mlir::sattn::impl::SattnPipelineChunksBase<PipelineChunksPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<ForChunksOp> loops;
    getOperation().walk([&](ForChunksOp loop) {
      auto layout = cast<TileType>(loop.getTile().getType()).getLayout();
      if (!loop.getPipelined() && layout.hasAsyncCopies())
        loops.push_back(loop);
    });
    for (ForChunksOp loop : loops) {
      std::optional<ChunkBody> body = matchBody(loop);
      if (!body)
        continue;
      if (overlapProducts && cast<TileType>(loop.getTile().getType())
                                 .getLayout()
                                 .hasAsyncProducts())
        pipelineAsync(loop, *body);
      else
        pipeline(loop, *body);
    }
  }
};
} // namespace
