//===- TileToRows.cpp - sattn-convert-tile-to-rows ------------------------===//
//
// The `row` layout: one thread (on the CPU one loop iteration) per query
// row, each with its running max, sum and f32 accumulator in per-row
// buffers. A chunk's key indices, then its K and V rows (as f32), are staged
// in shared memory with coalesced loads; each row computes its scores with
// one linalg.matvec and accumulates P·V over the staged tile's keys with
// p != 0 (a masked key must not add 0 · Inf). The CPU's tile, and the GPU's
// for tiles tensor cores do not take.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/TileLowering.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNCONVERTTILETOROWS
#include "codegen/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;

namespace {

/// The row `slot` of a [rows, n] buffer as a 1-D memref.
Value rowView(OpBuilder &b, Location loc, Value buffer, Value slot) {
  auto type = cast<MemRefType>(buffer.getType());
  int64_t n = type.getShape()[1];
  SmallVector<OpFoldResult> offsets = {slot, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(n)};
  SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(1)};
  auto resultType = memref::SubViewOp::inferRankReducedResultType(
      {n}, type, offsets, sizes, strides);
  return memref::SubViewOp::create(b, loc, cast<MemRefType>(resultType), buffer,
                                   offsets, sizes, strides);
}

class RowTile : public TileLayoutLowering {
public:
  RowTile(KernelBuilder &kb, int64_t rows, int64_t chunk)
      : TileLayoutLowering(kb), rows(rows), chunk(chunk),
        d(kb.shape().headDim) {}

  void begin(const TileValues &values, Operation *top) override {
    tile = values;
    Type f32 = kb.b().getF32Type();
    {
      OpBuilder::InsertionGuard guard(kb.b());
      kb.b().setInsertionPoint(top);
      rowMax = kb.privateScalar(f32);
      rowSum = kb.privateScalar(f32);
      anyKey = kb.privateScalar(kb.b().getI1Type());
      acc = kb.privateAlloc({d}, f32);
      qRow = kb.privateAlloc({d}, f32);
      scores = kb.privateAlloc({chunk}, f32);
      keyTile = kb.sharedAlloc({chunk, d}, f32);
      valueTile = kb.sharedAlloc({chunk, d}, f32);
      keyIndex = kb.sharedAlloc({chunk}, kb.b().getIndexType());
    }
    Value scale = kb.f32(kb.shape().effectiveScale());
    kb.rowLoop(rows, [&](Value r, Value slot) {
      Value i = kb.add(tile.firstRow, r);
      Value valid = kb.andI(kb.ge(i, kb.idx(0)), kb.lt(i, tile.seqQ));
      kb.store(kb.negInf(), rowMax, {slot, kb.idx(0)});
      kb.store(kb.f32(0), rowSum, {slot, kb.idx(0)});
      kb.forRange(kb.idx(0), kb.idx(d), [&](Value dd) {
        kb.store(kb.f32(0), acc, {slot, dd});
        Value qv = kb.ifThenElse(
            valid, {kb.b().getF32Type()},
            [&] {
              return SmallVector<Value>{
                  kb.fmul(kb.loadQ(tile.batch, tile.head, i, dd), scale)};
            },
            [&] { return SmallVector<Value>{kb.f32(0)}; })[0];
        kb.store(qv, qRow, {slot, dd});
      });
    });
  }

  ChunkValues rangeChunk(Value start, Value count) override {
    stageKeys(count, [&](Value c) { return kb.add(start, c); });
    return {tile::ChunkKind::range, start, count};
  }

  ChunkValues listChunk(Value count,
                        function_ref<Value(Value)> keyOf) override {
    stageKeys(count, keyOf);
    return {tile::ChunkKind::list, Value(), count};
  }

  void copy(const ChunkValues &, tile::Operand operand, Value pred,
            Value /*slot: one*/) override {
    auto body = [&] {
      Value buffer = operand == tile::Operand::keys ? keyTile : valueTile;
      // Rows converted to f32; consecutive threads read consecutive
      // elements of a row.
      kb.coopLoop(kb.idx(chunk * d), [&](Value e) {
        Value c = kb.floorDiv(e, kb.idx(d));
        Value dd = kb.floorMod(e, kb.idx(d));
        Value j = kb.load(keyIndex, {c});
        Value ok = kb.andI(kb.ge(j, kb.idx(0)), kb.lt(j, tile.seqK));
        Value x = kb.ifThenElse(
            ok, {kb.b().getF32Type()},
            [&] {
              return SmallVector<Value>{
                  operand == tile::Operand::keys
                      ? kb.loadK(tile.batch, tile.kvHead, j, dd)
                      : kb.loadV(tile.batch, tile.kvHead, j, dd)};
            },
            [&] { return SmallVector<Value>{kb.f32(0)}; })[0];
        kb.store(x, buffer, {c, dd});
      });
    };
    if (pred)
      kb.ifThen(pred, body);
    else
      body();
  }

