//===- CudaStreamsTest.cpp - One kernel on two streams at once ------------===//
//
// Calls of one compiled kernel without a caller workspace, queued on two
// streams without waiting in between, each stream alternating between two
// shapes (so each stream's owned workspace grows while the other stream's
// kernels run): every output must match the oracle (Kernel::run in
// sattn/Compiler.h). The patterns are those whose selection stages use the
// workspace. Without a device the test is skipped (never passed).
//
//===----------------------------------------------------------------------===//

#include "OracleHarness.h"

#include "sattn/CudaDriver.h"

using namespace sattn;
using namespace sattn::testing;

namespace {

/// The span of `view`'s elements, in bytes.
size_t spanBytes(const TensorView &view) {
  int64_t elements = 1;
  for (size_t i = 0; i < view.sizes.size(); ++i)
    elements += (view.sizes[i] - 1) * view.strides[i];
  return size_t(elements) * dtypeSize(view.dtype);
}

/// Device copies of an OracleCase's inputs and `rounds` device outputs.
struct DeviceCase {
  std::vector<cuda::DeviceBuffer> inputs, outs, lses;
  AttentionArgs args; // the inputs; out and lse of round 0

  llvm::Error upload(TensorView &view) {
    auto buffer = cuda::DeviceBuffer::allocate(spanBytes(view));
    if (!buffer)
      return buffer.takeError();
    if (llvm::Error err = buffer->copyFromHost(view.data, buffer->size()))
      return err;
    view.data = reinterpret_cast<void *>(buffer->pointer());
    inputs.push_back(std::move(*buffer));
    return llvm::Error::success();
  }

  llvm::Error create(const OracleCase &c, int rounds) {
    args = c.args;
    for (TensorView *view : {&args.q, &args.k, &args.v})
      if (llvm::Error err = upload(*view))
        return err;
    if (args.keyScores)
      if (llvm::Error err = upload(*args.keyScores))
        return err;
    for (int r = 0; r < rounds; ++r) {
      auto out = cuda::DeviceBuffer::allocate(spanBytes(c.args.out));
      if (!out)
        return out.takeError();
      auto lse = cuda::DeviceBuffer::allocate(spanBytes(c.args.lse));
      if (!lse)
        return lse.takeError();
      outs.push_back(std::move(*out));
      lses.push_back(std::move(*lse));
    }
    return llvm::Error::success();
  }

  AttentionArgs round(int r) const {
    AttentionArgs a = args;
    a.out.data = reinterpret_cast<void *>(outs[r].pointer());
    a.lse.data = reinterpret_cast<void *>(lses[r].pointer());
    return a;
  }

  /// Round r's outputs into `c`'s host out and lse.
  llvm::Error download(int r, OracleCase &c) const {
    if (llvm::Error err = outs[r].copyToHost(c.out.view.data, outs[r].size()))
      return err;
    return lses[r].copyToHost(c.lse.view.data, lses[r].size());
  }
};

class CudaStreams : public ::testing::TestWithParam<const char *> {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }
};

TEST_P(CudaStreams, TwoShapesAtOnceWithOwnedWorkspaces) {
  auto count = cuda::deviceCount();
  if (!count || *count == 0) {
    std::string reason =
        count ? "no CUDA device" : llvm::toString(count.takeError());
    GTEST_SKIP() << "no CUDA device: " << reason;
  }
  ASSERT_FALSE(bool(cuda::makeCurrent()));
  const PatternCase *pattern = stockCase(GetParam());
  ASSERT_NE(pattern, nullptr) << GetParam();

  // Same heads and head dim (one kernel), different batch and lengths.
  const ShapeCase small{"small", 1, 4, 1, 300, 300, 64};
  const ShapeCase large{"large", 2, 4, 1, 517, 900, 64};
  constexpr int kRounds = 6;
  OracleCase cases[2] = {{*pattern, 1, DType::BF16, small},
                         {*pattern, 2, DType::BF16, large}};
  auto kernel = compileStock(Backend::Cuda, *pattern, cases[0].config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  DeviceCase device[2];
  for (int c = 0; c < 2; ++c) {
    llvm::Error err = device[c].create(cases[c], kRounds);
    ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
  }
  cuda::Stream streams[2];
  for (cuda::Stream &s : streams) {
    auto stream = cuda::Stream::create(cuda::CU_STREAM_NON_BLOCKING);
    ASSERT_TRUE(bool(stream)) << llvm::toString(stream.takeError());
    s = std::move(*stream);
  }

  // Stream s runs shape (s + r) % 2 in round r: both streams switch shapes
  // every round, with the other stream's kernels in flight.
  for (int r = 0; r < kRounds; ++r)
    for (int s = 0; s < 2; ++s) {
      int c = (s + r) % 2;
      llvm::Error err =
          (*kernel)->run(device[c].round(r), nullptr, streams[s].handle());
      ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
    }
  for (cuda::Stream &s : streams) {
    llvm::Error err = s.synchronize();
    ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
  }

  for (int c = 0; c < 2; ++c) {
    llvm::Error refErr = cases[c].computeReference(*pattern);
    ASSERT_FALSE(bool(refErr)) << llvm::toString(std::move(refErr));
    for (int r = 0; r < kRounds; ++r) {
      SCOPED_TRACE("shape " + std::string(c ? "large" : "small") + ", round " +
                   std::to_string(r));
      llvm::Error err = device[c].download(r, cases[c]);
      ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
      cases[c].expectMatches();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(WorkspacePatterns, CudaStreams,
                         ::testing::Values("sample", "hip", "sparsek", "pbs"));

} // namespace
