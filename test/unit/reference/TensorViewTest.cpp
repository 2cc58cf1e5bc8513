//===- TensorViewTest.cpp - Views, validation, reference on views ---------===//

#include "sattn/TensorView.h"
#include "sattn/ReferenceBackend.h"
#include "sattn/Float16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace sattn;

namespace {

PatternSpec powerSpec() {
  PatternSpec spec;
  spec.name = "power";
  spec.block = 4;
  spec.causal = true;
  spec.primitives = {SinkPrim{4}, WindowPrim{WindowUnit::Blocks, 1, 0},
                     StridesPrim{StrideKind::Pow2, 1, {}}};
  return spec;
}

std::vector<float> randomValues(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> values(n);
  for (float &value : values)
    value = normal(rng);
  return values;
}

/// Values of `in` laid out [B, H, S, D] rearranged to [B, S, H, D].
std::vector<float> toBSHD(const std::vector<float> &in, int64_t b, int64_t h,
                          int64_t s, int64_t d) {
  std::vector<float> out(in.size());
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t ih = 0; ih < h; ++ih)
      for (int64_t is = 0; is < s; ++is)
        for (int64_t id = 0; id < d; ++id)
          out[((ib * s + is) * h + ih) * d + id] =
              in[((ib * h + ih) * s + is) * d + id];
  return out;
}

TEST(TensorView, Bf16RoundsToNearestEven) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  // 1 + 2^-8 lies halfway between bf16 1.0 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(floatToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: even is 1 + 2^-6.
  EXPECT_EQ(floatToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(NAN))));
}

TEST(TensorView, BSHDViewGivesTheSameResultAsBHSD) {
  const int64_t B = 2, Hq = 4, Hkv = 2, Sq = 9, Sk = 13, D = 8;
  AttentionConfig config{Hq, Hkv, D, DType::F32, 0};
  std::vector<float> q = randomValues(B * Hq * Sq * D, 1),
                     k = randomValues(B * Hkv * Sk * D, 2),
                     v = randomValues(B * Hkv * Sk * D, 3);
  std::vector<float> out1(q.size()), lse1(B * Hq * Sq);
  AttentionArgs bhsd{
      TensorView::contiguous(q.data(), DType::F32, {B, Hq, Sq, D}),
      TensorView::contiguous(k.data(), DType::F32, {B, Hkv, Sk, D}),
      TensorView::contiguous(v.data(), DType::F32, {B, Hkv, Sk, D}),
      TensorView::contiguous(out1.data(), DType::F32, {B, Hq, Sq, D}),
      TensorView::contiguous(lse1.data(), DType::F32, {B, Hq, Sq}),
      std::nullopt,
      std::nullopt};
  ASSERT_FALSE(bool(runReferenceAttention(powerSpec(), config, bhsd)));

  std::vector<float> q2 = toBSHD(q, B, Hq, Sq, D),
                     k2 = toBSHD(k, B, Hkv, Sk, D),
                     v2 = toBSHD(v, B, Hkv, Sk, D);
  std::vector<float> out2(q.size()), lse2(lse1.size());
  AttentionArgs bshd{
      TensorView::fromBSHD(q2.data(), DType::F32, B, Sq, Hq, D),
      TensorView::fromBSHD(k2.data(), DType::F32, B, Sk, Hkv, D),
      TensorView::fromBSHD(v2.data(), DType::F32, B, Sk, Hkv, D),
      TensorView::fromBSHD(out2.data(), DType::F32, B, Sq, Hq, D),
      TensorView::contiguous(lse2.data(), DType::F32, {B, Hq, Sq}),
      std::nullopt,
      std::nullopt};
  ASSERT_FALSE(bool(runReferenceAttention(powerSpec(), config, bshd)));
  EXPECT_EQ(toBSHD(out1, B, Hq, Sq, D), out2);
  EXPECT_EQ(lse1, lse2);
  // The output is not trivially zero.
  EXPECT_GT(std::abs(out1[7]), 0.0f);
}

