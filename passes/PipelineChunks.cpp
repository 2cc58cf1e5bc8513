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
  auto softmax = dyn_cast<SoftmaxOp>(tileOps[6]);
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

void pipeline(ForChunksOp loop, ChunkBody &m) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Value tile = loop.getTile();
  auto tileType = cast<TileType>(tile.getType());
  Value step =
      arith::ConstantIndexOp::create(b, loc, tileType.getChunk()).getResult();
  Value lo = loop.getLo(), hi = loop.getHi();
  auto chunkType = m.chunk.getType();
  auto countFrom = [&](OpBuilder &ob, Value start) {
    Value left = arith::SubIOp::create(ob, loc, hi, start);
    return arith::MinSIOp::create(ob, loc, step, left).getResult();
  };

  // The first chunk's copies, when there is a first chunk.
  Value nonEmpty =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, lo, hi);
  auto guard = scf::IfOp::create(b, loc, TypeRange(), nonEmpty,
                                 /*withElseRegion=*/false);
  loop->moveBefore(guard.thenBlock()->getTerminator());
  b.setInsertionPoint(loop);
  Value first =
      RangeChunkOp::create(b, loc, chunkType, tile, lo, countFrom(b, lo));
  CopyOp::create(b, loc, tile, first, Operand::keys, Value());
  CopyOp::create(b, loc, tile, first, Operand::values, Value());

  // The next chunk of every iteration.
  b.setInsertionPointAfter(m.chunk);
  Value c0 = m.chunk.getStart();
  Value nextStart = arith::AddIOp::create(b, loc, c0, step);
  Value hasNext =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, nextStart, hi);
  Value next = RangeChunkOp::create(b, loc, chunkType, tile, nextStart,
                                    countFrom(b, nextStart));
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

struct PipelineChunksPass
    : public mlir::sattn::impl::SattnPipelineChunksBase<PipelineChunksPass> {
  void runOnOperation() override {
    SmallVector<ForChunksOp> loops;
    getOperation().walk([&](ForChunksOp loop) {
      auto layout = cast<TileType>(loop.getTile().getType()).getLayout();
      if (!loop.getPipelined() && layout.hasAsyncCopies())
        loops.push_back(loop);
    });
    for (ForChunksOp loop : loops)
      if (std::optional<ChunkBody> body = matchBody(loop))
        pipeline(loop, *body);
  }
};
} // namespace
