//===- LlmInputsTest.cpp - The LLM-like input generator -------------------===//
//
// Determinism, independence of tensors and lengths, head kinds, and the
// statistics docs/llm-inputs.md states for them ("What the tests hold"),
// measured on the dense attention of generated inputs.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include "sattn/LlmInputs.h"
#include "sattn/Recall.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace sattn;
using namespace sattn::test;

namespace {

LlmInputs mustGenerate(const AttentionShape &shape, uint64_t seed,
                       const LlmTensorRequest &request = {true, true, true,
                                                          true, true}) {
  LlmInputOptions options;
  options.seed = seed;
  auto in = generateLlmInputs(shape, options, request);
  if (!in) {
    ADD_FAILURE() << llvm::toString(in.takeError());
    std::abort();
  }
  return std::move(*in);
}

/// Softmax mass of keys [lo, hi) in the dense causal row i of head h.
double rowMass(const AttentionShape &shape, const LlmInputs &in, int64_t h,
               int64_t i, int64_t lo, int64_t hi) {
  std::vector<double> logits;
  OracleInputs view{in.q.data(), in.k.data(), nullptr, nullptr};
  double all = attentionRow(shape, view, nullptr, 0, h, i, {{0, i + 1}},
                            nullptr, logits);
  double part =
      attentionRow(shape, view, nullptr, 0, h, i, {{lo, hi}}, nullptr, logits);
  return std::exp(part - all);
}

/// Per head: the dense cover (128-key blocks holding 95% of the mass) over
/// 64 sampled rows.
std::vector<double> denseCover(const AttentionShape &shape,
                               const std::vector<float> &q,
                               const std::vector<float> &k) {
  PatternSpec spec = makeSpec(128, true, {SinkPrim{0}});
  OracleInputs view{q.data(), k.data(), nullptr, nullptr};
  MaskOracle oracle = mustCreate(spec, shape, view);
  RecallOptions options;
  options.allRowsUpTo = 0;
  options.sampleRows = 64;
  auto recall = computeRecall(oracle, view, nullptr, options);
  EXPECT_TRUE(bool(recall));
  std::vector<double> cover;
  for (const HeadRecall &hr : *recall)
    cover.push_back(hr.denseCover);
  return cover;
}

/// The rows of the second half the statistics are taken over.
std::vector<int64_t> lateRows(int64_t seq) {
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < 16; ++r)
    rows.push_back(seq / 2 + r * (seq / 32) + 7);
  return rows;
}

} // namespace

TEST(LlmInputs, DeterministicPerSeed) {
  AttentionShape shape = makeShape(300, 300, 4, 2, 32, 2);
  LlmInputs a = mustGenerate(shape, 7), b = mustGenerate(shape, 7);
  EXPECT_EQ(a.q, b.q);
  EXPECT_EQ(a.k, b.k);
  EXPECT_EQ(a.v, b.v);
  EXPECT_EQ(a.keyScores, b.keyScores);
  EXPECT_EQ(a.weights, b.weights);
  LlmInputs c = mustGenerate(shape, 8);
  EXPECT_NE(a.q, c.q);
  EXPECT_NE(a.k, c.k);
  EXPECT_NE(a.v, c.v);
  EXPECT_NE(a.keyScores, c.keyScores);
  ASSERT_EQ(a.q.size(), size_t(2 * 4 * 300 * 32));
  ASSERT_EQ(a.k.size(), size_t(2 * 2 * 300 * 32));
  ASSERT_EQ(a.keyScores.size(), size_t(2 * 2 * 300));
  ASSERT_EQ(a.weights.size(), size_t(2 * 32));
}

