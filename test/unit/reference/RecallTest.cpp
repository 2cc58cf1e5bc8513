//===- RecallTest.cpp - Attention recall against a brute-force float64 ----===//
//
// The brute force below is written from docs/patterns.md ("Attention
// recall") with plain loops over the token mask (MaskOracle::attends): the
// dense softmax of each row over C(i), the sum of its mass over A(i), and
// the pattern's output as a softmax over A(i). computeRecall must agree with
// it, and give exactly 1 where the pattern keeps every causal key.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include "sattn/Recall.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <random>

using namespace sattn;
using namespace sattn::test;

namespace {

/// `keep where qb >= kb`: every causal key, through a block-level predicate.
KeepPrim keepAllCausalBlocks() {
  return keep(op(KeepOp::Ge, {var(KeepVar::QB), var(KeepVar::KB)}), true);
}

/// makeShape at the default scale 1/sqrt(D), which the brute force uses.
AttentionShape shapeOf(int64_t sq, int64_t sk, int64_t hq, int64_t hkv,
                       int64_t d, int64_t batch = 1) {
  return makeShape(sq, sk, hq, hkv, d, batch, /*scale=*/0);
}

/// Random normal inputs, scaled so that softmaxes are far from uniform.
struct Inputs {
  std::vector<float> q, k, v;
  OracleInputs view() const { return {q.data(), k.data(), nullptr, nullptr}; }
};

Inputs randomInputs(const AttentionShape &s, uint64_t seed, float spread) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  Inputs in;
  auto fill = [&](std::vector<float> &x, int64_t n) {
    x.resize(n);
    for (float &value : x)
      value = normal(rng);
  };
  fill(in.q, s.batch * s.heads * s.seqQ * s.headDim);
  fill(in.k, s.batch * s.kvHeads * s.seqK * s.headDim);
  fill(in.v, s.batch * s.kvHeads * s.seqK * s.headDim);
  return in;
}

std::vector<HeadRecall> mustRecall(const MaskOracle &oracle, const Inputs &in,
                                   bool withValues,
                                   const RecallOptions &options = {}) {
  auto r = computeRecall(oracle, in.view(), withValues ? in.v.data() : nullptr,
                         options);
  if (!r) {
    ADD_FAILURE() << llvm::toString(r.takeError());
    std::abort();
  }
  return std::move(*r);
}

/// The brute force of one head: recall of every row with a non-empty C(i),
/// the squared norms of o - o_dense and o_dense, and the attended / dense
/// pair counts.
struct BruteHead {
  std::vector<double> recall;
  double errorSquared = 0, referenceSquared = 0;
  double attended = 0, densePairs = 0;
};

BruteHead bruteForce(const MaskOracle &oracle, const Inputs &in, int64_t b,
                     int64_t h, const std::vector<int64_t> &rows) {
  const AttentionShape &s = oracle.shape();
  const int64_t D = s.headDim, g = h / (s.heads / s.kvHeads);
  const double scale = 1.0 / std::sqrt(double(D));
  BruteHead out;
  for (int64_t i = 0; i < s.seqQ; ++i) {
    const int64_t end =
        oracle.spec().causal
            ? std::clamp<int64_t>(oracle.position(i) + 1, 0, s.seqK)
            : s.seqK;
    out.densePairs += double(end);
    for (int64_t j = 0; j < s.seqK; ++j)
      out.attended += oracle.attends(b, h, i, j);
  }
  for (int64_t i : rows) {
    const int64_t end =
        oracle.spec().causal
            ? std::clamp<int64_t>(oracle.position(i) + 1, 0, s.seqK)
            : s.seqK;
    if (end == 0)
      continue;
    std::vector<double> logit(end);
    double mx = -INFINITY;
    for (int64_t j = 0; j < end; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < D; ++d)
        dot += double(in.q[((b * s.heads + h) * s.seqQ + i) * D + d]) *
               double(in.k[((b * s.kvHeads + g) * s.seqK + j) * D + d]);
      logit[j] = scale * dot;
      mx = std::max(mx, logit[j]);
    }
    double z = 0, kept = 0;
    std::vector<double> dense(D, 0.0), sparse(D, 0.0);
    for (int64_t j = 0; j < end; ++j) {
      const double p = std::exp(logit[j] - mx);
      const bool inA = oracle.attends(b, h, i, j);
      z += p;
      kept += inA ? p : 0.0;
      for (int64_t d = 0; d < D; ++d) {
        const double vj = in.v[((b * s.kvHeads + g) * s.seqK + j) * D + d];
        dense[d] += p * vj;
        sparse[d] += inA ? p * vj : 0.0;
      }
    }
    out.recall.push_back(kept / z);
    for (int64_t d = 0; d < D; ++d) {
      const double od = dense[d] / z, os = kept > 0 ? sparse[d] / kept : 0.0;
      out.errorSquared += (os - od) * (os - od);
      out.referenceSquared += od * od;
    }
  }
  return out;
}

