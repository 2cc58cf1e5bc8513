//===- jit_power.cpp - The JIT API in one page ----------------------------===//
//
// Compiles the stock PowerAttention pattern for the CPU, runs it on random
// bf16 inputs laid out as [B, S, H, D] (no copies: strided views), checks
// the result against the reference oracle, and compiles again to show the
// cache hit.
//
//   jit_power PATTERN_DIR
//
//===----------------------------------------------------------------------===//

#include "sattn/Compiler.h"
#include "sattn/ReferenceBackend.h"
#include "sattn/Float16.h"

#include "patterns/PatternLoader.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <random>

using namespace sattn;

int main(int argc, char **argv) {
  std::string dir = argc > 1 ? argv[1] : "patterns/library";
  std::string path = dir + "/power.sattn";
  const int64_t batch = 1, heads = 8, kvHeads = 2, seq = 1000, dim = 64;

  // 1. Compile: the pattern, the static shape, the backend.
  AttentionConfig config{heads, kvHeads, dim, DType::BF16, /*scale=*/0};
  PatternSource source = PatternSource::file(path).set("block=64");
  auto kernel = compile(source, config, CompileOptions());
  if (!kernel) {
    llvm::errs() << "compile failed: " << llvm::toString(kernel.takeError())
                 << "\n";
    return 1;
  }
  llvm::outs() << "compiled in "
               << llvm::format("%.1f", (*kernel)->compileInfo().milliseconds)
               << " ms\n";

  // 2. Tensors as model code holds them: [B, S, H, D], bf16.
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  std::vector<uint16_t> q(batch * seq * heads * dim),
      k(batch * seq * kvHeads * dim), v(k.size()), out(q.size());
  for (auto *buffer : {&q, &k, &v})
    for (uint16_t &x : *buffer)
      x = floatToBf16(normal(rng));
  std::vector<float> lse(batch * heads * seq);
  AttentionArgs args{
      TensorView::fromBSHD(q.data(), DType::BF16, batch, seq, heads, dim),
      TensorView::fromBSHD(k.data(), DType::BF16, batch, seq, kvHeads, dim),
      TensorView::fromBSHD(v.data(), DType::BF16, batch, seq, kvHeads, dim),
      TensorView::fromBSHD(out.data(), DType::BF16, batch, seq, heads, dim),
      TensorView::contiguous(lse.data(), DType::F32, {batch, heads, seq}),
      std::nullopt,
      std::nullopt};
  if (llvm::Error err = (*kernel)->run(args)) {
    llvm::errs() << "run failed: " << llvm::toString(std::move(err)) << "\n";
    return 1;
  }

  // 3. The reference oracle on the same (bf16-rounded) values.
  mlir::MLIRContext context;
  mlir::DialectRegistry registry;
  registerPatternDialects(registry);
  context.appendDialectRegistry(registry);
  PatternRequest request;
  request.file = path;
  request.overrides = {"block=64"};
  BoundPattern bound;
  if (llvm::Error err = loadBoundPattern(request, context, bound)) {
    llvm::errs() << llvm::toString(std::move(err)) << "\n";
    return 1;
  }
  std::vector<float> refOut(q.size()), refLse(lse.size());
  AttentionArgs refArgs = args;
  refArgs.out =
      TensorView::fromBSHD(refOut.data(), DType::F32, batch, seq, heads, dim);
  refArgs.lse = TensorView::contiguous(refLse.data(), DType::F32,
                                       {batch, heads, seq});
  // runReferenceAttention reads q/k/v in their dtype and writes f32 here.
  std::vector<float> q32(q.size()), k32(k.size()), v32(v.size());
  for (size_t i = 0; i < q.size(); ++i)
    q32[i] = bf16ToFloat(q[i]);
  for (size_t i = 0; i < k.size(); ++i) {
    k32[i] = bf16ToFloat(k[i]);
    v32[i] = bf16ToFloat(v[i]);
  }
  refArgs.q = TensorView::fromBSHD(q32.data(), DType::F32, batch, seq, heads, dim);
  refArgs.k =
      TensorView::fromBSHD(k32.data(), DType::F32, batch, seq, kvHeads, dim);
  refArgs.v =
      TensorView::fromBSHD(v32.data(), DType::F32, batch, seq, kvHeads, dim);
  AttentionConfig refConfig = config;
  refConfig.dtype = DType::F32;
  if (llvm::Error err = runReferenceAttention(bound.spec, refConfig, refArgs)) {
    llvm::errs() << llvm::toString(std::move(err)) << "\n";
    return 1;
  }
  double errNorm = 0, refNorm = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    double d = bf16ToFloat(out[i]) - refOut[i];
    errNorm += d * d;
    refNorm += double(refOut[i]) * refOut[i];
  }
  double rel = std::sqrt(errNorm / refNorm);
  llvm::outs() << "relative L2 error vs oracle: " << llvm::format("%.2e", rel)
               << (rel <= 1e-2 ? " (ok)\n" : " (FAIL)\n");

  // 4. Compiling again (any sequence length) hits the cache.
  auto again = compile(source, config, CompileOptions());
  if (!again) {
    llvm::errs() << llvm::toString(again.takeError()) << "\n";
    return 1;
  }
  bool hit = (*again)->compileInfo().origin == CompileOrigin::MemoryCache;
  llvm::outs() << "second compile: "
               << llvm::format("%.2f", (*again)->compileInfo().milliseconds)
               << " ms, " << (hit ? "cache hit" : "NOT a cache hit") << "\n";
  return rel <= 1e-2 && hit ? 0 : 1;
}
