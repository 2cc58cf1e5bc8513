//===- TopkTokenStages.cpp - The selection stages of token top-k ----------===//
//
// TopkTokens.cpp's header says what the stages compute and where they store
// it. Keys are ranked by one unsigned 64-bit key each (rankKey: score
// descending, a NaN below every number, ties to the smaller index), so the
// k-th best of a set is its k-th largest key and "at or above the k-th best"
// is one unsigned comparison.
//
//===----------------------------------------------------------------------===//

#include "passes/primitives/LogitTile.h"
#include "passes/primitives/SelectionHelpers.h"
#include "passes/primitives/TopkTokens.h"

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::topk_tokens;
using ::sattn::KernelMemref;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;

namespace {

/// A work item's share of its KV group's tasks: tasks first, first +
/// stride, ... of group bg = b * Hkv + g.
struct GroupTasks {
  Value bb, g, bg, first, stride;
};

GroupTasks groupTasks(KernelBuilder &kb, Value item) {
  const int64_t heads = kb.shape().heads, kvHeads = kb.shape().kvHeads;
  const int64_t group = heads / kvHeads;
  Value head = kb.floorDiv(item, kb.idx(kStageSplit));
  Value part = kb.floorMod(item, kb.idx(kStageSplit));
  Value h = kb.floorMod(head, kb.idx(heads));
  GroupTasks t;
  t.bb = kb.floorDiv(head, kb.idx(heads));
  t.g = kb.floorDiv(h, kb.idx(group));
  t.bg = kb.add(kb.mul(t.bb, kb.idx(kvHeads)), t.g);
  t.first = kb.add(kb.mul(kb.floorMod(h, kb.idx(group)), kb.idx(kStageSplit)),
                   part);
  t.stride = kb.idx(group * kStageSplit);
  return t;
}

Value uge(KernelBuilder &kb, Value a, Value c) {
  return kb.cmp(arith::CmpIPredicate::uge, a, c);
}
Value ugt(KernelBuilder &kb, Value a, Value c) {
  return kb.cmp(arith::CmpIPredicate::ugt, a, c);
}
Value ule(KernelBuilder &kb, Value a, Value c) {
  return kb.cmp(arith::CmpIPredicate::ule, a, c);
}

/// 64-bit keys in HeadInts (two words, low first).
void storeKey(KernelBuilder &kb, Value offset, Value key) {
  storeF64Ws(kb, WorkspaceSlot::HeadInts, offset,
             arith::BitcastOp::create(kb.b(), kb.loc(), kb.b().getF64Type(),
                                      key));
}
Value loadKey(KernelBuilder &kb, Value offset) {
  return arith::BitcastOp::create(kb.b(), kb.loc(), kb.b().getI64Type(),
                                  loadF64Ws(kb, WorkspaceSlot::HeadInts,
                                            offset));
}

/// A checkpoint's keys: [bg][chunk][tau, omega] in HeadInts.
Value checkpointAt(KernelBuilder &kb, const TokenValues &v, Value bg,
                   Value chunk) {
  return kb.mul(kb.add(kb.mul(bg, v.numChunks), chunk), kb.idx(4));
}

/// A threshold as the attention reads it: the score and index of the key
/// `key`, or "take all" (a NaN at kTakeAllIndex) when `takeAll`. The score
/// is decoded from the key's high word (a -0 comes back as +0 and a NaN as
/// the default NaN, which rank the same).
void storeThreshold(KernelBuilder &kb, Value at, Value key, Value takeAll) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type i32 = b.getI32Type();
  Value high = arith::TruncIOp::create(
      b, loc, i32, arith::ShRUIOp::create(b, loc, key, kb.i64(32)));
  Value low = arith::TruncIOp::create(b, loc, i32, key);
  // High bit set: a number with a clear sign bit (see rankKey).
  Value nonNegative = kb.cmp(arith::CmpIPredicate::slt, high, kb.i32(0));
  Value bits =
      kb.select(nonNegative, arith::AndIOp::create(b, loc, high, kb.i32(INT32_MAX)),
                arith::XOrIOp::create(b, loc, high, kb.i32(-1)));
  Value score = arith::BitcastOp::create(b, loc, b.getF32Type(), bits);
  score = kb.select(kb.eq(high, kb.i32(1)), kb.f32(std::nan("")), score);
  Value index =
      kb.toIndex(arith::XOrIOp::create(b, loc, low, kb.i32(-1)).getResult());
  kb.storeWs(WorkspaceSlot::RowThreshold, at,
             kb.select(takeAll, kb.f32(std::nan("")), score));
  kb.storeWs(WorkspaceSlot::RowThresholdIndex, at,
             kb.select(takeAll, kb.idx(kTakeAllIndex), index));
}

