//===- PrimitiveInterfaces.cpp - Primitives as the lowering sees them -----===//

#include "passes/PrimitiveInterfaces.h"

#include "passes/primitives/Models.h"

#include "passes/PrimitiveInterfaces.cpp.inc"

void mlir::sattn::registerPrimitiveModels(DialectRegistry &registry) {
  registerSinkModel(registry);
  registerWindowModel(registry);
  registerStridesModel(registry);
  registerColumnsModel(registry);
  registerDiagonalsModel(registry);
  registerKeepModel(registry);
  registerStripesModel(registry);
  registerTreeSearchModel(registry);
  registerTopkModel(registry);
  registerPermuteModel(registry);
}
