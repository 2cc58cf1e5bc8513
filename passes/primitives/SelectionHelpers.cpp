//===- SelectionHelpers.cpp - Pieces several selection stages share -------===//

#include "passes/primitives/SelectionHelpers.h"

using namespace mlir;
using namespace mlir::sattn;

Value mlir::sattn::rankedBefore(KernelBuilder &kb, Value sa, Value a, Value sb,
                                Value b) {
  // Descending, a NaN below every number, ties (NaN with NaN too) to the
  // smaller index: the oracle's ranksBefore (issue 21 D10).
  Value gt = kb.fcmp(arith::CmpFPredicate::OGT, sa, sb);
  Value eq = kb.fcmp(arith::CmpFPredicate::OEQ, sa, sb);
  Value nanA = kb.fcmp(arith::CmpFPredicate::UNO, sa, sa);
  Value nanB = kb.fcmp(arith::CmpFPredicate::UNO, sb, sb);
  Value tie = kb.orI(eq, kb.andI(nanA, nanB));
  Value numberOverNaN = kb.andI(kb.notI(nanA), nanB);
  return kb.orI(kb.orI(gt, numberOverNaN), kb.andI(tie, kb.lt(a, b)));
}

Value mlir::sattn::rankKey(KernelBuilder &kb, Value score, Value index) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value bits = arith::BitcastOp::create(b, loc, i32,
                                        kb.fadd(score, kb.f32(0))); // -0 -> +0
  Value negative = kb.cmp(arith::CmpIPredicate::slt, bits, kb.i32(0));
  Value ordered =
      kb.select(negative, arith::XOrIOp::create(b, loc, bits, kb.i32(-1)),
                arith::OrIOp::create(b, loc, bits, kb.i32(INT32_MIN)));
  Value nan = kb.fcmp(arith::CmpFPredicate::UNO, score, score);
  Value high = kb.select(nan, kb.i32(1), ordered);
  Value low = arith::XOrIOp::create(b, loc, kb.toI32(index), kb.i32(-1));
  Value key = arith::ShLIOp::create(
      b, loc, arith::ExtUIOp::create(b, loc, i64, high), kb.i64(32));
  return arith::OrIOp::create(b, loc, key,
                              arith::ExtUIOp::create(b, loc, i64, low));
}

bool mlir::sattn::selectionTensorCores(const KernelRequest &req) {
  Type elem = req.elementType;
  return req.isGpu() && (elem.isF16() || elem.isBF16()) &&
         req.shape.headDim % 16 == 0;
}

void mlir::sattn::combineOverThreads(
    KernelBuilder &kb, Value perThread, Value scratch, int64_t rows, Value init,
    function_ref<Value(Value acc, Value v)> combine,
    function_ref<void(Value r, Value combined)> result) {
  const int64_t threads = kb.threads();
  kb.rowLoop(threads, [&](Value x, Value slot) {
    for (int64_t r = 0; r < rows; ++r)
      kb.store(kb.load(perThread, {slot, kb.idx(r)}), scratch, {kb.idx(r), x});
  });
  kb.barrier();
  kb.coopLoop(kb.idx(rows), [&](Value r) {
    Value combined = kb.forRangeCarry(
        kb.idx(0), kb.idx(threads), kb.idx(1), {init},
        [&](Value x, ValueRange acc) {
          return SmallVector<Value>{combine(acc[0], kb.load(scratch, {r, x}))};
        })[0];
    result(r, combined);
  });
  kb.barrier();
}

Value mlir::sattn::narrowTo(KernelBuilder &kb, Type elem, Value v) {
  return elem == v.getType()
             ? v
             : arith::TruncFOp::create(kb.b(), kb.loc(), elem, v).getResult();
}

void mlir::sattn::storeQueryMean(KernelBuilder &kb, Value mean, Value bb,
                                 Value h, Value first, Value last) {
  Value rows = kb.sitofp(kb.add(kb.sub(last, first), kb.idx(1)));
  kb.coopLoop(kb.idx(kb.shape().headDim), [&](Value d) {
    Value sum = kb.forRangeCarry(first, kb.add(last, kb.idx(1)), kb.idx(1),
                                 {kb.f32(0)}, [&](Value i, ValueRange acc) {
                                   return SmallVector<Value>{
                                       kb.fadd(acc[0], kb.loadQ(bb, h, i, d))};
                                 })[0];
    kb.store(kb.fdiv(sum, rows), mean, {d});
  });
  kb.barrier();
}

StageAttr mlir::sattn::headsStage(MLIRContext *ctx, StringRef function,
                                  int64_t primitive, int64_t threads,
                                  int64_t split) {
  return StageAttr::get(ctx, function, primitive, GridKind::heads, 0,
                        BlockOrigin::absolute, threads, split);
}
