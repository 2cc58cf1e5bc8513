//===- sattn-run.cpp - Sparse attention on .npy or generated inputs -------===//
//
// sattn-run PATTERN_FILE [--pattern NAME] [--set NAME=VALUE]...
//     --q q.npy --k k.npy --v v.npy [--key-score u.npy] [--weights w.npy]
//       | --random-inputs SEED | --llm-inputs SEED [--rope-theta T]
//         (with --seq-len N [--kv-len M] [--batch B] [--heads H]
//          [--kv-heads G] [--head-dim D])
//     [--backend reference|cpu|cuda] [--arch sm_80|sm_90a]
//     [--dtype f32|f16|bf16] [--layout bhsd|bshd|thd] [--scale S]
//     -o out.npy [--lse lse.npy]
//
//===----------------------------------------------------------------------===//

#include "tools/common/ToolCommon.h"

#include "sattn/Compiler.h"
#include "sattn/HostStaging.h"
#include "sattn/ReferenceBackend.h"
#include "sattn/ReferenceCompare.h"
#include "sattn/TensorView.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"

#include <chrono>
#include <cmath>
#include <optional>

using namespace sattn;
using namespace sattn::tools;
namespace cl = llvm::cl;

namespace {
enum class BackendKind { Reference, Cpu, Cuda };
using Layout = FileLayout;

/// Inputs rounded to the compute dtype and laid out as the files are.
struct Buffer {
  std::vector<float> f32;
  std::vector<uint16_t> narrow;
  void *data(DType dtype) {
    return dtype == DType::F32 ? static_cast<void *>(f32.data())
                               : static_cast<void *>(narrow.data());
  }
};

Buffer toDType(const std::vector<float> &values, DType dtype) {
  Buffer buffer;
  if (dtype == DType::F32) {
    buffer.f32 = values;
    return buffer;
  }
  buffer.narrow.resize(values.size());
  TensorView flat = TensorView::contiguous(buffer.narrow.data(), dtype,
                                           {int64_t(values.size())});
  for (size_t n = 0; n < values.size(); ++n)
    flat.store({int64_t(n)}, values[n]);
  return buffer;
}

/// A [B, H, S, D] view of a buffer laid out as `layout` (THD: BSHD with
/// B = 1).
TensorView viewOf(void *data, DType dtype, Layout layout, int64_t batch,
                  int64_t heads, int64_t seq, int64_t headDim) {
  if (layout != Layout::BHSD)
    return TensorView::fromBSHD(data, dtype, batch, seq, heads, headDim);
  return TensorView::contiguous(data, dtype, {batch, heads, seq, headDim});
}
constexpr const char *kTool = "sattn-run";
/// What --report prints.
struct RunReport {
  double compileMs = 0, warmCompileMs = 0, selectionMs = 0, attentionMs = 0;
  std::string origin;
};

/// Compiles twice (cold, then warm) and runs on the CPU, or on the GPU
/// through device copies of the views.
llvm::Error runCompiled(const PatternSource &source,
                        const AttentionConfig &config,
                        const CompileOptions &options, AttentionArgs &args,
                        bool verbose, RunReport &report) {
  std::optional<SlowStep> compiling;
  compiling.emplace(kTool,
                    "compiling the kernel for " + backendName(options.backend));
  auto kernel = compile(source, config, options);
  compiling.reset();
  if (!kernel)
    return kernel.takeError();
  const CompileInfo &info = (*kernel)->compileInfo();
  report.compileMs = info.milliseconds;
  report.origin = info.origin == CompileOrigin::Built       ? "built"
                  : info.origin == CompileOrigin::DiskCache ? "disk cache"
                                                            : "memory cache";
  // A second compile() of the same kernel: the warm (in-memory) path.
  auto again = compile(source, config, options);
  if (!again)
    return again.takeError();
  report.warmCompileMs = (*again)->compileInfo().milliseconds;
  if (verbose)
    llvm::errs() << "sattn-run: compiled in "
                 << llvm::format("%.1f", report.compileMs) << " ms ("
                 << report.origin << "), again in "
                 << llvm::format("%.2f", report.warmCompileMs) << " ms\n";
  RunTimings timings;
  {
    SlowStep running(kTool, "running the kernel");
    if (llvm::Error e = options.backend == Backend::Cpu
                            ? (*kernel)->run(args, nullptr, nullptr, &timings)
                            : runWithHostViews(**kernel, args, &timings))
      return e;
  }
  report.selectionMs = timings.selectionMs;
  report.attentionMs = timings.attentionMs;
  if (verbose)
    llvm::errs() << "sattn-run: selection "
                 << llvm::format("%.3f", timings.selectionMs)
                 << " ms, attention "
                 << llvm::format("%.3f", timings.attentionMs) << " ms\n";
  return llvm::Error::success();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  PatternOptions patternOptions;
  ShapeOptions shapeOptions;
  InputOptions inputOptions;
  cl::opt<BackendKind> backend(
      "backend", cl::desc("Where to compute"), cl::init(BackendKind::Reference),
      cl::values(
          clEnumValN(BackendKind::Reference, "reference",
                     "the float64 reference oracle (default)"),
          clEnumValN(BackendKind::Cpu, "cpu", "compiled host code (ORC JIT)"),
          clEnumValN(BackendKind::Cuda, "cuda",
                     "compiled GPU kernels (CUDA driver)")));
  cl::opt<std::string> arch("arch",
                            cl::desc("CUDA target: sm_80 or sm_90a (default: "
                                     "the device's)"),
                            cl::init(""));
  cl::opt<bool> check(
      "check", cl::desc("Also run the reference oracle on the same inputs, "
                        "print the errors and fail beyond the tolerances of "
                        "docs/patterns.md"));
  cl::opt<bool> reportJson(
      "report", cl::desc("Print a JSON line: compile and run times, errors"));
  cl::opt<bool> verbose("verbose",
                        cl::desc("Print compile and run times to stderr"));
  cl::opt<std::string> dtypeName(
      "dtype",
      cl::desc("Compute dtype: inputs are rounded to it and the output is "
               "rounded to it before being written as float32 (f32, f16, "
               "bf16)"),
      cl::init("f32"));
  cl::opt<Layout> layout(
      "layout", cl::desc("Layout of the q, k, v and output files"),
      cl::init(Layout::BHSD),
      cl::values(clEnumValN(Layout::BHSD, "bhsd", "[B, H, S, D] (default)"),
                 clEnumValN(Layout::BSHD, "bshd", "[B, S, H, D]"),
                 clEnumValN(Layout::THD, "thd",
                            "[T, H, D]: the tokens of a batch of 1, as "
                            "packed sequences are (key scores [Hkv, T], lse "
                            "[H, T])")));
  cl::opt<double> scale("scale", cl::desc("Softmax scale (default 1/sqrt(D))"),
                        cl::init(0.0));
  PackedOptions packedOptions;
  cl::opt<std::string> output("o", cl::desc("Output, float32 [B, Hq, Sq, D]"),
                              cl::value_desc("out.npy"), cl::Required);
  cl::opt<std::string> lseOutput(
      "lse", cl::desc("Log-sum-exp, float32 [B, Hq, Sq] (natural log)"),
      cl::value_desc("lse.npy"));
  parseToolCommandLine(
      argc, argv,
      "sattn-run: compute sparse attention on .npy or generated inputs\n\n"
      "Inputs are float32, float16 or float64 .npy arrays, or drawn\n"
      "(--random-inputs) or generated with LLM-like structure\n"
      "(--llm-inputs); results are written as float32.\n");

  LoadedPattern loaded;
  if (llvm::Error e = loadPattern(patternOptions, loaded))
    exitOnError(kTool, std::move(e));
  std::optional<DType> dtype = parseDType(dtypeName);
  if (!dtype)
    exitOnError(kTool, llvm::createStringError("--dtype must be f32, f16 or "
                                               "bf16, got '" +
                                               dtypeName + "'"));
  if (layout != Layout::BHSD && (inputOptions.llm() || inputOptions.random()))
    exitOnError(kTool,
                llvm::createStringError(
                    "--layout " +
                    std::string(layout == Layout::BSHD ? "bshd" : "thd") +
                    " describes input files; generated inputs are "
                    "[B, H, S, D]"));
  if (scale.getNumOccurrences() && !(scale > 0.0))
    exitOnError(kTool, llvm::createStringError("--scale must be positive"));
  std::optional<SlowStep> preparing;
  preparing.emplace(kTool, "reading or generating the inputs");
  auto prepared =
      prepareInputs(inputOptions, shapeOptions, loaded.spec,
                    InputNeeds{true, true, true, false, false, kTool}, layout);
  preparing.reset();
  if (!prepared)
    exitOnError(kTool, prepared.takeError());
  LoadedInputs &inputs = prepared->inputs;
  AttentionShape shape = prepared->shape;
  shape.scale = scale;

  Buffer q = toDType(inputs.q, *dtype), k = toDType(inputs.k, *dtype),
         v = toDType(inputs.v, *dtype),
         out = toDType(std::vector<float>(inputs.q.size()), *dtype);
  std::vector<float> lse(shape.batch * shape.heads * shape.seqQ);
  AttentionConfig config{shape.heads, shape.kvHeads, shape.headDim, *dtype,
                         shape.scale};
  AttentionArgs args{
      viewOf(q.data(*dtype), *dtype, layout, shape.batch, shape.heads,
             shape.seqQ, shape.headDim),
      viewOf(k.data(*dtype), *dtype, layout, shape.batch, shape.kvHeads,
             shape.seqK, shape.headDim),
      viewOf(v.data(*dtype), *dtype, layout, shape.batch, shape.kvHeads,
             shape.seqK, shape.headDim),
      viewOf(out.data(*dtype), *dtype, layout, shape.batch, shape.heads,
             shape.seqQ, shape.headDim),
      TensorView::contiguous(lse.data(), DType::F32,
                             {shape.batch, shape.heads, shape.seqQ}),
      std::nullopt,
      std::nullopt};
  if (!inputs.keyScores.empty())
    args.keyScores =
        TensorView::contiguous(inputs.keyScores.data(), DType::F32,
                               {shape.batch, shape.kvHeads, shape.seqK});
  if (!inputs.weights.empty())
    args.weights = TensorView::contiguous(inputs.weights.data(), DType::F32,
                                          {shape.kvHeads, shape.headDim});
  for (size_t n = 0; n < loaded.spec.inputs.size(); ++n) {
    IntInput input;
    input.name = loaded.spec.inputs[n].name;
    input.data = inputs.intInputs[n].data();
    for (const InputDim &dim : loaded.spec.inputs[n].dims)
      input.sizes.push_back(inputExtent(dim, shape));
    args.intInputs.push_back(std::move(input));
  }
  std::vector<int32_t> cuQ, cuK;
  if (packedOptions.given()) {
    if (llvm::Error e = packedOptions.parse(cuQ, cuK))
      exitOnError(kTool, std::move(e));
    args.cuSeqlensQ = cuQ;
    args.cuSeqlensK = cuK;
  }
  RunReport report;
  switch (backend) {
  case BackendKind::Reference: {
    auto start = std::chrono::steady_clock::now();
    {
      SlowStep step(kTool, "computing attention with the reference oracle");
      if (llvm::Error e = runReferenceAttention(loaded.spec, config, args))
        exitOnError(kTool, std::move(e));
    }
    report.attentionMs = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - start)
                             .count();
    if (verbose)
      llvm::errs() << "sattn-run: the reference oracle took "
                   << llvm::format("%.1f", report.attentionMs) << " ms\n";
    break;
  }
  case BackendKind::Cpu:
  case BackendKind::Cuda: {
    PatternSource source = PatternSource::file(patternOptions.file);
    source.patternName = patternOptions.pattern;
    source.overrides.assign(patternOptions.overrides.begin(),
                            patternOptions.overrides.end());
    CompileOptions options;
    options.backend =
        backend == BackendKind::Cuda ? Backend::Cuda : Backend::Cpu;
    options.arch = arch;
    if (llvm::Error e =
            runCompiled(source, config, options, args, verbose, report))
      exitOnError(kTool, std::move(e));
    break;
  }
  }

