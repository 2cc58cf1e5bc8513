//===- KernelRequest.cpp - A sattn.kernel with its pattern ----------------===//

#include "passes/KernelRequest.h"

#include "mlir/IR/SymbolTable.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sattn;

double KernelShape::effectiveScale() const {
  return scale != 0 ? scale : 1.0 / std::sqrt(double(headDim));
}

int64_t KernelRequest::intParam(Attribute value) const {
  // The pattern verified, so every argument resolves.
  return *pattern.resolveInt(value);
}

double KernelRequest::floatParam(Attribute value) const {
  return *pattern.resolveFloat(value);
}

int64_t KernelRequest::indexOf(Operation *primitive) const {
  return llvm::find(primitives, primitive) - primitives.begin();
}

FailureOr<KernelRequest> mlir::sattn::loadKernelRequest(KernelOp op,
                                                        bool withSchedule) {
  KernelRequest req;
  req.op = op;
  req.pattern =
      SymbolTable::lookupNearestSymbolFrom<PatternOp>(op, op.getPatternAttr());
  if (!req.pattern)
    return op.emitOpError("unknown pattern @") << op.getPattern();
  std::optional<int64_t> block = req.pattern.getBlockSize();
  if (!block)
    return op.emitOpError("pattern @")
           << op.getPattern() << " has no block size";
  req.block = *block;
  req.causal = req.pattern.getCausal();
  for (Operation &prim : req.pattern.getBody().front())
    req.primitives.push_back(&prim);
  req.shape.heads = op.getHeads();
  req.shape.kvHeads = op.getKvHeads();
  req.shape.headDim = op.getHeadDim();
  req.shape.scale =
      op.getScaleAttr() ? op.getScaleAttr().getValueAsDouble() : 0.0;
  req.elementType = op.getElementType();
  req.target = op.getTarget();
  req.alignedKV = op.getAlignedKv();
  if (!withSchedule)
    return req;
  req.schedule = op.getScheduleAttr();
  if (!req.schedule)
    return op.emitOpError("has no schedule; run --sattn-build-schedule first");
  return req;
}

LogicalResult mlir::sattn::forEachScheduledKernel(
    ModuleOp module, function_ref<LogicalResult(KernelRequest &)> emit) {
  SmallVector<KernelOp> ops;
  module.walk([&](KernelOp op) { ops.push_back(op); });
  for (KernelOp op : ops) {
    FailureOr<KernelRequest> req = loadKernelRequest(op, true);
    if (failed(req) || failed(emit(*req)))
      return failure();
  }
  return success();
}
