//===- Strides.cpp - Lowering of strides ----------------------------------===//
//
// `strides` (docs/patterns.md): key blocks at block distance d = qb - kb that
// is a power of two, a multiple of `every`, or listed; walked in closed form.
//
//===----------------------------------------------------------------------===//

#include "passes/PrimitiveInterfaces.h"
#include "passes/primitives/BlockSources.h"
#include "passes/primitives/Models.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::sattn;

namespace {
class Pow2StridesSource : public BlockSource {
public:
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    // Distances d = 1, 2, 4, ... while d <= qb.
    kb.whileLoop(
        {kb.idx(1)}, [&](ValueRange d) { return kb.le(d[0], tile.queryBlock); },
        [&](ValueRange d) {
          visitBlockIfNew(cx, tile, self, kb.sub(tile.queryBlock, d[0]));
          return SmallVector<Value>{kb.add(d[0], d[0])};
        });
  }
  Value keeps(KeySourceContext &cx, const TileContext &, Value qb,
              Value kbValue) override {
    KernelBuilder &kb = cx.builder();
    Value d = kb.sub(qb, kbValue);
    Value pow2 =
        kb.eq(arith::AndIOp::create(kb.b(), kb.loc(), d, kb.sub(d, kb.idx(1))),
              kb.idx(0));
    return kb.andI(kb.ge(d, kb.idx(1)), pow2);
  }
};

class EveryStridesSource : public BlockSource {
public:
  explicit EveryStridesSource(int64_t every) : every(every) {}
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    Value count =
        kb.floorDiv(kb.max(tile.queryBlock, kb.idx(0)), kb.idx(every));
    kb.forRange(kb.idx(1), kb.add(count, kb.idx(1)), [&](Value t) {
      visitBlockIfNew(cx, tile, self,
                      kb.sub(tile.queryBlock, kb.mul(t, kb.idx(every))));
    });
  }
  Value keeps(KeySourceContext &cx, const TileContext &, Value qb,
              Value kbValue) override {
    KernelBuilder &kb = cx.builder();
    Value d = kb.sub(qb, kbValue);
    return kb.andI(kb.ge(d, kb.idx(1)),
                   kb.eq(kb.floorMod(d, kb.idx(every)), kb.idx(0)));
  }

private:
  int64_t every;
};

struct StridesModel
    : KeySourcePrimitive::ExternalModel<StridesModel, StridesOp> {
  TileConstraint getTileConstraint(Operation *,
                                   const KernelRequest &req) const {
    return {req.block, false};
  }
  void appendKeySources(Operation *op, const KernelRequest &req,
                        KeySourceList &sources) const {
    auto strides = cast<StridesOp>(op);
    switch (strides.getKind()) {
    case StrideKind::pow2:
      sources.push_back(std::make_unique<Pow2StridesSource>());
      return;
    case StrideKind::every:
      sources.push_back(std::make_unique<EveryStridesSource>(
          req.intParam(strides.getEveryAttr())));
      return;
    case StrideKind::list:
      sources.push_back(std::make_unique<ListedBlocksSource>(
          strides.getDistances().value_or(ArrayRef<int64_t>()),
          /*columns=*/false));
      return;
    }
  }
};
} // namespace

void mlir::sattn::registerStridesModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    StridesOp::attachInterface<StridesModel>(*ctx);
  });
}
