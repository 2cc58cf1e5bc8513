//===- LogitTile.cpp - Exact selection logits of sampled query rows -------===//

#include "passes/primitives/LogitTile.h"
#include "passes/primitives/SelectionHelpers.h"

#include "dialect/tile/TileDialect.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::WorkspaceSlot;

Value mlir::sattn::loadF64Ws(KernelBuilder &kb, WorkspaceSlot slot,
                             Value offset) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Value mem = kb.memref(::sattn::KernelMemref::WorkspaceI32);
  Value at = kb.add(kb.workspaceOffset(slot), offset);
  Value lo = kb.load(mem, at);
  Value hi = kb.load(mem, kb.add(at, kb.idx(1)));
  Type i64 = b.getI64Type();
  lo = arith::ExtUIOp::create(b, loc, i64, lo);
  hi = arith::ExtUIOp::create(b, loc, i64, hi);
  hi = arith::ShLIOp::create(b, loc, hi, kb.i64(32));
  Value bits = arith::OrIOp::create(b, loc, hi, lo);
  return arith::BitcastOp::create(b, loc, b.getF64Type(), bits);
}

void mlir::sattn::storeF64Ws(KernelBuilder &kb, WorkspaceSlot slot,
                             Value offset, Value value) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Value mem = kb.memref(::sattn::KernelMemref::WorkspaceI32);
  Value at = kb.add(kb.workspaceOffset(slot), offset);
  Type i32 = b.getI32Type();
  Value bits = arith::BitcastOp::create(b, loc, b.getI64Type(), value);
  Value lo = arith::TruncIOp::create(b, loc, i32, bits);
  Value hi = arith::TruncIOp::create(
      b, loc, i32, arith::ShRUIOp::create(b, loc, bits, kb.i64(32)));
  kb.store(lo, mem, at);
  kb.store(hi, mem, kb.add(at, kb.idx(1)));
}

Value mlir::sattn::f64Const(KernelBuilder &kb, double v) {
  return arith::ConstantOp::create(kb.b(), kb.loc(), kb.b().getF64FloatAttr(v));
}

Value mlir::sattn::toF64(KernelBuilder &kb, Value v) {
  return arith::ExtFOp::create(kb.b(), kb.loc(), kb.b().getF64Type(), v);
}

ItemHead mlir::sattn::itemHead(KernelBuilder &kb, Value head,
                               Value floatsPerHead, Value intsPerHead) {
  const int64_t heads = kb.shape().heads;
  const int64_t group = heads / kb.shape().kvHeads;
  ItemHead r;
  r.head = head;
  r.h = kb.floorMod(head, kb.idx(heads));
  r.bb = kb.floorDiv(head, kb.idx(heads));
  r.g = kb.floorDiv(r.h, kb.idx(group));
  r.fBase = kb.mul(head, floatsPerHead);
  r.iBase = kb.mul(head, intsPerHead);
  return r;
}

//===----------------------------------------------------------------------===//
// LogitTile
//===----------------------------------------------------------------------===//

/// Keys staged per chunk: up to 32 KB of them in the element type, at most
/// 256, a multiple of 8 (whole n8 tiles of a product).
static int64_t chunkKeys(Type elem, int64_t headDim) {
  int64_t bytes = elem.getIntOrFloatBitWidth() / 8;
  return std::min<int64_t>(256, 32768 / (headDim * bytes) / 8 * 8);
}

bool LogitTile::takesProduct(const KernelRequest &req) {
  return selectionTensorCores(req);
}

