//===- DynamicSources.cpp - Dispatch to the dynamic primitives ------------===//

#include "passes/AttentionEmitter.h"

using namespace mlir;
using namespace mlir::sattn::lowering;

void mlir::sattn::lowering::appendDynamicSources(
    const ::sattn::PatternSpec &spec, const ::sattn::Enumerator &en,
    std::vector<std::unique_ptr<KeySource>> &out) {
  llvm_unreachable("dynamic primitives are not lowered yet");
}

LogicalResult mlir::sattn::lowering::emitSelectionStage(
    KernelBuilder &kb, const ::sattn::PatternSpec &spec,
    const ::sattn::KernelSchedule &schedule,
    const ::sattn::SelectionStage &stage, Operation *container) {
  return emitError(kb.loc(), "selection stage '")
         << stage.function << "' is not lowered yet";
}