/// Shared buffers of the counting search (allocated once per function).
struct SearchBuffers {
  Value counts;       // [15][threads] i32
  Value totals;       // [15] i32
  Value threadCounts; // private [15] i32
  static SearchBuffers get(KernelBuilder &kb) {
    Type i32 = kb.b().getI32Type();
    return {kb.sharedAlloc({15, kb.threads()}, i32),
            kb.sharedAlloc({15}, i32), kb.privateAlloc({15}, i32)};
  }
};

/// The r-th largest (1 <= r <= n) of n distinct unsigned keys keyAt(i):
/// one hex digit per round, high digit first; each round counts, per
/// thread and then over the threads, the keys at or above the 15
/// candidates that extend the digits found so far. Cooperative; uniform
/// result.
Value rthLargest(KernelBuilder &kb, const SearchBuffers &buf, Value n, Value r,
                 function_ref<Value(Value)> keyAt) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  const int64_t threads = kb.threads();
  Value r32 = kb.toI32(r);
  return kb.forRangeCarry(
      kb.idx(0), kb.idx(16), kb.idx(1), {kb.i64(0)},
      [&](Value round, ValueRange prefix) {
        Value shift = kb.sub(kb.i64(60),
                             kb.mul(arith::IndexCastOp::create(
                                        b, loc, b.getI64Type(), round),
                                    kb.i64(4)));
        auto candidate = [&](int64_t c) {
          return arith::OrIOp::create(
              b, loc, prefix[0],
              arith::ShLIOp::create(b, loc, kb.i64(c), shift));
        };
        SmallVector<Value> candidates;
        for (int64_t c = 1; c <= 15; ++c)
          candidates.push_back(candidate(c));
        kb.rowLoop(threads, [&](Value, Value slot) {
          for (int64_t c = 0; c < 15; ++c)
            kb.store(kb.i32(0), buf.threadCounts, {slot, kb.idx(c)});
        });
        forThreadKeys(kb, n, [&](Value i, Value slot, Value) {
          Value key = keyAt(i);
          for (int64_t c = 0; c < 15; ++c) {
            Value at = kb.idx(c);
            Value more = kb.select(uge(kb, key, candidates[c]), kb.i32(1),
                                   kb.i32(0));
            kb.store(kb.add(kb.load(buf.threadCounts, {slot, at}), more),
                     buf.threadCounts, {slot, at});
          }
        });
        combineOverThreads(
            kb, buf.threadCounts, buf.counts, 15, kb.i32(0),
            [&](Value acc, Value v) { return kb.add(acc, v); },
            [&](Value c, Value total) { kb.store(total, buf.totals, {c}); });
        // Counts fall as the candidate grows: the last one reaching r wins.
        Value digit = kb.i64(0);
        for (int64_t c = 1; c <= 15; ++c)
          digit = kb.select(
              kb.cmp(arith::CmpIPredicate::sge,
                     kb.load(buf.totals, {kb.idx(c - 1)}), r32),
              kb.i64(c), digit);
        kb.barrier();
        return SmallVector<Value>{arith::OrIOp::create(
            b, loc, prefix[0], arith::ShLIOp::create(b, loc, digit, shift))};
      })[0];
}

