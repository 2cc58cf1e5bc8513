//===- TileAttention.cpp - sattn-tile-attention ---------------------------===//

#include "passes/AttentionEmitter.h"
#include "passes/KernelRequest.h"
#include "passes/Passes.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNTILEATTENTION
#include "passes/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;

namespace {
struct TileAttentionPass
    : public mlir::sattn::impl::SattnTileAttentionBase<TileAttentionPass> {
  using SattnTileAttentionBase::SattnTileAttentionBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto emitAttention = [&](KernelRequest &req) {
      OpBuilder builder(req.op.getContext());
      KernelBuilder kb(builder, req.op.getLoc(), module, req.shape,
                       req.elementType);
      AttentionEmitter emitter(kb, req, wgmma);
      return emitter.emit();
    };
    if (failed(forEachScheduledKernel(module, emitAttention)))
      return signalPassFailure();
    SmallVector<KernelOp> ops;
    module.walk([&](KernelOp op) { ops.push_back(op); });
    // Only kernel functions remain.
    for (KernelOp op : ops)
      op.erase();
    SmallVector<PatternOp> patterns;
    module.walk([&](PatternOp p) { patterns.push_back(p); });
    for (PatternOp p : patterns)
      p.erase();
  }
};
} // namespace
