//===- Topk.h - topk at token and at block granularity ----------*- C++ -*-===//
//
// One op, two lowerings: TopkTokens.cpp (SparseK's per-key selection) and
// TopkBlocks.cpp (per query block); Topk.cpp attaches the interfaces and
// picks one by granularity.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_PRIMITIVES_TOPK_H
#define SATTN_PASSES_PRIMITIVES_TOPK_H

#include "passes/PrimitiveInterfaces.h"

namespace mlir::sattn {

/// The bound arguments of a topk op.
struct TopkParams {
  bool byCover = false;
  int64_t k = 0;      // when !byCover
  double alpha = 1.0; // when byCover
  bool tokens = true; // granularity
  int64_t block = 128;
  ScoreSource source = ScoreSource::key_score;
};
TopkParams topkParams(const KernelRequest &req, int64_t primitive);

void appendTopkTokenSources(const KernelRequest &req, int64_t primitive,
                            KeySourceList &sources);
/// The token top-k's stages (TopkTokens.cpp's header), named `function`
/// with a suffix each.
void planTopkTokenStages(MLIRContext *ctx, const KernelRequest &req,
                         StringRef function, int64_t primitive,
                         SmallVectorImpl<StageAttr> &stages);
void addTopkTokenWorkspace(const KernelRequest &req, StageAttr stage,
                           WorkspaceSizes &slots);
LogicalResult emitTopkTokenStage(KernelBuilder &kb, const KernelRequest &req,
                                 StageAttr stage);

void appendTopkBlockSources(const KernelRequest &req, int64_t primitive,
                            KeySourceList &sources);
void addTopkBlockWorkspace(const KernelRequest &req, StageAttr stage,
                           WorkspaceSizes &slots);
LogicalResult emitTopkBlockStage(KernelBuilder &kb, const KernelRequest &req,
                                 StageAttr stage);

} // namespace mlir::sattn

#endif // SATTN_PASSES_PRIMITIVES_TOPK_H
