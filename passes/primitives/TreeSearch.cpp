//===- SelectTreeSearch.cpp - Lowering of tree_search (HiP) ---------------===//
//
// tree_search (docs/patterns.md, "tree_search"; oracle: buildTreeSearch).
//
// Selection stage: one work item per (batch, head, query block of Bq local
// rows), item = (b Hq + h) nQ + qb with nQ = ceil(Sq / Bq). With P the last
// position of the block, n = max(0, floor((P + 1 - window - sink) / Bk))
// searchable key blocks and K = k / Bk branches:
//   - n <= K: the list is blocks 0..n-1;
//   - else K branches [floor(c n / K), floor((c + 1) n / K)) are refined in
//     rounds. Round: every branch slot c makes children 2c and 2c + 1 (the
//     halves of a wide branch; a one-block branch is child 2c and 2c + 1 is
//     empty); each child is scored at its centre block (a one-block branch
//     keeps the score it got when it was made); each child is ranked by the
//     children that beat it (higher score, or equal score and smaller start)
//     and the K best move to branch slot = rank. Rounds go on while some
//     branch is wider than one block (a flag in shared memory, written by
//     the ranking phase and read by all threads after a barrier; two flags
//     alternate between rounds so that a reset never races a read).
//   Score of block blk: max over sampled rows r (rows first + r qs of the
//   block) and tokens t of [sink + blk Bk, sink + (blk + 1) Bk) with
//   t <= p(row) of the fp32 dot product q . k; -inf when no pair is
//   allowed. A round first lists each child's representative block (-1
//   when its score is known or it is empty), then scores the listed blocks'
//   tokens kChunkTokens at a time: the tokens are staged in shared memory
//   and one `sattn_tile.dots` gives their dots with the sampled rows (staged
//   once per item in groups of up to kGroupRows rows, restaged per chunk
//   when there are more): on the GPU for f16/bf16 with the `mma_sync`
//   layout (tensor cores; the order of addition is the hardware's, which
//   docs/patterns.md allows to flip near-ties), else in order over d as the
//   oracle does. Each token's max over its rows, then each child's over its
//   tokens, finish the score.
// Workspace: ListCount[item] = number of selected blocks, ListItems[item W +
// w] the selected block indices (unordered): two 16-bit indices per word
// (W = ceil(K / 2), entry c in the low half of word c / 2 when c is even)
// when every block index of the call fits, i.e. n <= 2^16 for the largest
// n = floor((Sk - window - sink) / Bk) (128K tokens at the stock Bk = 2),
// else one per word (W = K). Branch and child arrays live in shared
// memory when they fit (kMaxSharedScratchBytes), else per item in HeadInts
// ([bStart K][bSize K][cStart 2K][cSize 2K][cRep 2K]) and HeadFloats
// ([bScore K][cScore 2K]).
//
// Attention sources, in order: the sink [0, sink), the token window
// (p - window, p], then the selected blocks of the tile's query block
// floor(firstRow / Bq) (tiles divide query blocks), key = sink + blk Bk + o.
//
//===----------------------------------------------------------------------===//

#include "dialect/tile/TileDialect.h"
#include "passes/PrimitiveInterfaces.h"
#include "passes/Schedule.h"
#include "passes/primitives/Models.h"
#include "passes/primitives/SelectionHelpers.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;

