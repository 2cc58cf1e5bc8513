//===- PackedSequenceCases.h - Packed calls against separate ones -*- C++ -*-===//
//
// Shared by the CPU and CUDA suites: a call over sequences packed along S
// (docs/patterns.md, "Packed sequences") must equal the separate calls,
// each on its own copied-out tensors with local indices, computed by the
// oracle.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_TEST_PACKEDSEQUENCECASES_H
#define SATTN_TEST_PACKEDSEQUENCECASES_H

#include "OracleHarness.h"

#include <functional>
#include <limits>

namespace sattn::testing {

/// Rows [begin, begin + count) of dimension 2 of `view`, copied into a new
/// dense float32 tensor [1, H, count, ...].
inline Tensor copyRows(const TensorView &view, int64_t begin,
                       int64_t count) {
  std::vector<int64_t> sizes(view.sizes.begin(), view.sizes.end());
  sizes[2] = count;
  Tensor part(DType::F32, sizes, nullptr);
  std::vector<int64_t> index(sizes.size(), 0);
  int64_t n = 1;
  for (int64_t s : sizes)
    n *= s;
  for (int64_t e = 0; e < n; ++e) {
    int64_t rest = e;
    for (size_t d = sizes.size(); d-- > 0;) {
      index[d] = rest % sizes[d];
      rest /= sizes[d];
    }
    std::vector<int64_t> from = index;
    from[2] += begin;
    part.view.store(index, view.load(from));
  }
  return part;
}

/// Runs `source` on packed random inputs with a kernel of `backend` (through
/// `runOn`), then checks each sequence against the oracle on its own
/// copied-out tensors.
inline void
checkPacked(Backend backend, const std::string &source,
            std::vector<int32_t> cuQ, std::vector<int32_t> cuK, DType dtype,
            bool keyScores,
            std::function<llvm::Error(Kernel &, AttentionArgs &)> runOn,
            int64_t headDim = 32) {
  ShapeCase shape{"packed", 1, 4, 2, cuQ.back(), cuK.back(), headDim};
  OracleCase c(77 + cuQ.size(), dtype, shape);
  if (keyScores)
    c.args.keyScores = c.scores.view;
  c.args.cuSeqlensQ = cuQ;
  c.args.cuSeqlensK = cuK;
  CompileOptions options;
  options.backend = backend;
  auto kernel = compile(PatternSource::text(source), c.config, options);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  llvm::Error runErr = runOn(**kernel, c.args);
  ASSERT_FALSE(bool(runErr)) << llvm::toString(std::move(runErr));

  mlir::MLIRContext context;
  BoundPattern bound;
  ASSERT_FALSE(bool(loadTextPattern(source, "packed.sattn", context, bound)));
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t s = 0; s + 1 < cuQ.size(); ++s) {
    SCOPED_TRACE("sequence " + std::to_string(s));
    const int64_t q0 = cuQ[s], rows = cuQ[s + 1] - q0;
    const int64_t k0 = cuK[s], keys = cuK[s + 1] - k0;
    if (rows == 0)
      continue;
    Tensor out = copyRows(c.out.view, q0, rows);
    Tensor lse = copyRows(c.lse.view, q0, rows);
    if (keys == 0) {
      for (int64_t h = 0; h < shape.heads; ++h)
        for (int64_t i = 0; i < rows; ++i) {
          EXPECT_EQ(lse.view.load({0, h, i}), -inf);
          for (int64_t d = 0; d < shape.headDim; ++d)
            EXPECT_EQ(out.view.load({0, h, i, d}), 0.0f);
        }
      continue;
    }
    // The sequence alone: its rows and keys copied out, local indices.
    Tensor q = copyRows(c.q.view, q0, rows), k = copyRows(c.k.view, k0, keys),
           v = copyRows(c.v.view, k0, keys);
    Tensor refOut(DType::F32, {1, shape.heads, rows, shape.headDim}, nullptr);
    Tensor refLse(DType::F32, {1, shape.heads, rows}, nullptr);
    AttentionArgs alone{q.view,      k.view,       v.view,      refOut.view,
                        refLse.view, std::nullopt, std::nullopt};
    std::optional<Tensor> scores;
    if (keyScores) {
      scores.emplace(copyRows(c.scores.view, k0, keys));
      alone.keyScores = scores->view;
    }
    AttentionConfig refConfig = c.config;
    refConfig.dtype = DType::F32;
    llvm::Error refErr = runReferenceAttention(bound.spec, refConfig, alone);
    ASSERT_FALSE(bool(refErr)) << llvm::toString(std::move(refErr));
    // The kernel's output, rounded to the dtype, against the float32 copy.
    Tensor outInDtype(dtype, {1, shape.heads, rows, shape.headDim}, nullptr);
    for (int64_t h = 0; h < shape.heads; ++h)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t d = 0; d < shape.headDim; ++d)
          outInDtype.view.store({0, h, i, d}, out.view.load({0, h, i, d}));
    expectMatchesReference(outInDtype, lse, refOut, refLse, dtype);
  }
}

inline const char *kPackedStreaming = "pattern p {\n  block 16\n  causal\n  sink 4 "
                         "tokens\n  window 24 tokens\n}\n";
inline const char *kPackedSparsek = "pattern p {\n  block 16\n  causal\n  window 16 "
                       "tokens\n  topk k = 12 tokens by key_score\n}\n";

} // namespace sattn::testing

#endif // SATTN_TEST_PACKEDSEQUENCECASES_H
