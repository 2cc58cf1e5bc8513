//===- KernelCompiler.h - Bound pattern to host object or PTX ----*- C++
//-*-===//
//
// The compiler pipeline behind the runtime and sattn-compile: a bound
// pattern plus a static shape becomes a module with a `sattn.kernel`
// request, the sattn passes lower it stage by stage (docs/lowering.md), and
// the result is a host object file (CPU, for the ORC JIT) or PTX (GPU).
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_CODEGEN_KERNELCOMPILER_H
#define SATTN_CODEGEN_KERNELCOMPILER_H

#include "dialect/SattnDialect.h"
#include "passes/KernelRequest.h"

#include "sattn/KernelInfo.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace sattn {

/// The stages after which the pipeline can stop (sattn-compile --stage).
enum class LoweringStage {
  Request,   // the pattern and the sattn.kernel request
  Schedule,  // + sattn-build-schedule
  Selection, // + sattn-lower-selection
  Tile,      // + sattn-tile-attention: the sattn_tile program
  Pipelined, // + sattn-pipeline-chunks
  Kernels,   // + the tile and kernel conversions of the target (scf, gpu)
  Lowered,   // + sattn-lower-to-llvm (LLVM / NVVM dialect)
  Binary,    // GPU: + PTX serialisation
};

/// "request", "schedule", "selection", "tile", "pipelined", "kernels",
/// "llvm", "binary".
llvm::StringRef loweringStageName(LoweringStage stage);
std::optional<LoweringStage> parseLoweringStage(llvm::StringRef name);
/// The stage names joined by '|', for help texts.
llvm::StringRef loweringStageNames();

/// Every dialect, interface and translation the pipeline needs.
void registerCodegenDialects(mlir::DialectRegistry &registry);

/// A module holding a copy of `bound` and a `sattn.kernel` request for it.
/// `dtype` is "f32", "f16" or "bf16".
/// With `alignedKV` the kernel may assume 16-byte aligned K and V rows.
mlir::OwningOpRef<mlir::ModuleOp>
buildKernelRequest(mlir::sattn::PatternOp bound,
                   const mlir::sattn::KernelShape &shape, llvm::StringRef dtype,
                   mlir::sattn::KernelTarget target, bool alignedKV = false);

/// Runs the passes of the stages after `from` up to and including
/// `stopAfter`. `chip` is the GPU target (sm_80 or sm_90a). Errors carry the
/// diagnostics.
/// With `timing`, MLIR's pass timing report goes to stderr.
llvm::Error lowerKernelModule(mlir::ModuleOp module,
                              mlir::sattn::KernelTarget target,
                              llvm::StringRef chip, LoweringStage stopAfter,
                              LoweringStage from = LoweringStage::Request,
                              bool timing = false);

/// Compiles a bound pattern for `target` ("cpu", "sm_80" or "sm_90a"): the
/// kernel's record (KernelInfo) and its binary — a host object file, or a
/// cubin when ptxas is found, else PTX for the driver to JIT.
llvm::Expected<KernelArtifact>
compileKernel(mlir::sattn::PatternOp bound,
              const mlir::sattn::KernelShape &shape, llvm::StringRef dtype,
              llvm::StringRef target, bool alignedKV = false);

/// The PTX of a module lowered to LoweringStage::Binary.
llvm::Expected<std::string> extractPtx(mlir::ModuleOp module);

/// Translates a module lowered to LoweringStage::Lowered (CPU) to LLVM IR,
/// adds `_sattn_packed_<name>(void **args)` entry points for every kernel
/// function, optimises at O3 and returns a native object file. Floating-point
/// reassociation and contraction (no finite-math assumptions) are allowed in
/// the functions named in `relaxedFloat`; the others keep IEEE order, as
/// selection stages must: their fp32 scores rank candidates exactly as the
/// oracle's do.
llvm::Expected<std::string>
emitHostObject(mlir::ModuleOp module, llvm::ArrayRef<std::string> relaxedFloat);

/// The packed entry point of kernel function `name`.
std::string packedEntryName(llvm::StringRef name);

/// Assembles PTX to a cubin with ptxas -v; `report` receives ptxas's
/// resource report (registers, spills, shared memory).
llvm::Expected<std::string> assemblePtx(llvm::StringRef ptx,
                                        llvm::StringRef chip,
                                        std::string *report = nullptr);

} // namespace sattn

#endif // SATTN_CODEGEN_KERNELCOMPILER_H
