//===- SelectTopkBlocks.cpp - Lowering of topk at block granularity -------===//
//
// Block top-k (docs/patterns.md, "topk"): the rows of a query block Q (blocks
// of Bt absolute positions) share one selection. Key block c is a candidate
// when it holds a key of C(last) that no static primitive keeps for Q's last
// row. Its score is the max key score (key_score, or linear = dot(k_j, w[g])
// in fp32) over the whole block, or pooled_qk = scale * dot(mean q of Q, mean
// k of the block). Candidates are ranked by descending score, ties toward the
// smaller block; the k best are kept, or the cover prefix (softmax over the
// candidates in float64, count(cumsum < alpha) + 1), exactly as the oracle.
//
// Selection stage (grid QueryBlocks: item = (b * Hq + h) * nQB + qb - qb0,
// 128 threads):
//   1. the threads share the key blocks: candidate flag (a scan of the
//      block's keys for one the static primitives leave out) and score;
//   2. each candidate's rank = the candidates ranked before it; the first
//      `cap` ranks go to the item's list, which is thus in rank order;
//   3. one thread counts the kept prefix (k, or the cover) and stores it.
// Attention visits the listed blocks' keys. The source comes last and every
// row of a tile shares its query block's list, so the keys it visits are its
// members: no mask of kept blocks is stored.
//
// Workspace, items = B * Hq * nQB, nKB = ceil(Sk / Bt), cap = nKB for a
// cover, else min(k, nKB):
//   HeadFloats [items][nKB] block scores, NaN for blocks that are not
//                           candidates (scores of real inputs are never NaN)
//   ListCount  [items]      kept blocks
//   ListItems  [items][cap] blocks in rank order
//
//===----------------------------------------------------------------------===//

#include "passes/primitives/SelectionHelpers.h"
#include "passes/primitives/Topk.h"

#include "passes/Schedule.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelMemref;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;

namespace {

/// The sizes both kernels derive from the call.
struct BlockValues {
  Value seqQ, seqK, offset;
  Value firstQB, numQB; // absolute query blocks of the call
  Value numKB, cap, items;
};

BlockValues blockValues(KernelBuilder &kb, const TopkParams &tp) {
  BlockValues v;
  Value bt = kb.idx(tp.block);
  v.seqQ = kb.scalar(KernelScalar::SeqQ);
  v.seqK = kb.scalar(KernelScalar::SeqK);
  v.offset = kb.sub(v.seqK, v.seqQ);
  v.firstQB = kb.floorDiv(v.offset, bt);
  Value lastQB = kb.floorDiv(kb.sub(kb.add(v.offset, v.seqQ), kb.idx(1)), bt);
  v.numQB = kb.add(kb.sub(lastQB, v.firstQB), kb.idx(1));
  v.numKB = kb.ceilDiv(v.seqK, bt);
  v.cap = tp.byCover ? v.numKB : kb.min(kb.idx(tp.k), v.numKB);
  v.items =
      kb.mul(kb.mul(kb.scalar(KernelScalar::Batch), kb.idx(kb.shape().heads)),
             v.numQB);
  return v;
}

/// Whether a stored block score belongs to a candidate (not NaN).
Value isCandidate(KernelBuilder &kb, Value score) {
  return kb.fcmp(arith::CmpFPredicate::ORD, score, score);
}

class TopkBlocksSource : public KeySource {
public:
  explicit TopkBlocksSource(const TopkParams &tp) : tp(tp) {}

