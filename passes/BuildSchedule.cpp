//===- BuildSchedule.cpp - sattn-build-schedule ---------------------------===//

#include "passes/KernelRequest.h"
#include "passes/Passes.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNBUILDSCHEDULE
#include "passes/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::lowering;

namespace {
struct BuildSchedulePass
    : public mlir::sattn::impl::SattnBuildScheduleBase<BuildSchedulePass> {
  void runOnOperation() override {
    bool failedAny = false;
    getOperation().walk([&](KernelOp op) {
      FailureOr<KernelRequest> req = loadKernelRequest(op, false);
      if (failed(req)) {
        failedAny = true;
        return;
      }
      llvm::Expected<::sattn::KernelSchedule> schedule =
          ::sattn::buildSchedule(req->spec, req->shape);
      if (!schedule) {
        op.emitOpError() << llvm::toString(schedule.takeError());
        failedAny = true;
        return;
      }
      op.setScheduleAttr(encodeSchedule(op.getContext(), *schedule));
    });
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
