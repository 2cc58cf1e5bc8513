//===- ScoreModifiersTest.cpp - softcap and alibi through the CPU kernels -===//
//
// Patterns with score modifiers (docs/patterns.md, "Score modifiers")
// compiled for the CPU and compared with the float64 oracle, which applies
// them the same way; each case also checks that the modifiers change the
// output (against the oracle of the same pattern without them), so that a
// kernel ignoring them fails. The GPU tiles refuse them for now.
//
//===----------------------------------------------------------------------===//

#include "OracleHarness.h"

using namespace sattn;
using namespace sattn::testing;

namespace {

struct ModifierCase {
  const char *name;
  const char *source;
};

// Each pattern holds a `%s` where the modifiers go, so that the same
// pattern without them is the control.
const ModifierCase kModifierCases[] = {
    {"softcap_window", "pattern p {\n  block 32\n  causal\n  window 96 "
                       "tokens\n  sink 8 tokens\n%s}\n"},
    {"alibi_dense", "pattern p {\n  block 32\n  causal\n  keep where 1 == "
                    "1\n%s}\n"},
    {"both_strides", "pattern p {\n  block 16\n  causal\n  window 2 "
                     "blocks\n  strides pow2\n%s}\n"},
    {"softcap_topk", "pattern p {\n  block 32\n  causal\n  window 32 "
                     "tokens\n  topk k = 40 tokens by key_score\n%s}\n"},
};

const char *modifiersFor(llvm::StringRef name) {
  if (name.starts_with("softcap"))
    return "  softcap 2.5\n";
  if (name.starts_with("alibi"))
    return "  alibi\n";
  return "  softcap 4\n  alibi\n";
}

std::string withModifiers(const ModifierCase &c, bool modified) {
  std::string text = c.source;
  size_t at = text.find("%s");
  text.replace(at, 2, modified ? modifiersFor(c.name) : "");
  return text;
}

class CpuScoreModifiers
    : public ::testing::TestWithParam<std::tuple<int, int, int>> {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }
};

TEST_P(CpuScoreModifiers, MatchOracle) {
  auto [caseIdx, dtypeIdx, shapeIdx] = GetParam();
  const ModifierCase &mc = kModifierCases[caseIdx];
  const ShapeCase &shape = kShapes[shapeIdx];
  OracleCase c(99 + caseIdx, kDTypes[dtypeIdx], shape);
  if (llvm::StringRef(mc.name).ends_with("topk"))
    c.args.keyScores = c.scores.view;

  auto kernel = compile(PatternSource::text(withModifiers(mc, true)), c.config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  llvm::Error runErr = (*kernel)->run(c.args);
  ASSERT_FALSE(bool(runErr)) << llvm::toString(std::move(runErr));

  mlir::MLIRContext context;
  BoundPattern bound;
  ASSERT_FALSE(bool(loadTextPattern(withModifiers(mc, true), "modified.sattn",
                                    context, bound)));
  ASSERT_TRUE(bound.spec.modifiers.any());
  ASSERT_FALSE(bool(c.computeReference(bound)));
  c.expectMatches();

  // The control: the same pattern without modifiers gives another output,
  // beyond the tolerance the comparison above allows.
  mlir::MLIRContext plainContext;
  BoundPattern plain;
  ASSERT_FALSE(bool(loadTextPattern(withModifiers(mc, false), "plain.sattn",
                                    plainContext, plain)));
  ASSERT_FALSE(bool(c.computeReference(plain)));
  ReferenceComparison control = compareWithReference(
      c.out.view, c.refOut.view, c.lse.view, c.refLse.view, c.config.dtype);
  EXPECT_FALSE(control.ok())
      << "the modifiers did not change the output of " << mc.name;
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

/// Until the tensor-core tiles apply modifiers, a CUDA compile refuses the
/// pattern (before any device is needed) instead of ignoring them.
TEST(CudaScoreModifiers, CompileIsRefusedWithAReason) {
  CompileOptions options;
  options.backend = Backend::Cuda;
  options.arch = "sm_90a";
  AttentionConfig config{4, 4, 64, DType::BF16, 0};
  auto kernel =
      compile(PatternSource::text(withModifiers(kModifierCases[0], true)),
              config, options);
  ASSERT_FALSE(bool(kernel));
  std::string message = llvm::toString(kernel.takeError());
  EXPECT_NE(message.find("score modifiers (softcap, alibi) on the GPU"),
            std::string::npos)
      << message;
}

} // namespace
