//===- CApi.cpp - The C API over sattn::compile ---------------------------===//

#include "sattn/sattn_c.h"

#include "sattn/Compiler.h"

#include "llvm/ADT/StringExtras.h"

#include <cstring>

using namespace sattn;

struct sattn_kernel {
  std::shared_ptr<Kernel> kernel;
};

static void writeError(char *error, size_t size, const std::string &message) {
  if (!error || size == 0)
    return;
  size_t n = std::min(size - 1, message.size());
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

sattn_kernel *sattn_compile(const char *patternPath, const char *patternName,
                            const char *overrides, int64_t heads,
                            int64_t kvHeads, int64_t headDim, const char *dtype,
                            const char *backend, const char *arch, char *error,
                            size_t errorSize) {
  if (!patternPath || !dtype || !backend) {
    writeError(error, errorSize,
               "sattn_compile: pattern_path, dtype and backend are required");
    return nullptr;
  }
  PatternSource source = PatternSource::file(patternPath);
  if (patternName)
    source.withPattern(patternName);
  if (overrides && *overrides) {
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(overrides).split(parts, ',', -1, false);
    for (llvm::StringRef part : parts)
      source.set(part.trim());
  }
  AttentionConfig config;
  config.heads = heads;
  config.kvHeads = kvHeads;
  config.headDim = headDim;
  std::optional<DType> parsed = parseDType(dtype);
  if (!parsed) {
    writeError(error, errorSize,
               std::string("sattn_compile: dtype must be f32, f16 or bf16, "
                           "got '") +
                   dtype + "'");
    return nullptr;
  }
  config.dtype = *parsed;
  CompileOptions options;
  if (llvm::StringRef(backend) == "cuda")
    options.backend = Backend::Cuda;
  else if (llvm::StringRef(backend) != "cpu") {
    writeError(
        error, errorSize,
        std::string("sattn_compile: backend must be cpu or cuda, got '") +
            backend + "'");
    return nullptr;
  }
  if (arch)
    options.arch = arch;
  auto kernel = compile(source, config, options);
  if (!kernel) {
    writeError(error, errorSize, llvm::toString(kernel.takeError()));
    return nullptr;
  }
  return new sattn_kernel{std::move(*kernel)};
}

int sattn_compile_origin(const sattn_kernel *kernel) {
  return kernel ? int(kernel->kernel->compileInfo().origin) : -1;
}

double sattn_compile_ms(const sattn_kernel *kernel) {
  return kernel ? kernel->kernel->compileInfo().milliseconds : -1;
}

static TensorView toView(const sattn_tensor &t, DType dtype) {
  TensorView view;
  view.data = t.data;
  view.dtype = dtype;
  for (int64_t i = 0; i < t.rank && i < 4; ++i) {
    view.sizes.push_back(t.sizes[i]);
    view.strides.push_back(t.strides[i]);
  }
  return view;
}

int sattn_run(sattn_kernel *kernel, const sattn_tensor *q,
              const sattn_tensor *k, const sattn_tensor *v,
              const sattn_tensor *out, const sattn_tensor *lse,
              const sattn_tensor *keyScores, const sattn_tensor *weights,
              void *stream, double *selectionMs, double *attentionMs,
              char *error, size_t errorSize) {
  if (!kernel || !q || !k || !v || !out || !lse) {
    writeError(error, errorSize,
               "sattn_run: kernel, q, k, v, out and lse are required");
    return 1;
  }
  DType dtype = kernel->kernel->config().dtype;
  AttentionArgs args;
  args.q = toView(*q, dtype);
  args.k = toView(*k, dtype);
  args.v = toView(*v, dtype);
  args.out = toView(*out, dtype);
  args.lse = toView(*lse, DType::F32);
  if (keyScores)
    args.keyScores = toView(*keyScores, DType::F32);
  if (weights)
    args.weights = toView(*weights, DType::F32);
  RunTimings timings;
  bool timed = selectionMs || attentionMs;
  if (llvm::Error err = kernel->kernel->run(args, nullptr, stream,
                                            timed ? &timings : nullptr)) {
    writeError(error, errorSize, llvm::toString(std::move(err)));
    return 1;
  }
  if (selectionMs)
    *selectionMs = timings.selectionMs;
  if (attentionMs)
    *attentionMs = timings.attentionMs;
  return 0;
}

void sattn_release(sattn_kernel *kernel) { delete kernel; }
