//===- SelectPermute.cpp - Lowering of permute (PBS-Attn) ----------------===//
//
// docs/patterns.md, "permute". One selection stage per (batch, query head),
// 128 threads, mirroring MaskOracle::Impl::buildPermute:
//   1. Importance: every probe row t (the last min(n, Sq) query rows) gets
//      its exact causal softmax max (fp32 logits) and sum (fp64), one thread
//      per row; then one thread per key j sums exp(l - max) / sum over the
//      probe rows in row order (fp64) and stores a_j = float(acc / #rows).
//   2. Stable descending sort of each complete segment of S keys, by rank:
//      rank(j) = #{j' in the segment : a_j' > a_j or (a_j' == a_j, j' < j)};
//      perm[segStart + rank] = j and posOf[j] = segStart + rank. The tail
//      keys stay in place.
//   3. Mean permuted key of every whole block (blocks of complete segments),
//      then, per absolute query block Q of B positions in turn: mean q of Q,
//      pooled scores of the candidate blocks c, (c + 1) B <= m_Q S, all
//      candidates written in rank order (descending, ties toward the smaller
//      index) to Q's list, and the cover-alpha prefix length (fp64 softmax,
//      as coverCount) as the list's count.
// The attention kernel then visits, for a tile in query block Q: Q's own
// segment [m_Q S, min((m_Q + 1) S, Sk)), the permuted block holding key 0
// (when m_Q > 0), and the kept blocks of Q's list through perm (skipping the
// block of key 0). Causality is applied on original key indices by the
// emitter.
//
// Workspace, per (batch, head) bh = b * Hq + h (np = min(n, Sq), nwb = the
// number of whole blocks = (Sk / S) (S / B), nQ = query blocks of the call):
//   HeadFloats [bh * (Sk + np + nwb (D + 1))]:
//     importance [Sk] | probe-row max [np] | block mean keys [nwb][D] |
//     candidate scores [nwb]
//   HeadInts [bh * (2 Sk + 2 np)]:
//     perm [Sk] | posOf [Sk] | probe-row sums [np] as fp64 bit pairs (lo, hi)
//   ListCount [bh * nQ + q], ListItems [(bh * nQ + q) * nwb + rank].
//
//===----------------------------------------------------------------------===//

#include "passes/PrimitiveInterfaces.h"
#include "passes/Schedule.h"
#include "passes/primitives/Models.h"
#include "passes/primitives/SelectionHelpers.h"

#include "mlir/IR/DialectRegistry.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelMemref;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;

namespace {

/// The bound arguments of a permute op.
struct PermuteParams {
  int64_t segment = 256;
  int64_t probe = 128;
  int64_t block = 128;
  double alpha = 0.9;
};

PermuteParams permuteParams(const KernelRequest &req, int64_t primitive) {
  auto op = cast<PermuteOp>(req.primitives[primitive]);
  return {req.intParam(op.getSegment()), req.intParam(op.getProbe()),
          req.intParam(op.getBlock()), req.floatParam(op.getCover())};
}

/// Per-call sizes of the workspace layout (see the file header), emitted.
struct Geometry {
  Value seqQ, seqK, offset;
  Value numProbe, firstProbe; // probe rows [firstProbe, Sq)
  Value wholeBlocks;          // nwb: also every list's capacity
  Value firstQB, numQB;       // absolute query blocks of B positions
  Value floatsPerHead, intsPerHead;
  // Offsets inside a head's part.
  Value probeMaxAt, blockMeanAt, scoreAt; // HeadFloats
  Value posOfAt, probeSumAt;              // HeadInts
};

Geometry geometry(KernelBuilder &kb, const PermuteParams &pp) {
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
  g.floatsPerHead = kb.add(g.scoreAt, g.wholeBlocks);
  g.posOfAt = g.seqK;
  g.probeSumAt = kb.mul(g.seqK, kb.idx(2));
  g.intsPerHead = kb.add(g.probeSumAt, kb.mul(g.numProbe, kb.idx(2)));
  return g;
}

//===----------------------------------------------------------------------===//
// fp64 helpers.
//===----------------------------------------------------------------------===//

Value f64Const(KernelBuilder &kb, double v) {
  return arith::ConstantOp::create(kb.b(), kb.loc(), kb.b().getF64FloatAttr(v));
}
Value extF64(KernelBuilder &kb, Value v) {
  return arith::ExtFOp::create(kb.b(), kb.loc(), kb.b().getF64Type(), v);
}
Value indexToF64(KernelBuilder &kb, Value v) {
  return arith::SIToFPOp::create(kb.b(), kb.loc(), kb.b().getF64Type(),
                                 kb.toI64(v));
}

/// Stores an f64 as two i32 words (low, high) of an i32 workspace slot.
void storeF64Bits(KernelBuilder &kb, WorkspaceSlot slot, Value at, Value v) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Value bits = arith::BitcastOp::create(b, loc, b.getI64Type(), v);
  Value lo = arith::TruncIOp::create(b, loc, b.getI32Type(), bits);
  Value hi = arith::TruncIOp::create(
      b, loc, b.getI32Type(), arith::ShRUIOp::create(b, loc, bits, kb.i64(32)));
  kb.storeWs(slot, at, lo);
  kb.storeWs(slot, kb.add(at, kb.idx(1)), hi);
}