namespace {

/// Branch and child arrays fit in shared memory up to this size.
constexpr int64_t kMaxSharedScratchBytes = 32 * 1024;
/// Representative tokens scored by one `sattn_tile.dots`.
constexpr int64_t kChunkTokens = 64;
/// Sampled rows staged at once (the rows of one `sattn_tile.dots`).
constexpr int64_t kGroupRows = 64;
/// Elements of each key chunk staged by one iteration: independent loads
/// in flight before their stores.
constexpr int64_t kStageVector = 8;

/// The bound arguments of a tree_search op.
struct TreeParams {
  int64_t blockQ = 64;
  int64_t blockK = 2;
  int64_t budget = 512; // tokens; K = budget / blockK branches
  int64_t queryStride = 2;
  int64_t sink = 16;
  int64_t window = 256;
};

TreeParams treeParams(const KernelRequest &req, int64_t primitive) {
  auto op = cast<TreeSearchOp>(req.primitives[primitive]);
  return {req.intParam(op.getBlockQ()), req.intParam(op.getBlockK()),
          req.intParam(op.getK()),      req.intParam(op.getQStride()),
          req.intParam(op.getSink()),   req.intParam(op.getWindow())};
}

/// Lists are packed while no block index reaches this (16 bits).
constexpr int64_t kPackedLimit = int64_t(1) << 16;

/// Whether the call's lists hold two 16-bit block indices per word (the
/// header): every index is below floor((Sk - window - sink) / Bk).
Value packedLists(KernelBuilder &kb, const TreeParams &tp, Value seqK) {
  Value most =
      kb.floorDiv(kb.sub(seqK, kb.idx(tp.window + tp.sink)), kb.idx(tp.blockK));
  return kb.le(most, kb.idx(kPackedLimit));
}

/// Words per list: ceil(K / 2) when packed, else K.
Value listWords(KernelBuilder &kb, int64_t k, Value packed) {
  return kb.select(packed, kb.idx((k + 1) / 2), kb.idx(k));
}

/// Block index c of the list whose words start at `base`.
Value listEntry(KernelBuilder &kb, Value packed, Value base, Value c) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Value mem = kb.memref(::sattn::KernelMemref::WorkspaceI32);
  Value start = kb.add(kb.workspaceOffset(WorkspaceSlot::ListItems), base);
  Value word = kb.load(
      mem, kb.add(start, kb.select(packed, kb.floorDiv(c, kb.idx(2)), c)));
  Value shift = kb.toI32(kb.mul(kb.floorMod(c, kb.idx(2)), kb.idx(16)));
  Value half = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, word, shift), kb.i32(0xffff));
  return kb.toIndex(kb.select(packed, half, word));
}

/// Writes the `count` block indices entry(c) of the list whose words start
/// at `base`: cooperatively, one whole word per thread.
void storeList(KernelBuilder &kb, Value packed, Value base, Value count,
               function_ref<Value(Value c)> entry) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type i32 = b.getI32Type();
  Value words = kb.select(packed, kb.ceilDiv(count, kb.idx(2)), count);
  kb.coopLoop(words, [&](Value w) {
    Value word = kb.ifThenElse(
        packed, {i32},
        [&] {
          Value c = kb.mul(w, kb.idx(2));
          Value next = kb.add(c, kb.idx(1));
          Value high = kb.ifThenElse(
              kb.lt(next, count), {i32},
              [&] { return SmallVector<Value>{kb.toI32(entry(next))}; },
              [&] { return SmallVector<Value>{kb.i32(0)}; })[0];
          return SmallVector<Value>{arith::OrIOp::create(
              b, loc, kb.toI32(entry(c)),
              arith::ShLIOp::create(b, loc, high, kb.i32(16)))};
        },
        [&] { return SmallVector<Value>{kb.toI32(entry(w))}; })[0];
    kb.storeWs(WorkspaceSlot::ListItems, kb.add(base, w), word);
  });
}

int64_t branchCount(const TreeParams &tp) { return tp.budget / tp.blockK; }

/// Bytes of one item's branch and child arrays and the children's rank
/// keys (8 K ints, 3 K floats, 2 K 64-bit keys).
bool scratchInShared(int64_t k) { return 60 * k <= kMaxSharedScratchBytes; }

/// An index (or f32) array of one work item: shared memory, or a region of a
/// workspace slot.
struct ItemArray {
  KernelBuilder *kb = nullptr;
  Value shared;
  WorkspaceSlot slot = WorkspaceSlot::HeadInts;
  Value base;
  bool isFloat = false;

  Value load(Value i) const {
    if (shared) {
      Value v = kb->load(shared, {i});
      return isFloat ? v : kb->toIndex(v);
    }
    return kb->loadWs(slot, kb->add(base, i));
  }
  void store(Value i, Value v) const {
    if (shared) {
      kb->store(isFloat ? v : kb->toI32(v), shared, {i});
      return;
    }
    kb->storeWs(slot, kb->add(base, i), v);
  }
};

