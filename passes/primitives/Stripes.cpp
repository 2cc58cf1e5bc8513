//===- SelectStripes.cpp - Lowering of stripes (SampleAttention) ----------===//
//
// `stripes` (docs/patterns.md): sampled query rows score key-block columns
// and block diagonals; the cover-alpha prefix of each ranking is kept, plus
// a token window of max(B, round(f Sk)) tokens.
//
// Selection stage, one work item per (batch, query head), as the oracle
// (runtime/lib/Oracle.cpp, buildStripes) computes it:
//   1. Row statistics, one sampled row per thread: the fp32 logits
//      scale * dot(q_t, k_j) over C(t) (dot accumulated in order over d),
//      their fp32 max and the float64 sum of exp(l - max) in key order.
//   2. Raw scores, one column or diagonal per thread, in float64: the
//      probabilities exp(l - max) / sum of each sampled row (rows ascending,
//      keys ascending, the oracle's order of addition) whose key block is
//      the column, or whose block lies on the diagonal qb(t) - kb(j) = d.
//   3. Totals of both kinds (one thread, in index order); fp32 scores
//      raw / total; each entry's rank among its kind (descending, ties to
//      the smaller index) gives order[rank] = entry; one thread walks each
//      order, setting kept flags until the float64 cumulative score reaches
//      alpha (nothing is kept when the total is not positive).
//
// Entries: columns c in [0, nkb), nkb = ceil(Sk / B), then diagonals
// d in [dLo, dHi], dHi = floor(p(Sq - 1) / B), dLo = floor(p(0) / B) -
// (nkb - 1), at entry nkb + d - dLo; N entries in all. S = m * rows sample
// slots, m = min(segments, Sq) (slot s * rows + k is row hi_s - rows + k of
// segment s when that row is sampled). With segments >= Sq every segment of
// m holds one row, as every non-empty one of `segments` does: the same
// sampled rows, and a workspace bounded by the call, not the parameter. Workspace per (batch, head), head = b * Hq + h:
//   HeadFloats [S + N]:        row max [S] | fp32 score [N]
//   HeadInts   [2S + 4N + 4]:  row sum f64 [S] | raw f64 [N] | totals f64
//                              [2] | order [N] | kept flags [N]
// (float64 values are stored as two i32 words, low word first).
//
// Attention source: key blocks kb < ceil(keyEnd / B) are visited whole when
// the column or the tile's diagonal qb - kb is kept, else only the part of
// them inside the tile's window. Tiles lie in one stripes block (the
// schedule aligns tileQ to B), so a block is kept for all rows of a tile or
// for none; membership of key j for row p is colKept[kb(j)] ||
// diagKept[qb(p) - kb(j)] || p - w < j <= p.
//
//===----------------------------------------------------------------------===//

#include "passes/PrimitiveInterfaces.h"
#include "passes/primitives/Models.h"
#include "passes/primitives/SelectionHelpers.h"

#include "mlir/IR/DialectRegistry.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelMemref;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;

