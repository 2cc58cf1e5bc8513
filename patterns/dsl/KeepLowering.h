//===- KeepLowering.h - `keep where` predicates to arith ops ----*- C++ -*-===//
//
// Builds the region of a `sattn.keep` op from a predicate expression: the
// eight predicate variables are the region's block arguments, parameters
// become `sattn.param` ops, and operators become arith ops with the floor
// semantics of docs/patterns.md. Integers and conditions are kept apart, so
// a mix-up is reported where it is written rather than as an IR type error.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PATTERNS_DSL_KEEPLOWERING_H
#define SATTN_PATTERNS_DSL_KEEPLOWERING_H

#include "patterns/dsl/Diagnostics.h"
#include "patterns/dsl/Expr.h"
#include "patterns/dsl/Params.h"

#include "dialect/SattnDialect.h"

namespace sattn::dsl {

/// The predicate variables, in the order of the keep region's arguments.
llvm::ArrayRef<llvm::StringRef> keepVariables();

/// Fills the (empty) predicate region of `keep` from `expr`. Returns false
/// after reporting the first error; the region is then incomplete and the
/// caller must discard the op.
bool lowerKeepPredicate(const Expr &expr, const ParamTable &params,
                        mlir::sattn::KeepOp keep, Diagnostics &diags);

} // namespace sattn::dsl

#endif // SATTN_PATTERNS_DSL_KEEPLOWERING_H
