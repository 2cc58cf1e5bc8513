//===- consumer.cpp - sattn from an installed prefix ----------------------===//
//
// Compiles a pattern with the C++ API (sattn/Compiler.h), runs it on
// [B, S, H, D] views, and checks the result against the reference oracle
// through the C API (sattn/sattn_c.h) of the same library.
//
//   consumer PATTERN_FILE
//
//===----------------------------------------------------------------------===//

#include "sattn/Compiler.h"
#include "sattn/sattn_c.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer PATTERN_FILE\n");
    return 2;
  }
  const int64_t batch = 1, heads = 4, kvHeads = 2, seq = 300, dim = 64;
  sattn::AttentionConfig config{heads, kvHeads, dim, sattn::DType::F32, 0};
  auto kernel = sattn::compile(
      sattn::PatternSource::file(argv[1]).set("block=16").set("window=2"),
      config, sattn::CompileOptions());
  if (!kernel) {
    std::fprintf(stderr, "compile: %s\n",
                 llvm::toString(kernel.takeError()).c_str());
    return 1;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> q(batch * seq * heads * dim),
      k(batch * seq * kvHeads * dim), v(k.size()), out(q.size()), ref(q.size());
  for (std::vector<float> *x : {&q, &k, &v})
    for (float &value : *x)
      value = normal(rng);
  using sattn::TensorView;
  sattn::AttentionArgs args{
      TensorView::fromBSHD(q.data(), config.dtype, batch, seq, heads, dim),
      TensorView::fromBSHD(k.data(), config.dtype, batch, seq, kvHeads, dim),
      TensorView::fromBSHD(v.data(), config.dtype, batch, seq, kvHeads, dim),
      TensorView::fromBSHD(out.data(), config.dtype, batch, seq, heads, dim),
      TensorView(), // no lse
      std::nullopt,
      std::nullopt};
  if (llvm::Error e = (*kernel)->run(args)) {
    std::fprintf(stderr, "run: %s\n", llvm::toString(std::move(e)).c_str());
    return 1;
  }

  // The oracle through the C API, on the same [B, S, H, D] buffers.
  sattn_pattern *pattern = sattn_pattern_from_file(argv[1], nullptr);
  sattn_pattern *bound =
      pattern ? sattn_pattern_bind(pattern, "block=16,window=2") : nullptr;
  auto bshd = [&](std::vector<float> &data, int64_t h) {
    return sattn_tensor{
        data.data(), 4, {batch, h, seq, dim}, {seq * h * dim, dim, h * dim, 1}};
  };
  sattn_tensor cq = bshd(q, heads), ck = bshd(k, kvHeads),
               cv = bshd(v, kvHeads), cref = bshd(ref, heads);
  sattn_run_args cargs{};
  cargs.q = &cq;
  cargs.k = &ck;
  cargs.v = &cv;
  cargs.out = &cref;
  sattn_config cconfig{heads, kvHeads, dim, "f32", 0, "cpu", nullptr, 0};
  if (!bound || sattn_reference_run(bound, &cconfig, &cargs) != SATTN_OK) {
    std::fprintf(stderr, "reference: %s\n", sattn_last_error());
    return 1;
  }
  double maxErr = 0, maxRef = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    maxErr = std::max(maxErr, double(std::fabs(out[i] - ref[i])));
    maxRef = std::max(maxRef, double(std::fabs(ref[i])));
  }
  bool ok = maxErr <= 1e-4 * maxRef;
  std::printf("sattn %s: max |out - reference| %.2e (max |reference| %.2f): "
              "%s\n",
              sattn_version(), maxErr, maxRef, ok ? "ok" : "FAIL");
  sattn_pattern_release(bound);
  sattn_pattern_release(pattern);
  return ok ? 0 : 1;
}
