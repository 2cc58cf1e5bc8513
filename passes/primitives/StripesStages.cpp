//===- StripesStages.cpp - The selection stages of stripes ----------------===//
//
// Three kernels (Stripes.cpp's header says what each computes and where it
// stores it):
//   rows    one work item per (batch, head, group of sample slots): each
//           slot's row max and float64 sum over C(t);
//   scores  kScoreSplit work items per (batch, head), item p over key
//           blocks p, p + kScoreSplit, ...: each block's raw column score
//           and its mass per run;
//   rank    one work item per (batch, head): diagonal raw scores, totals,
//           fp32 scores, ranks and the cover prefixes.
// Logits and row statistics come from LogitTile.h, which says how keys are
// staged and in which order the float64 sums are added.
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

int64_t Params::runsPerSegment() const { return (rows - 1) / block + 2; }

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
  Value segments = kb.min(kb.idx(sp.segments), seqQ);
  g.slots = kb.mul(segments, kb.idx(sp.rows));
  // Runs: by (segment, block of the segment's rows) when there are no more
  // of those than query blocks, else by query block.
  g.qbLo = kb.floorDiv(kb.sub(seqK, seqQ), block);
  Value bySegment = kb.mul(segments, kb.idx(sp.runsPerSegment()));
  Value byBlock = kb.add(kb.sub(dHi, g.qbLo), kb.idx(1));
  g.runsBySegment = kb.le(bySegment, byBlock);
  g.runs = kb.select(g.runsBySegment, bySegment, byBlock);
  Value n = g.entries, s = g.slots;
  g.floatsPerHead = kb.add(s, n);
  g.scoreAt = s;
  g.rawAt = kb.mul(s, kb.idx(2));
  g.totalAt = kb.add(g.rawAt, kb.mul(n, kb.idx(2)));
  g.orderAt = kb.add(g.totalAt, kb.idx(4));
  g.flagAt = kb.add(g.orderAt, n);
  g.massAt = kb.add(g.flagAt, n);
  g.intsPerHead = kb.add(g.massAt, kb.mul(kb.mul(g.nkb, g.runs), kb.idx(2)));
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

/// The row of a sample slot: t, the end of C(t), whether the slot holds a
/// sampled row with a non-empty C(t), its segment and the segment's first
/// sampled row.
struct Sampled {
  Value t, end, active, segment, first;
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
  r.segment = s;
  r.first = kb.sub(hi, count);
  Value offset = kb.sub(seqK, seqQ);
  r.end = req.causal
              ? kb.max(kb.min(seqK, kb.add(kb.add(r.t, offset), kb.idx(1))),
                       kb.idx(0))
              : seqK;
  r.active = kb.andI(kb.ge(k, kb.sub(rows, count)), kb.gt(r.end, kb.idx(0)));
  return r;
}

/// The query block (absolute positions) of row t.
Value queryBlockOf(KernelBuilder &kb, const Params &sp, Value t) {
  Value offset =
      kb.sub(kb.scalar(KernelScalar::SeqK), kb.scalar(KernelScalar::SeqQ));
  return kb.floorDiv(kb.add(t, offset), kb.idx(sp.block));
}

/// The run of an active sampled row (Geometry::runs).
Value runOf(KernelBuilder &kb, const Params &sp, const Geometry &geo,
            const Sampled &r) {
  Value qb = queryBlockOf(kb, sp, r.t);
  Value inSegment = kb.add(kb.mul(r.segment, kb.idx(sp.runsPerSegment())),
                           kb.sub(qb, queryBlockOf(kb, sp, r.first)));
  return kb.select(geo.runsBySegment, inSegment, kb.sub(qb, geo.qbLo));
}

