//===- StripesStages.cpp - The selection stages of stripes ----------------===//
//
// Three kernels (Stripes.cpp's header says what each computes and where it
// stores it):
//   rows    one work item per (batch, head, sample slot): the slot's row
//           max and float64 sum over C(t);
//   scores  kScoreSplit work items per (batch, head), item p scoring
//           entries p, p + kScoreSplit, ...: raw float64 column and
//           diagonal scores;
//   rank    one work item per (batch, head): totals, fp32 scores, ranks
//           and the cover prefixes.
// Logits and row statistics come from LogitTile.h, which says how keys are
// staged and why the float64 sums follow the oracle's order of addition.
//
//===----------------------------------------------------------------------===//

#include "passes/primitives/StripesStages.h"
#include "passes/primitives/LogitTile.h"
#include "passes/primitives/SelectionHelpers.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::stripes;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;

Params stripes::params(const KernelRequest &req, int64_t primitive) {
  auto op = cast<StripesOp>(req.primitives[primitive]);
  return {req.block, req.intParam(op.getSegments()), req.intParam(op.getRows()),
          req.floatParam(op.getCover()), req.floatParam(op.getWindowFrac())};
}

int64_t Params::rowItems(int64_t groupRows) const {
  int64_t slots =
      std::min(segments, kMaxRowItems) * std::min(rows, kMaxRowItems);
  return std::min(kMaxRowItems, int64_t(llvm::divideCeil(slots, groupRows)));
}

Geometry stripes::geometry(KernelBuilder &kb, const Params &sp, Value seqQ,
                           Value seqK) {
  Geometry g;
  Value block = kb.idx(sp.block);
  g.nkb = kb.ceilDiv(seqK, block);
  Value qbFirst = kb.floorDiv(kb.sub(seqK, seqQ), block);
  Value dHi = kb.floorDiv(kb.sub(seqK, kb.idx(1)), block);
  g.dLo = kb.sub(qbFirst, kb.sub(g.nkb, kb.idx(1)));
  g.entries = kb.add(g.nkb, kb.add(kb.sub(dHi, g.dLo), kb.idx(1)));
  // m = min(segments, Sq) segments of sampled rows (see Stripes.cpp): the
  // same rows as `segments`, in a workspace bounded by the call.
  g.slots = kb.mul(kb.min(kb.idx(sp.segments), seqQ), kb.idx(sp.rows));
  Value n = g.entries, s = g.slots;
  g.floatsPerHead = kb.add(s, n);
  g.scoreAt = s;
  g.rawAt = kb.mul(s, kb.idx(2));
  g.totalAt = kb.add(g.rawAt, kb.mul(n, kb.idx(2)));
  g.orderAt = kb.add(g.totalAt, kb.idx(4));
  g.flagAt = kb.add(g.orderAt, n);
  g.intsPerHead = kb.add(g.flagAt, n);
  return g;
}

Stage stripes::stageOf(StageAttr stage) {
  StringRef name = stage.getFunction();
  if (name.ends_with(kRowsSuffix))
    return Stage::Rows;
  if (name.ends_with(kScoresSuffix))
    return Stage::Scores;
  return Stage::Rank;
}

