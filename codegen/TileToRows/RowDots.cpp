//===- RowDots.cpp - sattn_tile.dots in the row layout --------------------===//
//
// Each result of `sattn_tile.dots` is one iteration of a cooperative loop
// (results of one lhs row are consecutive, so a warp reads one lhs element
// and consecutive rhs rows): an fp32 dot added in order over d, the order
// the oracle uses. Then the op's barrier.
//
// By depth (the CPU): each lhs row is one iteration, and for each d in
// order every result of the row adds its product: the same fp32 sums, but
// the innermost loop's additions are independent, so LLVM vectorises it
// without reassociating (a dot in order over d is one dependent chain).
//
//===----------------------------------------------------------------------===//

#include "codegen/TileLowering.h"

using namespace mlir;
using namespace mlir::sattn;

LogicalResult mlir::sattn::lowerRowDots(func::FuncOp fn, bool byDepth) {
  SmallVector<tile::DotsOp> ops;
  fn.walk([&](tile::DotsOp op) {
    if (op.getLayout() == tile::Layout::row)
      ops.push_back(op);
  });
  OpBuilder builder(fn.getContext());
  for (tile::DotsOp op : ops) {
    builder.setInsertionPoint(op);
    Type element = op.getLhs().getType().getElementType();
    KernelBuilder kb(builder, fn, KernelShape(), element);
    const int64_t m = op.getLhs().getType().getDimSize(0);
    const int64_t n = op.getRhs().getType().getDimSize(0);
    Type f32 = builder.getF32Type();
    auto widen = [&](Value v) -> Value {
      return element.isF32() ? v
                             : arith::ExtFOp::create(builder, kb.loc(), f32, v);
    };
    if (byDepth) {
      // The rhs transposed to [depth][n] (f32), so that the innermost loop
      // reads consecutive elements.
      const int64_t depth = op.getDepth();
      Value rhsT = kb.sharedAlloc({depth, n}, f32);
      Value result = op.getResult();
      kb.coopLoop(kb.idx(n), [&](Value c) {
        kb.forRange(kb.idx(0), kb.idx(depth), [&](Value d) {
          kb.store(widen(kb.load(op.getRhs(), {c, d})), rhsT, {d, c});
        });
      });
      kb.barrier();
      kb.coopLoop(kb.idx(m), [&](Value r) {
        kb.forRange(kb.idx(0), kb.idx(n), [&](Value c) {
          kb.store(kb.f32(0), result, {r, c});
        });
        kb.forRange(kb.idx(0), kb.idx(depth), [&](Value d) {
          Value a = widen(kb.load(op.getLhs(), {r, d}));
          kb.forRange(kb.idx(0), kb.idx(n), [&](Value c) {
            // One statement per op: argument order would leave the IR's
            // order to the host compiler.
            Value product = kb.fmul(a, kb.load(rhsT, {d, c}));
            Value sum = kb.load(result, {r, c});
            kb.store(kb.fadd(sum, product), result, {r, c});
          });
        });
      });
      kb.barrier();
      op.erase();
      continue;
    }
    kb.coopLoop(kb.idx(m * n), [&](Value x) {
      Value r = arith::DivUIOp::create(builder, kb.loc(), x, kb.idx(n));
      Value c = arith::RemUIOp::create(builder, kb.loc(), x, kb.idx(n));
      Value dot = kb.forRangeCarry(
          kb.idx(0), kb.idx(op.getDepth()), kb.idx(1), {kb.f32(0)},
          [&](Value d, ValueRange acc) {
            Value a = widen(kb.load(op.getLhs(), {r, d}));
            Value b = widen(kb.load(op.getRhs(), {c, d}));
            return SmallVector<Value>{kb.fadd(acc[0], kb.fmul(a, b))};
          })[0];
      kb.store(dot, op.getResult(), {r, c});
    });
    kb.barrier();
    op.erase();
  }
  return success();
}