namespace {

/// The bound arguments of a stripes op.
struct StripesParams {
  int64_t block = 128; // the pattern's block size
  int64_t segments = 8;
  int64_t rows = 64;
  double alpha = 0.95;
  double windowFraction = 0.05;
};

StripesParams stripesParams(const KernelRequest &req, int64_t primitive) {
  auto op = cast<StripesOp>(req.primitives[primitive]);
  return {req.block, req.intParam(op.getSegments()), req.intParam(op.getRows()),
          req.floatParam(op.getCover()), req.floatParam(op.getWindowFrac())};
}

/// Per-call sizes and per-head offsets (see the header), in the emitted
/// code.
struct Geometry {
  Value nkb;     // key blocks
  Value dLo;     // smallest diagonal
  Value entries; // N = nkb + number of diagonals
  Value slots;   // S
  Value floatsPerHead, intsPerHead;
  // Offsets within a head.
  Value scoreAt, rawAt, totalAt, orderAt, flagAt;
};

Geometry geometry(KernelBuilder &kb, const StripesParams &sp, Value seqQ,
                  Value seqK) {
  Geometry g;
  Value block = kb.idx(sp.block);
  g.nkb = kb.ceilDiv(seqK, block);
  Value qbFirst = kb.floorDiv(kb.sub(seqK, seqQ), block);
  Value dHi = kb.floorDiv(kb.sub(seqK, kb.idx(1)), block);
  g.dLo = kb.sub(qbFirst, kb.sub(g.nkb, kb.idx(1)));
  g.entries = kb.add(g.nkb, kb.add(kb.sub(dHi, g.dLo), kb.idx(1)));
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

/// float64 values in the i32 workspace: two words at `offset` (elements of
/// HeadInts).
Value loadF64(KernelBuilder &kb, Value offset) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Value mem = kb.memref(KernelMemref::WorkspaceI32);
  Value at = kb.add(kb.workspaceOffset(WorkspaceSlot::HeadInts), offset);
  Value lo = kb.load(mem, at);
  Value hi = kb.load(mem, kb.add(at, kb.idx(1)));
  Type i64 = b.getI64Type();
  lo = arith::ExtUIOp::create(b, loc, i64, lo);
  hi = arith::ExtUIOp::create(b, loc, i64, hi);
  hi = arith::ShLIOp::create(b, loc, hi, kb.i64(32));
  Value bits = arith::OrIOp::create(b, loc, hi, lo);
  return arith::BitcastOp::create(b, loc, b.getF64Type(), bits);
}

void storeF64(KernelBuilder &kb, Value offset, Value value) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Value mem = kb.memref(KernelMemref::WorkspaceI32);
  Value at = kb.add(kb.workspaceOffset(WorkspaceSlot::HeadInts), offset);
  Type i32 = b.getI32Type();
  Value bits = arith::BitcastOp::create(b, loc, b.getI64Type(), value);
  Value lo = arith::TruncIOp::create(b, loc, i32, bits);
  Value hi = arith::TruncIOp::create(
      b, loc, i32, arith::ShRUIOp::create(b, loc, bits, kb.i64(32)));
  kb.store(lo, mem, at);
  kb.store(hi, mem, kb.add(at, kb.idx(1)));
}

Value f64Const(KernelBuilder &kb, double v) {
  return arith::ConstantOp::create(kb.b(), kb.loc(), kb.b().getF64FloatAttr(v));
}

} // namespace

//===----------------------------------------------------------------------===//
// Workspace
//===----------------------------------------------------------------------===//

static void addStripesWorkspace(const KernelRequest &req, StageAttr stage,
                                WorkspaceSizes &slots) {
  using ::sattn::SizeExpr;
  StripesParams sp = stripesParams(req, stage.getPrimitive());
  const int64_t B = sp.block;
  SizeExpr sq = SizeExpr::seqQ(), sk = SizeExpr::seqK();
  SizeExpr nkb = ceilDiv(sk, B);
  SizeExpr dHi = floorDiv(sk - 1, B);
  SizeExpr dLo = floorDiv(sk - sq, B) - (nkb - 1);
  SizeExpr n = nkb + (dHi - dLo + 1);
  // m = min(segments, Sq) segments of sampled rows (see the header).
  SizeExpr s = min(SizeExpr(sp.segments), sq) * sp.rows;
  SizeExpr heads = SizeExpr::batch() * req.shape.heads;
  slots[unsigned(WorkspaceSlot::HeadFloats)] += heads * (n + s);
  slots[unsigned(WorkspaceSlot::HeadInts)] += heads * (n * 4 + (2 * s + 4));
}

//===----------------------------------------------------------------------===//
// Selection stage
//===----------------------------------------------------------------------===//

