//===- KernelLaunch.h - Arguments and workspace of one kernel call -*- C++
//-*-===//
//
// Both backends call generated functions the same way: an array of pointers
// to the LLVM-level arguments (each memref expands to allocated pointer,
// aligned pointer, offset, size, stride; then the i64 scalars of
// sattn/KernelAbi.h). The CPU passes it to the packed entry point, CUDA to
// cuLaunchKernel. Everything about the kernel comes from its KernelInfo.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_RUNTIME_KERNELLAUNCH_H
#define SATTN_RUNTIME_KERNELLAUNCH_H

#include "sattn/Compiler.h"
#include "sattn/KernelInfo.h"

namespace sattn {

struct MemrefDescriptor {
  void *allocated = nullptr;
  void *aligned = nullptr;
  int64_t offset = 0;
  int64_t size = 0;
  int64_t stride = 1;
};

class KernelArguments {
public:
  KernelArguments() = default;
  KernelArguments(const KernelArguments &other) { *this = other; }
  KernelArguments &operator=(const KernelArguments &other);

  MemrefDescriptor memrefs[kNumKernelMemrefs];
  int64_t scalars[kNumKernelScalars] = {};

  void setGrid(int64_t begin, int64_t end) {
    scalars[unsigned(KernelScalar::GridBegin)] = begin;
    scalars[unsigned(KernelScalar::GridEnd)] = end;
  }
  /// The pointer array; valid while this object lives and is not moved.
  void **params();

private:
  void *paramPointers[5 * kNumKernelMemrefs + kNumKernelScalars] = {};
};

/// The workspace of one call: the kernel's slots, then, for a caller who does
/// not want the lse, room for it (the kernel always writes one).
struct CallWorkspace {
  WorkspaceLayout slots;
  /// Byte offset of the lse [B, Hq, Sq] f32; -1 when the caller's view holds
  /// it.
  int64_t lseOffset = -1;
  size_t bytes = 0;
};

/// Lays out the workspace of a call with `sizes` and `heads` query heads;
/// errors when its size overflows.
llvm::Expected<CallWorkspace> layoutCallWorkspace(const KernelInfo &info,
                                                  int64_t heads,
                                                  const CallSizes &sizes,
                                                  bool lseInWorkspace);

/// One call, prepared from checked views: the arguments (device or host
/// pointers as the views hold them, workspace not yet set), the layout of
/// the workspace, and the work items of each function.
struct PreparedCall {
  KernelArguments args;
  CallWorkspace workspace;
  AttentionShape shape;
  /// Work items of each selection stage, then of attention.
  std::vector<int64_t> stageItems;
  int64_t attentionItems = 0;
  /// The run-time integer inputs the backend copies into the workspace
  /// before the first launch (WorkspaceSlot::Inputs).
  struct InputCopy {
    const int32_t *source = nullptr;
    /// Destination, in elements from the start of the i32 workspace.
    int64_t offset = 0;
    int64_t count = 0;
  };
  std::vector<InputCopy> inputCopies;

  /// Where `copy` goes once the workspace is set.
  int32_t *destination(const InputCopy &copy) const {
    auto *ints = static_cast<int32_t *>(
        args.memrefs[unsigned(KernelMemref::WorkspaceI32)].aligned);
    return ints + copy.offset;
  }
};

/// Checks `args` against the kernel (checkAttentionArgs, the inputs the
/// pattern reads, contiguous key scores and weights) and prepares the call.
llvm::Expected<PreparedCall> prepareCall(const KernelInfo &info,
                                         const AttentionConfig &config,
                                         const AttentionArgs &args);

/// Points the workspace arguments (and an lse kept in the workspace) at
/// `data` (bytes >= workspace.bytes).
void setWorkspace(PreparedCall &call, void *data);

} // namespace sattn

#endif // SATTN_RUNTIME_KERNELLAUNCH_H
