//===- SelectStripes.cpp - Lowering of stripes (not implemented yet) ----===//

#include "passes/DynamicPrimitives.h"

using namespace mlir;
using namespace mlir::sattn::lowering;

void mlir::sattn::lowering::stripesWorkspace(
    const ::sattn::SelectionStage &, const ::sattn::PatternSpec &,
    const ::sattn::KernelSchedule &, const ::sattn::KernelShape &, int64_t,
    int64_t, int64_t, ::sattn::WorkspaceLayout &) {}

LogicalResult mlir::sattn::lowering::emitstripesStage(
    KernelBuilder &kb, const ::sattn::PatternSpec &,
    const ::sattn::KernelSchedule &, const ::sattn::SelectionStage &stage,
    Operation *) {
  return emitError(kb.loc(), "selection stage '")
         << stage.function << "' is not lowered yet";
}

void mlir::sattn::lowering::appendstripesSources(
    const ::sattn::PatternSpec &, const ::sattn::Enumerator &,
    std::vector<std::unique_ptr<KeySource>> &) {}
