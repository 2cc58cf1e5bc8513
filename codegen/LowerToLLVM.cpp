//===- LowerToLLVM.cpp - sattn-lower-to-llvm ------------------------------===//
//
// Upstream conversions in a fixed order, run as a nested pipeline so that
// `sattn-opt --sattn-lower-to-llvm` and the runtime lower the same way.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "codegen/GpuTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNLOWERTOLLVM
#include "codegen/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;

namespace {
// The tile and kernel conversions leave many duplicate constants and index
// casts; folding them first halves the IR every later pass (and LLVM) sees.
constexpr const char *kCleanup = "canonicalize,cse,";
constexpr const char *kLoops =
    "convert-linalg-to-loops,expand-strided-metadata,"
    "lower-affine,convert-scf-to-cf";

struct LowerToLLVMPass
    : public mlir::sattn::impl::SattnLowerToLLVMBase<LowerToLLVMPass> {
  using SattnLowerToLLVMBase::SattnLowerToLLVMBase;

  void runOnOperation() override {
    std::string pipeline;
    if (target == "cpu") {
      pipeline = std::string(kCleanup) + kLoops +
                 ",convert-math-to-llvm,finalize-memref-to-llvm,"
                 "convert-arith-to-llvm,convert-index-to-llvm,"
                 "convert-func-to-llvm,convert-cf-to-llvm,"
                 "reconcile-unrealized-casts";
    } else if (target == "gpu") {
      llvm::Expected<::sattn::GpuTarget> gpu = ::sattn::parseGpuTarget(chip);
      if (!gpu) {
        getOperation().emitError("sattn-lower-to-llvm: ")
            << llvm::toString(gpu.takeError());
        return signalPassFailure();
      }
      const std::string &features = gpu->ptxFeature;
      pipeline =
          std::string(kCleanup) + "gpu.module(" + kLoops +
          "),nvvm-attach-target{chip=" + chip.getValue() +
          " features=" + features + " O=3" +
          (libdevice.empty() ? std::string() : " l=" + libdevice.getValue()) +
          "},gpu.module(convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,"
          "convert-nvvm-to-llvm),"
          "reconcile-unrealized-casts" +
          (binary ? ",gpu-module-to-binary{format=isa}" : "");
    } else {
      getOperation().emitError("sattn-lower-to-llvm: target must be cpu or "
                               "gpu, got '")
          << target << "'";
      return signalPassFailure();
    }
    OpPassManager pm("builtin.module");
    if (failed(parsePassPipeline(pipeline, pm))) {
      getOperation().emitError("sattn-lower-to-llvm: bad pipeline ")
          << pipeline;
      return signalPassFailure();
    }
    if (failed(runPipeline(pm, getOperation())))
      signalPassFailure();
  }
};
} // namespace
