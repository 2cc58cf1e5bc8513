//===- CApiTest.cpp - The C API of libsattn.so, as a C caller meets it ----===//
//
// Links the shared library and uses sattn_c.h alone: patterns from text,
// compile, run with and without lse, scale, caller workspace, the reference
// on the same call, masks and pictures, versions and errors; and the
// defects of issue 21 (D5): ranks beyond 4, outputs that overlap inputs or
// themselves, released, doubly released, forged and wrong-kind handles.
//
//===----------------------------------------------------------------------===//

#include "sattn/sattn_c.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char *kLocal = "pattern local(window = 2) {\n"
                               "  block 16\n"
                               "  causal\n"
                               "  window window blocks\n"
                               "}\n";
constexpr int64_t B = 2, H = 4, G = 2, S = 50, D = 32;

/// A contiguous float32 host tensor.
struct Tensor {
  std::vector<float> values;
  sattn_tensor view{};

  explicit Tensor(std::vector<int64_t> sizes, unsigned seed = 0) {
    int64_t n = 1;
    for (int64_t size : sizes)
      n *= size;
    values.assign(n, std::nanf(""));
    if (seed) {
      std::mt19937 rng(seed);
      std::normal_distribution<float> normal;
      for (float &x : values)
        x = normal(rng);
    }
    view.data = values.data();
    view.rank = int64_t(sizes.size());
    int64_t stride = 1;
    for (size_t d = sizes.size(); d-- > 0;) {
      view.sizes[d] = sizes[d];
      view.strides[d] = stride;
      stride *= sizes[d];
    }
  }
};

std::string lastError() { return sattn_last_error(); }

class CApi : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    pattern = sattn_pattern_from_source(kLocal, "sattn", nullptr);
    ASSERT_NE(pattern, nullptr) << lastError();
    sattn_config config = cpuConfig();
    kernel = sattn_kernel_compile(pattern, &config);
    ASSERT_NE(kernel, nullptr) << lastError();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(sattn_kernel_release(kernel), SATTN_OK);
    EXPECT_EQ(sattn_pattern_release(pattern), SATTN_OK);
  }

  static sattn_config cpuConfig(double scale = 0) {
    return sattn_config{H, G, D, "f32", scale, "cpu", nullptr, 2};
  }

  sattn_run_args runArgs(const sattn_tensor *lse) {
    sattn_run_args args{};
    args.q = &q.view;
    args.k = &k.view;
    args.v = &v.view;
    args.out = &out.view;
    args.lse = lse;
    return args;
  }

  /// The reference's out and lse on the same inputs.
  void reference(Tensor &refOut, Tensor &refLse, double scale = 0) {
    sattn_run_args args = runArgs(&refLse.view);
    args.out = &refOut.view;
    sattn_config config = cpuConfig(scale);
    ASSERT_EQ(sattn_reference_run(pattern, &config, &args), SATTN_OK)
        << lastError();
  }

  static double maxDiff(const Tensor &a, const Tensor &b) {
    double diff = 0;
    for (size_t i = 0; i < a.values.size(); ++i)
      diff = std::max(diff, double(std::fabs(a.values[i] - b.values[i])));
    return diff;
  }

  /// Runs and expects SATTN_INVALID_ARGUMENT with `message` in the error.
  void expectInvalid(const sattn_run_args &args, const std::string &message) {
    EXPECT_EQ(sattn_kernel_run(kernel, &args), SATTN_INVALID_ARGUMENT);
    EXPECT_NE(lastError().find(message), std::string::npos) << lastError();
    EXPECT_EQ(sattn_last_status(), SATTN_INVALID_ARGUMENT);
  }

  static sattn_pattern *pattern;
  static sattn_kernel *kernel;
  Tensor q{{B, H, S, D}, 1}, k{{B, G, S, D}, 2}, v{{B, G, S, D}, 3},
      out{{B, H, S, D}}, lse{{B, H, S}};
};

sattn_pattern *CApi::pattern = nullptr;
sattn_kernel *CApi::kernel = nullptr;

TEST(CApiVersion, MatchesTheBuild) {
  EXPECT_STREQ(sattn_version(), SATTN_VERSION);
  EXPECT_EQ(sattn_c_api_version(), SATTN_C_API_VERSION);
}

