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

#include "passes/DynamicPrimitives.h"
#include "passes/KernelRequest.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::sattn::lowering;
using ::sattn::KernelMemref;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;
namespace spec = ::sattn;

namespace {

int64_t ceilDivInt(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t floorDivInt(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// The sizes both kernels derive from the call.
struct BlockValues {
  Value seqQ, seqK, offset;
  Value firstQB, numQB; // absolute query blocks of the call
  Value numKB, cap, items;
};

BlockValues blockValues(KernelBuilder &kb, const spec::TopkPrim &tp) {
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

/// (sa, a) ranks strictly before (sb, b): higher score, then smaller index.
Value better(KernelBuilder &kb, Value sa, Value a, Value sb, Value b) {
  Value gt = kb.fcmp(arith::CmpFPredicate::OGT, sa, sb);
  Value eq = kb.fcmp(arith::CmpFPredicate::OEQ, sa, sb);
  return kb.orI(gt, kb.andI(eq, kb.lt(a, b)));
}

class TopkBlocksSource : public KeySource {
public:
  explicit TopkBlocksSource(const spec::TopkPrim &tp) : tp(tp) {}

  Value itemOf(KernelBuilder &kb, const BlockValues &v, const TileContext &tile,
               Value pos) {
    Value bh = kb.add(kb.mul(tile.batch, kb.idx(kb.shape().heads)), tile.head);
    Value qb = kb.sub(kb.floorDiv(pos, kb.idx(tp.block)), v.firstQB);
    return kb.add(kb.mul(bh, v.numQB), qb);
  }

  void enumerate(AttentionEmitter &em, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = em.builder();
    BlockValues v = blockValues(kb, tp);
    // Tiles never straddle query blocks of Bt (the schedule aligns them).
    Value item = itemOf(kb, v, tile, tile.firstPos);
    Value count = kb.loadWs(WorkspaceSlot::ListCount, item);
    Value bt = kb.idx(tp.block);
    Value items = kb.mul(item, v.cap);
    em.visitKeys(tile, self, kb.mul(count, bt), [&](Value n) {
      Value block = kb.loadWs(WorkspaceSlot::ListItems,
                              kb.add(items, kb.floorDiv(n, bt)));
      Value j = kb.add(kb.mul(block, bt), kb.floorMod(n, bt));
      return kb.select(kb.lt(j, tile.keyEnd), j, kb.idx(-1));
    });
  }

  bool visitsOnlyMembers() const override { return true; }
  /// Last source: only asked about the keys it visits, all of them members.
  Value contains(AttentionEmitter &em, const TileContext &, const RowContext &,
                 Value) override {
    return em.builder().boolean(true);
  }

private:
  spec::TopkPrim tp;
};

/// The primitive ops of the kernel whose stage this is (for `keep` regions).
FailureOr<SmallVector<Operation *>>
findPrimitiveOps(Operation *container, const spec::PatternSpec &s,
                 const spec::SelectionStage &stage, Target target) {
  auto module = dyn_cast<ModuleOp>(container);
  if (!module)
    module = container->getParentOfType<ModuleOp>();
  if (!module)
    return failure();
  SmallVector<Operation *> found;
  bool ok = false;
  module.walk([&](mlir::sattn::KernelOp op) {
    if (ok)
      return;
    FailureOr<KernelRequest> req = loadKernelRequest(op, true);
    if (failed(req) || req->target != target || req->spec.name != s.name)
      return;
    for (const spec::SelectionStage &st : req->schedule.stages)
      if (st.function == stage.function) {
        found = req->primitiveOps;
        ok = true;
      }
  });
  if (!ok)
    return failure();
  return found;
}

} // namespace

void mlir::sattn::lowering::topkBlocksWorkspace(
    const spec::SelectionStage &stage, const spec::PatternSpec &s,
    const spec::KernelSchedule &, const spec::KernelShape &shape, int64_t batch,
    int64_t seqQ, int64_t seqK, spec::WorkspaceLayout &layout) {
  const auto &tp = std::get<spec::TopkPrim>(s.primitives[stage.primitive]);
  const int64_t bt = tp.block, off = seqK - seqQ;
  const int64_t numQB =
      floorDivInt(off + seqQ - 1, bt) - floorDivInt(off, bt) + 1;
  const int64_t numKB = ceilDivInt(seqK, bt);
  const int64_t cap = tp.byCover ? numKB : std::min(tp.k, numKB);
  const int64_t items = batch * shape.heads * numQB;
  auto &sizes = layout.sizes;
  sizes[unsigned(WorkspaceSlot::HeadFloats)] = items * numKB;
  sizes[unsigned(WorkspaceSlot::ListCount)] = items;
  sizes[unsigned(WorkspaceSlot::ListItems)] = items * cap;
  layout.listCapacity = cap;
}

LogicalResult mlir::sattn::lowering::emittopkBlocksStage(
    KernelBuilder &kb, const spec::PatternSpec &s,
    const spec::KernelSchedule &schedule, const spec::SelectionStage &stage,
    Operation *container) {
  const auto &tp = std::get<spec::TopkPrim>(s.primitives[stage.primitive]);
  // Static sources answer "does a static primitive keep key j for the last
  // row"; `keep` needs its region.
  SmallVector<Operation *> primOps(s.primitives.size(), nullptr);
  bool needsOps = llvm::any_of(s.primitives, [](const spec::Primitive &p) {
    return std::holds_alternative<spec::KeepPrim>(p);
  });
  if (needsOps) {
    FailureOr<SmallVector<Operation *>> ops =
        findPrimitiveOps(container, s, stage, kb.target());
    if (failed(ops) || ops->size() != s.primitives.size())
      return emitError(kb.loc(), "selection stage '")
             << stage.function << "': cannot find the pattern's keep regions";
    primOps = *ops;
  }
  AttentionEmitter context(kb, s, schedule, primOps);
  std::vector<std::unique_ptr<KeySource>> statics;
  for (const spec::Enumerator &en : schedule.enumerators)
    if (en.kind < spec::EnumeratorKind::Stripes)
      statics.push_back(makeStaticSource(s, en, primOps[en.primitive]));

  kb.beginFunction(container, stage.function, stage.threads);
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  const int64_t heads = kb.shape().heads;
  const int64_t group = heads / kb.shape().kvHeads;
  const int64_t headDim = kb.shape().headDim;
  const bool pooled = tp.source == spec::ScoreSource::PooledQK;
  const bool linear = tp.source == spec::ScoreSource::Linear;
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
    Value end = s.causal ? kb.min(kb.add(lastPos, kb.idx(1)), v.seqK) : v.seqK;
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

    if (pooled) {
      Value rows = kb.sitofp(kb.add(kb.sub(lastRow, firstRow), kb.idx(1)));
      kb.coopLoop(kb.idx(headDim), [&](Value d) {
        Value sum = kb.forRangeCarry(
            firstRow, kb.add(lastRow, kb.idx(1)), kb.idx(1), {kb.f32(0)},
            [&](Value i, ValueRange acc) {
              return SmallVector<Value>{kb.fadd(acc[0], kb.loadQ(bb, h, i, d))};
            })[0];
        kb.store(kb.fdiv(sum, rows), qMean, {d});
      });
      kb.barrier();
    }

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
                  kb.andI(isCandidate(kb, os), better(kb, os, o, sc, c));
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

void mlir::sattn::lowering::appendtopkBlocksSources(
    const spec::PatternSpec &s, const spec::Enumerator &en,
    std::vector<std::unique_ptr<KeySource>> &out) {
  out.push_back(std::make_unique<TopkBlocksSource>(
      std::get<spec::TopkPrim>(s.primitives[en.primitive])));
}
