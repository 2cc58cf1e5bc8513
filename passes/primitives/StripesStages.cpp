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
// On the GPU, keys are staged in shared memory ([key][d], rows padded to
// an odd number of 32-bit words so that the threads' reads of one d, a row
// apart, fall into different banks), one chunk of up to chunkKeys() keys
// at a time; on the CPU they are read in place. Each thread computes the
// logits of its keys of a chunk, each an fp32 dot accumulated in order over
// d, as the oracle does. Sums that the oracle adds in key order are added
// by the item's first thread from a shared buffer in the same order, so the
// float64 values follow the oracle's order of addition.
//
//===----------------------------------------------------------------------===//

#include "passes/primitives/StripesStages.h"
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

int64_t Params::rowItems() const {
  return std::min(kMaxRowItems, std::min(segments, kMaxRowItems) *
                                    std::min(rows, kMaxRowItems));
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

/// float64 values in the i32 workspace: two words at `offset` (elements of
/// HeadInts).
Value loadF64(KernelBuilder &kb, Value offset) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Value mem = kb.memref(::sattn::KernelMemref::WorkspaceI32);
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
  Value mem = kb.memref(::sattn::KernelMemref::WorkspaceI32);
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

Value toF64(KernelBuilder &kb, Value v) {
  return arith::ExtFOp::create(kb.b(), kb.loc(), kb.b().getF64Type(), v);
}

/// The (batch, head) of a work item, its kv head and its workspace bases.
struct ItemHead {
  Value head, bb, h, g, fBase, iBase;
};

ItemHead itemHead(KernelBuilder &kb, const Geometry &geo, Value head) {
  const int64_t heads = kb.shape().heads;
  const int64_t group = heads / kb.shape().kvHeads;
  ItemHead r;
  r.head = head;
  r.h = kb.floorMod(head, kb.idx(heads));
  r.bb = kb.floorDiv(head, kb.idx(heads));
  r.g = kb.floorDiv(r.h, kb.idx(group));
  r.fBase = kb.mul(head, geo.floatsPerHead);
  r.iBase = kb.mul(head, geo.intsPerHead);
  return r;
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

/// Keys staged per chunk: up to 32 KB of them in the element type, at most
/// 256.
int64_t chunkKeys(KernelBuilder &kb) {
  int64_t bytes = kb.elementType().getIntOrFloatBitWidth() / 8;
  return std::min<int64_t>(256, 32768 / (kb.shape().headDim * bytes));
}

/// A sampled row's logits, chunk by chunk. On the GPU, q_t (f32 [D]) and a
/// chunk of keys ([chunk][D + pad] in the element type, values exact) are
/// staged in shared memory, so that a warp's loads are coalesced; on the
/// CPU, where an item's threads are one loop, staging would only copy, and
/// the keys are read where they are (the plan's choice, as the attention
/// layout is). Either way each logit is the same fp32 dot.
class LogitTile {
public:
  LogitTile(KernelBuilder &kb, const KernelRequest &req)
      : kb(kb), staged(req.isGpu()), chunk(chunkKeys(kb)) {
    Type elem = kb.elementType();
    int64_t bytes = elem.getIntOrFloatBitWidth() / 8;
    q = kb.sharedAlloc({kb.shape().headDim}, kb.b().getF32Type());
    if (!staged)
      return;
    // Rows of an odd number of words: the threads' reads of one d (a row
    // apart) go to different banks.
    int64_t stride = kb.shape().headDim + std::max<int64_t>(1, 4 / bytes);
    keys = kb.sharedAlloc({chunk, stride}, elem);
  }

  int64_t chunkSize() const { return chunk; }

  /// q_t into shared memory; ends with a barrier.
  void stageQuery(const ItemHead &ih, Value t) {
    kb.coopLoop(kb.idx(kb.shape().headDim), [&](Value d) {
      kb.store(kb.loadQ(ih.bb, ih.h, t, d), q, {d});
    });
    kb.barrier();
  }

  /// Keys [j0, j0 + count) into shared memory (GPU), consecutive threads
  /// reading consecutive d; ends with a barrier.
  void stageKeys(const ItemHead &ih, Value j0, Value count) {
    if (!staged)
      return;
    Value dim = kb.idx(kb.shape().headDim);
    // x >= 0: unsigned division (a shift and a mask for the supported head
    // dims, powers of two) rather than floor division.
    kb.coopLoop(kb.mul(count, dim), [&](Value x) {
      Value jj = arith::DivUIOp::create(kb.b(), kb.loc(), x, dim);
      Value d = arith::RemUIOp::create(kb.b(), kb.loc(), x, dim);
      Value v = kb.loadK(ih.bb, ih.g, kb.add(j0, jj), d);
      if (kb.elementType() != v.getType())
        v = arith::TruncFOp::create(kb.b(), kb.loc(), kb.elementType(), v);
      kb.store(v, keys, {jj, d});
    });
    kb.barrier();
  }

  /// The fp32 logit scale * dot(q_t, k_j), j = j0 + jj (key jj of the chunk
  /// staged at j0), accumulated in order over d.
  Value logit(const ItemHead &ih, Value j0, Value jj) {
    Value j = kb.add(j0, jj);
    Value dot =
        kb.forRangeCarry(kb.idx(0), kb.idx(kb.shape().headDim), kb.idx(1),
                         {kb.f32(0)}, [&](Value d, ValueRange acc) {
                           Value k;
                           if (staged) {
                             k = kb.load(keys, {jj, d});
                             if (k.getType() != kb.b().getF32Type())
                               k = arith::ExtFOp::create(
                                   kb.b(), kb.loc(), kb.b().getF32Type(), k);
                           } else {
                             k = kb.loadK(ih.bb, ih.g, j, d);
                           }
                           return SmallVector<Value>{
                               kb.fadd(acc[0], kb.fmul(kb.load(q, {d}), k))};
                         })[0];
    return kb.fmul(kb.f32(kb.shape().effectiveScale()), dot);
  }

private:
  KernelBuilder &kb;
  bool staged;
  int64_t chunk;
  Value q, keys;
};

/// exp(l - mx) in float64 for the fp32 logit l of key jj of the chunk at j0.
Value shiftedExp(KernelBuilder &kb, LogitTile &tile, const ItemHead &ih,
                 Value j0, Value jj, Value mx) {
  Value l = toF64(kb, tile.logit(ih, j0, jj));
  return math::ExpOp::create(kb.b(), kb.loc(),
                             arith::SubFOp::create(kb.b(), kb.loc(), l, mx));
}

/// Thread x's keys of a chunk of `count`: x, x + threads, ...
void forThreadKeys(KernelBuilder &kb, Value count,
                   function_ref<void(Value jj, Value slot)> body) {
  kb.rowLoop(kb.threads(), [&](Value x, Value slot) {
    kb.forRange(x, count, kb.idx(kb.threads()),
                [&](Value jj) { body(jj, slot); });
  });
}

/// Adds `buffer[0..count)` in order to the float64 in `acc[0]` (first
/// thread), then a barrier.
void addInOrder(KernelBuilder &kb, Value acc, Value buffer, Value count) {
  kb.singleThread([&] {
    Value sum = kb.forRangeCarry(
        kb.idx(0), count, kb.idx(1), {kb.load(acc, {kb.idx(0)})},
        [&](Value jj, ValueRange s) {
          return SmallVector<Value>{arith::AddFOp::create(
              kb.b(), kb.loc(), s[0], kb.load(buffer, {jj}))};
        })[0];
    kb.store(sum, acc, {kb.idx(0)});
  });
  kb.barrier();
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
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  Geometry geo = geometry(kb, sp, kb.scalar(KernelScalar::SeqQ),
                          kb.scalar(KernelScalar::SeqK));
  LogitTile tile(kb, req);
  const int64_t threads = kb.threads();
  Value chunk = kb.idx(tile.chunkSize());
  Value exps = kb.sharedAlloc({tile.chunkSize()}, f64);
  Value maxima = kb.sharedAlloc({threads}, f32);
  Value sum = kb.sharedAlloc({1}, f64);
  Value rowMax = kb.privateScalar(f32);

  const int64_t items = sp.rowItems();
  kb.forEachWorkItem([&](Value item) {
    ItemHead ih = itemHead(kb, geo, kb.floorDiv(item, kb.idx(items)));
    kb.forRange(
        kb.floorMod(item, kb.idx(items)), geo.slots, kb.idx(items),
        [&](Value n) {
          Sampled r = sampledRow(kb, req, sp, n);
          kb.ifThen(r.active, [&] {
            tile.stageQuery(ih, r.t);
            // fp32 max: each thread over its keys, then over the threads.
            kb.rowLoop(threads, [&](Value, Value slot) {
              kb.store(kb.negInf(), rowMax, {slot, kb.idx(0)});
            });
            kb.forRange(kb.idx(0), r.end, chunk, [&](Value j0) {
              Value count = kb.min(chunk, kb.sub(r.end, j0));
              tile.stageKeys(ih, j0, count);
              forThreadKeys(kb, count, [&](Value jj, Value slot) {
                Value m = kb.load(rowMax, {slot, kb.idx(0)});
                kb.store(kb.fmax(m, tile.logit(ih, j0, jj)), rowMax,
                         {slot, kb.idx(0)});
              });
              kb.barrier();
            });
            kb.rowLoop(threads, [&](Value x, Value slot) {
              kb.store(kb.load(rowMax, {slot, kb.idx(0)}), maxima, {x});
            });
            kb.barrier();
            Value mx =
                kb.forRangeCarry(kb.idx(0), kb.idx(threads), kb.idx(1),
                                 {kb.negInf()}, [&](Value x, ValueRange acc) {
                                   return SmallVector<Value>{
                                       kb.fmax(acc[0], kb.load(maxima, {x}))};
                                 })[0];
            Value mx64 = toF64(kb, mx);
            // float64 sum of exp(l - max) in key order.
            kb.singleThread(
                [&] { kb.store(f64Const(kb, 0), sum, {kb.idx(0)}); });
            kb.forRange(kb.idx(0), r.end, chunk, [&](Value j0) {
              Value count = kb.min(chunk, kb.sub(r.end, j0));
              tile.stageKeys(ih, j0, count);
              forThreadKeys(kb, count, [&](Value jj, Value) {
                Value e = shiftedExp(kb, tile, ih, j0, jj, mx64);
                kb.store(e, exps, {jj});
              });
              kb.barrier();
              addInOrder(kb, sum, exps, count);
            });
            kb.singleThread([&] {
              kb.storeWs(WorkspaceSlot::HeadFloats, kb.add(ih.fBase, n), mx);
              storeF64(kb, kb.add(ih.iBase, kb.mul(n, kb.idx(2))),
                       kb.load(sum, {kb.idx(0)}));
            });
          });
          kb.barrier();
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
    ItemHead ih = itemHead(kb, geo, kb.floorDiv(item, split));
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
                        forThreadKeys(kb, count, [&](Value jj, Value) {
                          Value pr = shiftedExp(kb, tile, ih, j0, jj, mx);
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
    ItemHead ih = itemHead(kb, geo, item);
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