static LogicalResult
emitStripesStage(KernelBuilder &kb, const KernelRequest &req, StageAttr stage) {
  StripesParams sp = stripesParams(req, stage.getPrimitive());
  kb.beginFunction(stage.getFunction(), stage.getThreads());
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  const int64_t headDim = kb.shape().headDim;
  const int64_t heads = kb.shape().heads;
  const int64_t group = heads / kb.shape().kvHeads;

  Value seqQ = kb.scalar(KernelScalar::SeqQ);
  Value seqK = kb.scalar(KernelScalar::SeqK);
  Value offset = kb.sub(seqK, seqQ);
  Value block = kb.idx(sp.block);
  Value segments = kb.min(kb.idx(sp.segments), seqQ);
  Value rows = kb.idx(sp.rows);
  Value scale = kb.f32(kb.shape().effectiveScale());
  Geometry geo = geometry(kb, sp, seqQ, seqK);

  auto toF64 = [&](Value v) -> Value {
    return arith::ExtFOp::create(b, loc, f64, v);
  };

  kb.forEachWorkItem([&](Value item) {
    Value h = kb.floorMod(item, kb.idx(heads));
    Value bb = kb.floorDiv(item, kb.idx(heads));
    Value g = kb.floorDiv(h, kb.idx(group));
    Value fBase = kb.mul(item, geo.floatsPerHead);
    Value iBase = kb.mul(item, geo.intsPerHead);

    // The row of sample slot n: t, the end of C(t), and whether the slot
    // holds a sampled row with a non-empty C(t).
    struct Sampled {
      Value t, end, active;
    };
    auto sampled = [&](Value n) {
      Sampled r;
      Value s = kb.floorDiv(n, rows);
      Value k = kb.floorMod(n, rows);
      Value lo = kb.floorDiv(kb.mul(s, seqQ), segments);
      Value hi = kb.floorDiv(kb.mul(kb.add(s, kb.idx(1)), seqQ), segments);
      Value count = kb.min(rows, kb.sub(hi, lo));
      r.t = kb.add(kb.sub(hi, rows), k);
      r.end = req.causal
                  ? kb.max(kb.min(seqK, kb.add(kb.add(r.t, offset), kb.idx(1))),
                           kb.idx(0))
                  : seqK;
      r.active =
          kb.andI(kb.ge(k, kb.sub(rows, count)), kb.gt(r.end, kb.idx(0)));
      return r;
    };
    // The fp32 logit scale * dot(q_t, k_j), accumulated in order over d.
    auto logit = [&](Value t, Value j) {
      Value dot = kb.forRangeCarry(
          kb.idx(0), kb.idx(headDim), kb.idx(1), {kb.f32(0)},
          [&](Value d, ValueRange acc) {
            Value p = kb.fmul(kb.loadQ(bb, h, t, d), kb.loadK(bb, g, j, d));
            return SmallVector<Value>{kb.fadd(acc[0], p)};
          })[0];
      return kb.fmul(scale, dot);
    };

    // 1. Row max (fp32) and sum of exp(l - max) (float64) per sampled row.
    kb.coopLoop(geo.slots, [&](Value n) {
      Sampled r = sampled(n);
      kb.ifThen(r.active, [&] {
        Value mx = kb.forRangeCarry(kb.idx(0), r.end, kb.idx(1), {kb.negInf()},
                                    [&](Value j, ValueRange acc) {
                                      return SmallVector<Value>{
                                          kb.fmax(acc[0], logit(r.t, j))};
                                    })[0];
        Value mx64 = toF64(mx);
        Value sum = kb.forRangeCarry(
            kb.idx(0), r.end, kb.idx(1), {f64Const(kb, 0)},
            [&](Value j, ValueRange acc) {
              Value e = math::ExpOp::create(
                  b, loc,
                  arith::SubFOp::create(b, loc, toF64(logit(r.t, j)), mx64));
              return SmallVector<Value>{
                  arith::AddFOp::create(b, loc, acc[0], e)};
            })[0];
        kb.storeWs(WorkspaceSlot::HeadFloats, kb.add(fBase, n), mx);
        storeF64(kb, kb.add(iBase, kb.mul(n, kb.idx(2))), sum);
      });
    });
    kb.barrier();

    // 2. Raw float64 score of each column and diagonal.
    kb.coopLoop(geo.entries, [&](Value e) {
      Value isColumn = kb.lt(e, geo.nkb);
      Value diagonal = kb.add(kb.sub(e, geo.nkb), geo.dLo);
      Value raw = kb.forRangeCarry(
          kb.idx(0), geo.slots, kb.idx(1), {f64Const(kb, 0)},
          [&](Value n, ValueRange acc) {
            Sampled r = sampled(n);
            Value qbt = kb.floorDiv(kb.add(r.t, offset), block);
            Value kbv = kb.select(isColumn, e, kb.sub(qbt, diagonal));
            Value lo = kb.mul(kbv, block);
            Value hi = kb.min(kb.add(lo, block), r.end);
            Value ok = kb.andI(r.active,
                               kb.andI(kb.ge(kbv, kb.idx(0)), kb.lt(lo, hi)));
            return kb.ifThenElse(
                ok, {f64},
                [&] {
                  Value mx = toF64(
                      kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(fBase, n)));
                  Value sum = loadF64(kb, kb.add(iBase, kb.mul(n, kb.idx(2))));
                  return kb.forRangeCarry(
                      lo, hi, kb.idx(1), {acc[0]}, [&](Value j, ValueRange a) {
                        Value p = math::ExpOp::create(
                            b, loc,
                            arith::SubFOp::create(b, loc, toF64(logit(r.t, j)),
                                                  mx));
                        p = arith::DivFOp::create(b, loc, p, sum);
                        return SmallVector<Value>{
                            arith::AddFOp::create(b, loc, a[0], p)};
                      });
                },
                [&] { return SmallVector<Value>{acc[0]}; });
          })[0];
      storeF64(kb, kb.add(iBase, kb.add(geo.rawAt, kb.mul(e, kb.idx(2)))), raw);
    });
    kb.barrier();

    // 3. Totals, scores, ranks, cover prefixes.
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
    kb.coopLoop(geo.entries, [&](Value e) {
      Value isColumn = kb.lt(e, geo.nkb);
      Value lo = kb.select(isColumn, kb.idx(0), geo.nkb);
      Value hi = kb.select(isColumn, geo.nkb, geo.entries);
      Value mine = kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(scoreBase, e));
      Value rank = kb.forRangeCarry(
          lo, hi, kb.idx(1), {kb.idx(0)}, [&](Value o, ValueRange acc) {
            Value other =
                kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(scoreBase, o));
            Value beats =
                kb.orI(kb.fcmp(arith::CmpFPredicate::OGT, other, mine),
                       kb.andI(kb.fcmp(arith::CmpFPredicate::OEQ, other, mine),
                               kb.lt(o, e)));
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
                Value score = toF64(
                    kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(scoreBase, e)));
                Value cum = arith::AddFOp::create(b, loc, s[1], score);
                Value done = arith::CmpFOp::create(
                    b, loc, arith::CmpFPredicate::OGE, cum, alpha);
                return SmallVector<Value>{kb.add(s[0], kb.idx(1)), cum, done};
              });
        });
      }
    });
  });
  kb.endFunction();
  return success();
}

