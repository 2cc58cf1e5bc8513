//===- OracleTest.cpp - Hand-worked cases for the reference oracle --------===//
//
// Every expected key set below was worked out by hand from docs/patterns.md;
// the derivation is in the comment next to it. The *BruteForce tests compare
// the oracle's fast paths (prefix top-k, tree_search score caching, block
// maps over shared rows) with plain evaluations on random inputs.
//
//===----------------------------------------------------------------------===//

#include "OracleTestUtil.h"

#include "sattn/Oracle.h"

#include "gtest/gtest.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

using namespace sattn;
using namespace sattn::test;

namespace {

using Keys = std::vector<int64_t>;

Keys rowKeys(const MaskOracle &o, int64_t i, int64_t h = 0, int64_t b = 0) {
  std::vector<KeyInterval> iv;
  o.rowIntervals(b, h, i, iv);
  Keys keys;
  for (size_t n = 0; n < iv.size(); ++n) {
    // Canonical form: sorted, disjoint and not touching.
    EXPECT_LT(iv[n].first, iv[n].second);
    if (n > 0) {
      EXPECT_GT(iv[n].first, iv[n - 1].second);
    }
    for (int64_t j = iv[n].first; j < iv[n].second; ++j)
      keys.push_back(j);
  }
  return keys;
}

Keys range(int64_t lo, int64_t hi) {
  Keys k;
  for (int64_t j = lo; j < hi; ++j)
    k.push_back(j);
  return k;
}

//===----------------------------------------------------------------------===//
// Static primitives.
//===----------------------------------------------------------------------===//

TEST(OracleStatic, Sink) {
  MaskOracle o = mustCreate(makeSpec(4, true, {SinkPrim{3}}), makeShape(8, 8));
  EXPECT_EQ(rowKeys(o, 0), Keys({0})); // causality clips the sink
  EXPECT_EQ(rowKeys(o, 1), Keys({0, 1}));
  EXPECT_EQ(rowKeys(o, 5), Keys({0, 1, 2}));
  MaskOracle nc =
      mustCreate(makeSpec(4, false, {SinkPrim{3}}), makeShape(8, 8));
  EXPECT_EQ(rowKeys(nc, 0), Keys({0, 1, 2}));
}

TEST(OracleStatic, WindowTokens) {
  MaskOracle o =
      mustCreate(makeSpec(4, true, {windowTokens(3)}), makeShape(8, 8));
  EXPECT_EQ(rowKeys(o, 5), Keys({3, 4, 5})); // p - 3 < j <= p
  EXPECT_EQ(rowKeys(o, 1), Keys({0, 1}));
  EXPECT_EQ(rowKeys(o, 0), Keys({0}));
  // Not causal: the token window is still (p - w, p].
  MaskOracle nc =
      mustCreate(makeSpec(4, false, {windowTokens(3)}), makeShape(8, 8));
  EXPECT_EQ(rowKeys(nc, 5), Keys({3, 4, 5}));
}

TEST(OracleStatic, WindowBlocks) {
  // B = 4, W = 2: blocks qb - 1 and qb.
  MaskOracle o =
      mustCreate(makeSpec(4, true, {windowBlocks(2)}), makeShape(12, 12));
  EXPECT_EQ(rowKeys(o, 9), range(4, 10)); // qb 2: blocks 1, 2; causal at 9
  EXPECT_EQ(rowKeys(o, 3), range(0, 4));  // qb 0: block 0 only
  EXPECT_EQ(rowKeys(o, 5), range(0, 6));  // qb 1: blocks 0, 1
  // Not causal: whole diagonal block.
  MaskOracle nc =
      mustCreate(makeSpec(4, false, {windowBlocks(1)}), makeShape(12, 12));
  EXPECT_EQ(rowKeys(nc, 4), range(4, 8));
}

TEST(OracleStatic, WindowFraction) {
  WindowPrim w;
  w.unit = WindowUnit::Fraction;
  w.fraction = 0.25; // round(2.5) = floor(3.0) = 3 > B = 2
  MaskOracle o = mustCreate(makeSpec(2, true, {w}), makeShape(10, 10));
  EXPECT_EQ(rowKeys(o, 7), Keys({5, 6, 7}));
  w.fraction = 0.04; // round(0.4) = 0 < B = 2, so 2 tokens
  MaskOracle small = mustCreate(makeSpec(2, true, {w}), makeShape(10, 10));
  EXPECT_EQ(rowKeys(small, 7), Keys({6, 7}));
}

TEST(OracleStatic, StridesPow2) {
  MaskOracle o = mustCreate(makeSpec(2, true, {strides(StrideKind::Pow2)}),
                            makeShape(24, 24));
  // Row 23: qb 11; d = 1, 2, 4, 8 -> kb 10, 9, 7, 3. d = 0 is not a stride.
  EXPECT_EQ(rowKeys(o, 23), Keys({6, 7, 14, 15, 18, 19, 20, 21}));
  EXPECT_EQ(rowKeys(o, 0), Keys({}));
  EXPECT_EQ(rowKeys(o, 2), Keys({0, 1})); // qb 1: d = 1 -> kb 0
  // Row 17: qb 8; d = 1, 2, 4, 8 -> kb 7, 6, 4, 0.
  EXPECT_EQ(rowKeys(o, 17), Keys({0, 1, 8, 9, 12, 13, 14, 15}));
}

TEST(OracleStatic, StridesEvery) {
  MaskOracle o = mustCreate(makeSpec(2, true, {strides(StrideKind::Every, 3)}),
                            makeShape(24, 24));
  // qb 11: d = 3, 6, 9 -> kb 8, 5, 2.
  EXPECT_EQ(rowKeys(o, 23), Keys({4, 5, 10, 11, 16, 17}));
  EXPECT_EQ(rowKeys(o, 5), Keys({})); // qb 2 < 3
}

TEST(OracleStatic, StridesList) {
  MaskOracle o = mustCreate(
      makeSpec(2, true, {strides(StrideKind::List, 1, {0, 2, 5, 20})}),
      makeShape(24, 24));
  // qb 11: kb 11, 9, 6 (and -9, which does not exist).
  EXPECT_EQ(rowKeys(o, 23), Keys({12, 13, 18, 19, 22, 23}));
  EXPECT_EQ(rowKeys(o, 22), Keys({12, 13, 18, 19, 22})); // 23 is in the future
}

TEST(OracleStatic, ColumnsAndDiagonals) {
  MaskOracle cols = mustCreate(makeSpec(2, true, {ColumnsPrim{{0, 3, 100}}}),
                               makeShape(10, 10));
  EXPECT_EQ(rowKeys(cols, 9), Keys({0, 1, 6, 7}));
  EXPECT_EQ(rowKeys(cols, 6), Keys({0, 1, 6}));
  EXPECT_EQ(rowKeys(cols, 2), Keys({0, 1}));
  MaskOracle diags =
      mustCreate(makeSpec(2, true, {DiagonalsPrim{{1, 3}}}), makeShape(10, 10));
  EXPECT_EQ(rowKeys(diags, 9), Keys({2, 3, 6, 7})); // qb 4: kb 3, 1
  EXPECT_EQ(rowKeys(diags, 3), Keys({0, 1}));       // qb 1: kb 0
}

TEST(OracleStatic, KeepBlockLevel) {
  // (qb + kb) % 3 == 0 with B = 2.
  auto pred =
      op(KeepOp::Eq,
         {op(KeepOp::Rem,
             {op(KeepOp::Add, {var(KeepVar::QB), var(KeepVar::KB)}), cst(3)}),
          cst(0)});
  MaskOracle o =
      mustCreate(makeSpec(2, true, {keep(pred, true)}), makeShape(8, 8));
  EXPECT_EQ(rowKeys(o, 7), Keys({0, 1, 6, 7})); // qb 3: kb 0, 3
  EXPECT_EQ(rowKeys(o, 5), Keys({2, 3}));       // qb 2: kb 1 (kb 4 future)
  // Reading h: kb == h, two heads.
  auto perHead = op(KeepOp::Eq, {var(KeepVar::KB), var(KeepVar::H)});
  MaskOracle ph = mustCreate(makeSpec(2, true, {keep(perHead, true)}),
                             makeShape(8, 8, 2, 1));
  EXPECT_EQ(rowKeys(ph, 7, /*h=*/0), Keys({0, 1}));
  EXPECT_EQ(rowKeys(ph, 7, /*h=*/1), Keys({2, 3}));
}

TEST(OracleStatic, KeepElementLevel) {
  // (k - q) / 3 == -1 with floor division: k - q in [-3, -1].
  auto floorPred =
      op(KeepOp::Eq,
         {op(KeepOp::Div,
             {op(KeepOp::Sub, {var(KeepVar::K), var(KeepVar::Q)}), cst(3)}),
          cst(-1)});
  MaskOracle o =
      mustCreate(makeSpec(2, true, {keep(floorPred, false)}), makeShape(8, 8));
  EXPECT_EQ(rowKeys(o, 7), Keys({4, 5, 6}));
  // (q - k) % 3 == 0 or is_pow2(k).
  auto mix =
      op(KeepOp::LogicOr,
         {op(KeepOp::Eq,
             {op(KeepOp::Rem,
                 {op(KeepOp::Sub, {var(KeepVar::Q), var(KeepVar::K)}), cst(3)}),
              cst(0)}),
          op(KeepOp::IsPow2, {var(KeepVar::K)})});
  MaskOracle m =
      mustCreate(makeSpec(2, true, {keep(mix, false)}), makeShape(10, 10));
  EXPECT_EQ(rowKeys(m, 9), Keys({0, 1, 2, 3, 4, 6, 8, 9}));
  // Division by zero yields 0: k / 0 == 0 keeps every causal key.
  auto divZero =
      op(KeepOp::Eq, {op(KeepOp::Div, {var(KeepVar::K), cst(0)}), cst(0)});
  MaskOracle z =
      mustCreate(makeSpec(2, true, {keep(divZero, false)}), makeShape(6, 6));
  EXPECT_EQ(rowKeys(z, 3), range(0, 4));
  // Truncating division and remainder: (k - q) divtrunc 3 == -1 means
  // k - q in [-5, -3]; (k - q) remtrunc 3 == -1 means k - q in {-1, -4, -7}.
  auto diff = op(KeepOp::Sub, {var(KeepVar::K), var(KeepVar::Q)});
  MaskOracle dt = mustCreate(
      makeSpec(
          2, true,
          {keep(op(KeepOp::Eq, {op(KeepOp::DivTrunc, {diff, cst(3)}), cst(-1)}),
                false)}),
      makeShape(8, 8));
  EXPECT_EQ(rowKeys(dt, 7), Keys({2, 3, 4}));
  MaskOracle rt = mustCreate(
      makeSpec(
          2, true,
          {keep(op(KeepOp::Eq, {op(KeepOp::RemTrunc, {diff, cst(3)}), cst(-1)}),
                false)}),
      makeShape(8, 8));
  EXPECT_EQ(rowKeys(rt, 7), Keys({0, 3, 6}));
  // Floor remainder of a negative: (k - q) % 3 == 2 holds for the same keys.
  MaskOracle fr = mustCreate(
      makeSpec(2, true,
               {keep(op(KeepOp::Eq, {op(KeepOp::Rem, {diff, cst(3)}), cst(2)}),
                     false)}),
      makeShape(8, 8));
  EXPECT_EQ(rowKeys(fr, 7), Keys({0, 3, 6}));
  // Block-level marking of a predicate reading k is rejected.
  llvm::Expected<MaskOracle> bad = MaskOracle::create(
      makeSpec(2, true, {keep(floorPred, true)}), makeShape(8, 8), {});
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("block level"),
            std::string::npos);
}

