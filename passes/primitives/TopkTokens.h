//===- TopkTokens.h - topk at token granularity, shared parts ---*- C++ -*-===//
//
// What TopkTokens.cpp (plan, workspace, attention source, stage list) and
// TopkTokenStages.cpp (the selection stages) share. TopkTokens.cpp's header
// describes the selection and the workspace.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_PRIMITIVES_TOPKTOKENS_H
#define SATTN_PASSES_PRIMITIVES_TOPKTOKENS_H

#include "passes/KernelBuilder.h"
#include "passes/PrimitiveInterfaces.h"
#include "passes/primitives/Topk.h"

#include <limits>

namespace mlir::sattn::topk_tokens {

/// The index of "take all" thresholds (with a NaN score): the last place
/// of the ranking.
constexpr int64_t kTakeAllIndex = std::numeric_limits<int32_t>::max();

/// Keys per chunk: the chunks stage walks each chunk's keys in order
/// starting from the chunk's checkpoint.
constexpr int64_t kChunkKeys = 1024;
/// Work items per (batch, query head) of each stage; the heads of a KV
/// group share their group's tasks.
constexpr int64_t kStageSplit = 64;
constexpr int64_t kStageThreads = 128;

/// The static part of a supported pattern: the longest sink and the token
/// windows (their union is the widest one).
struct TokenPlan {
  int64_t sink = 0;
  int64_t window = 0;            // widest fixed window
  std::vector<double> fractions; // windows of max(B, round(f Sk)) tokens
};

/// Returns an empty string and fills `plan` when the pattern is supported,
/// else the reason it is not.
std::string planTokens(const KernelRequest &req, int64_t primitive,
                       TokenPlan &plan);

/// The values the stages and the attention source derive from the plan and
/// the call.
struct TokenValues {
  Value sink, window; // s, w
  Value seqQ, seqK, offset;
  Value cap; // min(k, Sk)
  Value firstTile, numTiles;
  Value numBG;     // Batch * Hkv
  Value keyEnd;    // Sk - w: thresholds are needed for e in [s, keyEnd)
  Value numChunks; // chunks of kChunkKeys keys from s to keyEnd
};

TokenValues tokenValues(KernelBuilder &kb, const KernelRequest &req,
                        const TopkParams &tp, const TokenPlan &plan);

/// The score of key j for (b, g) = bg: the given key score, or the linear
/// score the linear stage stored in HeadFloats.
Value storedScore(KernelBuilder &kb, const TopkParams &tp,
                  const TokenValues &v, Value bg, Value j);

/// The stages, in launch order (linear only for `linear` scores).
enum class Stage { Linear, Checkpoints, Chunks, Lists };
constexpr llvm::StringLiteral kLinearSuffix = "_linear";
constexpr llvm::StringLiteral kCheckpointsSuffix = "_checkpoints";
constexpr llvm::StringLiteral kChunksSuffix = "_chunks";
constexpr llvm::StringLiteral kListsSuffix = "_lists";
Stage stageOf(StageAttr stage);

LogicalResult emitStage(KernelBuilder &kb, const KernelRequest &req,
                        const TopkParams &tp, const TokenPlan &plan,
                        StageAttr stage);

} // namespace mlir::sattn::topk_tokens

#endif // SATTN_PASSES_PRIMITIVES_TOPKTOKENS_H
