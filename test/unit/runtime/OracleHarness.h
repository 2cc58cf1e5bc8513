//===- OracleHarness.h - Compiled kernels against the oracle ----*- C++ -*-===//
//
// Shared by the CPU and CUDA backend tests: the stock patterns with shrunk
// parameters (as test/spec/check_equivalence.py), random inputs rounded to
// the dtype, the float64 reference on the same values, and the tolerances
// of docs/patterns.md.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_TEST_ORACLEHARNESS_H
#define SATTN_TEST_ORACLEHARNESS_H

#include "sattn/Compiler.h"
#include "sattn/ReferenceBackend.h"
#include "sattn/ReferenceCompare.h"

#include "patterns/PatternLoader.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <random>

namespace sattn::testing {

struct PatternCase {
  const char *name;
  std::vector<std::string> overrides;
};

inline const PatternCase kPatterns[] = {
    {"power", {"block=16", "window=2", "sink=16"}},
    {"streaming", {"sink=8", "window=64"}},
    {"sample", {"block=16", "alpha=0.8"}},
    {"hip", {"block_q=32", "k=64", "sink=8", "window=32"}},
    {"sparsek", {"k=64", "window=64"}},
    {"pbs", {"segment=64", "probe=32", "block=16"}},
};

/// tree_search's chunked scoring (CpuKernelTreeSearch, CudaTreeSearch):
/// 128 sampled rows (block_q 256), two row groups per chunk of
/// representative tokens; 3-token blocks, children across chunk boundaries.
inline const PatternCase kTreeSearchRowGroups{
    "hip", {"block_q=256", "q_stride=2", "k=64", "sink=8", "window=32"}};
inline const PatternCase kTreeSearchOddBlocks{
    "hip", {"block_q=32", "block_k=3", "k=96", "sink=8", "window=32"}};

/// stripes' runs (CpuKernelStripes, CudaStripes): 40 sampled rows of 16-row
/// blocks span up to four query blocks per segment (runs by segment); 100
/// segments of 2 rows outnumber the query blocks (runs by query block).
inline const PatternCase kStripesRunsBySegment{
    "sample", {"block=16", "alpha=0.8", "segments=3", "rows=40"}};
inline const PatternCase kStripesRunsByBlock{
    "sample", {"block=16", "alpha=0.8", "segments=100", "rows=2"}};

/// Token top-k over several chunks of TopkTokens.cpp's kChunkKeys (1024)
/// keys (CpuKernelSparsek, CudaSparsek): a k below one chunk (the heap
/// holds every kept key), a k between chunks (checkpoints first take all,
/// then the heap holds the 1025 worst kept keys) and a k above the keys.
inline const PatternCase kSparsekChunks[] = {
    {"sparsek", {"k=64", "window=64"}},
    {"sparsek", {"k=1500", "window=32"}},
    {"sparsek", {"k=5000", "window=16"}},
};

/// tree_search's lists (CpuKernelTreeSearch, CudaTreeSearch): with 1-token
/// blocks, 2^16 + window + sink keys are the most whose block indices pack
/// two to a word (kTreeSearchPackedShape), one more key is past it.
inline const PatternCase kTreeSearchUnitBlocks{
    "hip", {"block_q=64", "block_k=1", "k=64", "sink=8", "window=32"}};
constexpr int64_t kTreeSearchPackedKeys = (int64_t(1) << 16) + 32 + 8;

struct ShapeCase {
  const char *name;
  int64_t batch, heads, kvHeads, seqQ, seqK, headDim;
  /// Extra elements after each Q, K and V row (NaN-filled): strides that
  /// are not multiples of the head dim, or of a 16-byte vector.
  int64_t rowPad = 0;
};

inline const ShapeCase kShapes[] = {
    {"mha_ragged_300", 1, 4, 4, 300, 300, 32},
    {"gqa4_sq_lt_sk", 2, 4, 1, 200, 333, 64},
    {"gqa4_multiple_256", 1, 4, 1, 256, 256, 32},
    {"mha_decode", 1, 2, 2, 3, 290, 64},
    {"mha_padded_kv_150", 1, 2, 2, 150, 170, 32, /*rowPad=*/3},
};

/// Sequences past three chunks of token top-k keys.
inline const ShapeCase kLongShapes[] = {
    {"gqa2_3500", 1, 4, 2, 3500, 3500, 32},
    {"mha_sq_lt_sk_3300", 1, 2, 2, 700, 3300, 32},
};

inline const ShapeCase kTreeSearchPackedShape{
    "packed", 1, 1, 1, 100, kTreeSearchPackedKeys, 32};
inline const ShapeCase kTreeSearchUnpackedShape{
    "unpacked", 1, 1, 1, 100, kTreeSearchPackedKeys + 1, 32};

inline const DType kDTypes[] = {DType::F32, DType::F16, DType::BF16};

/// The stock case named `name` in kPatterns, or null.
inline const PatternCase *stockCase(llvm::StringRef name) {
  for (const PatternCase &p : kPatterns)
    if (name == p.name)
      return &p;
  return nullptr;
}

/// Pattern files under the source tree ($SATTN_SOURCE_DIR overrides the
/// build's path, for running the binaries elsewhere).
inline std::string sourcePath(const char *pattern) {
  const char *root = std::getenv("SATTN_SOURCE_DIR");
  return std::string(root ? root : SATTN_SOURCE_DIR) + "/patterns/library/" +
         pattern + ".sattn";
}

/// Normal random values rounded to `dtype`, stored in it. With `rowPad`,
/// each innermost row is followed by `rowPad` NaN elements that the view
/// skips.
struct Tensor {
  std::vector<float> f32;
  std::vector<uint16_t> narrow;
  DType dtype;
  TensorView view;

