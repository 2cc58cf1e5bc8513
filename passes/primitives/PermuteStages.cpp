//===- PermuteStages.cpp - The selection stages of permute ----------------===//
//
// Five kernels (Permute.cpp's header says what each computes and where it
// stores it), each over a grid of work items per (batch, query head):
//   probe       one item per probe row: its softmax max and float64 sum;
//   importance  kImportanceSplit items, each over every kImportanceSplit-th
//               chunk of keys: one thread per key sums its probabilities
//               over the probe rows, in row order;
//   sort        kSortSplit items over the segments: each key's rank in its
//               segment, by counting;
//   blocks      kBlockSplit items over the whole blocks: mean permuted keys;
//   lists       kListSplit items over the query blocks: candidate scores,
//               their ranking and the cover prefix.
// Logits come from LogitTile.h, exactly as the oracle computes them.
//
//===----------------------------------------------------------------------===//

#include "passes/primitives/PermuteStages.h"
#include "passes/primitives/LogitTile.h"
#include "passes/primitives/SelectionHelpers.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::permute;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;

Params permute::params(const KernelRequest &req, int64_t primitive) {
  auto op = cast<PermuteOp>(req.primitives[primitive]);
  return {req.intParam(op.getSegment()), req.intParam(op.getProbe()),
          req.intParam(op.getBlock()), req.floatParam(op.getCover())};
}

int64_t Params::probeItems(int64_t groupRows) const {
  return std::min(kMaxProbeItems, int64_t(llvm::divideCeil(probe, groupRows)));
}

Geometry permute::geometry(KernelBuilder &kb, const Params &pp) {
  Geometry g;
  const int64_t S = pp.segment, B = pp.block, D = kb.shape().headDim;
  g.seqQ = kb.scalar(KernelScalar::SeqQ);
  g.seqK = kb.scalar(KernelScalar::SeqK);
  g.offset = kb.sub(g.seqK, g.seqQ);
  g.numProbe = kb.min(kb.idx(pp.probe), g.seqQ);
  g.firstProbe = kb.sub(g.seqQ, g.numProbe);
  g.wholeBlocks = kb.mul(kb.floorDiv(g.seqK, kb.idx(S)), kb.idx(S / B));
  g.firstQB = kb.floorDiv(g.offset, kb.idx(B));
  Value lastQB =
      kb.floorDiv(kb.sub(kb.add(g.offset, g.seqQ), kb.idx(1)), kb.idx(B));
  g.numQB = kb.add(kb.sub(lastQB, g.firstQB), kb.idx(1));
  g.probeMaxAt = g.seqK;
  g.blockMeanAt = kb.add(g.probeMaxAt, g.numProbe);
  g.scoreAt = kb.add(g.blockMeanAt, kb.mul(g.wholeBlocks, kb.idx(D)));
  g.floatsPerHead =
      kb.add(g.scoreAt, kb.mul(g.wholeBlocks, kb.idx(kListSplit)));
  g.posOfAt = g.seqK;
  g.probeSumAt = kb.mul(g.seqK, kb.idx(2));
  g.intsPerHead = kb.add(g.probeSumAt, kb.mul(g.numProbe, kb.idx(2)));
  return g;
}

Stage permute::stageOf(StageAttr stage) {
  StringRef name = stage.getFunction();
  if (name.ends_with(kProbeSuffix))
    return Stage::Probe;
  if (name.ends_with(kImportanceSuffix))
    return Stage::Importance;
  if (name.ends_with(kSortSuffix))
    return Stage::Sort;
  if (name.ends_with(kBlocksSuffix))
    return Stage::Blocks;
  return Stage::Lists;
}

void permute::planStages(MLIRContext *ctx, const KernelRequest &req,
                         StringRef function, int64_t primitive,
                         SmallVectorImpl<StageAttr> &stages) {
  auto stage = [&](StringRef suffix, int64_t split) {
    stages.push_back(headsStage(ctx, (function + suffix).str(), primitive,
                                kStageThreads, split));
  };
  stage(kProbeSuffix,
        params(req, primitive).probeItems(RowStatistics::groupRows(req)));
  stage(kImportanceSuffix, kImportanceSplit);
  stage(kSortSuffix, kSortSplit);
  stage(kBlocksSuffix, kBlockSplit);
  stage(kListsSuffix, kListSplit);
}