Value loadF64Bits(KernelBuilder &kb, WorkspaceSlot slot, Value at) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  auto word = [&](Value off) {
    Value raw = kb.load(kb.memref(KernelMemref::WorkspaceI32),
                        kb.add(kb.workspaceOffset(slot), off));
    return arith::ExtUIOp::create(b, loc, b.getI64Type(), raw).getResult();
  };
  Value lo = word(at);
  Value hi = word(kb.add(at, kb.idx(1)));
  Value bits = arith::OrIOp::create(
      b, loc, lo, arith::ShLIOp::create(b, loc, hi, kb.i64(32)));
  return arith::BitcastOp::create(b, loc, b.getF64Type(), bits);
}

/// Serial fp32 dot product over d = 0..D-1, in order (as dotF32).
Value dotInOrder(KernelBuilder &kb, int64_t D, function_ref<Value(Value)> lhs,
                 function_ref<Value(Value)> rhs) {
  return kb.forRangeCarry(kb.idx(0), kb.idx(D), kb.idx(1), {kb.f32(0)},
                          [&](Value d, ValueRange acc) {
                            return SmallVector<Value>{
                                kb.fadd(acc[0], kb.fmul(lhs(d), rhs(d)))};
                          })[0];
}

} // namespace

//===----------------------------------------------------------------------===//
// Workspace.
//===----------------------------------------------------------------------===//

static void addPermuteWorkspace(const KernelRequest &req, StageAttr stage,
                                WorkspaceSizes &slots) {
  using ::sattn::SizeExpr;
  PermuteParams pp = permuteParams(req, stage.getPrimitive());
  const int64_t S = pp.segment, B = pp.block, D = req.shape.headDim;
  SizeExpr sq = SizeExpr::seqQ(), sk = SizeExpr::seqK();
  SizeExpr heads = SizeExpr::batch() * req.shape.heads;
  SizeExpr numProbe = min(SizeExpr(pp.probe), sq);
  SizeExpr wholeBlocks = floorDiv(sk, S) * (S / B);
  SizeExpr numQB = numQueryBlocks(B, BlockOrigin::absolute);
  auto slot = [&](WorkspaceSlot s) -> SizeExpr & { return slots[unsigned(s)]; };
  slot(WorkspaceSlot::HeadFloats) +=
      heads * (sk + numProbe + wholeBlocks * (D + 1));
  slot(WorkspaceSlot::HeadInts) += heads * (sk * 2 + numProbe * 2);
  slot(WorkspaceSlot::ListCount) += heads * numQB;
  slot(WorkspaceSlot::ListItems) += heads * numQB * wholeBlocks;
}

//===----------------------------------------------------------------------===//
// Selection stage.
//===----------------------------------------------------------------------===//