/// The key blocks selected for the tile's query block. It is the last
/// source, so its membership test only ever sees its own keys.
class TreeSelectedSource : public KeySource {
public:
  explicit TreeSelectedSource(const TreeParams &tp) : tp(tp) {}
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    const int64_t k = branchCount(tp), bk = tp.blockK;
    Value numBlocks = kb.ceilDiv(tile.seqQ, kb.idx(tp.blockQ));
    Value bh = kb.add(kb.mul(tile.batch, kb.idx(kb.shape().heads)), tile.head);
    Value list = kb.add(kb.mul(bh, numBlocks),
                        kb.floorDiv(tile.firstRow, kb.idx(tp.blockQ)));
    Value count = kb.loadWs(WorkspaceSlot::ListCount, list);
    Value packed = packedLists(kb, tp, tile.seqK);
    Value base = kb.mul(list, listWords(kb, k, packed));
    cx.visitKeys(tile, self, kb.mul(count, kb.idx(bk)), [&](Value c) {
      Value slot = bk == 1 ? c : kb.floorDiv(c, kb.idx(bk));
      Value within = bk == 1 ? kb.idx(0) : kb.sub(c, kb.mul(slot, kb.idx(bk)));
      Value blk = listEntry(kb, packed, base, slot);
      return kb.add(kb.add(kb.idx(tp.sink), kb.mul(blk, kb.idx(bk))), within);
    });
  }
  bool visitsOnlyMembers() const override { return true; }
  Value contains(KeySourceContext &cx, const TileContext &, const RowContext &,
                 Value) override {
    return cx.builder().boolean(true);
  }

private:
  TreeParams tp;
};

} // namespace

static void addTreeWorkspace(const KernelRequest &req, StageAttr stage,
                             WorkspaceSizes &slots) {
  TreeParams tp = treeParams(req, stage.getPrimitive());
  const int64_t k = branchCount(tp);
  ::sattn::SizeExpr items = stageItems(req, stage);
  auto slot = [&](WorkspaceSlot s) -> ::sattn::SizeExpr & {
    return slots[unsigned(s)];
  };
  slot(WorkspaceSlot::ListCount) += items;
  // ceil(K / 2) words when packed (packedLists), else K:
  // K - floor(K / 2) * [floor((Sk - window - sink) / Bk) <= 2^16].
  ::sattn::SizeExpr most =
      floorDiv(::sattn::SizeExpr::seqK() - (tp.window + tp.sink), tp.blockK);
  ::sattn::SizeExpr packed = min(1, max(0, kPackedLimit + 1 - most));
  slot(WorkspaceSlot::ListItems) += items * (k - packed * (k / 2));
  if (k > 0 && !scratchInShared(k)) {
    slot(WorkspaceSlot::HeadInts) += items * (8 * k);
    slot(WorkspaceSlot::HeadFloats) += items * (3 * k);
  }
}

/// A child's place in the ranking (rankKey), or below every child with a
/// score when it is empty (the low word still orders the empty ones).
static Value childKey(KernelBuilder &kb, Value score, Value start, Value used) {
  Value low = arith::ExtUIOp::create(
      kb.b(), kb.loc(), kb.b().getI64Type(),
      arith::XOrIOp::create(kb.b(), kb.loc(), kb.toI32(start), kb.i32(-1)));
  return kb.select(used, rankKey(kb, score, start), low);
}

