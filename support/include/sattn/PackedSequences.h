//===- PackedSequences.h - Calls over packed sequences ----------*- C++ -*-===//
//
// FlashAttention's varlen convention (docs/patterns.md, "Packed
// sequences"): a call over n sequences packed along the S dimension of a
// batch of 1, split by cu_seqlens_q / cu_seqlens_k into n independent calls
// whose every index is local to the sequence. The backends and the oracle
// run a packed call as those calls.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PACKEDSEQUENCES_H
#define SATTN_PACKEDSEQUENCES_H

#include "sattn/TensorView.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace sattn {

/// Checks a packed call (its views as checkAttentionArgs does, a batch of 1,
/// two offset lists of the same length starting at 0, non-decreasing and
/// ending at Sq and Sk), then calls `run` with each sequence's index and
/// own call, in order. A sequence without query rows is skipped; one
/// without keys gets out = 0 and lse = -inf for its rows [q0, q0 + rows):
/// written here in host memory, or by `clearRows(q0, rows)` when given
/// (device memory). Key scores are copied per sequence through host memory.
/// Errors name the list and the entry.
llvm::Error forEachPackedSequence(
    const AttentionConfig &config, const AttentionArgs &args,
    llvm::function_ref<llvm::Error(size_t, const AttentionArgs &)> run,
    llvm::function_ref<llvm::Error(int64_t, int64_t)> clearRows = nullptr);

/// Parses "0,100,250" into offsets; the message names `what`.
llvm::Expected<std::vector<int32_t>> parseOffsets(llvm::StringRef text,
                                                  llvm::StringRef what);

} // namespace sattn

#endif // SATTN_PACKEDSEQUENCES_H
