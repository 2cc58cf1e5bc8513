//===- CpuBackendTest.cpp - Compiled CPU kernels against the oracle -------===//
//
// Every stock pattern x {f32, f16, bf16} x {Sq = Sk, Sq < Sk, decode} x
// {MHA, GQA 4:1} x lengths that are and are not multiples of the blocks,
// compiled for the CPU through the JIT API and compared with the float64
// reference within the tolerances of docs/patterns.md. Parameters are
// shrunk (as in test/spec/check_equivalence.py) so that every pattern is
// sparse and non-trivial at these sizes.
//
//===----------------------------------------------------------------------===//

#include "NonFiniteHarness.h"
#include "OracleHarness.h"

#include "sattn/KernelCache.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <atomic>
#include <iostream>
#include <thread>
#include <unistd.h>

using namespace sattn;
using namespace sattn::testing;

namespace {

class CpuMatchesOracle
    : public ::testing::TestWithParam<std::tuple<int, int, int>> {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }
};

TEST_P(CpuMatchesOracle, Case) {
  auto [patternIdx, dtypeIdx, shapeIdx] = GetParam();
  checkAgainstOracle(
      Backend::Cpu, patternIdx, kDTypes[dtypeIdx], kShapes[shapeIdx],
      [](Kernel &kernel, AttentionArgs &args) { return kernel.run(args); });
}

std::string
caseName(const ::testing::TestParamInfo<std::tuple<int, int, int>> &info) {
  auto [p, d, s] = info.param;
  return std::string(kPatterns[p].name) + "_" + dtypeName(kDTypes[d]).str() +
         "_" + kShapes[s].name;
}

INSTANTIATE_TEST_SUITE_P(
    Stock, CpuMatchesOracle,
    ::testing::Combine(::testing::Range(0, int(std::size(kPatterns))),
                       ::testing::Range(0, int(std::size(kDTypes))),
                       ::testing::Range(0, int(std::size(kShapes)))),
    caseName);

/// Head dims beyond the GPU's 32, 64 and 128 (issue 18): every stock
/// pattern on the CPU, f32 and bf16, GQA with Sq < Sk, against the oracle.
const ShapeCase kCpuHeadDimShapes[] = {
    {"gqa2_d80", 1, 4, 2, 150, 170, 80},
    {"gqa2_d96", 1, 4, 2, 150, 170, 96},
    {"gqa2_d192", 1, 4, 2, 150, 170, 192},
    {"gqa2_d256", 1, 4, 2, 150, 170, 256},
};

class CpuHeadDims : public CpuMatchesOracle {};

TEST_P(CpuHeadDims, Case) {
  auto [patternIdx, dtypeIdx, shapeIdx] = GetParam();
  checkAgainstOracle(
      Backend::Cpu, patternIdx, kDTypes[dtypeIdx], kCpuHeadDimShapes[shapeIdx],
      [](Kernel &kernel, AttentionArgs &args) { return kernel.run(args); });
}

std::string headDimCaseName(
    const ::testing::TestParamInfo<std::tuple<int, int, int>> &info) {
  auto [p, d, s] = info.param;
  return std::string(kPatterns[p].name) + "_" + dtypeName(kDTypes[d]).str() +
         "_" + kCpuHeadDimShapes[s].name;
}

INSTANTIATE_TEST_SUITE_P(
    Stock, CpuHeadDims,
    ::testing::Combine(::testing::Range(0, int(std::size(kPatterns))),
                       ::testing::Values(0, 2),
                       ::testing::Range(0, int(std::size(kCpuHeadDimShapes)))),
    headDimCaseName);