TEST_F(CApi, PatternInfo) {
  sattn_pattern_info info;
  ASSERT_EQ(sattn_pattern_get_info(pattern, &info), SATTN_OK);
  EXPECT_STREQ(info.name, "local");
  EXPECT_STREQ(info.overrides, "");
  EXPECT_EQ(info.block, 16);
  EXPECT_FALSE(info.reads_q || info.reads_k || info.reads_key_scores ||
               info.reads_weights);
}

TEST_F(CApi, RunMatchesTheReference) {
  sattn_run_args args = runArgs(&lse.view);
  ASSERT_EQ(sattn_kernel_run(kernel, &args), SATTN_OK) << lastError();
  EXPECT_STREQ(sattn_last_error(), "");
  Tensor refOut({B, H, S, D}), refLse({B, H, S});
  reference(refOut, refLse);
  EXPECT_LE(maxDiff(out, refOut), 1e-4);
  EXPECT_LE(maxDiff(lse, refLse), 1e-3);
}

/// Two sequences packed along S of batch 0's tensors (viewed as a batch of
/// 1): the first is a prefix, so an unpacked call on that prefix must give
/// the same rows; the second's rows see only its own keys.
TEST_F(CApi, PackedSequences) {
  sattn_run_args args = runArgs(&lse.view);
  sattn_tensor q1 = q.view, k1 = k.view, v1 = v.view, out1 = out.view,
               lse1 = lse.view;
  for (sattn_tensor *t : {&q1, &k1, &v1, &out1, &lse1})
    t->sizes[0] = 1;
  args.q = &q1;
  args.k = &k1;
  args.v = &v1;
  args.out = &out1;
  args.lse = &lse1;
  const int32_t cu[] = {0, 20, S};
  sattn_packed_sequences packed{cu, cu, 3};
  ASSERT_EQ(sattn_kernel_run_packed(kernel, &args, &packed), SATTN_OK)
      << lastError();
  Tensor refOut({B, H, S, D}), refLse({B, H, S});
  sattn_tensor refOut1 = refOut.view, refLse1 = refLse.view;
  refOut1.sizes[0] = refLse1.sizes[0] = 1;
  sattn_run_args refArgs = args;
  refArgs.out = &refOut1;
  refArgs.lse = &refLse1;
  sattn_config config = cpuConfig();
  ASSERT_EQ(sattn_reference_run_packed(pattern, &config, &refArgs, &packed),
            SATTN_OK)
      << lastError();
  double diff = 0;
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < S * D; ++i) {
      size_t at = size_t(h * S * D + i);
      diff =
          std::max(diff, double(std::fabs(out.values[at] - refOut.values[at])));
    }
  EXPECT_LE(diff, 1e-4);

  // The prefix alone: its 20 rows and keys unpacked.
  sattn_tensor qp = q1, kp = k1, vp = v1, outp = refOut1, lsep = refLse1;
  qp.sizes[2] = kp.sizes[2] = vp.sizes[2] = outp.sizes[2] = lsep.sizes[2] = 20;
  sattn_run_args prefix = refArgs;
  prefix.q = &qp;
  prefix.k = &kp;
  prefix.v = &vp;
  prefix.out = &outp;
  prefix.lse = &lsep;
  ASSERT_EQ(sattn_reference_run(pattern, &config, &prefix), SATTN_OK)
      << lastError();
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < 20 * D; ++i)
      EXPECT_NEAR(out.values[size_t(h * S * D + i)],
                  refOut.values[size_t(h * S * D + i)], 1e-4);
  // Row 20 starts a sequence: it sees key 20 alone (the window holds only
  // the sequence's own keys), so its output is v's row 20.
  for (int64_t d = 0; d < D; ++d)
    EXPECT_NEAR(out.values[size_t(20 * D + d)], v.values[size_t(20 * D + d)],
                1e-5);

  sattn_packed_sequences none{cu, cu, 0};
  EXPECT_EQ(sattn_kernel_run_packed(kernel, &args, &none),
            SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("1 to 2^31 entries"), std::string::npos)
      << lastError();
  const int32_t decreasing[] = {0, 30, 20, S};
  sattn_packed_sequences bad{decreasing, decreasing, 4};
  EXPECT_EQ(sattn_kernel_run_packed(kernel, &args, &bad),
            SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("must not decrease"), std::string::npos)
      << lastError();
}

