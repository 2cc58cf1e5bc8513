//===- RowTile.cpp - One thread (or loop iteration) per query row ---------===//
//
// The CPU's attention tile, also used on the GPU for shapes the tensor-core
// tile does not take. Each row keeps its running max, sum and an f32
// accumulator in per-row buffers; a chunk's key indices, then its K and V
// rows (as f32), are staged in shared memory with coalesced loads; each row
// computes its scores with one linalg.matvec and accumulates P·V with one
// linalg.vecmat on the staged tile.
//
//===----------------------------------------------------------------------===//

#include "passes/AttentionEmitter.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

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

class RowTile : public TileComputer {
public:
  explicit RowTile(AttentionEmitter &em)
      : TileComputer(em), em(em), kb(em.builder()),
        rows(em.request().schedule.getTileQ()), chunk(em.plan().chunkKeys),
        d(kb.shape().headDim) {}

  void allocate() override {
    Type f32 = kb.b().getF32Type();
    rowMax = kb.privateScalar(f32);
    rowSum = kb.privateScalar(f32);
    acc = kb.privateAlloc({d}, f32);
    qRow = kb.privateAlloc({d}, f32);
    scores = kb.privateAlloc({chunk}, f32);
    keyTile = kb.sharedAlloc({chunk, d}, f32);
    valueTile = kb.sharedAlloc({chunk, d}, f32);
    keyIndex = kb.sharedAlloc({chunk}, kb.b().getIndexType());
  }

  /// Calls body(row, slot) for the tile's valid rows.
  void forValidRows(const TileContext &tile,
                    function_ref<void(Value i, Value slot)> body) {
    kb.rowLoop(rows, [&](Value r, Value slot) {
      Value i = kb.add(tile.firstRow, r);
      Value valid = kb.andI(kb.ge(i, kb.idx(0)), kb.lt(i, tile.seqQ));
      kb.ifThen(valid, [&] { body(i, slot); });
    });
  }

  void beginTile(const TileContext &tile) override {
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

  void processChunk(const TileContext &tile, unsigned sourceIndex,
                    function_ref<Value(Value)> keyAt, Value count,
                    Value needsMask) override {
    OpBuilder &b = kb.b();
    Location loc = kb.loc();
    Type f32 = b.getF32Type();
    // Key indices of the chunk; -1 marks an empty slot.
    kb.coopLoop(kb.idx(chunk), [&](Value c) {
      Value j = kb.ifThenElse(
          kb.lt(c, count), {b.getIndexType()},
          [&] { return SmallVector<Value>{keyAt(c)}; },
          [&] { return SmallVector<Value>{kb.idx(-1)}; })[0];
      kb.store(j, keyIndex, {c});
    });
    kb.barrier();
    // K and V rows, converted to f32; consecutive threads read consecutive
    // elements of a row.
    kb.coopLoop(kb.idx(chunk * d), [&](Value e) {
      Value c = kb.floorDiv(e, kb.idx(d));
      Value dd = kb.floorMod(e, kb.idx(d));
      Value j = kb.load(keyIndex, {c});
      Value ok = kb.andI(kb.ge(j, kb.idx(0)), kb.lt(j, tile.seqK));
      SmallVector<Value> kv = kb.ifThenElse(
          ok, {f32, f32},
          [&] {
            return SmallVector<Value>{kb.loadK(tile.batch, tile.kvHead, j, dd),
                                      kb.loadV(tile.batch, tile.kvHead, j, dd)};
          },
          [&] {
            return SmallVector<Value>{kb.f32(0), kb.f32(0)};
          });
      kb.store(kv[0], keyTile, {c, dd});
      kb.store(kv[1], valueTile, {c, dd});
    });
    kb.barrier();
    forValidRows(tile, [&](Value i, Value slot) {
      RowContext row;
      row.row = i;
      row.pos = kb.add(i, tile.offset);
      row.queryBlock = kb.floorDiv(row.pos, em.patternBlock());
      Value s = rowView(b, loc, scores, slot);
      Value q = rowView(b, loc, qRow, slot);
      Value a = rowView(b, loc, acc, slot);
      linalg::FillOp::create(b, loc, ValueRange{kb.f32(0)}, ValueRange{s});
      // s = K · q: one op on the tile.
      linalg::MatvecOp::create(b, loc, ValueRange{keyTile, q}, ValueRange{s});
      // Element masks on partial chunks only.
      kb.ifThen(needsMask, [&] {
        kb.forRange(kb.idx(0), kb.idx(chunk), [&](Value c) {
          Value keep =
              em.elementKept(tile, sourceIndex, row, kb.load(keyIndex, {c}));
          kb.store(kb.select(keep, kb.load(s, {c}), kb.negInf()), s, {c});
        });
      });
      Value chunkMax = kb.forRangeCarry(
          kb.idx(0), kb.idx(chunk), kb.idx(1), {kb.negInf()},
          [&](Value c, ValueRange carried) {
            return SmallVector<Value>{kb.fmax(carried[0], kb.load(s, {c}))};
          })[0];
      Value any = kb.fcmp(arith::CmpFPredicate::OGT, chunkMax, kb.negInf());
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
        // acc += p · V: one op on the tile.
        linalg::VecmatOp::create(b, loc, ValueRange{s, valueTile},
                                 ValueRange{a});
      });
    });
    kb.barrier();
  }

  void endTile(const TileContext &tile) override {
    forValidRows(tile, [&](Value i, Value slot) {
      Value l = kb.load(rowSum, {slot, kb.idx(0)});
      Value m = kb.load(rowMax, {slot, kb.idx(0)});
      Value some = kb.fcmp(arith::CmpFPredicate::OGT, l, kb.f32(0));
      Value inv = kb.select(some, kb.fdiv(kb.f32(1), l), kb.f32(0));
      kb.forRange(kb.idx(0), kb.idx(d), [&](Value dd) {
        kb.storeOut(kb.fmul(kb.load(acc, {slot, dd}), inv), tile.batch,
                    tile.head, i, dd);
      });
      Value lse = kb.select(some, kb.fadd(m, kb.log(l)), kb.negInf());
      kb.storeLse(lse, tile.batch, tile.head, i);
    });
  }

private:
  AttentionEmitter &em;
  KernelBuilder &kb;
  const int64_t rows, chunk, d;
  Value rowMax, rowSum, acc, qRow, scores, keyTile, valueTile, keyIndex;
};

} // namespace

std::unique_ptr<TileComputer>
mlir::sattn::makeRowTile(AttentionEmitter &emitter) {
  return std::make_unique<RowTile>(emitter);
}