TEST(OracleStatic, UnionAndCausality) {
  // PowerAttention shape with B = 2: sink 2 ∪ window 2 blocks ∪ pow2 strides.
  MaskOracle o = mustCreate(
      makeSpec(2, true,
               {SinkPrim{2}, windowBlocks(2), strides(StrideKind::Pow2)}),
      makeShape(24, 24));
  // Row 22: qb 11; window kb 10, 11 (keys 20..22); strides kb 10, 9, 7, 3.
  EXPECT_EQ(rowKeys(o, 22), Keys({0, 1, 6, 7, 14, 15, 18, 19, 20, 21, 22}));
}

TEST(OracleStatic, BottomRightAlignment) {
  // Sq 3 < Sk 8: p(i) = i + 5.
  MaskOracle o =
      mustCreate(makeSpec(4, true, {windowTokens(2)}), makeShape(3, 8));
  EXPECT_EQ(o.position(0), 5);
  EXPECT_EQ(rowKeys(o, 0), Keys({4, 5}));
  EXPECT_EQ(rowKeys(o, 2), Keys({6, 7}));
  // Blocks count on absolute positions: p 6 is in block 1 (B = 4).
  MaskOracle blk =
      mustCreate(makeSpec(4, true, {windowBlocks(1)}), makeShape(2, 8));
  EXPECT_EQ(rowKeys(blk, 0), Keys({4, 5, 6}));
  EXPECT_EQ(rowKeys(blk, 1), Keys({4, 5, 6, 7}));
  // Sq 5 > Sk 3: p(i) = i - 2, the first rows see nothing.
  MaskOracle wide = mustCreate(
      makeSpec(4, true, {SinkPrim{1}, windowTokens(2)}), makeShape(5, 3));
  EXPECT_EQ(rowKeys(wide, 0), Keys({}));
  EXPECT_EQ(rowKeys(wide, 1), Keys({}));
  EXPECT_EQ(rowKeys(wide, 2), Keys({0}));
  EXPECT_EQ(rowKeys(wide, 3), Keys({0, 1}));
  EXPECT_EQ(rowKeys(wide, 4), Keys({0, 1, 2}));
  // Decode: Sq 1 sees p = Sk - 1.
  MaskOracle dec =
      mustCreate(makeSpec(4, true, {windowBlocks(1)}), makeShape(1, 10));
  EXPECT_EQ(rowKeys(dec, 0), Keys({8, 9}));
}

TEST(OracleStatic, TailShorterThanBlock) {
  // Sk 10, B 4: block 2 is keys 8, 9 only.
  MaskOracle o =
      mustCreate(makeSpec(4, false, {ColumnsPrim{{2}}}), makeShape(10, 10));
  EXPECT_EQ(rowKeys(o, 0), Keys({8, 9}));
  EXPECT_TRUE(o.attends(0, 0, 3, 9));
  EXPECT_FALSE(o.attends(0, 0, 3, 7));
}

//===----------------------------------------------------------------------===//
// Validation and required inputs.
//===----------------------------------------------------------------------===//

TEST(OracleValidation, Errors) {
  PatternSpec sink = makeSpec(4, true, {SinkPrim{1}});
  auto message = [](llvm::Expected<MaskOracle> o) {
    EXPECT_FALSE(bool(o));
    return o ? std::string() : llvm::toString(o.takeError());
  };
  EXPECT_NE(message(MaskOracle::create(sink, makeShape(4, 4, 3, 2), {}))
                .find("does not divide"),
            std::string::npos);
  EXPECT_NE(message(MaskOracle::create(sink, makeShape(0, 4), {}))
                .find("invalid attention shape"),
            std::string::npos);
  PatternSpec sample = makeSpec(128, true, {StripesPrim{}});
  sample.name = "sample";
  EXPECT_EQ(message(MaskOracle::create(sample, makeShape(4, 4), {})),
            "pattern 'sample' needs run-time input: q and k");
  PatternSpec sk = makeSpec(1, true, {topkTokens(2, ScoreSource::KeyScore)});
  sk.name = "sparsek";
  EXPECT_EQ(message(MaskOracle::create(sk, makeShape(4, 4), {})),
            "pattern 'sparsek' needs run-time input: key scores");
  PatternSpec lin = makeSpec(1, true, {topkTokens(2, ScoreSource::Linear)});
  EXPECT_EQ(missingInputs(lin, {}),
            std::vector<std::string>({"k", "linear weights"}));
  PermutePrim pp;
  pp.block = 3; // does not divide 256
  EXPECT_NE(
      message(MaskOracle::create(makeSpec(4, true, {pp}), makeShape(4, 4), {}))
          .find("divide"),
      std::string::npos);
}

TEST(OracleValidation, RequiredInputs) {
  RequiredInputs none = requiredInputs(makeSpec(
      256, true, {SinkPrim{256}, windowBlocks(5), strides(StrideKind::Pow2)}));
  EXPECT_FALSE(none.any());
  RequiredInputs tree = requiredInputs(makeSpec(64, true, {TreeSearchPrim{}}));
  EXPECT_TRUE(tree.q && tree.k && !tree.keyScores && !tree.linearWeights);
  RequiredInputs ks = requiredInputs(makeSpec(
      1, true, {windowTokens(1024), topkTokens(2048, ScoreSource::KeyScore)}));
  EXPECT_TRUE(!ks.q && !ks.k && ks.keyScores && !ks.linearWeights);
  RequiredInputs pooled =
      requiredInputs(makeSpec(1, true, {topkTokens(1, ScoreSource::PooledQK)}));
  EXPECT_TRUE(pooled.q && pooled.k);
  RequiredInputs perm = requiredInputs(makeSpec(128, true, {PermutePrim{}}));
  EXPECT_TRUE(perm.q && perm.k && !perm.keyScores);
}

//===----------------------------------------------------------------------===//
// stripes.
//===----------------------------------------------------------------------===//