  Value itemOf(KernelBuilder &kb, const BlockValues &v, const TileContext &tile,
               Value pos) {
    Value bh = kb.add(kb.mul(tile.batch, kb.idx(kb.shape().heads)), tile.head);
    Value qb = kb.sub(kb.floorDiv(pos, kb.idx(tp.block)), v.firstQB);
    return kb.add(kb.mul(bh, v.numQB), qb);
  }

  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    BlockValues v = blockValues(kb, tp);
    // Tiles never straddle query blocks of Bt (the schedule aligns them).
    Value item = itemOf(kb, v, tile, tile.firstPos);
    Value count = kb.loadWs(WorkspaceSlot::ListCount, item);
    Value bt = kb.idx(tp.block);
    Value items = kb.mul(item, v.cap);
    cx.visitKeys(tile, self, kb.mul(count, bt), [&](Value n) {
      Value block = kb.loadWs(WorkspaceSlot::ListItems,
                              kb.add(items, kb.floorDiv(n, bt)));
      Value j = kb.add(kb.mul(block, bt), kb.floorMod(n, bt));
      return kb.select(kb.lt(j, tile.keyEnd), j, kb.idx(-1));
    });
  }

  bool visitsOnlyMembers() const override { return true; }
  /// Last source: only asked about the keys it visits, all of them members.
  Value contains(KeySourceContext &cx, const TileContext &, const RowContext &,
                 Value) override {
    return cx.builder().boolean(true);
  }

private:
  TopkParams tp;
};

} // namespace

void mlir::sattn::addTopkBlockWorkspace(const KernelRequest &req,
                                        StageAttr stage,
                                        WorkspaceSizes &slots) {
  using ::sattn::SizeExpr;
  TopkParams tp = topkParams(req, stage.getPrimitive());
  SizeExpr numQB = numQueryBlocks(tp.block, BlockOrigin::absolute);
  SizeExpr numKB = ceilDiv(SizeExpr::seqK(), tp.block);
  SizeExpr cap = tp.byCover ? numKB : min(SizeExpr(tp.k), numKB);
  SizeExpr items = SizeExpr::batch() * req.shape.heads * numQB;
  slots[unsigned(WorkspaceSlot::HeadFloats)] += items * numKB;
  slots[unsigned(WorkspaceSlot::ListCount)] += items;
  slots[unsigned(WorkspaceSlot::ListItems)] += items * cap;
}

