//===- KeySource.cpp - How a primitive adds keys to a query tile ----------===//

#include "passes/KeySource.h"

#include "passes/PrimitiveInterfaces.h"

using namespace mlir;
using namespace mlir::sattn;

KeySource::~KeySource() = default;
KeySourceContext::~KeySourceContext() = default;

void KeySourceContext::visitRange(const TileContext &, unsigned, Value, Value) {
  llvm::report_fatal_error("key sources visit keys only inside attention");
}

void KeySourceContext::visitKeys(const TileContext &, unsigned, Value,
                                 function_ref<Value(Value)>) {
  llvm::report_fatal_error("key sources visit keys only inside attention");
}

Value KeySourceContext::coveredBefore(const TileContext &, unsigned, Value) {
  return kb.boolean(false);
}

KeySourceList mlir::sattn::makeKeySources(const KernelRequest &req) {
  KeySourceList sources;
  for (int64_t index : req.schedule.getSources())
    cast<KeySourcePrimitive>(req.primitives[index])
        .appendKeySources(req, sources);
  return sources;
}

Value mlir::sattn::inTokenWindow(KernelBuilder &kb, Value pos, Value j,
                                 Value width) {
  return kb.andI(kb.lt(kb.sub(pos, width), j), kb.le(j, pos));
}

Value mlir::sattn::windowCoversRange(KernelBuilder &kb, const TileContext &tile,
                                     Value width, Value start, Value end) {
  // In (p - w, p] for every row p in [firstPos, lastPos].
  Value afterLast = kb.gt(start, kb.sub(tile.lastPos, width));
  return kb.andI(afterLast, kb.le(kb.sub(end, kb.idx(1)), tile.firstPos));
}

Value mlir::sattn::fractionWindow(KernelBuilder &kb, double fraction,
                                  int64_t block, Value seqK) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f64 = b.getF64Type();
  Value sk = arith::SIToFPOp::create(b, loc, f64, kb.toI64(seqK));
  Value x = arith::MulFOp::create(
      b, loc, sk,
      arith::ConstantOp::create(b, loc, b.getF64FloatAttr(fraction)));
  x = arith::AddFOp::create(
      b, loc, x, arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0.5)));
  // x >= 0, so truncation is the floor (and needs no libm/libdevice call).
  Value w = kb.toIndex(arith::FPToSIOp::create(b, loc, b.getI64Type(), x));
  return kb.max(kb.idx(block), w);
}