TEST(OracleStripes, HandWorked) {
  // D = 1, scale 1, q = 1 everywhere; k_2 = 10, other keys 0. B = 2, two
  // segments of one sampled row each: t = 3 and t = 7 (Sq = 8).
  //   Row 3 puts ~all mass on key 2 (kb 1, d = qb 1 - 1 = 0);
  //   row 7 puts ~all mass on key 2 (kb 1, d = 3 - 1 = 2).
  // Col(1) ~ 1: one column. Dia(0) = (e^10+1)/(e^10+3) + 2/(e^10+7) is a
  // little above Dia(2) = (e^10+1)/(e^10+7); both ~0.5 after normalising.
  // Window: max(B, round(0 * 8)) = 2 tokens.
  std::vector<float> q(8, 1.0f), k(8, 0.0f);
  k[2] = 10.0f;
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  StripesPrim sp;
  sp.block = 2;
  sp.segments = 2;
  sp.rows = 1;
  sp.alpha = 0.9; // needs Dia(0) and Dia(2)
  sp.windowFraction = 0;
  MaskOracle o = mustCreate(makeSpec(2, true, {sp}), makeShape(8, 8), in);
  EXPECT_EQ(rowKeys(o, 7), Keys({2, 3, 6, 7}));       // col 1, d0, d2
  EXPECT_EQ(rowKeys(o, 5), Keys({0, 1, 2, 3, 4, 5})); // d2 -> kb 0
  EXPECT_EQ(rowKeys(o, 4), Keys({0, 1, 2, 3, 4}));
  EXPECT_EQ(rowKeys(o, 1), Keys({0, 1})); // column 1 is in the future

  sp.alpha = 0.4; // Dia(0) alone reaches it
  MaskOracle o2 = mustCreate(makeSpec(2, true, {sp}), makeShape(8, 8), in);
  EXPECT_EQ(rowKeys(o2, 5), Keys({2, 3, 4, 5}));
  EXPECT_EQ(rowKeys(o2, 7), Keys({2, 3, 6, 7}));
}

TEST(OracleStripes, WindowFractionAndSegments) {
  // All keys equal: column and diagonal scores are decided by counts.
  // Sq = Sk = 8, B = 4, one segment, rows = 1 -> t = 7 only: uniform over
  // keys 0..7: Col(0) = Col(1) = 0.5, tie -> column 0 first; alpha 0.5
  // keeps column 0 only. Dia(0) = Dia(1) = 0.5 -> diagonal 0 only.
  // Window: max(4, round(0.3 * 8) = 2) = 4 tokens.
  std::vector<float> q(8, 1.0f), k(8, 0.0f);
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  StripesPrim sp;
  sp.block = 4;
  sp.segments = 1;
  sp.rows = 1;
  sp.alpha = 0.5;
  sp.windowFraction = 0.3;
  MaskOracle o = mustCreate(makeSpec(4, true, {sp}), makeShape(8, 8), in);
  // Row 2: col 0 {0..3} causal {0,1,2}; d0 -> kb 0; window {0,1,2}.
  EXPECT_EQ(rowKeys(o, 2), Keys({0, 1, 2}));
  // Row 6: col 0 {0..3}; d0 -> kb 1 {4,5,6}; window {3..6}.
  EXPECT_EQ(rowKeys(o, 6), range(0, 7));
  sp.windowFraction = 0.75; // round(6) = 6 tokens
  sp.alpha = 0.4;
  MaskOracle w = mustCreate(makeSpec(4, false, {sp}), makeShape(8, 8), in);
  // Not causal: row 3 (qb 0): col 0, d0 -> kb 0, window (3-6, 3] = {0..3}.
  EXPECT_EQ(rowKeys(w, 3), range(0, 4));
  // Cumulative sum exactly at alpha: count(cumsum < 0.5) + 1 = 1 column, so
  // column 1 (keys 4..7) stays out of row 3.
  sp.alpha = 0.5;
  sp.windowFraction = 0;
  MaskOracle exact = mustCreate(makeSpec(4, false, {sp}), makeShape(8, 8), in);
  EXPECT_EQ(rowKeys(exact, 3), range(0, 4));
}

//===----------------------------------------------------------------------===//
// tree_search.
//===----------------------------------------------------------------------===//

TreeSearchPrim smallTree(int64_t qs) {
  TreeSearchPrim t;
  t.blockQ = 2;
  t.blockK = 1;
  t.budget = 2; // K = 2 branches
  t.queryStride = qs;
  t.sink = 1;
  t.window = 1;
  return t;
}

TEST(OracleTreeSearch, HandWorked) {
  // D = 1, q = 1: the branch score is k at the representative token.
  // Block b is token 1 + b.
  std::vector<float> q(12, 1.0f);
  std::vector<float> k = {0, 0, 5, 0, 1, 0, 0, 3, 0, 2, 0, 0};
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  MaskOracle o =
      mustCreate(makeSpec(1, true, {smallTree(1)}), makeShape(12, 12), in);
  // Q = rows 10, 11; P = 11; n = 10 > K = 2. Chunks [0,5) [5,10).
  // Split: [0,2) [2,5) [5,7) [7,10); reps 1, 3, 6, 8 -> tokens 2, 4, 7, 9
  // -> scores 5, 1, 3, 2: keep [0,2) and [5,7).
  // Split: [0,1) [1,2) [5,6) [6,7) -> tokens 1, 2, 6, 7 -> 0, 5, 0, 3:
  // keep blocks 1, 6 = tokens 2, 7.
  EXPECT_EQ(rowKeys(o, 11), Keys({0, 2, 7, 11}));
  EXPECT_EQ(rowKeys(o, 10), Keys({0, 2, 7, 10}));
  // Q = rows 4, 5: n = 4: [0,2) [2,4) -> [0,1) [1,2) [2,3) [3,4) -> tokens
  // 1..4 -> 0, 5, 0, 1: blocks 1, 3 = tokens 2, 4.
  EXPECT_EQ(rowKeys(o, 5), Keys({0, 2, 4, 5}));
  EXPECT_EQ(rowKeys(o, 4), Keys({0, 2, 4}));
  // Q = rows 2, 3: n = 2 <= K: tokens 1, 2.
  EXPECT_EQ(rowKeys(o, 3), Keys({0, 1, 2, 3}));
  // Q = rows 0, 1: n = 0.
  EXPECT_EQ(rowKeys(o, 1), Keys({0, 1}));
}

TEST(OracleTreeSearch, QueryStrideAndTies) {
  std::vector<float> q(12, 1.0f);
  q[11] = -1.0f;
  std::vector<float> k = {0, 0, 5, 0, -9, 0, 0, 3, 0, 2, 0, 0};
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  // qs = 2: only row 10 (q = 1) is sampled; token 4 scores -9: same choice
  // as in HandWorked: tokens 2, 7.
  MaskOracle s2 =
      mustCreate(makeSpec(1, true, {smallTree(2)}), makeShape(12, 12), in);
  EXPECT_EQ(rowKeys(s2, 11), Keys({0, 2, 7, 11}));
  // qs = 1: rows 10 and 11, score = |k|. Reps 2, 4, 7, 9 -> 5, 9, 3, 2: keep
  // [2,5) and [0,2). Split: [0,1) [1,2) [2,3) [3,5) -> tokens 1, 2, 3, 5 ->
  // 0, 5, 0, 0: block 1, then the tie at 0 goes to the smallest start, 0.
  MaskOracle s1 =
      mustCreate(makeSpec(1, true, {smallTree(1)}), makeShape(12, 12), in);
  EXPECT_EQ(rowKeys(s1, 11), Keys({0, 1, 2, 11}));
}

