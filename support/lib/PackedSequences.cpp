//===- PackedSequences.cpp - Calls over packed sequences ------------------===//

#include "sattn/PackedSequences.h"

#include "sattn/Errors.h"

#include "llvm/ADT/StringExtras.h"

#include <limits>
#include <vector>

using namespace sattn;

/// The view with dimension `dim` cut to [begin, begin + count).
static TensorView slice(const TensorView &view, unsigned dim, int64_t begin,
                        int64_t count) {
  TensorView part = view;
  part.data = static_cast<char *>(view.data) +
              begin * view.strides[dim] * int64_t(dtypeSize(view.dtype));
  part.sizes[dim] = count;
  return part;
}

/// The offsets are 0, ..., `total`, non-decreasing.
static llvm::Error checkOffsets(llvm::ArrayRef<int32_t> offsets,
                                llvm::StringRef name, int64_t total,
                                llvm::StringRef length) {
  if (offsets.empty())
    return makeArgumentError(name + " must have n + 1 >= 1 entries, got none");
  if (offsets.front() != 0)
    return makeArgumentError(name + "[0] must be 0, got " +
                             llvm::Twine(offsets.front()));
  for (size_t s = 1; s < offsets.size(); ++s)
    if (offsets[s] < offsets[s - 1])
      return makeArgumentError(
          name + " must not decrease: entry " + llvm::Twine(s) + " is " +
          llvm::Twine(offsets[s]) + ", entry " + llvm::Twine(s - 1) + " is " +
          llvm::Twine(offsets[s - 1]));
  if (offsets.back() != total)
    return makeArgumentError(name + " must end at " + length + " = " +
                             llvm::Twine(total) + ", got " +
                             llvm::Twine(offsets.back()));
  return llvm::Error::success();
}

llvm::Error sattn::forEachPackedSequence(
    const AttentionConfig &config, const AttentionArgs &args,
    llvm::function_ref<llvm::Error(size_t, const AttentionArgs &)> run,
    llvm::function_ref<llvm::Error(int64_t, int64_t)> clearRows) {
  if (!args.cuSeqlensQ.data() || !args.cuSeqlensK.data())
    return makeArgumentError(
        "packed sequences need both cu_seqlens_q and cu_seqlens_k");
  AttentionArgs whole = args;
  whole.cuSeqlensQ = whole.cuSeqlensK = {};
  llvm::Expected<AttentionShape> shape = checkAttentionArgs(config, whole);
  if (!shape)
    return shape.takeError();
  if (shape->batch != 1)
    return makeArgumentError("packed sequences take a batch of 1 (the "
                             "sequences lie along S), got a batch of " +
                             llvm::Twine(shape->batch));
  if (args.cuSeqlensQ.size() != args.cuSeqlensK.size())
    return makeArgumentError(
        "cu_seqlens_q and cu_seqlens_k must have the same number of entries, "
        "got " +
        llvm::Twine(args.cuSeqlensQ.size()) + " and " +
        llvm::Twine(args.cuSeqlensK.size()));
  if (llvm::Error e =
          checkOffsets(args.cuSeqlensQ, "cu_seqlens_q", shape->seqQ, "Sq"))
    return e;
  if (llvm::Error e =
          checkOffsets(args.cuSeqlensK, "cu_seqlens_k", shape->seqK, "Sk"))
    return e;
  const bool lse = args.wantsLse();
  for (size_t s = 0; s + 1 < args.cuSeqlensQ.size(); ++s) {
    const int64_t q0 = args.cuSeqlensQ[s], k0 = args.cuSeqlensK[s];
    const int64_t rows = args.cuSeqlensQ[s + 1] - q0;
    const int64_t keys = args.cuSeqlensK[s + 1] - k0;
    if (rows == 0)
      continue;
    if (keys == 0) {
      // Nothing to attend to: o = 0, lse = -inf (docs/patterns.md).
      if (clearRows) {
        if (llvm::Error e = clearRows(q0, rows))
          return e;
        continue;
      }
      for (int64_t h = 0; h < shape->heads; ++h)
        for (int64_t i = q0; i < q0 + rows; ++i) {
          for (int64_t d = 0; d < shape->headDim; ++d)
            args.out.store({0, h, i, d}, 0.0f);
          if (lse)
            args.lse.store({0, h, i}, -std::numeric_limits<float>::infinity());
        }
      continue;
    }
    AttentionArgs one = whole;
    one.q = slice(args.q, 2, q0, rows);
    one.out = slice(args.out, 2, q0, rows);
    if (lse)
      one.lse = slice(args.lse, 2, q0, rows);
    one.k = slice(args.k, 2, k0, keys);
    one.v = slice(args.v, 2, k0, keys);
    // Key scores go to the kernels as one contiguous [1, Hkv, Sk_s] block:
    // the sequence's columns are copied out (host memory).
    std::vector<float> scores;
    if (args.keyScores) {
      const TensorView &all = *args.keyScores;
      const int64_t groups = all.sizes[1];
      scores.resize(size_t(groups * keys));
      for (int64_t g = 0; g < groups; ++g)
        for (int64_t j = 0; j < keys; ++j)
          scores[g * keys + j] = all.load({0, g, k0 + j});
      one.keyScores =
          TensorView::contiguous(scores.data(), DType::F32, {1, groups, keys});
    }
    if (llvm::Error e = run(s, one)) {
      // The sequence's number leads; the code (argument or not) stays.
      std::string message;
      std::error_code code = llvm::inconvertibleErrorCode();
      llvm::handleAllErrors(std::move(e), [&](const llvm::ErrorInfoBase &info) {
        message = info.message();
        code = info.convertToErrorCode();
      });
      return llvm::createStringError(code, "sequence " + llvm::Twine(s) + ": " +
                                               message);
    }
  }
  return llvm::Error::success();
}

llvm::Expected<std::vector<int32_t>> sattn::parseOffsets(llvm::StringRef text,
                                                         llvm::StringRef what) {
  std::vector<int32_t> offsets;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',');
  for (llvm::StringRef part : parts) {
    int32_t value;
    if (part.trim().getAsInteger(10, value))
      return makeArgumentError(what + ": '" + part.trim() +
                               "' is not a 32-bit integer (write offsets "
                               "such as 0,100,250)");
    offsets.push_back(value);
  }
  return offsets;
}
