//===- AttentionEmitter.h - Tiled online-softmax attention -------*- C++ -*-===//
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

#include "passes/KernelBuilder.h"

#include <memory>

namespace mlir::sattn::lowering {

/// Values of the tile being computed.
struct TileContext {
  Value batch, head, kvHead;
  Value tile;        // tile index
  Value offset;      // Sk - Sq
  Value firstRow;    // local index of row 0 (may be < 0 or past Sq)
  Value firstPos;    // p of row 0
  Value lastPos;     // p of the last valid row
  Value keyEnd;      // keys past this are never attended (causality, Sk)
  Value queryBlock;  // floor(firstPos / B) of the pattern's block B
  Value seqQ, seqK;
};

/// Values of one row inside a chunk.
struct RowContext {
  Value row;        // local index i (a valid row: 0 <= i < Sq)
  Value pos;        // p(i)
  Value queryBlock; // floor(p / B)
};

class AttentionEmitter;

/// One enumerator of the schedule.
class KeySource {
public:
  virtual ~KeySource();
  /// Emits the walk over this source's keys for the tile, calling
  /// emitter.visitRange / visitKeys.
  virtual void enumerate(AttentionEmitter &emitter, const TileContext &tile,
                         unsigned selfIndex) = 0;
  /// Whether key `j` (index in [0, Sk)) belongs to this source for the row
  /// (i1). Keys of earlier sources are excluded through this test, so it
  /// must be exact for every key when a later source exists; a source that
  /// comes last is only asked about keys it visits itself.
  virtual Value contains(AttentionEmitter &emitter, const TileContext &tile,
                         const RowContext &row, Value j) = 0;
  /// Whether every key this source visits for a tile belongs to it for every
  /// row of the tile (causality aside), so that its own chunks need no
  /// contains() test.
  virtual bool visitsOnlyMembers() const { return false; }
  /// For sources that hold whole key blocks of the pattern's block size:
  /// whether block `kb` is entirely in the source for every row of the tile
  /// (i1), or null when the source cannot tell cheaply.
  virtual Value coversBlock(AttentionEmitter &emitter, const TileContext &tile,
                            Value kb) {
    return Value();
  }
  /// Whether every key of [start, end) is in the source for every row of
  /// the tile (i1), or null when the source cannot tell cheaply. Only asked
  /// about ranges the source visits itself.
  virtual Value coversRange(AttentionEmitter &emitter, const TileContext &tile,
                            Value start, Value end) {
    return Value();
  }
  /// Whether no key of [start, end) is in the source for any row of the tile
  /// (i1), or null when the source cannot tell cheaply.
  virtual Value missesRange(AttentionEmitter &emitter, const TileContext &tile,
                            Value start, Value end) {
    return Value();
  }
};

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

class AttentionEmitter {
public:
  AttentionEmitter(KernelBuilder &kb, const ::sattn::PatternSpec &spec,
                   const ::sattn::KernelSchedule &schedule,
                   ArrayRef<Operation *> primitiveOps);
  ~AttentionEmitter();

  /// Emits the attention function into `container`.
  LogicalResult emit(Operation *container);

  KernelBuilder &builder() { return kb; }
  const ::sattn::PatternSpec &spec() const { return patternSpec; }
  const ::sattn::KernelSchedule &schedule() const { return sched; }
  const ::sattn::AttentionKernelPlan &plan() const { return kernelPlan; }
  Operation *primitiveOp(int index) const { return primOps[index]; }

  /// Visits keys [start, end) (clipped to [0, keyEnd)) as source
  /// `sourceIndex`.
  void visitRange(const TileContext &tile, unsigned sourceIndex, Value start,
                  Value end);
  /// Visits `count` keys whose indices keyAt(i) gives (i in [0, count)).
  void visitKeys(const TileContext &tile, unsigned sourceIndex, Value count,
                 function_ref<Value(Value)> keyAt);
  /// Whether an earlier source than `sourceIndex` covers key block `kb`
  /// entirely (i1): lets whole-block walks skip blocks already done.
  Value coveredBefore(const TileContext &tile, unsigned sourceIndex, Value kb);
  /// Whether key `j` of a chunk of source `sourceIndex` counts for the row
  /// (i1): a key (j >= 0), causal-allowed, in the source and in no earlier
  /// one.
  Value elementKept(const TileContext &tile, unsigned sourceIndex,
                    const RowContext &row, Value j);

  /// Pattern block B as an index constant.
  Value patternBlock() { return kb.idx(patternSpec.block); }

private:
  /// Whether a chunk of keys [start, start + count) of source `sourceIndex`
  /// needs element masks (i1).
  Value rangeNeedsMask(const TileContext &tile, unsigned sourceIndex,
                       Value start, Value count);

  KernelBuilder &kb;
  const ::sattn::PatternSpec &patternSpec;
  const ::sattn::KernelSchedule &sched;
  ::sattn::AttentionKernelPlan kernelPlan;
  SmallVector<Operation *> primOps;
  std::vector<std::unique_ptr<KeySource>> sources;
  std::unique_ptr<TileComputer> computer;
};

/// The per-row tile (CPU, and GPU shapes the tensor-core tile does not take).
std::unique_ptr<TileComputer> makeRowTile(AttentionEmitter &emitter);
/// The tensor-core tile (GPU; AttentionKernelPlan::tensorCores).
std::unique_ptr<TileComputer> makeMmaTile(AttentionEmitter &emitter);

/// Sources of the static primitives (TileAttention.cpp).
std::unique_ptr<KeySource> makeStaticSource(const ::sattn::PatternSpec &spec,
                                            const ::sattn::Enumerator &en,
                                            Operation *primitiveOp);
/// The sink [0, n) and the token window (p - w, p] as sources, for dynamic
/// primitives that carry their own (tree_search).
std::unique_ptr<KeySource> makeSinkSource(int64_t n);
std::unique_ptr<KeySource> makeTokenWindowSource(int64_t w);
/// Sources of a dynamic primitive (one file per primitive).
void appendDynamicSources(const ::sattn::PatternSpec &spec,
                          const ::sattn::Enumerator &en,
                          std::vector<std::unique_ptr<KeySource>> &out);

/// Emits `stage` as a function in `container` (one file per primitive).
LogicalResult emitSelectionStage(KernelBuilder &kb,
                                 const ::sattn::PatternSpec &spec,
                                 const ::sattn::KernelSchedule &schedule,
                                 const ::sattn::SelectionStage &stage,
                                 Operation *container);

/// Shared helpers for sources.
/// The token window predicate p - w < j <= p.
Value inTokenWindow(KernelBuilder &kb, Value pos, Value j, Value width);
/// Whether [start, end) lies in the token window of width `width` of every
/// row of the tile.
Value windowCoversRange(KernelBuilder &kb, const TileContext &tile, Value width,
                        Value start, Value end);
/// max(B, round(fraction * Sk)) tokens.
Value fractionWindow(KernelBuilder &kb, double fraction, int64_t block,
                     Value seqK);

} // namespace mlir::sattn::lowering

#endif // SATTN_PASSES_ATTENTIONEMITTER_H