LogitTile::LogitTile(KernelBuilder &kb, const KernelRequest &req, int64_t rows,
                     bool product)
    : kb(kb), staged(req.isGpu()),
      chunk(chunkKeys(kb.elementType(), kb.shape().headDim)), rows(rows) {
  Type elem = kb.elementType();
  int64_t bytes = elem.getIntOrFloatBitWidth() / 8;
  q = kb.sharedAlloc({rows, kb.shape().headDim}, kb.b().getF32Type());
  if (!staged)
    return;
  const int64_t d = kb.shape().headDim;
  if (product && takesProduct(req)) {
    // Rows of 4 mod 8 words: mma_sync's fragment loads in 32 banks.
    keys = kb.sharedAlloc({chunk, d + 8}, elem);
    const int64_t tileRows = llvm::alignTo(rows, 16);
    rowTile = kb.sharedAlloc({tileRows, d + 8}, elem);
    scores = kb.sharedAlloc({tileRows, chunk + 8}, kb.b().getF32Type());
    return;
  }
  // Rows of an odd number of words: the threads' reads of one d (a row
  // apart) go to different banks.
  int64_t stride = d + std::max<int64_t>(1, 4 / bytes);
  keys = kb.sharedAlloc({chunk, stride}, elem);
}

void LogitTile::product() {
  if (!scores)
    return;
  tile::DotsOp::create(kb.b(), kb.loc(), rowTile, keys, scores,
                       uint64_t(kb.shape().headDim), tile::Layout::mma_sync);
}

void LogitTile::stageQuery(const ItemHead &ih, Value t) {
  kb.coopLoop(kb.idx(kb.shape().headDim), [&](Value d) {
    Value v = kb.loadQ(ih.bb, ih.h, t, d);
    kb.store(v, q, {kb.idx(0), d});
    if (rowTile)
      kb.store(narrowTo(kb, kb.elementType(), v), rowTile, {kb.idx(0), d});
  });
  clearPaddingRows();
  kb.barrier();
}

void LogitTile::stageQueries(const ItemHead &ih,
                             function_ref<Value(Value r)> rowOf) {
  Value dim = kb.idx(kb.shape().headDim);
  kb.coopLoop(kb.idx(rows * kb.shape().headDim), [&](Value x) {
    Value r = arith::DivUIOp::create(kb.b(), kb.loc(), x, dim);
    Value d = arith::RemUIOp::create(kb.b(), kb.loc(), x, dim);
    Value v = kb.loadQ(ih.bb, ih.h, rowOf(r), d);
    kb.store(v, q, {r, d});
    if (rowTile)
      kb.store(narrowTo(kb, kb.elementType(), v), rowTile, {r, d});
  });
  clearPaddingRows();
  kb.barrier();
}

void LogitTile::clearPaddingRows() {
  if (!rowTile)
    return;
  const int64_t d = kb.shape().headDim;
  const int64_t padding = cast<MemRefType>(rowTile.getType()).getDimSize(0);
  kb.coopLoop(kb.idx((padding - rows) * d), [&](Value x) {
    Value r = arith::DivUIOp::create(kb.b(), kb.loc(), x, kb.idx(d));
    Value dd = arith::RemUIOp::create(kb.b(), kb.loc(), x, kb.idx(d));
    Value zero = narrowTo(kb, kb.elementType(), kb.f32(0));
    kb.store(zero, rowTile, {kb.add(r, kb.idx(rows)), dd});
  });
}

void LogitTile::stageKeys(const ItemHead &ih, Value j0, Value count) {
  if (!staged)
    return;
  // Eight elements per iteration, their loads before their stores, so that
  // each thread has eight loads in flight; consecutive threads read
  // consecutive elements of a key. x >= 0: unsigned division (a shift and a
  // mask for the supported head dims) rather than floor division.
  const int64_t d = kb.shape().headDim;
  const int64_t vec = d % 8 == 0 ? 8 : 1;
  Value groups = kb.idx(d / vec);
  kb.coopLoop(kb.mul(count, groups), [&](Value x) {
    Value jj = arith::DivUIOp::create(kb.b(), kb.loc(), x, groups);
    Value d0 = kb.mul(arith::RemUIOp::create(kb.b(), kb.loc(), x, groups),
                      kb.idx(vec));
    SmallVector<Value> values;
    for (int64_t v = 0; v < vec; ++v)
      values.push_back(
          kb.loadK(ih.bb, ih.g, kb.add(j0, jj), kb.add(d0, kb.idx(v))));
    for (int64_t v = 0; v < vec; ++v)
      kb.store(narrowTo(kb, kb.elementType(), values[v]), keys,
               {jj, kb.add(d0, kb.idx(v))});
  });
  kb.barrier();
}

