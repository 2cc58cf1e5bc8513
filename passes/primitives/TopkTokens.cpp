//===- TopkTokens.cpp - Lowering of topk at token granularity -------------===//
//
// SparseK (docs/patterns.md, "topk"): causal ∩ (window w tokens ∪ topk k
// tokens by a row-independent key score). Supported here when the other
// primitives are sinks and token windows, so that row i's candidates are the
// keys [s, e_i] with s the longest sink and e_i = p(i) - w for the widest
// window (no window: e_i = p(i)); its selection is the k best of that key
// prefix (score descending, a NaN below every number, ties toward the
// smaller index).
//
// T[e] is the k-th best of [s, e], or "take all" (a NaN at INT32_MAX, the
// last place of the ranking) while fewer than k keys are in it; row i keeps
// j iff s <= j <= e_i and j ranks at or above T[e_i]. A query tile's list
// holds the keys of [s, e_first] at or above T[e_first] (e_first: its first
// valid row's): every key <= e_first that a row of the tile keeps; the
// tile's other candidates are (e_first, e_last].
//
// Selection, in stages over (batch, query head) x kStageSplit items, the
// heads of a KV group sharing its tasks (TopkTokenStages.cpp):
//   linear       (`linear` scores only) dot(k_j, w[g]) for every key, in
//                fp32 in order over d;
//   checkpoints  for chunk c of kChunkKeys keys from s, the k-th best key
//                tau_c of its prefix [s, s + c kChunkKeys) and omega_c, the
//                (kChunkKeys + 1)-th worst of the prefix's k best: a
//                counting search over 64-bit rank keys, one hex digit per
//                round;
//   chunks       per chunk, a heap of the prefix's kChunkKeys + 1 worst kept
//                keys (those in [tau_c, omega_c]), worst at the root, then
//                the chunk's keys in order by one thread: T[e] for each;
//   lists        per query tile, its list, compacted in key order.
// Work is n^2 / (2 kChunkKeys) keys per search and n^2 / (2 tileQ) per
// list pass, spread over the grid; the one sequential walk per chunk is
// kChunkKeys keys.
//
// Workspace, per (batch, kv head) bg = b * Hkv + g, cap = min(k, Sk):
//   HeadFloats        [nBG][Sk] key scores (`linear` only)
//   HeadInts          [nBG][ceil(Sk / kChunkKeys)][4] tau and omega (64-bit)
//   RowThreshold      [nBG][Sk]  T[e] score
//   RowThresholdIndex [nBG][Sk]  T[e] key index
//   ListCount         [nBG][numTiles] keys in the tile's list
//   ListItems         [nBG][numTiles][cap]
//
//===----------------------------------------------------------------------===//

#include "passes/primitives/TopkTokens.h"
#include "passes/primitives/SelectionHelpers.h"

#include "passes/Schedule.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelMemref;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;
using namespace mlir::sattn::topk_tokens;

std::string topk_tokens::planTokens(const KernelRequest &req, int64_t primitive,
                                    TokenPlan &plan) {
  TopkParams tp = topkParams(req, primitive);
  if (!req.causal)
    return "topk at token granularity needs a causal pattern";
  if (tp.source == ScoreSource::pooled_qk)
    return "topk at token granularity by pooled_qk";
  if (tp.byCover)
    return "topk at token granularity by cover (alpha)";
  for (auto [n, op] : llvm::enumerate(req.primitives)) {
    if (int64_t(n) == primitive)
      continue;
    if (auto sink = dyn_cast<SinkOp>(op)) {
      plan.sink = std::max(plan.sink, req.intParam(sink.getTokens()));
      continue;
    }
    if (auto window = dyn_cast<WindowOp>(op)) {
      if (window.getUnit() == WindowUnit::tokens) {
        plan.window = std::max(plan.window, req.intParam(window.getSize()));
        continue;
      }
      if (window.getUnit() == WindowUnit::fraction) {
        plan.fractions.push_back(req.floatParam(window.getSize()));
        continue;
      }
    }
    return "topk at token granularity together with primitives other than "
           "sinks and token windows (row candidates must be key prefixes)";
  }
  return "";
}