  Tensor(DType dtype, std::vector<int64_t> sizes, std::mt19937 *rng,
         int64_t rowPad = 0)
      : dtype(dtype) {
    std::vector<int64_t> stored = sizes;
    stored.back() += rowPad;
    int64_t n = 1;
    for (int64_t s : stored)
      n *= s;
    f32.resize(n);
    narrow.resize(dtype == DType::F32 ? 0 : n);
    std::normal_distribution<float> normal;
    void *data = dtype == DType::F32 ? static_cast<void *>(f32.data())
                                     : static_cast<void *>(narrow.data());
    // NaN everywhere first: padding, and outputs a kernel fails to write.
    TensorView whole = TensorView::contiguous(data, dtype, {n});
    for (int64_t e = 0; e < n; ++e)
      whole.store({e}, std::nanf(""));
    view = TensorView::contiguous(data, dtype, stored);
    view.sizes.back() = sizes.back();
    if (rng) {
      int64_t logical = n / stored.back() * sizes.back();
      std::vector<int64_t> index(sizes.size(), 0);
      for (int64_t e = 0; e < logical; ++e) {
        int64_t rest = e;
        for (size_t d = sizes.size(); d-- > 0;) {
          index[d] = rest % sizes[d];
          rest /= sizes[d];
        }
        view.store(index, normal(*rng));
      }
    }
  }
};

/// Compares a kernel's out (in `dtype`) and lse with the float32
/// reference through the one comparison of every check
/// (sattn/ReferenceCompare.h): NaN/Inf where the reference has them, the
/// tolerances of docs/patterns.md.
inline void expectMatchesReference(const Tensor &out, const Tensor &lse,
                                   const Tensor &refOut, const Tensor &refLse,
                                   DType dtype) {
  ReferenceComparison c =
      compareWithReference(out.view, refOut.view, lse.view, refLse.view, dtype);
  EXPECT_TRUE(c.ok()) << c.describe();
}

/// A copy of `t`'s logical elements as float32 (the dtype-rounded values).
inline std::vector<float> asFloat32(const Tensor &t) {
  const TensorView &view = t.view;
  int64_t n = 1;
  for (int64_t s : view.sizes)
    n *= s;
  std::vector<float> out(n);
  std::vector<int64_t> index(view.rank(), 0);
  for (int64_t e = 0; e < n; ++e) {
    int64_t rest = e;
    for (int64_t d = view.rank(); d-- > 0;) {
      index[d] = rest % view.sizes[d];
      rest /= view.sizes[d];
    }
    out[e] = float(view.load(index));
  }
  return out;
}

/// `pattern` (stock file, its overrides) compiled for `backend`.
inline llvm::Expected<std::shared_ptr<Kernel>>
compileStock(Backend backend, const PatternCase &pattern,
             const AttentionConfig &config) {
  PatternSource source = PatternSource::file(sourcePath(pattern.name));
  for (const std::string &o : pattern.overrides)
    source.set(o);
  CompileOptions options;
  options.backend = backend;
  return compile(source, config, options);
}

/// `request` loaded and bound in `context` (its dialects registered).
inline llvm::Error loadRequestedPattern(const PatternRequest &request,
                                        mlir::MLIRContext &context,
                                        BoundPattern &bound) {
  mlir::DialectRegistry registry;
  registerPatternDialects(registry);
  context.appendDialectRegistry(registry);
  return loadBoundPattern(request, context, bound);
}

/// `pattern` (stock file, its overrides) loaded and bound in `context`.
inline llvm::Error loadStockPattern(const PatternCase &pattern,
                                    mlir::MLIRContext &context,
                                    BoundPattern &bound) {
  PatternRequest request;
  request.file = sourcePath(pattern.name);
  request.overrides = pattern.overrides;
  return loadRequestedPattern(request, context, bound);
}

/// The pattern of DSL source `text` loaded and bound in `context`; `name`
/// names it in messages.
inline llvm::Error loadTextPattern(const std::string &text,
                                   const std::string &name,
                                   mlir::MLIRContext &context,
                                   BoundPattern &bound) {
  PatternRequest request;
  request.text = text;
  request.textName = name;
  return loadRequestedPattern(request, context, bound);
}

/// Random inputs of `shape` rounded to `dtype` (key scores too, used by
/// sparsek), NaN-filled outputs, the views of one call, and the float32
/// reference of a pattern on the same rounded inputs.
struct OracleCase {
  /// Inputs drawn from a generator seeded with `rngSeed`, in the order q, k,
  /// v, key scores, weights.
  OracleCase(uint32_t rngSeed, DType dtype, const ShapeCase &shape)
      : rng(rngSeed),
        q(dtype, {shape.batch, shape.heads, shape.seqQ, shape.headDim}, &rng,
          shape.rowPad),
        k(dtype, {shape.batch, shape.kvHeads, shape.seqK, shape.headDim}, &rng,
          shape.rowPad),
        v(dtype, {shape.batch, shape.kvHeads, shape.seqK, shape.headDim}, &rng,
          shape.rowPad),
        scores(DType::F32, {shape.batch, shape.kvHeads, shape.seqK}, &rng),
        weights(DType::F32, {shape.kvHeads, shape.headDim}, &rng),
        out(dtype, {shape.batch, shape.heads, shape.seqQ, shape.headDim},
            nullptr),
        lse(DType::F32, {shape.batch, shape.heads, shape.seqQ}, nullptr),
        refOut(DType::F32,
               {shape.batch, shape.heads, shape.seqQ, shape.headDim}, nullptr),
        refLse(DType::F32, {shape.batch, shape.heads, shape.seqQ}, nullptr),
        config{shape.heads, shape.kvHeads, shape.headDim, dtype, 0},
        args{q.view,   k.view,       v.view,      out.view,
             lse.view, std::nullopt, std::nullopt} {}

