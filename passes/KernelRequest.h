//===- KernelRequest.h - A sattn.kernel with its pattern --------*- C++ -*-===//
//
// What the lowering passes read from a `sattn.kernel`: the pattern and its
// primitive ops, the static shape, the element type, the target and, once
// `sattn-build-schedule` ran, the schedule.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_KERNELREQUEST_H
#define SATTN_PASSES_KERNELREQUEST_H

#include "dialect/SattnDialect.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::sattn {

/// The static part of an attention kernel: everything but batch and lengths.
struct KernelShape {
  int64_t heads = 1;
  int64_t kvHeads = 1;
  int64_t headDim = 64;
  double scale = 0; // 0: 1/sqrt(headDim)

  double effectiveScale() const;
  int64_t groupSize() const { return heads / kvHeads; }
};

struct KernelRequest {
  // Op handles: reading them does not change the request.
  mutable KernelOp op;
  mutable PatternOp pattern;
  /// The pattern's primitives in body order; schedules refer to them by
  /// index.
  SmallVector<Operation *> primitives;
  KernelShape shape;
  KernelTarget target = KernelTarget::cpu;
  Type elementType;
  /// The pattern's block size B and causality.
  int64_t block = 128;
  bool causal = true;
  /// Null until sattn-build-schedule ran.
  ScheduleAttr schedule;
  /// Every call's K and V rows are 16-byte aligned.
  bool alignedKV = false;

  bool isGpu() const { return target == KernelTarget::gpu; }
  /// The index of a primitive op of the pattern (its position in the body).
  int64_t indexOf(Operation *primitive) const;
  /// An integer or float argument of a primitive (a literal, or the
  /// default of the parameter it names).
  int64_t intParam(Attribute value) const;
  double floatParam(Attribute value) const;
};

/// Reads the request; with `withSchedule`, its schedule too. Emits an error
/// at the op on failure.
FailureOr<KernelRequest> loadKernelRequest(KernelOp op, bool withSchedule);

/// Calls `emit` for every scheduled `sattn.kernel` of `module`; stops at the
/// first failure.
LogicalResult
forEachScheduledKernel(ModuleOp module,
                       function_ref<LogicalResult(KernelRequest &)> emit);

} // namespace mlir::sattn

#endif // SATTN_PASSES_KERNELREQUEST_H