/// The logits of the first `count` staged rows: one loop over d carrying a
/// dot per row, each accumulated in order.
static SmallVector<Value> rowLogits(KernelBuilder &kb, bool staged, Value keys,
                                    Value q, int64_t count, const ItemHead &ih,
                                    Value j0, Value jj) {
  Value j = kb.add(j0, jj);
  SmallVector<Value> init(count, kb.f32(0));
  SmallVector<Value> dots = kb.forRangeCarry(
      kb.idx(0), kb.idx(kb.shape().headDim), kb.idx(1), init,
      [&](Value d, ValueRange acc) {
        Value k;
        if (staged) {
          k = kb.load(keys, {jj, d});
          if (k.getType() != kb.b().getF32Type())
            k = arith::ExtFOp::create(kb.b(), kb.loc(), kb.b().getF32Type(), k);
        } else {
          k = kb.loadK(ih.bb, ih.g, j, d);
        }
        SmallVector<Value> next;
        for (int64_t r = 0; r < count; ++r)
          next.push_back(
              kb.fadd(acc[r], kb.fmul(kb.load(q, {kb.idx(r), d}), k)));
        return next;
      });
  Value scale = kb.f32(kb.shape().effectiveScale());
  for (Value &dot : dots)
    dot = kb.fmul(scale, dot);
  return dots;
}

Value LogitTile::logit(const ItemHead &ih, Value j0, Value jj) {
  return rowLogits(kb, staged, keys, q, 1, ih, j0, jj)[0];
}

SmallVector<Value> LogitTile::logits(const ItemHead &ih, Value j0, Value jj) {
  if (!scores)
    return rowLogits(kb, staged, keys, q, rows, ih, j0, jj);
  Value scale = kb.f32(kb.shape().effectiveScale());
  SmallVector<Value> out;
  for (int64_t r = 0; r < rows; ++r)
    out.push_back(kb.fmul(scale, kb.load(scores, {kb.idx(r), jj})));
  return out;
}

Value LogitTile::shiftedExp(const ItemHead &ih, Value j0, Value jj, Value mx) {
  Value l = toF64(kb, logit(ih, j0, jj));
  return math::ExpOp::create(kb.b(), kb.loc(),
                             arith::SubFOp::create(kb.b(), kb.loc(), l, mx));
}

//===----------------------------------------------------------------------===//
// Loops and sums
//===----------------------------------------------------------------------===//

void mlir::sattn::forThreadKeys(
    KernelBuilder &kb, Value count,
    function_ref<void(Value jj, Value slot, Value n)> body) {
  Value threads = kb.idx(kb.threads());
  kb.rowLoop(kb.threads(), [&](Value x, Value slot) {
    kb.forRange(x, count, threads, [&](Value jj) {
      body(jj, slot, arith::DivUIOp::create(kb.b(), kb.loc(), jj, threads));
    });
  });
}

//===----------------------------------------------------------------------===//
// RowStatistics
//===----------------------------------------------------------------------===//

int64_t RowStatistics::groupRows(const KernelRequest &req) {
  // Tensor-core logits cost the same for 1 to 16 rows: 16 rows share each
  // staged key chunk, a quarter of the staging of 4.
  return LogitTile::takesProduct(req) ? 16 : 4;
}

RowStatistics::RowStatistics(KernelBuilder &kb, const KernelRequest &req)
    : kb(kb), rows(groupRows(req)), tile(kb, req, rows, /*product=*/true) {
  Type f32 = kb.b().getF32Type(), f64 = kb.b().getF64Type();
  partialSums = kb.sharedAlloc({rows, kb.threads()}, f64);
  maxima = kb.sharedAlloc({rows, kb.threads()}, f32);
  rowMaxima = kb.sharedAlloc({rows}, f32);
  sums = kb.sharedAlloc({rows}, f64);
  rowMax = kb.privateAlloc({rows}, f32);
  rowSum = kb.privateAlloc({rows}, f64);
}

