//===- KernelConversion.h - Shared by the kernel conversions ----*- C++ -*-===//
//
// What sattn-convert-kernels-to-cpu and -to-gpu both need: the kernel
// constructs of a function in program order, moving a construct's body
// into the loop or branch that replaces it, and swapping a buffer for one
// of another memref type.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_CODEGEN_KERNELCONVERSION_H
#define SATTN_CODEGEN_KERNELCONVERSION_H

#include "dialect/tile/TileDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::sattn {

/// for_items, for_rows, coop_for, thread_id, barrier, alloc_shared and
/// alloc_private ops of `fn`, outer before inner.
SmallVector<Operation *> kernelOps(Operation *fn);

/// Moves the ops of `body`'s block (its terminator aside) before `before`,
/// its arguments replaced by `args`.
void moveBodyBefore(Region &body, Operation *before, ValueRange args);

/// Replaces `alloc`'s buffer by `buffer`, a memref of another memory space
/// or of one row instead of many; fails, at the user, if a user's type
/// depends on what changed. Views of single rows keep their type when only
/// the number of rows changes.
LogicalResult replaceBuffer(Operation *alloc, Value buffer);

/// Erases the kernel constructs left after conversion (inner first).
void eraseKernelOps(Operation *fn);

} // namespace mlir::sattn

#endif // SATTN_CODEGEN_KERNELCONVERSION_H