TEST(TensorView, HalfPrecisionWithinSpecTolerance) {
  const int64_t B = 1, H = 2, S = 24, D = 16;
  std::vector<float> q = randomValues(B * H * S * D, 4),
                     k = randomValues(B * H * S * D, 5),
                     v = randomValues(B * H * S * D, 6);
  std::vector<float> ref(q.size()), refLse(B * H * S);
  AttentionConfig f32{H, H, D, DType::F32, 0};
  auto view = [&](std::vector<float> &data, DType dtype) {
    return TensorView::contiguous(data.data(), dtype, {B, H, S, D});
  };
  ASSERT_FALSE(bool(runReferenceAttention(
      powerSpec(), f32,
      {view(q, DType::F32), view(k, DType::F32), view(v, DType::F32),
       view(ref, DType::F32),
       TensorView::contiguous(refLse.data(), DType::F32, {B, H, S}),
       std::nullopt, std::nullopt})));
  for (DType dtype : {DType::F16, DType::BF16}) {
    auto narrow = [&](const std::vector<float> &in) {
      std::vector<uint16_t> bits(in.size());
      TensorView v = TensorView::contiguous(bits.data(), dtype, {B, H, S, D});
      for (size_t n = 0; n < in.size(); ++n)
        v.store({0, int64_t(n / (S * D)), int64_t(n / D % S), int64_t(n % D)},
                in[n]);
      return bits;
    };
    std::vector<uint16_t> q16 = narrow(q), k16 = narrow(k), v16 = narrow(v),
                          out16(q.size());
    std::vector<float> lse(B * H * S);
    AttentionConfig config{H, H, D, dtype, 0};
    auto view16 = [&](std::vector<uint16_t> &data) {
      return TensorView::contiguous(data.data(), dtype, {B, H, S, D});
    };
    ASSERT_FALSE(bool(runReferenceAttention(
        powerSpec(), config,
        {view16(q16), view16(k16), view16(v16), view16(out16),
         TensorView::contiguous(lse.data(), DType::F32, {B, H, S}),
         std::nullopt, std::nullopt})));
    double err = 0, norm = 0;
    TensorView outView = view16(out16);
    for (size_t n = 0; n < ref.size(); ++n) {
      float got = outView.load(
          {0, int64_t(n / (S * D)), int64_t(n / D % S), int64_t(n % D)});
      ASSERT_FALSE(std::isnan(got));
      err += (got - ref[n]) * (got - ref[n]);
      norm += ref[n] * ref[n];
    }
    EXPECT_LE(std::sqrt(err / norm), 1e-2) << dtypeName(dtype).str();
    EXPECT_GT(std::sqrt(err / norm), 0.0) << "inputs were not rounded";
  }
}

class AttentionArgsErrors : public ::testing::Test {
protected:
  static constexpr int64_t B = 1, H = 2, S = 8, D = 4;
  AttentionArgsErrors()
      : q(B * H * S * D), k(q.size()), v(q.size()), out(q.size()),
        lse(B * H * S), args{view(q),
                             view(k),
                             view(v),
                             view(out),
                             TensorView::contiguous(lse.data(), DType::F32,
                                                    {B, H, S}),
                             std::nullopt,
                             std::nullopt} {}

  static TensorView view(std::vector<float> &data) {
    return TensorView::contiguous(data.data(), DType::F32, {B, H, S, D});
  }

  std::string error() {
    auto shape = checkAttentionArgs(config, args);
    if (shape)
      return "";
    return llvm::toString(shape.takeError());
  }

  AttentionConfig config{H, H, D, DType::F32, 0};
  std::vector<float> q, k, v, out, lse;
  AttentionArgs args;
};

TEST_F(AttentionArgsErrors, ValidArgumentsGiveTheShape) {
  auto shape = checkAttentionArgs(config, args);
  ASSERT_TRUE(bool(shape)) << llvm::toString(shape.takeError());
  EXPECT_EQ(shape->seqQ, S);
  EXPECT_EQ(shape->seqK, S);
}

TEST_F(AttentionArgsErrors, NullPointer) {
  args.k.data = nullptr;
  EXPECT_EQ(error(), "k is a null pointer");
}

TEST_F(AttentionArgsErrors, Misaligned) {
  args.v.data = reinterpret_cast<char *>(v.data()) + 1;
  EXPECT_EQ(error(), "v is not aligned to its 4-byte elements");
}

TEST_F(AttentionArgsErrors, WrongDType) {
  args.q.dtype = DType::BF16;
  EXPECT_EQ(error(), "q must be f32, got bf16");
}

TEST_F(AttentionArgsErrors, WrongHeadDim) {
  args.k.sizes[3] = 8;
  EXPECT_EQ(error(), "k must have shape [1, 2, ?, 4] [B, Hkv, Sk, D], got "
                     "[1, 2, 8, 8]");
}

TEST_F(AttentionArgsErrors, VLengthDiffersFromK) {
  args.v.sizes[2] = 7;
  EXPECT_EQ(error(),
            "v must have shape [1, 2, 8, 4] [B, Hkv, Sk, D], got [1, 2, 7, 4]");
}

TEST_F(AttentionArgsErrors, InnerStride) {
  args.out.strides[3] = 2;
  EXPECT_EQ(error(),
            "out must have unit stride in its last dim (head dim), got 2");
}

TEST_F(AttentionArgsErrors, NegativeStride) {
  args.q.strides[2] = -4;
  EXPECT_EQ(error(), "q has negative stride -4 in dim 2");
}

TEST_F(AttentionArgsErrors, LseMustBeF32) {
  args.lse.dtype = DType::F16;
  EXPECT_EQ(error(), "lse must be f32, got f16");
}

