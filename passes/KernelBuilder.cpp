//===- KernelBuilder.cpp - Emitting one kernel for the CPU or the GPU -----===//

#include "passes/KernelBuilder.h"

#include "dialect/tile/TileDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelMemref;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;

KernelBuilder::KernelBuilder(OpBuilder &builder, Location loc, ModuleOp module,
                             const KernelShape &shape, Type elementType)
    : builder(builder), location(loc), module(module), kshape(shape),
      elemType(elementType) {}

KernelBuilder::KernelBuilder(OpBuilder &builder, func::FuncOp fn,
                             const KernelShape &shape, Type elementType)
    : builder(builder), location(fn.getLoc()),
      module(fn->getParentOfType<ModuleOp>()), kshape(shape),
      elemType(elementType) {
  function = fn;
  entry = &fn.getBody().front();
  if (auto threads = fn->getAttrOfType<IntegerAttr>(
          tile::SattnTileDialect::kThreadsAttrName))
    numThreads = threads.getInt();
  OpBuilder::InsertionGuard guard(builder);
  bindArguments();
}

FunctionType KernelBuilder::kernelFunctionType() const {
  MLIRContext *ctx = builder.getContext();
  SmallVector<Type> inputs;
  auto f32 = Float32Type::get(ctx);
  auto i32 = IntegerType::get(ctx, 32);
  for (unsigned i = 0; i < ::sattn::kNumKernelMemrefs; ++i) {
    Type elem = i <= unsigned(KernelMemref::Out)            ? elemType
                : i == unsigned(KernelMemref::WorkspaceI32) ? Type(i32)
                                                            : Type(f32);
    inputs.push_back(MemRefType::get({ShapedType::kDynamic}, elem));
  }
  for (unsigned i = 0; i < ::sattn::kNumKernelScalars; ++i)
    inputs.push_back(IntegerType::get(ctx, 64));
  return FunctionType::get(ctx, inputs, {});
}

void KernelBuilder::beginFunction(StringRef name, int64_t threads) {
  numThreads = threads;
  builder.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(builder, location, name, kernelFunctionType());
  fn->setAttr(tile::SattnTileDialect::kThreadsAttrName,
              builder.getI64IntegerAttr(threads));
  function = fn;
  entry = fn.addEntryBlock();
  lastAllocation = nullptr;
  bindArguments();
}

void KernelBuilder::bindArguments() {
  memrefArgs.clear();
  scalarArgs.clear();
  builder.setInsertionPointToStart(entry);
  for (unsigned i = 0; i < ::sattn::kNumKernelMemrefs; ++i)
    memrefArgs.push_back(entry->getArgument(i));
  for (unsigned i = 0; i < ::sattn::kNumKernelScalars; ++i)
    scalarArgs.push_back(arith::IndexCastOp::create(
        builder, location, builder.getIndexType(),
        entry->getArgument(::sattn::kNumKernelMemrefs + i)));
  threadId =
      tile::ThreadIdOp::create(builder, location, builder.getIndexType());
}

void KernelBuilder::endFunction() {
  builder.setInsertionPointToEnd(entry);
  func::ReturnOp::create(builder, location);
  builder.setInsertionPointAfter(function);
}

Value KernelBuilder::memref(KernelMemref which) const {
  return memrefArgs[unsigned(which)];
}
Value KernelBuilder::scalar(KernelScalar which) const {
  return scalarArgs[unsigned(which)];
}
Value KernelBuilder::workspaceOffset(WorkspaceSlot slot) const {
  return scalarArgs[unsigned(KernelScalar::WorkspaceOffset0) + unsigned(slot)];
}

void KernelBuilder::fillBody(Region &body, unsigned args,
                             function_ref<void(ValueRange)> fill) {
  Block *block = new Block();
  for (unsigned i = 0; i < args; ++i)
    block->addArgument(builder.getIndexType(), location);
  body.push_back(block);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(block);
  fill(block->getArguments());
  tile::YieldOp::create(builder, location);
}

void KernelBuilder::forEachWorkItem(function_ref<void(Value)> body) {
  auto op = tile::ForItemsOp::create(builder, location,
                                     scalar(KernelScalar::GridBegin),
                                     scalar(KernelScalar::GridEnd));
  fillBody(op.getBody(), 1, [&](ValueRange args) { body(args[0]); });
}

