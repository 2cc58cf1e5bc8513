//===- TopkBlocksTest.cpp - topk lowerings against the oracle -------------===//
//
// Small custom patterns for what the stock sparsek pattern does not reach:
// topk at block granularity (key_score, linear, pooled_qk; k best and cover;
// token-level and block-level statics, `keep`, non-causal) and token top-k
// by linear scores with a sink. Compiled CPU kernels are compared with the
// float64 reference exactly as CpuBackendTest does.
//
//===----------------------------------------------------------------------===//

#include "OracleHarness.h"

using namespace sattn;
using namespace sattn::testing;

namespace {

struct TopkCase {
  const char *name;
  const char *source;
};

const TopkCase kCases[] = {
    {"blocks_key_score",
     "pattern tkb {\n  block 16\n  causal\n  window 1 blocks\n"
     "  topk k = 3 blocks by key_score\n}\n"},
    {"blocks_pooled_cover",
     "pattern tkc {\n  block 16\n  causal\n  sink 8 tokens\n"
     "  window 20 tokens\n  topk cover = 0.6 blocks by pooled_qk\n}\n"},
    {"blocks_linear_keep",
     "pattern tkl {\n  block 32\n  causal\n  strides every 3\n"
     "  keep where kb == 1\n  topk k = 2 blocks by linear\n}\n"},
    {"blocks_noncausal", "pattern tkn {\n  block 16\n  window 2 blocks\n"
                         "  topk k = 4 blocks by key_score\n}\n"},
    {"tokens_linear_sink",
     "pattern tkt {\n  block 16\n  causal\n  sink 4 tokens\n"
     "  window 16 tokens\n  topk k = 20 tokens by linear\n}\n"},
};

const ShapeCase kTopkShapes[] = {
    {"mha_ragged_300", 1, 2, 2, 300, 300, 32},
    {"gqa4_sq_lt_sk", 2, 4, 1, 200, 333, 64},
    {"mha_decode", 1, 2, 2, 3, 290, 64},
};

void checkCase(const TopkCase &tc, DType dtype, const ShapeCase &shape) {
  OracleCase c(4321 + 5 * shape.seqK + shape.headDim, dtype, shape);
  c.args.keyScores = c.scores.view;
  c.args.weights = c.weights.view;
  auto kernel = compile(PatternSource::text(tc.source), c.config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  llvm::Error runErr = (*kernel)->run(c.args);
  ASSERT_FALSE(bool(runErr)) << llvm::toString(std::move(runErr));

  mlir::MLIRContext context;
  BoundPattern bound;
  llvm::Error loadErr = loadTextPattern(
      tc.source, std::string(tc.name) + ".sattn", context, bound);
  ASSERT_FALSE(bool(loadErr)) << llvm::toString(std::move(loadErr));
  llvm::Error refErr = c.computeReference(bound);
  ASSERT_FALSE(bool(refErr)) << llvm::toString(std::move(refErr));
  c.expectMatches();
}

class TopkMatchesOracle
    : public ::testing::TestWithParam<std::tuple<int, int, int>> {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }
};

const DType kTopkDTypes[] = {DType::F32, DType::BF16};

TEST_P(TopkMatchesOracle, Case) {
  auto [caseIdx, dtypeIdx, shapeIdx] = GetParam();
  checkCase(kCases[caseIdx], kTopkDTypes[dtypeIdx], kTopkShapes[shapeIdx]);
}

std::string
caseName(const ::testing::TestParamInfo<std::tuple<int, int, int>> &info) {
  auto [c, d, s] = info.param;
  return std::string(kCases[c].name) + "_" + dtypeName(kTopkDTypes[d]).str() +
         "_" + kTopkShapes[s].name;
}

INSTANTIATE_TEST_SUITE_P(
    Custom, TopkMatchesOracle,
    ::testing::Combine(::testing::Range(0, int(std::size(kCases))),
                       ::testing::Range(0, int(std::size(kTopkDTypes))),
                       ::testing::Range(0, int(std::size(kTopkShapes)))),
    caseName);

} // namespace