static LogicalResult
emitPermuteStage(KernelBuilder &kb, const KernelRequest &req, StageAttr stage) {
  PermuteParams pp = permuteParams(req, stage.getPrimitive());
  const int64_t S = pp.segment, B = pp.block, D = kb.shape().headDim;
  const int64_t heads = kb.shape().heads;
  const int64_t group = heads / kb.shape().kvHeads;
  const bool causal = req.causal;

  kb.beginFunction(stage.getFunction(), stage.getThreads());
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  Value qMean = kb.sharedAlloc({D}, f32);
  Value softmaxStats = kb.sharedAlloc({2}, f64); // max, sum of the candidates
  Geometry geo = geometry(kb, pp);
  Value scale = kb.f32(kb.shape().effectiveScale());
  Value blockB = kb.idx(B), segS = kb.idx(S);
  const auto HF = WorkspaceSlot::HeadFloats, HI = WorkspaceSlot::HeadInts;

  kb.forEachWorkItem([&](Value item) {
    Value bh = item;
    Value h = kb.floorMod(bh, kb.idx(heads));
    Value bb = kb.floorDiv(bh, kb.idx(heads));
    Value g = kb.floorDiv(h, kb.idx(group));
    Value fBase = kb.mul(bh, geo.floatsPerHead);
    Value iBase = kb.mul(bh, geo.intsPerHead);
    auto importanceAt = [&](Value j) { return kb.add(fBase, j); };
    auto probeMaxAt = [&](Value t) {
      return kb.add(fBase, kb.add(geo.probeMaxAt, t));
    };
    auto blockMeanAt = [&](Value c, Value d) {
      return kb.add(fBase,
                    kb.add(geo.blockMeanAt, kb.add(kb.mul(c, kb.idx(D)), d)));
    };
    auto scoreAt = [&](Value c) {
      return kb.add(fBase, kb.add(geo.scoreAt, c));
    };
    auto permAt = [&](Value pos) { return kb.add(iBase, pos); };
    auto posOfAt = [&](Value j) {
      return kb.add(iBase, kb.add(geo.posOfAt, j));
    };
    auto probeSumAt = [&](Value t) {
      return kb.add(iBase, kb.add(geo.probeSumAt, kb.mul(t, kb.idx(2))));
    };
    // Logit of query row i and key j: scale * dot (fp32, in order).
    auto logit = [&](Value i, Value j) {
      Value dot = dotInOrder(
          kb, D, [&](Value d) { return kb.loadQ(bb, h, i, d); },
          [&](Value d) { return kb.loadK(bb, g, j, d); });
      return kb.fmul(scale, dot);
    };
    // End of C(i) = [0, end).
    auto causalEnd = [&](Value i) {
      if (!causal)
        return geo.seqK;
      Value end = kb.add(kb.add(i, geo.offset), kb.idx(1));
      return kb.max(kb.min(end, geo.seqK), kb.idx(0));
    };

    // Step 1a: max and sum of each probe row's exact softmax.
    kb.coopLoop(geo.numProbe, [&](Value t) {
      Value row = kb.add(geo.firstProbe, t);
      Value end = causalEnd(row);
      Value mx = kb.forRangeCarry(
          kb.idx(0), end, kb.idx(1), {kb.negInf()}, [&](Value j, ValueRange m) {
            return SmallVector<Value>{kb.fmax(m[0], logit(row, j))};
          })[0];
      Value mx64 = extF64(kb, mx);
      Value sum = kb.forRangeCarry(
          kb.idx(0), end, kb.idx(1), {f64Const(kb, 0)},
          [&](Value j, ValueRange s) {
            Value e = kb.exp(kb.fsub(extF64(kb, logit(row, j)), mx64));
            return SmallVector<Value>{kb.fadd(s[0], e)};
          })[0];
      kb.storeWs(HF, probeMaxAt(t), mx);
      storeF64Bits(kb, HI, probeSumAt(t), sum);
    });
    kb.barrier();

    // Step 1b: a_j = mean over probe rows of the softmax probability of j.
    // Row t reaches key j iff j < end(t); end grows with t, so those rows
    // form a suffix (summing them in order equals the oracle's sum).
    Value probeRows = indexToF64(kb, geo.numProbe);
    kb.coopLoop(geo.seqK, [&](Value j) {
      Value tStart = kb.idx(0);
      if (causal)
        tStart =
            kb.max(kb.idx(0), kb.sub(j, kb.add(geo.firstProbe, geo.offset)));
      Value acc = kb.forRangeCarry(
          tStart, geo.numProbe, kb.idx(1), {f64Const(kb, 0)},
          [&](Value t, ValueRange a) {
            Value row = kb.add(geo.firstProbe, t);
            Value mx = extF64(kb, kb.loadWs(HF, probeMaxAt(t)));
            Value sum = loadF64Bits(kb, HI, probeSumAt(t));
            Value e = kb.exp(kb.fsub(extF64(kb, logit(row, j)), mx));
            return SmallVector<Value>{kb.fadd(a[0], kb.fdiv(e, sum))};
          })[0];
      Value mean =
          arith::TruncFOp::create(b, loc, f32, kb.fdiv(acc, probeRows));
      kb.storeWs(HF, importanceAt(j), mean);
    });
    kb.barrier();

    // Step 2: stable descending sort inside each complete segment.
    kb.coopLoop(geo.seqK, [&](Value j) {
      Value segStart = kb.mul(kb.floorDiv(j, segS), segS);
      Value segEnd = kb.add(segStart, segS);
      Value complete = kb.le(segEnd, geo.seqK);
      Value pos = kb.ifThenElse(
          complete, {b.getIndexType()},
          [&] {
            Value aj = kb.loadWs(HF, importanceAt(j));
            Value rank = kb.forRangeCarry(
                segStart, segEnd, kb.idx(1), {kb.idx(0)},
                [&](Value j2, ValueRange r) {
                  Value a2 = kb.loadWs(HF, importanceAt(j2));
                  Value before =
                      kb.orI(kb.fcmp(arith::CmpFPredicate::OGT, a2, aj),
                             kb.andI(kb.fcmp(arith::CmpFPredicate::OEQ, a2, aj),
                                     kb.lt(j2, j)));
                  return SmallVector<Value>{
                      kb.add(r[0], kb.select(before, kb.idx(1), kb.idx(0)))};
                })[0];
            return SmallVector<Value>{kb.add(segStart, rank)};
          },
          [&] { return SmallVector<Value>{j}; })[0];
      kb.storeWs(HI, permAt(pos), j);
      kb.storeWs(HI, posOfAt(j), pos);
    });
    kb.barrier();

    // Step 3a: mean permuted key of every whole block (fp32, in order).
    Value blockSize = kb.sitofp(blockB);
    kb.coopLoop(kb.mul(geo.wholeBlocks, kb.idx(D)), [&](Value e) {
      Value c = kb.floorDiv(e, kb.idx(D));
      Value d = kb.floorMod(e, kb.idx(D));
      Value start = kb.mul(c, blockB);
      Value sum = kb.forRangeCarry(start, kb.add(start, blockB), kb.idx(1),
                                   {kb.f32(0)}, [&](Value pos, ValueRange s) {
                                     Value j = kb.loadWs(HI, permAt(pos));
                                     return SmallVector<Value>{
                                         kb.fadd(s[0], kb.loadK(bb, g, j, d))};
                                   })[0];
      kb.storeWs(HF, blockMeanAt(c, d), kb.fdiv(sum, blockSize));
    });
    kb.barrier();

    // Step 3b: per query block, the candidates in rank order and the
    // cover-alpha prefix length.
    Value perSegment = kb.idx(S / B);
    kb.forRange(kb.idx(0), geo.numQB, [&](Value grp) {
      Value qb = kb.add(geo.firstQB, grp);
      Value first = kb.max(kb.idx(0), kb.sub(kb.mul(qb, blockB), geo.offset));
      Value last =
          kb.sub(kb.min(geo.seqQ, kb.sub(kb.mul(kb.add(qb, kb.idx(1)), blockB),
                                         geo.offset)),
                 kb.idx(1));
      Value mQ = kb.floorDiv(kb.add(first, geo.offset), segS);
      Value numCands =
          kb.max(kb.idx(0), kb.min(kb.mul(mQ, perSegment), geo.wholeBlocks));
      Value list = kb.add(kb.mul(bh, geo.numQB), grp);
      Value itemsBase = kb.mul(list, geo.wholeBlocks);

      storeQueryMean(kb, qMean, bb, h, first, last);

      kb.coopLoop(numCands, [&](Value c) {
        Value dot = dotInOrder(
            kb, D, [&](Value d) { return kb.load(qMean, {d}); },
            [&](Value d) { return kb.loadWs(HF, blockMeanAt(c, d)); });
        kb.storeWs(HF, scoreAt(c), kb.fmul(scale, dot));
      });
      kb.barrier();

      // Softmax normaliser over the candidates, in index order (fp64).
      kb.singleThread([&] {
        Value mx = kb.forRangeCarry(
            kb.idx(0), numCands, kb.idx(1),
            {f64Const(kb, -std::numeric_limits<double>::infinity())},
            [&](Value c, ValueRange m) {
              return SmallVector<Value>{
                  kb.fmax(m[0], extF64(kb, kb.loadWs(HF, scoreAt(c))))};
            })[0];
        Value sum = kb.forRangeCarry(
            kb.idx(0), numCands, kb.idx(1), {f64Const(kb, 0)},
            [&](Value c, ValueRange s) {
              Value e =
                  kb.exp(kb.fsub(extF64(kb, kb.loadWs(HF, scoreAt(c))), mx));
              return SmallVector<Value>{kb.fadd(s[0], e)};
            })[0];
        kb.store(mx, softmaxStats, {kb.idx(0)});
        kb.store(sum, softmaxStats, {kb.idx(1)});
      });
      // Rank of each candidate: descending score, ties toward the smaller
      // index.
      kb.coopLoop(numCands, [&](Value c) {
        Value sc = kb.loadWs(HF, scoreAt(c));
        Value rank = kb.forRangeCarry(
            kb.idx(0), numCands, kb.idx(1), {kb.idx(0)},
            [&](Value c2, ValueRange r) {
              Value s2 = kb.loadWs(HF, scoreAt(c2));
              Value before =
                  kb.orI(kb.fcmp(arith::CmpFPredicate::OGT, s2, sc),
                         kb.andI(kb.fcmp(arith::CmpFPredicate::OEQ, s2, sc),
                                 kb.lt(c2, c)));
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
              Value e =
                  kb.exp(kb.fsub(extF64(kb, kb.loadWs(HF, scoreAt(c))), mx));
              return SmallVector<Value>{kb.add(s[0], kb.idx(1)),
                                        kb.fadd(s[1], kb.fdiv(e, sum))};
            });
        kb.storeWs(WorkspaceSlot::ListCount, list, done[0]);
      });
      kb.barrier();
    });
  });
  kb.endFunction();
  return success();
}

