//===- Topk.cpp - The interfaces of topk ----------------------------------===//

#include "passes/primitives/Topk.h"

#include "passes/primitives/Models.h"
#include "passes/primitives/SelectionHelpers.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::sattn;

TopkParams mlir::sattn::topkParams(const KernelRequest &req,
                                   int64_t primitive) {
  auto op = cast<TopkOp>(req.primitives[primitive]);
  TopkParams p;
  p.tokens = op.getGranularity() == Granularity::tokens;
  p.block = req.block;
  p.source = op.getSource();
  if (Attribute k = op.getKAttr()) {
    p.k = req.intParam(k);
  } else {
    p.byCover = true;
    p.alpha = req.floatParam(op.getCoverAttr());
  }
  return p;
}

namespace {
bool byTokens(const KernelRequest &req, Operation *op) {
  return cast<TopkOp>(op).getGranularity() == Granularity::tokens;
}

struct TopkModel : KeySourcePrimitive::ExternalModel<TopkModel, TopkOp> {
  /// Block top-k shares one selection per query block: tiles stay inside.
  TileConstraint getTileConstraint(Operation *op,
                                   const KernelRequest &req) const {
    return {byTokens(req, op) ? 0 : req.block, false};
  }
  void appendKeySources(Operation *op, const KernelRequest &req,
                        KeySourceList &sources) const {
    if (byTokens(req, op))
      appendTopkTokenSources(req, req.indexOf(op), sources);
    else
      appendTopkBlockSources(req, req.indexOf(op), sources);
  }
};

struct TopkSelection
    : SelectionPrimitive::ExternalModel<TopkSelection, TopkOp> {
  void planStages(Operation *op, const KernelRequest &req, StringRef function,
                  int64_t primitive, SmallVectorImpl<StageAttr> &stages) const {
    if (byTokens(req, op))
      planTopkTokenStages(op->getContext(), req, function, primitive, stages);
    else
      stages.push_back(StageAttr::get(op->getContext(), function, primitive,
                                      GridKind::query_blocks, req.block,
                                      BlockOrigin::absolute, 128, 1));
  }
  void addWorkspace(Operation *op, const KernelRequest &req, StageAttr stage,
                    WorkspaceSizes &slots) const {
    if (byTokens(req, op))
      addTopkTokenWorkspace(req, stage, slots);
    else
      addTopkBlockWorkspace(req, stage, slots);
  }
  LogicalResult emitStage(Operation *op, KernelBuilder &kb,
                          const KernelRequest &req, StageAttr stage) const {
    if (byTokens(req, op))
      return emitTopkTokenStage(kb, req, stage);
    return emitTopkBlockStage(kb, req, stage);
  }
  RequiredInputs getRequiredInputs(Operation *op, const KernelRequest &) const {
    ScoreSource source = cast<TopkOp>(op).getSource();
    return {source == ScoreSource::key_score, source == ScoreSource::linear};
  }
};
} // namespace

void mlir::sattn::registerTopkModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    TopkOp::attachInterface<TopkModel, TopkSelection>(*ctx);
  });
}
