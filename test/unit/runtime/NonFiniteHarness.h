//===- NonFiniteHarness.h - Kernels on inputs with a NaN or Inf -*- C++ -*-===//
//
// docs/patterns.md, "Non-finite inputs": keys outside A(i) never affect row
// i, whatever their values; inside A(i) NaN and Inf propagate as the
// definition's arithmetic would, and no kernel turns them into 0 or -inf.
// Each case runs a kernel twice, on random inputs and on the same inputs
// with one value made non-finite, and checks every output element against
// the oracle's A(i): rows that cannot see the value are bit-identical to
// the first run, rows that can are non-finite where the definition says.
// Shared by the CPU and CUDA backend tests.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_TEST_NONFINITEHARNESS_H
#define SATTN_TEST_NONFINITEHARNESS_H

#include "OracleHarness.h"

#include "sattn/Oracle.h"

#include <cstring>
#include <limits>

namespace sattn::testing {

enum class NonFinite { InfInV, NaNInV, NaNInK, NaNInQ, InfInQ };

inline const char *nonFiniteName(NonFinite kind) {
  switch (kind) {
  case NonFinite::InfInV:
    return "inf_in_v";
  case NonFinite::NaNInV:
    return "nan_in_v";
  case NonFinite::NaNInK:
    return "nan_in_k";
  case NonFinite::NaNInQ:
    return "nan_in_q";
  case NonFinite::InfInQ:
    return "inf_in_q";
  }
  return "?";
}

/// Whether the case's value feeds `pattern`'s selection: a NaN in q or k
/// changes which keys a dynamic pattern selects (NaN ranks below every
/// number), so those cases run on patterns whose selection reads neither.
inline bool nonFiniteApplies(const PatternCase &pattern, NonFinite kind) {
  if (kind == NonFinite::InfInV || kind == NonFinite::NaNInV)
    return true;
  std::string name = pattern.name;
  return name == "power" || name == "streaming" || name == "sparsek";
}

/// Runs `kind` for one pattern, dtype and shape (no K/V row padding).
inline void
checkNonFinite(Backend backend, const PatternCase &pattern, int seed,
               DType dtype, const ShapeCase &shape, NonFinite kind,
               std::function<llvm::Error(Kernel &, AttentionArgs &)> runOn) {
  const int64_t B = shape.batch, H = shape.heads, G = shape.kvHeads,
                Sq = shape.seqQ, Sk = shape.seqK, D = shape.headDim;
  std::mt19937 rng(4321 + 17 * seed + 5 * Sk + D);
  Tensor q(dtype, {B, H, Sq, D}, &rng), k(dtype, {B, G, Sk, D}, &rng),
      v(dtype, {B, G, Sk, D}, &rng), scores(DType::F32, {B, G, Sk}, &rng);
  Tensor out0(dtype, {B, H, Sq, D}, nullptr),
      lse0(DType::F32, {B, H, Sq}, nullptr);
  Tensor out1(dtype, {B, H, Sq, D}, nullptr),
      lse1(DType::F32, {B, H, Sq}, nullptr);

  AttentionConfig config{H, G, D, dtype, 0};
  auto kernel = compileStock(backend, pattern, config);
  ASSERT_TRUE(bool(kernel)) << llvm::toString(kernel.takeError());
  bool readsScores = std::string(pattern.name) == "sparsek";
  auto run = [&](Tensor &out, Tensor &lse) {
    AttentionArgs args{q.view,   k.view,       v.view,      out.view,
                       lse.view, std::nullopt, std::nullopt};
    if (readsScores)
      args.keyScores = scores.view;
    return runOn(**kernel, args);
  };
  llvm::Error err0 = run(out0, lse0);
  ASSERT_FALSE(bool(err0)) << llvm::toString(std::move(err0));

  // The value: batch 0, KV head 0 (query heads [0, H / G)), key jBad,
  // component dBad; or query row iBad of head 0.
  const int64_t jBad = Sk / 3, dBad = 1, iBad = Sq - 1 - Sq / 4;
  const double inf = std::numeric_limits<double>::infinity();
  switch (kind) {
  case NonFinite::InfInV:
    v.view.store({0, 0, jBad, dBad}, inf);
    break;
  case NonFinite::NaNInV:
    v.view.store({0, 0, jBad, dBad}, std::nan(""));
    break;
  case NonFinite::NaNInK:
    k.view.store({0, 0, jBad, 0}, std::nan(""));
    break;
  case NonFinite::NaNInQ:
    q.view.store({0, 0, iBad, 0}, std::nan(""));
    break;
  case NonFinite::InfInQ:
    q.view.store({0, 0, iBad, 0}, inf);
    break;
  }
  llvm::Error err1 = run(out1, lse1);
  ASSERT_FALSE(bool(err1)) << llvm::toString(std::move(err1));

  // A(i) of the inputs the second run saw.
  mlir::MLIRContext context;
  BoundPattern bound;
  llvm::Error loadErr = loadStockPattern(pattern, context, bound);
  ASSERT_FALSE(bool(loadErr)) << llvm::toString(std::move(loadErr));
  std::vector<float> q32 = asFloat32(q), k32 = asFloat32(k);
  OracleInputs inputs;
  inputs.q = q32.data();
  inputs.k = k32.data();
  inputs.keyScores = scores.f32.data();
  AttentionShape attnShape{B, H, G, Sq, Sk, D, 0};
  auto oracle = MaskOracle::create(bound.spec, attnShape, inputs);
  ASSERT_TRUE(bool(oracle)) << llvm::toString(oracle.takeError());

  const int64_t groupSize = H / G;
  const size_t elemBytes = dtype == DType::F32 ? 4 : 2;
  auto bitsEqual = [&](const Tensor &a, const Tensor &b, int64_t e) {
    const void *pa = dtype == DType::F32
                         ? static_cast<const void *>(&a.f32[e])
                         : static_cast<const void *>(&a.narrow[e]);
    const void *pb = dtype == DType::F32
                         ? static_cast<const void *>(&b.f32[e])
                         : static_cast<const void *>(&b.narrow[e]);
    return std::memcmp(pa, pb, elemBytes) == 0;
  };
  int64_t affectedRows = 0, changed = 0, wrongNonFinite = 0, lseWrong = 0;
  std::vector<KeyInterval> keys;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Sq; ++i) {
        oracle->rowIntervals(b, h, i, keys);
        bool seen = false;
        if (kind == NonFinite::NaNInQ || kind == NonFinite::InfInQ) {
          seen = b == 0 && h == 0 && i == iBad && !keys.empty();
          // +Inf * k gives a +Inf score only where k > 0; with every
          // score -inf the definition is the empty row's.
          if (seen && kind == NonFinite::InfInQ) {
            bool positive = false;
            for (auto [lo, hi] : keys)
              for (int64_t j = lo; j < hi; ++j)
                positive |= k32[(0 * G + 0) * Sk * D + j * D] > 0;
            seen = positive;
          }
        } else if (b == 0 && h / groupSize == 0) {
          for (auto [lo, hi] : keys)
            seen |= lo <= jBad && jBad < hi;
        }
        affectedRows += seen;
        int64_t row = (b * H + h) * Sq + i;
        bool wholeRowNaN =
            seen && kind != NonFinite::InfInV && kind != NonFinite::NaNInV;
        for (int64_t d = 0; d < D; ++d) {
          int64_t e = row * D + d;
          double got = out1.view.load({b, h, i, d});
          if (wholeRowNaN) {
            wrongNonFinite += !std::isnan(got);
          } else if (seen && d == dBad) {
            wrongNonFinite += kind == NonFinite::InfInV
                                  ? !(std::isinf(got) && got > 0)
                                  : !std::isnan(got);
          } else {
            changed += !bitsEqual(out0, out1, e);
          }
        }
        float l0 = lse0.f32[row], l1 = lse1.f32[row];
        if (wholeRowNaN)
          lseWrong += !std::isnan(l1);
        else
          lseWrong += std::memcmp(&l0, &l1, sizeof(float)) != 0;
      }
  EXPECT_GT(affectedRows, 0) << "no row sees the value: the case tests nothing";
  EXPECT_EQ(changed, 0)
      << "output elements the value cannot reach changed (a masked key "
         "affected a row, or a row that sees it lost other components)";
  EXPECT_EQ(wrongNonFinite, 0)
      << "of the elements the definition makes non-finite, these are not";
  EXPECT_EQ(lseWrong, 0) << "lse rows wrong (changed, or not NaN)";
}

} // namespace sattn::testing

#endif // SATTN_TEST_NONFINITEHARNESS_H