/// Calls emit(position, j) for the keys j in [lo, hi) with keep(j), in key
/// order, positions from 0: each thread counts a contiguous stretch, then
/// writes its keys after the stretches before it. Returns the number kept
/// (uniform). `segments`: shared [threads] i32.
Value compact(KernelBuilder &kb, Value segments, Value lo, Value hi,
              function_ref<Value(Value j)> keep,
              function_ref<void(Value position, Value j)> emit) {
  const int64_t threads = kb.threads();
  Value length = kb.ceilDiv(kb.max(kb.sub(hi, lo), kb.idx(0)),
                            kb.idx(threads));
  auto stretch = [&](Value x) {
    Value from = kb.min(kb.add(lo, kb.mul(x, length)), hi);
    return std::make_pair(from, kb.min(kb.add(from, length), hi));
  };
  auto inc = [&](Value n, Value j) {
    return kb.add(n, kb.select(keep(j), kb.i32(1), kb.i32(0)));
  };
  kb.rowLoop(threads, [&](Value x, Value) {
    auto [from, to] = stretch(x);
    Value n = kb.forRangeCarry(from, to, kb.idx(1), {kb.i32(0)},
                               [&](Value j, ValueRange acc) {
                                 return SmallVector<Value>{inc(acc[0], j)};
                               })[0];
    kb.store(n, segments, {x});
  });
  kb.barrier();
  auto sumBefore = [&](Value end) {
    return kb.forRangeCarry(kb.idx(0), end, kb.idx(1), {kb.i32(0)},
                            [&](Value y, ValueRange acc) {
                              return SmallVector<Value>{
                                  kb.add(acc[0], kb.load(segments, {y}))};
                            })[0];
  };
  kb.rowLoop(threads, [&](Value x, Value) {
    auto [from, to] = stretch(x);
    kb.forRangeCarry(from, to, kb.idx(1), {sumBefore(x)},
                     [&](Value j, ValueRange at) {
                       Value kept = keep(j);
                       kb.ifThen(kept, [&] { emit(kb.toIndex(at[0]), j); });
                       return SmallVector<Value>{kb.add(
                           at[0], kb.select(kept, kb.i32(1), kb.i32(0)))};
                     });
  });
  Value total = kb.toIndex(sumBefore(kb.idx(threads)));
  kb.barrier();
  return total;
}

//===----------------------------------------------------------------------===//
// linear: dot(k_j, w[g]) for every key
//===----------------------------------------------------------------------===//

void emitLinear(KernelBuilder &kb, const TokenValues &v) {
  const int64_t headDim = kb.shape().headDim;
  const int64_t threads = kb.threads();
  kb.forEachWorkItem([&](Value item) {
    GroupTasks gt = groupTasks(kb, item);
    Value pieces = kb.ceilDiv(v.seqK, kb.idx(threads));
    kb.forRange(gt.first, pieces, gt.stride, [&](Value piece) {
      Value j0 = kb.mul(piece, kb.idx(threads));
      kb.coopLoop(kb.min(kb.idx(threads), kb.sub(v.seqK, j0)), [&](Value i) {
        Value j = kb.add(j0, i);
        // In order over d, as the oracle.
        Value dot = kb.forRangeCarry(
            kb.idx(0), kb.idx(headDim), kb.idx(1), {kb.f32(0)},
            [&](Value d, ValueRange acc) {
              Value w = kb.load(kb.memref(KernelMemref::Weights),
                                kb.add(kb.mul(gt.g, kb.idx(headDim)), d));
              Value kv = kb.loadK(gt.bb, gt.g, j, d);
              return SmallVector<Value>{kb.fadd(acc[0], kb.fmul(kv, w))};
            })[0];
        kb.storeWs(WorkspaceSlot::HeadFloats,
                   kb.add(kb.mul(gt.bg, v.seqK), j), dot);
      });
    });
  });
}

