//===- Schedule.h - How a bound pattern is computed, tile by tile -*- C++ -*-===//
//
// The block schedule of a pattern: which query tiles exist, which key-block
// enumerators visit keys for a tile (static primitives in closed form,
// dynamic ones through lists in the workspace) and which selection stages
// run before attention to fill those lists. It is plain C++ so that the
// passes (which emit code from it) and the runtime (which launches that code
// and lays out the workspace) read one definition.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_SCHEDULE_H
#define SATTN_PASSES_SCHEDULE_H

#include "sattn/PatternSpec.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sattn {

/// The static part of an attention kernel: everything but batch and lengths.
struct KernelShape {
  int64_t heads = 1;
  int64_t kvHeads = 1;
  int64_t headDim = 64;
  double scale = 0; // 0: 1/sqrt(headDim)

  double effectiveScale() const;
};

enum class EnumeratorKind {
  Sink,
  WindowTokens,
  WindowBlocks,
  WindowFraction,
  StridesPow2,
  StridesEvery,
  StridesList,
  Columns,
  Diagonals,
  Keep,       // block-level keep: a scan of key blocks with the predicate
  KeepTokens, // element-level keep: a scan of causal key blocks
  Stripes,    // kept columns / diagonals flags + the stripes window
  TreeSearch, // sink, window, then the selected key blocks of the query block
  TopkTokens, // per-tile candidate list + per-row thresholds
  TopkBlocks, // per-query-block list of kept key blocks
  Permute,    // own segment, the block of key 0, kept permuted blocks
};

llvm::StringRef enumeratorName(EnumeratorKind kind);

/// Visits key blocks for a query tile. `primitive` indexes
/// PatternSpec::primitives.
struct Enumerator {
  EnumeratorKind kind;
  int primitive = 0;
};

/// Which work items a kernel function is launched over.
enum class GridKind {
  Tiles,      // (batch, query head, query tile)
  Heads,      // (batch, query head)
  QueryBlocks // (batch, query head, query block of the primitive)
};

/// A selection stage: a function that writes lists into the workspace.
struct SelectionStage {
  std::string function; // e.g. "sattn_select_stripes_0"
  EnumeratorKind kind;
  int primitive = 0;
  GridKind grid = GridKind::Heads;
  /// Query block size of a QueryBlocks grid.
  int64_t queryBlock = 0;
  /// Threads of a GPU thread block.
  int64_t threads = 128;
};

/// Workspace buffers; the runtime places them and passes their offsets (in
/// elements of the buffer's type) to every function.
enum class WorkspaceSlot : unsigned {
  ListCount = 0, // i32: per-list counts
  ListItems,     // i32: list items
  RowThreshold,  // f32 score + i32 index per row (top-k tokens)
  RowThresholdIndex,
  HeadFloats, // f32 scratch per (batch, head): scores, importance
  HeadInts,   // i32 scratch per (batch, head): flags, permutations
  NumSlots
};
constexpr unsigned kNumWorkspaceSlots = unsigned(WorkspaceSlot::NumSlots);

struct KernelSchedule {
  std::string pattern;
  /// Query rows per tile (= GPU threads of the attention kernel).
  int64_t tileQ = 64;
  /// Keys per chunk staged at once.
  int64_t tileK = 32;
  /// Tiles follow absolute positions p(i) (so a tile stays in one query
  /// block); false: local indices i (tree_search's query blocks).
  bool absoluteTiles = true;
  std::vector<Enumerator> enumerators;
  std::vector<SelectionStage> stages;
  /// The function that computes attention.
  std::string attentionFunction = "sattn_attention";
};

/// How the attention function computes a tile, per target and dtype. The
/// passes emit the kernel from it and the runtime launches it with the same
/// numbers.
struct AttentionKernelPlan {
  /// GPU only: warp-level tensor-core products (mma.sync; bf16/f16 operands,
  /// or f32 as three tf32 products), 16 query rows per warp, the online
  /// softmax state in registers. Otherwise one thread (CPU: one loop
  /// iteration) per query row.
  bool tensorCores = false;
  /// Threads of a GPU block; the CPU's rows per work item.
  int64_t threads = 64;
  /// Keys staged per chunk.
  int64_t chunkKeys = 32;
};

/// `elementBits` is 16 (f16, bf16) or 32 (f32).
AttentionKernelPlan planAttentionKernel(const KernelSchedule &schedule,
                                        const KernelShape &shape,
                                        unsigned elementBits, bool gpu);

/// Chooses tiles, enumerators and stages for a bound pattern. Errors say
/// which combination of primitives is not supported yet.
llvm::Expected<KernelSchedule> buildSchedule(const PatternSpec &spec,
                                             const KernelShape &shape);

/// Where each workspace buffer lives for one call.
struct WorkspaceLayout {
  int64_t offsets[kNumWorkspaceSlots] = {};
  /// Per-slot element counts; f32 slots are in the float part, the rest in
  /// the int part.
  int64_t sizes[kNumWorkspaceSlots] = {};
  int64_t floatElements = 0;
  int64_t intElements = 0;
  /// Every list's capacity (items per list).
  int64_t listCapacity = 0;

  size_t bytes() const { return size_t(floatElements + intElements) * 4; }
};

/// Number of query tiles of a call.
int64_t numQueryTiles(const KernelSchedule &schedule, int64_t seqQ,
                      int64_t seqK);
/// Number of work items of `stage` for a call.
int64_t numStageItems(const SelectionStage &stage, const KernelShape &shape,
                      int64_t batch, int64_t seqQ, int64_t seqK);

/// Adds the buffers of one selection stage to `layout.sizes` (defined with
/// each primitive's lowering, passes/Select*.cpp).
void stageWorkspace(const SelectionStage &stage, const PatternSpec &spec,
                    const KernelSchedule &schedule, const KernelShape &shape,
                    int64_t batch, int64_t seqQ, int64_t seqK,
                    WorkspaceLayout &layout);

WorkspaceLayout layoutWorkspace(const KernelSchedule &schedule,
                                const PatternSpec &spec,
                                const KernelShape &shape, int64_t batch,
                                int64_t seqQ, int64_t seqK);

//===----------------------------------------------------------------------===//
// The kernel calling convention shared by every generated function.
//===----------------------------------------------------------------------===//

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

#endif // SATTN_PASSES_SCHEDULE_H
