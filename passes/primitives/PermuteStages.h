//===- PermuteStages.h - The selection stages of permute --------*- C++ -*-===//
//
// What Permute.cpp (workspace, attention sources, models) and
// PermuteStages.cpp (the five selection stages) share: the bound parameters,
// the workspace geometry and the stages' names and grids. The header comment
// of Permute.cpp describes the stages and the workspace.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_PRIMITIVES_PERMUTESTAGES_H
#define SATTN_PASSES_PRIMITIVES_PERMUTESTAGES_H

#include "passes/KernelBuilder.h"
#include "passes/PrimitiveInterfaces.h"

namespace mlir::sattn::permute {

/// The bound arguments of a permute op.
struct Params {
  int64_t segment = 256;
  int64_t probe = 128;
  int64_t block = 128;
  double alpha = 0.9;

  /// Work items per head of the probe stage: one per group of
  /// RowStatistics::groupRows() probe rows, up to kMaxProbeItems (the items
  /// then loop over the groups).
  int64_t probeItems(int64_t groupRows) const;
};

Params params(const KernelRequest &req, int64_t primitive);

/// The most probe-stage work items per (batch, head).
constexpr int64_t kMaxProbeItems = 1024;
/// Work items per (batch, head) of the other stages; each loops over its
/// share (key chunks, segments, blocks, query blocks).
constexpr int64_t kImportanceSplit = 128, kSortSplit = 32, kBlockSplit = 64,
                  kListSplit = 64;

/// Per-call sizes and per-head offsets (see Permute.cpp's header), in the
/// emitted code.
struct Geometry {
  Value seqQ, seqK, offset;
  Value numProbe, firstProbe; // probe rows [firstProbe, Sq)
  Value wholeBlocks;          // nwb: also every list's capacity
  Value firstQB, numQB;       // absolute query blocks of B positions
  Value floatsPerHead, intsPerHead;
  // Offsets inside a head's part.
  Value probeMaxAt, blockMeanAt, scoreAt; // HeadFloats
  Value posOfAt, probeSumAt;              // HeadInts
};

Geometry geometry(KernelBuilder &kb, const Params &pp);

/// The stages, in launch order: their function names are the schedule's
/// name for the primitive with these suffixes.
enum class Stage { Probe, Importance, Sort, Blocks, Lists };
constexpr llvm::StringLiteral kProbeSuffix = "_probe";
constexpr llvm::StringLiteral kImportanceSuffix = "_importance";
constexpr llvm::StringLiteral kSortSuffix = "_sort";
constexpr llvm::StringLiteral kBlocksSuffix = "_blocks";
constexpr llvm::StringLiteral kListsSuffix = "_lists";
/// GPU threads of every stage.
constexpr int64_t kStageThreads = 128;

/// The stage a stage attribute of permute names.
Stage stageOf(StageAttr stage);

/// The stage attributes of the primitive, in launch order.
void planStages(MLIRContext *ctx, const KernelRequest &req, StringRef function,
                int64_t primitive, SmallVectorImpl<StageAttr> &stages);

LogicalResult emitStage(KernelBuilder &kb, const KernelRequest &req,
                        StageAttr stage);

} // namespace mlir::sattn::permute

#endif // SATTN_PASSES_PRIMITIVES_PERMUTESTAGES_H
