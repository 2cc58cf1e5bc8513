//===- FuzzDsl.cpp - libFuzzer target: .sattn source to PatternSpec -------===//
//
// Drives the DSL front-end as the tools do: parse and verify the source
// (loadPatternSource on a ".sattn" buffer), then bind every pattern with its
// defaults, canonicalize and import it into a PatternSpec. The contract of
// Frontend.h is checked: a rejected input has at least one error diagnostic
// and an error naming the buffer; an accepted one has none. A breach aborts,
// which libFuzzer reports as a crash.
//
//===----------------------------------------------------------------------===//

#include "fuzz/RecycledContext.h"
#include "patterns/PatternLoader.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdio>
#include <cstdlib>

using namespace mlir;

namespace {

[[noreturn]] void breach(const char *what, llvm::StringRef detail) {
  std::fprintf(stderr, "sattn-fuzz-dsl: contract breach: %s: %.*s\n", what,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static ::sattn::fuzz::RecycledContext contexts(
      ::sattn::registerPatternDialects);
  if (size > ::sattn::fuzz::kMaxInputBytes)
    return -1;
  llvm::StringRef source(reinterpret_cast<const char *>(data), size);
  MLIRContext &context = contexts.next();
  unsigned errors = 0;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    errors += diag.getSeverity() == DiagnosticSeverity::Error;
    return success();
  });
  auto module = ::sattn::loadPatternSource(source, "fuzz.sattn", context);
  if (!module) {
    std::string message = llvm::toString(module.takeError());
    if (errors == 0)
      breach("rejected without an error diagnostic", message);
    if (message.find("fuzz.sattn") == std::string::npos)
      breach("error does not name the buffer", message);
    return 0;
  }
  if (errors != 0)
    breach("accepted with error diagnostics", source);
  // bindPattern inserts each bound clone after its pattern: collect first.
  llvm::SmallVector<mlir::sattn::PatternOp> patterns(
      (*module)->getOps<mlir::sattn::PatternOp>());
  for (mlir::sattn::PatternOp pattern : patterns) {
    auto bound = ::sattn::bindPattern(pattern, {});
    if (!bound) {
      llvm::consumeError(bound.takeError());
      continue;
    }
    auto spec = ::sattn::importPattern(*bound);
    if (!spec)
      llvm::consumeError(spec.takeError());
  }
  return 0;
}
