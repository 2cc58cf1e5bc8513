//===- ReferenceCompareTest.cpp - The one comparison with the oracle ------===//
//
// Issue 21 D2: sattn-run --check said "relative L2 nan: ok" when the
// reference was NaN (std::max drops NaN). compareWithReference must fail
// whenever NaN or Inf sits where the other side does not have it.
//
//===----------------------------------------------------------------------===//

#include "sattn/ReferenceCompare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace sattn;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Case {
  std::vector<float> got, want, gotLse, wantLse;

  ReferenceComparison run(DType dtype = DType::F32) {
    TensorView g = TensorView::contiguous(got.data(), DType::F32,
                                          {1, 1, int64_t(got.size()) / 2, 2});
    TensorView w = TensorView::contiguous(want.data(), DType::F32,
                                          {1, 1, int64_t(want.size()) / 2, 2});
    TensorView gl = TensorView::contiguous(gotLse.data(), DType::F32,
                                           {1, 1, int64_t(gotLse.size())});
    TensorView wl = TensorView::contiguous(wantLse.data(), DType::F32,
                                           {1, 1, int64_t(wantLse.size())});
    return compareWithReference(g, w, gl, wl, dtype);
  }
};

TEST(ReferenceCompare, EqualFiniteValuesPass) {
  Case c{{1, 2, 3, 4}, {1, 2, 3, 4}, {0.5, 0.25}, {0.5, 0.25}};
  ReferenceComparison r = c.run();
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.maxRef, 4);
}

TEST(ReferenceCompare, NaNInReferenceOnlyFails) {
  // The defect: the reference is NaN, the result finite.
  Case c{{1, 2, 3, 4}, {1, kNaN, 3, 4}, {0.5, 0.25}, {0.5, 0.25}};
  ReferenceComparison r = c.run();
  EXPECT_FALSE(r.ok()) << r.describe();
  EXPECT_EQ(r.outNonFiniteMismatches, 1);
  EXPECT_EQ(r.firstNonFiniteMismatch, 1);
  EXPECT_NE(r.describe().find("FAIL"), std::string::npos);
}

TEST(ReferenceCompare, AllNaNReferenceFails) {
  Case c{{1, 2, 3, 4}, {kNaN, kNaN, kNaN, kNaN}, {0.5, 0.25}, {kNaN, kNaN}};
  ReferenceComparison r = c.run(DType::BF16);
  EXPECT_FALSE(r.ok()) << r.describe();
  EXPECT_EQ(r.outNonFiniteMismatches, 4);
  EXPECT_EQ(r.lseMismatches, 2);
}

TEST(ReferenceCompare, NaNInResultOnlyFails) {
  Case c{{1, 2, kNaN, 4}, {1, 2, 3, 4}, {0.5, 0.25}, {0.5, 0.25}};
  EXPECT_FALSE(c.run().ok());
  EXPECT_FALSE(c.run(DType::F16).ok());
}

TEST(ReferenceCompare, NaNAtTheSamePositionsPasses) {
  // docs/patterns.md: a NaN score in A(i) makes o_i and lse_i NaN.
  Case c{{kNaN, kNaN, 3, 4}, {kNaN, kNaN, 3, 4}, {kNaN, 0.25}, {kNaN, 0.25}};
  ReferenceComparison r = c.run();
  EXPECT_TRUE(r.ok()) << r.describe();
}

TEST(ReferenceCompare, InfinitiesMustMatch) {
  Case same{{kInf, 2, 3, 4}, {kInf, 2, 3, 4}, {0, 0}, {0, 0}};
  EXPECT_TRUE(same.run().ok());
  Case sign{{-kInf, 2, 3, 4}, {kInf, 2, 3, 4}, {0, 0}, {0, 0}};
  EXPECT_FALSE(sign.run().ok());
  Case finite{{0, 2, 3, 4}, {kInf, 2, 3, 4}, {0, 0}, {0, 0}};
  EXPECT_FALSE(finite.run().ok());
}

TEST(ReferenceCompare, EmptyRowsNeedMinusInfinityLse) {
  // An empty A(i): o_i = 0 and lse_i = -inf; a kernel's 0 lse is wrong.
  Case c{{0, 0, 3, 4}, {0, 0, 3, 4}, {0, 0.25}, {-kInf, 0.25}};
  ReferenceComparison r = c.run();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.lseMismatches, 1);
  c.gotLse[0] = -kInf;
  EXPECT_TRUE(c.run().ok());
}

TEST(ReferenceCompare, TolerancesOfTheSpec) {
  // fp32: max |err| <= 1e-4 max |ref|.
  Case f32{{1, 2, 3, 4.0005f}, {1, 2, 3, 4}, {0, 0}, {0, 0}};
  EXPECT_FALSE(f32.run().ok());
  f32.got[3] = 4.0003f;
  EXPECT_TRUE(f32.run().ok());
  // fp16/bf16: relative L2 <= 1e-2 (‖ref‖ = sqrt(30)).
  Case f16{{1, 2, 3, 4.05f}, {1, 2, 3, 4}, {0, 0}, {0, 0.02f}};
  EXPECT_TRUE(f16.run(DType::F16).ok());
  f16.got[3] = 4.06f;
  EXPECT_FALSE(f16.run(DType::F16).ok());
  // lse: 1e-3 in fp32, 3e-2 otherwise.
  EXPECT_FALSE(Case({{1, 1}, {1, 1}, {0.002f}, {0}}).run().ok());
  EXPECT_TRUE(Case({{1, 1}, {1, 1}, {0.002f}, {0}}).run(DType::BF16).ok());
}

} // namespace