//===----------------------------------------------------------------------===//
// Key sources.
//===----------------------------------------------------------------------===//

namespace {

class PermuteSource : public KeySource {
public:
  explicit PermuteSource(const PermuteParams &pp) : pp(pp) {}

  /// A tile lies in one query block, so every row shares the segment, the
  /// block of key 0 and the kept list.
  bool visitsOnlyMembers() const override { return true; }

protected:
  /// m_Q of the tile's rows (a tile lies in one block, hence one segment).
  Value segmentOf(KernelBuilder &kb, Value pos) {
    return kb.floorDiv(pos, kb.idx(pp.segment));
  }
  Value intsBase(KernelBuilder &kb, const Geometry &geo,
                 const TileContext &tile) {
    Value bh = kb.add(kb.mul(tile.batch, kb.idx(kb.shape().heads)), tile.head);
    return kb.mul(bh, geo.intsPerHead);
  }
  Value permAt(KernelBuilder &kb, const Geometry &geo, const TileContext &tile,
               Value pos) {
    return kb.loadWs(WorkspaceSlot::HeadInts,
                     kb.add(intsBase(kb, geo, tile), pos));
  }
  Value posOf(KernelBuilder &kb, const Geometry &geo, const TileContext &tile,
              Value j) {
    return kb.loadWs(WorkspaceSlot::HeadInts,
                     kb.add(intsBase(kb, geo, tile), kb.add(geo.posOfAt, j)));
  }
  /// The permuted block holding original key 0.
  Value blockOfKey0(KernelBuilder &kb, const Geometry &geo,
                    const TileContext &tile) {
    return kb.floorDiv(posOf(kb, geo, tile, kb.idx(0)), kb.idx(pp.block));
  }

