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
    for (PatternOp pattern : patterns) {
      FailureOr<PatternOp> bound = specializePattern(pattern, bindings);
      if (failed(bound))
        return signalPassFailure();
      pattern.erase();
    }
  }
};
} // namespace
