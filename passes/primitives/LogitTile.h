//===- LogitTile.h - Exact selection logits of sampled query rows -*- C++ -*-=//
//
// What the selection stages that score keys against chosen query rows
// (stripes' sampled rows, permute's probe rows) share: the fp32 logits
// scale * dot(q_t, k_j) accumulated in order over d, as the oracle computes
// them; a row's softmax statistics over C(t) (fp32 max, float64 sum of
// exp(l - max)); float64 values kept in the i32 workspace; the (batch,
// head) of a work item.
//
// On the GPU, keys are staged in shared memory ([key][d], rows padded to an
// odd number of 32-bit words so that the threads' reads of one d, a row
// apart, fall into different banks), one chunk of up to chunkSize() keys at
// a time; on the CPU they are read in place. float64 sums are added per
// thread, then over the threads in thread order: deterministic, not the
// oracle's key order; the difference (about 1e-16 relative) is far below
// the 1e-5 by which docs/patterns.md lets near-ties flip.
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

/// The logits of up to `rows` query rows, chunk by chunk. On the GPU, the
/// rows (f32 [rows][D]) and a chunk of keys ([chunk][D + pad] in the element
/// type, values exact) are staged in shared memory, so that a warp's loads
/// are coalesced; on the CPU, where an item's threads are one loop, staging
/// would only copy, and the keys are read where they are. Either way each
/// logit is the same fp32 dot.
class LogitTile {
public:
  /// With `product`, a GPU kernel with f16 or bf16 operands computes the
  /// logits of a chunk for all rows at once on tensor cores
  /// (`sattn_tile.dots`, mma_sync; the order of addition is the
  /// hardware's): call product() once the rows and the chunk are staged.
  LogitTile(KernelBuilder &kb, const KernelRequest &req, int64_t rows = 1,
            bool product = false);

  /// Whether `product` takes effect for `req`: a GPU kernel with 16-bit
  /// operands and a head dim that is a multiple of 16.
  static bool takesProduct(const KernelRequest &req);

  int64_t chunkSize() const { return chunk; }
  int64_t rowCount() const { return rows; }

  /// q_t into row 0; ends with a barrier.
  void stageQuery(const ItemHead &ih, Value t);
  /// q_{rowOf(r)} into row r for every r < rows (rowOf must return a valid
  /// query row for every r); ends with a barrier.
  void stageQueries(const ItemHead &ih, function_ref<Value(Value r)> rowOf);
  /// Keys [j0, j0 + count) into shared memory (GPU), consecutive threads
  /// reading consecutive d; ends with a barrier.
  void stageKeys(const ItemHead &ih, Value j0, Value count);
  /// The fp32 logit scale * dot(q, k_j) of staged row 0, j = j0 + jj (key
  /// jj of the chunk staged at j0), accumulated in order over d.
  Value logit(const ItemHead &ih, Value j0, Value jj);
  /// The same for every staged row: one pass over d, one value per row.
  SmallVector<Value> logits(const ItemHead &ih, Value j0, Value jj);
  /// exp(l - mx) in float64 for the logit l of row 0.
  Value shiftedExp(const ItemHead &ih, Value j0, Value jj, Value mx);
  /// Whether the logits come from product() (see the constructor).
  bool usesProduct() const { return bool(scores); }
  /// The dots of the staged rows with the staged chunk into shared memory
  /// (nothing unless usesProduct()); ends with a barrier.
  void product();

private:
  /// Zeros the rows of rowTile past `rows` (their dots are never read).
  void clearPaddingRows();

  KernelBuilder &kb;
  bool staged;
  int64_t chunk, rows;
  Value q, keys;
  // With product(): the rows in the element type (whole 16-row tiles) and
  // the chunk's dots [rows][chunk].
  Value rowTile, scores;
};

/// Thread x's keys of a chunk of `count`: x, x + threads, ...; `slot`
/// indexes privateAlloc() buffers, `n` counts the thread's keys from 0.
void forThreadKeys(KernelBuilder &kb, Value count,
                   function_ref<void(Value jj, Value slot, Value n)> body);

/// A query row of a group: its index t, the end of C(t) = [0, end), and
/// whether the group slot holds a row at all (an inactive slot's t and end
/// are not used).
struct GroupRow {
  Value t, end, active;
};

/// The softmax statistics of a group of up to groupRows() query rows over
/// their C(t), computed together so that each chunk of keys is staged once
/// for the group: the fp32 max of each row's logits and the float64 sum of
/// exp(l - max) (each thread adds its keys over every chunk; thread r adds
/// row r's partial sums once, at the end). `store(r, max, sum)` runs once per
/// active row with a non-empty C(t); the call ends with a barrier. Allocates
/// its shared buffers once per function: construct it before the work-item
/// loop.
class RowStatistics {
public:
  /// Rows per group: 16 when the logits are a tensor-core product
  /// (LogitTile::takesProduct), else 4.
  static int64_t groupRows(const KernelRequest &req);

  RowStatistics(KernelBuilder &kb, const KernelRequest &req);
  void emit(const ItemHead &ih, function_ref<GroupRow(Value r)> rowOf,
            function_ref<void(Value r, Value max, Value sum)> store);

private:
  KernelBuilder &kb;
  int64_t rows;
  LogitTile tile;
  Value partialSums, maxima, rowMaxima, sums, rowMax, rowSum;
};

} // namespace mlir::sattn

#endif // SATTN_PASSES_PRIMITIVES_LOGITTILE_H
