//===- ScoreModifiersTest.cpp - softcap and alibi through the CPU kernels -===//
//
// Patterns with score modifiers (docs/patterns.md, "Score modifiers")
// compiled for the CPU and compared with the float64 oracle, which applies
// them the same way; each case also checks that the modifiers change the
// output (against the oracle of the same pattern without them), so that a
// kernel ignoring them fails. The GPU suite runs the same cases
// (CudaScoreModifiers).
//
//===----------------------------------------------------------------------===//

#include "ScoreModifierCases.h"

using namespace sattn;
using namespace sattn::testing;

namespace {

class CpuScoreModifiers
    : public ::testing::TestWithParam<std::tuple<int, int, int>> {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }
};

TEST_P(CpuScoreModifiers, MatchOracle) {
  auto [caseIdx, dtypeIdx, shapeIdx] = GetParam();
  checkModifierCase(
      Backend::Cpu, caseIdx, kDTypes[dtypeIdx], kShapes[shapeIdx],
      [](Kernel &kernel, AttentionArgs &args) { return kernel.run(args); });
}

std::string
caseName(const ::testing::TestParamInfo<std::tuple<int, int, int>> &info) {
  auto [m, d, s] = info.param;
  return std::string(kModifierCases[m].name) + "_" +
         dtypeName(kDTypes[d]).str() + "_" + kShapes[s].name;
}

// f32 and bf16; MHA ragged, GQA with Sq < Sk, decode.
INSTANTIATE_TEST_SUITE_P(
    Cases, CpuScoreModifiers,
    ::testing::Combine(::testing::Range(0, int(std::size(kModifierCases))),
                       ::testing::Values(0, 2), ::testing::Values(0, 1, 3)),
    caseName);

} // namespace