//===----------------------------------------------------------------------===//
// checkpoints: the k-th best of each chunk's key prefix
//===----------------------------------------------------------------------===//

void emitCheckpoints(KernelBuilder &kb, const TopkParams &tp,
                     const TokenValues &v) {
  SearchBuffers buf = SearchBuffers::get(kb);
  Value chunkKeys = kb.idx(kChunkKeys);
  kb.forEachWorkItem([&](Value item) {
    GroupTasks gt = groupTasks(kb, item);
    auto keyAt = [&](Value i) {
      Value j = kb.add(v.sink, i);
      return rankKey(kb, storedScore(kb, tp, v, gt.bg, j), j);
    };
    // Chunk 0's prefix is empty: nothing to find.
    kb.forRange(kb.add(gt.first, kb.idx(1)), v.numChunks, gt.stride,
                [&](Value c) {
                  Value n = kb.mul(c, chunkKeys);
                  Value kept = kb.min(kb.idx(tp.k), n);
                  Type i64 = kb.b().getI64Type();
                  Value tau = kb.ifThenElse(
                      kb.gt(n, kb.idx(tp.k)), {i64},
                      [&] {
                        return SmallVector<Value>{
                            rthLargest(kb, buf, n, kb.idx(tp.k), keyAt)};
                      },
                      [&] { return SmallVector<Value>{kb.i64(0)}; })[0];
                  // The kChunkKeys + 1 worst kept keys lie at or below omega.
                  Value omega = kb.ifThenElse(
                      kb.gt(kept, kb.idx(kChunkKeys + 1)), {i64},
                      [&] {
                        return SmallVector<Value>{
                            rthLargest(kb, buf, n,
                                       kb.sub(kept, kb.idx(kChunkKeys)),
                                       keyAt)};
                      },
                      [&] { return SmallVector<Value>{kb.i64(-1)}; })[0];
                  kb.singleThread([&] {
                    Value at = checkpointAt(kb, v, gt.bg, c);
                    storeKey(kb, at, tau);
                    storeKey(kb, kb.add(at, kb.idx(2)), omega);
                  });
                  kb.barrier();
                });
  });
}

//===----------------------------------------------------------------------===//
// chunks: the thresholds T[e] of each chunk's keys, in order
//===----------------------------------------------------------------------===//

