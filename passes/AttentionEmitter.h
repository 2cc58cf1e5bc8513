//===- AttentionEmitter.h - The attention tile program -----------*- C++
//-*-===//
//
// Writes the attention function of a request in the sattn_tile dialect: one
// work item per (batch, query head, query tile); per tile, the schedule's
// key sources (KeySource.h) walk their keys, each range or list of keys as a
// `for_chunks` loop whose body stages a chunk, copies its K and V rows and
// computes Q·Kᵀ, the element mask, the online-softmax update and P·V. A key
// counts for a row when it is causal-allowed, in its source, and in no
// earlier source, so each key is computed once and no mask is stored.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_ATTENTIONEMITTER_H
#define SATTN_PASSES_ATTENTIONEMITTER_H

#include "passes/KeySource.h"
#include "passes/Schedule.h"

namespace mlir::sattn {

class AttentionEmitter : public KeySourceContext {
public:
  /// `warpgroupMma`: the target has wgmma (sm_90a).
  AttentionEmitter(KernelBuilder &kb, const KernelRequest &request,
                   bool warpgroupMma = false);
  ~AttentionEmitter() override;

  /// Emits the attention function.
  LogicalResult emit();

  void visitRange(const TileContext &tile, unsigned sourceIndex, Value start,
                  Value end) override;
  void visitKeys(const TileContext &tile, unsigned sourceIndex, Value count,
                 function_ref<Value(Value)> keyAt) override;
  Value coveredBefore(const TileContext &tile, unsigned sourceIndex,
                      Value kbValue) override;

private:
  /// Whether key `j` of a chunk of source `sourceIndex` counts for the row
  /// (i1): a key (j >= 0), causal-allowed, in the source and in no earlier
  /// one.
  Value elementKept(const TileContext &tile, unsigned sourceIndex,
                    const RowContext &row, Value j);
  /// Whether a chunk of keys [start, start + count) of source `sourceIndex`
  /// needs element masks (i1).
  Value rangeNeedsMask(const TileContext &tile, unsigned sourceIndex,
                       Value start, Value count);
  /// The body of a chunk loop: copies, products, mask, softmax.
  /// ALiBi's slope of query head `head` (index) as an f32.
  Value alibiSlopeOf(Value head);
  /// The pattern's score modifiers over a chunk's masked scores
  /// (sattn_tile.modify).
  Value modifyScores(const TileContext &tile, Value chunk, Value scores);
  void computeChunk(const TileContext &tile, unsigned sourceIndex, Value chunk,
                    Value needsMask);

  AttentionKernelPlan kernelPlan;
  KeySourceList sources;
};

} // namespace mlir::sattn

#endif // SATTN_PASSES_ATTENTIONEMITTER_H
