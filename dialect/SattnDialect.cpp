//===- SattnDialect.cpp - sattn dialect registration ----------------------===//

#include "dialect/SattnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sattn;

#include "dialect/SattnDialect.cpp.inc"
#include "dialect/SattnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/SattnAttrs.cpp.inc"

void SattnDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/SattnAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialect/SattnOps.cpp.inc"
      >();
}