LogicalResult mlir::sattn::emitTopkBlockStage(KernelBuilder &kb,
                                              const KernelRequest &req,
                                              StageAttr stage) {
  TopkParams tp = topkParams(req, stage.getPrimitive());
  // Static sources answer "does a static primitive keep key j for the last
  // row".
  KeySourceContext context(kb, req);
  KeySourceList statics;
  for (int64_t index : req.schedule.getSources())
    if (!isa<SelectionPrimitive>(req.primitives[index]))
      cast<KeySourcePrimitive>(req.primitives[index])
          .appendKeySources(req, statics);

  kb.beginFunction(stage.getFunction(), stage.getThreads());
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  const int64_t heads = kb.shape().heads;
  const int64_t group = heads / kb.shape().kvHeads;
  const int64_t headDim = kb.shape().headDim;
  const bool pooled = tp.source == ScoreSource::pooled_qk;
  const bool linear = tp.source == ScoreSource::linear;
  BlockValues v = blockValues(kb, tp);
  Value bt = kb.idx(tp.block);
  Value qMean = pooled ? kb.sharedAlloc({headDim}, f32) : Value();
  auto f64Const = [&](double x) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(x));
  };
  auto toF64 = [&](Value x) -> Value {
    return arith::ExtFOp::create(b, loc, f64, x);
  };

  kb.forEachWorkItem([&](Value item) {
    Value qbIdx = kb.floorMod(item, v.numQB);
    Value bh = kb.floorDiv(item, v.numQB);
    Value h = kb.floorMod(bh, kb.idx(heads));
    Value bb = kb.floorDiv(bh, kb.idx(heads));
    Value g = kb.floorDiv(h, kb.idx(group));
    Value qb = kb.add(v.firstQB, qbIdx);
    Value firstRow = kb.max(kb.sub(kb.mul(qb, bt), v.offset), kb.idx(0));
    Value lastRow = kb.sub(
        kb.min(v.seqQ, kb.sub(kb.mul(kb.add(qb, kb.idx(1)), bt), v.offset)),
        kb.idx(1));
    Value lastPos = kb.add(lastRow, v.offset);
    Value end =
        req.causal ? kb.min(kb.add(lastPos, kb.idx(1)), v.seqK) : v.seqK;
    Value blockBase = kb.mul(item, v.numKB);

    TileContext tile;
    tile.batch = bb;
    tile.head = h;
    tile.kvHead = g;
    tile.tile = qbIdx;
    tile.offset = v.offset;
    tile.firstRow = firstRow;
    tile.firstPos = kb.add(firstRow, v.offset);
    tile.lastPos = lastPos;
    tile.keyEnd = end;
    tile.queryBlock = kb.floorDiv(tile.firstPos, context.patternBlock());
    tile.seqQ = v.seqQ;
    tile.seqK = v.seqK;
    RowContext row;
    row.row = lastRow;
    row.pos = lastPos;
    row.queryBlock = kb.floorDiv(lastPos, context.patternBlock());

    if (pooled)
      storeQueryMean(kb, qMean, bb, h, firstRow, lastRow);

    // 1. Scores of the candidate blocks (NaN for the others).
    kb.coopLoop(v.numKB, [&](Value c) {
      Value lo = kb.mul(c, bt);
      Value hi = kb.min(end, kb.add(lo, bt));
      Value firstFree = lo;
      if (!statics.empty())
        firstFree = kb.whileLoop(
            {lo},
            [&](ValueRange j) {
              Value kept = kb.boolean(false);
              for (auto &src : statics)
                kept = kb.orI(kept, src->contains(context, tile, row, j[0]));
              return kb.andI(kb.lt(j[0], hi), kept);
            },
            [&](ValueRange j) {
              return SmallVector<Value>{kb.add(j[0], kb.idx(1))};
            })[0];
      Value cand = kb.lt(firstFree, hi);
      Value blockEnd = kb.min(v.seqK, kb.add(lo, bt));
      auto keyScore = [&](Value j) -> Value {
        if (!linear)
          return kb.load(
              kb.memref(KernelMemref::KeyScores),
              kb.add(kb.mul(kb.add(kb.mul(bb, kb.idx(kb.shape().kvHeads)), g),
                            v.seqK),
                     j));
        return kb.forRangeCarry(
            kb.idx(0), kb.idx(headDim), kb.idx(1), {kb.f32(0)},
            [&](Value d, ValueRange acc) {
              Value w = kb.load(kb.memref(KernelMemref::Weights),
                                kb.add(kb.mul(g, kb.idx(headDim)), d));
              return SmallVector<Value>{
                  kb.fadd(acc[0], kb.fmul(kb.loadK(bb, g, j, d), w))};
            })[0];
      };
      Value score = kb.ifThenElse(
          cand, {f32},
          [&]() -> SmallVector<Value> {
            if (!pooled)
              return {kb.forRangeCarry(
                  lo, blockEnd, kb.idx(1), {kb.negInf()},
                  [&](Value j, ValueRange acc) {
                    Value x = keyScore(j);
                    // std::max(acc, x).
                    Value less = kb.fcmp(arith::CmpFPredicate::OLT, acc[0], x);
                    return SmallVector<Value>{kb.select(less, x, acc[0])};
                  })[0]};
            Value n = kb.sitofp(kb.sub(blockEnd, lo));
            Value dot = kb.forRangeCarry(
                kb.idx(0), kb.idx(headDim), kb.idx(1), {kb.f32(0)},
                [&](Value d, ValueRange acc) {
                  Value sum =
                      kb.forRangeCarry(lo, blockEnd, kb.idx(1), {kb.f32(0)},
                                       [&](Value j, ValueRange kacc) {
                                         return SmallVector<Value>{kb.fadd(
                                             kacc[0], kb.loadK(bb, g, j, d))};
                                       })[0];
                  Value km = kb.fdiv(sum, n);
                  return SmallVector<Value>{
                      kb.fadd(acc[0], kb.fmul(kb.load(qMean, {d}), km))};
                })[0];
            return {kb.fmul(kb.f32(kb.shape().effectiveScale()), dot)};
          },
          [&] { return SmallVector<Value>{kb.f32(std::nan(""))}; })[0];
      kb.storeWs(WorkspaceSlot::HeadFloats, kb.add(blockBase, c), score);
    });
    kb.barrier();

    // 2. Ranks: the list holds the best `cap` candidates in rank order.
    Value listBase = kb.mul(item, v.cap);
    kb.coopLoop(v.numKB, [&](Value c) {
      Value sc = kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(blockBase, c));
      kb.ifThen(isCandidate(kb, sc), [&] {
        Value rank = kb.forRangeCarry(
            kb.idx(0), v.numKB, kb.idx(1), {kb.idx(0)},
            [&](Value o, ValueRange acc) {
              Value os =
                  kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(blockBase, o));
              Value before =
                  kb.andI(isCandidate(kb, os), rankedBefore(kb, os, o, sc, c));
              return SmallVector<Value>{
                  kb.add(acc[0], kb.select(before, kb.idx(1), kb.idx(0)))};
            })[0];
        kb.ifThen(kb.lt(rank, v.cap), [&] {
          kb.storeWs(WorkspaceSlot::ListItems, kb.add(listBase, rank), c);
        });
      });
    });
    kb.barrier();

    // 3. The kept prefix.
    kb.singleThread([&] {
      Value candidates = kb.forRangeCarry(
          kb.idx(0), v.numKB, kb.idx(1), {kb.idx(0)},
          [&](Value c, ValueRange acc) {
            Value sc =
                kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(blockBase, c));
            return SmallVector<Value>{kb.add(
                acc[0], kb.select(isCandidate(kb, sc), kb.idx(1), kb.idx(0)))};
          })[0];
      Value count;
      if (!tp.byCover) {
        count = kb.min(kb.idx(tp.k), candidates);
      } else {
        // Softmax over the candidates (float64 on fp32 scores): max and sum
        // in block order, probabilities in rank order.
        SmallVector<Value> stats = kb.forRangeCarry(
            kb.idx(0), v.numKB, kb.idx(1),
            {f64Const(-std::numeric_limits<double>::infinity())},
            [&](Value c, ValueRange acc) {
              Value x = toF64(
                  kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(blockBase, c)));
              // Ordered: NaN (not a candidate) is never taken.
              Value take = kb.fcmp(arith::CmpFPredicate::OLT, acc[0], x);
              return SmallVector<Value>{kb.select(take, x, acc[0])};
            });
        Value mx = stats[0];
        Value sum = kb.forRangeCarry(
            kb.idx(0), v.numKB, kb.idx(1), {f64Const(0)},
            [&](Value c, ValueRange acc) {
              Value x = toF64(
                  kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(blockBase, c)));
              return kb.ifThenElse(
                  isCandidate(kb, x), {f64},
                  [&] {
                    return SmallVector<Value>{
                        kb.fadd(acc[0], kb.exp(kb.fsub(x, mx)))};
                  },
                  [&] { return SmallVector<Value>{acc[0]}; });
            })[0];
        Value alpha = f64Const(tp.alpha);
        count = kb.whileLoop(
            {kb.idx(0), f64Const(0), kb.boolean(false)},
            [&](ValueRange st) {
              return kb.andI(kb.notI(st[2]), kb.lt(st[0], candidates));
            },
            [&](ValueRange st) {
              Value c =
                  kb.loadWs(WorkspaceSlot::ListItems, kb.add(listBase, st[0]));
              Value x = toF64(
                  kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(blockBase, c)));
              Value cum = kb.fadd(st[1], kb.fdiv(kb.exp(kb.fsub(x, mx)), sum));
              Value done = kb.fcmp(arith::CmpFPredicate::OGE, cum, alpha);
              return SmallVector<Value>{kb.add(st[0], kb.idx(1)), cum, done};
            })[0];
      }
      kb.storeWs(WorkspaceSlot::ListCount, item, count);
    });
  });
  kb.endFunction();
  return success();
}

void mlir::sattn::appendTopkBlockSources(const KernelRequest &req,
                                         int64_t primitive,
                                         KeySourceList &sources) {
  sources.push_back(
      std::make_unique<TopkBlocksSource>(topkParams(req, primitive)));
}
