//===- KeySource.h - How a primitive adds keys to a query tile --*- C++ -*-===//
//
// Attention visits the keys of a query tile source by source, in the
// schedule's order. A key source is one primitive of the pattern as code
// generators see it: a walk over its keys for a tile (closed-form index
// arithmetic for static primitives, workspace lists for dynamic ones) and
// exact membership tests, so that a key an earlier source holds is never
// counted twice and no mask is ever stored. Sources are made by the
// primitives' KeySourcePrimitive interface (PrimitiveInterfaces.td).
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_KEYSOURCE_H
#define SATTN_PASSES_KEYSOURCE_H

#include "passes/KernelBuilder.h"
#include "passes/KernelRequest.h"

#include <memory>
#include <vector>

namespace mlir::sattn {

/// Values of the query tile being computed.
struct TileContext {
  Value batch, head, kvHead;
  Value tile;       // tile index
  Value offset;     // Sk - Sq
  Value firstRow;   // local index of row 0 (may be < 0 or past Sq)
  Value firstPos;   // p of row 0
  Value lastPos;    // p of the last valid row
  Value keyEnd;     // keys past this are never attended (causality, Sk)
  Value queryBlock; // floor(firstPos / B) of the pattern's block B
  Value seqQ, seqK;
  /// The !sattn_tile.tile being computed (attention only).
  Value value;
  /// ALiBi's slope of the tile's query head (f32; patterns with `alibi`).
  Value alibiSlope;
};

/// Values of one query row.
struct RowContext {
  Value row;        // local index i (a valid row: 0 <= i < Sq)
  Value pos;        // p(i)
  Value queryBlock; // floor(p / B)
};

/// What sources see of the kernel they are emitted into. The attention
/// program implements the visits; a selection stage that only asks sources
/// about membership (top-k blocks) uses this base, whose visits are errors.
class KeySourceContext {
public:
  KeySourceContext(KernelBuilder &kb, const KernelRequest &request)
      : kb(kb), req(request) {}
  virtual ~KeySourceContext();

  KernelBuilder &builder() { return kb; }
  const KernelRequest &request() const { return req; }
  /// The pattern's block size B as an index.
  Value patternBlock() { return kb.idx(req.block); }

  /// Visits keys [start, end) (clipped to [0, keyEnd)) as source `self`.
  virtual void visitRange(const TileContext &tile, unsigned self, Value start,
                          Value end);
  /// Visits `count` keys whose indices keyAt(i) gives (i in [0, count); -1
  /// for none).
  virtual void visitKeys(const TileContext &tile, unsigned self, Value count,
                         function_ref<Value(Value)> keyAt);
  /// Whether a source before `self` covers key block `kb` entirely (i1):
  /// lets whole-block walks skip blocks already visited.
  virtual Value coveredBefore(const TileContext &tile, unsigned self,
                              Value kbValue);

protected:
  KernelBuilder &kb;
  const KernelRequest &req;
};

/// One primitive's keys for a query tile.
class KeySource {
public:
  virtual ~KeySource();
  /// Emits the walk over this source's keys for the tile through
  /// cx.visitRange / cx.visitKeys.
  virtual void enumerate(KeySourceContext &cx, const TileContext &tile,
                         unsigned self) = 0;
  /// Whether key `j` (index in [0, Sk)) belongs to this source for the row
  /// (i1). Keys of earlier sources are excluded through this test, so it
  /// must be exact for every key when a later source exists; a source that
  /// comes last is only asked about keys it visits itself.
  virtual Value contains(KeySourceContext &cx, const TileContext &tile,
                         const RowContext &row, Value j) = 0;
  /// Whether every key this source visits for a tile belongs to it for every
  /// row of the tile (causality aside), so that its own chunks need no
  /// contains() test.
  virtual bool visitsOnlyMembers() const { return false; }
  /// For sources that hold whole key blocks of the pattern's block size:
  /// whether block `kb` is entirely in the source for every row of the tile
  /// (i1), or null when the source cannot tell cheaply.
  virtual Value coversBlock(KeySourceContext &cx, const TileContext &tile,
                            Value kbValue) {
    return Value();
  }
  /// Whether every key of [start, end) is in the source for every row of
  /// the tile (i1), or null when the source cannot tell cheaply. Only asked
  /// about ranges the source visits itself.
  virtual Value coversRange(KeySourceContext &cx, const TileContext &tile,
                            Value start, Value end) {
    return Value();
  }
  /// Whether no key of [start, end) is in the source for any row of the tile
  /// (i1), or null when the source cannot tell cheaply.
  virtual Value missesRange(KeySourceContext &cx, const TileContext &tile,
                            Value start, Value end) {
    return Value();
  }
};

using KeySourceList = std::vector<std::unique_ptr<KeySource>>;

/// The key sources of a scheduled request, in visiting order (each
/// primitive's KeySourcePrimitive::appendKeySources).
KeySourceList makeKeySources(const KernelRequest &request);

/// The sink [0, n) and the token window (p - w, p] as sources, for dynamic
/// primitives that carry their own (tree_search).
std::unique_ptr<KeySource> makeSinkSource(int64_t n);
std::unique_ptr<KeySource> makeTokenWindowSource(int64_t w);

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

} // namespace mlir::sattn

#endif // SATTN_PASSES_KEYSOURCE_H