  PermuteParams pp;
};

/// Q's own segment [m_Q S, min((m_Q + 1) S, Sk)).
class OwnSegmentSource : public PermuteSource {
public:
  using PermuteSource::PermuteSource;
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    Value start = kb.mul(segmentOf(kb, tile.firstPos), kb.idx(pp.segment));
    Value end = kb.min(kb.add(start, kb.idx(pp.segment)), tile.seqK);
    cx.visitRange(tile, self, start, end);
  }
  Value contains(KeySourceContext &cx, const TileContext &,
                 const RowContext &row, Value j) override {
    KernelBuilder &kb = cx.builder();
    return kb.eq(segmentOf(kb, row.pos), segmentOf(kb, j));
  }
};

/// The permuted block holding original key 0 (in segment 0, so only new
/// when m_Q > 0).
class KeyZeroBlockSource : public PermuteSource {
public:
  using PermuteSource::PermuteSource;
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    Value later = kb.gt(segmentOf(kb, tile.firstPos), kb.idx(0));
    kb.ifThen(later, [&] {
      Geometry geo = geometry(kb, pp);
      Value start = kb.mul(blockOfKey0(kb, geo, tile), kb.idx(pp.block));
      Value count = kb.min(kb.idx(pp.block), kb.sub(tile.seqK, start));
      cx.visitKeys(tile, self, count, [&](Value c) {
        return permAt(kb, geo, tile, kb.add(start, c));
      });
    });
  }
  Value contains(KeySourceContext &cx, const TileContext &tile,
                 const RowContext &row, Value j) override {
    KernelBuilder &kb = cx.builder();
    Geometry geo = geometry(kb, pp);
    Value later = kb.gt(segmentOf(kb, row.pos), kb.idx(0));
    Value inBlock =
        kb.eq(kb.floorDiv(posOf(kb, geo, tile, j), kb.idx(pp.block)),
              blockOfKey0(kb, geo, tile));
    return kb.andI(later, inBlock);
  }
};