/// A new sequence length (or batch) reuses the compiled kernel: the second
/// compile() is a memory hit and the code generator does not run again.
TEST(CpuKernelReuse, NewSequenceLengthDoesNotRecompile) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  AttentionConfig config{2, 1, 32, DType::F32, 0};
  PatternSource source = PatternSource::file(sourcePath("streaming"));
  source.set("sink=4").set("window=48");
  auto first = compile(source, config);
  ASSERT_TRUE(bool(first)) << llvm::toString(first.takeError());
  uint64_t generated = codegenInvocations();
  for (int64_t seq : {17, 64, 250}) {
    auto again = compile(source, config);
    ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
    EXPECT_EQ((*again)->compileInfo().origin, CompileOrigin::MemoryCache);
    std::vector<float> q(2 * seq * 32, 0.5f), k(seq * 32, 0.25f),
        v(seq * 32, 1.0f), out(2 * seq * 32), lse(2 * seq);
    AttentionArgs args{
        TensorView::contiguous(q.data(), DType::F32, {1, 2, seq, 32}),
        TensorView::contiguous(k.data(), DType::F32, {1, 1, seq, 32}),
        TensorView::contiguous(v.data(), DType::F32, {1, 1, seq, 32}),
        TensorView::contiguous(out.data(), DType::F32, {1, 2, seq, 32}),
        TensorView::contiguous(lse.data(), DType::F32, {1, 2, seq}),
        std::nullopt,
        std::nullopt};
    llvm::Error err = (*again)->run(args);
    ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
    // Equal values: every output element is exactly v's value.
    EXPECT_FLOAT_EQ(out[0], 1.0f);
    EXPECT_FLOAT_EQ(out.back(), 1.0f);
  }
  EXPECT_EQ(codegenInvocations(), generated);
}

/// The path of `kernel`'s entry file in `cache`'s directory, found by its
/// digest (other test processes share the directory, so "the entry there"
/// may be theirs).
std::string cacheEntryOf(const KernelCache &cache, const Kernel &kernel) {
  llvm::SmallString<256> path(cache.directory());
  llvm::sys::path::append(path,
                          kernel.compileInfo().digest + cacheEntryExtension());
  return std::string(path);
}

/// Real kernels through the disk cache: cold build, disk hit after the
/// process forgets its loaded kernels, and a truncated entry detected and
/// rebuilt. KernelCache::global() reads SATTN_CACHE_DIR once, so this test
/// uses the directory the process was started with when it is set to a
/// path, and skips otherwise.
TEST(CpuKernelCache, ColdDiskHitAndTruncatedEntry) {
  auto &cache = KernelCache::global();
  if (!cache.diskEnabled())
    GTEST_SKIP() << "the disk cache is off in this process (ctest runs "
                    "this case alone with SATTN_CACHE_DIR set)";
  AttentionConfig config{2, 2, 32, DType::F32, 0};
  PatternSource source = PatternSource::file(sourcePath("power"));
  source.set("block=16").set("window=3");
  forgetLoadedKernels();
  ASSERT_FALSE(bool(cache.clearDisk()));
  auto cold = compile(source, config);
  ASSERT_TRUE(bool(cold)) << llvm::toString(cold.takeError());
  EXPECT_EQ((*cold)->compileInfo().origin, CompileOrigin::Built);
  forgetLoadedKernels();
  auto disk = compile(source, config);
  ASSERT_TRUE(bool(disk)) << llvm::toString(disk.takeError());
  EXPECT_EQ((*disk)->compileInfo().origin, CompileOrigin::DiskCache);
  std::cout << "[ timing ] cold compile " << (*cold)->compileInfo().milliseconds
            << " ms, disk hit " << (*disk)->compileInfo().milliseconds
            << " ms\n";
  // Truncate the entry on disk: it must be detected and rebuilt.
  std::string path = cacheEntryOf(cache, **cold);
  ASSERT_TRUE(llvm::sys::fs::exists(path)) << path;
  uint64_t size = 0;
  llvm::sys::fs::file_size(path, size);
  ASSERT_EQ(::truncate(path.c_str(), off_t(size / 2)), 0);
  forgetLoadedKernels();
  uint64_t corruptBefore = cache.stats().corruptEntries;
  auto rebuilt = compile(source, config);
  ASSERT_TRUE(bool(rebuilt)) << llvm::toString(rebuilt.takeError());
  EXPECT_EQ((*rebuilt)->compileInfo().origin, CompileOrigin::Built);
  EXPECT_EQ(cache.stats().corruptEntries, corruptBefore + 1);
  // The rebuilt kernel runs.
  std::vector<float> q(2 * 40 * 32, 0.5f), out(q.size()), lse(2 * 40);
  AttentionArgs args{
      TensorView::contiguous(q.data(), DType::F32, {1, 2, 40, 32}),
      TensorView::contiguous(q.data(), DType::F32, {1, 2, 40, 32}),
      TensorView::contiguous(q.data(), DType::F32, {1, 2, 40, 32}),
      TensorView::contiguous(out.data(), DType::F32, {1, 2, 40, 32}),
      TensorView::contiguous(lse.data(), DType::F32, {1, 2, 40}),
      std::nullopt,
      std::nullopt};
  llvm::Error err = (*rebuilt)->run(args);
  ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
  EXPECT_FLOAT_EQ(out[5], 0.5f);
}