/// The document mask over run-time document ids: the kernel matches the
/// reference given the same ids, and the ids matter (all-equal ids give the
/// causal result, which differs).
TEST_F(CApi, RunTimeIntegerInputs) {
  const char *source = "pattern docs {\n  block 16\n  causal\n"
                       "  input doc: i32[b, s]\n"
                       "  keep where doc[b, q] == doc[b, k]\n}\n";
  sattn_pattern *docs = sattn_pattern_from_source(source, "sattn", nullptr);
  ASSERT_NE(docs, nullptr) << lastError();
  sattn_config config = cpuConfig();
  sattn_kernel *docKernel = sattn_kernel_compile(docs, &config);
  ASSERT_NE(docKernel, nullptr) << lastError();
  std::vector<int32_t> ids(size_t(B * S));
  for (int64_t j = 0; j < B * S; ++j)
    ids[size_t(j)] = int32_t(j % S / 13);
  const int64_t sizes[] = {B, S};
  sattn_int_input input{"doc", ids.data(), sizes, 2};
  sattn_run_args args = runArgs(&lse.view);
  ASSERT_EQ(sattn_kernel_run_with_inputs(docKernel, &args, &input, 1), SATTN_OK)
      << lastError();
  Tensor refOut({B, H, S, D}), refLse({B, H, S});
  sattn_run_args refArgs = runArgs(&refLse.view);
  refArgs.out = &refOut.view;
  ASSERT_EQ(sattn_reference_run_with_inputs(docs, &config, &refArgs, &input, 1),
            SATTN_OK)
      << lastError();
  EXPECT_LE(maxDiff(out, refOut), 1e-4);
  std::vector<int32_t> same(ids.size(), 3);
  sattn_int_input sameInput{"doc", same.data(), sizes, 2};
  ASSERT_EQ(
      sattn_reference_run_with_inputs(docs, &config, &refArgs, &sameInput, 1),
      SATTN_OK)
      << lastError();
  EXPECT_GT(maxDiff(out, refOut), 1e-2);

  // Errors: none given, a wrong size, a nameless input.
  EXPECT_EQ(sattn_kernel_run(docKernel, &args), SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("reads run-time input 'doc'"), std::string::npos)
      << lastError();
  const int64_t wrong[] = {B, S - 1};
  sattn_int_input bad{"doc", ids.data(), wrong, 2};
  EXPECT_EQ(sattn_kernel_run_with_inputs(docKernel, &args, &bad, 1),
            SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("must be i32[2, 50] (b, s)"), std::string::npos)
      << lastError();
  sattn_int_input nameless{nullptr, ids.data(), sizes, 2};
  EXPECT_EQ(sattn_kernel_run_with_inputs(docKernel, &args, &nameless, 1),
            SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("has no name"), std::string::npos) << lastError();
  EXPECT_EQ(sattn_kernel_release(docKernel), SATTN_OK);
  EXPECT_EQ(sattn_pattern_release(docs), SATTN_OK);
}

TEST_F(CApi, LseIsOptional) {
  sattn_run_args args = runArgs(nullptr);
  ASSERT_EQ(sattn_kernel_run(kernel, &args), SATTN_OK) << lastError();
  Tensor refOut({B, H, S, D}), refLse({B, H, S});
  reference(refOut, refLse);
  EXPECT_LE(maxDiff(out, refOut), 1e-4);
}

TEST_F(CApi, ScaleIsCompiledIn) {
  sattn_config config = cpuConfig(0.5);
  sattn_kernel *scaled = sattn_kernel_compile(pattern, &config);
  ASSERT_NE(scaled, nullptr) << lastError();
  sattn_run_args args = runArgs(&lse.view);
  ASSERT_EQ(sattn_kernel_run(scaled, &args), SATTN_OK) << lastError();
  Tensor refOut({B, H, S, D}), refLse({B, H, S}), plainOut({B, H, S, D});
  reference(refOut, refLse, 0.5);
  EXPECT_LE(maxDiff(out, refOut), 1e-4);
  reference(plainOut, refLse);
  EXPECT_GT(maxDiff(plainOut, refOut), 1e-2) << "the scale changed nothing";
  EXPECT_EQ(sattn_kernel_release(scaled), SATTN_OK);
}

TEST_F(CApi, BadScaleIsAnInvalidArgument) {
  sattn_config config = cpuConfig(-1);
  EXPECT_EQ(sattn_kernel_compile(pattern, &config), nullptr);
  EXPECT_EQ(sattn_last_status(), SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("scale must be"), std::string::npos);
}

