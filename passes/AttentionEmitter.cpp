//===- AttentionEmitter.cpp - Tiled online-softmax attention --------------===//

#include "passes/AttentionEmitter.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::sattn::lowering;
using ::sattn::KernelScalar;

KeySource::~KeySource() = default;

AttentionEmitter::AttentionEmitter(KernelBuilder &kb,
                                   const ::sattn::PatternSpec &spec,
                                   const ::sattn::KernelSchedule &schedule,
                                   ArrayRef<Operation *> primitiveOps)
    : kb(kb), patternSpec(spec), sched(schedule),
      primOps(primitiveOps.begin(), primitiveOps.end()) {
  for (const ::sattn::Enumerator &en : sched.enumerators) {
    if (en.kind >= ::sattn::EnumeratorKind::Stripes)
      appendDynamicSources(spec, en, sources);
    else
      sources.push_back(makeStaticSource(spec, en, primOps[en.primitive]));
  }
}

AttentionEmitter::~AttentionEmitter() = default;

/// The row `slot` of a [rows, n] buffer as a 1-D memref.
static Value rowView(OpBuilder &b, Location loc, Value buffer, Value slot) {
  auto type = cast<MemRefType>(buffer.getType());
  int64_t n = type.getShape()[1];
  SmallVector<OpFoldResult> offsets = {slot, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(n)};
  SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(1)};
  auto resultType = memref::SubViewOp::inferRankReducedResultType(
      {n}, type, offsets, sizes, strides);
  return memref::SubViewOp::create(b, loc, cast<MemRefType>(resultType),
                                   buffer, offsets, sizes, strides);
}