  /// The inputs of a stock pattern's case (`seed` varies them by pattern);
  /// sparsek's call takes the key scores.
  OracleCase(const PatternCase &pattern, int seed, DType dtype,
             const ShapeCase &shape,
             std::function<void(const TensorView &)> editKeyScores = {})
      : OracleCase(1234 + 17 * seed + 5 * shape.seqK + shape.headDim, dtype,
                   shape) {
    if (editKeyScores)
      editKeyScores(scores.view);
    if (std::string(pattern.name) == "sparsek")
      args.keyScores = scores.view;
  }

  OracleCase(const OracleCase &) = delete; // args views its members
  OracleCase &operator=(const OracleCase &) = delete;

  /// Fills refOut and refLse with `bound`'s reference: it reads float32
  /// copies of the dtype-rounded inputs.
  llvm::Error computeReference(const BoundPattern &bound) {
    auto asF32 = [](const Tensor &t) {
      Tensor copy(DType::F32, {t.view.sizes.begin(), t.view.sizes.end()},
                  nullptr);
      copy.f32 = asFloat32(t);
      copy.view.data = copy.f32.data();
      return copy;
    };
    Tensor q32 = asF32(q), k32 = asF32(k), v32 = asF32(v);
    AttentionConfig refConfig = config;
    refConfig.dtype = DType::F32;
    AttentionArgs refArgs = args;
    refArgs.q = q32.view;
    refArgs.k = k32.view;
    refArgs.v = v32.view;
    refArgs.out = refOut.view;
    refArgs.lse = refLse.view;
    return runReferenceAttention(bound.spec, refConfig, refArgs);
  }

