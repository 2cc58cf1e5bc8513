//===- MmaSyncProduct.cpp - One warp's mma.sync m16n8 product -------------===//

#include "codegen/TileToMmaSync/MmaSyncProduct.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

std::array<Value, 4> mlir::sattn::mmaSyncProduct(OpBuilder &b, Location loc,
                                                 Type element,
                                                 ArrayRef<Value> a,
                                                 ArrayRef<Value> bFrag,
                                                 ArrayRef<Value> c) {
  const bool tf32 = element.isF32();
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  // f16 operands are typed pairs; bf16 and tf32 ones plain i32 registers.
  auto operand = [&](Value word) -> Value {
    if (!element.isF16())
      return word;
    Value v = vector::FromElementsOp::create(b, loc, VectorType::get({1}, i32),
                                             ValueRange{word});
    return vector::BitCastOp::create(b, loc, VectorType::get({2}, element), v);
  };
  auto result =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  NVVM::MMATypes type = tf32               ? NVVM::MMATypes::tf32
                        : element.isBF16() ? NVVM::MMATypes::bf16
                                           : NVVM::MMATypes::f16;
  SmallVector<Value> aOps, bOps;
  for (Value x : a)
    aOps.push_back(operand(x));
  for (Value x : bFrag)
    bOps.push_back(operand(x));
  auto op = NVVM::MmaOp::create(
      b, loc, result, aOps, bOps, c, ArrayRef<int64_t>{16, 8, tf32 ? 8 : 16},
      std::nullopt, std::nullopt, std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  std::array<Value, 4> out;
  for (int64_t i = 0; i < 4; ++i)
    out[i] = LLVM::ExtractValueOp::create(b, loc, op, i);
  return out;
}