static LogicalResult emitTreeStage(KernelBuilder &kb, const KernelRequest &req,
                                   StageAttr stage) {
  TreeParams tp = treeParams(req, stage.getPrimitive());
  const int64_t k = branchCount(tp);
  const int64_t bq = tp.blockQ, bk = tp.blockK, qs = tp.queryStride;
  const int64_t d = kb.shape().headDim;
  const int64_t heads = kb.shape().heads;
  const int64_t group = heads / kb.shape().kvHeads;
  const int64_t maxSampled = llvm::divideCeil(bq, qs);
  // Staged rows: whole mma row tiles; rows past the sampled ones are zeros
  // and never counted.
  const int64_t groupRows =
      std::min<int64_t>(kGroupRows, llvm::alignTo(maxSampled, 16));
  const bool oneGroup = maxSampled <= groupRows;
  const bool sharedScratch = scratchInShared(k);
  // groupRows is whole 16-row tiles, which mma_sync takes.
  const bool tensorCores = selectionTensorCores(req);
  Type elem = kb.elementType();
  // Row lengths: 16-bit rows of 4 mod 8 words spread mma_sync's fragment
  // loads over the banks; f32 rows of an odd number of words the row
  // layout's reads of one d across consecutive keys.
  const int64_t rowLength = d + (elem.isF32() ? 1 : 8);
  const int64_t scoreLength = kChunkTokens + 8;

  kb.beginFunction(stage.getFunction(), stage.getThreads());
  OpBuilder &b = kb.b();
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  Value seqQ = kb.scalar(KernelScalar::SeqQ);
  Value seqK = kb.scalar(KernelScalar::SeqK);
  Value offset = kb.sub(seqK, seqQ);
  Value numBlocks = kb.ceilDiv(seqQ, kb.idx(bq));

  // Static shared buffers (allocated once per function).
  Value queryTile, keyTile, scoreTile, columnMax, flags, rankKeys;
  Value sh[7];
  if (k > 0) {
    queryTile = kb.sharedAlloc({groupRows, rowLength}, elem);
    keyTile = kb.sharedAlloc({kChunkTokens, rowLength}, elem);
    scoreTile = kb.sharedAlloc({groupRows, scoreLength}, f32);
    columnMax = kb.sharedAlloc({kChunkTokens}, f32);
    flags = kb.sharedAlloc({2}, i32);
    if (sharedScratch) {
      sh[0] = kb.sharedAlloc({k}, i32);     // bStart
      sh[1] = kb.sharedAlloc({k}, i32);     // bSize
      sh[2] = kb.sharedAlloc({k}, f32);     // bScore
      sh[3] = kb.sharedAlloc({2 * k}, i32); // cStart
      sh[4] = kb.sharedAlloc({2 * k}, i32); // cSize
      sh[5] = kb.sharedAlloc({2 * k}, f32); // cScore
      sh[6] = kb.sharedAlloc({2 * k}, i32); // cRep
      rankKeys = kb.sharedAlloc({2 * k}, b.getI64Type());
    }
  }

  kb.forEachWorkItem([&](Value item) {
    Value qb = kb.floorMod(item, numBlocks);
    Value bh = kb.floorDiv(item, numBlocks);
    Value h = kb.floorMod(bh, kb.idx(heads));
    Value bb = kb.floorDiv(bh, kb.idx(heads));
    Value g = kb.floorDiv(h, kb.idx(group));
    Value first = kb.mul(qb, kb.idx(bq));
    Value last = kb.sub(kb.min(seqQ, kb.add(first, kb.idx(bq))), kb.idx(1));
    Value lastPos = kb.add(last, offset);
    Value firstPos = kb.add(first, offset);
    Value n = kb.max(kb.idx(0), kb.floorDiv(kb.sub(kb.add(lastPos, kb.idx(1)),
                                                   kb.idx(tp.window + tp.sink)),
                                            kb.idx(bk)));
    Value packed = packedLists(kb, tp, kb.scalar(KernelScalar::SeqK));
    Value listBase = kb.mul(item, listWords(kb, k, packed));

    if (k == 0) {
      kb.singleThread(
          [&] { kb.storeWs(WorkspaceSlot::ListCount, item, kb.idx(0)); });
      return;
    }

    // n <= K: every searchable block.
    Value few = kb.le(n, kb.idx(k));
    kb.ifThen(few, [&] {
      storeList(kb, packed, listBase, n, [](Value c) { return c; });
      kb.singleThread([&] { kb.storeWs(WorkspaceSlot::ListCount, item, n); });
    });

    // n > K: the search (uniform per item, so barriers are reached by all).
    kb.ifThen(kb.notI(few), [&] {
      ItemArray bStart, bSize, bScore, cStart, cSize, cScore, cRep;
      ItemArray *arrays[7] = {&bStart, &bSize,  &bScore, &cStart,
                              &cSize,  &cScore, &cRep};
      int64_t wsOffsets[7] = {0, k, 0, 2 * k, 4 * k, k, 6 * k};
      for (int a = 0; a < 7; ++a) {
        ItemArray &arr = *arrays[a];
        arr.kb = &kb;
        arr.isFloat = a == 2 || a == 5;
        if (sharedScratch) {
          arr.shared = sh[a];
          continue;
        }
        arr.slot =
            arr.isFloat ? WorkspaceSlot::HeadFloats : WorkspaceSlot::HeadInts;
        arr.base = kb.add(kb.mul(item, kb.idx(arr.isFloat ? 3 * k : 8 * k)),
                          kb.idx(wsOffsets[a]));
      }

      Value numSampled =
          kb.ceilDiv(kb.add(kb.sub(last, first), kb.idx(1)), kb.idx(qs));
      // Sampled rows [r0, r0 + groupRows) into the query tile (zeros past
      // the sampled ones); ends with a barrier.
      auto stageQueries = [&](Value r0) {
        kb.coopLoop(kb.idx(groupRows * d), [&](Value e) {
          Value r = arith::DivUIOp::create(b, kb.loc(), e, kb.idx(d));
          Value dd = arith::RemUIOp::create(b, kb.loc(), e, kb.idx(d));
          Value row = kb.add(r0, r);
          Value v = kb.ifThenElse(
              kb.lt(row, numSampled), {f32},
              [&] {
                Value i = kb.add(first, kb.mul(row, kb.idx(qs)));
                return SmallVector<Value>{kb.loadQ(bb, h, i, dd)};
              },
              [&] { return SmallVector<Value>{kb.f32(0)}; })[0];
          kb.store(narrowTo(kb, elem, v), queryTile, {r, dd});
        });
        kb.barrier();
      };
      if (oneGroup)
        stageQueries(kb.idx(0));

      // Initial branches.
      kb.coopLoop(kb.idx(k), [&](Value c) {
        Value s = kb.floorDiv(kb.mul(c, n), kb.idx(k));
        Value e = kb.floorDiv(kb.mul(kb.add(c, kb.idx(1)), n), kb.idx(k));
        bStart.store(c, s);
        bSize.store(c, kb.sub(e, s));
      });
      kb.barrier();

      // Token x of the round's flat list (child x / Bk, token x % Bk of its
      // representative block), or -1 when the child needs no score.
      const int64_t flatTokens = 2 * k * bk;
      auto tokenOf = [&](Value x) {
        Value child = arith::DivUIOp::create(b, kb.loc(), x, kb.idx(bk));
        Value o = arith::RemUIOp::create(b, kb.loc(), x, kb.idx(bk));
        Value rep = cRep.load(child);
        Value t = kb.add(kb.add(kb.idx(tp.sink), kb.mul(rep, kb.idx(bk))), o);
        return kb.select(kb.ge(rep, kb.idx(0)), t, kb.idx(-1));
      };
      // The scores of the children listed in tokens [x0, x0 + kChunkTokens).
      auto scoreChunk = [&](Value x0) {
        Value count =
            kb.min(kb.idx(kChunkTokens), kb.sub(kb.idx(flatTokens), x0));
        kb.coopLoop(kb.idx(kChunkTokens * d / kStageVector), [&](Value e) {
          Value c =
              arith::DivUIOp::create(b, kb.loc(), e, kb.idx(d / kStageVector));
          Value d0 = kb.mul(
              arith::RemUIOp::create(b, kb.loc(), e, kb.idx(d / kStageVector)),
              kb.idx(kStageVector));
          kb.ifThen(kb.lt(c, count), [&] {
            Value t = tokenOf(kb.add(x0, c));
            kb.ifThen(kb.ge(t, kb.idx(0)), [&] {
              SmallVector<Value> values;
              for (int64_t v = 0; v < kStageVector; ++v)
                values.push_back(kb.loadK(bb, g, t, kb.add(d0, kb.idx(v))));
              for (int64_t v = 0; v < kStageVector; ++v)
                kb.store(narrowTo(kb, elem, values[v]), keyTile,
                         {c, kb.add(d0, kb.idx(v))});
            });
          });
        });
        kb.barrier();
        Value groups =
            oneGroup ? kb.idx(1) : kb.ceilDiv(numSampled, kb.idx(groupRows));
        kb.forRange(kb.idx(0), groups, kb.idx(1), [&](Value gi) {
          Value r0 = kb.mul(gi, kb.idx(groupRows));
          if (!oneGroup)
            stageQueries(r0);
          tile::DotsOp::create(
              b, kb.loc(), queryTile, keyTile, scoreTile, uint64_t(d),
              tensorCores ? tile::Layout::mma_sync : tile::Layout::row);
          // Each token's max over the group's rows that may see it: the
          // sampled rows with p >= t, r >= ceil((t - firstPos) / qs).
          Value rowEnd = kb.min(numSampled, kb.add(r0, kb.idx(groupRows)));
          kb.coopLoop(kb.idx(kChunkTokens), [&](Value c) {
            Value t = kb.ifThenElse(
                kb.lt(c, count), {b.getIndexType()},
                [&] { return SmallVector<Value>{tokenOf(kb.add(x0, c))}; },
                [&] { return SmallVector<Value>{kb.idx(-1)}; })[0];
            Value from =
                kb.max(r0, kb.ceilDiv(kb.sub(t, firstPos), kb.idx(qs)));
            Value m = kb.forRangeCarry(
                from, kb.select(kb.ge(t, kb.idx(0)), rowEnd, from), kb.idx(1),
                {kb.negInf()}, [&](Value r, ValueRange best) {
                  Value sc = kb.load(scoreTile, {kb.sub(r, r0), c});
                  return SmallVector<Value>{kb.fmax(best[0], sc)};
                })[0];
            kb.store(m, columnMax, {c});
          });
          kb.barrier();
          // Each listed child's max over its tokens in the chunk.
          Value c0 = arith::DivUIOp::create(b, kb.loc(), x0, kb.idx(bk));
          Value c1 = kb.ceilDiv(kb.add(x0, count), kb.idx(bk));
          kb.coopLoop(kb.sub(c1, c0), [&](Value ci) {
            Value child = kb.add(c0, ci);
            kb.ifThen(kb.ge(cRep.load(child), kb.idx(0)), [&] {
              Value lo = kb.max(x0, kb.mul(child, kb.idx(bk)));
              Value hi = kb.min(kb.add(x0, count),
                                kb.mul(kb.add(child, kb.idx(1)), kb.idx(bk)));
              Value m = kb.forRangeCarry(
                  lo, hi, kb.idx(1), {cScore.load(child)},
                  [&](Value x, ValueRange best) {
                    Value cm = kb.load(columnMax, {kb.sub(x, x0)});
                    return SmallVector<Value>{kb.fmax(best[0], cm)};
                  })[0];
              cScore.store(child, m);
            });
          });
        });
      };

      Value one = kb.idx(1), two = kb.idx(2);
      kb.whileLoop(
          {kb.idx(0), kb.boolean(true)}, [&](ValueRange v) { return v[1]; },
          [&](ValueRange v) {
            Value round = v[0];
            Value parity = kb.floorMod(round, two);
            kb.singleThread([&] { kb.store(kb.i32(0), flags, {parity}); });
            // Children, their known scores and the blocks to score.
            kb.coopLoop(kb.idx(2 * k), [&](Value x) {
              Value c = kb.floorDiv(x, two);
              Value upper = kb.eq(kb.sub(x, kb.mul(c, two)), one);
              Value s = bStart.load(c), m = bSize.load(c);
              Value wide = kb.gt(m, one);
              Value half = kb.floorDiv(m, two);
              Value start = kb.select(kb.andI(wide, upper), kb.add(s, half), s);
              Value size =
                  kb.select(wide, kb.select(upper, kb.sub(m, half), half),
                            kb.select(upper, kb.idx(0), one));
              cStart.store(x, start);
              cSize.store(x, size);
              Value known = kb.andI(kb.notI(wide), kb.gt(round, kb.idx(0)));
              Value empty = kb.eq(size, kb.idx(0));
              Value scored = kb.notI(kb.orI(empty, known));
              cRep.store(x, kb.select(scored,
                                      kb.add(start, kb.floorDiv(size, two)),
                                      kb.idx(-1)));
              Value score = kb.ifThenElse(
                  known, {f32},
                  [&] { return SmallVector<Value>{bScore.load(c)}; },
                  [&] { return SmallVector<Value>{kb.negInf()}; })[0];
              cScore.store(x, score);
            });
            kb.barrier();
            kb.forRange(kb.idx(0), kb.idx(flatTokens), kb.idx(kChunkTokens),
                        scoreChunk);
            kb.barrier();
            // Keep the K best children: child x goes to branch slot rank(x),
            // the number of children that rank before it. With the child
            // arrays in shared memory each child's order is first folded
            // into one 64-bit key (one load and one compare per pair).
            auto keepRanked = [&](Value x, Value rank) {
              kb.ifThen(kb.lt(rank, kb.idx(k)), [&] {
                Value size = cSize.load(x);
                bStart.store(rank, cStart.load(x));
                bSize.store(rank, size);
                bScore.store(rank, cScore.load(x));
                kb.ifThen(kb.gt(size, one),
                          [&] { kb.store(kb.i32(1), flags, {parity}); });
              });
            };
            if (rankKeys) {
              kb.coopLoop(kb.idx(2 * k), [&](Value x) {
                kb.store(childKey(kb, cScore.load(x), cStart.load(x),
                                  kb.gt(cSize.load(x), kb.idx(0))),
                         rankKeys, {x});
              });
              kb.barrier();
              kb.coopLoop(kb.idx(2 * k), [&](Value x) {
                kb.ifThen(kb.gt(cSize.load(x), kb.idx(0)), [&] {
                  Value key = kb.load(rankKeys, {x});
                  Value rank = kb.forRangeCarry(
                      kb.idx(0), kb.idx(2 * k), one, {kb.idx(0)},
                      [&](Value y, ValueRange cnt) {
                        Value better = kb.cmp(arith::CmpIPredicate::ugt,
                                              kb.load(rankKeys, {y}), key);
                        return SmallVector<Value>{
                            kb.add(cnt[0], kb.select(better, one, kb.idx(0)))};
                      })[0];
                  keepRanked(x, rank);
                });
              });
            } else {
              kb.coopLoop(kb.idx(2 * k), [&](Value x) {
                Value size = cSize.load(x);
                kb.ifThen(kb.gt(size, kb.idx(0)), [&] {
                  Value score = cScore.load(x), start = cStart.load(x);
                  Value rank = kb.forRangeCarry(
                      kb.idx(0), kb.idx(2 * k), one, {kb.idx(0)},
                      [&](Value y, ValueRange cnt) {
                        // A NaN score ranks below every number.
                        Value better = rankedBefore(
                            kb, cScore.load(y), cStart.load(y), score, start);
                        better =
                            kb.andI(better, kb.gt(cSize.load(y), kb.idx(0)));
                        return SmallVector<Value>{
                            kb.add(cnt[0], kb.select(better, one, kb.idx(0)))};
                      })[0];
                  keepRanked(x, rank);
                });
              });
            }
            kb.barrier();
            Value again = kb.ne(kb.load(flags, {parity}), kb.i32(0));
            return SmallVector<Value>{kb.add(round, one), again};
          });

      storeList(kb, packed, listBase, kb.idx(k),
                [&](Value c) { return bStart.load(c); });
      kb.singleThread(
          [&] { kb.storeWs(WorkspaceSlot::ListCount, item, kb.idx(k)); });
      // The next item (CPU) or nothing (GPU) reuses the shared buffers.
      kb.barrier();
    });
  });
  kb.endFunction();
  return success();
}