TEST(LlmInputs, TensorsDoNotDependOnWhatElseIsAskedFor) {
  AttentionShape shape = makeShape(200, 200, 2, 1, 16);
  LlmInputs all = mustGenerate(shape, 3);
  LlmInputs qOnly = mustGenerate(shape, 3, {true, false, false, false, false});
  LlmInputs scoresOnly =
      mustGenerate(shape, 3, {false, false, false, true, false});
  EXPECT_EQ(qOnly.q, all.q);
  EXPECT_TRUE(qOnly.k.empty());
  EXPECT_TRUE(qOnly.v.empty());
  EXPECT_EQ(scoresOnly.keyScores, all.keyScores);
  EXPECT_TRUE(scoresOnly.q.empty());
}

TEST(LlmInputs, LongerSequencesExtendShorterOnes) {
  // A token's vectors depend on the seed and its position only.
  AttentionShape shortShape = makeShape(256, 256, 4, 2, 32);
  AttentionShape longShape = makeShape(512, 512, 4, 2, 32);
  LlmInputs s = mustGenerate(shortShape, 5), l = mustGenerate(longShape, 5);
  for (int64_t h = 0; h < 4; ++h)
    for (size_t n = 0; n < 256 * 32; ++n)
      ASSERT_EQ(s.q[h * 256 * 32 + n], l.q[h * 512 * 32 + n]) << "head " << h;
  for (int64_t g = 0; g < 2; ++g)
    for (size_t n = 0; n < 256 * 32; ++n) {
      ASSERT_EQ(s.k[g * 256 * 32 + n], l.k[g * 512 * 32 + n]) << "kv " << g;
      ASSERT_EQ(s.v[g * 256 * 32 + n], l.v[g * 512 * 32 + n]) << "kv " << g;
    }
  // Decode (Sq < Sk): the queries are those of the last positions.
  AttentionShape decode = makeShape(64, 512, 4, 2, 32);
  LlmInputs d = mustGenerate(decode, 5);
  EXPECT_EQ(d.k, l.k);
  for (int64_t h = 0; h < 4; ++h)
    for (size_t n = 0; n < 64 * 32; ++n)
      ASSERT_EQ(d.q[h * 64 * 32 + n], l.q[(h * 512 + 448) * 32 + n]);
}

TEST(LlmInputs, EveryFourHeadsHoldEveryKind) {
  for (uint64_t seed : {0, 1, 2, 3, 4, 5}) {
    for (int64_t first : {0, 3}) {
      std::vector<bool> seen(4, false);
      for (int64_t h = first; h < first + 4; ++h)
        seen[size_t(llmHeadKind(seed, h))] = true;
      EXPECT_EQ(seen, std::vector<bool>(4, true)) << "seed " << seed;
    }
    EXPECT_EQ(llmHeadKind(seed, 1), llmHeadKind(seed, 5));
  }
  AttentionShape shape = makeShape(64, 64, 8, 2, 16);
  LlmInputs in = mustGenerate(shape, 9);
  ASSERT_EQ(in.headKinds.size(), 8u);
  for (int64_t h = 0; h < 8; ++h)
    EXPECT_EQ(in.headKinds[h], llmHeadKind(9, h));
}

TEST(LlmInputs, RefusesBadShapesAndOptions) {
  for (int64_t d : {15, 8}) {
    auto in = generateLlmInputs(makeShape(8, 8, 1, 1, d), {}, {});
    ASSERT_FALSE(bool(in));
    EXPECT_NE(llvm::toString(in.takeError()).find("even head dim >= 16"),
              std::string::npos);
  }
  auto decodeLonger = generateLlmInputs(makeShape(9, 8, 1, 1, 16), {}, {});
  ASSERT_FALSE(bool(decodeLonger));
  EXPECT_NE(llvm::toString(decodeLonger.takeError()).find("seq_k >= seq_q"),
            std::string::npos);
  LlmInputOptions bad;
  bad.ropeTheta = 1;
  auto theta = generateLlmInputs(makeShape(8, 8, 1, 1, 16), bad, {});
  ASSERT_FALSE(bool(theta));
  EXPECT_NE(llvm::toString(theta.takeError()).find("theta > 1"),
            std::string::npos);
}

