//===- Models.h - Registration of each primitive's lowering -----*- C++ -*-===//
//
// One function per primitive file; registerPrimitiveModels calls them all.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_PRIMITIVES_MODELS_H
#define SATTN_PASSES_PRIMITIVES_MODELS_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mlir::sattn {

void registerSinkModel(DialectRegistry &registry);
void registerWindowModel(DialectRegistry &registry);
void registerStridesModel(DialectRegistry &registry);
void registerColumnsModel(DialectRegistry &registry);
void registerDiagonalsModel(DialectRegistry &registry);
void registerKeepModel(DialectRegistry &registry);
void registerStripesModel(DialectRegistry &registry);
void registerTreeSearchModel(DialectRegistry &registry);
void registerTopkModel(DialectRegistry &registry);
void registerPermuteModel(DialectRegistry &registry);

} // namespace mlir::sattn

#endif // SATTN_PASSES_PRIMITIVES_MODELS_H
