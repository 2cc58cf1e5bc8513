//===- SelectionHelpers.h - Pieces several selection stages share -*- C++
//-*-===//

#ifndef SATTN_PASSES_PRIMITIVES_SELECTIONHELPERS_H
#define SATTN_PASSES_PRIMITIVES_SELECTIONHELPERS_H

#include "passes/KernelBuilder.h"

namespace mlir::sattn {

/// (sa, a) ranks strictly before (sb, b): a higher score, then the smaller
/// index (the spec's tie rule).
Value rankedBefore(KernelBuilder &kb, Value sa, Value a, Value sb, Value b);

/// The mean over query rows [first, last] of batch bb, head h, component by
/// component into the f32 shared buffer `mean` [D]; ends with a barrier.
void storeQueryMean(KernelBuilder &kb, Value mean, Value bb, Value h,
                    Value first, Value last);

/// Whether a stage's `sattn_tile.dots` products may use tensor cores
/// (`mma_sync`): a GPU kernel with f16 or bf16 operands and a head dim that
/// is a multiple of 16 (the product's row and column counts are the
/// stage's to choose).
bool selectionTensorCores(const KernelRequest &req);

/// rankedBefore's order as one unsigned 64-bit key (i64), larger ranking
/// first: the high word orders the scores (numbers by value, -0 as +0, a
/// NaN as 1, below every number), the low word is the complemented index
/// (ties to the smaller index; index < 2^31). No key is 0.
Value rankKey(KernelBuilder &kb, Value score, Value index);

/// Combines each of `rows` per-thread values over the item's threads, in
/// thread order: `perThread` (privateAlloc [rows]) goes to `scratch`
/// (shared [rows][threads]), then result(r, combined) runs for each row r,
/// cooperatively; each step ends with a barrier.
void combineOverThreads(KernelBuilder &kb, Value perThread, Value scratch,
                        int64_t rows, Value init,
                        function_ref<Value(Value acc, Value v)> combine,
                        function_ref<void(Value r, Value combined)> result);

/// `v` (f32) as `elem`; exact for values loaded from a tensor of `elem`.
Value narrowTo(KernelBuilder &kb, Type elem, Value v);

/// A stage launched over (batch, query head), `split` items each, with
/// `threads` threads.
StageAttr headsStage(MLIRContext *ctx, StringRef function, int64_t primitive,
                     int64_t threads = 128, int64_t split = 1);

} // namespace mlir::sattn

#endif // SATTN_PASSES_PRIMITIVES_SELECTIONHELPERS_H
