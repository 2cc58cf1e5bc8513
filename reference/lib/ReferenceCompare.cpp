//===- ReferenceCompare.cpp - A kernel's result against the oracle --------===//

#include "sattn/ReferenceCompare.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace sattn {
namespace {

/// Calls `fn(flat, index)` for every element of a view of `sizes`, in
/// row-major order.
void forEachIndex(
    llvm::ArrayRef<int64_t> sizes,
    llvm::function_ref<void(int64_t, llvm::ArrayRef<int64_t>)> fn) {
  for (int64_t s : sizes)
    if (s <= 0)
      return;
  llvm::SmallVector<int64_t, 4> index(sizes.size(), 0);
  for (int64_t flat = 0;; ++flat) {
    fn(flat, index);
    size_t d = sizes.size();
    while (d > 0) {
      --d;
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
      if (d == 0)
        return;
    }
    if (sizes.empty())
      return;
  }
}

/// Whether two values agree as non-finite values: both NaN, or the same
/// infinity. Called when at least one is not finite.
bool sameNonFinite(double got, double want) {
  if (std::isnan(want) || std::isnan(got))
    return std::isnan(want) && std::isnan(got);
  return got == want;
}

} // namespace

double ReferenceComparison::relativeL2() const {
  return std::sqrt(errNorm) / std::max(std::sqrt(refNorm), 1e-30);
}

std::string ReferenceComparison::describe() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "max |err| " << llvm::format("%.3g", maxErr) << " (max |ref| "
     << llvm::format("%.3g", maxRef) << "), relative L2 "
     << llvm::format("%.3g", relativeL2());
  if (outNonFiniteMismatches)
    os << ", " << outNonFiniteMismatches
       << " output elements NaN/Inf unlike the reference (first at flat index "
       << firstNonFiniteMismatch << ")";
  if (lseMismatches)
    os << ", " << lseMismatches << " lse rows off by more than "
       << lseTolerance;
  os << (ok() ? ": ok" : ": FAIL");
  return text;
}

ReferenceComparison compareWithReference(const TensorView &gotOut,
                                         const TensorView &wantOut,
                                         const TensorView &gotLse,
                                         const TensorView &wantLse,
                                         DType dtype) {
  ReferenceComparison c;
  forEachIndex(wantOut.sizes, [&](int64_t flat, llvm::ArrayRef<int64_t> i) {
    double got = gotOut.load(i), want = wantOut.load(i);
    if (!std::isfinite(got) || !std::isfinite(want)) {
      if (!sameNonFinite(got, want)) {
        if (c.outNonFiniteMismatches++ == 0)
          c.firstNonFiniteMismatch = flat;
      }
      return;
    }
    c.maxErr = std::max(c.maxErr, std::fabs(got - want));
    c.maxRef = std::max(c.maxRef, std::fabs(want));
    c.errNorm += (got - want) * (got - want);
    c.refNorm += want * want;
  });
  c.outWithinTolerance =
      dtype == DType::F32 ? c.maxErr <= 1e-4 * c.maxRef
                          : std::sqrt(c.errNorm) <= 1e-2 * std::sqrt(c.refNorm);
  c.lseTolerance = dtype == DType::F32 ? 1e-3 : 3e-2;
  if (gotLse.data && wantLse.data)
    forEachIndex(wantLse.sizes, [&](int64_t, llvm::ArrayRef<int64_t> i) {
      double got = gotLse.load(i), want = wantLse.load(i);
      bool same = std::isfinite(got) && std::isfinite(want)
                      ? std::fabs(got - want) <= c.lseTolerance
                      : sameNonFinite(got, want);
      c.lseMismatches += !same;
    });
  return c;
}

} // namespace sattn