TEST_F(AttentionArgsErrors, RankMismatch) {
  args.lse.sizes.pop_back();
  EXPECT_EQ(error(), "lse must have rank 3 [B, Hq, Sq] with one stride per "
                     "size, got rank 2 and 3 strides");
}

constexpr const char *kSharedMemory =
    " in memory: out and lse must not share memory with any other tensor";

TEST_F(AttentionArgsErrors, OutAliasesInput) {
  args.out.data = q.data();
  EXPECT_EQ(error(), std::string("out overlaps q") + kSharedMemory);
}

// Issue 21, D5: overlaps other than equal pointers were accepted.
TEST_F(AttentionArgsErrors, OutOneElementIntoQ) {
  std::vector<float> both(2 * q.size());
  args.q.data = both.data();
  args.out.data = both.data() + 1;
  EXPECT_EQ(error(), std::string("out overlaps q") + kSharedMemory);
}

TEST_F(AttentionArgsErrors, LseInsideOut) {
  args.lse.data = out.data() + 4;
  EXPECT_EQ(error(), std::string("out overlaps lse") + kSharedMemory);
}

TEST_F(AttentionArgsErrors, LseInsideK) {
  args.lse.data = k.data();
  EXPECT_EQ(error(), std::string("lse overlaps k") + kSharedMemory);
}

TEST_F(AttentionArgsErrors, ZeroStrideOut) {
  args.out.strides[2] = 0;
  EXPECT_EQ(error(), "out has strides [64, 32, 0, 1] for shape [1, 2, 8, 4] "
                     "that give several elements the same memory; each "
                     "output element needs its own");
}

TEST_F(AttentionArgsErrors, InterleavedLse) {
  // Rows of head 1 start inside head 0's rows.
  args.lse.strides = {16, 4, 1};
  EXPECT_NE(error().find("lse has strides [16, 4, 1]"), std::string::npos);
}

TEST_F(AttentionArgsErrors, SpanBeyondAddressSpace) {
  args.k.strides[1] = int64_t(1) << 62;
  EXPECT_EQ(error(), "k with shape [1, 2, 8, 4] and strides [64, "
                     "4611686018427387904, 4, 1] reaches beyond the address "
                     "space");
}

TEST_F(AttentionArgsErrors, InputsMayShareMemory) {
  // A packed [B, S, 3, H, D] qkv buffer: q, k and v interleave.
  std::vector<float> qkv(3 * q.size());
  for (auto [view, part] : {std::pair{&args.q, 0}, {&args.k, 1}, {&args.v, 2}})
    *view = TensorView{qkv.data() + part * H * D,
                       DType::F32,
                       {B, H, S, D},
                       {S * 3 * H * D, D, 3 * H * D, 1}};
  EXPECT_EQ(error(), "");
}

TEST_F(AttentionArgsErrors, LseNotWanted) {
  args.lse = TensorView();
  EXPECT_EQ(error(), "");
  args.lse.sizes = {B, H, S};
  args.lse.strides = {H * S, S, 1};
  EXPECT_EQ(error(), "lse is a null pointer");
}

TEST_F(AttentionArgsErrors, HeadsNotDivisible) {
  config.kvHeads = 3;
  EXPECT_NE(error().find("kv heads dividing heads"), std::string::npos);
}

TEST_F(AttentionArgsErrors, MissingKeyScores) {
  PatternSpec spec;
  spec.name = "sparsek";
  spec.primitives = {TopkPrim{false, 2, 1.0, TopkGranularity::Token, 4,
                              ScoreSource::KeyScore}};
  llvm::Error e = runReferenceAttention(spec, config, args);
  EXPECT_EQ(llvm::toString(std::move(e)),
            "pattern 'sparsek' reads key scores; none were given");
}

} // namespace

/// Issue 21 D4, as reported: an S stride of INT64_MAX / 2 read before the
/// buffer, batch = INT64_MAX (inputs broadcast over it) computed nothing,
/// both returning success. The checked span refuses them.
TEST_F(AttentionArgsErrors, OverflowingStridesAndExtentsFromTheAudit) {
  args.q.strides[2] = INT64_MAX / 2;
  EXPECT_NE(error().find("q with shape [1, 2, 8, 4]"), std::string::npos)
      << error();
  EXPECT_NE(error().find("reaches beyond the address space"),
            std::string::npos);
  args.q = view(q);
  for (TensorView *t : {&args.q, &args.k, &args.v, &args.out}) {
    t->sizes[0] = INT64_MAX;
    t->strides[0] = 0;
  }
  args.out.strides[0] = H * S * D;
  args.lse.sizes[0] = INT64_MAX;
  EXPECT_NE(error().find("reaches beyond the address space"),
            std::string::npos)
      << error();
}