//===----------------------------------------------------------------------===//
// Attention source
//===----------------------------------------------------------------------===//

namespace {

class StripesSource : public KeySource {
public:
  explicit StripesSource(const StripesParams &sp) : sp(sp) {}

  /// Values of the tile that membership tests read; computed once at the
  /// top of enumerate() (so that they dominate every chunk of the tile).
  struct TileValues {
    Value tile;     // the tile they belong to
    Value flagBase; // HeadInts offset of this head's kept flags
    Value nkb, dLo;
    Value width; // window tokens
  };

  TileValues tileValues(KeySourceContext &cx, const TileContext &tile) {
    if (cached.tile == tile.tile)
      return cached;
    KernelBuilder &kb = cx.builder();
    Geometry geo = geometry(kb, sp, tile.seqQ, tile.seqK);
    TileValues v;
    v.tile = tile.tile;
    Value head =
        kb.add(kb.mul(tile.batch, kb.idx(kb.shape().heads)), tile.head);
    v.flagBase = kb.add(kb.mul(head, geo.intsPerHead), geo.flagAt);
    v.nkb = geo.nkb;
    v.dLo = geo.dLo;
    v.width = fractionWindow(kb, sp.windowFraction, sp.block, tile.seqK);
    return v;
  }

  /// Whether key block kbValue is kept for query block qb (i1).
  Value keptBlock(KernelBuilder &kb, const TileValues &v, Value qb,
                  Value kbValue) {
    Value column =
        kb.loadWs(WorkspaceSlot::HeadInts, kb.add(v.flagBase, kbValue));
    Value diagonal = kb.loadWs(
        WorkspaceSlot::HeadInts,
        kb.add(v.flagBase, kb.add(v.nkb, kb.sub(kb.sub(qb, kbValue), v.dLo))));
    return kb.orI(kb.ne(column, kb.idx(0)), kb.ne(diagonal, kb.idx(0)));
  }

  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    cached = TileValues();
    cached = tileValues(cx, tile);
    const TileValues &v = cached;
    Value block = kb.idx(sp.block);
    Value qb = kb.floorDiv(tile.firstPos, block);
    // Keys of the tile's windows: the union of (p - w, p] over its rows.
    Value winLo = kb.add(kb.sub(tile.firstPos, v.width), kb.idx(1));
    Value winHi = kb.add(tile.lastPos, kb.idx(1));
    bool patternBlocks = sp.block == cx.request().block;
    kb.forRange(kb.idx(0), kb.ceilDiv(tile.keyEnd, block), [&](Value kbv) {
      auto visit = [&] {
        Value start = kb.mul(kbv, block);
        Value end = kb.add(start, block);
        Value kept = keptBlock(kb, v, qb, kbv);
        Value lo = kb.select(kept, start, kb.max(start, winLo));
        Value hi = kb.select(kept, end, kb.min(end, winHi));
        kb.ifThen(kb.lt(lo, hi), [&] { cx.visitRange(tile, self, lo, hi); });
      };
      if (patternBlocks)
        kb.ifThen(kb.notI(cx.coveredBefore(tile, self, kbv)), visit);
      else
        visit();
    });
  }

