//===- PackedSequencesTest.cpp - cu_seqlens calls against separate calls --===//
//
// Packed sequences (docs/patterns.md, "Packed sequences"): a call over n
// sequences packed along S must equal n separate calls, each on its own
// copied-out tensors with local indices, computed by the oracle. Covers
// empty sequences, sequences without keys, a sequence of one row, Sq_s !=
// Sk_s, a dynamic pattern (its key scores split too), 1000 sequences in one
// call, and the bad offsets the spec names.
//
//===----------------------------------------------------------------------===//

#include "OracleHarness.h"

#include <limits>

using namespace sattn;
using namespace sattn::testing;

namespace {

/// Rows [begin, begin + count) of dimension 2 of `view`, copied into a new
/// dense float32 tensor [1, H, count, ...].
Tensor copyRows(const TensorView &view, int64_t begin, int64_t count) {
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

/// Runs `source` on packed random inputs with the CPU kernel, then checks
/// each sequence against the oracle on its own copied-out tensors.
void checkPacked(const std::string &source, std::vector<int32_t> cuQ,
                 std::vector<int32_t> cuK, DType dtype, bool keyScores) {
  ShapeCase shape{"packed", 1, 4, 2, cuQ.back(), cuK.back(), 32};
  OracleCase c(77 + cuQ.size(), dtype, shape);
  if (keyScores)
    c.args.keyScores = c.scores.view;
  c.args.cuSeqlensQ = cuQ;
  c.args.cuSeqlensK = cuK;
  auto kernel = compile(PatternSource::text(source), c.config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  llvm::Error runErr = (*kernel)->run(c.args);
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

const char *kStreaming = "pattern p {\n  block 16\n  causal\n  sink 4 "
                         "tokens\n  window 24 tokens\n}\n";
const char *kSparsek = "pattern p {\n  block 16\n  causal\n  window 16 "
                       "tokens\n  topk k = 12 tokens by key_score\n}\n";

class CpuPackedSequences : public ::testing::Test {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }
};

TEST_F(CpuPackedSequences, EqualSeparateCalls) {
  // Empty, one row, no keys, Sq_s < Sk_s, Sq_s > Sk_s (rows before the keys
  // see nothing causally), ragged lengths off the blocks.
  checkPacked(kStreaming, {0, 0, 1, 40, 40, 97, 150},
              {0, 0, 1, 70, 80, 97, 190}, DType::F32, false);
  checkPacked(kStreaming, {0, 33, 100}, {0, 33, 100}, DType::BF16, false);
}

TEST_F(CpuPackedSequences, DynamicPatternSplitsItsKeyScores) {
  checkPacked(kSparsek, {0, 50, 51, 130}, {0, 60, 61, 200}, DType::F32, true);
}

TEST_F(CpuPackedSequences, AThousandSequencesInOneCall) {
  std::vector<int32_t> cu = {0};
  for (int s = 0; s < 1000; ++s)
    cu.push_back(cu.back() + 1 + (s * 7) % 5);
  checkPacked(kStreaming, cu, cu, DType::F32, false);
}

TEST_F(CpuPackedSequences, BadOffsetsAreRefused) {
  ShapeCase shape{"packed", 1, 2, 2, 10, 10, 32};
  OracleCase c(5, DType::F32, shape);
  auto kernel = compile(PatternSource::text(kStreaming), c.config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  auto refused = [&](std::vector<int32_t> q, std::vector<int32_t> k,
                     const std::string &message) {
    c.args.cuSeqlensQ = q;
    c.args.cuSeqlensK = k;
    llvm::Error err = (*kernel)->run(c.args);
    ASSERT_TRUE(bool(err)) << message;
    std::string text = llvm::toString(std::move(err));
    EXPECT_NE(text.find(message), std::string::npos) << text;
  };
  refused({0, 4, 10}, {0, 10}, "must have the same number of entries");
  refused({1, 10}, {0, 10}, "cu_seqlens_q[0] must be 0, got 1");
  refused({0, 6, 4, 10}, {0, 3, 6, 10},
          "cu_seqlens_q must not decrease: entry 2 is 4, entry 1 is 6");
  refused({0, 4, 10}, {0, 4, 9}, "cu_seqlens_k must end at Sk = 10, got 9");
  refused({0, 4, 12}, {0, 4, 10}, "cu_seqlens_q must end at Sq = 10, got 12");
  refused({}, {0, 10}, "need both cu_seqlens_q and cu_seqlens_k");
}

} // namespace
