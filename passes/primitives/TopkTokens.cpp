//===- SelectTopkTokens.cpp - Lowering of topk at token granularity -------===//
//
// SparseK (docs/patterns.md, "topk"): causal ∩ (window w tokens ∪ topk k
// tokens by a row-independent key score). Supported here when the other
// primitives are sinks and token windows, so that row i's candidates are the
// keys [s, e_i] with s the longest sink and e_i = p(i) - w for the widest
// window (no window: e_i = p(i)); its selection is the k best of that key
// prefix (score descending, ties toward the smaller index).
//
// Selection stage (grid Heads, 128 threads; the first query head of each KV
// group works for the group): one pass over j = s .. Sk-1-w keeps a heap of
// the k best (score, index) with the worst at its root. A key displaces the
// root only when strictly better, which is the oracle's tie rule. After key
// j the threshold T[j] is the k-th best (score, index) of [s, j], or "take
// all" (-inf, INT32_MAX) while fewer than k keys have been seen; row i keeps
// j iff s <= j <= e_i and (score_j, j) ranks at or above T[e_i]. When the
// pass reaches e_first of a query tile (its first valid row) the heap is
// copied into the tile's list: every key <= e_first that a row of the tile
// keeps is in it, and the tile's remaining candidates are (e_first, e_last].
// The heap pass is sequential (one thread); the block's threads compute the
// linear scores, stage each stretch of scores in shared memory before the
// pass reads them, and copy the heap into the tile lists.
//
// Workspace, per (batch, kv head) bg = b * Hkv + g, cap = min(k, Sk):
//   HeadFloats        [nBG][cap] heap scores; for `linear` scores also
//                     [nBG][Sk] key scores after them (dot(k_j, w[g]), fp32)
//   HeadInts          [nBG][cap] heap key indices
// (the heap parts are used only for k > 4096: smaller heaps live in shared
// memory; the layout does not depend on it)
//   RowThreshold      [nBG][Sk]  T[e] score
//   RowThresholdIndex [nBG][Sk]  T[e] key index
//   ListCount         [nBG][numTiles] keys in the tile's list
//   ListItems         [nBG][numTiles][cap]
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

constexpr int64_t kTakeAllIndex = std::numeric_limits<int32_t>::max();

/// The static part of a supported pattern: the longest sink and the token
/// windows (their union is the widest one).
struct TokenPlan {
  int64_t sink = 0;
  int64_t window = 0;            // widest fixed window
  std::vector<double> fractions; // windows of max(B, round(f Sk)) tokens
};