TEST(LlmInputs, SinksAreLoudAndQuiet) {
  // Sink keys score highest and carry small values.
  AttentionShape shape = makeShape(2048, 2048, 4, 2, 64);
  LlmInputs in = mustGenerate(shape, 1);
  for (int64_t g = 0; g < 2; ++g) {
    const float *u = in.keyScores.data() + g * 2048;
    EXPECT_GT(u[0], 0.7f);
    for (int64_t j = 1; j < 4; ++j)
      EXPECT_GT(u[j], 0.3f);
    double rest = 0;
    for (int64_t j = 4; j < 2048; ++j)
      rest += u[j];
    EXPECT_LT(std::fabs(rest / 2044), 0.05);
    double sinkNorm = 0, otherNorm = 0;
    for (int64_t d = 0; d < 64; ++d) {
      sinkNorm += std::pow(in.v[(g * 2048 + 0) * 64 + d], 2);
      otherNorm += std::pow(in.v[(g * 2048 + 100) * 64 + d], 2);
    }
    EXPECT_LT(std::sqrt(sinkNorm), 0.25 * std::sqrt(otherNorm));
  }
}

TEST(LlmInputs, HeadKindsHaveTheirDocumentedStatistics) {
  // docs/llm-inputs.md, "What the tests hold": at 4096 tokens, D = 64 and
  // 128, seeds 1 to 3, over 16 rows of the second half.
  for (int64_t D : {64, 128})
    for (uint64_t seed : {1, 2, 3}) {
      SCOPED_TRACE(testing::Message() << "D " << D << " seed " << seed);
      const int64_t S = 4096;
      AttentionShape shape = makeShape(S, S, 4, 4, D, 1, /*scale=*/0);
      LlmInputs in =
          mustGenerate(shape, seed, {true, true, false, false, false});
      std::vector<double> cover = denseCover(shape, in.q, in.k);
      for (int64_t h = 0; h < 4; ++h) {
        const LlmHeadKind kind = in.headKinds[h];
        SCOPED_TRACE(llmHeadKindName(kind).str());
        double sink = 0, local = 0;
        for (int64_t i : lateRows(S)) {
          sink += rowMass(shape, in, h, i, 0, 4) / 16;
          local += rowMass(shape, in, h, i, i - 255, i + 1) / 16;
        }
        switch (kind) {
        case LlmHeadKind::SinkDominated:
          EXPECT_GE(sink, 0.95);
          break;
        case LlmHeadKind::Local:
          EXPECT_GE(local, 0.95);
          break;
        case LlmHeadKind::VerticalSlash:
          // Heavy columns and slashes hold the rest.
          EXPECT_LE(sink + local, 0.8);
          break;
        case LlmHeadKind::Retrieval:
          // Sinks when the query has no topic, its topic's spans otherwise.
          EXPECT_GE(sink, 0.2);
          EXPECT_LE(sink, 0.95);
          break;
        }
        EXPECT_LE(cover[h], kind == LlmHeadKind::Local ||
                                    kind == LlmHeadKind::SinkDominated
                                ? 0.08
                                : 0.2);
      }
    }
}

TEST(LlmInputs, RandomNormalInputsAreNotSparse) {
  // The contrast the generator exists for: on random normal q and k the
  // dense cover is most of the causal blocks.
  AttentionShape shape = makeShape(4096, 4096, 2, 2, 64, 1, /*scale=*/0);
  std::mt19937_64 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> q(2 * 4096 * 64), k(2 * 4096 * 64);
  for (float &x : q)
    x = normal(rng);
  for (float &x : k)
    x = normal(rng);
  for (double cover : denseCover(shape, q, k))
    EXPECT_GE(cover, 0.5);
  // And structure 0 turns the generator's own inputs near-uniform too.
  LlmInputOptions flat;
  flat.seed = 1;
  flat.structure = 0;
  auto in = generateLlmInputs(shape, flat, {true, true, false, false, false});
  ASSERT_TRUE(bool(in));
  for (double cover : denseCover(shape, in->q, in->k))
    EXPECT_GE(cover, 0.5);
}
