//===- KernelConversion.cpp - Shared by the kernel conversions ------------===//

#include "codegen/KernelConversion.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::tile;

static bool isKernelOp(Operation *op) {
  return isa<ForItemsOp, ForRowsOp, CoopForOp, ThreadIdOp, BarrierOp,
             AllocSharedOp, AllocPrivateOp>(op);
}

SmallVector<Operation *> mlir::sattn::kernelOps(Operation *fn) {
  SmallVector<Operation *> ops;
  fn->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isKernelOp(op))
      ops.push_back(op);
  });
  return ops;
}

void mlir::sattn::moveBodyBefore(Region &body, Operation *before,
                                 ValueRange args) {
  Block &block = body.front();
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    arg.replaceAllUsesWith(value);
  auto &into = before->getBlock()->getOperations();
  into.splice(before->getIterator(), block.getOperations(), block.begin(),
              std::prev(block.end()));
}

LogicalResult mlir::sattn::replaceBuffer(Operation *alloc, Value buffer) {
  Value old = alloc->getResult(0);
  auto oldType = cast<MemRefType>(old.getType());
  auto newType = cast<MemRefType>(buffer.getType());
  bool sameSpace = oldType.getMemorySpace() == newType.getMemorySpace();
  for (Operation *user : old.getUsers()) {
    if (isa<memref::LoadOp, memref::StoreOp, vector::LoadOp, vector::StoreOp,
            linalg::LinalgOp, memref::ExtractAlignedPointerAsIndexOp,
            nvgpu::DeviceAsyncCopyOp>(user))
      continue;
    auto view = dyn_cast<memref::SubViewOp>(user);
    if (view && sameSpace && view.getType().getRank() < oldType.getRank())
      continue;
    return user->emitOpError("cannot take the buffer in its converted form ")
           << newType;
  }
  old.replaceAllUsesWith(buffer);
  return success();
}

void mlir::sattn::eraseKernelOps(Operation *fn) {
  SmallVector<Operation *> ops = kernelOps(fn);
  for (Operation *op : llvm::reverse(ops))
    op->erase();
}
