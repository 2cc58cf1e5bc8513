//===- SelectTopkTokens.cpp - Lowering of topkTokens (not implemented yet) ----===//

#include "passes/DynamicPrimitives.h"

using namespace mlir;
using namespace mlir::sattn::lowering;

void mlir::sattn::lowering::topkTokensWorkspace(
    const ::sattn::SelectionStage &, const ::sattn::PatternSpec &,
    const ::sattn::KernelSchedule &, const ::sattn::KernelShape &, int64_t,
    int64_t, int64_t, ::sattn::WorkspaceLayout &) {}

LogicalResult mlir::sattn::lowering::emittopkTokensStage(
    KernelBuilder &kb, const ::sattn::PatternSpec &,
    const ::sattn::KernelSchedule &, const ::sattn::SelectionStage &stage,
    Operation *) {
  return emitError(kb.loc(), "selection stage '")
         << stage.function << "' is not lowered yet";
}

void mlir::sattn::lowering::appendtopkTokensSources(
    const ::sattn::PatternSpec &, const ::sattn::Enumerator &,
    std::vector<std::unique_ptr<KeySource>> &) {}
