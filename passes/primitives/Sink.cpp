//===- Sink.cpp - Lowering of sink ----------------------------------------===//
//
// `sink n` (docs/patterns.md): keys j < n, one range per tile.
//
//===----------------------------------------------------------------------===//

#include "passes/PrimitiveInterfaces.h"
#include "passes/primitives/Models.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::sattn;

namespace {
class SinkSource : public KeySource {
public:
  explicit SinkSource(int64_t n) : n(n) {}
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    cx.visitRange(tile, self, cx.builder().idx(0), cx.builder().idx(n));
  }
  Value contains(KeySourceContext &cx, const TileContext &, const RowContext &,
                 Value j) override {
    return cx.builder().lt(j, cx.builder().idx(n));
  }
  bool visitsOnlyMembers() const override { return true; }
  Value coversBlock(KeySourceContext &cx, const TileContext &,
                    Value kbValue) override {
    KernelBuilder &kb = cx.builder();
    return kb.le(kb.mul(kb.add(kbValue, kb.idx(1)), cx.patternBlock()),
                 kb.idx(n));
  }
  Value missesRange(KeySourceContext &cx, const TileContext &, Value start,
                    Value) override {
    return cx.builder().ge(start, cx.builder().idx(n));
  }

private:
  int64_t n;
};

struct SinkModel : KeySourcePrimitive::ExternalModel<SinkModel, SinkOp> {
  TileConstraint getTileConstraint(Operation *, const KernelRequest &) const {
    return {};
  }
  void appendKeySources(Operation *op, const KernelRequest &req,
                        KeySourceList &sources) const {
    sources.push_back(
        makeSinkSource(req.intParam(cast<SinkOp>(op).getTokens())));
  }
};
} // namespace

std::unique_ptr<KeySource> mlir::sattn::makeSinkSource(int64_t n) {
  return std::make_unique<SinkSource>(n);
}

void mlir::sattn::registerSinkModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    SinkOp::attachInterface<SinkModel>(*ctx);
  });
}
