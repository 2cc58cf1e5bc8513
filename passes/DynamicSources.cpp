//===- DynamicSources.cpp - Dispatch to the dynamic primitives ------------===//

#include "passes/DynamicPrimitives.h"

using namespace mlir;
using namespace mlir::sattn::lowering;
using K = ::sattn::EnumeratorKind;

void mlir::sattn::lowering::appendDynamicSources(
    const ::sattn::PatternSpec &spec, const ::sattn::Enumerator &en,
    std::vector<std::unique_ptr<KeySource>> &out) {
  switch (en.kind) {
  case K::Stripes:
    return appendstripesSources(spec, en, out);
  case K::TreeSearch:
    return appendtreeSearchSources(spec, en, out);
  case K::TopkTokens:
    return appendtopkTokensSources(spec, en, out);
  case K::TopkBlocks:
    return appendtopkBlocksSources(spec, en, out);
  case K::Permute:
    return appendpermuteSources(spec, en, out);
  default:
    llvm_unreachable("not a dynamic enumerator");
  }
}

LogicalResult mlir::sattn::lowering::emitSelectionStage(
    KernelBuilder &kb, const ::sattn::PatternSpec &spec,
    const ::sattn::KernelSchedule &schedule,
    const ::sattn::SelectionStage &stage, Operation *container) {
  switch (stage.kind) {
  case K::Stripes:
    return emitstripesStage(kb, spec, schedule, stage, container);
  case K::TreeSearch:
    return emittreeSearchStage(kb, spec, schedule, stage, container);
  case K::TopkTokens:
    return emittopkTokensStage(kb, spec, schedule, stage, container);
  case K::TopkBlocks:
    return emittopkBlocksStage(kb, spec, schedule, stage, container);
  case K::Permute:
    return emitpermuteStage(kb, spec, schedule, stage, container);
  default:
    return emitError(kb.loc(), "not a selection stage");
  }
}

void ::sattn::stageWorkspace(const ::sattn::SelectionStage &stage,
                             const ::sattn::PatternSpec &spec,
                             const ::sattn::KernelSchedule &schedule,
                             const ::sattn::KernelShape &shape, int64_t batch,
                             int64_t seqQ, int64_t seqK,
                             ::sattn::WorkspaceLayout &layout) {
  switch (stage.kind) {
  case K::Stripes:
    return stripesWorkspace(stage, spec, schedule, shape, batch, seqQ, seqK,
                            layout);
  case K::TreeSearch:
    return treeSearchWorkspace(stage, spec, schedule, shape, batch, seqQ,
                               seqK, layout);
  case K::TopkTokens:
    return topkTokensWorkspace(stage, spec, schedule, shape, batch, seqQ,
                               seqK, layout);
  case K::TopkBlocks:
    return topkBlocksWorkspace(stage, spec, schedule, shape, batch, seqQ,
                               seqK, layout);
  case K::Permute:
    return permuteWorkspace(stage, spec, schedule, shape, batch, seqQ, seqK,
                            layout);
  default:
    return;
  }
}