  /// The same for a stock pattern.
  llvm::Error computeReference(const PatternCase &pattern) {
    mlir::MLIRContext context;
    BoundPattern bound;
    if (llvm::Error err = loadStockPattern(pattern, context, bound))
      return err;
    return computeReference(bound);
  }

  /// Expects out and lse to match the reference.
  void expectMatches() const {
    expectMatchesReference(out, lse, refOut, refLse, config.dtype);
  }

  std::mt19937 rng;
  Tensor q, k, v, scores, weights, out, lse, refOut, refLse;
  AttentionConfig config;
  AttentionArgs args;
};

/// Compiles `pattern` for `backend`, runs it on random inputs of `shape`
/// and compares with the oracle. `runOn` runs the kernel (the CUDA test
/// copies the views to the device and back).
inline void
checkAgainstOracle(Backend backend, const PatternCase &pattern, int seed,
                   DType dtype, const ShapeCase &shape,
                   std::function<llvm::Error(Kernel &, AttentionArgs &)> runOn,
                   std::function<void(const TensorView &)> editKeyScores = {}) {
  OracleCase c(pattern, seed, dtype, shape, std::move(editKeyScores));
  auto kernel = compileStock(backend, pattern, c.config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  llvm::Error runErr = runOn(**kernel, c.args);
  ASSERT_FALSE(bool(runErr)) << llvm::toString(std::move(runErr));
  llvm::Error refErr = c.computeReference(pattern);
  ASSERT_FALSE(bool(refErr)) << llvm::toString(std::move(refErr));
  c.expectMatches();
}

/// A NaN in keys (every 16th key, so that some lie in every search round's
/// scored blocks) or in one query row (one hip samples and pbs probes) makes
/// the selection scores it feeds NaN; every ranking puts a NaN below every
/// number (docs/patterns.md), in the kernels as in the oracle, so both keep
/// the same keys and the outputs agree, NaN rows included.
inline void
checkNaNSelection(Backend backend, const char *name, bool inQuery,
                  const ShapeCase &shape,
                  std::function<llvm::Error(Kernel &, AttentionArgs &)> runOn) {
  const PatternCase *pattern = stockCase(name);
  ASSERT_NE(pattern, nullptr) << name;
  SCOPED_TRACE(std::string(name) + (inQuery ? ", NaN in q" : ", NaN in k"));
  OracleCase c(*pattern, 7, DType::F32, shape);
  if (inQuery) {
    c.q.view.store({0, 0, shape.seqQ - 4, 0}, std::nanf(""));
  } else {
    for (int64_t j = 5; j < shape.seqK; j += 16)
      c.k.view.store({0, 0, j, 1}, std::nanf(""));
  }
  auto kernel = compileStock(backend, *pattern, c.config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  llvm::Error runErr = runOn(**kernel, c.args);
  ASSERT_FALSE(bool(runErr)) << llvm::toString(std::move(runErr));
  llvm::Error refErr = c.computeReference(*pattern);
  ASSERT_FALSE(bool(refErr)) << llvm::toString(std::move(refErr));
  c.expectMatches();
}

/// The stock pattern `patternIdx` of kPatterns.
inline void checkAgainstOracle(
    Backend backend, int patternIdx, DType dtype, const ShapeCase &shape,
    std::function<llvm::Error(Kernel &, AttentionArgs &)> runOn) {
  checkAgainstOracle(backend, kPatterns[patternIdx], patternIdx, dtype, shape,
                     std::move(runOn));
}

} // namespace sattn::testing

#endif // SATTN_TEST_ORACLEHARNESS_H