TEST_F(CApi, CallerWorkspace) {
  size_t bytes = 0;
  ASSERT_EQ(sattn_kernel_workspace_bytes(kernel, B, S, S, &bytes), SATTN_OK);
  // At least the lse the call below does not ask for.
  EXPECT_GE(bytes, size_t(B * H * S * 4));
  std::vector<char> workspace(bytes);
  sattn_run_args args = runArgs(nullptr);
  args.workspace = workspace.data();
  args.workspace_bytes = bytes;
  ASSERT_EQ(sattn_kernel_run(kernel, &args), SATTN_OK) << lastError();
  args.workspace_bytes = bytes - 1;
  expectInvalid(args, "is too small");
}

TEST_F(CApi, Timings) {
  double selection = -1, attention = -1;
  sattn_run_args args = runArgs(&lse.view);
  args.selection_ms = &selection;
  args.attention_ms = &attention;
  ASSERT_EQ(sattn_kernel_run(kernel, &args), SATTN_OK) << lastError();
  EXPECT_GE(selection, 0);
  EXPECT_GT(attention, 0);
}

TEST_F(CApi, KernelInfo) {
  sattn_kernel_info info;
  ASSERT_EQ(sattn_kernel_get_info(kernel, &info), SATTN_OK);
  EXPECT_GE(info.origin, 0);
  EXPECT_LE(info.origin, 2);
  EXPECT_EQ(std::string(info.digest).size(), 32u);
  // A second compile is served from memory.
  sattn_config config = cpuConfig();
  sattn_kernel *again = sattn_kernel_compile(pattern, &config);
  ASSERT_EQ(sattn_kernel_get_info(again, &info), SATTN_OK);
  EXPECT_EQ(info.origin, 1);
  EXPECT_EQ(sattn_kernel_release(again), SATTN_OK);
}

// D5: ranks beyond the struct's four dims were read as rank 4.
TEST_F(CApi, RanksBeyondFourAreRefused) {
  for (int64_t rank :
       {int64_t(5), int64_t(1000000), INT64_MAX, int64_t(-1), int64_t(0)}) {
    sattn_tensor bad = q.view;
    bad.rank = rank;
    sattn_run_args args = runArgs(&lse.view);
    args.q = &bad;
    expectInvalid(args, "q has rank " + std::to_string(rank) +
                            "; a sattn_tensor holds 1 to 4 dims");
  }
}

// D5: overlaps other than equal pointers were accepted.
TEST_F(CApi, OutOneElementIntoQ) {
  Tensor both({2 * B * H * S * D}, 4);
  sattn_tensor qView = q.view, outView = out.view;
  qView.data = both.values.data();
  outView.data = both.values.data() + 1;
  sattn_run_args args = runArgs(&lse.view);
  args.q = &qView;
  args.out = &outView;
  expectInvalid(args, "out overlaps q in memory");
}

TEST_F(CApi, LseInsideOut) {
  sattn_tensor lseView = lse.view;
  lseView.data = out.values.data();
  sattn_run_args args = runArgs(&lseView);
  expectInvalid(args, "out overlaps lse in memory");
}

TEST_F(CApi, LseInsideK) {
  sattn_tensor lseView = lse.view;
  lseView.data = k.values.data();
  sattn_run_args args = runArgs(&lseView);
  expectInvalid(args, "lse overlaps k in memory");
}

TEST_F(CApi, ZeroStrideOut) {
  sattn_tensor outView = out.view;
  outView.strides[2] = 0;
  sattn_run_args args = runArgs(&lse.view);
  args.out = &outView;
  expectInvalid(args, "that give several elements the same memory");
}

TEST_F(CApi, MissingTensors) {
  sattn_run_args args = runArgs(&lse.view);
  args.v = nullptr;
  expectInvalid(args, "q, k, v and out are required");
  EXPECT_EQ(sattn_kernel_run(kernel, nullptr), SATTN_INVALID_ARGUMENT);
}

// D5: run after release, double release and forged handles crashed.
TEST_F(CApi, ReleasedKernel) {
  sattn_config config = cpuConfig();
  sattn_kernel *doomed = sattn_kernel_compile(pattern, &config);
  ASSERT_NE(doomed, nullptr) << lastError();
  ASSERT_EQ(sattn_kernel_release(doomed), SATTN_OK);
  sattn_run_args args = runArgs(&lse.view);
  EXPECT_EQ(sattn_kernel_run(doomed, &args), SATTN_INVALID_HANDLE);
  EXPECT_NE(lastError().find("is not a live kernel handle"), std::string::npos)
      << lastError();
  EXPECT_EQ(sattn_kernel_release(doomed), SATTN_INVALID_HANDLE);
  size_t bytes;
  EXPECT_EQ(sattn_kernel_workspace_bytes(doomed, 1, 1, 1, &bytes),
            SATTN_INVALID_HANDLE);
}