void emitChunks(KernelBuilder &kb, const TopkParams &tp, const TokenValues &v) {
  Type i64 = kb.b().getI64Type();
  const int64_t heapCapacity = 2 * kChunkKeys + 2;
  Value heap = kb.sharedAlloc({heapCapacity}, i64);
  Value worst = kb.sharedAlloc({kChunkKeys + 1}, i64);
  Value staged = kb.sharedAlloc({kChunkKeys}, i64);
  Value segments = kb.sharedAlloc({kb.threads()}, kb.b().getI32Type());
  Value kConst = kb.idx(tp.k);
  kb.forEachWorkItem([&](Value item) {
    GroupTasks gt = groupTasks(kb, item);
    auto keyOf = [&](Value j) {
      return rankKey(kb, storedScore(kb, tp, v, gt.bg, j), j);
    };
    kb.forRange(gt.first, v.numChunks, gt.stride, [&](Value c) {
      Value n = kb.mul(c, kb.idx(kChunkKeys));
      Value base = kb.add(v.sink, n);
      Value hi = kb.min(kb.add(base, kb.idx(kChunkKeys)), v.keyEnd);
      Value kept = kb.min(kConst, n);
      // The prefix's kept keys are those at or above tau; the heap starts
      // with the kChunkKeys + 1 worst of them (at or below omega), worst
      // first: every kept key outside the heap ranks above every key in
      // it, so the heap's root stays the k-th best while the chunk's
      // kChunkKeys keys evict at most kChunkKeys of them.
      Value at = checkpointAt(kb, v, gt.bg, c);
      Value first = kb.eq(c, kb.idx(0));
      Value tau = kb.select(kb.orI(first, kb.le(n, kConst)), kb.i64(0),
                            loadKey(kb, kb.select(first, kb.idx(0), at)));
      Value omega = kb.select(kb.orI(first, kb.le(kept, kb.idx(kChunkKeys + 1))),
                              kb.i64(-1),
                              loadKey(kb, kb.add(kb.select(first, kb.idx(0), at),
                                                 kb.idx(2))));
      Value heapSize = compact(
          kb, segments, v.sink, base,
          [&](Value j) {
            Value key = keyOf(j);
            return kb.andI(uge(kb, key, tau), ule(kb, key, omega));
          },
          [&](Value position, Value j) {
            kb.ifThen(kb.lt(position, kb.idx(kChunkKeys + 1)),
                      [&] { kb.store(keyOf(j), worst, {position}); });
          });
      heapSize = kb.min(heapSize, kb.idx(kChunkKeys + 1));
      // Sorted ascending, a valid heap with the worst at the root.
      kb.coopLoop(heapSize, [&](Value i) {
        Value key = kb.load(worst, {i});
        Value rank = kb.forRangeCarry(
            kb.idx(0), heapSize, kb.idx(1), {kb.idx(0)},
            [&](Value y, ValueRange acc) {
              return SmallVector<Value>{
                  kb.add(acc[0], kb.select(ugt(kb, key, kb.load(worst, {y})),
                                           kb.idx(1), kb.idx(0)))};
            })[0];
        kb.store(key, heap, {rank});
      });
      kb.coopLoop(kb.sub(hi, base), [&](Value i) {
        kb.store(keyOf(kb.add(base, i)), staged, {i});
      });
      kb.barrier();
      kb.singleThread([&] {
        Value rowBase = kb.mul(gt.bg, v.seqK);
        kb.forRangeCarry(
            kb.idx(0), kb.sub(hi, base), kb.idx(1), {kept, heapSize},
            [&](Value i, ValueRange st) {
              Value x = kb.load(staged, {i});
              Value total = st[0], size = st[1];
              Value grows = kb.lt(total, kConst);
              kb.ifThen(grows, [&] {
                // Sift up from `size`: parents worse than x move down.
                Value pos = kb.whileLoop(
                    {size},
                    [&](ValueRange p) {
                      Value parent = kb.floorDiv(
                          kb.max(kb.sub(p[0], kb.idx(1)), kb.idx(0)),
                          kb.idx(2));
                      return kb.andI(kb.gt(p[0], kb.idx(0)),
                                     ugt(kb, kb.load(heap, {parent}), x));
                    },
                    [&](ValueRange p) {
                      Value parent =
                          kb.floorDiv(kb.sub(p[0], kb.idx(1)), kb.idx(2));
                      kb.store(kb.load(heap, {parent}), heap, {p[0]});
                      return SmallVector<Value>{parent};
                    })[0];
                kb.store(x, heap, {pos});
              });
              Value evicts = kb.andI(kb.notI(grows),
                                     ugt(kb, x, kb.load(heap, {kb.idx(0)})));
              kb.ifThen(evicts, [&] {
                // Sift down from the root: the worse child moves up while
                // it is worse than x.
                SmallVector<Value> end = kb.whileLoop(
                    {kb.idx(0), kb.boolean(true)},
                    [&](ValueRange p) { return p[1]; },
                    [&](ValueRange p) {
                      Value l = kb.add(kb.mul(p[0], kb.idx(2)), kb.idx(1));
                      Value r = kb.add(l, kb.idx(1));
                      Value last = kb.sub(size, kb.idx(1));
                      Value lk = kb.load(heap, {kb.min(l, last)});
                      Value rk = kb.load(heap, {kb.min(r, last)});
                      Value takeR = kb.andI(kb.lt(r, size), ugt(kb, lk, rk));
                      Value child = kb.select(takeR, r, l);
                      Value ck = kb.select(takeR, rk, lk);
                      Value down = kb.andI(kb.lt(l, size), ugt(kb, x, ck));
                      kb.ifThen(down, [&] { kb.store(ck, heap, {p[0]}); });
                      return SmallVector<Value>{kb.select(down, child, p[0]),
                                                down};
                    });
                kb.store(x, heap, {end[0]});
              });
              Value one = kb.idx(1);
              Value nextTotal = kb.select(grows, kb.add(total, one), total);
              Value nextSize = kb.select(grows, kb.add(size, one), size);
              storeThreshold(kb, kb.add(rowBase, kb.add(base, i)),
                             kb.load(heap, {kb.idx(0)}),
                             kb.lt(nextTotal, kConst));
              return SmallVector<Value>{nextTotal, nextSize};
            });
      });
      kb.barrier();
    });
  });
}