//===----------------------------------------------------------------------===//
// Arithmetic
//===----------------------------------------------------------------------===//

Value KernelBuilder::idx(int64_t v) {
  return arith::ConstantIndexOp::create(builder, location, v);
}
Value KernelBuilder::f32(double v) {
  return arith::ConstantOp::create(builder, location,
                                   builder.getF32FloatAttr(float(v)));
}
Value KernelBuilder::i32(int64_t v) {
  return arith::ConstantIntOp::create(builder, location, v, 32);
}
Value KernelBuilder::i64(int64_t v) {
  return arith::ConstantIntOp::create(builder, location, v, 64);
}
Value KernelBuilder::boolean(bool v) {
  return arith::ConstantIntOp::create(builder, location, v, 1);
}
Value KernelBuilder::add(Value a, Value c) {
  return arith::AddIOp::create(builder, location, a, c);
}
Value KernelBuilder::sub(Value a, Value c) {
  return arith::SubIOp::create(builder, location, a, c);
}
Value KernelBuilder::mul(Value a, Value c) {
  return arith::MulIOp::create(builder, location, a, c);
}
Value KernelBuilder::floorDiv(Value a, Value c) {
  return arith::FloorDivSIOp::create(builder, location, a, c);
}
Value KernelBuilder::floorMod(Value a, Value c) {
  return sub(a, mul(floorDiv(a, c), c));
}
Value KernelBuilder::ceilDiv(Value a, Value c) {
  return arith::CeilDivSIOp::create(builder, location, a, c);
}
Value KernelBuilder::min(Value a, Value c) {
  return arith::MinSIOp::create(builder, location, a, c);
}
Value KernelBuilder::max(Value a, Value c) {
  return arith::MaxSIOp::create(builder, location, a, c);
}
Value KernelBuilder::cmp(arith::CmpIPredicate pred, Value a, Value c) {
  return arith::CmpIOp::create(builder, location, pred, a, c);
}
Value KernelBuilder::select(Value cond, Value a, Value c) {
  return arith::SelectOp::create(builder, location, cond, a, c);
}
Value KernelBuilder::andI(Value a, Value c) {
  return arith::AndIOp::create(builder, location, a, c);
}
Value KernelBuilder::orI(Value a, Value c) {
  return arith::OrIOp::create(builder, location, a, c);
}
Value KernelBuilder::notI(Value a) {
  return arith::XOrIOp::create(builder, location, a, boolean(true));
}
Value KernelBuilder::toIndex(Value v) {
  if (v.getType().isIndex())
    return v;
  return arith::IndexCastOp::create(builder, location, builder.getIndexType(),
                                    v);
}
Value KernelBuilder::toI64(Value v) {
  return arith::IndexCastOp::create(builder, location, builder.getI64Type(),
                                    toIndex(v));
}
Value KernelBuilder::toI32(Value v) {
  return arith::IndexCastOp::create(builder, location, builder.getI32Type(),
                                    toIndex(v));
}

Value KernelBuilder::fadd(Value a, Value c) {
  return arith::AddFOp::create(builder, location, a, c);
}
Value KernelBuilder::fsub(Value a, Value c) {
  return arith::SubFOp::create(builder, location, a, c);
}
Value KernelBuilder::fmul(Value a, Value c) {
  return arith::MulFOp::create(builder, location, a, c);
}
Value KernelBuilder::fdiv(Value a, Value c) {
  return arith::DivFOp::create(builder, location, a, c);
}
Value KernelBuilder::fmax(Value a, Value c) {
  return arith::MaximumFOp::create(builder, location, a, c);
}
Value KernelBuilder::fcmp(arith::CmpFPredicate pred, Value a, Value c) {
  return arith::CmpFOp::create(builder, location, pred, a, c);
}
// Fast forms of these (ex2.approx on the GPU) are the target conversions'
// choice, not the kernel's.
Value KernelBuilder::exp2(Value a) {
  return math::Exp2Op::create(builder, location, a);
}
Value KernelBuilder::log2(Value a) {
  return math::Log2Op::create(builder, location, a);
}
Value KernelBuilder::exp(Value a) {
  return math::ExpOp::create(builder, location, a);
}
Value KernelBuilder::log(Value a) {
  return math::LogOp::create(builder, location, a);
}
Value KernelBuilder::negInf() {
  return f32(-std::numeric_limits<double>::infinity());
}
Value KernelBuilder::sitofp(Value indexValue) {
  return arith::SIToFPOp::create(builder, location, builder.getF32Type(),
                                 toI64(indexValue));
}