  /// A range inside a kept block, or inside every row's window.
  Value coversRange(KeySourceContext &cx, const TileContext &tile, Value start,
                    Value end) override {
    KernelBuilder &kb = cx.builder();
    TileValues v = tileValues(cx, tile);
    Value block = kb.idx(sp.block);
    Value first = kb.floorDiv(start, block);
    Value inOne = kb.eq(first, kb.floorDiv(kb.sub(end, kb.idx(1)), block));
    Value kept = kb.andI(
        inOne, keptBlock(kb, v, kb.floorDiv(tile.firstPos, block), first));
    return kb.orI(kept, windowCoversRange(kb, tile, v.width, start, end));
  }

  Value contains(KeySourceContext &cx, const TileContext &tile,
                 const RowContext &row, Value j) override {
    KernelBuilder &kb = cx.builder();
    TileValues v = tileValues(cx, tile);
    Value block = kb.idx(sp.block);
    Value qb = kb.floorDiv(row.pos, block);
    Value kept = keptBlock(kb, v, qb, kb.floorDiv(j, block));
    return kb.orI(kept, inTokenWindow(kb, row.pos, j, v.width));
  }

private:
  StripesParams sp;
  TileValues cached;
};

struct StripesModel
    : KeySourcePrimitive::ExternalModel<StripesModel, StripesOp> {
  TileConstraint getTileConstraint(Operation *,
                                   const KernelRequest &req) const {
    return {req.block, false};
  }
  void appendKeySources(Operation *op, const KernelRequest &req,
                        KeySourceList &sources) const {
    sources.push_back(
        std::make_unique<StripesSource>(stripesParams(req, req.indexOf(op))));
  }
};

struct StripesSelection
    : SelectionPrimitive::ExternalModel<StripesSelection, StripesOp> {
  StageAttr planStage(Operation *op, const KernelRequest &, StringRef function,
                      int64_t primitive) const {
    return headsStage(op->getContext(), function, primitive);
  }
  void addWorkspace(Operation *, const KernelRequest &req, StageAttr stage,
                    WorkspaceSizes &slots) const {
    addStripesWorkspace(req, stage, slots);
  }
  LogicalResult emitStage(Operation *, KernelBuilder &kb,
                          const KernelRequest &req, StageAttr stage) const {
    return emitStripesStage(kb, req, stage);
  }
};
} // namespace

void mlir::sattn::registerStripesModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    StripesOp::attachInterface<StripesModel, StripesSelection>(*ctx);
  });
}