/// Issue 21 D6: an entry that passes the cache's checks (right key digest,
/// valid checksum) but whose kernel does not load failed every compile()
/// for good. It is dropped and rebuilt once.
TEST(CpuKernelCache, EntryThatDoesNotLoadIsRebuilt) {
  auto &cache = KernelCache::global();
  if (!cache.diskEnabled())
    GTEST_SKIP() << "the disk cache is off in this process (ctest runs "
                    "this case alone with SATTN_CACHE_DIR set)";
  AttentionConfig config{2, 2, 32, DType::F32, 0};
  PatternSource source = PatternSource::file(sourcePath("power"));
  source.set("block=16").set("window=5");
  forgetLoadedKernels();
  ASSERT_FALSE(bool(cache.clearDisk()));
  auto cold = compile(source, config);
  ASSERT_TRUE(bool(cold)) << llvm::toString(cold.takeError());
  std::string path = cacheEntryOf(cache, **cold);
  ASSERT_TRUE(llvm::sys::fs::exists(path)) << path;
  auto valid = readCacheEntryFile(path, "");
  ASSERT_TRUE(bool(valid) && valid->has_value());
  // The same key and description, a payload that is no kernel artifact.
  ASSERT_FALSE(bool(writeCacheEntryFile(
      path, (*valid)->digest, (*valid)->description, "not a kernel artifact")));
  forgetLoadedKernels();
  cache.clearMemory();
  auto rebuilt = compile(source, config);
  ASSERT_TRUE(bool(rebuilt)) << llvm::toString(rebuilt.takeError());
  EXPECT_EQ((*rebuilt)->compileInfo().origin, CompileOrigin::Built);
  auto rewritten = readCacheEntryFile(path, "");
  ASSERT_TRUE(bool(rewritten) && rewritten->has_value());
  EXPECT_NE((*rewritten)->artifact, "not a kernel artifact");
}

