//===- KernelRequest.h - A sattn.kernel with its pattern and schedule -*- C++ -*-===//
//
// What the lowering passes read from a `sattn.kernel`: the bound pattern as a
// PatternSpec (and its primitive ops, for `keep` regions), the static
// shape, the element type, the target and the schedule, which is stored on
// the op as a dictionary between passes.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_KERNELREQUEST_H
#define SATTN_PASSES_KERNELREQUEST_H

#include "dialect/SattnDialect.h"
#include "passes/KernelBuilder.h"
#include "passes/Schedule.h"

namespace mlir::sattn::lowering {

struct KernelRequest {
  KernelOp op;
  PatternOp pattern;
  ::sattn::PatternSpec spec;
  ::sattn::KernelShape shape;
  ::sattn::KernelSchedule schedule;
  SmallVector<Operation *> primitiveOps;
  Target target = Target::Cpu;
  Type elementType;
};

/// Reads the request; with `withSchedule`, its schedule attribute too.
/// Emits an error at the op on failure.
FailureOr<KernelRequest> loadKernelRequest(KernelOp op, bool withSchedule);

DictionaryAttr encodeSchedule(MLIRContext *context,
                              const ::sattn::KernelSchedule &schedule);
FailureOr<::sattn::KernelSchedule> decodeSchedule(DictionaryAttr attr,
                                                  Operation *forErrors);

/// Loads every scheduled `sattn.kernel` of `module` and calls `emit` with it
/// and the container for its functions; stops at the first failure.
LogicalResult
forEachScheduledKernel(ModuleOp module,
                       function_ref<LogicalResult(KernelRequest &, Operation *)>
                           emit);

/// The container that kernel functions go into: the module itself for the
/// CPU, the `sattn_kernels` gpu.module (created on first use) for the GPU.
Operation *kernelContainer(ModuleOp module, Target target);

} // namespace mlir::sattn::lowering

#endif // SATTN_PASSES_KERNELREQUEST_H