  bool checkFailed = false;
  double maxErr = 0, maxRef = 0, relL2 = 0;
  if (check) {
    // The reference on the same (dtype-rounded) inputs, in float32 views.
    std::vector<float> refOut(inputs.q.size()), refLse(lse.size());
    AttentionArgs refArgs = args;
    refArgs.out = viewOf(refOut.data(), DType::F32, layout, shape.batch,
                         shape.heads, shape.seqQ, shape.headDim);
    refArgs.lse = TensorView::contiguous(
        refLse.data(), DType::F32, {shape.batch, shape.heads, shape.seqQ});
    // q, k, v as float32 copies of the rounded values the kernel read.
    auto widen = [&](const TensorView &view, std::vector<float> &storage,
                     int64_t heads, int64_t seq) {
      storage.resize(size_t(shape.batch) * heads * seq * shape.headDim);
      TensorView wide = TensorView::contiguous(
          storage.data(), DType::F32, {shape.batch, heads, seq, shape.headDim});
      for (int64_t b = 0; b < shape.batch; ++b)
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t i = 0; i < seq; ++i)
            for (int64_t d = 0; d < shape.headDim; ++d)
              wide.store({b, h, i, d}, view.load({b, h, i, d}));
      return wide;
    };
    std::vector<float> q32, k32, v32;
    refArgs.q = widen(args.q, q32, shape.heads, shape.seqQ);
    refArgs.k = widen(args.k, k32, shape.kvHeads, shape.seqK);
    refArgs.v = widen(args.v, v32, shape.kvHeads, shape.seqK);
    AttentionConfig refConfig = config;
    refConfig.dtype = DType::F32;
    {
      SlowStep step(kTool, "checking against the reference oracle");
      if (llvm::Error e =
              runReferenceAttention(loaded.spec, refConfig, refArgs))
        exitOnError(kTool, std::move(e));
    }
    // NaN and infinities where the reference has them, the finite
    // elements within the spec's tolerance (one helper for every check).
    ReferenceComparison comparison = compareWithReference(
        args.out, refArgs.out, args.lse, refArgs.lse, *dtype);
    maxErr = comparison.maxErr;
    maxRef = comparison.maxRef;
    relL2 = comparison.relativeL2();
    checkFailed = !comparison.ok();
    llvm::errs() << "sattn-run: check against the oracle: "
                 << comparison.describe() << "\n";
  }
  if (reportJson) {
    llvm::outs() << "{\"compile_ms\": " << report.compileMs
                 << ", \"compile_origin\": \"" << report.origin
                 << "\", \"warm_compile_ms\": " << report.warmCompileMs
                 << ", \"selection_ms\": " << report.selectionMs
                 << ", \"attention_ms\": " << report.attentionMs
                 << ", \"max_abs_err\": " << maxErr
                 << ", \"max_abs_ref\": " << maxRef << ", \"rel_l2\": " << relL2
                 << ", \"check\": \""
                 << (!check        ? "none"
                     : checkFailed ? "fail"
                                   : "ok")
                 << "\"}\n";
  }

  // The output file has the layout of the inputs.
  std::vector<float> out32(inputs.q.size());
  TensorView outView = args.out;
  TensorView out32View = viewOf(out32.data(), DType::F32, layout, shape.batch,
                                shape.heads, shape.seqQ, shape.headDim);
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t h = 0; h < shape.heads; ++h)
      for (int64_t i = 0; i < shape.seqQ; ++i)
        for (int64_t d = 0; d < shape.headDim; ++d)
          out32View.store({b, h, i, d}, outView.load({b, h, i, d}));
  std::vector<int64_t> outShape =
      layout == Layout::BSHD ? std::vector<int64_t>{shape.batch, shape.seqQ,
                                                    shape.heads, shape.headDim}
      : layout == Layout::THD
          ? std::vector<int64_t>{shape.seqQ, shape.heads, shape.headDim}
          : std::vector<int64_t>{shape.batch, shape.heads, shape.seqQ,
                                 shape.headDim};
  std::vector<int64_t> lseShape =
      layout == Layout::THD
          ? std::vector<int64_t>{shape.heads, shape.seqQ}
          : std::vector<int64_t>{shape.batch, shape.heads, shape.seqQ};
  if (llvm::Error e =
          writeNpy(output, NpyDtype::Float32, outShape, out32.data()))
    exitOnError(kTool, std::move(e));
  if (!lseOutput.empty())
    if (llvm::Error e =
            writeNpy(lseOutput, NpyDtype::Float32, lseShape, lse.data()))
      exitOnError(kTool, std::move(e));
  return checkFailed ? 1 : 0;
}