/// tree_search against a plain transcription of the spec (every branch
/// rescored every round, full stable sort), on random inputs. `levels` > 0
/// draws q and k from that many integers, so scores tie often.
void checkTreeSearchBruteForce(const TreeSearchPrim &tp,
                               const AttentionShape &s, uint32_t seed,
                               int levels) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  auto draw = [&] {
    return levels > 0 ? float(int(rng() % levels) - levels / 2) : normal(rng);
  };
  const int64_t D = s.headDim, Sq = s.seqQ, Sk = s.seqK;
  std::vector<float> q(s.batch * s.heads * Sq * D),
      k(s.batch * s.kvHeads * Sk * D);
  for (float &x : q)
    x = draw();
  for (float &x : k)
    x = draw();
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  MaskOracle o = mustCreate(makeSpec(4, true, {tp}), s, in);
  const int64_t Bq = tp.blockQ, Bk = tp.blockK, K = tp.budget / Bk;
  const int64_t group = s.heads / s.kvHeads;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h) {
      const float *qh = &q[(b * s.heads + h) * Sq * D];
      const float *kg = &k[(b * s.kvHeads + h / group) * Sk * D];
      for (int64_t first = 0; first < Sq; first += Bq) {
        const int64_t last = std::min(Sq, first + Bq) - 1;
        const int64_t P = last + Sk - Sq;
        const int64_t n =
            std::max<int64_t>(0, (P + 1 - tp.window - tp.sink) / Bk);
        struct Branch {
          int64_t start, size;
          float score;
        };
        std::vector<Branch> br;
        for (int64_t c = 0; c < K; ++c)
          br.push_back({c * n / K, (c + 1) * n / K - c * n / K, 0});
        if (n <= K) {
          br.clear();
          for (int64_t x = 0; x < n; ++x)
            br.push_back({x, 1, 0});
        }
        while (std::any_of(br.begin(), br.end(),
                           [](const Branch &x) { return x.size > 1; })) {
          std::vector<Branch> next;
          for (const Branch &x : br)
            if (x.size > 1) {
              next.push_back({x.start, x.size / 2, 0});
              next.push_back({x.start + x.size / 2, x.size - x.size / 2, 0});
            } else {
              next.push_back(x);
            }
          for (Branch &x : next) {
            const int64_t rep = x.start + x.size / 2;
            x.score = -INFINITY;
            for (int64_t i = first; i <= last; i += tp.queryStride)
              for (int64_t t = tp.sink + rep * Bk; t < tp.sink + (rep + 1) * Bk;
                   ++t)
                if (t <= i + Sk - Sq) {
                  float dot = 0;
                  for (int64_t d = 0; d < D; ++d)
                    dot += qh[i * D + d] * kg[t * D + d];
                  x.score = std::max(x.score, dot);
                }
          }
          std::stable_sort(next.begin(), next.end(),
                           [](const Branch &a, const Branch &c) {
                             return a.score != c.score ? a.score > c.score
                                                       : a.start < c.start;
                           });
          next.resize(std::min<int64_t>(K, next.size()));
          br = next;
        }
        for (int64_t i = first; i <= last; ++i) {
          const int64_t p = i + Sk - Sq;
          std::vector<bool> keep(Sk, false);
          for (const Branch &x : br)
            for (int64_t t = tp.sink + x.start * Bk;
                 t < tp.sink + (x.start + 1) * Bk; ++t)
              keep[t] = true;
          Keys expected;
          for (int64_t j = 0; j <= std::min(p, Sk - 1); ++j)
            if (keep[j] || j < tp.sink || j > p - tp.window)
              expected.push_back(j);
          ASSERT_EQ(rowKeys(o, i, h, b), expected)
              << "b=" << b << " h=" << h << " i=" << i;
        }
      }
    }
}

TEST(OracleTreeSearch, MatchesBruteForce) {
  TreeSearchPrim tp;
  tp.blockQ = 40; // 40 sampled rows: three row tiles
  tp.blockK = 3;  // an odd block: tokens are scored in pairs
  tp.budget = 12; // K = 4
  tp.queryStride = 1;
  tp.sink = 2;
  tp.window = 5; // under Bq: early sampled rows cannot see every block
  checkTreeSearchBruteForce(tp, makeShape(150, 170, 2, 1, 5), 1, 3);
  checkTreeSearchBruteForce(tp, makeShape(150, 170, 2, 1, 7), 2, 0);
  tp.queryStride = 3;
  tp.window = 0;
  checkTreeSearchBruteForce(tp, makeShape(200, 200, 1, 1, 4, 2), 3, 2);
  tp.blockQ = 16;
  tp.blockK = 2;
  tp.budget = 10;
  tp.queryStride = 2;
  tp.sink = 0;
  tp.window = 9;
  checkTreeSearchBruteForce(tp, makeShape(300, 260, 1, 1, 3), 4, 5);
  checkTreeSearchBruteForce(tp, makeShape(300, 260, 1, 1, 3), 5, 0);
}

//===----------------------------------------------------------------------===//
// topk.
//===----------------------------------------------------------------------===//

TEST(OracleTopk, KeyScoreTokens) {
  std::vector<float> u = {5, 1, 4, 4, 0, 9, 2, 3};
  OracleInputs in{nullptr, nullptr, u.data(), nullptr};
  MaskOracle o = mustCreate(
      makeSpec(1, true,
               {windowTokens(2), topkTokens(2, ScoreSource::KeyScore)}),
      makeShape(8, 8), in);
  // Row 7: window {6,7}; candidates 0..5; best 5 (9), 0 (5).
  EXPECT_EQ(rowKeys(o, 7), Keys({0, 5, 6, 7}));
  // Row 5: candidates 0..3: 0 (5), then 2 and 3 tie at 4 -> 2.
  EXPECT_EQ(rowKeys(o, 5), Keys({0, 2, 4, 5}));
  EXPECT_EQ(rowKeys(o, 4), Keys({0, 2, 3, 4}));
  EXPECT_EQ(rowKeys(o, 3), Keys({0, 1, 2, 3})); // only two candidates
  EXPECT_EQ(rowKeys(o, 0), Keys({0}));
  MaskOracle k3 = mustCreate(
      makeSpec(1, true,
               {windowTokens(2), topkTokens(3, ScoreSource::KeyScore)}),
      makeShape(8, 8), in);
  EXPECT_EQ(rowKeys(k3, 7), Keys({0, 2, 5, 6, 7}));
  // Static keys are not candidates: sink 1 and window 1 remove keys 0, 7.
  MaskOracle st = mustCreate(makeSpec(1, true,
                                      {SinkPrim{1}, windowTokens(1),
                                       topkTokens(1, ScoreSource::KeyScore)}),
                             makeShape(8, 8), in);
  EXPECT_EQ(rowKeys(st, 7), Keys({0, 5, 7}));
  EXPECT_EQ(rowKeys(st, 4), Keys({0, 2, 4})); // 1..3: 2 and 3 tie -> 2
}

TEST(OracleTopk, KeyScoreCover) {
  // Row 7, candidates 0..5, softmax of {5,1,4,4,0,9}: total 8364.41;
  // p5 = 0.96876, p0 = 0.01774, p2 = p3 = 0.00653.
  std::vector<float> u = {5, 1, 4, 4, 0, 9, 2, 3};
  OracleInputs in{nullptr, nullptr, u.data(), nullptr};
  auto build = [&](double alpha) {
    return mustCreate(
        makeSpec(1, true,
                 {windowTokens(2), topkCover(alpha, ScoreSource::KeyScore)}),
        makeShape(8, 8), in);
  };
  EXPECT_EQ(rowKeys(build(0.9), 7), Keys({5, 6, 7}));
  EXPECT_EQ(rowKeys(build(0.98), 7), Keys({0, 5, 6, 7}));    // cum 0.9865
  EXPECT_EQ(rowKeys(build(0.99), 7), Keys({0, 2, 5, 6, 7})); // cum 0.9930
}

TEST(OracleTopk, LinearTokens) {
  // D = 2, w = (1, -1): score = k0 - k1 = {5, 1, 4, 4, 0, 9, 2, 3}.
  std::vector<float> k = {6, 1, 1, 0, 4, 0, 5, 1, 0, 0, 9, 0, 3, 1, 4, 1};
  std::vector<float> w = {1, -1};
  OracleInputs in{nullptr, k.data(), nullptr, w.data()};
  MaskOracle o = mustCreate(
      makeSpec(1, true, {windowTokens(2), topkTokens(2, ScoreSource::Linear)}),
      makeShape(8, 8, 1, 1, 2), in);
  EXPECT_EQ(rowKeys(o, 7), Keys({0, 5, 6, 7}));
  EXPECT_EQ(rowKeys(o, 5), Keys({0, 2, 4, 5}));
}

TEST(OracleTopk, PooledQKTokens) {
  // D = 1, scale 1: score = q_i * k_j.
  std::vector<float> k = {3, -2, 1, 5, 0, 4};
  std::vector<float> q = {1, 1, 1, 1, -1, 1};
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  MaskOracle o = mustCreate(
      makeSpec(1, true,
               {windowTokens(1), topkTokens(1, ScoreSource::PooledQK)}),
      makeShape(6, 6), in);
  EXPECT_EQ(rowKeys(o, 5), Keys({3, 5})); // {3,-2,1,5,0}: key 3
  EXPECT_EQ(rowKeys(o, 4), Keys({1, 4})); // {-3,2,-1,-5}: key 1
  // Cover on row 5: softmax {3,-2,1,5,0}: p3 = 0.8611, p0 = 0.1166.
  auto cover = [&](double alpha) {
    return mustCreate(
        makeSpec(1, true,
                 {windowTokens(1), topkCover(alpha, ScoreSource::PooledQK)}),
        makeShape(6, 6), in);
  };
  EXPECT_EQ(rowKeys(cover(0.8), 5), Keys({3, 5}));
  EXPECT_EQ(rowKeys(cover(0.95), 5), Keys({0, 3, 5}));
}