/// The query block of run `run`; rows of a run that holds no sampled row
/// add nothing to it, whatever block this names.
Value runQueryBlock(KernelBuilder &kb, const KernelRequest &req,
                    const Params &sp, const Geometry &geo, Value run) {
  Value perSegment = kb.idx(sp.runsPerSegment());
  Value segment = kb.floorDiv(run, perSegment);
  Sampled first = sampledRow(kb, req, sp, kb.mul(segment, kb.idx(sp.rows)));
  Value inSegment =
      kb.add(queryBlockOf(kb, sp, first.first), kb.floorMod(run, perSegment));
  return kb.select(geo.runsBySegment, inSegment, kb.add(geo.qbLo, run));
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
// scores: each key block's float64 mass, per column and per run
//===----------------------------------------------------------------------===//

LogicalResult stripes::emitScoresStage(KernelBuilder &kb,
                                       const KernelRequest &req,
                                       StageAttr stage) {
  Params sp = params(req, stage.getPrimitive());
  kb.beginFunction(stage.getFunction(), stage.getThreads());
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f64 = b.getF64Type(), index = b.getIndexType();
  Value seqK = kb.scalar(KernelScalar::SeqK);
  Value block = kb.idx(sp.block);
  Geometry geo = geometry(kb, sp, kb.scalar(KernelScalar::SeqQ), seqK);
  const int64_t group = RowStatistics::groupRows(req);
  const int64_t threads = kb.threads();
  LogitTile tile(kb, req, group, /*product=*/true);
  Value chunk = kb.idx(tile.chunkSize());
  Value rowMax = kb.sharedAlloc({group}, f64);
  Value rowDenominator = kb.sharedAlloc({group}, f64);
  Value rowEnd = kb.sharedAlloc({group}, b.getI32Type());
  Value rowRun = kb.sharedAlloc({group}, b.getI32Type());
  Value partialSums = kb.sharedAlloc({group, threads}, f64);
  Value masses = kb.sharedAlloc({group}, f64);
  Value column = kb.sharedAlloc({1}, f64);
  Value threadSum = kb.privateAlloc({group}, f64);
  Value split = kb.idx(stage.getSplit());
  Value groups = kb.ceilDiv(geo.slots, kb.idx(group));
  Value none = kb.idx(-1); // no key chunk staged yet

  kb.forEachWorkItem([&](Value item) {
    ItemHead ih = headOf(kb, geo, kb.floorDiv(item, split));
    Value massBase = kb.add(ih.iBase, geo.massAt);
    kb.forRange(kb.floorMod(item, split), geo.nkb, split, [&](Value c) {
      Value lo = kb.mul(c, block);
      Value hi = kb.min(kb.add(lo, block), seqK);
      Value massRow = kb.add(massBase, kb.mul(kb.mul(c, geo.runs), kb.idx(2)));
      kb.coopLoop(geo.runs, [&](Value run) {
        storeF64(kb, kb.add(massRow, kb.mul(run, kb.idx(2))), f64Const(kb, 0));
      });
      kb.singleThread([&] { kb.store(f64Const(kb, 0), column, {kb.idx(0)}); });
      kb.barrier();
      // Groups of sample slots in order; the staged key chunk is carried so
      // that a block is staged once for all the groups that see it.
      kb.forRangeCarry(
          kb.idx(0), groups, kb.idx(1), {none}, [&](Value gi, ValueRange st) {
            // Slot r of the group (a slot past the last stands for slot 0)
            // and whether it is a sampled row that sees the block.
            auto slotOf = [&](Value r) {
              Value n = kb.add(kb.mul(gi, kb.idx(group)), r);
              return std::make_pair(
                  kb.select(kb.lt(n, geo.slots), n, kb.idx(0)),
                  kb.lt(n, geo.slots));
            };
            auto rowOf = [&](Value r, Value &sees) {
              auto [n, inRange] = slotOf(r);
              Sampled row = sampledRow(kb, req, sp, n);
              sees = kb.andI(inRange, kb.andI(row.active, kb.gt(row.end, lo)));
              return row;
            };
            Value groupEnd = lo;
            for (int64_t r = 0; r < group; ++r) {
              Value sees;
              Sampled row = rowOf(kb.idx(r), sees);
              groupEnd =
                  kb.max(groupEnd, kb.select(sees, kb.min(row.end, hi), lo));
            }
            return kb.ifThenElse(
                kb.gt(groupEnd, lo), {index},
                [&] {
                  // The rows' ends in the block, maxima, denominators and
                  // runs (-1: the row does not see the block) in shared
                  // memory, not in every thread's registers.
                  kb.coopLoop(kb.idx(group), [&](Value r) {
                    Value sees;
                    Sampled row = rowOf(r, sees);
                    Value n = slotOf(r).first;
                    kb.store(kb.toI32(kb.select(sees, kb.min(row.end, hi), lo)),
                             rowEnd, {r});
                    kb.store(toF64(kb, kb.loadWs(WorkspaceSlot::HeadFloats,
                                                 kb.add(ih.fBase, n))),
                             rowMax, {r});
                    kb.store(
                        loadF64(kb, kb.add(ih.iBase, kb.mul(n, kb.idx(2)))),
                        rowDenominator, {r});
                    kb.store(kb.toI32(kb.select(sees, runOf(kb, sp, geo, row),
                                                kb.idx(-1))),
                             rowRun, {r});
                  });
                  tile.stageQueries(ih, [&](Value r) {
                    Value sees;
                    Sampled row = rowOf(r, sees);
                    return kb.select(row.active, row.t, kb.idx(0));
                  });
                  kb.rowLoop(threads, [&](Value, Value slot) {
                    for (int64_t r = 0; r < group; ++r)
                      kb.store(f64Const(kb, 0), threadSum, {slot, kb.idx(r)});
                  });
                  Value staged = kb.forRangeCarry(
                      lo, groupEnd, chunk, {st[0]},
                      [&](Value j0, ValueRange s) {
                        kb.ifThen(kb.ne(s[0], j0), [&] {
                          tile.stageKeys(ih, j0,
                                         kb.min(chunk, kb.sub(seqK, j0)));
                        });
                        tile.product();
                        Value count = kb.min(chunk, kb.sub(groupEnd, j0));
                        forThreadKeys(
                            kb, count, [&](Value jj, Value slot, Value) {
                              SmallVector<Value> ls = tile.logits(ih, j0, jj);
                              Value j = kb.toI32(kb.add(j0, jj));
                              for (int64_t r = 0; r < group; ++r) {
                                Value e = math::ExpOp::create(
                                    b, loc,
                                    arith::SubFOp::create(
                                        b, loc, toF64(kb, ls[r]),
                                        kb.load(rowMax, {kb.idx(r)})));
                                Value acc =
                                    kb.load(threadSum, {slot, kb.idx(r)});
                                Value kept =
                                    kb.lt(j, kb.load(rowEnd, {kb.idx(r)}));
                                kb.store(kb.select(kept,
                                                   arith::AddFOp::create(
                                                       b, loc, acc, e),
                                                   acc),
                                         threadSum, {slot, kb.idx(r)});
                              }
                            });
                        kb.barrier();
                        return SmallVector<Value>{j0};
                      })[0];
                  // Row r's mass in the block: its exponentials' sum over
                  // the row's softmax denominator.
                  combineOverThreads(
                      kb, threadSum, partialSums, group, f64Const(kb, 0),
                      [&](Value acc, Value v) {
                        return arith::AddFOp::create(b, loc, acc, v)
                            .getResult();
                      },
                      [&](Value r, Value sum) {
                        kb.store(arith::DivFOp::create(
                                     b, loc, sum, kb.load(rowDenominator, {r})),
                                 masses, {r});
                      });
                  // Rows in order into the column and into their runs.
                  kb.singleThread([&] {
                    kb.forRange(kb.idx(0), kb.idx(group), [&](Value r) {
                      Value run = kb.load(rowRun, {r});
                      kb.ifThen(kb.ge(run, kb.i32(0)), [&] {
                        Value mass = kb.load(masses, {r});
                        kb.store(
                            arith::AddFOp::create(
                                b, loc, kb.load(column, {kb.idx(0)}), mass),
                            column, {kb.idx(0)});
                        Value at =
                            kb.add(massRow, kb.mul(kb.toIndex(run), kb.idx(2)));
                        storeF64(kb, at,
                                 arith::AddFOp::create(b, loc, loadF64(kb, at),
                                                       mass));
                      });
                    });
                  });
                  kb.barrier();
                  return SmallVector<Value>{staged};
                },
                [&] { return SmallVector<Value>{st[0]}; });
          });
      kb.singleThread([&] {
        storeF64(kb, kb.add(ih.iBase, kb.add(geo.rawAt, kb.mul(c, kb.idx(2)))),
                 kb.load(column, {kb.idx(0)}));
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
    // Diagonal d's raw score: the mass of every run in key block
    // qb(run) - d, runs in order.
    Value massBase = kb.add(iBase, geo.massAt);
    kb.coopLoop(kb.sub(geo.entries, geo.nkb), [&](Value i) {
      Value d = kb.add(i, geo.dLo);
      Value raw = kb.forRangeCarry(
          kb.idx(0), geo.runs, kb.idx(1), {f64Const(kb, 0)},
          [&](Value run, ValueRange acc) {
            Value c = kb.sub(runQueryBlock(kb, req, sp, geo, run), d);
            Value inRange = kb.andI(kb.ge(c, kb.idx(0)), kb.lt(c, geo.nkb));
            return kb.ifThenElse(
                inRange, {b.getF64Type()},
                [&] {
                  Value at =
                      kb.add(massBase, kb.mul(kb.add(kb.mul(c, geo.runs), run),
                                              kb.idx(2)));
                  return SmallVector<Value>{
                      arith::AddFOp::create(b, loc, acc[0], loadF64(kb, at))};
                },
                [&] { return SmallVector<Value>{acc[0]}; });
          })[0];
      storeF64(kb,
               kb.add(iBase,
                      kb.add(geo.rawAt, kb.mul(kb.add(geo.nkb, i), kb.idx(2)))),
               raw);
    });
    kb.barrier();
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