void RowStatistics::emit(
    const ItemHead &ih, function_ref<GroupRow(Value r)> rowOf,
    function_ref<void(Value r, Value max, Value sum)> store) {
  const int64_t threads = kb.threads();
  Value chunk = kb.idx(tile.chunkSize());
  // Each row's end (0 for an inactive slot) and the group's.
  auto endOf = [&](Value r) {
    GroupRow g = rowOf(r);
    return kb.select(g.active, g.end, kb.idx(0));
  };
  SmallVector<Value> ends;
  Value groupEnd = kb.idx(0);
  for (int64_t r = 0; r < rows; ++r) {
    ends.push_back(endOf(kb.idx(r)));
    groupEnd = kb.max(groupEnd, ends.back());
  }
  tile.stageQueries(ih, [&](Value r) {
    GroupRow g = rowOf(r);
    return kb.select(g.active, g.t, kb.idx(0));
  });

  // fp32 max of each row: each thread over its keys, then over the threads.
  kb.rowLoop(threads, [&](Value, Value slot) {
    for (int64_t r = 0; r < rows; ++r)
      kb.store(kb.negInf(), rowMax, {slot, kb.idx(r)});
  });
  kb.forRange(kb.idx(0), groupEnd, chunk, [&](Value j0) {
    Value count = kb.min(chunk, kb.sub(groupEnd, j0));
    tile.stageKeys(ih, j0, count);
    tile.product();
    forThreadKeys(kb, count, [&](Value jj, Value slot, Value) {
      SmallVector<Value> ls = tile.logits(ih, j0, jj);
      Value j = kb.add(j0, jj);
      for (int64_t r = 0; r < rows; ++r) {
        Value m = kb.load(rowMax, {slot, kb.idx(r)});
        Value kept = kb.lt(j, ends[r]);
        kb.store(kb.select(kept, kb.fmax(m, ls[r]), m), rowMax,
                 {slot, kb.idx(r)});
      }
    });
    kb.barrier();
  });
  combineOverThreads(
      kb, rowMax, maxima, rows, kb.negInf(),
      [&](Value acc, Value v) { return kb.fmax(acc, v); },
      [&](Value r, Value mx) { kb.store(mx, rowMaxima, {r}); });

  // float64 sums of exp(l - max): each thread adds its keys' exponentials
  // over every chunk, then thread r adds row r's partial sums in thread
  // order (one serial sum per row, not one per chunk).
  kb.rowLoop(threads, [&](Value, Value slot) {
    for (int64_t r = 0; r < rows; ++r)
      kb.store(f64Const(kb, 0), rowSum, {slot, kb.idx(r)});
  });
  kb.forRange(kb.idx(0), groupEnd, chunk, [&](Value j0) {
    Value count = kb.min(chunk, kb.sub(groupEnd, j0));
    tile.stageKeys(ih, j0, count);
    tile.product();
    forThreadKeys(kb, count, [&](Value jj, Value slot, Value) {
      SmallVector<Value> ls = tile.logits(ih, j0, jj);
      Value j = kb.add(j0, jj);
      for (int64_t r = 0; r < rows; ++r) {
        Value mx = toF64(kb, kb.load(rowMaxima, {kb.idx(r)}));
        Value e = math::ExpOp::create(
            kb.b(), kb.loc(),
            arith::SubFOp::create(kb.b(), kb.loc(), toF64(kb, ls[r]), mx));
        Value acc = kb.load(rowSum, {slot, kb.idx(r)});
        kb.store(kb.select(kb.lt(j, ends[r]),
                           arith::AddFOp::create(kb.b(), kb.loc(), acc, e),
                           acc),
                 rowSum, {slot, kb.idx(r)});
      }
    });
    kb.barrier();
  });
  combineOverThreads(
      kb, rowSum, partialSums, rows, f64Const(kb, 0),
      [&](Value acc, Value v) {
        return arith::AddFOp::create(kb.b(), kb.loc(), acc, v).getResult();
      },
      [&](Value r, Value sum) { kb.store(sum, sums, {r}); });
  kb.coopLoop(kb.idx(rows), [&](Value r) {
    kb.ifThen(kb.gt(endOf(r), kb.idx(0)),
              [&] { store(r, kb.load(rowMaxima, {r}), kb.load(sums, {r})); });
  });
  kb.barrier();
}