namespace {

/// What every stage's body starts from: the item's share and head, and the
/// head's workspace addresses.
struct Item {
  Value part; // the item's index among its head's items
  ItemHead ih;
  const Geometry &geo;
  KernelBuilder &kb;

  Value importanceAt(Value j) { return kb.add(ih.fBase, j); }
  Value probeMaxAt(Value t) {
    return kb.add(ih.fBase, kb.add(geo.probeMaxAt, t));
  }
  Value blockMeanAt(Value c, Value d) {
    int64_t D = kb.shape().headDim;
    return kb.add(ih.fBase,
                  kb.add(geo.blockMeanAt, kb.add(kb.mul(c, kb.idx(D)), d)));
  }
  /// The candidate scores of this item's current query block.
  Value scoreAt(Value c) {
    return kb.add(ih.fBase, kb.add(geo.scoreAt,
                                   kb.add(kb.mul(part, geo.wholeBlocks), c)));
  }
  Value permAt(Value pos) { return kb.add(ih.iBase, pos); }
  Value posOfAt(Value j) { return kb.add(ih.iBase, kb.add(geo.posOfAt, j)); }
  Value probeSumAt(Value t) {
    return kb.add(ih.iBase, kb.add(geo.probeSumAt, kb.mul(t, kb.idx(2))));
  }
  /// End of C(row) = [0, end).
  Value causalEnd(Value row, bool causal) {
    if (!causal)
      return geo.seqK;
    Value end = kb.add(kb.add(row, geo.offset), kb.idx(1));
    return kb.max(kb.min(end, geo.seqK), kb.idx(0));
  }
};

/// Runs `body` for each work item of a stage of `split` items per head.
void forEachItem(KernelBuilder &kb, const Geometry &geo, int64_t split,
                 function_ref<void(Item &)> body) {
  kb.forEachWorkItem([&](Value item) {
    Value head = kb.floorDiv(item, kb.idx(split));
    Item it{kb.floorMod(item, kb.idx(split)),
            itemHead(kb, head, geo.floatsPerHead, geo.intsPerHead), geo, kb};
    body(it);
  });
}

const auto HF = WorkspaceSlot::HeadFloats, HI = WorkspaceSlot::HeadInts;

//===----------------------------------------------------------------------===//
// probe: max and sum of each probe row's exact softmax
//===----------------------------------------------------------------------===//

void emitProbe(KernelBuilder &kb, const KernelRequest &req, const Params &pp,
               const Geometry &geo) {
  RowStatistics stats(kb, req);
  const int64_t group = RowStatistics::groupRows(req);
  const int64_t split = pp.probeItems(group);
  Value groups = kb.ceilDiv(geo.numProbe, kb.idx(group));
  forEachItem(kb, geo, split, [&](Item &it) {
    kb.forRange(it.part, groups, kb.idx(split), [&](Value gi) {
      // Probe row r of the group; a row past the last stands for row 0.
      auto probeOf = [&](Value r) {
        Value t = kb.add(kb.mul(gi, kb.idx(group)), r);
        return kb.select(kb.lt(t, geo.numProbe), t, kb.idx(0));
      };
      auto rowOf = [&](Value r) {
        Value t = kb.add(kb.mul(gi, kb.idx(group)), r);
        Value row = kb.add(geo.firstProbe, probeOf(r));
        return GroupRow{row, it.causalEnd(row, req.causal),
                        kb.lt(t, geo.numProbe)};
      };
      stats.emit(it.ih, rowOf, [&](Value r, Value mx, Value sum) {
        Value t = probeOf(r);
        kb.storeWs(HF, it.probeMaxAt(t), mx);
        storeF64Ws(kb, HI, it.probeSumAt(t), sum);
      });
    });
  });
}

//===----------------------------------------------------------------------===//
// importance: a_j = mean over probe rows of the softmax probability of j
//===----------------------------------------------------------------------===//

void emitImportance(KernelBuilder &kb, const KernelRequest &req,
                    const Geometry &geo) {
  // Probe rows per pass over a staged key chunk: 16 when their logits are
  // one tensor-core product, else one.
  const int64_t passRows = LogitTile::takesProduct(req) ? 16 : 1;
  LogitTile tile(kb, req, passRows, /*product=*/true);
  const int64_t chunk = tile.chunkSize();
  const int64_t perThread = (chunk + kb.threads() - 1) / kb.threads();
  Type f32 = kb.b().getF32Type(), f64 = kb.b().getF64Type();
  Value acc = kb.privateAlloc({perThread}, f64);
  Value probeRows =
      arith::SIToFPOp::create(kb.b(), kb.loc(), f64, kb.toI64(geo.numProbe));
  Value lastProbe = kb.sub(geo.numProbe, kb.idx(1));
  forEachItem(kb, geo, kImportanceSplit, [&](Item &it) {
    Value step = kb.idx(kImportanceSplit * chunk);
    kb.forRange(kb.mul(it.part, kb.idx(chunk)), geo.seqK, step, [&](Value j0) {
      Value count = kb.min(kb.idx(chunk), kb.sub(geo.seqK, j0));
      tile.stageKeys(it.ih, j0, count);
      forThreadKeys(kb, count, [&](Value, Value slot, Value n) {
        kb.store(f64Const(kb, 0), acc, {slot, n});
      });
      // Row t reaches key j iff j < end(t); end grows with t, so those rows
      // form a suffix, the first of which reaches j0. Summing them in order
      // (rows ascending within and across passes) is the oracle's order.
      Value tStart = kb.idx(0);
      if (req.causal)
        tStart =
            kb.max(kb.idx(0), kb.sub(j0, kb.add(geo.firstProbe, geo.offset)));
      kb.forRange(tStart, geo.numProbe, kb.idx(passRows), [&](Value t0) {
        // Probe t0 + r of the pass; past the last, the last stands in (its
        // probabilities are not added).
        auto probeOf = [&](Value r) {
          return kb.min(kb.add(t0, r), lastProbe);
        };
        tile.stageQueries(
            it.ih, [&](Value r) { return kb.add(geo.firstProbe, probeOf(r)); });
        tile.product();
        SmallVector<Value> active, end, mx, sum;
        for (int64_t r = 0; r < passRows; ++r) {
          Value t = probeOf(kb.idx(r));
          active.push_back(kb.lt(kb.add(t0, kb.idx(r)), geo.numProbe));
          end.push_back(it.causalEnd(kb.add(geo.firstProbe, t), req.causal));
          mx.push_back(toF64(kb, kb.loadWs(HF, it.probeMaxAt(t))));
          sum.push_back(loadF64Ws(kb, HI, it.probeSumAt(t)));
        }
        forThreadKeys(kb, count, [&](Value jj, Value slot, Value n) {
          SmallVector<Value> logits = tile.logits(it.ih, j0, jj);
          Value j = kb.add(j0, jj);
          Value a = kb.load(acc, {slot, n});
          for (int64_t r = 0; r < passRows; ++r) {
            Value kept = kb.andI(active[r], kb.lt(j, end[r]));
            Value e = math::ExpOp::create(
                kb.b(), kb.loc(),
                arith::SubFOp::create(kb.b(), kb.loc(), toF64(kb, logits[r]),
                                      mx[r]));
            a = kb.select(kept, kb.fadd(a, kb.fdiv(e, sum[r])), a);
          }
          kb.store(a, acc, {slot, n});
        });
        kb.barrier(); // the pass's rows are read until here
      });
      forThreadKeys(kb, count, [&](Value jj, Value slot, Value n) {
        Value mean = arith::TruncFOp::create(
            kb.b(), kb.loc(), f32, kb.fdiv(kb.load(acc, {slot, n}), probeRows));
        kb.storeWs(HF, it.importanceAt(kb.add(j0, jj)), mean);
      });
      kb.barrier(); // the staged keys are read until here
    });
  });
}

//===----------------------------------------------------------------------===//
// sort: stable descending order inside each complete segment
//===----------------------------------------------------------------------===//

void emitSort(KernelBuilder &kb, const Params &pp, const Geometry &geo) {
  Value segS = kb.idx(pp.segment);
  Value segments = kb.ceilDiv(geo.seqK, segS);
  forEachItem(kb, geo, kSortSplit, [&](Item &it) {
    kb.forRange(it.part, segments, kb.idx(kSortSplit), [&](Value m) {
      Value segStart = kb.mul(m, segS);
      Value segEnd = kb.add(segStart, segS);
      Value complete = kb.le(segEnd, geo.seqK);
      Value keys = kb.sub(kb.min(segEnd, geo.seqK), segStart);
      kb.coopLoop(keys, [&](Value x) {
        Value j = kb.add(segStart, x);
        Value pos = kb.ifThenElse(
            complete, {kb.b().getIndexType()},
            [&] {
              // rank(j) = #{j' : j' ranks before j} (a NaN below every
              // number, ties to the smaller index).
              Value aj = kb.loadWs(HF, it.importanceAt(j));
              Value rank = kb.forRangeCarry(
                  segStart, segEnd, kb.idx(1), {kb.idx(0)},
                  [&](Value j2, ValueRange r) {
                    Value a2 = kb.loadWs(HF, it.importanceAt(j2));
                    Value before = rankedBefore(kb, a2, j2, aj, j);
                    return SmallVector<Value>{
                        kb.add(r[0], kb.select(before, kb.idx(1), kb.idx(0)))};
                  })[0];
              return SmallVector<Value>{kb.add(segStart, rank)};
            },
            [&] { return SmallVector<Value>{j}; })[0];
        kb.storeWs(HI, it.permAt(pos), j);
        kb.storeWs(HI, it.posOfAt(j), pos);
      });
    });
  });
}

//===----------------------------------------------------------------------===//
// blocks: mean permuted key of every whole block (fp32, in order)
//===----------------------------------------------------------------------===//

void emitBlocks(KernelBuilder &kb, const Params &pp, const Geometry &geo) {
  Value blockB = kb.idx(pp.block);
  Value blockSize = kb.sitofp(blockB);
  forEachItem(kb, geo, kBlockSplit, [&](Item &it) {
    kb.forRange(it.part, geo.wholeBlocks, kb.idx(kBlockSplit), [&](Value c) {
      Value start = kb.mul(c, blockB);
      kb.coopLoop(kb.idx(kb.shape().headDim), [&](Value d) {
        Value sum =
            kb.forRangeCarry(start, kb.add(start, blockB), kb.idx(1),
                             {kb.f32(0)}, [&](Value pos, ValueRange s) {
                               Value j = kb.loadWs(HI, it.permAt(pos));
                               return SmallVector<Value>{kb.fadd(
                                   s[0], kb.loadK(it.ih.bb, it.ih.g, j, d))};
                             })[0];
        kb.storeWs(HF, it.blockMeanAt(c, d), kb.fdiv(sum, blockSize));
      });
    });
  });
}

//===----------------------------------------------------------------------===//
// lists: per query block, the candidates in rank order and the cover prefix
//===----------------------------------------------------------------------===//

void emitLists(KernelBuilder &kb, const Params &pp, const Geometry &geo) {
  const int64_t S = pp.segment, B = pp.block, D = kb.shape().headDim;
  Type f64 = kb.b().getF64Type();
  Value qMean = kb.sharedAlloc({D}, kb.b().getF32Type());
  Value softmaxStats = kb.sharedAlloc({2}, f64); // max, sum of the candidates
  Value scale = kb.f32(kb.shape().effectiveScale());
  Value blockB = kb.idx(B), segS = kb.idx(S), perSegment = kb.idx(S / B);
  forEachItem(kb, geo, kListSplit, [&](Item &it) {
    kb.forRange(it.part, geo.numQB, kb.idx(kListSplit), [&](Value grp) {
      Value qb = kb.add(geo.firstQB, grp);
      Value first = kb.max(kb.idx(0), kb.sub(kb.mul(qb, blockB), geo.offset));
      Value last =
          kb.sub(kb.min(geo.seqQ, kb.sub(kb.mul(kb.add(qb, kb.idx(1)), blockB),
                                         geo.offset)),
                 kb.idx(1));
      Value mQ = kb.floorDiv(kb.add(first, geo.offset), segS);
      Value numCands =
          kb.max(kb.idx(0), kb.min(kb.mul(mQ, perSegment), geo.wholeBlocks));
      Value list = kb.add(kb.mul(it.ih.head, geo.numQB), grp);
      Value itemsBase = kb.mul(list, geo.wholeBlocks);

      storeQueryMean(kb, qMean, it.ih.bb, it.ih.h, first, last);
      // Scores scale * dot(mean q, mean k_c), fp32 in order over d.
      kb.coopLoop(numCands, [&](Value c) {
        Value dot = kb.forRangeCarry(
            kb.idx(0), kb.idx(D), kb.idx(1), {kb.f32(0)},
            [&](Value d, ValueRange acc) {
              return SmallVector<Value>{kb.fadd(
                  acc[0], kb.fmul(kb.load(qMean, {d}),
                                  kb.loadWs(HF, it.blockMeanAt(c, d))))};
            })[0];
        kb.storeWs(HF, it.scoreAt(c), kb.fmul(scale, dot));
      });
      kb.barrier();

      // Softmax normaliser over the candidates, in index order (fp64).
      auto scoreOf = [&](Value c) {
        return toF64(kb, kb.loadWs(HF, it.scoreAt(c)));
      };
      kb.singleThread([&] {
        Value mx = kb.forRangeCarry(
            kb.idx(0), numCands, kb.idx(1),
            {f64Const(kb, -std::numeric_limits<double>::infinity())},
            [&](Value c, ValueRange m) {
              return SmallVector<Value>{kb.fmax(m[0], scoreOf(c))};
            })[0];
        Value sum =
            kb.forRangeCarry(kb.idx(0), numCands, kb.idx(1), {f64Const(kb, 0)},
                             [&](Value c, ValueRange s) {
                               return SmallVector<Value>{kb.fadd(
                                   s[0], kb.exp(kb.fsub(scoreOf(c), mx)))};
                             })[0];
        kb.store(mx, softmaxStats, {kb.idx(0)});
        kb.store(sum, softmaxStats, {kb.idx(1)});
      });
      // Rank of each candidate (a NaN below every number, ties toward the
      // smaller index).
      kb.coopLoop(numCands, [&](Value c) {
        Value sc = kb.loadWs(HF, it.scoreAt(c));
        Value rank = kb.forRangeCarry(
            kb.idx(0), numCands, kb.idx(1), {kb.idx(0)},
            [&](Value c2, ValueRange r) {
              Value s2 = kb.loadWs(HF, it.scoreAt(c2));
              Value before = rankedBefore(kb, s2, c2, sc, c);
              return SmallVector<Value>{
                  kb.add(r[0], kb.select(before, kb.idx(1), kb.idx(0)))};
            })[0];
        kb.storeWs(WorkspaceSlot::ListItems, kb.add(itemsBase, rank), c);
      });
      kb.barrier();

      // Cover prefix: count(cumsum < alpha) + 1, capped (coverCount).
      kb.singleThread([&] {
        Value mx = kb.load(softmaxStats, {kb.idx(0)});
        Value sum = kb.load(softmaxStats, {kb.idx(1)});
        Value alpha = f64Const(kb, pp.alpha);
        SmallVector<Value> done = kb.whileLoop(
            {kb.idx(0), f64Const(kb, 0)},
            [&](ValueRange s) {
              return kb.andI(kb.lt(s[0], numCands),
                             kb.fcmp(arith::CmpFPredicate::ULT, s[1], alpha));
            },
            [&](ValueRange s) {
              Value c =
                  kb.loadWs(WorkspaceSlot::ListItems, kb.add(itemsBase, s[0]));
              Value e = kb.exp(kb.fsub(scoreOf(c), mx));
              return SmallVector<Value>{kb.add(s[0], kb.idx(1)),
                                        kb.fadd(s[1], kb.fdiv(e, sum))};
            });
        kb.storeWs(WorkspaceSlot::ListCount, list, done[0]);
      });
      kb.barrier();
    });
  });
}

} // namespace

LogicalResult permute::emitStage(KernelBuilder &kb, const KernelRequest &req,
                                 StageAttr stage) {
  Params pp = params(req, stage.getPrimitive());
  kb.beginFunction(stage.getFunction(), stage.getThreads());
  Geometry geo = geometry(kb, pp);
  switch (stageOf(stage)) {
  case Stage::Probe:
    emitProbe(kb, req, pp, geo);
    break;
  case Stage::Importance:
    emitImportance(kb, req, geo);
    break;
  case Stage::Sort:
    emitSort(kb, pp, geo);
    break;
  case Stage::Blocks:
    emitBlocks(kb, pp, geo);
    break;
  case Stage::Lists:
    emitLists(kb, pp, geo);
    break;
  }
  kb.endFunction();
  return success();
}