LogicalResult AttentionEmitter::emit(Operation *container) {
  const int64_t tq = sched.tileQ, tk = sched.tileK;
  const int64_t d = kb.shape().headDim;
  kb.beginFunction(container, sched.attentionFunction, tq);
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f32 = b.getF32Type();
  rowMax = kb.privateScalar(f32);
  rowSum = kb.privateScalar(f32);
  acc = kb.privateAlloc({d}, f32);
  qRow = kb.privateAlloc({d}, f32);
  scores = kb.privateAlloc({tk}, f32);
  keyTile = kb.sharedAlloc({tk, d}, f32);
  valueTile = kb.sharedAlloc({tk, d}, f32);
  keyIndex = kb.sharedAlloc({tk}, b.getIndexType());

  Value seqQ = kb.scalar(KernelScalar::SeqQ);
  Value seqK = kb.scalar(KernelScalar::SeqK);
  Value offset = kb.sub(seqK, seqQ);
  Value tileRows = kb.idx(tq);
  Value numTiles, firstTile;
  if (sched.absoluteTiles) {
    firstTile = kb.floorDiv(offset, tileRows);
    Value lastTile =
        kb.floorDiv(kb.sub(kb.add(offset, seqQ), kb.idx(1)), tileRows);
    numTiles = kb.add(kb.sub(lastTile, firstTile), kb.idx(1));
  } else {
    numTiles = kb.ceilDiv(seqQ, tileRows);
  }
  Value scale = kb.f32(kb.shape().effectiveScale());
  const int64_t heads = kb.shape().heads;
  const int64_t group = heads / kb.shape().kvHeads;

  kb.forEachWorkItem([&](Value item) {
    TileContext tile;
    tile.seqQ = seqQ;
    tile.seqK = seqK;
    tile.offset = offset;
    tile.tile = kb.floorMod(item, numTiles);
    Value bh = kb.floorDiv(item, numTiles);
    tile.head = kb.floorMod(bh, kb.idx(heads));
    tile.batch = kb.floorDiv(bh, kb.idx(heads));
    tile.kvHead = kb.floorDiv(tile.head, kb.idx(group));
    if (sched.absoluteTiles) {
      tile.firstPos = kb.mul(kb.add(firstTile, tile.tile), tileRows);
      tile.firstRow = kb.sub(tile.firstPos, offset);
    } else {
      tile.firstRow = kb.mul(tile.tile, tileRows);
      tile.firstPos = kb.add(tile.firstRow, offset);
    }
    Value lastRow =
        kb.sub(kb.min(kb.add(tile.firstRow, tileRows), seqQ), kb.idx(1));
    tile.lastPos = kb.add(lastRow, offset);
    tile.keyEnd = patternSpec.causal
                      ? kb.max(kb.min(seqK, kb.add(tile.lastPos, kb.idx(1))),
                               kb.idx(0))
                      : seqK;
    tile.queryBlock = kb.floorDiv(tile.firstPos, patternBlock());

    kb.rowLoop(tq, [&](Value r, Value slot) {
      Value i = kb.add(tile.firstRow, r);
      Value valid = kb.andI(kb.ge(i, kb.idx(0)), kb.lt(i, seqQ));
      kb.store(kb.negInf(), rowMax, {slot, kb.idx(0)});
      kb.store(kb.f32(0), rowSum, {slot, kb.idx(0)});
      kb.forRange(kb.idx(0), kb.idx(d), [&](Value dd) {
        kb.store(kb.f32(0), acc, {slot, dd});
        Value qv = kb.ifThenElse(
            valid, {f32},
            [&] {
              return SmallVector<Value>{kb.fmul(
                  kb.loadQ(tile.batch, tile.head, i, dd), scale)};
            },
            [&] { return SmallVector<Value>{kb.f32(0)}; })[0];
        kb.store(qv, qRow, {slot, dd});
      });
    });

    for (unsigned e = 0; e < sources.size(); ++e)
      sources[e]->enumerate(*this, tile, e);

    kb.rowLoop(tq, [&](Value r, Value slot) {
      Value i = kb.add(tile.firstRow, r);
      Value valid = kb.andI(kb.ge(i, kb.idx(0)), kb.lt(i, seqQ));
      kb.ifThen(valid, [&] {
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
    });
  });
  kb.endFunction();
  (void)loc;
  return success();
}

void AttentionEmitter::visitRange(const TileContext &tile,
                                  unsigned sourceIndex, Value start,
                                  Value end) {
  Value lo = kb.max(start, kb.idx(0));
  Value hi = kb.min(end, tile.keyEnd);
  Value tk = kb.idx(sched.tileK);
  kb.forRange(lo, hi, tk, [&](Value c0) {
    Value count = kb.min(tk, kb.sub(hi, c0));
    processChunk(
        tile, sourceIndex, [&](Value c) { return kb.add(c0, c); }, count);
  });
}

void AttentionEmitter::visitKeys(const TileContext &tile, unsigned sourceIndex,
                                 Value count,
                                 function_ref<Value(Value)> keyAt) {
  Value tk = kb.idx(sched.tileK);
  kb.forRange(kb.idx(0), count, tk, [&](Value c0) {
    Value n = kb.min(tk, kb.sub(count, c0));
    processChunk(
        tile, sourceIndex, [&](Value c) { return keyAt(kb.add(c0, c)); }, n);
  });
}

Value AttentionEmitter::coveredBefore(const TileContext &tile,
                                      unsigned sourceIndex, Value kbValue) {
  Value covered = kb.boolean(false);
  for (unsigned e = 0; e < sourceIndex; ++e)
    if (Value c = sources[e]->coversBlock(*this, tile, kbValue))
      covered = kb.orI(covered, c);
  return covered;
}

Value AttentionEmitter::keepMask(const TileContext &tile, unsigned sourceIndex,
                                 const RowContext &row, Value j) {
  Value keep = sources[sourceIndex]->contains(*this, tile, row, j);
  for (unsigned e = 0; e < sourceIndex; ++e)
    keep = kb.andI(keep, kb.notI(sources[e]->contains(*this, tile, row, j)));
  return keep;
}

void AttentionEmitter::processChunk(const TileContext &tile,
                                    unsigned sourceIndex,
                                    function_ref<Value(Value)> keyAt,
                                    Value count) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f32 = b.getF32Type();
  const int64_t tk = sched.tileK, d = kb.shape().headDim;
  Value seqK = tile.seqK;
  // Key indices of the chunk; -1 marks an empty slot.
  kb.coopLoop(kb.idx(tk), [&](Value c) {
    Value j = kb.ifThenElse(
        kb.lt(c, count), {b.getIndexType()},
        [&] { return SmallVector<Value>{keyAt(c)}; },
        [&] { return SmallVector<Value>{kb.idx(-1)}; })[0];
    kb.store(j, keyIndex, {c});
  });
  kb.barrier();
  // K and V rows, converted to f32; consecutive threads read consecutive
  // elements of a row.
  kb.coopLoop(kb.idx(tk * d), [&](Value e) {
    Value c = kb.floorDiv(e, kb.idx(d));
    Value dd = kb.floorMod(e, kb.idx(d));
    Value j = kb.load(keyIndex, {c});
    Value ok = kb.andI(kb.ge(j, kb.idx(0)), kb.lt(j, seqK));
    SmallVector<Value> kv = kb.ifThenElse(
        ok, {f32, f32},
        [&] {
          return SmallVector<Value>{
              kb.loadK(tile.batch, tile.kvHead, j, dd),
              kb.loadV(tile.batch, tile.kvHead, j, dd)};
        },
        [&] { return SmallVector<Value>{kb.f32(0), kb.f32(0)}; });
    kb.store(kv[0], keyTile, {c, dd});
    kb.store(kv[1], valueTile, {c, dd});
  });
  kb.barrier();
  kb.rowLoop(sched.tileQ, [&](Value r, Value slot) {
    RowContext row;
    row.slot = slot;
    row.row = kb.add(tile.firstRow, r);
    Value valid =
        kb.andI(kb.ge(row.row, kb.idx(0)), kb.lt(row.row, tile.seqQ));
    kb.ifThen(valid, [&] {
      row.pos = kb.add(row.row, tile.offset);
      row.queryBlock = kb.floorDiv(row.pos, patternBlock());
      Value s = rowView(b, loc, scores, slot);
      Value q = rowView(b, loc, qRow, slot);
      Value a = rowView(b, loc, acc, slot);
      linalg::FillOp::create(b, loc, ValueRange{kb.f32(0)}, ValueRange{s});
      // s = K · q: one op on the tile.
      linalg::MatvecOp::create(b, loc, ValueRange{keyTile, q}, ValueRange{s});
      Value chunkMax =
          kb.forRangeCarry(
                kb.idx(0), kb.idx(tk), kb.idx(1), {kb.negInf()},
                [&](Value c, ValueRange carried) {
                  Value j = kb.load(keyIndex, {c});
                  Value keep = kb.ge(j, kb.idx(0));
                  if (patternSpec.causal)
                    keep = kb.andI(keep, kb.le(j, row.pos));
                  Value masked = kb.ifThenElse(
                      keep, {b.getI1Type()},
                      [&] {
                        return SmallVector<Value>{
                            keepMask(tile, sourceIndex, row, j)};
                      },
                      [&] { return SmallVector<Value>{kb.boolean(false)}; })[0];
                  Value sv = kb.select(masked, kb.load(s, {c}), kb.negInf());
                  kb.store(sv, s, {c});
                  return SmallVector<Value>{kb.fmax(carried[0], sv)};
                })[0];
      Value any = kb.fcmp(arith::CmpFPredicate::OGT, chunkMax, kb.negInf());
      kb.ifThen(any, [&] {
        Value mOld = kb.load(rowMax, {slot, kb.idx(0)});
        Value mNew = kb.fmax(mOld, chunkMax);
        Value alpha = kb.exp(kb.fsub(mOld, mNew));
        Value sum =
            kb.forRangeCarry(kb.idx(0), kb.idx(tk), kb.idx(1), {kb.f32(0)},
                             [&](Value c, ValueRange carried) {
                               Value pv = kb.exp(kb.fsub(kb.load(s, {c}), mNew));
                               kb.store(pv, s, {c});
                               return SmallVector<Value>{
                                   kb.fadd(carried[0], pv)};
                             })[0];
        Value lOld = kb.load(rowSum, {slot, kb.idx(0)});
        kb.store(kb.fadd(kb.fmul(lOld, alpha), sum), rowSum,
                 {slot, kb.idx(0)});
        kb.store(mNew, rowMax, {slot, kb.idx(0)});
        kb.forRange(kb.idx(0), kb.idx(d), [&](Value dd) {
          kb.store(kb.fmul(kb.load(a, {dd}), alpha), a, {dd});
        });
        // acc += p · V: one op on the tile.
        linalg::VecmatOp::create(b, loc, ValueRange{s, valueTile},
                                 ValueRange{a});
      });
    });
  });
  kb.barrier();
}

Value mlir::sattn::lowering::inTokenWindow(KernelBuilder &kb, Value pos,
                                           Value j, Value width) {
  return kb.andI(kb.lt(kb.sub(pos, width), j), kb.le(j, pos));
}
