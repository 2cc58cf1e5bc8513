//===- LogitTile.h - Exact selection logits of sampled query rows -*- C++ -*-=//
//
// What the selection stages that score keys against chosen query rows
// (stripes' sampled rows, permute's probe rows) share: the fp32 logits
// scale * dot(q_t, k_j) accumulated in order over d, as the oracle computes
// them; a row's softmax statistics over C(t) (fp32 max, float64 sum of
// exp(l - max) in key order); float64 values kept in the i32 workspace; the
// (batch, head) of a work item.
//
// On the GPU, keys are staged in shared memory ([key][d], rows padded to an
// odd number of 32-bit words so that the threads' reads of one d, a row
// apart, fall into different banks), one chunk of up to chunkSize() keys at
// a time; on the CPU they are read in place. Sums the oracle adds in key
// order are added by the item's first thread from a shared buffer in the
// same order, so the float64 values follow the oracle's order of addition.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_PRIMITIVES_LOGITTILE_H
#define SATTN_PASSES_PRIMITIVES_LOGITTILE_H

#include "passes/KernelBuilder.h"

namespace mlir::sattn {

/// float64 values in an i32 workspace slot: two words at `offset` (elements
/// of `slot`), low word first.
Value loadF64Ws(KernelBuilder &kb, ::sattn::WorkspaceSlot slot, Value offset);
void storeF64Ws(KernelBuilder &kb, ::sattn::WorkspaceSlot slot, Value offset,
                Value value);
Value f64Const(KernelBuilder &kb, double v);
Value toF64(KernelBuilder &kb, Value v);

/// The (batch, head) of a work item, its kv head and its workspace bases.
struct ItemHead {
  Value head, bb, h, g, fBase, iBase;
};

/// `head` = b * Hq + h, with `floatsPerHead` / `intsPerHead` workspace
/// elements per head.
ItemHead itemHead(KernelBuilder &kb, Value head, Value floatsPerHead,
                  Value intsPerHead);

/// A query row's logits, chunk by chunk. On the GPU, q_t (f32 [D]) and a
/// chunk of keys ([chunk][D + pad] in the element type, values exact) are
/// staged in shared memory, so that a warp's loads are coalesced; on the
/// CPU, where an item's threads are one loop, staging would only copy, and
/// the keys are read where they are. Either way each logit is the same
/// fp32 dot.
class LogitTile {
public:
  LogitTile(KernelBuilder &kb, const KernelRequest &req);

  int64_t chunkSize() const { return chunk; }

  /// q_t into shared memory; ends with a barrier.
  void stageQuery(const ItemHead &ih, Value t);
  /// Keys [j0, j0 + count) into shared memory (GPU), consecutive threads
  /// reading consecutive d; ends with a barrier.
  void stageKeys(const ItemHead &ih, Value j0, Value count);
  /// The fp32 logit scale * dot(q_t, k_j), j = j0 + jj (key jj of the chunk
  /// staged at j0), accumulated in order over d.
  Value logit(const ItemHead &ih, Value j0, Value jj);
  /// exp(l - mx) in float64 for that logit l.
  Value shiftedExp(const ItemHead &ih, Value j0, Value jj, Value mx);

private:
  KernelBuilder &kb;
  bool staged;
  int64_t chunk;
  Value q, keys;
};

/// Thread x's keys of a chunk of `count`: x, x + threads, ...; `slot`
/// indexes privateAlloc() buffers, `n` counts the thread's keys from 0.
void forThreadKeys(KernelBuilder &kb, Value count,
                   function_ref<void(Value jj, Value slot, Value n)> body);

/// Adds `buffer[0..count)` in order to the float64 in `acc[0]` (first
/// thread), then a barrier.
void addInOrder(KernelBuilder &kb, Value acc, Value buffer, Value count);

/// The softmax statistics of query row t over keys [0, end), end > 0: the
/// fp32 max of its logits and the float64 sum of exp(l - max) in key order.
/// `store(max, sum)` runs on the item's first thread; ends with a barrier.
/// Allocates its shared buffers once per function: construct it before the
/// work-item loop.
class RowStatistics {
public:
  RowStatistics(KernelBuilder &kb, LogitTile &tile);
  void emit(const ItemHead &ih, Value t, Value end,
            function_ref<void(Value max, Value sum)> store);

private:
  KernelBuilder &kb;
  LogitTile &tile;
  Value exps, maxima, sum, rowMax;
};

} // namespace mlir::sattn

#endif // SATTN_PASSES_PRIMITIVES_LOGITTILE_H
