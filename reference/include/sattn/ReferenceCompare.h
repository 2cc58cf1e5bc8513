//===- ReferenceCompare.h - A result against the oracle --------*- C++ -*-===//
//
// The one comparison of a result with the reference, used by every tool and
// test that checks against the oracle (docs/patterns.md, "Tolerances for
// checks" and "Non-finite inputs"): NaN and infinities must sit exactly
// where the reference has them, in out and lse; the finite elements are held
// to fp32 max |err| <= 1e-4 max |ref| or, for fp16/bf16, relative L2 <= 1e-2;
// finite lse within 1e-3 (fp32) or 3e-2.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_REFERENCECOMPARE_H
#define SATTN_REFERENCECOMPARE_H

#include "sattn/TensorView.h"

#include <cstdint>
#include <string>

namespace sattn {

struct ReferenceComparison {
  /// Over the elements finite in both.
  double maxErr = 0, maxRef = 0, errNorm = 0, refNorm = 0;
  /// Output elements where one side is NaN or infinite and the other is not
  /// the same value.
  int64_t outNonFiniteMismatches = 0;
  /// lse rows off by more than the tolerance or non-finite unlike the
  /// reference.
  int64_t lseMismatches = 0;
  /// The first output element whose non-finite value differs (flat index in
  /// the view's row-major order), -1 if none.
  int64_t firstNonFiniteMismatch = -1;
  double lseTolerance = 0;
  bool outWithinTolerance = true;

  double relativeL2() const;
  bool ok() const {
    return outWithinTolerance && outNonFiniteMismatches == 0 &&
           lseMismatches == 0;
  }
  /// One line: the errors, the mismatch counts and "ok" or "FAIL".
  std::string describe() const;
};

/// Compares `gotOut` (the kernel's, in `dtype`) with `wantOut` (the
/// reference's, same sizes) and, when both are given (non-null data), the
/// lse views likewise.
ReferenceComparison compareWithReference(const TensorView &gotOut,
                                         const TensorView &wantOut,
                                         const TensorView &gotLse,
                                         const TensorView &wantLse,
                                         DType dtype);

} // namespace sattn

#endif // SATTN_REFERENCECOMPARE_H
