//===- AttentionEmitter.h - Tiled online-softmax attention -------*- C++
//-*-===//
//
// The attention kernel: one work item per (batch, query head, query tile).
// Each tile keeps a running max, sum and accumulator per row (online
// softmax, fp32) and visits key chunks that the pattern's key sources
// enumerate. A source is one enumerator of the schedule: a closed-form
// range walk for static primitives, a workspace list for dynamic ones.
// Inside a chunk a key counts for a row when it is causal-allowed, in the
// source, and in no earlier source, so each key is computed once.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_ATTENTIONEMITTER_H
#define SATTN_PASSES_ATTENTIONEMITTER_H

#include "passes/KeySource.h"
#include "passes/Schedule.h"

#include <memory>

namespace mlir::sattn {

class AttentionEmitter;

/// How a tile computes its chunks of keys: one thread (or loop iteration)
/// per query row (RowTile.cpp), or warps of tensor-core products on the GPU
/// (MmaTile.cpp). Both get their keys and masks from the emitter.
class TileComputer {
public:
  explicit TileComputer(AttentionEmitter &emitter) : emitter(emitter) {}
  virtual ~TileComputer();
  /// Shared buffers and per-thread state, at the function's entry.
  virtual void allocate() = 0;
  /// Loads the tile's queries and clears its softmax state.
  virtual void beginTile(const TileContext &tile) = 0;
  /// One chunk: keyAt(c) for c in [0, count) are its keys (-1: none);
  /// `needsMask` (i1) is false when every key of the chunk counts for every
  /// row of the tile, so element masks are skipped.
  virtual void processChunk(const TileContext &tile, unsigned sourceIndex,
                            function_ref<Value(Value)> keyAt, Value count,
                            Value needsMask) = 0;
  /// Keys [lo, hi) of source `sourceIndex` (within [0, Sk)), in chunks;
  /// needsMask(start, count) is a chunk's mask test. By default one
  /// processChunk per chunk; a tile may pipeline the chunks of a range.
  virtual void processRange(const TileContext &tile, unsigned sourceIndex,
                            Value lo, Value hi,
                            function_ref<Value(Value, Value)> needsMask);
  /// Writes out and lse.
  virtual void endTile(const TileContext &tile) = 0;

protected:
  AttentionEmitter &emitter;
};

class AttentionEmitter : public KeySourceContext {
public:
  AttentionEmitter(KernelBuilder &kb, const KernelRequest &request);
  ~AttentionEmitter() override;

  /// Emits the attention function.
  LogicalResult emit();

  const AttentionKernelPlan &plan() const { return kernelPlan; }
  const KernelShape &shape() const { return req.shape; }

  void visitRange(const TileContext &tile, unsigned sourceIndex, Value start,
                  Value end) override;
  void visitKeys(const TileContext &tile, unsigned sourceIndex, Value count,
                 function_ref<Value(Value)> keyAt) override;
  Value coveredBefore(const TileContext &tile, unsigned sourceIndex,
                      Value kbValue) override;
  /// Whether key `j` of a chunk of source `sourceIndex` counts for the row
  /// (i1): a key (j >= 0), causal-allowed, in the source and in no earlier
  /// one.
  Value elementKept(const TileContext &tile, unsigned sourceIndex,
                    const RowContext &row, Value j);

private:
  /// Whether a chunk of keys [start, start + count) of source `sourceIndex`
  /// needs element masks (i1).
  Value rangeNeedsMask(const TileContext &tile, unsigned sourceIndex,
                       Value start, Value count);

  AttentionKernelPlan kernelPlan;
  KeySourceList sources;
  std::unique_ptr<TileComputer> computer;
};

/// The per-row tile (CPU, and GPU shapes the tensor-core tile does not take).
std::unique_ptr<TileComputer> makeRowTile(AttentionEmitter &emitter);
/// The tensor-core tile (GPU; AttentionKernelPlan::tensorCores).
std::unique_ptr<TileComputer> makeMmaTile(AttentionEmitter &emitter);

} // namespace mlir::sattn

#endif // SATTN_PASSES_ATTENTIONEMITTER_H