/// computeRecall against the brute force on every head.
void expectMatchesBruteForce(const PatternSpec &spec,
                             const AttentionShape &shape, uint64_t seed,
                             const RecallOptions &options = {}) {
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  Inputs in = randomInputs(shape, seed, 2.0f);
  MaskOracle oracle = mustCreate(spec, shape, in.view());
  std::vector<HeadRecall> got = mustRecall(oracle, in, true, options);
  const std::vector<int64_t> rows = recallRows(shape.seqQ, options);
  ASSERT_EQ(got.size(), size_t(shape.batch * shape.heads));
  for (const HeadRecall &hr : got) {
    SCOPED_TRACE(testing::Message() << "b " << hr.batch << " h " << hr.head);
    BruteHead want = bruteForce(oracle, in, hr.batch, hr.head, rows);
    ASSERT_FALSE(want.recall.empty());
    double sum = 0;
    for (double r : want.recall)
      sum += r;
    std::vector<double> sorted = want.recall;
    std::sort(sorted.begin(), sorted.end());
    // Nearest rank: the ceil(0.05 n)-th smallest.
    size_t rank = std::max<size_t>(1, size_t(std::ceil(0.05 * sorted.size())));
    EXPECT_EQ(hr.rowsEvaluated, int64_t(want.recall.size()));
    EXPECT_NEAR(hr.recallMean, sum / double(want.recall.size()), 1e-12);
    EXPECT_NEAR(hr.recallP5, sorted[rank - 1], 1e-12);
    EXPECT_NEAR(hr.recallMin, sorted.front(), 1e-12);
    ASSERT_TRUE(hr.outRelErr.has_value());
    EXPECT_NEAR(*hr.outRelErr,
                std::sqrt(want.errorSquared / want.referenceSquared), 1e-10);
    EXPECT_DOUBLE_EQ(hr.density, want.attended / want.densePairs);
  }
}

} // namespace

TEST(Recall, DenseIsExactlyOne) {
  // Every causal key, through a predicate: the pattern's rows are the dense
  // rows, so recall is exactly 1 and the output error exactly 0.
  AttentionShape shape = shapeOf(37, 37, 4, 2, 8);
  Inputs in = randomInputs(shape, 1, 2.0f);
  MaskOracle oracle =
      mustCreate(makeSpec(4, true, {keepAllCausalBlocks()}), shape, in.view());
  for (const HeadRecall &hr : mustRecall(oracle, in, true)) {
    EXPECT_EQ(hr.recallMean, 1.0);
    EXPECT_EQ(hr.recallP5, 1.0);
    EXPECT_EQ(hr.recallMin, 1.0);
    EXPECT_EQ(hr.density, 1.0);
    ASSERT_TRUE(hr.outRelErr.has_value());
    EXPECT_EQ(*hr.outRelErr, 0.0);
    EXPECT_EQ(hr.rowsEvaluated, 37);
  }
}

TEST(Recall, KeepingEverythingIsExactlyOne) {
  // A sink longer than the sequence keeps every causal key; a non-causal
  // window as long as the keys keeps every key, and C(i) is then every key.
  AttentionShape shape = shapeOf(20, 29, 2, 1, 4);
  Inputs in = randomInputs(shape, 2, 2.0f);
  for (const PatternSpec &spec :
       {makeSpec(4, true, {SinkPrim{1000}}),
        makeSpec(4, false, {windowTokens(29), SinkPrim{29}})}) {
    MaskOracle oracle = mustCreate(spec, shape, in.view());
    for (const HeadRecall &hr : mustRecall(oracle, in, true)) {
      EXPECT_EQ(hr.recallMean, 1.0);
      EXPECT_EQ(hr.recallMin, 1.0);
      EXPECT_EQ(*hr.outRelErr, 0.0);
    }
  }
}

TEST(Recall, WindowBelowOneMatchesBruteForce) {
  // A 3-token window at 40 tokens: rows past the window lose mass.
  AttentionShape shape = shapeOf(40, 40, 2, 2, 8);
  Inputs in = randomInputs(shape, 3, 2.0f);
  MaskOracle oracle =
      mustCreate(makeSpec(4, true, {windowTokens(3)}), shape, in.view());
  for (const HeadRecall &hr : mustRecall(oracle, in, true)) {
    EXPECT_LT(hr.recallMean, 0.9);
    EXPECT_LT(hr.recallMin, hr.recallMean);
    EXPECT_GT(hr.recallMin, 0.0);
    EXPECT_GT(*hr.outRelErr, 0.05);
    // Pairs of a 3-token window: 1 + 2 + 3 * 38 of 40 * 41 / 2 causal.
    EXPECT_DOUBLE_EQ(hr.density, 117.0 / 820.0);
  }
  expectMatchesBruteForce(makeSpec(4, true, {windowTokens(3)}), shape, 3);
}