  // Copies are synchronous: waiting and releasing are barriers.
  void wait(int64_t) override { kb.barrier(); }
  void release() override { kb.barrier(); }

  SmallVector<Value> qk() override {
    forValidRows([&](const RowContext &, Value slot) {
      OpBuilder &b = kb.b();
      Value s = rowView(b, kb.loc(), scores, slot);
      Value q = rowView(b, kb.loc(), qRow, slot);
      linalg::FillOp::create(b, kb.loc(), ValueRange{kb.f32(0)}, ValueRange{s});
      // s = K · q: one op on the tile.
      linalg::MatvecOp::create(b, kb.loc(), ValueRange{keyTile, q},
                               ValueRange{s});
    });
    return {scores};
  }

  SmallVector<Value> mask(const ChunkValues &, ValueRange, Value needs,
                          KeepFn keep) override {
    forValidRows([&](const RowContext &row, Value slot) {
      Value s = rowView(kb.b(), kb.loc(), scores, slot);
      // Element masks on partial chunks only.
      kb.ifThen(needs, [&] {
        kb.forRange(kb.idx(0), kb.idx(chunk), [&](Value c) {
          Value kept = keep(row, kb.load(keyIndex, {c}));
          kb.store(kb.select(kept, kb.load(s, {c}), kb.negInf()), s, {c});
        });
      });
    });
    return {scores};
  }

  FailureOr<SmallVector<Value>> modify(const ChunkValues &, ValueRange,
                                       ModifyFn fn) override {
    forValidRows([&](const RowContext &row, Value slot) {
      Value s = rowView(kb.b(), kb.loc(), scores, slot);
      // The row's scores are scaled (its queries are). Dropped keys stay
      // -inf; a NaN score goes through (it stays NaN).
      kb.forRange(kb.idx(0), kb.idx(chunk), [&](Value c) {
        Value x = kb.load(s, {c});
        kb.ifThen(kb.fcmp(arith::CmpFPredicate::UNE, x, kb.negInf()), [&] {
          kb.store(fn(row, kb.load(keyIndex, {c}), x), s, {c});
        });
      });
    });
    return SmallVector<Value>{scores};
  }

  SmallVector<Value> softmax(ValueRange) override {
    forValidRows([&](const RowContext &, Value slot) {
      Value s = rowView(kb.b(), kb.loc(), scores, slot);
      Value a = rowView(kb.b(), kb.loc(), acc, slot);
      Value chunkMax = kb.forRangeCarry(
          kb.idx(0), kb.idx(chunk), kb.idx(1), {kb.negInf()},
          [&](Value c, ValueRange carried) {
            return SmallVector<Value>{kb.fmax(carried[0], kb.load(s, {c}))};
          })[0];
      // A chunk with no key for the row changes nothing (and P·V skips it).
      // A NaN max is a NaN score the row keeps: it must reach o and lse.
      Value any = kb.fcmp(arith::CmpFPredicate::UNE, chunkMax, kb.negInf());
      kb.store(any, anyKey, {slot, kb.idx(0)});
      kb.ifThen(any, [&] {
        Value mOld = kb.load(rowMax, {slot, kb.idx(0)});
        Value mNew = kb.fmax(mOld, chunkMax);
        Value alpha = kb.exp(kb.fsub(mOld, mNew));
        Value sum = kb.forRangeCarry(
            kb.idx(0), kb.idx(chunk), kb.idx(1), {kb.f32(0)},
            [&](Value c, ValueRange carried) {
              Value pv = kb.exp(kb.fsub(kb.load(s, {c}), mNew));
              kb.store(pv, s, {c});
              return SmallVector<Value>{kb.fadd(carried[0], pv)};
            })[0];
        Value lOld = kb.load(rowSum, {slot, kb.idx(0)});
        kb.store(kb.fadd(kb.fmul(lOld, alpha), sum), rowSum, {slot, kb.idx(0)});
        kb.store(mNew, rowMax, {slot, kb.idx(0)});
        kb.forRange(kb.idx(0), kb.idx(d), [&](Value dd) {
          kb.store(kb.fmul(kb.load(a, {dd}), alpha), a, {dd});
        });
      });
    });
    return {scores};
  }