/// Returns an empty string and fills `plan` when the pattern is supported,
/// else the reason it is not.
std::string planTokens(const KernelRequest &req, int64_t primitive,
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

/// The values both kernels derive from the plan and the call.
struct TokenValues {
  Value sink, window; // s, w
  Value seqQ, seqK, offset;
  Value cap; // min(k, Sk)
  Value firstTile, numTiles;
  Value numBG; // Batch * Hkv
};

TokenValues tokenValues(KernelBuilder &kb, const KernelRequest &req,
                        const TopkParams &tp, const TokenPlan &plan) {
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
  return v;
}

/// The score of key j for (b, g) = bg: the given key score, or the linear
/// score the stage stored in HeadFloats.
Value storedScore(KernelBuilder &kb, const TopkParams &tp, const TokenValues &v,
                  Value bg, Value j) {
  Value at = kb.add(kb.mul(bg, v.seqK), j);
  if (tp.source == ScoreSource::key_score)
    return kb.load(kb.memref(KernelMemref::KeyScores), at);
  return kb.loadWs(WorkspaceSlot::HeadFloats,
                   kb.add(kb.mul(v.numBG, v.cap), at));
}

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
  TopkParams tp = topkParams(req, stage.getPrimitive());
  SizeExpr sk = SizeExpr::seqK();
  SizeExpr nBG = SizeExpr::batch() * req.shape.kvHeads;
  SizeExpr cap = min(SizeExpr(tp.k), sk);
  SizeExpr tiles =
      numQueryBlocks(req.schedule.getTileQ(), BlockOrigin::absolute);
  auto slot = [&](WorkspaceSlot s) -> SizeExpr & { return slots[unsigned(s)]; };
  slot(WorkspaceSlot::HeadFloats) +=
      nBG * cap + (tp.source == ScoreSource::linear ? nBG * sk : SizeExpr(0));
  slot(WorkspaceSlot::HeadInts) += nBG * cap;
  slot(WorkspaceSlot::RowThreshold) += nBG * sk;
  slot(WorkspaceSlot::RowThresholdIndex) += nBG * sk;
  slot(WorkspaceSlot::ListCount) += nBG * tiles;
  slot(WorkspaceSlot::ListItems) += nBG * tiles * cap;
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

  kb.beginFunction(stage.getFunction(), stage.getThreads());
  if (tp.k == 0) {
    kb.endFunction();
    return success();
  }
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f32 = b.getF32Type();
  const int64_t heads = kb.shape().heads, kvHeads = kb.shape().kvHeads;
  const int64_t group = heads / kvHeads;
  const bool linear = tp.source == ScoreSource::linear;
  const int64_t headDim = kb.shape().headDim;
  TokenValues v = tokenValues(kb, req, tp, plan);
  Value kConst = kb.idx(tp.k);

  // Scores of the keys the pass reads next, and the heap size.
  constexpr int64_t kStaged = 1024;
  Value staged = kb.sharedAlloc({kStaged}, f32);
  Value heapSize = kb.sharedAlloc({1}, b.getIndexType());
  // Up to 4096 entries (32 KB) the heap lives in shared memory; the
  // workspace copy is the fallback for larger k.
  const bool sharedHeap = tp.k <= 4096;
  Value heapScores = sharedHeap ? kb.sharedAlloc({tp.k}, f32) : Value();
  Value heapIndices =
      sharedHeap ? kb.sharedAlloc({tp.k}, b.getI32Type()) : Value();

  kb.forEachWorkItem([&](Value item) {
    Value h = kb.floorMod(item, kb.idx(heads));
    Value bb = kb.floorDiv(item, kb.idx(heads));
    Value first = kb.eq(kb.floorMod(h, kb.idx(group)), kb.idx(0));
    // Uniform per block, so every thread reaches the barriers inside.
    kb.ifThen(first, [&] {
      Value g = kb.floorDiv(h, kb.idx(group));
      Value bg = kb.add(kb.mul(bb, kb.idx(kvHeads)), g);
      Value heapBase = kb.mul(bg, v.cap);
      Value rowBase = kb.mul(bg, v.seqK);
      auto heapScore = [&](Value at) {
        if (sharedHeap)
          return kb.load(heapScores, {at});
        return kb.loadWs(WorkspaceSlot::HeadFloats, kb.add(heapBase, at));
      };
      auto heapIndex = [&](Value at) {
        if (sharedHeap)
          return kb.toIndex(kb.load(heapIndices, {at}));
        return kb.loadWs(WorkspaceSlot::HeadInts, kb.add(heapBase, at));
      };
      auto heapStore = [&](Value at, Value sc, Value j) {
        if (sharedHeap) {
          kb.store(sc, heapScores, {at});
          kb.store(kb.toI32(j), heapIndices, {at});
          return;
        }
        kb.storeWs(WorkspaceSlot::HeadFloats, kb.add(heapBase, at), sc);
        kb.storeWs(WorkspaceSlot::HeadInts, kb.add(heapBase, at), j);
      };
      if (linear) {
        // dot(k_j, w[g]) in fp32, in order over d, for every key.
        kb.coopLoop(v.seqK, [&](Value j) {
          Value dot = kb.forRangeCarry(
              kb.idx(0), kb.idx(headDim), kb.idx(1), {kb.f32(0)},
              [&](Value d, ValueRange acc) {
                Value w = kb.load(kb.memref(KernelMemref::Weights),
                                  kb.add(kb.mul(g, kb.idx(headDim)), d));
                Value kv = kb.loadK(bb, g, j, d);
                return SmallVector<Value>{kb.fadd(acc[0], kb.fmul(kv, w))};
              })[0];
          kb.storeWs(WorkspaceSlot::HeadFloats,
                     kb.add(kb.mul(v.numBG, v.cap), kb.add(rowBase, j)), dot);
        });
        kb.barrier();
      }

      // Adds key j of score sc to the heap of `n` entries whose root (the
      // k-th best once full) is (rootScore, rootIndex); returns the new
      // size and root. The root stays in registers between insertions.
      auto push = [&](Value j, Value sc, Value n, Value rootScore,
                      Value rootIndex) -> SmallVector<Value> {
        Value grown = kb.ifThenElse(
            kb.lt(n, kConst), {b.getIndexType()},
            [&] {
              // Sift up from n: parents better than the new key move down.
              Value pos = kb.whileLoop(
                  {n},
                  [&](ValueRange c) {
                    Value parent = kb.floorDiv(
                        kb.max(kb.sub(c[0], kb.idx(1)), kb.idx(0)), kb.idx(2));
                    Value up = rankedBefore(kb, heapScore(parent),
                                            heapIndex(parent), sc, j);
                    return kb.andI(kb.gt(c[0], kb.idx(0)), up);
                  },
                  [&](ValueRange c) {
                    Value parent =
                        kb.floorDiv(kb.sub(c[0], kb.idx(1)), kb.idx(2));
                    heapStore(c[0], heapScore(parent), heapIndex(parent));
                    return SmallVector<Value>{parent};
                  })[0];
              heapStore(pos, sc, j);
              return SmallVector<Value>{kb.add(n, kb.idx(1))};
            },
            [&] {
              Value wins = rankedBefore(kb, sc, j, rootScore, rootIndex);
              kb.ifThen(wins, [&] {
                // Sift down from the root: the worse child moves up while
                // it is worse than the new key.
                Value last = kb.sub(n, kb.idx(1));
                SmallVector<Value> end = kb.whileLoop(
                    {kb.idx(0), kb.boolean(true)},
                    [&](ValueRange c) { return c[1]; },
                    [&](ValueRange c) {
                      Value l = kb.add(kb.mul(c[0], kb.idx(2)), kb.idx(1));
                      Value r = kb.add(l, kb.idx(1));
                      Value lc = kb.min(l, last), rc = kb.min(r, last);
                      Value ls = heapScore(lc), li = heapIndex(lc);
                      Value rs = heapScore(rc), ri = heapIndex(rc);
                      Value takeR = kb.andI(kb.lt(r, n),
                                            rankedBefore(kb, ls, li, rs, ri));
                      Value child = kb.select(takeR, r, l);
                      Value cs = kb.select(takeR, rs, ls);
                      Value ci = kb.select(takeR, ri, li);
                      Value down =
                          kb.andI(kb.lt(l, n), rankedBefore(kb, sc, j, cs, ci));
                      kb.ifThen(down, [&] { heapStore(c[0], cs, ci); });
                      return SmallVector<Value>{kb.select(down, child, c[0]),
                                                down};
                    });
                heapStore(end[0], sc, j);
              });
              return SmallVector<Value>{n};
            })[0];
        // T[j]: the k-th best so far, or take all. The root changed only
        // if the heap did.
        Value full = kb.eq(grown, kConst);
        Value changed = kb.orI(kb.lt(n, kConst),
                               rankedBefore(kb, sc, j, rootScore, rootIndex));
        SmallVector<Value> t = kb.ifThenElse(
            kb.andI(full, changed), {f32, b.getIndexType()},
            [&] {
              return SmallVector<Value>{heapScore(kb.idx(0)),
                                        heapIndex(kb.idx(0))};
            },
            [&] {
              return SmallVector<Value>{rootScore, rootIndex};
            });
        Value takeAll = kb.notI(full);
        // "Take all" is the last place of the ranking: a NaN score (below
        // every number, and -inf) at the largest index, so that every key,
        // NaN-scored ones too, ranks at or above it.
        kb.storeWs(WorkspaceSlot::RowThreshold, kb.add(rowBase, j),
                   kb.select(takeAll, kb.f32(std::nan("")), t[0]));
        kb.storeWs(WorkspaceSlot::RowThresholdIndex, kb.add(rowBase, j),
                   kb.select(takeAll, kb.idx(kTakeAllIndex), t[1]));
        return {grown, t[0], t[1]};
      };
      // Keys [lo, hi) in stretches: the block stages their scores, then one
      // thread pushes them.
      auto pushRange = [&](Value lo, Value hi) {
        kb.forRange(lo, hi, kb.idx(kStaged), [&](Value c0) {
          Value m = kb.min(kb.idx(kStaged), kb.sub(hi, c0));
          kb.coopLoop(m, [&](Value c) {
            kb.store(storedScore(kb, tp, v, bg, kb.add(c0, c)), staged, {c});
          });
          kb.barrier();
          kb.singleThread([&] {
            Value n0 = kb.load(heapSize, {kb.idx(0)});
            // The root, when the heap is full (else unused).
            Value full = kb.eq(n0, kConst);
            Value at = kb.idx(0);
            SmallVector<Value> root = kb.ifThenElse(
                full, {f32, b.getIndexType()},
                [&] {
                  return SmallVector<Value>{heapScore(at), heapIndex(at)};
                },
                [&] {
                  return SmallVector<Value>{kb.negInf(), kb.idx(0)};
                });
            Value n = kb.forRangeCarry(
                kb.idx(0), m, kb.idx(1), {n0, root[0], root[1]},
                [&](Value c, ValueRange st) {
                  return push(kb.add(c0, c), kb.load(staged, {c}), st[0], st[1],
                              st[2]);
                })[0];
            kb.store(n, heapSize, {kb.idx(0)});
          });
          kb.barrier();
        });
      };

      kb.singleThread([&] { kb.store(kb.idx(0), heapSize, {kb.idx(0)}); });
      kb.barrier();
      // Tiles in order of position: advance to each tile's e_first, then
      // copy the heap into the tile's list.
      Value tq = kb.idx(req.schedule.getTileQ());
      Value reached = kb.forRangeCarry(
          kb.idx(0), v.numTiles, kb.idx(1), {v.sink},
          [&](Value t, ValueRange c) {
            Value firstPos = kb.mul(kb.add(v.firstTile, t), tq);
            Value eFirst = kb.sub(kb.max(firstPos, v.offset), v.window);
            Value next = kb.max(c[0], kb.add(eFirst, kb.idx(1)));
            pushRange(c[0], next);
            Value n = kb.load(heapSize, {kb.idx(0)});
            Value list = kb.add(kb.mul(bg, v.numTiles), t);
            Value items = kb.mul(list, v.cap);
            kb.singleThread(
                [&] { kb.storeWs(WorkspaceSlot::ListCount, list, n); });
            kb.coopLoop(n, [&](Value e) {
              kb.storeWs(WorkspaceSlot::ListItems, kb.add(items, e),
                         heapIndex(e));
            });
            // The pass changes the heap next.
            kb.barrier();
            return SmallVector<Value>{next};
          })[0];
      // Thresholds up to the last row's e = Sk - 1 - w.
      pushRange(reached, kb.sub(v.seqK, v.window));
    });
  });
  kb.endFunction();
  (void)loc;
  return success();
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
