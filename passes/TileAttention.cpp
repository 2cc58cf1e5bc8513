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
    SmallVector<KernelOp> ops;
    module.walk([&](KernelOp op) { ops.push_back(op); });
    for (KernelOp op : ops) {
      FailureOr<KernelRequest> req = loadKernelRequest(op, true);
      if (failed(req))
        return signalPassFailure();
      Operation *container = kernelContainer(module, req->target);
      OpBuilder builder(op.getContext());
      KernelBuilder kb(builder, op.getLoc(), req->target, req->shape,
                       req->elementType);
      AttentionEmitter emitter(kb, req->spec, req->schedule,
                               req->primitiveOps);
      if (failed(emitter.emit(container)))
        return signalPassFailure();
    }
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
