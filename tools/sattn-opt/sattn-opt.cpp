//===- sattn-opt.cpp - The sattn optimizer driver -------------------------===//
//
// MlirOptMain over the sattn dialect, sattn's passes, and the upstream
// dialects and passes the lowering pipelines use.
//
//===----------------------------------------------------------------------===//

#include "dialect/SattnDialect.h"
#include "passes/Passes.h"
#include "passes/PrimitiveInterfaces.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"

static void printSattnVersion(llvm::raw_ostream &os) {
  os << "sattn " SATTN_VERSION " (sparse attention compiler)\n";
}

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::sattn::registerSattnPasses();

  mlir::DialectRegistry registry;
  registry.insert<mlir::sattn::SattnDialect, mlir::arith::ArithDialect,
                  mlir::bufferization::BufferizationDialect,
                  mlir::func::FuncDialect, mlir::gpu::GPUDialect,
                  mlir::linalg::LinalgDialect, mlir::LLVM::LLVMDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect,
                  mlir::NVVM::NVVMDialect, mlir::nvgpu::NVGPUDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect,
                  mlir::vector::VectorDialect>();
  mlir::registerAllExtensions(registry);
  mlir::sattn::registerPrimitiveModels(registry);
  // gpu-module-to-binary translates the GPU module to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);

  llvm::cl::AddExtraVersionPrinter(printSattnVersion);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "sattn optimizer driver: sparse attention patterns\n",
      registry));
}
