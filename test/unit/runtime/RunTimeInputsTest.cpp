//===- RunTimeInputsTest.cpp - Predicates on run-time inputs, CPU ---------===//
//
// Patterns whose `keep where` reads run-time integer inputs (the document
// mask, prefix LM, per-head tables, with a static and a dynamic primitive
// beside them) compiled for the CPU and compared with the oracle, plus the
// errors of a call whose inputs are missing, unknown, repeated, misshapen or
// read out of range. The GPU suite runs the same cases (CudaRunTimeInputs).
//
//===----------------------------------------------------------------------===//

#include "RunTimeInputCases.h"

using namespace sattn;
using namespace sattn::testing;

namespace {

class CpuRunTimeInputs
    : public ::testing::TestWithParam<std::tuple<int, int, int>> {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }
};

TEST_P(CpuRunTimeInputs, MatchOracle) {
  auto [caseIdx, dtypeIdx, shapeIdx] = GetParam();
  checkRunTimeInputCase(
      Backend::Cpu, caseIdx, kDTypes[dtypeIdx], kShapes[shapeIdx],
      [](Kernel &kernel, AttentionArgs &args) { return kernel.run(args); });
}

std::string
caseName(const ::testing::TestParamInfo<std::tuple<int, int, int>> &info) {
  auto [m, d, s] = info.param;
  return std::string(kRunTimeInputCases[m].name) + "_" +
         dtypeName(kDTypes[d]).str() + "_" + kShapes[s].name;
}

// f32 and bf16; MHA ragged, GQA with two batch entries and Sq < Sk, decode.
INSTANTIATE_TEST_SUITE_P(
    Cases, CpuRunTimeInputs,
    ::testing::Combine(::testing::Range(0, int(std::size(kRunTimeInputCases))),
                       ::testing::Values(0, 2), ::testing::Values(0, 1, 3)),
    caseName);

/// The document case's kernel and a call on kShapes[1] (B 2, Sq 200, Sk 333).
class CpuRunTimeInputErrors : public ::testing::Test {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }

  CpuRunTimeInputErrors() : c(5, DType::F32, kShapes[1]) {
    docs.assign(size_t(2 * 333), 1);
    auto compiled = compile(PatternSource::text(kRunTimeInputCases[0].source),
                            c.config, CompileOptions());
    EXPECT_TRUE(bool(compiled)) << llvm::toString(compiled.takeError());
    if (compiled)
      kernel = *compiled;
  }

  /// The error of a call with `inputs`, or "" when it succeeds.
  std::string errorOf(std::vector<IntInput> inputs) {
    c.args.intInputs = std::move(inputs);
    llvm::Error err = kernel->run(c.args);
    return err ? llvm::toString(std::move(err)) : "";
  }
  IntInput doc(llvm::ArrayRef<int64_t> sizes) {
    return IntInput{"doc", docs.data(), {sizes.begin(), sizes.end()}};
  }

  OracleCase c;
  std::vector<int32_t> docs;
  std::shared_ptr<Kernel> kernel;
};

TEST_F(CpuRunTimeInputErrors, NamedInTheMessage) {
  ASSERT_TRUE(kernel);
  EXPECT_EQ(errorOf({doc({2, 333})}), "");
  EXPECT_EQ(errorOf({}), "pattern 'p' reads run-time input 'doc', i32[2, 333] "
                         "(b, s) for this call; none given");
  EXPECT_EQ(errorOf({doc({2, 332})}),
            "run-time input 'doc' must be i32[2, 333] (b, s), got [2, 332]");
  EXPECT_EQ(errorOf({doc({666})}),
            "run-time input 'doc' must be i32[2, 333] (b, s), got [666]");
  EXPECT_EQ(errorOf({doc({2, 333}), doc({2, 333})}),
            "run-time input 'doc' is given twice");
  EXPECT_EQ(errorOf({doc({2, 333}), IntInput{"dox", docs.data(), {2, 333}}}),
            "pattern 'p' has no run-time input 'dox' (its inputs: doc)");
  EXPECT_EQ(errorOf({IntInput{"doc", nullptr, {2, 333}}}),
            "run-time input 'doc' has a null pointer");
}

TEST_F(CpuRunTimeInputErrors, ReadsOutsideTheInputAreRefused) {
  ASSERT_TRUE(kernel);
  // More query rows than keys: q = p(i) starts below 0, outside `s`.
  OracleCase wide(6, DType::F32, ShapeCase{"sq_gt_sk", 1, 4, 1, 40, 30, 64});
  std::vector<int32_t> ids(30, 0);
  wide.args.intInputs = {IntInput{"doc", ids.data(), {1, 30}}};
  llvm::Error err = kernel->run(wide.args);
  ASSERT_TRUE(bool(err));
  EXPECT_EQ(llvm::toString(std::move(err)),
            "run-time input 'doc': its dimension 1 ('s', 30 entries) is read "
            "at q, which ranges over [-10, 29] in this call");
}

TEST(CpuRunTimeInputPatterns, PackedCallsAreRefused) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  OracleCase c(7, DType::F32, ShapeCase{"packed", 1, 4, 4, 64, 64, 32});
  auto kernel = compile(PatternSource::text(kRunTimeInputCases[0].source),
                        c.config, CompileOptions());
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  std::vector<int32_t> ids(64, 0), cu{0, 30, 64};
  c.args.intInputs = {IntInput{"doc", ids.data(), {1, 64}}};
  c.args.cuSeqlensQ = cu;
  c.args.cuSeqlensK = cu;
  llvm::Error err = (*kernel)->run(c.args);
  ASSERT_TRUE(bool(err));
  EXPECT_NE(llvm::toString(std::move(err)).find("not supported yet"),
            std::string::npos);
}

TEST(CpuRunTimeInputPatterns, CudaNeedsThePreview) {
  unsetenv("SATTN_GPU_PREVIEW");
  AttentionConfig config{4, 4, 32, DType::BF16, 0};
  CompileOptions options;
  options.backend = Backend::Cuda;
  auto kernel = compile(PatternSource::text(kRunTimeInputCases[0].source),
                        config, options);
  ASSERT_FALSE(bool(kernel));
  EXPECT_NE(
      llvm::toString(kernel.takeError()).find("run on the CPU backend for now"),
      std::string::npos);
}

} // namespace
