//===- FuzzIr.cpp - libFuzzer target: sattn IR parser, verifier, folds ----===//
//
// Parses the input as a .mlir pattern file, as the tools load one
// (loadPatternSource: the sattn dialect with arith, func and tensor; the
// context also holds sattn_tile), which verifies it, then runs the
// canonicalizer with the pass manager's own verification off and verifies the
// result itself: canonicalization of valid IR must give valid IR, whether or
// not it converged. Invalid IR after canonicalization aborts, which libFuzzer
// reports as a crash.
//
//===----------------------------------------------------------------------===//

#include "fuzz/RecycledContext.h"

#include "dialect/tile/TileDialect.h"
#include "patterns/PatternLoader.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cstdio>
#include <cstdlib>

using namespace mlir;

namespace {

void registerDialects(DialectRegistry &registry) {
  ::sattn::registerPatternDialects(registry);
  registry.insert<mlir::sattn::tile::SattnTileDialect>();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static ::sattn::fuzz::RecycledContext contexts(registerDialects);
  if (size > ::sattn::fuzz::kMaxInputBytes)
    return -1;
  llvm::StringRef source(reinterpret_cast<const char *>(data), size);
  MLIRContext &context = contexts.next();
  unsigned errors = 0;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    errors += diag.getSeverity() == DiagnosticSeverity::Error;
    return success();
  });
  // As the tools read a .mlir pattern file: copied into a null-terminated
  // buffer (MLIR's lexer reads up to the terminator), parsed and verified.
  auto module = ::sattn::loadPatternSource(source, "fuzz.mlir", context);
  if (!module) {
    std::string message = llvm::toString(module.takeError());
    if (errors == 0) {
      std::fprintf(stderr,
                   "sattn-fuzz-ir: rejected without an error "
                   "diagnostic: %s\n",
                   message.c_str());
      std::abort();
    }
    return 0;
  }
  PassManager pm(&context);
  pm.enableVerifier(false);
  pm.addPass(createCanonicalizerPass());
  (void)pm.run(**module);
  if (failed(verify(**module))) {
    std::fprintf(stderr, "sattn-fuzz-ir: canonicalization of valid IR "
                         "produced invalid IR\n");
    std::abort();
  }
  return 0;
}
