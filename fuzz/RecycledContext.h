//===- RecycledContext.h - One MLIRContext for many fuzz inputs -*- C++ -*-===//
//
// Creating a context and loading its dialects costs more than parsing a
// small input, so the MLIR targets reuse one. A context never frees what it
// uniques (identifiers, attributes, types), so it is replaced every
// kInputsPerContext inputs to keep memory bounded over millions of runs. A
// crash may therefore depend on what earlier inputs of the same context
// uniqued (docs/fuzzing.md says how to replay one that does).
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_FUZZ_RECYCLEDCONTEXT_H
#define SATTN_FUZZ_RECYCLEDCONTEXT_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <memory>

namespace sattn::fuzz {

/// Inputs larger than this are skipped: the stock patterns are ~1 KB and a
/// libFuzzer run uses -max_len far below it; it bounds what a run over a
/// corpus of other origin may feed.
constexpr size_t kMaxInputBytes = size_t(1) << 20;

class RecycledContext {
public:
  static constexpr unsigned kInputsPerContext = 2000;

  using RegisterFn = void (*)(mlir::DialectRegistry &);
  explicit RecycledContext(RegisterFn registerDialects)
      : registerDialects(registerDialects) {}

  /// The context for the next input, single-threaded, with every dialect
  /// of the registry loaded.
  mlir::MLIRContext &next() {
    if (!context || ++used >= kInputsPerContext) {
      mlir::DialectRegistry registry;
      registerDialects(registry);
      context = std::make_unique<mlir::MLIRContext>(
          registry, mlir::MLIRContext::Threading::DISABLED);
      context->loadAllAvailableDialects();
      used = 0;
    }
    return *context;
  }

private:
  RegisterFn registerDialects;
  std::unique_ptr<mlir::MLIRContext> context;
  unsigned used = 0;
};

} // namespace sattn::fuzz

#endif // SATTN_FUZZ_RECYCLEDCONTEXT_H
