//===- sattn-bench.cpp - Compile and time sattn kernels -------------------===//
//
//   sattn-bench PATTERN_FILE [--pattern NAME] [--set N=V]... [--backend
//   cpu|cuda]
//     --seq-len 8192,32768 [--kv-len N] [--batch B] [--heads H]
//     [--kv-heads G] [--head-dim D] [--dtype bf16] [--warmup 3] [--iters 10]
//     [--rotate-mb 256] [--json out.json]
//
// For each sequence length: cold compile (empty disk cache), warm compile
// (in-memory hit) and disk hit; then the median of --iters timed runs after
// --warmup runs, split into selection and attention (CUDA events on the GPU,
// wall clock on the CPU), on inputs rotated through copies that together
// exceed --rotate-mb (larger than L2). TFLOP/s count 4*D flops per attended
// (query, key) pair, from the oracle's block map of batch 0, head 0 (scaled
// to every head), and for the dense causal equivalent.
//
//===----------------------------------------------------------------------===//

#include "tools/common/ToolCommon.h"

#include "sattn/Compiler.h"
#include "sattn/CudaDriver.h"
#include "sattn/KernelCache.h"
#include "sattn/Oracle.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <tuple>
#include <unistd.h>
#include <chrono>
#include <cstdlib>

using namespace sattn;
using namespace sattn::tools;
namespace cl = llvm::cl;

