//===- SattnDialect.h - The sattn dialect -----------------------*- C++ -*-===//
//
// Everything a user of the dialect needs: the dialect, its enums and
// attributes, and its ops.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_DIALECT_SATTNDIALECT_H
#define SATTN_DIALECT_SATTNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialect/SattnDialect.h.inc"
#include "dialect/SattnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/SattnAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialect/SattnOps.h.inc"

namespace mlir::sattn {

/// Parameter overrides: name -> value text ("5", "0.9").
using ParamOverrides = llvm::SmallVector<std::pair<std::string, std::string>>;

/// Clones `pattern` next to itself with every `#sattn.param` reference and
/// `sattn.param` op replaced by its value (an override, else the declared
/// default), then verifies the clone. Errors are emitted at the pattern's
/// location and name the parameter. The caller owns the returned op.
FailureOr<PatternOp> specializePattern(PatternOp pattern,
                                       const ParamOverrides &overrides);

/// Parses "name=value" into an override, or returns failure with a message.
FailureOr<std::pair<std::string, std::string>>
parseOverride(llvm::StringRef text, std::string &error);

} // namespace mlir::sattn

#endif // SATTN_DIALECT_SATTNDIALECT_H