/// The kept candidate blocks of Q's list, through perm, minus the block of
/// key 0. Last source: contains() is never asked by a later one.
class KeptBlocksSource : public PermuteSource {
public:
  using PermuteSource::PermuteSource;
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    Geometry geo = geometry(kb, pp);
    Value blockB = kb.idx(pp.block);
    Value qb = kb.floorDiv(tile.firstPos, blockB);
    Value bh = kb.add(kb.mul(tile.batch, kb.idx(kb.shape().heads)), tile.head);
    Value list = kb.add(kb.mul(bh, geo.numQB), kb.sub(qb, geo.firstQB));
    Value count = kb.loadWs(WorkspaceSlot::ListCount, list);
    Value itemsBase = kb.mul(list, geo.wholeBlocks);
    // Where the block of key 0 sits in the list (count: absent).
    Value c0 = blockOfKey0(kb, geo, tile);
    Value at0 = kb.forRangeCarry(
        kb.idx(0), count, kb.idx(1), {count}, [&](Value n, ValueRange a) {
          Value item =
              kb.loadWs(WorkspaceSlot::ListItems, kb.add(itemsBase, n));
          return SmallVector<Value>{
              kb.select(kb.eq(item, c0), kb.min(a[0], n), a[0])};
        })[0];
    Value blocks =
        kb.select(kb.lt(at0, count), kb.sub(count, kb.idx(1)), count);
    cx.visitKeys(tile, self, kb.mul(blocks, blockB), [&](Value c) {
      Value n = kb.floorDiv(c, blockB);
      n = kb.add(n, kb.select(kb.ge(n, at0), kb.idx(1), kb.idx(0)));
      Value block = kb.loadWs(WorkspaceSlot::ListItems, kb.add(itemsBase, n));
      Value pos = kb.add(kb.mul(block, blockB), kb.floorMod(c, blockB));
      return permAt(kb, geo, tile, pos);
    });
  }
  Value contains(KeySourceContext &cx, const TileContext &, const RowContext &,
                 Value) override {
    return cx.builder().boolean(true);
  }
};

struct PermuteModel
    : KeySourcePrimitive::ExternalModel<PermuteModel, PermuteOp> {
  TileConstraint getTileConstraint(Operation *op,
                                   const KernelRequest &req) const {
    return {permuteParams(req, req.indexOf(op)).block, false};
  }
  /// The query's own segment, the block of key 0, the kept permuted blocks.
  void appendKeySources(Operation *op, const KernelRequest &req,
                        KeySourceList &sources) const {
    PermuteParams pp = permuteParams(req, req.indexOf(op));
    sources.push_back(std::make_unique<OwnSegmentSource>(pp));
    sources.push_back(std::make_unique<KeyZeroBlockSource>(pp));
    sources.push_back(std::make_unique<KeptBlocksSource>(pp));
  }
};

struct PermuteSelection
    : SelectionPrimitive::ExternalModel<PermuteSelection, PermuteOp> {
  void planStages(Operation *op, const KernelRequest &, StringRef function,
                  int64_t primitive, SmallVectorImpl<StageAttr> &stages) const {
    stages.push_back(headsStage(op->getContext(), function, primitive));
  }
  void addWorkspace(Operation *, const KernelRequest &req, StageAttr stage,
                    WorkspaceSizes &slots) const {
    addPermuteWorkspace(req, stage, slots);
  }
  LogicalResult emitStage(Operation *, KernelBuilder &kb,
                          const KernelRequest &req, StageAttr stage) const {
    return emitPermuteStage(kb, req, stage);
  }
};
} // namespace

void mlir::sattn::registerPermuteModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    PermuteOp::attachInterface<PermuteModel, PermuteSelection>(*ctx);
  });
}
