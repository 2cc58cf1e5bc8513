//===- ReferenceBackend.h - The oracle behind the backend API ---*- C++ -*-===//
//
// Runs the float64 reference on caller views, so that it is called exactly
// like a compiled kernel: any layout, f32/f16/bf16, validated arguments.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_REFERENCEBACKEND_H
#define SATTN_REFERENCEBACKEND_H

#include "sattn/PatternSpec.h"
#include "sattn/TensorView.h"

#include "llvm/Support/Error.h"

namespace sattn {

/// Checks `args` (checkAttentionArgs, plus the run-time inputs the pattern
/// reads), reads q, k, v and the optional inputs as float32, computes
/// attention in float64 and writes out (rounded to its dtype) and lse (when
/// wanted).
llvm::Error runReferenceAttention(const PatternSpec &spec,
                                  const AttentionConfig &config,
                                  const AttentionArgs &args);

} // namespace sattn

#endif // SATTN_REFERENCEBACKEND_H