namespace {

/// float64 values in HeadInts.
Value loadF64(KernelBuilder &kb, Value offset) {
  return loadF64Ws(kb, WorkspaceSlot::HeadInts, offset);
}
void storeF64(KernelBuilder &kb, Value offset, Value value) {
  storeF64Ws(kb, WorkspaceSlot::HeadInts, offset, value);
}

ItemHead headOf(KernelBuilder &kb, const Geometry &geo, Value head) {
  return itemHead(kb, head, geo.floatsPerHead, geo.intsPerHead);
}

/// The row of a sample slot: t, the end of C(t), and whether the slot holds
/// a sampled row with a non-empty C(t).
struct Sampled {
  Value t, end, active;
};

Sampled sampledRow(KernelBuilder &kb, const KernelRequest &req,
                   const Params &sp, Value n) {
  Value seqQ = kb.scalar(KernelScalar::SeqQ);
  Value seqK = kb.scalar(KernelScalar::SeqK);
  Value rows = kb.idx(sp.rows);
  Value segments = kb.min(kb.idx(sp.segments), seqQ);
  Sampled r;
  Value s = kb.floorDiv(n, rows);
  Value k = kb.floorMod(n, rows);
  Value lo = kb.floorDiv(kb.mul(s, seqQ), segments);
  Value hi = kb.floorDiv(kb.mul(kb.add(s, kb.idx(1)), seqQ), segments);
  Value count = kb.min(rows, kb.sub(hi, lo));
  r.t = kb.add(kb.sub(hi, rows), k);
  Value offset = kb.sub(seqK, seqQ);
  r.end = req.causal
              ? kb.max(kb.min(seqK, kb.add(kb.add(r.t, offset), kb.idx(1))),
                       kb.idx(0))
              : seqK;
  r.active = kb.andI(kb.ge(k, kb.sub(rows, count)), kb.gt(r.end, kb.idx(0)));
  return r;
}

} // namespace

//===----------------------------------------------------------------------===//
// rows: max and sum of each sampled row
//===----------------------------------------------------------------------===//

LogicalResult stripes::emitRowsStage(KernelBuilder &kb,
                                     const KernelRequest &req,
                                     StageAttr stage) {
  Params sp = params(req, stage.getPrimitive());
  kb.beginFunction(stage.getFunction(), stage.getThreads());
  Geometry geo = geometry(kb, sp, kb.scalar(KernelScalar::SeqQ),
                          kb.scalar(KernelScalar::SeqK));
  RowStatistics stats(kb, req);
  const int64_t group = RowStatistics::groupRows(req);
  Value groups = kb.ceilDiv(geo.slots, kb.idx(group));

  const int64_t items = sp.rowItems(group);
  kb.forEachWorkItem([&](Value item) {
    ItemHead ih = headOf(kb, geo, kb.floorDiv(item, kb.idx(items)));
    kb.forRange(
        kb.floorMod(item, kb.idx(items)), groups, kb.idx(items), [&](Value gi) {
          // Slot r of the group; a slot past the last stands for slot 0.
          auto slotOf = [&](Value r) {
            Value n = kb.add(kb.mul(gi, kb.idx(group)), r);
            return kb.select(kb.lt(n, geo.slots), n, kb.idx(0));
          };
          auto rowOf = [&](Value r) {
            Sampled s = sampledRow(kb, req, sp, slotOf(r));
            Value n = kb.add(kb.mul(gi, kb.idx(group)), r);
            return GroupRow{s.t, s.end, kb.andI(s.active, kb.lt(n, geo.slots))};
          };
          stats.emit(ih, rowOf, [&](Value r, Value mx, Value sum) {
            Value n = slotOf(r);
            kb.storeWs(WorkspaceSlot::HeadFloats, kb.add(ih.fBase, n), mx);
            storeF64(kb, kb.add(ih.iBase, kb.mul(n, kb.idx(2))), sum);
          });
        });
  });
  kb.endFunction();
  return success();
}

//===----------------------------------------------------------------------===//
// scores: raw float64 column and diagonal scores
//===----------------------------------------------------------------------===//