TEST(OracleTopk, KeyScoreBlocks) {
  // B = 2 for the pattern and the primitive; block maxima of u:
  // b0 = 1, b1 = 7, b2 = 3, b3 = 9.
  std::vector<float> u = {0, 1, 7, 0, 3, 3, 9, 0};
  OracleInputs in{nullptr, nullptr, u.data(), nullptr};
  MaskOracle o = mustCreate(
      makeSpec(2, true,
               {windowTokens(1), topkBlocks(1, ScoreSource::KeyScore, 2)}),
      makeShape(8, 8), in);
  // Q rows 6, 7 (last row 7): candidates 0..6 -> blocks 0..3 -> block 3.
  EXPECT_EQ(rowKeys(o, 7), Keys({6, 7}));
  EXPECT_EQ(rowKeys(o, 6), Keys({6})); // block 3 clipped by causality
  // Q rows 4, 5 (last row 5): candidates 0..4 -> blocks 0..2 -> block 1.
  EXPECT_EQ(rowKeys(o, 5), Keys({2, 3, 5}));
  EXPECT_EQ(rowKeys(o, 4), Keys({2, 3, 4}));
  // Q rows 0, 1 (last row 1): candidate key 0 -> block 0.
  EXPECT_EQ(rowKeys(o, 0), Keys({0}));
  EXPECT_EQ(rowKeys(o, 1), Keys({0, 1}));
  // k = 2: blocks 3 and 1.
  MaskOracle k2 = mustCreate(
      makeSpec(2, true,
               {windowTokens(1), topkBlocks(2, ScoreSource::KeyScore, 2)}),
      makeShape(8, 8), in);
  EXPECT_EQ(rowKeys(k2, 6), Keys({2, 3, 6}));
  // Window 2: last row 7 keeps 6, 7 statically, so block 3 is no candidate:
  // blocks 0..2 -> block 1.
  MaskOracle w2 = mustCreate(
      makeSpec(2, true,
               {windowTokens(2), topkBlocks(1, ScoreSource::KeyScore, 2)}),
      makeShape(8, 8), in);
  EXPECT_EQ(rowKeys(w2, 7), Keys({2, 3, 6, 7}));
}

TEST(OracleTopk, PooledQKBlocks) {
  // D = 1, scale 1. Block means of k: b0 = 1, b1 = 2, b2 = -1, b3 = 5.
  std::vector<float> k = {0, 2, 4, 0, -1, -1, 5, 5};
  // Q rows 6, 7 have q 5 and -1: mean 2 > 0 -> block 3 is best. The last
  // row alone (q = -1) would pick block 2.
  std::vector<float> q = {1, 1, 1, 1, 1, 1, 5, -1};
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  MaskOracle o = mustCreate(
      makeSpec(2, true,
               {windowTokens(1), topkBlocks(1, ScoreSource::PooledQK, 2)}),
      makeShape(8, 8), in);
  EXPECT_EQ(rowKeys(o, 7), Keys({6, 7}));
  // Cover: scores {2, 4, -2, 10}: p3 = 0.99719 < 0.999, then p1 = 0.00247.
  MaskOracle c = mustCreate(
      makeSpec(2, true,
               {windowTokens(1), topkCover(0.999, ScoreSource::PooledQK,
                                           TopkGranularity::Block, 2)}),
      makeShape(8, 8), in);
  EXPECT_EQ(rowKeys(c, 7), Keys({2, 3, 6, 7}));
  std::vector<float> qNeg = {1, 1, 1, 1, 1, 1, -1, -1};
  OracleInputs inNeg{qNeg.data(), k.data(), nullptr, nullptr};
  MaskOracle n = mustCreate(
      makeSpec(2, true,
               {windowTokens(1), topkBlocks(1, ScoreSource::PooledQK, 2)}),
      makeShape(8, 8), inNeg);
  EXPECT_EQ(rowKeys(n, 7), Keys({4, 5, 7}));
}

TEST(OracleTopk, GroupedQueryHeads) {
  // Hq = 4, Hkv = 2: heads 0, 1 read kv head 0; heads 2, 3 read kv head 1.
  std::vector<float> u = {0, 9, 0, 0, /*g=1*/ 0, 0, 9, 0};
  OracleInputs in{nullptr, nullptr, u.data(), nullptr};
  MaskOracle o =
      mustCreate(makeSpec(1, false, {topkTokens(1, ScoreSource::KeyScore)}),
                 makeShape(4, 4, 4, 2), in);
  EXPECT_EQ(rowKeys(o, 0, 1), Keys({1}));
  EXPECT_EQ(rowKeys(o, 0, 2), Keys({2}));
  EXPECT_EQ(rowKeys(o, 3, 3), Keys({2}));
}

/// Token top-k against a brute-force ranking of every row's candidates, on
/// random inputs whose scores tie often. The candidates of row i are the
/// causal keys outside A(i) of the same pattern without its topk, and the
/// row must keep the k best by (score desc, index asc).
void checkTopkTokensBruteForce(const std::vector<Primitive> &staticPrims,
                               TopkPrim topk, bool causal,
                               const AttentionShape &s, uint32_t seed,
                               int scoreLevels) {
  std::mt19937 rng(seed);
  auto draw = [&] { return float(int(rng() % scoreLevels) - scoreLevels / 2); };
  const int64_t D = s.headDim;
  std::vector<float> u(s.batch * s.kvHeads * s.seqK), k(u.size() * D),
      w(s.kvHeads * D);
  for (float &x : u)
    x = draw();
  for (float &x : k)
    x = draw();
  for (float &x : w)
    x = draw();
  OracleInputs in{nullptr, k.data(), u.data(), w.data()};
  std::vector<Primitive> prims = staticPrims;
  prims.push_back(topk);
  MaskOracle o = mustCreate(makeSpec(4, causal, prims), s, in);
  MaskOracle st = mustCreate(makeSpec(4, causal, staticPrims), s, in);
  const int64_t group = s.heads / s.kvHeads;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t g = h / group;
      auto score = [&](int64_t j) {
        if (topk.source == ScoreSource::KeyScore)
          return u[(b * s.kvHeads + g) * s.seqK + j];
        float dot = 0;
        for (int64_t d = 0; d < D; ++d)
          dot += k[((b * s.kvHeads + g) * s.seqK + j) * D + d] * w[g * D + d];
        return dot;
      };
      for (int64_t i = 0; i < s.seqQ; ++i) {
        Keys fixed = rowKeys(st, i, h, b);
        const int64_t end =
            causal ? std::clamp<int64_t>(i + s.seqK - s.seqQ + 1, 0, s.seqK)
                   : s.seqK;
        Keys cands;
        for (int64_t j = 0; j < end; ++j)
          if (!std::binary_search(fixed.begin(), fixed.end(), j))
            cands.push_back(j);
        std::stable_sort(cands.begin(), cands.end(), [&](int64_t a, int64_t c) {
          return score(a) > score(c);
        });
        cands.resize(std::min<int64_t>(topk.k, cands.size()));
        Keys expected = fixed;
        expected.insert(expected.end(), cands.begin(), cands.end());
        std::sort(expected.begin(), expected.end());
        ASSERT_EQ(rowKeys(o, i, h, b), expected)
            << "b=" << b << " h=" << h << " i=" << i;
      }
    }
}

TEST(OracleTopk, TokensMatchBruteForce) {
  const auto key = ScoreSource::KeyScore;
  // SparseK: window + top-k, GQA and batch 2, many ties.
  checkTopkTokensBruteForce({windowTokens(7)}, topkTokens(5, key), true,
                            makeShape(300, 300, 2, 1, 1, 2), 1, 5);
  // Sink + window, Sq < Sk, prefixes longer than several snapshots.
  checkTopkTokensBruteForce({SinkPrim{3}, windowTokens(20)},
                            topkTokens(40, key), true, makeShape(200, 700), 2,
                            7);
  // k above the snapshot spacing; k = 0; k above every row's candidates.
  checkTopkTokensBruteForce({windowTokens(10)}, topkTokens(300, key), true,
                            makeShape(900, 900), 3, 50);
  checkTopkTokensBruteForce({windowTokens(10)}, topkTokens(0, key), true,
                            makeShape(50, 50), 4, 3);
  checkTopkTokensBruteForce({windowTokens(2)}, topkTokens(1000, key), true,
                            makeShape(400, 400), 5, 3);
  // Top-k alone; non-causal with a sink; Sq > Sk (empty rows); all ties.
  checkTopkTokensBruteForce({}, topkTokens(3, key), true, makeShape(60, 60), 6,
                            2);
  checkTopkTokensBruteForce({SinkPrim{5}}, topkTokens(4, key), false,
                            makeShape(50, 80, 2, 2), 7, 3);
  checkTopkTokensBruteForce({windowTokens(3)}, topkTokens(2, key), true,
                            makeShape(40, 30), 8, 1);
  // Windows in blocks leave prefixes too; linear scores.
  checkTopkTokensBruteForce({windowBlocks(2)}, topkTokens(6, key), true,
                            makeShape(90, 100), 9, 4);
  checkTopkTokensBruteForce({SinkPrim{2}, windowTokens(5)},
                            topkTokens(4, ScoreSource::Linear), true,
                            makeShape(120, 130, 2, 2, 3), 10, 3);
  // Static sets that are not prefixes take the per-row path.
  checkTopkTokensBruteForce({windowTokens(3), strides(StrideKind::Pow2)},
                            topkTokens(5, key), true, makeShape(100, 100), 11,
                            4);
  checkTopkTokensBruteForce(
      {keep(
          op(KeepOp::Eq, {op(KeepOp::Rem, {var(KeepVar::K), cst(3)}), cst(0)}),
          false)},
      topkTokens(3, key), true, makeShape(60, 60), 12, 3);
}