namespace {
struct TreeSearchModel
    : KeySourcePrimitive::ExternalModel<TreeSearchModel, TreeSearchOp> {
  /// Query blocks follow local indices; tiles divide them.
  TileConstraint getTileConstraint(Operation *op,
                                   const KernelRequest &req) const {
    return {treeParams(req, req.indexOf(op)).blockQ, true};
  }
  /// The sink, the token window, then the selected blocks.
  void appendKeySources(Operation *op, const KernelRequest &req,
                        KeySourceList &sources) const {
    TreeParams tp = treeParams(req, req.indexOf(op));
    if (tp.sink > 0)
      sources.push_back(makeSinkSource(tp.sink));
    if (tp.window > 0)
      sources.push_back(makeTokenWindowSource(tp.window));
    if (branchCount(tp) > 0)
      sources.push_back(std::make_unique<TreeSelectedSource>(tp));
  }
};

struct TreeSearchSelection
    : SelectionPrimitive::ExternalModel<TreeSearchSelection, TreeSearchOp> {
  void planStages(Operation *op, const KernelRequest &req, StringRef function,
                  int64_t primitive, SmallVectorImpl<StageAttr> &stages) const {
    stages.push_back(StageAttr::get(
        op->getContext(), function, primitive, GridKind::query_blocks,
        treeParams(req, primitive).blockQ, BlockOrigin::local, 128, 1));
  }
  void addWorkspace(Operation *, const KernelRequest &req, StageAttr stage,
                    WorkspaceSizes &slots) const {
    addTreeWorkspace(req, stage, slots);
  }
  LogicalResult emitStage(Operation *, KernelBuilder &kb,
                          const KernelRequest &req, StageAttr stage) const {
    return emitTreeStage(kb, req, stage);
  }
};
} // namespace

void mlir::sattn::registerTreeSearchModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    TreeSearchOp::attachInterface<TreeSearchModel, TreeSearchSelection>(*ctx);
  });
}
