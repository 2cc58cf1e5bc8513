//===- LowerToLLVM.cpp - sattn-lower-to-llvm ------------------------------===//
//
// Upstream conversions in a fixed order, run as a nested pipeline so that
// `sattn-opt --sattn-lower-to-llvm` and the runtime lower the same way.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "codegen/GpuTarget.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
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
    std::string pipeline, serialize;
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
          "reconcile-unrealized-casts";
      // The binary is made after dynamic shared memory is made extern.
      if (binary)
        serialize = "gpu-module-to-binary{format=isa}";
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
    // Upstream conversions can report an error and still succeed, leaving
    // half-converted IR (a GPU kernel lowered for the CPU: memref ops in
    // workgroup memory). Any error, or any op the target's LLVM form does
    // not contain, fails the pass (issue 21 D10).
    unsigned errors = 0;
    LogicalResult result = success();
    {
      ScopedDiagnosticHandler counter(&getContext(), [&](Diagnostic &diag) {
        if (diag.getSeverity() == DiagnosticSeverity::Error)
          ++errors;
        return failure(); // passed on to the next handler
      });
      result = runPipeline(pm, getOperation());
    }
    if (failed(result) || errors)
      return signalPassFailure();
    externDynamicShared(getOperation());
    if (!serialize.empty()) {
      OpPassManager binaryPm("builtin.module");
      if (failed(parsePassPipeline(serialize, binaryPm)) ||
          failed(runPipeline(binaryPm, getOperation())))
        return signalPassFailure();
    }
    Operation *left = firstUnconverted(getOperation(), target == "gpu");
    if (!left)
      return;
    left->emitError("sattn-lower-to-llvm: '")
        << left->getName() << "' was not converted for target=" << target
        << "; is the kernel built for this target?";
    signalPassFailure();
  }

  /// gpu.dynamic_shared_memory lowers to an internal zero-length shared
  /// global, which NVPTX emits as a one-byte static variable; external, it
  /// is `.extern .shared ... []`, the dynamic shared memory of the launch.
  static void externDynamicShared(ModuleOp module) {
    module.walk([](LLVM::GlobalOp global) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      if (global.getAddrSpace() == 3 && array && array.getNumElements() == 0 &&
          global.getLinkage() == LLVM::Linkage::Internal)
        global.setLinkage(LLVM::Linkage::External);
    });
  }

  /// The first op outside the LLVM form of the target: llvm ops in the
  /// module, and for the GPU also nvvm ops, gpu.module and gpu.binary.
  static Operation *firstUnconverted(ModuleOp module, bool gpu) {
    Operation *found = nullptr;
    module.walk([&](Operation *op) {
      if (op == module.getOperation())
        return WalkResult::advance();
      StringRef dialect = op->getName().getDialectNamespace();
      StringRef name = op->getName().getStringRef();
      bool ok = dialect == "llvm" ||
                (gpu && (dialect == "nvvm" || name == "gpu.module" ||
                         name == "gpu.binary"));
      if (ok)
        return WalkResult::advance();
      found = op;
      return WalkResult::interrupt();
    });
    return found;
  }
};
} // namespace
