//===- KernelBuilder.h - Writing a kernel once for every target -*- C++ -*-===//
//
// The passes write every kernel (selection stages and attention) once,
// against this builder, in target-independent IR: index arithmetic, scf,
// memref, math, and sattn_tile's parallel constructs, which the per-target
// conversions in codegen/ lower:
//
//   builder call           op                        CPU            GPU
//   forEachWorkItem        sattn_tile.for_items      scf.for        block id
//   rowLoop(r)             sattn_tile.for_rows       scf.for r      r = thread
//   coopLoop(i < n)        sattn_tile.coop_for       scf.for i      i = tid; i
//   += ntid barrier()              sattn_tile.barrier        nothing
//   gpu.barrier sharedAlloc            sattn_tile.alloc_shared   alloca
//   workgroup buffer privateAlloc           sattn_tile.alloc_private  [rows,
//   ...]    [1, ...]
//
// Every function has the calling convention of sattn/KernelAbi.h
// (KernelMemref, KernelScalar), so that the runtime launches them all the
// same way.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_KERNELBUILDER_H
#define SATTN_PASSES_KERNELBUILDER_H

#include "passes/KernelRequest.h"

#include "sattn/KernelAbi.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::sattn {

class KernelBuilder {
public:
  /// Kernel functions go into `module`.
  KernelBuilder(OpBuilder &builder, Location loc, ModuleOp module,
                const KernelShape &shape, Type elementType);
  /// Continues an existing kernel function (the conversions of codegen/);
  /// only the shape fields they read need to be set.
  KernelBuilder(OpBuilder &builder, func::FuncOp function,
                const KernelShape &shape, Type elementType);

  /// The function type of every kernel function.
  FunctionType kernelFunctionType() const;
  /// Creates a kernel function in the module and moves the insertion point
  /// into it. `threads` is the GPU block size and the CPU's rows per item
  /// (the function's sattn_tile.threads).
  void beginFunction(StringRef name, int64_t threads);
  /// Terminates the function.
  void endFunction();

  OpBuilder &b() { return builder; }
  Location loc() const { return location; }
  const KernelShape &shape() const { return kshape; }
  Type elementType() const { return elemType; }
  int64_t threads() const { return numThreads; }

  Value memref(::sattn::KernelMemref which) const;
  /// A scalar argument as an index.
  Value scalar(::sattn::KernelScalar which) const;
  Value workspaceOffset(::sattn::WorkspaceSlot slot) const;

  /// Makes `body` a single block with `args` index arguments, fills it and
  /// ends it with sattn_tile.yield.
  void fillBody(Region &body, unsigned args,
                function_ref<void(ValueRange)> fill);
  /// Calls `body(item)` for every work item in [GridBegin, GridEnd).
  void forEachWorkItem(function_ref<void(Value item)> body);

  // Constants and integer arithmetic on index values.
  Value idx(int64_t v);
  Value f32(double v);
  Value i32(int64_t v);
  Value i64(int64_t v);
  Value boolean(bool v);
  Value add(Value a, Value c);
  Value sub(Value a, Value c);
  Value mul(Value a, Value c);
  /// Floor division and modulo (the spec's integer division).
  Value floorDiv(Value a, Value c);
  Value floorMod(Value a, Value c);
  Value ceilDiv(Value a, Value c);
  Value min(Value a, Value c);
  Value max(Value a, Value c);
  Value cmp(arith::CmpIPredicate pred, Value a, Value c);
  Value lt(Value a, Value c) { return cmp(arith::CmpIPredicate::slt, a, c); }
  Value le(Value a, Value c) { return cmp(arith::CmpIPredicate::sle, a, c); }
  Value eq(Value a, Value c) { return cmp(arith::CmpIPredicate::eq, a, c); }
  Value ge(Value a, Value c) { return cmp(arith::CmpIPredicate::sge, a, c); }
  Value gt(Value a, Value c) { return cmp(arith::CmpIPredicate::sgt, a, c); }
  Value ne(Value a, Value c) { return cmp(arith::CmpIPredicate::ne, a, c); }
  Value select(Value cond, Value a, Value c);
  Value andI(Value a, Value c);
  Value orI(Value a, Value c);
  Value notI(Value a);
  Value toIndex(Value v);
  Value toI64(Value v);
  Value toI32(Value v);