LogicalResult stripes::emitScoresStage(KernelBuilder &kb,
                                       const KernelRequest &req,
                                       StageAttr stage) {
  Params sp = params(req, stage.getPrimitive());
  kb.beginFunction(stage.getFunction(), stage.getThreads());
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f64 = b.getF64Type();
  Value seqQ = kb.scalar(KernelScalar::SeqQ);
  Value seqK = kb.scalar(KernelScalar::SeqK);
  Value offset = kb.sub(seqK, seqQ);
  Value block = kb.idx(sp.block);
  Geometry geo = geometry(kb, sp, seqQ, seqK);
  LogitTile tile(kb, req);
  Value chunk = kb.idx(tile.chunkSize());
  Value probs = kb.sharedAlloc({tile.chunkSize()}, f64);
  Value raw = kb.sharedAlloc({1}, f64);
  Value split = kb.idx(stage.getSplit());
  // No staged chunk yet.
  Value none = kb.idx(-1);

  kb.forEachWorkItem([&](Value item) {
    Value p = kb.floorMod(item, split);
    ItemHead ih = headOf(kb, geo, kb.floorDiv(item, split));
    kb.forRange(p, geo.entries, split, [&](Value e) {
      Value isColumn = kb.lt(e, geo.nkb);
      Value diagonal = kb.add(kb.sub(e, geo.nkb), geo.dLo);
      kb.singleThread([&] { kb.store(f64Const(kb, 0), raw, {kb.idx(0)}); });
      // Slots in order; the staged chunk (its first key) is carried so that
      // rows reading the same key block stage it once.
      kb.forRangeCarry(
          kb.idx(0), geo.slots, kb.idx(1), {none},
          [&](Value n, ValueRange staged) {
            Sampled r = sampledRow(kb, req, sp, n);
            Value qbt = kb.floorDiv(kb.add(r.t, offset), block);
            Value kbv = kb.select(isColumn, e, kb.sub(qbt, diagonal));
            Value lo = kb.mul(kbv, block);
            Value hi = kb.min(kb.add(lo, block), r.end);
            Value ok = kb.andI(r.active,
                               kb.andI(kb.ge(kbv, kb.idx(0)), kb.lt(lo, hi)));
            return kb.ifThenElse(
                ok, {b.getIndexType()},
                [&] {
                  tile.stageQuery(ih, r.t);
                  Value mx = toF64(kb, kb.loadWs(WorkspaceSlot::HeadFloats,
                                                 kb.add(ih.fBase, n)));
                  Value sum =
                      loadF64(kb, kb.add(ih.iBase, kb.mul(n, kb.idx(2))));
                  return kb.forRangeCarry(
                      lo, hi, chunk, {staged[0]}, [&](Value j0, ValueRange s) {
                        Value fresh = kb.ne(s[0], j0);
                        kb.ifThen(fresh, [&] {
                          tile.stageKeys(ih, j0,
                                         kb.min(chunk, kb.sub(seqK, j0)));
                        });
                        Value count = kb.min(chunk, kb.sub(hi, j0));
                        forThreadKeys(kb, count, [&](Value jj, Value, Value) {
                          Value pr = tile.shiftedExp(ih, j0, jj, mx);
                          pr = arith::DivFOp::create(b, loc, pr, sum);
                          kb.store(pr, probs, {jj});
                        });
                        kb.barrier();
                        addInOrder(kb, raw, probs, count);
                        return SmallVector<Value>{j0};
                      });
                },
                [&] { return SmallVector<Value>{staged[0]}; });
          });
      kb.singleThread([&] {
        storeF64(kb, kb.add(ih.iBase, kb.add(geo.rawAt, kb.mul(e, kb.idx(2)))),
                 kb.load(raw, {kb.idx(0)}));
      });
      kb.barrier();
    });
  });
  kb.endFunction();
  return success();
}

//===----------------------------------------------------------------------===//
// rank: totals, scores, ranks, cover prefixes
//===----------------------------------------------------------------------===//