/// Many threads compile (the same and different kernels) and run at once.
TEST(CpuKernelThreads, ConcurrentCompileAndRun) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([t, &failures] {
      AttentionConfig config{2, 1, 32, DType::F32, 0};
      PatternSource source = PatternSource::file(sourcePath("streaming"));
      source.set("sink=4").set("window=" + std::to_string(16 + 16 * (t % 3)));
      auto kernel = compile(source, config);
      if (!kernel) {
        llvm::consumeError(kernel.takeError());
        ++failures;
        return;
      }
      int64_t seq = 100 + 10 * t;
      std::vector<float> q(2 * seq * 32, 0.5f), k(seq * 32, 0.25f),
          v(seq * 32, float(t)), out(2 * seq * 32), lse(2 * seq);
      AttentionArgs args{
          TensorView::contiguous(q.data(), DType::F32, {1, 2, seq, 32}),
          TensorView::contiguous(k.data(), DType::F32, {1, 1, seq, 32}),
          TensorView::contiguous(v.data(), DType::F32, {1, 1, seq, 32}),
          TensorView::contiguous(out.data(), DType::F32, {1, 2, seq, 32}),
          TensorView::contiguous(lse.data(), DType::F32, {1, 2, seq}),
          std::nullopt,
          std::nullopt};
      for (int rep = 0; rep < 3; ++rep)
        if (llvm::Error err = (*kernel)->run(args)) {
          llvm::consumeError(std::move(err));
          ++failures;
        }
      // Every output element is v's (constant) value.
      if (out[7] != float(t) || out.back() != float(t))
        ++failures;
    });
  for (std::thread &th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
}

/// Errors cross the API as values, with messages.
TEST(CpuKernelErrors, BadConfigAndArgumentsAreReported) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  AttentionConfig bad{3, 2, 32, DType::F32, 0};
  auto kernel = compile(PatternSource::file(sourcePath("power")), bad);
  ASSERT_FALSE(bool(kernel));
  EXPECT_NE(llvm::toString(kernel.takeError()).find("divide heads"),
            std::string::npos);
  // The kernels' softmax relies on a positive scale.
  auto negative = compile(PatternSource::file(sourcePath("power")),
                          AttentionConfig{1, 1, 32, DType::F32, -0.3});
  ASSERT_FALSE(bool(negative));
  EXPECT_NE(llvm::toString(negative.takeError()).find("scale must be"),
            std::string::npos);
  auto missing = compile(PatternSource::file("/nonexistent.sattn"),
                         AttentionConfig{1, 1, 32, DType::F32, 0});
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("nonexistent"),
            std::string::npos);
  auto ok = compile(PatternSource::file(sourcePath("sparsek")),
                    AttentionConfig{1, 1, 32, DType::F32, 0});
  ASSERT_TRUE(bool(ok)) << llvm::toString(ok.takeError());
  std::vector<float> buf(64 * 32), outBuf(64 * 32), lse(64);
  AttentionArgs args{
      TensorView::contiguous(buf.data(), DType::F32, {1, 1, 64, 32}),
      TensorView::contiguous(buf.data(), DType::F32, {1, 1, 64, 32}),
      TensorView::contiguous(buf.data(), DType::F32, {1, 1, 64, 32}),
      TensorView::contiguous(outBuf.data(), DType::F32, {1, 1, 64, 32}),
      TensorView::contiguous(lse.data(), DType::F32, {1, 1, 64}),
      std::nullopt,
      std::nullopt};
  llvm::Error err = (*ok)->run(args);
  ASSERT_TRUE(bool(err));
  EXPECT_NE(llvm::toString(std::move(err)).find("key scores"),
            std::string::npos);
}

} // namespace

namespace {
/// An lse left out of the call is written into the workspace: the output is
/// the same, with the kernel's own workspace or the caller's.
TEST(CpuKernelLse, IsOptional) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  AttentionConfig config{2, 1, 32, DType::F32, 0};
  PatternSource source = PatternSource::file(sourcePath("sample"));
  source.set("block=16").set("alpha=0.5");
  auto kernel = compile(source, config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  std::mt19937 rng(3);
  const int64_t seq = 100;
  Tensor q(DType::F32, {1, 2, seq, 32}, &rng),
      k(DType::F32, {1, 1, seq, 32}, &rng),
      v(DType::F32, {1, 1, seq, 32}, &rng),
      withLse(DType::F32, {1, 2, seq, 32}, nullptr),
      noLse(DType::F32, {1, 2, seq, 32}, nullptr),
      lse(DType::F32, {1, 2, seq}, nullptr);
  AttentionArgs args{q.view,   k.view,       v.view,      withLse.view,
                     lse.view, std::nullopt, std::nullopt};
  llvm::Error err = (*kernel)->run(args);
  ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
  args.out = noLse.view;
  args.lse = TensorView();
  err = (*kernel)->run(args);
  ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
  EXPECT_EQ(withLse.f32, noLse.f32);
  // Room for the lse is counted, and the caller's workspace holds it.
  size_t bytes = (*kernel)->workspaceBytes(1, seq, seq);
  EXPECT_GE(bytes, size_t(2 * seq * 4));
  std::vector<char> scratch(bytes);
  Workspace workspace{scratch.data(), bytes};
  std::fill(noLse.f32.begin(), noLse.f32.end(), 0.0f);
  err = (*kernel)->run(args, &workspace);
  ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));
  EXPECT_EQ(withLse.f32, noLse.f32);
  workspace.bytes = bytes - 1;
  err = (*kernel)->run(args, &workspace);
  EXPECT_NE(llvm::toString(std::move(err)).find("is too small"),
            std::string::npos);
}
} // namespace