//===----------------------------------------------------------------------===//
// permute.
//===----------------------------------------------------------------------===//

TEST(OraclePermute, HandWorked) {
  // S = 4, B = 2, one probe row (11), D = 1, q = 1, scale 1: a_j ∝ e^{k_j}.
  // Segment 0: k {0,3,1,3} -> order 1, 3 (tie, stable), 2, 0.
  // Segment 1: k {2,0,2,2} -> order 4, 6, 7 (ties, stable), 5.
  // Segment 2: all 0 -> 8, 9, 10, 11.
  // Blocks: c0 {1,3}, c1 {2,0}, c2 {4,6}, c3 {7,5}, c4 {8,9}, c5 {10,11}.
  // Key 0 lies in c1, always kept.
  std::vector<float> k = {0, 3, 1, 3, 2, 0, 2, 2, 0, 0, 0, 0};
  std::vector<float> q(12, 1.0f);
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  PermutePrim pp;
  pp.segment = 4;
  pp.block = 2;
  pp.probe = 1;
  pp.alpha = 0.8;
  MaskOracle o = mustCreate(makeSpec(2, true, {pp}), makeShape(12, 12), in);
  // Q rows 10, 11: m_Q = 2; candidates c0..c3 with mean keys 3, 0.5, 2, 1:
  // softmax 0.6308, 0.0518, 0.2321, 0.0854 -> c0 then c2 reach 0.8.
  EXPECT_EQ(rowKeys(o, 11), Keys({0, 1, 2, 3, 4, 6, 8, 9, 10, 11}));
  EXPECT_EQ(rowKeys(o, 10), Keys({0, 1, 2, 3, 4, 6, 8, 9, 10}));
  // Q rows 0..3 (m_Q = 0): no candidates; own segment and c1.
  EXPECT_EQ(rowKeys(o, 1), Keys({0, 1}));
  EXPECT_EQ(rowKeys(o, 3), Keys({0, 1, 2, 3}));
  // Q rows 4, 5 (m_Q = 1): candidates c0 (3), c1 (0.5): p0 = 0.924 >= 0.8.
  EXPECT_EQ(rowKeys(o, 5), Keys({0, 1, 2, 3, 4, 5}));

  pp.alpha = 0.5; // c0 alone
  MaskOracle half = mustCreate(makeSpec(2, true, {pp}), makeShape(12, 12), in);
  EXPECT_EQ(rowKeys(half, 11), Keys({0, 1, 2, 3, 8, 9, 10, 11}));
}

TEST(OraclePermute, TailStaysInPlace) {
  // Sk = 6, S = 4: keys 4, 5 are a tail and stay put. Non-causal, q = 1.
  // Segment 0: k {1,0,0,5} -> order 3, 0, 1, 2: c0 {3,0}, c1 {1,2}, c2 {4,5}.
  // Sq = 2: p = 4, 5, both in query block 2 (B = 2), m_Q = 1: candidates
  // c0 (mean 3), c1 (mean 0): p0 = 0.9526 >= alpha 0.9 -> c0 (also the
  // block of key 0). Own segment [4, 6).
  std::vector<float> k = {1, 0, 0, 5, 0, 0};
  std::vector<float> q = {1, 1};
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  PermutePrim pp;
  pp.segment = 4;
  pp.block = 2;
  pp.probe = 2;
  pp.alpha = 0.9;
  MaskOracle o = mustCreate(makeSpec(2, false, {pp}), makeShape(2, 6), in);
  EXPECT_EQ(rowKeys(o, 0), Keys({0, 3, 4, 5}));
}

//===----------------------------------------------------------------------===//
// Reference attention.
//===----------------------------------------------------------------------===//

TEST(OracleAttention, EmptyRowsAndSingleKey) {
  // Sq 4 > Sk 2, causal sink 2: rows 0, 1 have p < 0 -> empty.
  AttentionShape shape = makeShape(4, 2, 1, 1, 2);
  std::vector<float> q = {1, 0, 0, 1, 1, 1, 2, -1};
  std::vector<float> k = {1, 2, 3, 4};
  std::vector<float> v = {10, 20, 30, 40};
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  std::vector<double> out(8, 7.0), lse(4, 7.0);
  ASSERT_FALSE(bool(referenceAttention(makeSpec(2, true, {SinkPrim{2}}), shape,
                                       in, v.data(), out.data(), lse.data())));
  for (int d = 0; d < 4; ++d)
    EXPECT_EQ(out[d], 0.0);
  EXPECT_EQ(lse[0], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(lse[1], -std::numeric_limits<double>::infinity());
  // Row 2 (p = 0): only key 0; s = 1*1 + 1*2 = 3 (scale 1).
  EXPECT_DOUBLE_EQ(out[4], 10);
  EXPECT_DOUBLE_EQ(out[5], 20);
  EXPECT_DOUBLE_EQ(lse[2], 3.0);
  // Row 3 (p = 1): keys 0, 1; s = 2*1 - 2 = 0 and 2*3 - 4 = 2.
  double w0 = std::exp(0.0), w1 = std::exp(2.0);
  EXPECT_NEAR(out[6], (10 * w0 + 30 * w1) / (w0 + w1), 1e-12);
  EXPECT_NEAR(out[7], (20 * w0 + 40 * w1) / (w0 + w1), 1e-12);
  EXPECT_NEAR(lse[3], std::log(w0 + w1), 1e-12);
}

TEST(OracleAttention, GroupedQueryHeadsReadTheirKvHead) {
  // Non-causal sink 1: every row sees only key 0 of its kv head.
  AttentionShape shape = makeShape(1, 2, 4, 2, 1);
  std::vector<float> q(4, 1.0f), k(4, 0.0f);
  std::vector<float> v = {1, 2, /*g=1*/ 3, 4};
  OracleInputs in{q.data(), k.data(), nullptr, nullptr};
  std::vector<double> out(4);
  ASSERT_FALSE(bool(referenceAttention(makeSpec(1, false, {SinkPrim{1}}), shape,
                                       in, v.data(), out.data(), nullptr)));
  EXPECT_EQ(out, std::vector<double>({1, 1, 3, 3}));
}

/// Dense masked softmax from attends(), written independently of
/// referenceAttention's interval walk.
void checkAgainstDense(const PatternSpec &spec, const AttentionShape &s,
                       uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  auto fill = [&](size_t n) {
    std::vector<float> x(n);
    for (float &e : x)
      e = normal(rng);
    return x;
  };
  const int64_t D = s.headDim;
  std::vector<float> q = fill(s.batch * s.heads * s.seqQ * D);
  std::vector<float> k = fill(s.batch * s.kvHeads * s.seqK * D);
  std::vector<float> v = fill(s.batch * s.kvHeads * s.seqK * D);
  std::vector<float> u = fill(s.batch * s.kvHeads * s.seqK);
  std::vector<float> w = fill(s.kvHeads * D);
  OracleInputs in{q.data(), k.data(), u.data(), w.data()};
  MaskOracle o = mustCreate(spec, s, in);
  std::vector<double> out(q.size()), lse(s.batch * s.heads * s.seqQ);
  ASSERT_FALSE(
      bool(referenceAttention(o, in, v.data(), out.data(), lse.data())));
  const double scale = s.effectiveScale();
  const int64_t group = s.heads / s.kvHeads;
  int emptyRows = 0, partialRows = 0;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h)
      for (int64_t i = 0; i < s.seqQ; ++i) {
        const int64_t g = h / group;
        const float *qi = &q[((b * s.heads + h) * s.seqQ + i) * D];
        std::vector<double> logit(s.seqK);
        std::vector<bool> mask(s.seqK);
        double mx = -INFINITY;
        int count = 0;
        for (int64_t j = 0; j < s.seqK; ++j) {
          mask[j] = o.attends(b, h, i, j);
          if (!mask[j])
            continue;
          ++count;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot +=
                double(qi[d]) * k[((b * s.kvHeads + g) * s.seqK + j) * D + d];
          logit[j] = scale * dot;
          mx = std::max(mx, logit[j]);
        }
        const size_t row = (b * s.heads + h) * s.seqQ + i;
        if (count == 0) {
          ++emptyRows;
          EXPECT_EQ(lse[row], -INFINITY);
          for (int64_t d = 0; d < D; ++d)
            EXPECT_EQ(out[row * D + d], 0.0);
          continue;
        }
        if (count < s.seqK)
          ++partialRows;
        double sum = 0;
        std::vector<double> acc(D, 0.0);
        for (int64_t j = 0; j < s.seqK; ++j) {
          if (!mask[j])
            continue;
          double e = std::exp(logit[j] - mx);
          sum += e;
          for (int64_t d = 0; d < D; ++d)
            acc[d] += e * v[((b * s.kvHeads + g) * s.seqK + j) * D + d];
        }
        EXPECT_NEAR(lse[row], mx + std::log(sum), 1e-10);
        for (int64_t d = 0; d < D; ++d)
          EXPECT_NEAR(out[row * D + d], acc[d] / sum, 1e-10)
              << "b=" << b << " h=" << h << " i=" << i << " d=" << d;
      }
  EXPECT_GT(partialRows, 0) << "the pattern should actually be sparse";
}

