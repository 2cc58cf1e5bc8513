//===- LowerSelection.cpp - sattn-lower-selection -------------------------===//

#include "passes/AttentionEmitter.h"
#include "passes/KernelRequest.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNLOWERSELECTION
#include "passes/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::lowering;

namespace {
struct LowerSelectionPass
    : public mlir::sattn::impl::SattnLowerSelectionBase<LowerSelectionPass> {
  void runOnOperation() override {
    auto emitStages = [](KernelRequest &req, Operation *container) {
      OpBuilder builder(req.op.getContext());
      for (const ::sattn::SelectionStage &stage : req.schedule.stages) {
        KernelBuilder kb(builder, req.op.getLoc(), req.target, req.shape,
                         req.elementType);
        if (failed(emitSelectionStage(kb, req.spec, req.schedule, stage,
                                      container)))
          return failure();
      }
      return success();
    };
    if (failed(forEachScheduledKernel(getOperation(), emitStages)))
      signalPassFailure();
  }
};
} // namespace
