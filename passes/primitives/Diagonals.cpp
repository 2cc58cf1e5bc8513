//===- Diagonals.cpp - Lowering of diagonals ------------------------------===//
//
// `diagonals [d...]` (docs/patterns.md): whole key blocks on the block
// diagonals qb - kb = d.
//
//===----------------------------------------------------------------------===//

#include "passes/PrimitiveInterfaces.h"
#include "passes/primitives/BlockSources.h"
#include "passes/primitives/Models.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::sattn;

namespace {
struct DiagonalsModel
    : KeySourcePrimitive::ExternalModel<DiagonalsModel, DiagonalsOp> {
  TileConstraint getTileConstraint(Operation *,
                                   const KernelRequest &req) const {
    return {req.block, false};
  }
  void appendKeySources(Operation *op, const KernelRequest &,
                        KeySourceList &sources) const {
    sources.push_back(std::make_unique<ListedBlocksSource>(
        cast<DiagonalsOp>(op).getOffsets(), /*columns=*/false));
  }
};
} // namespace

void mlir::sattn::registerDiagonalsModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    DiagonalsOp::attachInterface<DiagonalsModel>(*ctx);
  });
}
