//===- Columns.cpp - Lowering of columns ----------------------------------===//
//
// `columns [c...]` (docs/patterns.md): whole key blocks kb = c.
//
//===----------------------------------------------------------------------===//

#include "passes/PrimitiveInterfaces.h"
#include "passes/primitives/BlockSources.h"
#include "passes/primitives/Models.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::sattn;

namespace {
struct ColumnsModel
    : KeySourcePrimitive::ExternalModel<ColumnsModel, ColumnsOp> {
  TileConstraint getTileConstraint(Operation *,
                                   const KernelRequest &req) const {
    return {req.block, false};
  }
  void appendKeySources(Operation *op, const KernelRequest &,
                        KeySourceList &sources) const {
    sources.push_back(std::make_unique<ListedBlocksSource>(
        cast<ColumnsOp>(op).getBlocks(), /*columns=*/true));
  }
};
} // namespace

void mlir::sattn::registerColumnsModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    ColumnsOp::attachInterface<ColumnsModel>(*ctx);
  });
}
