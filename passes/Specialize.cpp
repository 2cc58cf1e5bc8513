//===- Specialize.cpp - The sattn-specialize pass -------------------------===//

#include "passes/Passes.h"

#include "dialect/SattnDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNSPECIALIZE
#include "passes/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;

namespace {
struct SpecializePass : mlir::sattn::impl::SattnSpecializeBase<SpecializePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    ParamOverrides bindings;
    for (const std::string &text : overrides) {
      std::string error;
      auto parsed = parseOverride(text, error);
      if (failed(parsed)) {
        module.emitError("sattn-specialize: ") << error;
        return signalPassFailure();
      }
      bindings.push_back(*parsed);
    }
    SmallVector<PatternOp> patterns;
    for (auto pattern : module.getOps<PatternOp>())
      if (patternName.empty() || pattern.getSymName() == patternName)
        patterns.push_back(pattern);
    if (!patternName.empty() && patterns.empty()) {
      module.emitError("sattn-specialize: no pattern named @") << patternName;
      return signalPassFailure();
    }
    // Without pattern=, an override applies to the patterns that declare it.
    // One that no pattern declares goes to all of them, so each reports it
    // with its own did-you-mean hint.
    auto declaredSomewhere = [&](const std::string &name) {
      return llvm::any_of(patterns, [&](PatternOp pattern) {
        return bool(pattern.getParamDefault(name));
      });
    };
    for (PatternOp pattern : patterns) {
      ParamOverrides applicable;
      for (const auto &binding : bindings)
        if (!patternName.empty() || pattern.getParamDefault(binding.first) ||
            !declaredSomewhere(binding.first))
          applicable.push_back(binding);
      FailureOr<PatternOp> bound = specializePattern(pattern, applicable);
      if (failed(bound))
        return signalPassFailure();
      pattern.erase();
    }
  }
};
} // namespace