TokenValues topk_tokens::tokenValues(KernelBuilder &kb,
                                     const KernelRequest &req,
                                     const TopkParams &tp,
                                     const TokenPlan &plan) {
  TokenValues v;
  v.seqQ = kb.scalar(KernelScalar::SeqQ);
  v.seqK = kb.scalar(KernelScalar::SeqK);
  v.offset = kb.sub(v.seqK, v.seqQ);
  v.sink = kb.idx(plan.sink);
  v.window = kb.idx(plan.window);
  for (double f : plan.fractions)
    v.window = kb.max(v.window, fractionWindow(kb, f, req.block, v.seqK));
  v.cap = kb.min(kb.idx(tp.k), v.seqK);
  Value tq = kb.idx(req.schedule.getTileQ());
  v.firstTile = kb.floorDiv(v.offset, tq);
  Value lastTile = kb.floorDiv(kb.sub(kb.add(v.offset, v.seqQ), kb.idx(1)), tq);
  v.numTiles = kb.add(kb.sub(lastTile, v.firstTile), kb.idx(1));
  v.numBG = kb.mul(kb.scalar(KernelScalar::Batch), kb.idx(kb.shape().kvHeads));
  v.keyEnd = kb.sub(v.seqK, v.window);
  v.numChunks = kb.ceilDiv(kb.max(kb.sub(v.keyEnd, v.sink), kb.idx(0)),
                           kb.idx(kChunkKeys));
  return v;
}

Value topk_tokens::storedScore(KernelBuilder &kb, const TopkParams &tp,
                               const TokenValues &v, Value bg, Value j) {
  Value at = kb.add(kb.mul(bg, v.seqK), j);
  if (tp.source == ScoreSource::key_score)
    return kb.load(kb.memref(KernelMemref::KeyScores), at);
  return kb.loadWs(WorkspaceSlot::HeadFloats, at);
}

Stage topk_tokens::stageOf(StageAttr stage) {
  StringRef name = stage.getFunction();
  if (name.ends_with(kLinearSuffix))
    return Stage::Linear;
  if (name.ends_with(kCheckpointsSuffix))
    return Stage::Checkpoints;
  if (name.ends_with(kChunksSuffix))
    return Stage::Chunks;
  return Stage::Lists;
}

namespace {

class TopkTokensSource : public KeySource {
public:
  TopkTokensSource(const TopkParams &tp, TokenPlan plan)
      : tp(tp), plan(std::move(plan)) {}

  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    if (tp.k == 0)
      return;
    KernelBuilder &kb = cx.builder();
    TokenValues v = tokenValues(kb, cx.request(), tp, plan);
    Value bg =
        kb.add(kb.mul(tile.batch, kb.idx(kb.shape().kvHeads)), tile.kvHead);
    Value list = kb.add(kb.mul(bg, v.numTiles), tile.tile);
    Value items = kb.mul(list, v.cap);
    Value count = kb.loadWs(WorkspaceSlot::ListCount, list);
    cx.visitKeys(tile, self, count, [&](Value c) {
      return kb.loadWs(WorkspaceSlot::ListItems, kb.add(items, c));
    });
    // The candidates past the first row's prefix.
    Value eFirst = kb.sub(kb.max(tile.firstPos, v.offset), v.window);
    Value eLast = kb.sub(tile.lastPos, v.window);
    cx.visitRange(tile, self, kb.max(kb.add(eFirst, kb.idx(1)), v.sink),
                  kb.add(eLast, kb.idx(1)));
  }