TEST(Recall, MatchesBruteForce) {
  // GQA, batch 2, Sq < Sk (bottom-right), a tail block, static and dynamic
  // primitives, and a non-causal pattern.
  expectMatchesBruteForce(makeSpec(4, true, {SinkPrim{2}, windowTokens(5)}),
                          shapeOf(19, 30, 4, 2, 8, 2), 4);
  TreeSearchPrim tp;
  tp.blockQ = 4;
  tp.blockK = 2;
  tp.budget = 4;
  tp.sink = 2;
  tp.window = 3;
  expectMatchesBruteForce(makeSpec(4, true, {tp}), shapeOf(32, 40, 2, 2, 4), 5);
  StripesPrim sp;
  sp.block = 4;
  sp.segments = 3;
  sp.rows = 2;
  expectMatchesBruteForce(makeSpec(4, true, {sp}), shapeOf(32, 32, 2, 1, 4), 6);
  expectMatchesBruteForce(makeSpec(4, false, {windowTokens(4)}),
                          shapeOf(12, 12, 1, 1, 4), 7);
}

TEST(Recall, SampledRowsMatchBruteForce) {
  // Above allRowsUpTo, one row per stratum; the figures are over those rows.
  RecallOptions options;
  options.allRowsUpTo = 16;
  options.sampleRows = 10;
  std::vector<int64_t> rows = recallRows(64, options);
  ASSERT_EQ(rows.size(), 10u);
  for (size_t r = 0; r < rows.size(); ++r) {
    EXPECT_GE(rows[r], int64_t(r) * 64 / 10);
    EXPECT_LT(rows[r], int64_t(r + 1) * 64 / 10);
  }
  EXPECT_EQ(recallRows(64, options), rows) << "the sample is fixed";
  EXPECT_EQ(recallRows(16, options).size(), 16u);
  expectMatchesBruteForce(makeSpec(4, true, {windowTokens(6), SinkPrim{3}}),
                          shapeOf(64, 64, 2, 1, 8), 8, options);
}

TEST(Recall, EmptyRowsAreLeftOut) {
  // Sq > Sk: the first 5 rows have no causal key and nothing to recall.
  AttentionShape shape = shapeOf(12, 7, 1, 1, 4);
  Inputs in = randomInputs(shape, 9, 1.0f);
  MaskOracle oracle =
      mustCreate(makeSpec(4, true, {windowTokens(2)}), shape, in.view());
  std::vector<HeadRecall> r = mustRecall(oracle, in, false);
  EXPECT_EQ(r[0].rowsEvaluated, 7);
  EXPECT_FALSE(r[0].outRelErr.has_value());
}

TEST(Recall, DenseCoverCountsTheHeaviestBlocks) {
  // q . k_0 dominates every row (k_0 aligned with every q, the rest
  // orthogonal): one block of 4 keys holds nearly all the mass.
  AttentionShape shape = shapeOf(16, 16, 1, 1, 2);
  Inputs in;
  in.q.assign(16 * 2, 0.0f);
  in.k.assign(16 * 2, 0.0f);
  for (int64_t i = 0; i < 16; ++i) {
    in.q[i * 2] = 20.0f;
    in.k[i * 2 + 1] = 1.0f;
  }
  in.k[0] = 20.0f;
  MaskOracle oracle =
      mustCreate(makeSpec(4, true, {windowTokens(1)}), shape, in.view());
  RecallOptions options;
  options.coverBlock = 4;
  std::vector<HeadRecall> r = mustRecall(oracle, in, false, options);
  // Rows 0..15 need 1 block each, of 1, 1, 1, 1, 2, ..., 4 causal blocks.
  EXPECT_DOUBLE_EQ(r[0].denseCover, 16.0 / 40.0);
  // The window keeps only the diagonal: row 0 keeps all its mass, the
  // others e^0 / (e^(400 / sqrt(2)) + i), which is 0 to double precision.
  EXPECT_NEAR(r[0].recallMean, 1.0 / 16.0, 1e-15);
  EXPECT_LT(r[0].recallMin, 1e-100);
}

TEST(Recall, NeedsQueriesAndKeys) {
  AttentionShape shape = shapeOf(8, 8, 1, 1, 4);
  MaskOracle oracle =
      mustCreate(makeSpec(4, true, {windowTokens(2)}), shape, {});
  auto r = computeRecall(oracle, {}, nullptr);
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("needs q and k"),
            std::string::npos);
}
