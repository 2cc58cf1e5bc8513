//===- sattn-opt.cpp - The sattn optimizer driver -------------------------===//
//
// MlirOptMain over the sattn dialect, sattn's passes, and the upstream
// dialects and passes the lowering pipelines use.
//
//===----------------------------------------------------------------------===//

#include "codegen/KernelCompiler.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"

static void printSattnVersion(llvm::raw_ostream &os) {
  os << "sattn " SATTN_VERSION " (sparse attention compiler)\n";
}

int main(int argc, char **argv) {
  // The dialects, passes and translations of the compiler's own pipeline.
  mlir::DialectRegistry registry;
  sattn::registerCodegenDialects(registry);
  registry.insert<mlir::bufferization::BufferizationDialect,
                  mlir::tensor::TensorDialect>();

  llvm::cl::AddExtraVersionPrinter(printSattnVersion);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "sattn optimizer driver: sparse attention patterns\n",
      registry));
}
