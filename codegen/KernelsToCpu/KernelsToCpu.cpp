//===- KernelsToCpu.cpp - sattn-convert-kernels-to-cpu --------------------===//
//
// On the CPU a work item's "threads" are one thread running everything in
// order: work items, rows and cooperative loops become scf.for loops, the
// thread index is 0, barriers disappear and shared and private buffers are
// stack buffers.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "codegen/KernelConversion.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNCONVERTKERNELSTOCPU
#include "codegen/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::tile;

namespace {

/// A loop [lb, ub) replacing `op`, whose body args all take the induction
/// variable.
void replaceByLoop(OpBuilder &b, Operation *op, Value lb, Value ub,
                   Region &body) {
  Location loc = op->getLoc();
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(b, loc, lb, ub, one);
  Value iv = loop.getInductionVar();
  SmallVector<Value> args(body.getNumArguments(), iv);
  moveBodyBefore(body, loop.getBody()->getTerminator(), args);
}

struct ConvertKernelsToCpuPass
    : public mlir::sattn::impl::SattnConvertKernelsToCpuBase<
          ConvertKernelsToCpuPass> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (!fn->hasAttr(SattnTileDialect::kThreadsAttrName))
        continue;
      fn->removeAttr(SattnTileDialect::kThreadsAttrName);
      OpBuilder b(fn.getContext());
      Value zero;
      for (Operation *op : kernelOps(fn)) {
        b.setInsertionPoint(op);
        Location loc = op->getLoc();
        if (auto items = dyn_cast<ForItemsOp>(op)) {
          replaceByLoop(b, op, items.getBegin(), items.getEnd(),
                        items.getBody());
        } else if (auto rows = dyn_cast<ForRowsOp>(op)) {
          replaceByLoop(b, op, arith::ConstantIndexOp::create(b, loc, 0),
                        arith::ConstantIndexOp::create(b, loc, rows.getRows()),
                        rows.getBody());
        } else if (auto coop = dyn_cast<CoopForOp>(op)) {
          replaceByLoop(b, op, arith::ConstantIndexOp::create(b, loc, 0),
                        coop.getCount(), coop.getBody());
        } else if (auto tid = dyn_cast<ThreadIdOp>(op)) {
          if (!zero) {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(&fn.getBody().front());
            zero = arith::ConstantIndexOp::create(b, loc, 0);
          }
          tid.replaceAllUsesWith(zero);
        } else if (auto shared = dyn_cast<AllocSharedOp>(op)) {
          MemRefType type = shared.getType();
          Value buffer = memref::AllocaOp::create(
              b, loc, MemRefType::get(type.getShape(), type.getElementType()));
          if (failed(replaceBuffer(shared, buffer)))
            return signalPassFailure();
        } else if (auto priv = dyn_cast<AllocPrivateOp>(op)) {
          priv.replaceAllUsesWith(
              memref::AllocaOp::create(b, loc, priv.getType()).getResult());
        }
      }
      eraseKernelOps(fn);
    }
  }
};
} // namespace