  void pv(ValueRange) override {
    forValidRows([&](const RowContext &, Value slot) {
      kb.ifThen(kb.load(anyKey, {slot, kb.idx(0)}), [&] {
        Value s = rowView(kb.b(), kb.loc(), scores, slot);
        Value a = rowView(kb.b(), kb.loc(), acc, slot);
        // acc += p · V over the keys with p != 0: a masked key (p = 0) must
        // not add 0 · v, which is NaN for an infinite v. Each acc[d] still
        // adds its terms in key order.
        kb.forRange(kb.idx(0), kb.idx(chunk), [&](Value c) {
          Value p = kb.load(s, {c});
          kb.ifThen(kb.fcmp(arith::CmpFPredicate::UNE, p, kb.f32(0)), [&] {
            kb.forRange(kb.idx(0), kb.idx(d), [&](Value dd) {
              Value term = kb.fmul(p, kb.load(valueTile, {c, dd}));
              kb.store(kb.fadd(kb.load(a, {dd}), term), a, {dd});
            });
          });
        });
      });
    });
  }

  void store() override {
    forValidRows([&](const RowContext &row, Value slot) {
      Value l = kb.load(rowSum, {slot, kb.idx(0)});
      Value m = kb.load(rowMax, {slot, kb.idx(0)});
      // l = 0: no key; a NaN l must reach o and lse.
      Value some = kb.fcmp(arith::CmpFPredicate::UNE, l, kb.f32(0));
      Value inv = kb.select(some, kb.fdiv(kb.f32(1), l), kb.f32(0));
      kb.forRange(kb.idx(0), kb.idx(d), [&](Value dd) {
        kb.storeOut(kb.fmul(kb.load(acc, {slot, dd}), inv), tile.batch,
                    tile.head, row.row, dd);
      });
      Value lse = kb.select(some, kb.fadd(m, kb.log(l)), kb.negInf());
      kb.storeLse(lse, tile.batch, tile.head, row.row);
    });
  }

private:
  /// Key indices of the chunk in shared memory; -1 marks an empty slot.
  void stageKeys(Value count, function_ref<Value(Value)> keyOf) {
    kb.coopLoop(kb.idx(chunk), [&](Value c) {
      Value j = kb.ifThenElse(
          kb.lt(c, count), {kb.b().getIndexType()},
          [&] { return SmallVector<Value>{keyOf(c)}; },
          [&] { return SmallVector<Value>{kb.idx(-1)}; })[0];
      kb.store(j, keyIndex, {c});
    });
    kb.barrier();
  }

  /// Calls body(row, slot) for the tile's valid rows.
  void forValidRows(function_ref<void(const RowContext &, Value)> body) {
    kb.rowLoop(rows, [&](Value r, Value slot) {
      Value i = kb.add(tile.firstRow, r);
      Value valid = kb.andI(kb.ge(i, kb.idx(0)), kb.lt(i, tile.seqQ));
      kb.ifThen(valid, [&] {
        RowContext row;
        row.row = i;
        row.pos = kb.add(i, tile.offset);
        row.queryBlock = kb.floorDiv(row.pos, kb.idx(tile.block));
        body(row, slot);
      });
    });
  }

  const int64_t rows, chunk, d;
  Value rowMax, rowSum, anyKey, acc, qRow, scores, keyTile, valueTile, keyIndex;
};

struct ConvertTileToRowsPass
    : public mlir::sattn::impl::SattnConvertTileToRowsBase<
          ConvertTileToRowsPass> {
  using SattnConvertTileToRowsBase::SattnConvertTileToRowsBase;

  void runOnOperation() override {
    auto make = [](KernelBuilder &kb, tile::TileType type) {
      return std::unique_ptr<TileLayoutLowering>(
          new RowTile(kb, type.getRows(), type.getChunk()));
    };
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (failed(lowerTileOps(fn, tile::Layout::row, make)) ||
          failed(lowerRowDots(fn, dotsByDepth)))
        return signalPassFailure();
  }
};
} // namespace