namespace {
constexpr const char *kTool = "sattn-bench";

struct Result {
  int64_t seqLen = 0;
  double density = 0, coldMs = 0, warmMs = 0, diskMs = 0;
  double selectionMs = 0, attentionMs = 0, totalMs = 0;
  double tflops = 0, denseTflops = 0;
  /// Median time of each selection stage, in launch order.
  std::vector<RunTimings::Stage> stages;
  /// Workspace bytes of a call (Kernel::workspaceBytes: with room for an
  /// lse the call does not ask for).
  size_t workspaceBytes = 0;
};

/// Adds a timed call's stage times to `samples` (one list per stage) and
/// remembers the stages' names in `stages`.
void collectStages(const RunTimings &t, std::vector<RunTimings::Stage> &stages,
                   std::vector<std::vector<double>> &samples) {
  stages.resize(t.stages.size());
  samples.resize(t.stages.size());
  for (size_t i = 0; i < t.stages.size(); ++i) {
    stages[i].name = t.stages[i].name;
    samples[i].push_back(t.stages[i].ms);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

/// Fills `n` elements of `dtype` with a cheap normal-ish pattern (sum of
/// uniforms); speed matters at 128K tokens.
void fillRandom(void *data, DType dtype, size_t n, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return float(x >> 40) / float(1 << 24);
  };
  TensorView flat = TensorView::contiguous(data, dtype, {int64_t(n)});
  for (size_t i = 0; i < n; ++i)
    flat.store({int64_t(i)}, (next() + next() + next() - 1.5f) * 2.0f);
}
} // namespace

/// Sizes the run can allocate and time: every count positive (kv-len and
/// rotate-mb may be 0), and the largest buffer's bytes representable
/// (checked products, no SIGFPE or std::length_error later on).
static llvm::Error checkBenchSizes(llvm::ArrayRef<int64_t> seqLens,
                                   int64_t kvLen, int64_t batch, int64_t heads,
                                   int64_t kvHeads, int64_t headDim, int warmup,
                                   int iters, int64_t rotateMb) {
  auto bad = [](const llvm::Twine &what) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), what);
  };
  if (seqLens.empty())
    return bad("--seq-len: give at least one query length");
  for (int64_t seq : seqLens)
    if (seq < 1)
      return bad("--seq-len must be >= 1, got " + llvm::Twine(seq));
  if (kvLen < 0)
    return bad("--kv-len must be >= 1 (or 0: the query length), got " +
               llvm::Twine(kvLen));
  struct {
    const char *name;
    int64_t value;
  } counts[] = {{"--batch", batch},
                {"--heads", heads},
                {"--kv-heads", kvHeads},
                {"--head-dim", headDim},
                {"--iters", iters}};
  for (const auto &c : counts)
    if (c.value < 1)
      return bad(llvm::Twine(c.name) + " must be >= 1, got " +
                 llvm::Twine(c.value));
  if (warmup < 0 || rotateMb < 0)
    return bad("--warmup and --rotate-mb must be >= 0");
  if (heads % kvHeads != 0)
    return bad("--kv-heads (" + llvm::Twine(kvHeads) +
               ") must divide --heads (" + llvm::Twine(heads) + ")");
  if (!llvm::checkedMul(rotateMb, int64_t(1) << 20))
    return bad("--rotate-mb " + llvm::Twine(rotateMb) + " is too large");
  // The host holds float32 copies of q, k, v and out.
  const int64_t memory =
      int64_t(sysconf(_SC_PHYS_PAGES)) * int64_t(sysconf(_SC_PAGESIZE));
  for (int64_t seq : seqLens) {
    int64_t sk = kvLen ? kvLen : seq;
    std::optional<int64_t> total = 0;
    for (auto [h, len, copies] : {std::tuple<int64_t, int64_t, int64_t>{
                                      heads, seq, 2},
                                  {kvHeads, sk, 2}}) {
      std::optional<int64_t> bytes = llvm::checkedMul(batch, h);
      for (int64_t f : {len, headDim, int64_t(4), copies})
        bytes = bytes ? llvm::checkedMul(*bytes, f) : std::nullopt;
      total = bytes && total ? llvm::checkedAdd(*total, *bytes) : std::nullopt;
    }
    std::string sizes = "--batch " + std::to_string(batch) + ", --heads " +
                        std::to_string(heads) + "/" + std::to_string(kvHeads) +
                        ", lengths " + std::to_string(seq) + "/" +
                        std::to_string(sk) + ", --head-dim " +
                        std::to_string(headDim);
    if (!total)
      return bad(sizes + ": the tensors' byte sizes overflow");
    if (memory > 0 && *total > memory)
      return bad(sizes + ": the tensors need " + llvm::Twine(*total) +
                 " bytes, more than this machine's " + llvm::Twine(memory));
  }
  return llvm::Error::success();
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  PatternOptions patternOptions;
  cl::opt<std::string> backendName(
      "backend",
      cl::desc("cpu or cuda (default: cuda when a CUDA device is present, "
               "else cpu)"),
      cl::init(""));
  cl::list<int64_t> seqLens("seq-len", cl::desc("Query lengths"),
                            cl::CommaSeparated, cl::OneOrMore);
  cl::opt<int64_t> kvLen("kv-len", cl::desc("Key length (default: = seq)"),
                         cl::init(0));
  cl::opt<int64_t> batch("batch", cl::init(1), cl::desc("Batch"));
  cl::opt<int64_t> heads("heads", cl::init(32), cl::desc("Query heads"));
  cl::opt<int64_t> kvHeads("kv-heads", cl::init(0),
                           cl::desc("KV heads (default: = heads)"));
  cl::opt<int64_t> headDim("head-dim", cl::init(128), cl::desc("Head dim"));
  cl::opt<std::string> dtypeName("dtype", cl::init("bf16"),
                                 cl::desc("f32, f16 or bf16"));
  cl::opt<std::string> arch("arch", cl::init(""),
                            cl::desc("CUDA target (default: the device's)"));
  cl::opt<int> warmup("warmup", cl::init(3), cl::desc("Untimed runs"));
  cl::opt<int> iters("iters", cl::init(10), cl::desc("Timed runs"));
  cl::opt<int64_t> documents(
      "documents", cl::init(1),
      cl::desc("Run-time inputs of shape [b, s] (document ids, e.g. "
               "examples/patterns/document_ids.sattn) hold this many "
               "documents of equal length"));
  cl::opt<int64_t> rotateMb("rotate-mb", cl::init(256),
                            cl::desc("Rotate inputs through copies that "
                                     "together exceed this many MiB"));
  cl::opt<unsigned> threads("cpu-threads", cl::init(0),
                            cl::desc("CPU threads (default: all)"));
  cl::opt<std::string> jsonFile("json", cl::desc("Write results as JSON"),
                                cl::value_desc("file"));
  parseToolCommandLine(argc, argv,
                       "sattn-bench: compile and time sattn kernels\n");

  std::optional<DType> dtype = parseDType(dtypeName);
  if (!dtype)
    exitOnError(kTool, llvm::createStringError("--dtype must be f32, f16 or bf16"));
  if (backendName.empty()) {
    // The backend that exists: a new user's first run should not fail.
    llvm::Expected<int> devices = cuda::deviceCount();
    if (devices && *devices > 0) {
      backendName = "cuda";
    } else {
      backendName = "cpu";
      llvm::errs() << kTool << ": no CUDA device ("
                   << (devices ? std::string("the driver reports none")
                               : llvm::toString(devices.takeError()))
                   << "); timing the cpu backend\n";
    }
  }
  bool cuda = backendName == "cuda";
  if (!cuda && backendName != "cpu")
    exitOnError(kTool, llvm::createStringError("--backend must be cpu or cuda"));
  if (kvHeads == 0)
    kvHeads = heads;
  if (llvm::Error e = checkBenchSizes(seqLens, kvLen, batch, heads, kvHeads,
                                      headDim, warmup, iters, rotateMb))
    exitOnError(kTool, std::move(e));
  LoadedPattern loaded;
  if (llvm::Error e = loadPattern(patternOptions, loaded))
    exitOnError(kTool, std::move(e));

  // A private cache directory, so that the first compile is cold.
  llvm::SmallString<128> cacheDir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("sattn-bench-cache", cacheDir))
    exitOnError(kTool, llvm::errorCodeToError(ec));
  setenv("SATTN_CACHE_DIR", cacheDir.c_str(), 1);

  PatternSource source = PatternSource::file(patternOptions.file);
  source.patternName = patternOptions.pattern;
  source.overrides.assign(patternOptions.overrides.begin(),
                          patternOptions.overrides.end());
  AttentionConfig config{heads, kvHeads, headDim, *dtype, 0};
  CompileOptions options;
  options.backend = cuda ? Backend::Cuda : Backend::Cpu;
  options.arch = arch;
  options.cpuThreads = threads;
  if (cuda)
    if (llvm::Error e = cuda::makeCurrent())
      exitOnError(kTool, std::move(e));

  // Rows are printed as they finish: long sequences take minutes.
  llvm::outs() << llvm::format(
      "%-12s %8s %8s %9s %9s %9s %10s %10s %10s %9s %9s\n", "pattern", "seq",
      "density", "cold ms", "warm ms", "disk ms", "select ms", "attend ms",
      "total ms", "TFLOP/s", "dense-eq");
  llvm::outs().flush();
  std::vector<Result> results;
  bool firstCase = true;
  for (int64_t seq : seqLens) {
    Result r;
    r.seqLen = seq;
    int64_t sk = kvLen ? int64_t(kvLen) : seq;
    auto timeCompile = [&](double &ms) -> std::shared_ptr<Kernel> {
      SlowStep step(kTool,
                    "compiling " + loaded.spec.name + " for " + backendName);
      auto kernel = compile(source, config, options);
      if (!kernel)
        exitOnError(kTool, kernel.takeError());
      ms = (*kernel)->compileInfo().milliseconds;
      return *kernel;
    };
    std::shared_ptr<Kernel> kernel;
    if (firstCase) {
      kernel = timeCompile(r.coldMs);
      timeCompile(r.warmMs);
      forgetLoadedKernels();
      kernel = timeCompile(r.diskMs);
      firstCase = false;
    } else {
      // Same kernel: a new length must not recompile.
      kernel = timeCompile(r.warmMs);
      r.coldMs = results.front().coldMs;
      r.diskMs = results.front().diskMs;
    }

    r.workspaceBytes = kernel->workspaceBytes(batch, seq, sk);
    size_t qElems = size_t(batch) * heads * seq * headDim;
    size_t kElems = size_t(batch) * kvHeads * sk * headDim;
    size_t esize = dtypeSize(*dtype);
    size_t setBytes = (2 * qElems + 2 * kElems) * esize;
    int copies = int(std::max<int64_t>(
        1, std::min<int64_t>(8, (rotateMb << 20) / int64_t(setBytes) + 1)));
    std::vector<char> hq(qElems * esize), hk(kElems * esize), hv(kElems * esize);
    fillRandom(hq.data(), *dtype, qElems, 1);
    fillRandom(hk.data(), *dtype, kElems, 2);
    fillRandom(hv.data(), *dtype, kElems, 3);
    std::vector<float> hs(size_t(batch) * kvHeads * sk);
    fillRandom(hs.data(), DType::F32, hs.size(), 4);
    // Run-time integer inputs: document ids, `documents` equal documents
    // per batch entry.
    std::vector<std::vector<int32_t>> hints;
    for (const IntInputDecl &decl : loaded.spec.inputs) {
      if (decl.dims.size() != 2 || decl.dims[0].kind != InputDim::Batch ||
          decl.dims[1].kind != InputDim::Tokens)
        exitOnError(kTool,
                    llvm::createStringError(
                        "run-time input '" + decl.name +
                        "': sattn-bench fills only inputs of shape [b, s] "
                        "(document ids, --documents)"));
      if (documents < 1 || documents > sk)
        exitOnError(kTool, llvm::createStringError(
                               "--documents must be 1 to the key length"));
      std::vector<int32_t> ids(size_t(batch * sk));
      for (int64_t j = 0; j < batch * sk; ++j)
        ids[size_t(j)] = int32_t(j % sk * documents / sk);
      hints.push_back(std::move(ids));
    }
    auto intInputs = [&](auto pointerOf) {
      std::vector<IntInput> inputs;
      for (size_t n = 0; n < hints.size(); ++n)
        inputs.push_back(IntInput{
            loaded.spec.inputs[n].name, pointerOf(n), {int64_t(batch), sk}});
      return inputs;
    };

    // Density from the oracle (batch 0, head 0) on the first copy's inputs.
    {
      SlowStep step(kTool, "measuring the density of " + std::to_string(seq) +
                               " tokens with the oracle");
      std::vector<float> q32(size_t(seq) * headDim), k32(size_t(sk) * headDim);
      TensorView qv = TensorView::contiguous(hq.data(), *dtype, {int64_t(qElems)});
      TensorView kv = TensorView::contiguous(hk.data(), *dtype, {int64_t(kElems)});
      for (size_t i = 0; i < q32.size(); ++i)
        q32[i] = qv.load({int64_t(i)});
      for (size_t i = 0; i < k32.size(); ++i)
        k32[i] = kv.load({int64_t(i)});
      AttentionShape shape;
      shape.batch = 1;
      shape.heads = 1;
      shape.kvHeads = 1;
      shape.seqQ = seq;
      shape.seqK = sk;
      shape.headDim = headDim;
      OracleInputs inputs;
      inputs.q = q32.data();
      inputs.k = k32.data();
      inputs.keyScores = hs.data();
      for (const std::vector<int32_t> &ids : hints)
        inputs.intInputs.push_back(ids.data()); // batch 0's row first
      auto oracle = MaskOracle::create(loaded.spec, shape, inputs);
      if (!oracle)
        exitOnError(kTool, oracle.takeError());
      BlockMap map = computeBlockMap(*oracle, 0, 0, loaded.spec.block);
      r.density = double(map.attendedPairs) / (double(seq) * double(sk));
      double flopsPerHead = 4.0 * headDim * double(map.attendedPairs);
      r.tflops = flopsPerHead * batch * heads; // divided by time below
      r.denseTflops = 4.0 * headDim * batch * heads *
                      (double(seq) * double(seq + 1) / 2.0);
    }

    std::vector<double> sel, att, tot;
    std::vector<std::vector<double>> stageSamples;
    std::optional<SlowStep> timing;
    timing.emplace(kTool, "timing " + std::to_string(warmup + iters) +
                              " runs at " + std::to_string(seq) + " tokens");
    if (cuda) {
      struct Set {
        cuda::DeviceBuffer q, k, v, out, lse, scores;
      };
      std::vector<Set> sets;
      for (int c = 0; c < copies; ++c) {
        Set s;
        auto alloc = [&](cuda::DeviceBuffer &b, size_t bytes, const void *src) {
          auto buffer = cuda::DeviceBuffer::allocate(bytes);
          if (!buffer)
            exitOnError(kTool, buffer.takeError());
          b = std::move(*buffer);
          if (src)
            if (llvm::Error e = b.copyFromHost(src, bytes))
              exitOnError(kTool, std::move(e));
        };
        alloc(s.q, hq.size(), hq.data());
        alloc(s.k, hk.size(), hk.data());
        alloc(s.v, hv.size(), hv.data());
        alloc(s.out, hq.size(), nullptr);
        alloc(s.lse, size_t(batch) * heads * seq * 4, nullptr);
        alloc(s.scores, hs.size() * 4, hs.data());
        sets.push_back(std::move(s));
      }
      std::vector<cuda::DeviceBuffer> dints;
      for (const std::vector<int32_t> &ids : hints) {
        auto buffer = cuda::DeviceBuffer::allocate(ids.size() * 4);
        if (!buffer)
          exitOnError(kTool, buffer.takeError());
        if (llvm::Error e = buffer->copyFromHost(ids.data(), ids.size() * 4))
          exitOnError(kTool, std::move(e));
        dints.push_back(std::move(*buffer));
      }
      auto argsFor = [&](Set &s) {
        auto view = [&](cuda::DeviceBuffer &b, DType t,
                        llvm::ArrayRef<int64_t> sizes) {
          return TensorView::contiguous(reinterpret_cast<void *>(b.pointer()),
                                        t, sizes);
        };
        AttentionArgs a{view(s.q, *dtype, {batch, heads, seq, headDim}),
                        view(s.k, *dtype, {batch, kvHeads, sk, headDim}),
                        view(s.v, *dtype, {batch, kvHeads, sk, headDim}),
                        view(s.out, *dtype, {batch, heads, seq, headDim}),
                        view(s.lse, DType::F32, {batch, heads, seq}),
                        std::nullopt, std::nullopt};
        if (requiredInputs(loaded.spec).keyScores)
          a.keyScores = view(s.scores, DType::F32, {batch, kvHeads, sk});
        a.intInputs = intInputs([&](size_t n) {
          return reinterpret_cast<const int32_t *>(dints[n].pointer());
        });
        return a;
      };
      for (int i = 0; i < warmup + iters; ++i) {
        AttentionArgs a = argsFor(sets[i % copies]);
        RunTimings t;
        auto start = std::chrono::steady_clock::now();
        if (llvm::Error e = kernel->run(a, nullptr, nullptr, &t))
          exitOnError(kTool, std::move(e));
        (void)start;
        if (i >= warmup) {
          sel.push_back(t.selectionMs);
          collectStages(t, r.stages, stageSamples);
          att.push_back(t.attentionMs);
          tot.push_back(t.selectionMs + t.attentionMs);
        }
      }
    } else {
      std::vector<char> out(hq.size());
      std::vector<float> lse(size_t(batch) * heads * seq);
      AttentionArgs a{
          TensorView::contiguous(hq.data(), *dtype, {batch, heads, seq, headDim}),
          TensorView::contiguous(hk.data(), *dtype, {batch, kvHeads, sk, headDim}),
          TensorView::contiguous(hv.data(), *dtype, {batch, kvHeads, sk, headDim}),
          TensorView::contiguous(out.data(), *dtype, {batch, heads, seq, headDim}),
          TensorView::contiguous(lse.data(), DType::F32, {batch, heads, seq}),
          std::nullopt, std::nullopt};
      if (requiredInputs(loaded.spec).keyScores)
        a.keyScores = TensorView::contiguous(hs.data(), DType::F32,
                                             {batch, kvHeads, sk});
      a.intInputs = intInputs([&](size_t n) { return hints[n].data(); });
      for (int i = 0; i < warmup + iters; ++i) {
        RunTimings t;
        if (llvm::Error e = kernel->run(a, nullptr, nullptr, &t))
          exitOnError(kTool, std::move(e));
        if (i >= warmup) {
          sel.push_back(t.selectionMs);
          collectStages(t, r.stages, stageSamples);
          att.push_back(t.attentionMs);
          tot.push_back(t.selectionMs + t.attentionMs);
        }
      }
    }
    timing.reset();
    r.selectionMs = median(sel);
    for (size_t i = 0; i < r.stages.size(); ++i)
      r.stages[i].ms = median(stageSamples[i]);
    r.attentionMs = median(att);
    r.totalMs = median(tot);
    r.tflops = r.tflops / (r.totalMs * 1e-3) / 1e12;
    r.denseTflops = r.denseTflops / (r.totalMs * 1e-3) / 1e12;
    results.push_back(r);
    llvm::outs() << llvm::format(
        "%-12s %8lld %8.4f %9.1f %9.2f %9.1f %10.3f %10.3f %10.3f %9.2f %9.2f\n",
        loaded.spec.name.c_str(), (long long)r.seqLen, r.density, r.coldMs,
        r.warmMs, r.diskMs, r.selectionMs, r.attentionMs, r.totalMs, r.tflops,
        r.denseTflops);
    // The selection's stages, when it has more than one, and the workspace
    // of a dynamic pattern's call.
    if (r.stages.size() > 1)
      for (const RunTimings::Stage &st : r.stages)
        llvm::outs() << llvm::format("  stage %-40s %10.3f ms\n",
                                     st.name.c_str(), st.ms);
    if (!r.stages.empty())
      llvm::outs() << llvm::format("  workspace %.1f MiB (with room for lse)\n",
                                   double(r.workspaceBytes) / (1 << 20));
    llvm::outs().flush();
  }

  if (!jsonFile.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(jsonFile, ec);
    if (ec)
      exitOnError(kTool, llvm::errorCodeToError(ec));
    llvm::json::OStream json(os, 2);
    json.object([&] {
      json.attribute("pattern", loaded.spec.name);
      json.attribute("backend", std::string(backendName));
      json.attribute("dtype", std::string(dtypeName));
      json.attribute("batch", int64_t(batch));
      json.attribute("heads", int64_t(heads));
      json.attribute("kv_heads", int64_t(kvHeads));
      json.attribute("head_dim", int64_t(headDim));
      json.attributeArray("cases", [&] {
        for (const Result &r : results)
          json.object([&] {
            json.attribute("seq_len", r.seqLen);
            json.attribute("density", r.density);
            json.attribute("cold_compile_ms", r.coldMs);
            json.attribute("warm_compile_ms", r.warmMs);
            json.attribute("disk_compile_ms", r.diskMs);
            json.attribute("selection_ms", r.selectionMs);
            json.attribute("workspace_bytes", int64_t(r.workspaceBytes));
            json.attributeArray("stages", [&] {
              for (const RunTimings::Stage &st : r.stages)
                json.object([&] {
                  json.attribute("name", st.name);
                  json.attribute("ms", st.ms);
                });
            });
            json.attribute("attention_ms", r.attentionMs);
            json.attribute("total_ms", r.totalMs);
            json.attribute("tflops_computed", r.tflops);
            json.attribute("tflops_dense_equivalent", r.denseTflops);
          });
      });
    });
  }
  llvm::sys::fs::remove_directories(cacheDir);
  return 0;
}
