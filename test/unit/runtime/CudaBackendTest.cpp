//===- CudaBackendTest.cpp - Compiled GPU kernels against the oracle ------===//
//
// The GPU suite: every stock pattern x {f16, bf16, f32} x head dims {64, 128}
// x {MHA, GQA 4:1} x {Sq = Sk, Sq < Sk} x ragged lengths, compiled for the
// device found at run time and compared with the float64 oracle. Without a
// CUDA driver or device every case is skipped (never passed).
//
//===----------------------------------------------------------------------===//

#include "OracleHarness.h"

#include "sattn/CudaDriver.h"
#include "sattn/HostStaging.h"

using namespace sattn;
using namespace sattn::testing;

namespace {

const ShapeCase kGpuShapes[] = {
    {"mha_ragged_300_d64", 1, 4, 4, 300, 300, 64},
    {"gqa4_sq_lt_sk_d128", 2, 4, 1, 200, 333, 128},
    {"gqa4_ragged_517_d128", 1, 8, 2, 517, 517, 128},
    {"mha_sq_lt_sk_d64", 1, 4, 4, 100, 700, 64},
};

/// Why the GPU tests cannot run here, or empty when they can.
std::string noDeviceReason() {
  auto count = cuda::deviceCount();
  if (!count)
    return llvm::toString(count.takeError());
  if (*count == 0)
    return "no CUDA device";
  return "";
}

class CudaMatchesOracle
    : public ::testing::TestWithParam<std::tuple<int, int, int>> {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }
};

TEST_P(CudaMatchesOracle, Case) {
  std::string reason = noDeviceReason();
  if (!reason.empty())
    GTEST_SKIP() << "no CUDA device: " << reason;
  auto [patternIdx, dtypeIdx, shapeIdx] = GetParam();
  checkAgainstOracle(Backend::Cuda, patternIdx, kDTypes[dtypeIdx],
                     kGpuShapes[shapeIdx],
                     [](Kernel &kernel, AttentionArgs &args) {
                       return runWithHostViews(kernel, args);
                     });
}

std::string caseName(
    const ::testing::TestParamInfo<std::tuple<int, int, int>> &info) {
  auto [p, d, s] = info.param;
  return std::string(kPatterns[p].name) + "_" + dtypeName(kDTypes[d]).str() +
         "_" + kGpuShapes[s].name;
}

INSTANTIATE_TEST_SUITE_P(
    Stock, CudaMatchesOracle,
    ::testing::Combine(::testing::Range(0, int(std::size(kPatterns))),
                       ::testing::Range(0, int(std::size(kDTypes))),
                       ::testing::Range(0, int(std::size(kGpuShapes)))),
    caseName);

} // namespace