TEST_F(CApi, ForgedHandles) {
  int onTheStack = 0;
  sattn_run_args args = runArgs(&lse.view);
  for (void *forged :
       {static_cast<void *>(&onTheStack), reinterpret_cast<void *>(0x1234),
        reinterpret_cast<void *>(~uintptr_t(0)), static_cast<void *>(&args)}) {
    EXPECT_EQ(sattn_kernel_run(static_cast<sattn_kernel *>(forged), &args),
              SATTN_INVALID_HANDLE);
    EXPECT_EQ(sattn_kernel_release(static_cast<sattn_kernel *>(forged)),
              SATTN_INVALID_HANDLE);
    EXPECT_EQ(sattn_pattern_release(static_cast<sattn_pattern *>(forged)),
              SATTN_INVALID_HANDLE);
  }
  EXPECT_EQ(sattn_kernel_run(nullptr, &args), SATTN_INVALID_HANDLE);
  EXPECT_EQ(lastError(), "sattn_kernel_run: the kernel is NULL");
}

TEST_F(CApi, WrongKindOfHandle) {
  sattn_run_args args = runArgs(&lse.view);
  EXPECT_EQ(sattn_kernel_run(reinterpret_cast<sattn_kernel *>(pattern), &args),
            SATTN_INVALID_HANDLE);
  EXPECT_NE(lastError().find("is a pattern, not a kernel"), std::string::npos)
      << lastError();
}

