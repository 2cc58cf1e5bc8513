//===- PackedSequencesTest.cpp - cu_seqlens calls against separate calls --===//
//
// Packed sequences (docs/patterns.md, "Packed sequences"): a call over n
// sequences packed along S must equal n separate calls, each on its own
// copied-out tensors with local indices, computed by the oracle. Covers
// empty sequences, sequences without keys, a sequence of one row, Sq_s !=
// Sk_s, a dynamic pattern (its key scores split too), 1000 sequences in one
// call, and the bad offsets the spec names.
//
//===----------------------------------------------------------------------===//

#include "PackedSequenceCases.h"

using namespace sattn;
using namespace sattn::testing;

namespace {

llvm::Error runOnHost(Kernel &kernel, AttentionArgs &args) {
  return kernel.run(args);
}

class CpuPackedSequences : public ::testing::Test {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }
};

TEST_F(CpuPackedSequences, EqualSeparateCalls) {
  // Empty, one row, no keys, Sq_s < Sk_s, Sq_s > Sk_s (rows before the keys
  // see nothing causally), ragged lengths off the blocks.
  checkPacked(Backend::Cpu, kPackedStreaming, {0, 0, 1, 40, 40, 97, 150},
              {0, 0, 1, 70, 80, 97, 190}, DType::F32, false, runOnHost);
  checkPacked(Backend::Cpu, kPackedStreaming, {0, 33, 100}, {0, 33, 100},
              DType::BF16, false, runOnHost);
}

TEST_F(CpuPackedSequences, DynamicPatternSplitsItsKeyScores) {
  checkPacked(Backend::Cpu, kPackedSparsek, {0, 50, 51, 130}, {0, 60, 61, 200},
              DType::F32, true, runOnHost);
}

TEST_F(CpuPackedSequences, AThousandSequencesInOneCall) {
  std::vector<int32_t> cu = {0};
  for (int s = 0; s < 1000; ++s)
    cu.push_back(cu.back() + 1 + (s * 7) % 5);
  checkPacked(Backend::Cpu, kPackedStreaming, cu, cu, DType::F32, false,
              runOnHost);
}

TEST_F(CpuPackedSequences, BadOffsetsAreRefused) {
  ShapeCase shape{"packed", 1, 2, 2, 10, 10, 32};
  OracleCase c(5, DType::F32, shape);
  auto kernel = compile(PatternSource::text(kPackedStreaming), c.config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  auto refused = [&](std::vector<int32_t> q, std::vector<int32_t> k,
                     const std::string &message) {
    c.args.cuSeqlensQ = q;
    c.args.cuSeqlensK = k;
    llvm::Error err = (*kernel)->run(c.args);
    ASSERT_TRUE(bool(err)) << message;
    std::string text = llvm::toString(std::move(err));
    EXPECT_NE(text.find(message), std::string::npos) << text;
  };
  refused({0, 4, 10}, {0, 10}, "must have the same number of entries");
  refused({1, 10}, {0, 10}, "cu_seqlens_q[0] must be 0, got 1");
  refused({0, 6, 4, 10}, {0, 3, 6, 10},
          "cu_seqlens_q must not decrease: entry 2 is 4, entry 1 is 6");
  refused({0, 4, 10}, {0, 4, 9}, "cu_seqlens_k must end at Sk = 10, got 9");
  refused({0, 4, 12}, {0, 4, 10}, "cu_seqlens_q must end at Sq = 10, got 12");
  refused({}, {0, 10}, "need both cu_seqlens_q and cu_seqlens_k");
}

} // namespace
