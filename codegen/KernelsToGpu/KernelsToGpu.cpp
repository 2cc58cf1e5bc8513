//===- KernelsToGpu.cpp - sattn-convert-kernels-to-gpu --------------------===//
//
// Every kernel function becomes a gpu.func kernel in the `sattn_kernels`
// gpu.module: a work item per thread block, a row per thread, cooperative
// loops strided by the block's threads, shared buffers as 16-byte aligned
// workgroup attributions (the NVPTX back-end vectorises shared loads to 16
// bytes but declares buffers with their element alignment) or, when they
// exceed the 48 KB a block may declare statically, as views into dynamic
// shared memory (the kernel's kDynamicSharedBytesAttr says how much the
// launch must request), private
// buffers of one row per thread. f32 exp and log become ex2.approx and
// lg2.approx in inline PTX, so that no libdevice symbol is needed; f64 keeps
// math ops (libdevice).
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "codegen/KernelConversion.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"

#include "llvm/Support/MathExtras.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNCONVERTKERNELSTOGPU
#include "codegen/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::tile;

namespace {

/// A one-operand, one-result PTX instruction.
Value inlinePtx(OpBuilder &b, Location loc, StringRef code, Value operand) {
  auto op = NVVM::InlinePtxOp::create(b, loc, TypeRange{operand.getType()},
                                      ValueRange{operand}, ValueRange{},
                                      b.getStringAttr(code), Value());
  return op->getResult(0);
}

Value f32Constant(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
}

/// f32 exp, exp2, log and log2 through ex2.approx / lg2.approx.
void lowerFastMath(gpu::GPUFuncOp fn) {
  SmallVector<Operation *> ops;
  fn.walk([&](Operation *op) {
    if (isa<math::ExpOp, math::Exp2Op, math::LogOp, math::Log2Op>(op) &&
        op->getResult(0).getType().isF32())
      ops.push_back(op);
  });
  OpBuilder b(fn.getContext());
  for (Operation *op : ops) {
    b.setInsertionPoint(op);
    Location loc = op->getLoc();
    Value x = op->getOperand(0), result;
    if (isa<math::ExpOp>(op))
      x = arith::MulFOp::create(b, loc, x,
                                f32Constant(b, loc, 1.4426950408889634));
    if (isa<math::ExpOp, math::Exp2Op>(op)) {
      result = inlinePtx(b, loc, "ex2.approx.ftz.f32 $0, $1;", x);
    } else {
      result = inlinePtx(b, loc, "lg2.approx.ftz.f32 $0, $1;", x);
      if (isa<math::LogOp>(op))
        result = arith::MulFOp::create(b, loc, result,
                                       f32Constant(b, loc, 0.6931471805599453));
    }
    op->getResult(0).replaceAllUsesWith(result);
    op->erase();
  }
}

/// Shared memory a block may declare statically.
constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;

/// Replaces the shared buffers of `kernel` by views into its dynamic shared
/// memory when together they exceed kMaxStaticSharedBytes; returns the bytes
/// a launch must request (0: the buffers stay static).
int64_t carveDynamicShared(gpu::GPUFuncOp kernel) {
  SmallVector<AllocSharedOp> allocs;
  kernel.walk([&](AllocSharedOp op) { allocs.push_back(op); });
  DataLayout layout = DataLayout::closest(kernel);
  SmallVector<int64_t> offsets;
  int64_t total = 0, maxAlign = 16;
  for (AllocSharedOp op : allocs) {
    int64_t align = op.getAlignment().value_or(16);
    maxAlign = std::max(maxAlign, align);
    total = llvm::alignTo(total, align);
    offsets.push_back(total);
    total += op.getType().getNumElements() *
             int64_t(layout.getTypeSize(op.getType().getElementType()));
  }
  if (total <= kMaxStaticSharedBytes)
    return 0;
  OpBuilder b(kernel.getContext());
  b.setInsertionPointToStart(&kernel.getBody().front());
  Location loc = kernel.getLoc();
  auto space =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto bytesType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                   MemRefLayoutAttrInterface(), space);
  Value dynamic = gpu::DynamicSharedMemoryOp::create(b, loc, bytesType);
  // The base is only known to be 16-byte aligned: the offsets start at the
  // first address aligned for every buffer, and the launch requests the
  // slack.
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, dynamic);
  Value mask = arith::ConstantIndexOp::create(b, loc, maxAlign - 1);
  Value pad = arith::AndIOp::create(
      b, loc,
      arith::SubIOp::create(b, loc, arith::ConstantIndexOp::create(b, loc, 0),
                            base),
      mask);
  for (auto [op, offset] : llvm::zip(allocs, offsets)) {
    Value at = arith::AddIOp::create(
        b, loc, pad, arith::ConstantIndexOp::create(b, loc, offset));
    Value view =
        memref::ViewOp::create(b, loc, op.getType(), dynamic, at, ValueRange{});
    op.replaceAllUsesWith(view);
    op.erase();
  }
  return total + maxAlign - 16;
}

/// The gpu.module kernels go into (created on first use).
gpu::GPUModuleOp kernelModule(ModuleOp module) {
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>("sattn_kernels"))
    return existing;
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(module.getContext()));
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  return gpu::GPUModuleOp::create(b, module.getLoc(), "sattn_kernels");
}

