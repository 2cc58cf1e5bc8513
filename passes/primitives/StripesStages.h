//===- StripesStages.h - The selection stages of stripes --------*- C++ -*-===//
//
// What Stripes.cpp (workspace, attention source, models) and
// StripesStages.cpp (the three selection stages) share: the bound
// parameters, the workspace geometry and the stages' names and grids. The
// header comment of Stripes.cpp describes the stages and the workspace.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_PRIMITIVES_STRIPESSTAGES_H
#define SATTN_PASSES_PRIMITIVES_STRIPESSTAGES_H

#include "passes/KernelBuilder.h"
#include "passes/PrimitiveInterfaces.h"

namespace mlir::sattn::stripes {

/// The bound arguments of a stripes op.
struct Params {
  int64_t block = 128; // the pattern's block size
  int64_t segments = 8;
  int64_t rows = 64;
  double alpha = 0.95;
  double windowFraction = 0.05;

  /// Query blocks a segment's sampled rows can span: rows consecutive
  /// positions meet at most (rows - 1) / block + 2 blocks.
  int64_t runsPerSegment() const;

  /// Work items per head of the rows stage: one per group of
  /// RowStatistics::groupRows() sample slots, up to kMaxRowItems (the items
  /// then loop over the groups).
  int64_t rowItems(int64_t groupRows) const;
};

/// The most rows-stage work items per (batch, head).
constexpr int64_t kMaxRowItems = 4096;

Params params(const KernelRequest &req, int64_t primitive);

/// Per-call sizes and per-head offsets (see Stripes.cpp's header), in the
/// emitted code.
struct Geometry {
  Value nkb;     // key blocks
  Value dLo;     // smallest diagonal
  Value entries; // N = nkb + number of diagonals
  Value slots;   // S
  // Runs: the sampled rows grouped by query block, R of them. With
  // runsBySegment, run s * runsPerSegment() + w holds segment s's rows in
  // the w-th query block from its first sampled row's; else run
  // qb - qbLo holds the rows of query block qb.
  Value runs, runsBySegment, qbLo;
  Value floatsPerHead, intsPerHead;
  // Offsets within a head.
  Value scoreAt, rawAt, totalAt, orderAt, flagAt, massAt;
};

Geometry geometry(KernelBuilder &kb, const Params &sp, Value seqQ, Value seqK);

/// The stages, in launch order: their function names are the schedule's
/// name for the primitive with these suffixes.
enum class Stage { Rows, Scores, Rank };
constexpr llvm::StringLiteral kRowsSuffix = "_rows";
constexpr llvm::StringLiteral kScoresSuffix = "_scores";
constexpr llvm::StringLiteral kRankSuffix = "_rank";
/// Work items of the scores stage per (batch, head); item p scores entries
/// p, p + kScoreSplit, ...
constexpr int64_t kScoreSplit = 256;
/// GPU threads of each stage.
constexpr int64_t kRowsThreads = 128, kScoresThreads = 128, kRankThreads = 128;

/// The stage a stage attribute of stripes names.
Stage stageOf(StageAttr stage);

LogicalResult emitRowsStage(KernelBuilder &kb, const KernelRequest &req,
                            StageAttr stage);
LogicalResult emitScoresStage(KernelBuilder &kb, const KernelRequest &req,
                              StageAttr stage);
LogicalResult emitRankStage(KernelBuilder &kb, const KernelRequest &req,
                            StageAttr stage);

} // namespace mlir::sattn::stripes

#endif // SATTN_PASSES_PRIMITIVES_STRIPESSTAGES_H
