//===- MmaSyncProduct.h - One warp's mma.sync m16n8 product -----*- C++ -*-===//
//
// The NVVM op both users of `mma.sync` build (the attention tile and
// `sattn_tile.dots`): c += a · b for one m16n8 fragment, with bf16 or f16
// operands (k = 16) or tf32 bits (k = 8), f32 accumulators. Operands are i32
// registers holding two 16-bit values (or one tf32), low element first.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_CODEGEN_TILETOMMASYNC_MMASYNCPRODUCT_H
#define SATTN_CODEGEN_TILETOMMASYNC_MMASYNCPRODUCT_H

#include "mlir/IR/Builders.h"

#include <array>

namespace mlir::sattn {

/// c += a · b; `element` is the operands' type (f16, bf16, or f32 for tf32
/// bits); a holds 4 registers (2 for tf32), b 2 (1 for tf32).
std::array<Value, 4> mmaSyncProduct(OpBuilder &b, Location loc, Type element,
                                    ArrayRef<Value> a, ArrayRef<Value> bFrag,
                                    ArrayRef<Value> c);

} // namespace mlir::sattn

#endif // SATTN_CODEGEN_TILETOMMASYNC_MMASYNCPRODUCT_H
