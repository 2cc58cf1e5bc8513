//===- TileAttention.cpp - sattn-tile-attention ---------------------------===//

#include "passes/AttentionEmitter.h"
#include "passes/KernelRequest.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNTILEATTENTION
#include "passes/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::lowering;

namespace {
struct TileAttentionPass
    : public mlir::sattn::impl::SattnTileAttentionBase<TileAttentionPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto emitAttention = [](KernelRequest &req, Operation *container) {
      OpBuilder builder(req.op.getContext());
      KernelBuilder kb(builder, req.op.getLoc(), req.target, req.shape,
                       req.elementType);
      AttentionEmitter emitter(kb, req.spec, req.schedule, req.primitiveOps);
      return emitter.emit(container);
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
