//===- LowerSelection.cpp - sattn-lower-selection -------------------------===//

#include "passes/KernelRequest.h"
#include "passes/Passes.h"
#include "passes/PrimitiveInterfaces.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNLOWERSELECTION
#include "passes/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;

namespace {
struct LowerSelectionPass
    : public mlir::sattn::impl::SattnLowerSelectionBase<LowerSelectionPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto emitStages = [&](KernelRequest &req) {
      OpBuilder builder(req.op.getContext());
      for (StageAttr stage : req.schedule.getStages()) {
        KernelBuilder kb(builder, req.op.getLoc(), module, req.shape,
                         req.elementType);
        Operation *op = req.primitives[stage.getPrimitive()];
        if (failed(cast<SelectionPrimitive>(op).emitStage(kb, req, stage)))
          return failure();
      }
      return success();
    };
    if (failed(forEachScheduledKernel(module, emitStages)))
      signalPassFailure();
  }
};
} // namespace