/// Moves `fn` into `into` as a gpu.func kernel of `threads` threads.
gpu::GPUFuncOp moveToKernel(func::FuncOp fn, gpu::GPUModuleOp into,
                            int64_t threads) {
  OpBuilder b(fn.getContext());
  b.setInsertionPointToEnd(into.getBody());
  auto kernel = gpu::GPUFuncOp::create(b, fn.getLoc(), fn.getName(),
                                       fn.getFunctionType());
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  kernel.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));
  Block &from = fn.getBody().front();
  Block &to = kernel.getBody().front();
  for (auto [arg, newArg] : llvm::zip(from.getArguments(), to.getArguments()))
    arg.replaceAllUsesWith(newArg);
  to.getOperations().splice(to.end(), from.getOperations());
  Operation *ret = to.getTerminator();
  b.setInsertionPoint(ret);
  gpu::ReturnOp::create(b, ret->getLoc());
  ret->erase();
  fn.erase();
  return kernel;
}

struct ConvertKernelsToGpuPass
    : public mlir::sattn::impl::SattnConvertKernelsToGpuBase<
          ConvertKernelsToGpuPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> functions;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr(SattnTileDialect::kThreadsAttrName))
        functions.push_back(fn);
    if (functions.empty())
      return;
    gpu::GPUModuleOp into = kernelModule(module);
    for (func::FuncOp fn : functions) {
      int64_t threads =
          fn->getAttrOfType<IntegerAttr>(SattnTileDialect::kThreadsAttrName)
              .getInt();
      gpu::GPUFuncOp kernel = moveToKernel(fn, into, threads);
      if (failed(lowerKernel(kernel, threads)))
        return signalPassFailure();
      lowerFastMath(kernel);
    }
  }

  LogicalResult lowerKernel(gpu::GPUFuncOp kernel, int64_t threads) {
    OpBuilder b(kernel.getContext());
    Block &entry = kernel.getBody().front();
    b.setInsertionPointToStart(&entry);
    Value tid = gpu::ThreadIdOp::create(b, kernel.getLoc(), gpu::Dimension::x);
    if (int64_t bytes = carveDynamicShared(kernel))
      kernel->setAttr(SattnTileDialect::kDynamicSharedBytesAttrName,
                      b.getI64IntegerAttr(bytes));
    for (Operation *op : kernelOps(kernel)) {
      b.setInsertionPoint(op);
      Location loc = op->getLoc();
      if (auto items = dyn_cast<ForItemsOp>(op)) {
        Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
        Value item = arith::AddIOp::create(b, loc, items.getBegin(), block);
        Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                              item, items.getEnd());
        auto guard = scf::IfOp::create(b, loc, TypeRange(), inRange,
                                       /*withElseRegion=*/false);
        moveBodyBefore(items.getBody(), guard.thenBlock()->getTerminator(),
                       {item});
      } else if (auto rows = dyn_cast<ForRowsOp>(op)) {
        Value zero = arith::ConstantIndexOp::create(b, loc, 0);
        if (int64_t(rows.getRows()) >= threads) {
          moveBodyBefore(rows.getBody(), op, {tid, zero});
          continue;
        }
        Value limit = arith::ConstantIndexOp::create(b, loc, rows.getRows());
        Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                             tid, limit);
        auto guard = scf::IfOp::create(b, loc, TypeRange(), active,
                                       /*withElseRegion=*/false);
        moveBodyBefore(rows.getBody(), guard.thenBlock()->getTerminator(),
                       {tid, zero});
      } else if (auto coop = dyn_cast<CoopForOp>(op)) {
        Value step = arith::ConstantIndexOp::create(b, loc, threads);
        auto loop = scf::ForOp::create(b, loc, tid, coop.getCount(), step);
        moveBodyBefore(coop.getBody(), loop.getBody()->getTerminator(),
                       {loop.getInductionVar()});
      } else if (auto id = dyn_cast<ThreadIdOp>(op)) {
        id.replaceAllUsesWith(tid);
      } else if (isa<BarrierOp>(op)) {
        gpu::BarrierOp::create(b, loc);
      } else if (auto shared = dyn_cast<AllocSharedOp>(op)) {
        BlockArgument buffer =
            kernel.addWorkgroupAttribution(shared.getType(), loc);
        kernel.setWorkgroupAttributionAttr(
            kernel.getNumWorkgroupAttributions() - 1,
            LLVM::LLVMDialect::getAlignAttrName(),
            b.getI64IntegerAttr(shared.getAlignment().value_or(16)));
        shared.replaceAllUsesWith(buffer);
      } else if (auto priv = dyn_cast<AllocPrivateOp>(op)) {
        SmallVector<int64_t> shape(priv.getType().getShape());
        shape[0] = 1;
        Value buffer = memref::AllocaOp::create(
            b, loc, MemRefType::get(shape, priv.getType().getElementType()));
        if (failed(replaceBuffer(priv, buffer)))
          return failure();
      }
    }
    eraseKernelOps(kernel);
    return success();
  }
};
} // namespace
