//===- KernelInfo.h - What the runtime needs to launch a kernel -*- C++ -*-===//
//
// The code generator writes a KernelInfo next to every compiled kernel and
// the kernel cache stores both as one artifact. It says everything a launch
// needs — the functions and their entry points in launch order, how many
// work items and threads each has, how big each workspace slot is, which
// optional inputs the pattern reads — so that the backends launch a kernel
// without knowing how it was built (they link no pass library).
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_KERNELINFO_H
#define SATTN_KERNELINFO_H

#include "sattn/KernelAbi.h"
#include "sattn/SizeExpr.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <array>
#include <string>
#include <vector>

namespace sattn {

/// One generated function (a selection stage or attention).
struct KernelFunction {
  /// The function's name in the compiled module.
  std::string name;
  /// The symbol a backend looks up: the packed entry point on the CPU, the
  /// kernel itself on the GPU.
  std::string entry;
  /// Work items of a call (thread blocks on the GPU).
  SizeExpr items;
  /// Threads of a GPU block (the CPU ignores it).
  int64_t threads = 1;
  /// Dynamic shared memory of a GPU block, in bytes (the launch requests it
  /// and, for more than 48 KB, raises the function's limit first).
  int64_t dynamicSharedBytes = 0;
};

/// Bits of KernelInput::indexedBy: the predicate variables that index a
/// dimension of a run-time input.
enum InputIndexBits : unsigned {
  kIndexedByBatch = 1, // b in [0, B)
  kIndexedByHead = 2,  // h in [0, Hq)
  kIndexedByQuery = 4, // q = p(i) in [Sk - Sq, Sk)
  kIndexedByKey = 8,   // k in [0, Sk)
};

/// A run-time integer input of the pattern (docs/patterns.md, "Run-time
/// integer inputs in predicates"), as the call must give it.
struct KernelInput {
  std::string name;
  /// Sizes of its dimensions (constants, B or Sk).
  std::vector<SizeExpr> dims;
  /// Per dimension, the InputIndexBits of the variables that read it, so
  /// that the call can check every read stays inside the input.
  std::vector<unsigned> indexedBy;
  /// How the dims were declared ("b", "h", "s" or a size), for messages.
  std::vector<std::string> dimNames;

  /// Elements of the input: the product of its dims.
  SizeExpr elements() const;
};

struct KernelInfo {
  /// Bumped when the record's meaning changes.
  static constexpr int64_t kFormatVersion = 4;

  std::string pattern;
  /// "cpu", "sm_80" or "sm_90a".
  std::string target;
  /// Element type of q, k, v and out: "f32", "f16" or "bf16".
  std::string elementType;
  int64_t heads = 1;
  int64_t kvHeads = 1;
  int64_t headDim = 64;
  /// The softmax scale the kernel was built with.
  double scale = 0;
  /// Selection stages in launch order; each reads what the earlier wrote.
  std::vector<KernelFunction> stages;
  KernelFunction attention;
  /// Elements of each workspace slot (WorkspaceSlot order).
  std::array<SizeExpr, kNumWorkspaceSlots> workspace;
  /// Optional inputs the pattern reads.
  bool readsKeyScores = false;
  bool readsWeights = false;
  /// Run-time integer inputs, in declaration order (their layout in the
  /// Inputs slot).
  std::vector<KernelInput> inputs;
  /// The kernel assumes every K and V row starts at an address aligned to
  /// this many bytes (0: any alignment).
  int64_t kvRowAlignment = 0;

  std::string toJSON() const;
  static llvm::Expected<KernelInfo> fromJSON(llvm::StringRef text);
};

/// Where each workspace slot lives for one call: f32 slots in the float part,
/// then, 16-byte aligned, the i32 slots in the int part.
struct WorkspaceLayout {
  std::array<int64_t, kNumWorkspaceSlots> offsets = {};
  std::array<int64_t, kNumWorkspaceSlots> sizes = {};
  int64_t floatElements = 0;
  int64_t intElements = 0;

  size_t bytes() const { return size_t(floatElements + intElements) * 4; }
};

/// The workspace of one call; errors when a size is negative or too large.
llvm::Expected<WorkspaceLayout> layoutWorkspace(const KernelInfo &info,
                                                const CallSizes &sizes);

/// A compiled kernel as the cache stores it: its record and its binary (an
/// object file, PTX or a cubin).
struct KernelArtifact {
  KernelInfo info;
  std::string binary;
};

std::string encodeKernelArtifact(const KernelInfo &info,
                                 llvm::StringRef binary);
llvm::Expected<KernelArtifact> decodeKernelArtifact(llvm::StringRef bytes);

} // namespace sattn

#endif // SATTN_KERNELINFO_H