/// Issue 21 D3: stripes with segments = 2^36 sized its workspace by the
/// parameter (std::bad_alloc through the API) and the oracle looped over
/// every segment. Both are bounded by min(segments, Sq) now, and the result
/// equals the oracle's.
TEST(CpuKernelStripes, HugeSegmentsAreBoundedBySq) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  const PatternCase huge{"sample",
                         {"block=16", "alpha=0.8", "segments=68719476736"}};
  AttentionConfig config{4, 4, 32, DType::F32, 0};
  PatternSource source = PatternSource::file(sourcePath("sample"));
  for (const std::string &o : huge.overrides)
    source.set(o);
  auto kernel = compile(source, config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  // [Sq + N] floats and [2 Sq + 4 N + 4 + 2 nkb R] ints per head at most
  // (R <= nkb runs), plus lse.
  EXPECT_LT((*kernel)->workspaceBytes(1, 300, 300), size_t(1) << 20);
  checkAgainstOracle(
      Backend::Cpu, huge, /*seed=*/0, DType::F32, kShapes[0],
      [](Kernel &k, AttentionArgs &args) { return k.run(args); });
}

/// stripes' key-block masses go to runs of sampled rows: by (segment, query
/// block) when a segment's rows span several blocks, by query block when
/// segments outnumber the blocks. Both equal the oracle on every shape.
TEST(CpuKernelStripes, RunsBySegmentAndByQueryBlock) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  for (const PatternCase *pc : {&kStripesRunsBySegment, &kStripesRunsByBlock})
    for (const ShapeCase &shape : kShapes) {
      SCOPED_TRACE(std::string(pc->overrides[2]) + " " + shape.name);
      checkAgainstOracle(
          Backend::Cpu, *pc, /*seed=*/5, DType::F32, shape,
          [](Kernel &k, AttentionArgs &args) { return k.run(args); });
    }
}

/// Token top-k's checkpoints, heaps and lists over several chunks of keys,
/// for a k below a chunk, between chunks and above every key.
TEST(CpuKernelSparsek, ChunksAndCheckpoints) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  for (const PatternCase &pc : kSparsekChunks)
    for (const ShapeCase &shape : kLongShapes) {
      SCOPED_TRACE(pc.overrides[0] + " " + shape.name);
      checkAgainstOracle(
          Backend::Cpu, pc, /*seed=*/8, DType::F32, shape,
          [](Kernel &k, AttentionArgs &args) { return k.run(args); });
    }
}