TEST_F(CApi, ReleaseWhileOtherThreadsRun) {
  sattn_config config = cpuConfig();
  sattn_kernel *shared = sattn_kernel_compile(pattern, &config);
  ASSERT_NE(shared, nullptr) << lastError();
  std::atomic<int> ok{0}, released{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Tensor tq({B, H, S, D}, 10 + t), tk({B, G, S, D}, 20 + t),
          tv({B, G, S, D}, 30 + t), tout({B, H, S, D});
      sattn_run_args args{};
      args.q = &tq.view;
      args.k = &tk.view;
      args.v = &tv.view;
      args.out = &tout.view;
      for (int i = 0; i < 20; ++i) {
        sattn_status s = sattn_kernel_run(shared, &args);
        (s == SATTN_OK ? ok : s == SATTN_INVALID_HANDLE ? released : other)++;
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(sattn_kernel_release(shared), SATTN_OK);
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(ok + released, 80);
  EXPECT_EQ(other, 0);
}

TEST(CApiPatterns, ErrorsHaveMessages) {
  EXPECT_EQ(sattn_pattern_from_source("pattern p {", "sattn", nullptr),
            nullptr);
  EXPECT_EQ(sattn_last_status(), SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError(), "");
  EXPECT_EQ(sattn_pattern_from_file("/no/such/file.sattn", nullptr), nullptr);
  EXPECT_NE(lastError().find("/no/such/file.sattn"), std::string::npos)
      << lastError();
  EXPECT_EQ(sattn_pattern_from_source(kLocal, "python", nullptr), nullptr);
  EXPECT_EQ(lastError(), "sattn_pattern_from_source: language must be sattn "
                         "or mlir, got 'python'");
}

TEST(CApiPatterns, Bind) {
  sattn_pattern *pattern = sattn_pattern_from_source(kLocal, nullptr, nullptr);
  ASSERT_NE(pattern, nullptr) << lastError();
  sattn_pattern *wide = sattn_pattern_bind(pattern, "window=3");
  ASSERT_NE(wide, nullptr) << lastError();
  sattn_pattern_info info;
  ASSERT_EQ(sattn_pattern_get_info(wide, &info), SATTN_OK);
  EXPECT_STREQ(info.overrides, "window=3");
  EXPECT_EQ(sattn_pattern_bind(pattern, "nonsense=1"), nullptr);
  EXPECT_EQ(sattn_last_status(), SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("nonsense"), std::string::npos) << lastError();
  EXPECT_EQ(sattn_pattern_bind(pattern, "window"), nullptr);
  EXPECT_NE(lastError().find("'window' is not name=value"), std::string::npos)
      << lastError();
  EXPECT_EQ(sattn_pattern_release(wide), SATTN_OK);
  EXPECT_EQ(sattn_pattern_release(pattern), SATTN_OK);
  EXPECT_EQ(sattn_pattern_release(pattern), SATTN_INVALID_HANDLE);
}

TEST(CApiPatterns, MaskOfAWindow) {
  sattn_pattern *pattern = sattn_pattern_from_source(kLocal, nullptr, nullptr);
  ASSERT_NE(pattern, nullptr) << lastError();
  sattn_shape shape{1, 1, 1, 40, 40, 32};
  std::vector<uint8_t> mask(40 * 40, 7);
  ASSERT_EQ(
      sattn_pattern_mask(pattern, &shape, nullptr, mask.data(), mask.size()),
      SATTN_OK)
      << lastError();
  // Causal, within the diagonal block and the one before it (blocks of 16).
  for (int i = 0; i < 40; ++i)
    for (int j = 0; j < 40; ++j)
      EXPECT_EQ(mask[i * 40 + j], j <= i && j / 16 >= i / 16 - 1)
          << i << ", " << j;
  EXPECT_EQ(sattn_pattern_mask(pattern, &shape, nullptr, mask.data(), 10),
            SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("has 1600"), std::string::npos) << lastError();
  EXPECT_EQ(sattn_pattern_release(pattern), SATTN_OK);
}

TEST(CApiPatterns, DynamicMaskNeedsInputs) {
  sattn_pattern *pattern =
      sattn_pattern_from_source("pattern top(k = 8) {\n  block 16\n  causal\n"
                                "  topk k = k tokens by key_score\n}\n",
                                nullptr, nullptr);
  ASSERT_NE(pattern, nullptr) << lastError();
  sattn_pattern_info info;
  ASSERT_EQ(sattn_pattern_get_info(pattern, &info), SATTN_OK);
  EXPECT_TRUE(info.reads_key_scores);
  sattn_shape shape{1, 1, 1, 32, 32, 32};
  std::vector<uint8_t> mask(32 * 32);
  EXPECT_EQ(
      sattn_pattern_mask(pattern, &shape, nullptr, mask.data(), mask.size()),
      SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("reads key scores"), std::string::npos)
      << lastError();
  std::vector<float> scores(32);
  for (int j = 0; j < 32; ++j)
    scores[j] = float(j % 5);
  sattn_inputs inputs{nullptr, nullptr, scores.data(), nullptr};
  EXPECT_EQ(
      sattn_pattern_mask(pattern, &shape, &inputs, mask.data(), mask.size()),
      SATTN_OK)
      << lastError();
  EXPECT_EQ(sattn_pattern_release(pattern), SATTN_OK);
}

TEST(CApiPatterns, Picture) {
  sattn_pattern *pattern = sattn_pattern_from_source(kLocal, nullptr, nullptr);
  ASSERT_NE(pattern, nullptr) << lastError();
  sattn_shape shape{1, 2, 2, 256, 256, 32};
  std::string path = ::testing::TempDir() + "/capi-picture.png";
  ASSERT_EQ(sattn_pattern_picture(pattern, &shape, nullptr, 0, 1, path.c_str()),
            SATTN_OK)
      << lastError();
  std::ifstream file(path, std::ios::binary);
  char magic[8] = {};
  file.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  EXPECT_EQ(sattn_pattern_picture(pattern, &shape, nullptr, 0, 2, path.c_str()),
            SATTN_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("head 2"), std::string::npos) << lastError();
  std::remove(path.c_str());
  EXPECT_EQ(sattn_pattern_release(pattern), SATTN_OK);
}

TEST(CApiCache, FollowsTheEnvironment) {
  const char *saved = std::getenv("SATTN_CACHE_DIR");
  std::string restore = saved ? saved : "";
  setenv("SATTN_CACHE_DIR", "off", 1);
  EXPECT_EQ(sattn_cache_dir(), nullptr);
  setenv("SATTN_CACHE_DIR", "/tmp/sattn-capi-cache", 1);
  EXPECT_STREQ(sattn_cache_dir(), "/tmp/sattn-capi-cache");
  if (saved)
    setenv("SATTN_CACHE_DIR", restore.c_str(), 1);
  else
    unsetenv("SATTN_CACHE_DIR");
}

} // namespace