TEST(OracleAttention, MatchesDenseMaskedSoftmax) {
  // Power-like, GQA, batch 2, Sq < Sk and a tail block.
  checkAgainstDense(
      makeSpec(4, true,
               {SinkPrim{4}, windowBlocks(2), strides(StrideKind::Pow2)}),
      makeShape(21, 30, 4, 2, 8, 2, 0), 1);
  // Sq > Sk: empty rows.
  checkAgainstDense(makeSpec(4, true, {windowTokens(3)}),
                    makeShape(12, 7, 2, 1, 4, 1, 0), 2);
  // Dynamic: SparseK-like with key scores, and every dynamic primitive.
  checkAgainstDense(
      makeSpec(4, true,
               {windowTokens(4), topkTokens(5, ScoreSource::KeyScore)}),
      makeShape(20, 24, 2, 2, 4, 1, 0), 3);
  StripesPrim sp;
  sp.block = 4;
  sp.segments = 3;
  sp.rows = 2;
  TreeSearchPrim tp;
  tp.blockQ = 4;
  tp.blockK = 2;
  tp.budget = 4;
  tp.sink = 2;
  tp.window = 3;
  PermutePrim pp;
  pp.segment = 8;
  pp.block = 4;
  pp.probe = 3;
  checkAgainstDense(makeSpec(4, true, {sp}), makeShape(32, 32, 2, 1, 4), 4);
  checkAgainstDense(makeSpec(4, true, {tp}), makeShape(32, 40, 2, 2, 4), 5);
  checkAgainstDense(makeSpec(4, true, {pp}), makeShape(30, 30, 1, 1, 4), 6);
  checkAgainstDense(
      makeSpec(4, true, {SinkPrim{2}, topkBlocks(2, ScoreSource::PooledQK, 4)}),
      makeShape(25, 25, 2, 1, 4), 7);
  checkAgainstDense(makeSpec(4, false, {topkCover(0.5, ScoreSource::Linear)}),
                    makeShape(10, 12, 1, 1, 4), 8);
}

//===----------------------------------------------------------------------===//
// Block maps.
//===----------------------------------------------------------------------===//

TEST(OracleBlockMap, HandWorked) {
  // Causal sink 2 ∪ window 3 tokens, Sq = Sk = 8, 4-token blocks.
  // Row sizes 1, 2, 3, 4, 5, 5, 5, 5 = 30 pairs; causal pairs 36.
  MaskOracle o = mustCreate(makeSpec(4, true, {SinkPrim{2}, windowTokens(3)}),
                            makeShape(8, 8));
  BlockMap m = computeBlockMap(o, 0, 0, 4);
  EXPECT_EQ(m.qBlocks, 2);
  EXPECT_EQ(m.kBlocks, 2);
  EXPECT_EQ(m.firstQBlock, 0);
  EXPECT_EQ(m.state,
            std::vector<uint8_t>({BlockMap::Partial, BlockMap::Skipped,
                                  BlockMap::Partial, BlockMap::Partial}));
  EXPECT_EQ(m.attendedPairs, 30);
  EXPECT_DOUBLE_EQ(m.density, 30.0 / 64);
  EXPECT_DOUBLE_EQ(m.causalDensity, 30.0 / 36);
  // Non-causal diagonal block window: diagonal tiles full, others skipped.
  MaskOracle diag =
      mustCreate(makeSpec(4, false, {windowBlocks(1)}), makeShape(8, 10));
  BlockMap d = computeBlockMap(diag, 0, 0, 4);
  // p = i + 2: qb 0 = rows 0, 1; qb 1 = rows 2..5; qb 2 = rows 6, 7.
  EXPECT_EQ(d.qBlocks, 3);
  EXPECT_EQ(d.kBlocks, 3);
  EXPECT_EQ(d.state, std::vector<uint8_t>({2, 0, 0, 0, 2, 0, 0, 0, 2}));
  EXPECT_EQ(d.attendedPairs, 2 * 4 + 4 * 4 + 2 * 2); // tail block: 2 keys
}

TEST(OracleBlockMap, DecodeAndDownsample) {
  MaskOracle o =
      mustCreate(makeSpec(4, true, {windowTokens(6)}), makeShape(3, 8));
  BlockMap m = computeBlockMap(o, 0, 0, 4);
  EXPECT_EQ(m.firstQBlock, 1); // p = 5..7
  EXPECT_EQ(m.qBlocks, 1);
  // Rows p 5, 6, 7 see keys 0..5 / 1..6 / 2..7: block 0 partial, 1 partial.
  EXPECT_EQ(m.state, std::vector<uint8_t>({1, 1}));

  // Downsampling a block map equals the map at the coarser block size,
  // including a first query block that is not aligned on a cell.
  PatternSpec power = makeSpec(
      2, true, {SinkPrim{2}, windowBlocks(3), strides(StrideKind::Pow2)});
  MaskOracle p = mustCreate(power, makeShape(58, 64));
  BlockMap fine = computeBlockMap(p, 0, 0, 2);
  EXPECT_EQ(fine.firstQBlock, 3);
  BlockMap coarse = downsampleBlockMap(fine, 8);
  BlockMap direct = computeBlockMap(p, 0, 0, 8);
  EXPECT_EQ(coarse.blockSize, 8);
  EXPECT_EQ(coarse.qBlocks, direct.qBlocks);
  EXPECT_EQ(coarse.firstQBlock, direct.firstQBlock);
  EXPECT_EQ(coarse.state, direct.state);
  // Coarse block 7 (p 56..63, qb 28..31) x key cell 0 (keys 0..7): sink
  // keys 0, 1 in every row; for qb 28, d = 25..28 to kb 0..3 holds no power
  // of two, so keys 2..7 are missed -> partial. Cell 7 is the causal
  // diagonal -> partial.
  EXPECT_EQ(coarse.at(coarse.qBlocks - 1, 0), BlockMap::Partial);
  EXPECT_EQ(coarse.at(coarse.qBlocks - 1, 7), BlockMap::Partial);
  // A full cell: non-causal sink covering everything.
  MaskOracle all =
      mustCreate(makeSpec(2, false, {SinkPrim{64}}), makeShape(64, 64));
  BlockMap allDown = downsampleBlockMap(computeBlockMap(all, 0, 0, 2), 4);
  EXPECT_EQ(allDown.qBlocks, 4);
  EXPECT_EQ(allDown.state, std::vector<uint8_t>(16, BlockMap::Full));
}

/// computeBlockMap against a count over every row's keys, and the row
/// sharing it relies on: A(i + r) = A(i + n - 1) ∩ C(i + r).
void checkBlockMapBruteForce(const PatternSpec &spec, const AttentionShape &s,
                             uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  auto fill = [&](size_t n) {
    std::vector<float> x(n);
    for (float &e : x)
      e = normal(rng);
    return x;
  };
  const int64_t Sq = s.seqQ, Sk = s.seqK, offset = Sk - Sq;
  std::vector<float> q = fill(s.batch * s.heads * Sq * s.headDim);
  std::vector<float> k = fill(s.batch * s.kvHeads * Sk * s.headDim);
  std::vector<float> u = fill(s.batch * s.kvHeads * Sk);
  std::vector<float> w = fill(s.kvHeads * s.headDim);
  OracleInputs in{q.data(), k.data(), u.data(), w.data()};
  MaskOracle o = mustCreate(spec, s, in);
  auto causalEnd = [&](int64_t i) {
    return spec.causal ? std::clamp<int64_t>(i + offset + 1, 0, Sk) : Sk;
  };
  for (int64_t i = 0; i < Sq; ++i) {
    const int64_t n = o.rowsSharingKeys(i);
    ASSERT_GE(n, 1);
    ASSERT_LE(i + n, Sq);
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t h = 0; h < s.heads; ++h) {
        Keys lastRow = rowKeys(o, i + n - 1, h, b);
        for (int64_t x = i; x < i + n; ++x) {
          Keys cut;
          for (int64_t j : lastRow)
            if (j < causalEnd(x))
              cut.push_back(j);
          ASSERT_EQ(rowKeys(o, x, h, b), cut) << "i=" << i << " x=" << x;
        }
      }
  }
  for (int64_t bs : {1, 3, 4, 8, 16})
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t h = 0; h < s.heads; ++h) {
        BlockMap m = computeBlockMap(o, b, h, bs);
        const int64_t firstQB = (offset >= 0 ? offset : offset - bs + 1) / bs;
        ASSERT_EQ(m.firstQBlock, firstQB);
        const int64_t kBlocks = (Sk + bs - 1) / bs;
        ASSERT_EQ(m.kBlocks, kBlocks);
        std::vector<int64_t> count(m.qBlocks * kBlocks, 0), rows(m.qBlocks, 0);
        int64_t pairs = 0;
        for (int64_t i = 0; i < Sq; ++i) {
          const int64_t p = i + offset;
          const int64_t r = (p >= 0 ? p : p - bs + 1) / bs - firstQB;
          ++rows[r];
          for (int64_t j : rowKeys(o, i, h, b)) {
            ++count[r * kBlocks + j / bs];
            ++pairs;
          }
        }
        EXPECT_EQ(m.attendedPairs, pairs) << "bs=" << bs;
        for (int64_t r = 0; r < m.qBlocks; ++r)
          for (int64_t c = 0; c < kBlocks; ++c) {
            const int64_t len = std::min(bs, Sk - c * bs);
            const int64_t n = count[r * kBlocks + c];
            const uint8_t st = n == 0               ? BlockMap::Skipped
                               : n == rows[r] * len ? BlockMap::Full
                                                    : BlockMap::Partial;
            ASSERT_EQ(m.at(r, c), st)
                << "bs=" << bs << " r=" << r << " c=" << c;
          }
      }
}