//===----------------------------------------------------------------------===//
// lists: each query tile's keys up to its first row's prefix end
//===----------------------------------------------------------------------===//

void emitLists(KernelBuilder &kb, const KernelRequest &req,
               const TopkParams &tp, const TokenValues &v) {
  Value segments = kb.sharedAlloc({kb.threads()}, kb.b().getI32Type());
  Value tq = kb.idx(req.schedule.getTileQ());
  kb.forEachWorkItem([&](Value item) {
    GroupTasks gt = groupTasks(kb, item);
    kb.forRange(gt.first, v.numTiles, gt.stride, [&](Value t) {
      Value firstPos = kb.mul(kb.add(v.firstTile, t), tq);
      Value eFirst = kb.sub(kb.max(firstPos, v.offset), v.window);
      Value list = kb.add(kb.mul(gt.bg, v.numTiles), t);
      Value items = kb.mul(list, v.cap);
      Value count = kb.ifThenElse(
          kb.ge(eFirst, v.sink), {kb.b().getIndexType()},
          [&] {
            Value at = kb.add(kb.mul(gt.bg, v.seqK), eFirst);
            Value threshold =
                rankKey(kb, kb.loadWs(WorkspaceSlot::RowThreshold, at),
                        kb.loadWs(WorkspaceSlot::RowThresholdIndex, at));
            return SmallVector<Value>{compact(
                kb, segments, v.sink, kb.add(eFirst, kb.idx(1)),
                [&](Value j) {
                  return uge(kb,
                             rankKey(kb, storedScore(kb, tp, v, gt.bg, j), j),
                             threshold);
                },
                [&](Value position, Value j) {
                  kb.ifThen(kb.lt(position, v.cap), [&] {
                    kb.storeWs(WorkspaceSlot::ListItems,
                               kb.add(items, position), j);
                  });
                })};
          },
          [&] { return SmallVector<Value>{kb.idx(0)}; })[0];
      kb.singleThread([&] {
        kb.storeWs(WorkspaceSlot::ListCount, list, kb.min(count, v.cap));
      });
      kb.barrier();
    });
  });
}

} // namespace

LogicalResult topk_tokens::emitStage(KernelBuilder &kb,
                                     const KernelRequest &req,
                                     const TopkParams &tp,
                                     const TokenPlan &plan, StageAttr stage) {
  kb.beginFunction(stage.getFunction(), stage.getThreads());
  if (tp.k > 0) {
    TokenValues v = tokenValues(kb, req, tp, plan);
    switch (stageOf(stage)) {
    case Stage::Linear:
      emitLinear(kb, v);
      break;
    case Stage::Checkpoints:
      emitCheckpoints(kb, tp, v);
      break;
    case Stage::Chunks:
      emitChunks(kb, tp, v);
      break;
    case Stage::Lists:
      emitLists(kb, req, tp, v);
      break;
    }
  }
  kb.endFunction();
  return success();
}
