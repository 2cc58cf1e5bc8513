//===- TensorView.h - Caller-owned tensors and their validation -*- C++ -*-===//
//
// How callers hand tensors to sattn: a pointer, an element type, sizes and
// strides (in elements), so that [B, H, S, D] and [B, S, H, D] buffers are
// both accepted without copies. checkAttentionArgs() is the one place that
// decides whether a set of views is a valid attention call; every backend
// runs it first.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_TENSORVIEW_H
#define SATTN_TENSORVIEW_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sattn {

/// Static attention shape. Sequence lengths are tokens.
struct AttentionShape {
  int64_t batch = 1;
  int64_t heads = 1;   // Hq
  int64_t kvHeads = 1; // Hkv, divides Hq
  int64_t seqQ = 1;
  int64_t seqK = 1;
  int64_t headDim = 64;
  double scale = 0; // 0 = 1/sqrt(headDim)

  double effectiveScale() const {
    return scale != 0 ? scale : 1.0 / std::sqrt(double(headDim));
  }
};

enum class DType { F32, F16, BF16 };

/// "f32", "f16", "bf16".
llvm::StringRef dtypeName(DType dtype);
/// Parses dtypeName's spellings.
std::optional<DType> parseDType(llvm::StringRef name);
size_t dtypeSize(DType dtype);

/// A strided view of caller memory. Strides are in elements and may be any
/// non-negative values; the innermost one must be 1 for q, k, v and out.
struct TensorView {
  void *data = nullptr;
  DType dtype = DType::F32;
  llvm::SmallVector<int64_t, 4> sizes;
  llvm::SmallVector<int64_t, 4> strides;

  /// A dense row-major view.
  static TensorView contiguous(void *data, DType dtype,
                               llvm::ArrayRef<int64_t> sizes);
  /// A [B, H, S, D] view of a dense [B, S, H, D] buffer (heads interleaved
  /// per token, as most model code lays them out).
  static TensorView fromBSHD(void *data, DType dtype, int64_t batch,
                             int64_t seq, int64_t heads, int64_t headDim);

  int64_t rank() const { return int64_t(sizes.size()); }
  /// Element (i0, i1, ...) as float.
  float load(llvm::ArrayRef<int64_t> index) const;
  /// Stores `value`, rounded to the view's dtype (nearest even).
  void store(llvm::ArrayRef<int64_t> index, float value) const;
};

/// What a compiled kernel is specialised for: everything but batch and
/// sequence lengths, which come from the views at each call.
struct AttentionConfig {
  int64_t heads = 1;
  int64_t kvHeads = 1;
  int64_t headDim = 64;
  DType dtype = DType::F32;
  double scale = 0; // 0: 1/sqrt(headDim)
};

/// One attention call: q [B, Hq, Sq, D], k and v [B, Hkv, Sk, D], out like
/// q, lse [B, Hq, Sq] in f32; key scores [B, Hkv, Sk] and weights [Hkv, D] in
/// f32 when the pattern reads them. An lse left as `TensorView()` (null data,
/// no sizes) is not wanted: the kernel writes it into its workspace instead.
/// A run-time integer input of the pattern (docs/patterns.md, "Run-time
/// integer inputs in predicates"), by its declared name: contiguous C-order
/// int32 of the declared shape, in host memory for the CPU backend and
/// device memory for CUDA. Not owned.
struct IntInput {
  std::string name;
  const int32_t *data = nullptr;
  llvm::SmallVector<int64_t, 4> sizes;
};

struct AttentionArgs {
  TensorView q, k, v, out, lse;
  std::optional<TensorView> keyScores, weights;
  /// Packed sequences (docs/patterns.md, "Packed sequences"; host memory,
  /// not owned): n + 1 offsets of each sequence's query rows along q's S
  /// dimension and of its keys along k's, the batch being 1. Both or
  /// neither; sattn/PackedSequences.h splits such a call.
  llvm::ArrayRef<int32_t> cuSeqlensQ, cuSeqlensK;
  /// The pattern's run-time integer inputs, each named once.
  std::vector<IntInput> intInputs;

  bool packed() const { return cuSeqlensQ.data() || cuSeqlensK.data(); }

  bool wantsLse() const {
    return lse.data || !lse.sizes.empty() || !lse.strides.empty();
  }
};

/// Whether the view's data and every stride but the innermost one put each
/// row at an address aligned to `bytes`.
bool rowsAligned(const TensorView &view, int64_t bytes);

/// Checks every view against `config` and each other and returns the shape
/// of the call. Errors name the tensor and what is wrong (null or misaligned
/// pointer, rank, dtype, size, stride, sizes whose byte span overflows, an
/// output whose elements share memory, an output that overlaps another
/// tensor).
llvm::Expected<AttentionShape> checkAttentionArgs(const AttentionConfig &config,
                                                  const AttentionArgs &args);

} // namespace sattn

#endif // SATTN_TENSORVIEW_H