LogicalResult stripes::emitRankStage(KernelBuilder &kb,
                                     const KernelRequest &req,
                                     StageAttr stage) {
  Params sp = params(req, stage.getPrimitive());
  kb.beginFunction(stage.getFunction(), stage.getThreads());
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f32 = b.getF32Type();
  Geometry geo = geometry(kb, sp, kb.scalar(KernelScalar::SeqQ),
                          kb.scalar(KernelScalar::SeqK));

  kb.forEachWorkItem([&](Value item) {
    ItemHead ih = headOf(kb, geo, item);
    Value fBase = ih.fBase, iBase = ih.iBase;
    auto totalAt = [&](Value isColumn) {
      return kb.add(iBase, kb.add(geo.totalAt,
                                  kb.select(isColumn, kb.idx(0), kb.idx(2))));
    };
    auto rawOf = [&](Value e) {
      return loadF64(kb,
                     kb.add(iBase, kb.add(geo.rawAt, kb.mul(e, kb.idx(2)))));
    };
    kb.singleThread([&] {
      auto total = [&](Value lo, Value hi) {
        return kb.forRangeCarry(
            lo, hi, kb.idx(1), {f64Const(kb, 0)}, [&](Value e, ValueRange acc) {
              return SmallVector<Value>{
                  arith::AddFOp::create(b, loc, acc[0], rawOf(e))};
            })[0];
      };
      storeF64(kb, totalAt(kb.boolean(true)), total(kb.idx(0), geo.nkb));
      storeF64(kb, totalAt(kb.boolean(false)), total(geo.nkb, geo.entries));
    });
    kb.barrier();
    Value scoreBase = kb.add(fBase, geo.scoreAt);
    Value orderBase = kb.add(iBase, geo.orderAt);
    Value flagBase = kb.add(iBase, geo.flagAt);
    kb.coopLoop(geo.entries, [&](Value e) {
      Value total = loadF64(kb, totalAt(kb.lt(e, geo.nkb)));
      Value score = arith::TruncFOp::create(
          b, loc, f32, arith::DivFOp::create(b, loc, rawOf(e), total));
      kb.storeWs(WorkspaceSlot::HeadFloats, kb.add(scoreBase, e), score);
      kb.storeWs(WorkspaceSlot::HeadInts, kb.add(flagBase, e), kb.idx(0));
    });
    kb.barrier();
    // Each entry's rank among its kind by counting the entries before it.
    kb.coopLoop(geo.entries, [&](Value e) {
      Value isColumn = kb.lt(e, geo.nkb);
      Value lo = kb.select(isColumn, kb.idx(0), geo.nkb);
      Value hi = kb.select(isColumn, geo.nkb, geo.entries);
      Value mine = kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(scoreBase, e));
      Value rank = kb.forRangeCarry(
          lo, hi, kb.idx(1), {kb.idx(0)}, [&](Value o, ValueRange acc) {
            Value other =
                kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(scoreBase, o));
            Value beats = rankedBefore(kb, other, o, mine, e);
            return SmallVector<Value>{
                kb.add(acc[0], kb.select(beats, kb.idx(1), kb.idx(0)))};
          })[0];
      kb.storeWs(WorkspaceSlot::HeadInts, kb.add(orderBase, kb.add(lo, rank)),
                 e);
    });
    kb.barrier();
    kb.singleThread([&] {
      Value alpha = f64Const(kb, sp.alpha);
      for (bool columns : {true, false}) {
        Value lo = columns ? kb.idx(0) : geo.nkb;
        Value hi = columns ? geo.nkb : geo.entries;
        Value total = loadF64(kb, totalAt(kb.boolean(columns)));
        Value positive = arith::CmpFOp::create(
            b, loc, arith::CmpFPredicate::OGT, total, f64Const(kb, 0));
        kb.ifThen(positive, [&] {
          // Keep entries in rank order until the cumulative score reaches
          // alpha: count(cumsum < alpha) + 1, capped.
          kb.whileLoop(
              {lo, f64Const(kb, 0), kb.boolean(false)},
              [&](ValueRange s) {
                return kb.andI(kb.notI(s[2]), kb.lt(s[0], hi));
              },
              [&](ValueRange s) {
                Value e =
                    kb.loadWs(WorkspaceSlot::HeadInts, kb.add(orderBase, s[0]));
                kb.storeWs(WorkspaceSlot::HeadInts, kb.add(flagBase, e),
                           kb.idx(1));
                Value score = toF64(kb, kb.loadWs(WorkspaceSlot::HeadFloats,
                                                  kb.add(scoreBase, e)));
                Value cum = arith::AddFOp::create(b, loc, s[1], score);
                Value done = arith::CmpFOp::create(
                    b, loc, arith::CmpFPredicate::OGE, cum, alpha);
                return SmallVector<Value>{kb.add(s[0], kb.idx(1)), cum, done};
              });
        });
      }
    });
    kb.barrier();
  });
  kb.endFunction();
  return success();
}