  // Floating point (f32).
  Value fadd(Value a, Value c);
  Value fsub(Value a, Value c);
  Value fmul(Value a, Value c);
  Value fdiv(Value a, Value c);
  Value fmax(Value a, Value c);
  Value fcmp(arith::CmpFPredicate pred, Value a, Value c);
  Value exp(Value a);
  /// 2^a (ex2.approx on the GPU for f32).
  Value exp2(Value a);
  Value log(Value a);
  /// log2(a) (lg2.approx on the GPU for f32).
  Value log2(Value a);
  Value negInf();
  Value sitofp(Value indexValue);

  // Structured control flow.
  void forRange(Value lb, Value ub, Value step, function_ref<void(Value)> body);
  void forRange(Value lb, Value ub, function_ref<void(Value)> body) {
    forRange(lb, ub, idx(1), body);
  }
  /// A loop carrying values: body(iv, carried) returns the next values.
  SmallVector<Value>
  forRangeCarry(Value lb, Value ub, Value step, ValueRange init,
                function_ref<SmallVector<Value>(Value, ValueRange)> body);
  void ifThen(Value cond, function_ref<void()> thenBody);
  /// if/else yielding values of `types`.
  SmallVector<Value> ifThenElse(Value cond, TypeRange types,
                                function_ref<SmallVector<Value>()> thenBody,
                                function_ref<SmallVector<Value>()> elseBody);
  /// while (cond(carried)) carried = body(carried).
  SmallVector<Value>
  whileLoop(ValueRange init, function_ref<Value(ValueRange)> cond,
            function_ref<SmallVector<Value>(ValueRange)> body);

  // Parallelism within a work item.
  /// Rows r in [0, rows): one GPU thread each, a loop on the CPU. `slot` is
  /// the row's index into privateAlloc() buffers.
  void rowLoop(int64_t rows, function_ref<void(Value r, Value slot)> body);
  /// i in [0, n) shared by the item's threads.
  void coopLoop(Value n, function_ref<void(Value i)> body);
  /// The first thread of the item only (the CPU runs it once).
  void singleThread(function_ref<void()> body);
  void barrier();
  /// The thread's index in its block (GPU; 0 on the CPU).
  Value threadIndex() const { return threadId; }
  /// Memory shared by the item's threads.
  Value sharedAlloc(ArrayRef<int64_t> shape, Type type, int64_t alignment = 16);
  /// Memory private to each row: shape [rows, ...perRow] (one row per GPU
  /// thread after conversion).
  Value privateAlloc(ArrayRef<int64_t> perRow, Type type);
  /// Scalar per-row state: a privateAlloc of one element per row.
  Value privateScalar(Type type) { return privateAlloc({1}, type); }

  // Memory.
  Value load(Value memref, ValueRange indices);
  void store(Value value, Value memref, ValueRange indices);
  /// The call's batch (dim 0), head (1) or sequence (2) stride of q, k, v,
  /// out or lse, in elements.
  Value stride(::sattn::KernelMemref which, unsigned dim) const;
  /// The element index of [bb, h, s, d] in q, k, v or out (d may be null
  /// for lse), through the call's strides.
  Value tensorIndex(::sattn::KernelMemref which, Value bb, Value h, Value s,
                    Value d);
  /// q/k/v elements as f32; out stored from f32 (rounded to the dtype).
  Value loadQ(Value bb, Value h, Value i, Value d);
  Value loadK(Value bb, Value g, Value j, Value d);
  Value loadV(Value bb, Value g, Value j, Value d);
  void storeOut(Value value, Value bb, Value h, Value i, Value d);
  void storeLse(Value value, Value bb, Value h, Value i);
  /// Workspace element `offset` of `slot`: i32 slots load as index.
  Value loadWs(::sattn::WorkspaceSlot slot, Value offset);
  void storeWs(::sattn::WorkspaceSlot slot, Value offset, Value value);

private:
  Value tensorOffset(::sattn::KernelScalar strideB, Value bb, Value h, Value s,
                     Value d);
  Value loadElement(::sattn::KernelMemref which, Value offset);
  /// The entry block's arguments as memrefs and index scalars, and the
  /// thread index, at the top of the entry block (the insertion point stays
  /// there).
  void bindArguments();
  /// Where the next allocation goes: after the earlier ones, at the top of
  /// the function.
  void setAllocationPoint();

  OpBuilder &builder;
  Location location;
  ModuleOp module;
  KernelShape kshape;
  Type elemType;
  int64_t numThreads = 1;
  Operation *function = nullptr;
  Block *entry = nullptr;
  Operation *lastAllocation = nullptr;
  SmallVector<Value> memrefArgs;
  SmallVector<Value> scalarArgs;
  Value threadId;
};

} // namespace mlir::sattn

#endif // SATTN_PASSES_KERNELBUILDER_H