/// tree_search scores children in chunks of 64 representative tokens
/// against at most 64 staged sampled rows: 128 sampled rows (block_q 256)
/// take two row groups per chunk, and 3-token blocks put children across
/// chunk boundaries. Both equal the oracle.
TEST(CpuKernelTreeSearch, RowGroupsAndChildrenAcrossChunks) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  for (DType dtype : {DType::F32, DType::BF16}) {
    checkAgainstOracle(
        Backend::Cpu, kTreeSearchRowGroups, /*seed=*/3, dtype, kShapes[0],
        [](Kernel &k, AttentionArgs &args) { return k.run(args); });
    checkAgainstOracle(
        Backend::Cpu, kTreeSearchOddBlocks, /*seed=*/4, dtype, kShapes[1],
        [](Kernel &k, AttentionArgs &args) { return k.run(args); });
  }
}

/// tree_search packs two 16-bit block indices per list word while every
/// index fits (floor((Sk - window - sink) / Bk) <= 2^16), one per word past
/// that; 1-token blocks reach the limit at 64K keys. Both equal the oracle,
/// and the packed lists take half the words.
TEST(CpuKernelTreeSearch, ListsPackedAndUnpacked) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  const PatternCase &hip = kTreeSearchUnitBlocks;
  const int64_t limit = kTreeSearchPackedKeys;
  for (const ShapeCase &shape :
       {kTreeSearchPackedShape, kTreeSearchUnpackedShape}) {
    SCOPED_TRACE(shape.name);
    checkAgainstOracle(
        Backend::Cpu, hip, /*seed=*/9, DType::F32, shape,
        [](Kernel &k, AttentionArgs &args) { return k.run(args); });
  }
  PatternSource source = PatternSource::file(sourcePath("hip"));
  for (const std::string &o : hip.overrides)
    source.set(o);
  auto kernel = compile(source, AttentionConfig{1, 1, 32, DType::F32, 0});
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  // 2 query blocks x 64 branches: 64 words packed, 128 not.
  size_t small = (*kernel)->workspaceBytes(1, 100, limit);
  size_t large = (*kernel)->workspaceBytes(1, 100, limit + 1);
  EXPECT_EQ(large - small, size_t(64 * 4));
}

/// permute's five stages share one workspace: it is counted once (it was
/// counted per stage, five times the layout of passes/primitives/Permute.cpp).
TEST(CpuKernelPermute, WorkspaceIsTheLayoutCountedOnce) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  const int64_t H = 2, D = 64, S = 1024;
  auto kernel = compile(PatternSource::file(sourcePath("pbs")),
                        AttentionConfig{H, 1, D, DType::F32, 0});
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  // Stock segment 256, probe 128, block 128; kListSplit = 64 lists items.
  const int64_t probe = 128, wholeBlocks = S / 256 * 2, queryBlocks = S / 128;
  const int64_t floats = H * (S + probe + wholeBlocks * (D + 64));
  const int64_t ints = H * (2 * S + 2 * probe) + H * queryBlocks +
                       H * queryBlocks * wholeBlocks;
  const size_t layout = size_t(floats + ints) * 4 + size_t(H * S) * 4; // + lse
  size_t bytes = (*kernel)->workspaceBytes(1, S, S);
  EXPECT_GE(bytes, layout);
  EXPECT_LT(bytes, layout + 256) << "alignment padding only";
}

/// Selection stages keep IEEE order on the CPU: with the reassociation and
/// fused multiply-adds the attention function may use, near-tied pooled
/// scores of permute's 2-token blocks ranked otherwise than the oracle's
/// fp32 dots (relative L2 error ~5e-3 against a 1e-4 tolerance).
TEST(CpuKernelSelection, StagesKeepTheOraclesFloatOrder) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  const PatternCase pbs{"pbs", {"segment=256", "block=2", "probe=8"}};
  const ShapeCase shape{"near_ties_8000", 1, 4, 4, 40, 8000, 64};
  // Of seeds 0-39, these two failed so (relative L2 1.2e-3 to 5.5e-3).
  for (int seed : {16, 31}) {
    SCOPED_TRACE(seed);
    checkAgainstOracle(
        Backend::Cpu, pbs, seed, DType::F32, shape,
        [](Kernel &k, AttentionArgs &args) { return k.run(args); });
  }
}