  Value contains(KeySourceContext &cx, const TileContext &tile,
                 const RowContext &row, Value j) override {
    KernelBuilder &kb = cx.builder();
    if (tp.k == 0)
      return kb.boolean(false);
    TokenValues v = tokenValues(kb, cx.request(), tp, plan);
    Value e = kb.sub(row.pos, v.window);
    Value candidate = kb.andI(kb.ge(j, v.sink), kb.le(j, e));
    return kb.ifThenElse(
        candidate, {kb.b().getI1Type()},
        [&] {
          Value bg = kb.add(kb.mul(tile.batch, kb.idx(kb.shape().kvHeads)),
                            tile.kvHead);
          Value at = kb.add(kb.mul(bg, v.seqK), e);
          Value ts = kb.loadWs(WorkspaceSlot::RowThreshold, at);
          Value ti = kb.loadWs(WorkspaceSlot::RowThresholdIndex, at);
          Value sj = storedScore(kb, tp, v, bg, j);
          // At or above the k-th best: not strictly below it.
          return SmallVector<Value>{kb.notI(rankedBefore(kb, ts, ti, sj, j))};
        },
        [&] { return SmallVector<Value>{kb.boolean(false)}; })[0];
  }

private:
  TopkParams tp;
  TokenPlan plan;
};

} // namespace

void mlir::sattn::addTopkTokenWorkspace(const KernelRequest &req,
                                        StageAttr stage,
                                        WorkspaceSizes &slots) {
  using ::sattn::SizeExpr;
  // The stages share one workspace; it is counted once.
  if (stageOf(stage) != Stage::Lists)
    return;
  TopkParams tp = topkParams(req, stage.getPrimitive());
  SizeExpr sk = SizeExpr::seqK();
  SizeExpr nBG = SizeExpr::batch() * req.shape.kvHeads;
  SizeExpr cap = min(SizeExpr(tp.k), sk);
  SizeExpr tiles =
      numQueryBlocks(req.schedule.getTileQ(), BlockOrigin::absolute);
  auto slot = [&](WorkspaceSlot s) -> SizeExpr & { return slots[unsigned(s)]; };
  if (tp.source == ScoreSource::linear)
    slot(WorkspaceSlot::HeadFloats) += nBG * sk;
  slot(WorkspaceSlot::HeadInts) += nBG * ceilDiv(sk, kChunkKeys) * 4;
  slot(WorkspaceSlot::RowThreshold) += nBG * sk;
  slot(WorkspaceSlot::RowThresholdIndex) += nBG * sk;
  slot(WorkspaceSlot::ListCount) += nBG * tiles;
  slot(WorkspaceSlot::ListItems) += nBG * tiles * cap;
}

void mlir::sattn::planTopkTokenStages(MLIRContext *ctx,
                                      const KernelRequest &req,
                                      StringRef function, int64_t primitive,
                                      SmallVectorImpl<StageAttr> &stages) {
  auto add = [&](StringRef suffix) {
    stages.push_back(headsStage(ctx, (function + suffix).str(), primitive,
                                kStageThreads, kStageSplit));
  };
  if (topkParams(req, primitive).source == ScoreSource::linear)
    add(kLinearSuffix);
  add(kCheckpointsSuffix);
  add(kChunksSuffix);
  add(kListsSuffix);
}

LogicalResult mlir::sattn::emitTopkTokenStage(KernelBuilder &kb,
                                              const KernelRequest &req,
                                              StageAttr stage) {
  TopkParams tp = topkParams(req, stage.getPrimitive());
  TokenPlan plan;
  std::string why = planTokens(req, stage.getPrimitive(), plan);
  if (!why.empty())
    return emitError(kb.loc(), "pattern '")
           << req.pattern.getSymName()
           << "': not supported by the compiler yet: " << why;
  return topk_tokens::emitStage(kb, req, tp, plan, stage);
}

void mlir::sattn::appendTopkTokenSources(const KernelRequest &req,
                                         int64_t primitive,
                                         KeySourceList &sources) {
  TokenPlan plan;
  // An unsupported pattern fails in its selection stage, which runs first.
  (void)planTokens(req, primitive, plan);
  sources.push_back(std::make_unique<TopkTokensSource>(
      topkParams(req, primitive), std::move(plan)));
}
