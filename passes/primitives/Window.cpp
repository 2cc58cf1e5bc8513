//===- Window.cpp - Lowering of window ------------------------------------===//
//
// `window` (docs/patterns.md): token windows p - w < j <= p (w fixed, or
// max(B, round(f Sk)) for a fraction) as one range per tile; block windows
// 0 <= qb - kb < W as whole key blocks.
//
//===----------------------------------------------------------------------===//

#include "passes/PrimitiveInterfaces.h"
#include "passes/primitives/BlockSources.h"
#include "passes/primitives/Models.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::sattn;

namespace {
/// Token windows: a fixed width, or a fraction of Sk.
class TokenWindowSource : public KeySource {
public:
  TokenWindowSource(int64_t width, double fraction, bool isFraction)
      : width(width), fraction(fraction), isFraction(isFraction) {}
  Value widthValue(KeySourceContext &cx, const TileContext &tile) {
    KernelBuilder &kb = cx.builder();
    return isFraction
               ? fractionWindow(kb, fraction, cx.request().block, tile.seqK)
               : kb.idx(width);
  }
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    Value w = widthValue(cx, tile);
    Value start = kb.add(kb.sub(tile.firstPos, w), kb.idx(1));
    Value end = kb.min(kb.add(tile.lastPos, kb.idx(1)), tile.seqK);
    cx.visitRange(tile, self, start, end);
  }
  Value contains(KeySourceContext &cx, const TileContext &tile,
                 const RowContext &row, Value j) override {
    return inTokenWindow(cx.builder(), row.pos, j, widthValue(cx, tile));
  }
  Value coversRange(KeySourceContext &cx, const TileContext &tile, Value start,
                    Value end) override {
    return windowCoversRange(cx.builder(), tile, widthValue(cx, tile), start,
                             end);
  }
  Value missesRange(KeySourceContext &cx, const TileContext &tile, Value start,
                    Value end) override {
    KernelBuilder &kb = cx.builder();
    Value w = widthValue(cx, tile);
    // Every key before the first row's window, or after the last row.
    Value before = kb.le(kb.sub(end, kb.idx(1)), kb.sub(tile.firstPos, w));
    return kb.orI(before, kb.gt(start, tile.lastPos));
  }

private:
  int64_t width;
  double fraction;
  bool isFraction;
};

class BlockWindowSource : public BlockSource {
public:
  explicit BlockWindowSource(int64_t blocks) : blocks(blocks) {}
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    Value first = kb.add(kb.sub(tile.queryBlock, kb.idx(blocks)), kb.idx(1));
    kb.forRange(
        kb.max(first, kb.idx(0)), kb.add(tile.queryBlock, kb.idx(1)),
        [&](Value kbValue) { visitBlockIfNew(cx, tile, self, kbValue); });
  }
  Value keeps(KeySourceContext &cx, const TileContext &, Value qb,
              Value kbValue) override {
    KernelBuilder &kb = cx.builder();
    Value dist = kb.sub(qb, kbValue);
    return kb.andI(kb.ge(dist, kb.idx(0)), kb.lt(dist, kb.idx(blocks)));
  }

private:
  int64_t blocks;
};

struct WindowModel : KeySourcePrimitive::ExternalModel<WindowModel, WindowOp> {
  TileConstraint getTileConstraint(Operation *op,
                                   const KernelRequest &req) const {
    TileConstraint c;
    if (cast<WindowOp>(op).getUnit() == WindowUnit::blocks)
      c.block = req.block;
    return c;
  }
  void appendKeySources(Operation *op, const KernelRequest &req,
                        KeySourceList &sources) const {
    auto window = cast<WindowOp>(op);
    switch (window.getUnit()) {
    case WindowUnit::tokens:
      sources.push_back(makeTokenWindowSource(req.intParam(window.getSize())));
      return;
    case WindowUnit::fraction:
      sources.push_back(std::make_unique<TokenWindowSource>(
          0, req.floatParam(window.getSize()), /*isFraction=*/true));
      return;
    case WindowUnit::blocks:
      sources.push_back(
          std::make_unique<BlockWindowSource>(req.intParam(window.getSize())));
      return;
    }
  }
};
} // namespace

std::unique_ptr<KeySource> mlir::sattn::makeTokenWindowSource(int64_t w) {
  return std::make_unique<TokenWindowSource>(w, 0.0, /*isFraction=*/false);
}

void mlir::sattn::registerWindowModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    WindowOp::attachInterface<WindowModel>(*ctx);
  });
}