/// Issue 21 D10: NaN key scores changed sparsek's selection between the
/// kernel and the oracle (`a > b` is no ranking with NaN). The spec ranks a
/// NaN below every number, ties to the smaller index; both sides must pick
/// the same keys, so the outputs agree.
TEST(CpuKernelSparsek, NaNKeyScoresRankBelowEveryNumber) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  const PatternCase sparsek{"sparsek", {"k=64", "window=16"}};
  for (int pattern = 0; pattern < 3; ++pattern) {
    SCOPED_TRACE(pattern);
    checkAgainstOracle(
        Backend::Cpu, sparsek, /*seed=*/pattern, DType::F32, kShapes[0],
        [](Kernel &k, AttentionArgs &args) { return k.run(args); },
        [pattern](const TensorView &scores) {
          // Every third key (0), the first 200 keys (1) or all keys (2)
          // NaN; -inf and +inf among the rest.
          for (int64_t h = 0; h < scores.sizes[1]; ++h)
            for (int64_t j = 0; j < scores.sizes[2]; ++j) {
              bool nan = pattern == 0   ? j % 3 == 0
                         : pattern == 1 ? j < 200
                                        : true;
              if (nan)
                scores.store({0, h, j}, std::nanf(""));
              else if (j % 7 == 1)
                scores.store({0, h, j}, -INFINITY);
              else if (j % 11 == 2)
                scores.store({0, h, j}, INFINITY);
            }
        });
  }
}

/// NaN selection scores rank below every number (OracleHarness.h,
/// checkNaNSelection); before that rule the tree search never ended on a NaN
/// in a sampled query row.
TEST(CpuKernelSelection, NaNScoresRankBelowEveryNumber) {
  setenv("SATTN_CACHE_DIR", "off", 1);
  for (const char *name : {"sample", "hip", "pbs"})
    for (bool inQuery : {false, true})
      checkNaNSelection(
          Backend::Cpu, name, inQuery, kShapes[0],
          [](Kernel &k, AttentionArgs &args) { return k.run(args); });
}

namespace {
/// (pattern, case, dtype) for every case that applies to the pattern.
std::vector<std::tuple<int, NonFinite, int>> nonFiniteCases() {
  std::vector<std::tuple<int, NonFinite, int>> cases;
  for (int p = 0; p < int(std::size(kPatterns)); ++p)
    for (NonFinite kind :
         {NonFinite::InfInV, NonFinite::NaNInV, NonFinite::NaNInK,
          NonFinite::NaNInQ, NonFinite::InfInQ})
      if (nonFiniteApplies(kPatterns[p], kind))
        for (int d : {0, 2})
          cases.emplace_back(p, kind, d);
  return cases;
}

std::string nonFiniteCaseName(
    const ::testing::TestParamInfo<std::tuple<int, NonFinite, int>> &info) {
  auto [p, kind, d] = info.param;
  return std::string(kPatterns[p].name) + "_" + nonFiniteName(kind) + "_" +
         dtypeName(kDTypes[d]).str();
}

class CpuNonFinite
    : public ::testing::TestWithParam<std::tuple<int, NonFinite, int>> {
protected:
  static void SetUpTestSuite() { setenv("SATTN_CACHE_DIR", "off", 1); }
};

const ShapeCase kNonFiniteShape{"gqa2_ragged_190", 1, 4, 2, 190, 190, 64};

TEST_P(CpuNonFinite, Case) {
  auto [p, kind, d] = GetParam();
  checkNonFinite(
      Backend::Cpu, kPatterns[p], p, kDTypes[d], kNonFiniteShape, kind,
      [](Kernel &kernel, AttentionArgs &args) { return kernel.run(args); });
}

INSTANTIATE_TEST_SUITE_P(Stock, CpuNonFinite,
                         ::testing::ValuesIn(nonFiniteCases()),
                         nonFiniteCaseName);
} // namespace