TEST(OracleBlockMap, MatchesBruteForce) {
  PermutePrim pp;
  pp.segment = 8;
  pp.block = 4;
  pp.probe = 5;
  pp.alpha = 0.6;
  TreeSearchPrim tp;
  tp.blockQ = 6;
  tp.blockK = 2;
  tp.budget = 6;
  tp.queryStride = 2;
  tp.sink = 3;
  tp.window = 0;
  StripesPrim sp;
  sp.block = 4;
  sp.segments = 3;
  sp.rows = 2;
  sp.alpha = 0.5;
  const KeepExprPtr evenBlocks =
      op(KeepOp::Eq, {op(KeepOp::Rem, {var(KeepVar::KB), cst(2)}), cst(0)});
  const KeepExprPtr diagonalish =
      op(KeepOp::Lt,
         {op(KeepOp::Sub, {var(KeepVar::Q), var(KeepVar::K)}), cst(6)});
  std::vector<PatternSpec> specs = {
      makeSpec(4, true,
               {SinkPrim{3}, windowBlocks(2), strides(StrideKind::Pow2)}),
      makeSpec(4, true, {ColumnsPrim{{1, 5}}, DiagonalsPrim{{0, 3}}}),
      makeSpec(4, true, {keep(evenBlocks, true)}),
      makeSpec(4, false, {SinkPrim{2}, keep(diagonalish, false)}),
      makeSpec(4, true, {pp}),
      makeSpec(4, true, {tp}),
      makeSpec(4, true, {SinkPrim{1}, topkBlocks(2, ScoreSource::PooledQK, 4)}),
      makeSpec(4, true,
               {windowTokens(4), topkTokens(3, ScoreSource::KeyScore)}),
      makeSpec(4, true, {sp}),
  };
  tp.window = 4;
  specs.push_back(makeSpec(4, true, {tp}));
  uint32_t seed = 0;
  for (const PatternSpec &spec : specs) {
    SCOPED_TRACE(::testing::Message() << "pattern " << seed);
    checkBlockMapBruteForce(spec, makeShape(70, 70, 2, 1, 4), ++seed);
    checkBlockMapBruteForce(spec, makeShape(33, 70, 1, 1, 4, 2), ++seed);
    checkBlockMapBruteForce(spec, makeShape(50, 37, 1, 1, 4), ++seed);
  }
}

TEST(OracleBlockMap, StockStaticPatternsAt128K) {
  const int64_t S = 131072;
  // streaming: causal ∩ (sink 64 ∪ window 1024): |A(p)| = p + 1 for
  // p < 1088, else 64 + 1024.
  MaskOracle streaming = mustCreate(
      makeSpec(64, true, {SinkPrim{64}, windowTokens(1024)}), makeShape(S, S));
  auto t0 = std::chrono::steady_clock::now();
  BlockMap sm = computeBlockMap(streaming, 0, 0, 256);
  int64_t expected = 1088 * 1089 / 2 + (S - 1088) * 1088;
  EXPECT_EQ(sm.attendedPairs, expected);
  EXPECT_EQ(sm.qBlocks, 512);
  EXPECT_EQ(sm.at(511, 0), BlockMap::Partial); // 64 of 256 sink keys
  EXPECT_EQ(sm.at(511, 508), BlockMap::Full);  // inside every row's window
  EXPECT_EQ(sm.at(511, 100), BlockMap::Skipped);

  // power: causal ∩ (sink 256 ∪ window 5 blocks ∪ pow2 strides), B = 256.
  MaskOracle power = mustCreate(
      makeSpec(256, true,
               {SinkPrim{256}, windowBlocks(5), strides(StrideKind::Pow2)}),
      makeShape(S, S));
  BlockMap pm = computeBlockMap(power, 0, 0, 256);
  EXPECT_EQ(pm.at(511, 511), BlockMap::Partial); // causal diagonal
  EXPECT_EQ(pm.at(511, 507), BlockMap::Full);    // window d = 4
  EXPECT_EQ(pm.at(511, 506), BlockMap::Skipped); // d = 5
  EXPECT_EQ(pm.at(511, 505), BlockMap::Skipped); // d = 6
  EXPECT_EQ(pm.at(511, 503), BlockMap::Full);    // d = 8
  EXPECT_EQ(pm.at(511, 255), BlockMap::Full);    // d = 256
  EXPECT_EQ(pm.at(511, 0), BlockMap::Full);      // sink
  EXPECT_EQ(pm.at(300, 1), BlockMap::Skipped);   // d = 299
  // Block row 511: sink + window 5 + d in {8, 16, ..., 256} (6 more
  // blocks; d 1, 2, 4 are in the window and d 511 is the sink).
  int64_t fullBlocks = 0;
  for (int64_t c = 0; c < 512; ++c)
    fullBlocks += pm.at(511, c) == BlockMap::Full;
  EXPECT_EQ(fullBlocks, 1 + 4 + 6);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_LT(seconds, 20.0);
  BlockMap small = downsampleBlockMap(pm, 64);
  EXPECT_EQ(small.qBlocks, 64);
  EXPECT_EQ(small.kBlocks, 64);
}

} // namespace

//===----------------------------------------------------------------------===//
// Run-time integer inputs in predicates.
//===----------------------------------------------------------------------===//

/// doc[b, q] == doc[b, k], the document mask, over `doc` [B, Sk].
static PatternSpec documentSpec() {
  auto read = [](KeepVar index) {
    auto e = std::make_shared<KeepExpr>();
    e->op = KeepOp::Input;
    e->value = 0;
    e->indices = {KeepVar::Batch, index};
    return KeepExprPtr(e);
  };
  PatternSpec spec =
      makeSpec(4, true,
               {keep(op(KeepOp::Eq, {read(KeepVar::Q), read(KeepVar::K)}),
                     /*blockLevel=*/false)});
  spec.inputs.push_back(IntInputDecl{
      "doc", {InputDim{InputDim::Batch, 0}, InputDim{InputDim::Tokens, 0}}});
  return spec;
}

TEST(OracleRunTimeInputs, DocumentMaskKeepsEachDocument) {
  AttentionShape shape = makeShape(6, 10);
  shape.batch = 2;
  // Batch 0: documents [0, 3), [3, 10); batch 1: [0, 8), [8, 10).
  std::vector<int32_t> doc = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1,
                              5, 5, 5, 5, 5, 5, 5, 5, 6, 6};
  OracleInputs inputs;
  inputs.intInputs = {doc.data()};
  auto oracle = MaskOracle::create(documentSpec(), shape, inputs);
  ASSERT_TRUE(bool(oracle)) << llvm::toString(oracle.takeError());
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 10; ++j) {
        int64_t p = i + 4;
        bool want = j <= p && doc[b * 10 + p] == doc[b * 10 + j];
        EXPECT_EQ(oracle->attends(b, 0, i, j), want)
            << "b " << b << " i " << i << " j " << j;
      }
}

TEST(OracleRunTimeInputs, MissingInputsAndOutOfRangeReadsAreErrors) {
  OracleInputs none;
  auto missing = MaskOracle::create(documentSpec(), makeShape(6, 10), none);
  ASSERT_FALSE(bool(missing));
  EXPECT_EQ(llvm::toString(missing.takeError()),
            "pattern 'test' needs run-time input: input 'doc'");
  std::vector<int32_t> doc(10, 0);
  OracleInputs inputs;
  inputs.intInputs = {doc.data()};
  // Sq > Sk: q = p(i) reaches -2.
  auto wide = MaskOracle::create(documentSpec(), makeShape(12, 10), inputs);
  ASSERT_FALSE(bool(wide));
  EXPECT_EQ(llvm::toString(wide.takeError()),
            "input 'doc': index 1 (q) ranges over [-2, 9] in this call, "
            "outside dimension 1 ('s') of 10 entries");
}
