//===- Stripes.cpp - Lowering of stripes (SampleAttention) ----------------===//
//
// `stripes` (docs/patterns.md): sampled query rows score key-block columns
// and block diagonals; the cover-alpha prefix of each ranking is kept, plus
// a token window of max(B, round(f Sk)) tokens.
//
// Selection, three stages (StripesStages.cpp), computing what the oracle
// (reference/lib/Oracle.cpp, buildStripes) computes, float64 sums in
// another (fixed) order:
//   1. rows, one work item per (batch, query head, group of sample slots):
//      the fp32 logits scale * dot(q_t, k_j) over C(t), their fp32 max and
//      the float64 sum of exp(l - max) (RowStatistics, LogitTile.h).
//   2. scores, kScoreSplit work items per (batch, query head), each over
//      every kScoreSplit-th key block c: each sampled row's mass in c,
//      sum_{j in c, j in C(t)} exp(l - max) / sum (groups of rows, their
//      logits one product per key chunk), added in row order into the
//      column's raw score and into the row's run's mass in c. A run groups
//      the sampled rows of one query block (Geometry::runs), so diagonal
//      d's raw score is the sum over runs of their mass in block qb - d.
//   3. rank, one work item per (batch, query head): the diagonals' raw
//      scores from the runs' masses (runs in order); totals of both kinds (in
//      index order); fp32 scores raw / total; each entry's rank among its
//      kind (descending, ties to the smaller index, by counting, one thread
//      per entry) gives order[rank] = entry; one thread walks each order,
//      setting kept flags until the float64 cumulative score reaches alpha
//      (nothing is kept when the total is not positive).
//
// Entries: columns c in [0, nkb), nkb = ceil(Sk / B), then diagonals
// d in [dLo, dHi], dHi = floor(p(Sq - 1) / B), dLo = floor(p(0) / B) -
// (nkb - 1), at entry nkb + d - dLo; N entries in all. S = m * rows sample
// slots, m = min(segments, Sq) (slot s * rows + k is row hi_s - rows + k of
// segment s when that row is sampled). With segments >= Sq every segment of
// m holds one row, as every non-empty one of `segments` does: the same
// sampled rows, and a workspace bounded by the call, not the parameter. The
// rows stage has at most kMaxRowItems items per head, each looping over
// groups of slots. Workspace per (batch, head), head = b * Hq + h (rows
// writes the row statistics, scores the column raw scores and the masses,
// rank the rest):
//   HeadFloats [S + N]:        row max [S] | fp32 score [N]
//   HeadInts   [2S + 4N + 4 + 2 nkb R]:
//                              row sum f64 [S] | raw f64 [N] | totals f64
//                              [2] | order [N] | kept flags [N] | mass f64
//                              [nkb][R]
// (float64 values are stored as two i32 words, low word first). R runs:
// min(m * runsPerSegment, number of query blocks). At 128K tokens, B = 128,
// stock parameters: N = 3071, R = 16, 196 KB per head. The mass table grows
// as nkb * R: with small blocks and many sampled rows (B = 16, 4096 rows,
// 128K tokens) it would take ~135 MB per head.
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
#include "passes/primitives/LogitTile.h"
#include "passes/primitives/Models.h"
#include "passes/primitives/SelectionHelpers.h"
#include "passes/primitives/StripesStages.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::stripes;
using ::sattn::WorkspaceSlot;

//===----------------------------------------------------------------------===//
// Workspace
//===----------------------------------------------------------------------===//

static void addStripesWorkspace(const KernelRequest &req, StageAttr stage,
                                WorkspaceSizes &slots) {
  using ::sattn::SizeExpr;
  // The stages share one workspace; it is counted once.
  if (stageOf(stage) != Stage::Rank)
    return;
  Params sp = params(req, stage.getPrimitive());
  const int64_t B = sp.block;
  SizeExpr sq = SizeExpr::seqQ(), sk = SizeExpr::seqK();
  SizeExpr nkb = ceilDiv(sk, B);
  SizeExpr dHi = floorDiv(sk - 1, B);
  SizeExpr dLo = floorDiv(sk - sq, B) - (nkb - 1);
  SizeExpr n = nkb + (dHi - dLo + 1);
  // m = min(segments, Sq) segments of sampled rows (see the header).
  SizeExpr s = min(SizeExpr(sp.segments), sq) * sp.rows;
  SizeExpr runs = min(min(SizeExpr(sp.segments), sq) * sp.runsPerSegment(),
                      dHi - floorDiv(sk - sq, B) + 1);
  SizeExpr heads = SizeExpr::batch() * req.shape.heads;
  slots[unsigned(WorkspaceSlot::HeadFloats)] += heads * (n + s);
  slots[unsigned(WorkspaceSlot::HeadInts)] +=
      heads * (n * 4 + (2 * s + 4) + nkb * runs * 2);
}

//===----------------------------------------------------------------------===//
// Attention source
//===----------------------------------------------------------------------===//

namespace {

class StripesSource : public KeySource {
public:
  explicit StripesSource(const Params &sp) : sp(sp) {}

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
  Params sp;
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
        std::make_unique<StripesSource>(params(req, req.indexOf(op))));
  }
};

struct StripesSelection
    : SelectionPrimitive::ExternalModel<StripesSelection, StripesOp> {
  void planStages(Operation *op, const KernelRequest &req, StringRef function,
                  int64_t primitive, SmallVectorImpl<StageAttr> &stages) const {
    MLIRContext *ctx = op->getContext();
    stages.push_back(headsStage(
        ctx, (function + kRowsSuffix).str(), primitive, kRowsThreads,
        params(req, primitive).rowItems(RowStatistics::groupRows(req))));
    stages.push_back(headsStage(ctx, (function + kScoresSuffix).str(),
                                primitive, kScoresThreads, kScoreSplit));
    stages.push_back(headsStage(ctx, (function + kRankSuffix).str(), primitive,
                                kRankThreads));
  }
  void addWorkspace(Operation *, const KernelRequest &req, StageAttr stage,
                    WorkspaceSizes &slots) const {
    addStripesWorkspace(req, stage, slots);
  }
  LogicalResult emitStage(Operation *, KernelBuilder &kb,
                          const KernelRequest &req, StageAttr stage) const {
    switch (stageOf(stage)) {
    case Stage::Rows:
      return emitRowsStage(kb, req, stage);
    case Stage::Scores:
      return emitScoresStage(kb, req, stage);
    case Stage::Rank:
      return emitRankStage(kb, req, stage);
    }
    llvm_unreachable("unknown stripes stage");
  }
};
} // namespace

void mlir::sattn::registerStripesModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    StripesOp::attachInterface<StripesModel, StripesSelection>(*ctx);
  });
}
