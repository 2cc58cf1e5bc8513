//===- KernelAbi.h - The calling convention of generated kernels -*- C++
//-*-===//
//
// Every function sattn generates (selection stages and attention, for the CPU
// and the GPU) takes the same arguments, so that the runtime launches them all
// the same way: nine 1-D memrefs, then i64 scalars. The passes emit functions
// with this signature and the backends fill it; this header is the one place
// that says what the arguments are.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_KERNELABI_H
#define SATTN_KERNELABI_H

namespace sattn {

/// Memref arguments, in order. q, k, v, out have the kernel's dtype; the rest
/// are f32 except the i32 workspace.
enum class KernelMemref : unsigned {
  Q,
  K,
  V,
  Out,
  Lse,
  KeyScores,
  Weights,
  WorkspaceF32,
  WorkspaceI32,
  Count
};
constexpr unsigned kNumKernelMemrefs = unsigned(KernelMemref::Count);

/// Workspace buffers of the selection stages; the runtime places them (in
/// elements of the slot's type) and passes their offsets to every function.
enum class WorkspaceSlot : unsigned {
  ListCount = 0, // i32: per-list counts
  ListItems,     // i32: list items
  RowThreshold,  // f32 score + i32 index per row (top-k tokens)
  RowThresholdIndex,
  HeadFloats, // f32 scratch per (batch, head): scores, importance
  HeadInts,   // i32 scratch per (batch, head): flags, permutations
  // i32: the pattern's run-time integer inputs (KernelInfo::inputs), which
  // the runtime copies here before the launch: one after another in
  // declaration order, each contiguous in C order.
  Inputs,
  NumSlots
};
constexpr unsigned kNumWorkspaceSlots = unsigned(WorkspaceSlot::NumSlots);

/// Whether a slot lives in the f32 part of the workspace (else the i32 part).
constexpr bool isFloatSlot(WorkspaceSlot slot) {
  return slot == WorkspaceSlot::RowThreshold ||
         slot == WorkspaceSlot::HeadFloats;
}

/// i64 scalar arguments after the memrefs, in order. Strides are in
/// elements; the innermost stride of q, k, v, out is 1.
enum class KernelScalar : unsigned {
  Batch,
  SeqQ,
  SeqK,
  QStrideB,
  QStrideH,
  QStrideS,
  KStrideB,
  KStrideH,
  KStrideS,
  VStrideB,
  VStrideH,
  VStrideS,
  OutStrideB,
  OutStrideH,
  OutStrideS,
  LseStrideB,
  LseStrideH,
  LseStrideS,
  GridBegin, // first work item of this launch
  GridEnd,   // one past the last
  WorkspaceOffset0,
  Count = WorkspaceOffset0 + kNumWorkspaceSlots
};
constexpr unsigned kNumKernelScalars = unsigned(KernelScalar::Count);

} // namespace sattn

#endif // SATTN_KERNELABI_H
