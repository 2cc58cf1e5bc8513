//===- BuildSchedule.cpp - sattn-build-schedule ---------------------------===//

#include "passes/KernelRequest.h"
#include "passes/Passes.h"
#include "passes/Schedule.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNBUILDSCHEDULE
#include "passes/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;

namespace {
struct BuildSchedulePass
    : public mlir::sattn::impl::SattnBuildScheduleBase<BuildSchedulePass> {
  using SattnBuildScheduleBase::SattnBuildScheduleBase;
  void runOnOperation() override {
    bool failedAny = false;
    getOperation().walk([&](KernelOp op) {
      FailureOr<KernelRequest> req = loadKernelRequest(op, false);
      FailureOr<ScheduleAttr> schedule = failure();
      if (succeeded(req))
        schedule = buildSchedule(*req);
      if (failed(schedule)) {
        failedAny = true;
        return;
      }
      op.setScheduleAttr(*schedule);
    });
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
