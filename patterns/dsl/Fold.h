//===- Fold.h - Primitive arguments to literals or parameters ---*- C++ -*-===//
//
// A primitive's argument in the IR is a literal or a `#sattn.param`
// reference, nothing else. This folds an argument expression to one of the
// two: constant arithmetic is computed here, and anything else (arithmetic on
// a parameter, a condition) is reported, saying why it cannot be expressed.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PATTERNS_DSL_FOLD_H
#define SATTN_PATTERNS_DSL_FOLD_H

#include "patterns/dsl/Diagnostics.h"
#include "patterns/dsl/Expr.h"
#include "patterns/dsl/Params.h"

#include <optional>

namespace sattn::dsl {

struct FoldedValue {
  enum Kind { Int, Float, Param };
  Kind kind = Int;
  int64_t intValue = 0;
  double floatValue = 0.0;
  const ParamInfo *param = nullptr;
  SourcePos pos;
};

/// Folds `expr`. `params` is null where no parameter may be named (the
/// defaults in a pattern header). Reports and returns nullopt on failure.
std::optional<FoldedValue> foldValue(const Expr &expr, const ParamTable *params,
                                     Diagnostics &diags);

} // namespace sattn::dsl

#endif // SATTN_PATTERNS_DSL_FOLD_H