//===----------------------------------------------------------------------===//
// Control flow
//===----------------------------------------------------------------------===//

void KernelBuilder::forRange(Value lb, Value ub, Value step,
                             function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(builder, location, lb, ub, step);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVar());
}

SmallVector<Value> KernelBuilder::forRangeCarry(
    Value lb, Value ub, Value step, ValueRange init,
    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  auto loop = scf::ForOp::create(builder, location, lb, ub, step, init);
  {
    OpBuilder::InsertionGuard guard(builder);
    Block *blk = loop.getBody();
    if (!blk->empty() && blk->back().hasTrait<OpTrait::IsTerminator>())
      blk->back().erase();
    builder.setInsertionPointToEnd(blk);
    SmallVector<Value> next =
        body(loop.getInductionVar(), loop.getRegionIterArgs());
    scf::YieldOp::create(builder, location, next);
  }
  return SmallVector<Value>(loop.getResults());
}

void KernelBuilder::ifThen(Value cond, function_ref<void()> thenBody) {
  auto op = scf::IfOp::create(builder, location, TypeRange(), cond,
                              /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(op.thenBlock()->getTerminator());
  thenBody();
}

SmallVector<Value>
KernelBuilder::ifThenElse(Value cond, TypeRange types,
                          function_ref<SmallVector<Value>()> thenBody,
                          function_ref<SmallVector<Value>()> elseBody) {
  auto op = scf::IfOp::create(builder, location, types, cond,
                              /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(builder);
  for (int side = 0; side < 2; ++side) {
    Block *blk = side == 0 ? op.thenBlock() : op.elseBlock();
    if (!blk->empty() && blk->back().hasTrait<OpTrait::IsTerminator>())
      blk->back().erase();
    builder.setInsertionPointToEnd(blk);
    SmallVector<Value> vals = side == 0 ? thenBody() : elseBody();
    scf::YieldOp::create(builder, location, vals);
  }
  return SmallVector<Value>(op.getResults());
}

SmallVector<Value>
KernelBuilder::whileLoop(ValueRange init, function_ref<Value(ValueRange)> cond,
                         function_ref<SmallVector<Value>(ValueRange)> body) {
  SmallVector<Type> types(init.getTypes());
  auto op = scf::WhileOp::create(
      builder, location, types, init,
      [&](OpBuilder &, Location, ValueRange args) {
        Value c = cond(args);
        scf::ConditionOp::create(builder, location, c, args);
      },
      [&](OpBuilder &, Location, ValueRange args) {
        SmallVector<Value> next = body(args);
        scf::YieldOp::create(builder, location, next);
      });
  return SmallVector<Value>(op.getResults());
}

//===----------------------------------------------------------------------===//
// Parallelism
//===----------------------------------------------------------------------===//

void KernelBuilder::rowLoop(int64_t rows,
                            function_ref<void(Value, Value)> body) {
  auto op = tile::ForRowsOp::create(builder, location, rows);
  fillBody(op.getBody(), 2, [&](ValueRange args) { body(args[0], args[1]); });
}

void KernelBuilder::coopLoop(Value n, function_ref<void(Value)> body) {
  auto op = tile::CoopForOp::create(builder, location, n);
  fillBody(op.getBody(), 1, [&](ValueRange args) { body(args[0]); });
}

void KernelBuilder::singleThread(function_ref<void()> body) {
  ifThen(eq(threadId, idx(0)), body);
}

void KernelBuilder::barrier() { tile::BarrierOp::create(builder, location); }

void KernelBuilder::setAllocationPoint() {
  if (lastAllocation)
    builder.setInsertionPointAfter(lastAllocation);
  else
    builder.setInsertionPointToStart(entry);
}

Value KernelBuilder::sharedAlloc(ArrayRef<int64_t> shape, Type type,
                                 int64_t alignment) {
  auto space = gpu::AddressSpaceAttr::get(builder.getContext(),
                                          gpu::AddressSpace::Workgroup);
  auto memType =
      MemRefType::get(shape, type, MemRefLayoutAttrInterface(), space);
  OpBuilder::InsertionGuard guard(builder);
  setAllocationPoint();
  IntegerAttr align;
  if (alignment != 16)
    align = builder.getI64IntegerAttr(alignment);
  auto op = tile::AllocSharedOp::create(builder, location, memType, align);
  lastAllocation = op;
  return op;
}

Value KernelBuilder::privateAlloc(ArrayRef<int64_t> perRow, Type type) {
  SmallVector<int64_t> shape;
  shape.push_back(numThreads);
  shape.append(perRow.begin(), perRow.end());
  OpBuilder::InsertionGuard guard(builder);
  setAllocationPoint();
  auto op = tile::AllocPrivateOp::create(builder, location,
                                         MemRefType::get(shape, type));
  lastAllocation = op;
  return op;
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

Value KernelBuilder::load(Value memref, ValueRange indices) {
  return memref::LoadOp::create(builder, location, memref, indices);
}
void KernelBuilder::store(Value value, Value memref, ValueRange indices) {
  memref::StoreOp::create(builder, location, value, memref, indices);
}

Value KernelBuilder::tensorOffset(KernelScalar strideB, Value bb, Value h,
                                  Value s, Value d) {
  unsigned base = unsigned(strideB);
  Value off = add(mul(bb, scalarArgs[base]), mul(h, scalarArgs[base + 1]));
  off = add(off, mul(s, scalarArgs[base + 2]));
  return d ? add(off, d) : off;
}

/// The first (batch) stride scalar of a tensor; its head and sequence
/// strides follow it in the ABI.
static KernelScalar batchStride(KernelMemref which) {
  return which == KernelMemref::Q     ? KernelScalar::QStrideB
         : which == KernelMemref::K   ? KernelScalar::KStrideB
         : which == KernelMemref::V   ? KernelScalar::VStrideB
         : which == KernelMemref::Out ? KernelScalar::OutStrideB
                                      : KernelScalar::LseStrideB;
}

Value KernelBuilder::stride(KernelMemref which, unsigned dim) const {
  return scalarArgs[unsigned(batchStride(which)) + dim];
}

Value KernelBuilder::tensorIndex(KernelMemref which, Value bb, Value h, Value s,
                                 Value d) {
  return tensorOffset(batchStride(which), bb, h, s, d);
}

Value KernelBuilder::loadElement(KernelMemref which, Value offset) {
  Value v = load(memref(which), offset);
  if (!v.getType().isF32())
    v = arith::ExtFOp::create(builder, location, builder.getF32Type(), v);
  return v;
}

Value KernelBuilder::loadQ(Value bb, Value h, Value i, Value d) {
  return loadElement(KernelMemref::Q,
                     tensorOffset(KernelScalar::QStrideB, bb, h, i, d));
}
Value KernelBuilder::loadK(Value bb, Value g, Value j, Value d) {
  return loadElement(KernelMemref::K,
                     tensorOffset(KernelScalar::KStrideB, bb, g, j, d));
}
Value KernelBuilder::loadV(Value bb, Value g, Value j, Value d) {
  return loadElement(KernelMemref::V,
                     tensorOffset(KernelScalar::VStrideB, bb, g, j, d));
}
void KernelBuilder::storeOut(Value value, Value bb, Value h, Value i, Value d) {
  if (!elemType.isF32())
    value = arith::TruncFOp::create(builder, location, elemType, value);
  store(value, memref(KernelMemref::Out),
        tensorOffset(KernelScalar::OutStrideB, bb, h, i, d));
}
void KernelBuilder::storeLse(Value value, Value bb, Value h, Value i) {
  store(value, memref(KernelMemref::Lse),
        tensorOffset(KernelScalar::LseStrideB, bb, h, i, Value()));
}

Value KernelBuilder::loadWs(WorkspaceSlot slot, Value offset) {
  Value at = add(workspaceOffset(slot), offset);
  if (::sattn::isFloatSlot(slot))
    return load(memref(KernelMemref::WorkspaceF32), at);
  return toIndex(load(memref(KernelMemref::WorkspaceI32), at));
}

void KernelBuilder::storeWs(WorkspaceSlot slot, Value offset, Value value) {
  Value at = add(workspaceOffset(slot), offset);
  if (::sattn::isFloatSlot(slot)) {
    store(value, memref(KernelMemref::WorkspaceF32), at);
    return;
  }
  if (value.getType().isIndex())
    value = toI32(value);
  store(value, memref(KernelMemref::WorkspaceI32), at);
}
