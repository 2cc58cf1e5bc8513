//===- ScoreModifiersTest.cpp - softcap and alibi in the oracle -----------===//
//
// The score modifiers of docs/patterns.md: ALiBi's slopes against the
// ALiBi paper's published rule (worked out by hand below), the modified
// score, and reference attention on a case small enough to compute by hand.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include "sattn/ScoreModifiers.h"

#include <cmath>
#include <limits>

using namespace sattn;
using namespace sattn::test;

namespace {

TEST(AlibiSlopes, PowerOfTwoHeads) {
  // H = 8: 2^-1, 2^-2, ..., 2^-8.
  for (int64_t h = 0; h < 8; ++h)
    EXPECT_DOUBLE_EQ(alibiSlope(h, 8), std::exp2(-double(h + 1))) << h;
  // H = 1: 2^-8.
  EXPECT_DOUBLE_EQ(alibiSlope(0, 1), 1.0 / 256);
  // H = 4: 2^-2, 2^-4, 2^-6, 2^-8.
  EXPECT_DOUBLE_EQ(alibiSlope(1, 4), 1.0 / 16);
}

TEST(AlibiSlopes, OtherHeadCounts) {
  // H = 12: the 8 slopes of H' = 8, then slopes 0, 2, 4, 6 of 16 heads,
  // 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5 (16 heads: 2^(-(i + 1) / 2)).
  for (int64_t h = 0; h < 8; ++h)
    EXPECT_DOUBLE_EQ(alibiSlope(h, 12), std::exp2(-double(h + 1))) << h;
  EXPECT_DOUBLE_EQ(alibiSlope(8, 12), std::exp2(-0.5));
  EXPECT_DOUBLE_EQ(alibiSlope(9, 12), std::exp2(-1.5));
  EXPECT_DOUBLE_EQ(alibiSlope(11, 12), std::exp2(-3.5));
  // H = 3: 2^-4, 2^-8 (H' = 2), then slope 0 of 4 heads, 2^-2.
  EXPECT_DOUBLE_EQ(alibiSlope(0, 3), 1.0 / 16);
  EXPECT_DOUBLE_EQ(alibiSlope(1, 3), 1.0 / 256);
  EXPECT_DOUBLE_EQ(alibiSlope(2, 3), 0.25);
}

TEST(ScoreModifiers, CapThenDistancePenalty) {
  ScoreModifiers none;
  EXPECT_FALSE(none.any());
  EXPECT_EQ(none.apply(3.5, 0, 4, 10, 2), 3.5);

  ScoreModifiers cap;
  cap.softcap = 2;
  ASSERT_TRUE(cap.any());
  EXPECT_DOUBLE_EQ(cap.apply(3, 0, 4, 10, 2), 2 * std::tanh(1.5));
  EXPECT_DOUBLE_EQ(cap.apply(-100, 0, 4, 10, 2), 2 * std::tanh(-50.0));

  ScoreModifiers both = cap;
  both.alibi = true;
  // Head 1 of 4: m = 2^-4; p(i) - j = 8.
  EXPECT_DOUBLE_EQ(both.apply(3, 1, 4, 10, 2), 2 * std::tanh(1.5) - 0.5);

  // A dropped key stays dropped; NaN stays NaN.
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(both.apply(-inf, 1, 4, 10, 2), -inf);
  EXPECT_TRUE(std::isnan(both.apply(std::nan(""), 1, 4, 10, 2)));
}

TEST(ScoreModifiers, ReferenceAttentionByHand) {
  // One head (H = 1: m = 2^-8), causal, every key: Sq = Sk = 2, D = 1,
  // scale 1. Row 1 sees keys 0 and 1 with raw scores q1 k0 = 2 * 3 = 6 and
  // q1 k1 = 2 * -1 = -2.
  AttentionShape shape = makeShape(2, 2, 1, 1, 1);
  std::vector<float> q = {1, 2}, k = {3, -1}, v = {10, 20};
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  PatternSpec spec = makeSpec(1, true, {windowTokens(4)});
  spec.modifiers.softcap = 4;
  spec.modifiers.alibi = true;
  std::vector<double> out(2), lse(2);
  ASSERT_FALSE(bool(
      referenceAttention(spec, shape, in, v.data(), out.data(), lse.data())));
  // Modified: s0 = 4 tanh(6 / 4) - 2^-8 * 1, s1 = 4 tanh(-2 / 4) - 0.
  const double s0 = 4 * std::tanh(1.5) - 1.0 / 256;
  const double s1 = 4 * std::tanh(-0.5);
  const double w0 = std::exp(s0), w1 = std::exp(s1);
  EXPECT_NEAR(out[1], (10 * w0 + 20 * w1) / (w0 + w1), 1e-12);
  EXPECT_NEAR(lse[1], std::log(w0 + w1), 1e-12);
  // Row 0 sees key 0 alone at distance 0: o = v0, lse = its capped score.
  EXPECT_DOUBLE_EQ(out[0], 10);
  EXPECT_NEAR(lse[0], 4 * std::tanh(3.0 / 4), 1e-12);
}

} // namespace
