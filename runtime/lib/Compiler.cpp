//===- Compiler.cpp - The JIT API: compile a pattern, run the kernel ------===//

#include "sattn/Compiler.h"

#include "Backends.h"
#include "PatternSourceRequest.h"
#include "codegen/GpuTarget.h"
#include "codegen/KernelCompiler.h"
#include "patterns/PatternLoader.h"
#include "sattn/CudaDriver.h"
#include "sattn/Errors.h"
#include "sattn/KernelCache.h"
#include "sattn/PackedSequences.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>

using namespace sattn;
using llvm::createStringError;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

static std::atomic<uint64_t> codegenCount{0};

uint64_t sattn::codegenInvocations() { return codegenCount.load(); }

PatternSource PatternSource::file(StringRef path) {
  PatternSource s;
  s.pathOrText = path.str();
  return s;
}

PatternSource PatternSource::text(StringRef source, StringRef language) {
  PatternSource s;
  s.pathOrText = source.str();
  s.isText = true;
  s.textLanguage = language.str();
  return s;
}

PatternSource &PatternSource::withPattern(StringRef name) {
  patternName = name.str();
  return *this;
}

PatternSource &PatternSource::set(StringRef nameEqualsValue) {
  overrides.push_back(nameEqualsValue.str());
  return *this;
}

PatternRequest sattn::patternRequest(const PatternSource &source) {
  PatternRequest request;
  if (source.isText) {
    request.text = source.pathOrText;
    request.textName = "<pattern text>." + source.textLanguage;
  } else {
    request.file = source.pathOrText;
  }
  request.pattern = source.patternName;
  request.overrides = source.overrides;
  return request;
}

StringRef sattn::backendName(Backend backend) {
  return backend == Backend::Cuda ? "cuda" : "cpu";
}

Kernel::~Kernel() = default;

namespace {
/// A compiled kernel loaded in this process: its record and executable.
struct Loaded {
  std::shared_ptr<const KernelInfo> info;
  std::shared_ptr<Executable> executable;
};

/// Executables already loaded in this process, by cache digest.
std::mutex loadedMutex;
std::map<std::string, Loaded> &loadedExecutables() {
  static std::map<std::string, Loaded> map;
  return map;
}

/// The kernel of `bound` for `config`: from this process, else the kernel
/// cache, else the code generator. `arch` is the GPU target, or the host's
/// triple and CPU. Kernels are built for K and V rows of any alignment: the
/// tensor-core tile's aligned-only form (aligned_kv) spills registers.
Expected<Loaded> loadKernel(mlir::sattn::PatternOp bound,
                            const AttentionConfig &config,
                            const CompileOptions &options, StringRef arch,
                            CompileInfo &info) {
  const bool cuda = options.backend == Backend::Cuda;
  CacheKey key;
  {
    llvm::raw_string_ostream os(key.patternIR);
    bound->print(os);
  }
  char scale[64];
  snprintf(scale, sizeof(scale), "%.17g", config.scale);
  key.staticShape = "heads_q=" + std::to_string(config.heads) +
                    ",heads_kv=" + std::to_string(config.kvHeads) +
                    ",head_dim=" + std::to_string(config.headDim) +
                    ",scale=" + scale;
  key.dtype = dtypeName(config.dtype).str();
  key.backend = backendName(options.backend).str();
  key.arch = arch.str();
  key.options = cuda ? "O3,ptx" : "O3,reassoc";
  if (cuda && wgmmaTilesEnabled())
    key.options += ",wgmma";
  if (cuda && wgmmaOverlapEnabled())
    key.options += ",wgmma-overlap";
  // Entries of another record format never match.
  key.options += ",record" + std::to_string(KernelInfo::kFormatVersion);
  info.digest = key.digest();
  {
    std::lock_guard<std::mutex> lock(loadedMutex);
    auto it = loadedExecutables().find(info.digest);
    if (it != loadedExecutables().end()) {
      info.origin = CompileOrigin::MemoryCache;
      return it->second;
    }
  }

  mlir::sattn::KernelShape shape;
  shape.heads = config.heads;
  shape.kvHeads = config.kvHeads;
  shape.headDim = config.headDim;
  shape.scale = config.scale;
  auto build = [&]() -> Expected<std::string> {
    ++codegenCount;
    Expected<KernelArtifact> artifact = compileKernel(
        bound, shape, dtypeName(config.dtype), cuda ? arch : StringRef("cpu"));
    if (!artifact)
      return artifact.takeError();
    return encodeKernelArtifact(artifact->info, artifact->binary);
  };
  // An entry from disk that passes the cache's checks but does not decode
  // or load (written by another build, or planted) is dropped and built
  // once more; it used to fail every call for good (issue 21 D6).
  std::optional<Expected<KernelArtifact>> artifact;
  std::optional<Expected<std::shared_ptr<Executable>>> executable;
  std::shared_ptr<const CacheEntry> entry;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto got = KernelCache::global().getOrCreate(key, build);
    if (!got)
      return got.takeError();
    entry = *got;
    artifact.emplace(decodeKernelArtifact(entry->artifact));
    Error failure = Error::success();
    if (!*artifact) {
      failure = createStringError("kernel cache entry " + info.digest + ": " +
                                  llvm::toString(artifact->takeError()));
    } else {
      executable.emplace(cuda ? loadCudaExecutable(**artifact)
                              : loadCpuExecutable(**artifact,
                                                  options.cpuThreads));
      if (!*executable)
        failure = executable->takeError();
    }
    if (!failure)
      break;
    if (attempt == 1 || entry->origin != CacheEntry::Origin::Disk)
      return std::move(failure);
    llvm::consumeError(std::move(failure));
    KernelCache::global().forget(key);
  }
  Loaded loaded;
  loaded.info =
      std::make_shared<const KernelInfo>(std::move((*artifact)->info));
  loaded.executable = std::move(**executable);
  {
    std::lock_guard<std::mutex> lock(loadedMutex);
    auto [it, inserted] = loadedExecutables().emplace(info.digest, loaded);
    loaded = it->second;
  }
  info.origin = entry->origin == CacheEntry::Origin::Disk
                    ? CompileOrigin::DiskCache
                    : CompileOrigin::Built;
  return loaded;
}

/// A handle: the shared executable plus what this compile() call saw.
class KernelHandle : public Kernel {
public:
  KernelHandle(Loaded loaded, const AttentionConfig &config, Backend backend,
               CompileInfo compileInfo)
      : loaded(std::move(loaded)) {
    attentionConfig = config;
    backendKind = backend;
    info = std::move(compileInfo);
  }

  Error run(const AttentionArgs &args, const Workspace *workspace, void *stream,
            RunTimings *timings) override {
    if (args.packed())
      return runPacked(args, workspace, stream, timings);
    Expected<PreparedCall> call =
        prepareCall(*loaded.info, attentionConfig, args);
    if (!call)
      return call.takeError();
    if (Error err = loaded.executable->run(*call, workspace, stream, timings))
      return err;
    if (timings)
      for (size_t i = 0; i < timings->stages.size(); ++i)
        timings->stages[i].name = loaded.info->stages[i].name;
    return Error::success();
  }

  /// One call per sequence (sattn/PackedSequences.h), in order, each
  /// waited for; their times add up.
  Error runPacked(const AttentionArgs &args, const Workspace *workspace,
                  void *stream, RunTimings *timings) {
    const bool cuda = backendKind == Backend::Cuda;
    if (!args.intInputs.empty() || !loaded.info->inputs.empty())
      return makeArgumentError(
          "packed sequences with run-time integer inputs are not supported "
          "yet: give each sequence's call its own inputs");
    if (cuda && args.keyScores)
      return makeArgumentError(
          "packed sequences with key scores (top-k by key_score) run on the "
          "CPU backend for now: each sequence's scores are copied out "
          "through host memory");
    RunTimings total;
    auto one = [&](size_t, const AttentionArgs &part) -> Error {
      RunTimings partTimes;
      if (Error err =
              run(part, workspace, stream, timings ? &partTimes : nullptr))
        return err;
      total.selectionMs += partTimes.selectionMs;
      total.attentionMs += partTimes.attentionMs;
      if (total.stages.empty())
        total.stages = partTimes.stages;
      else
        for (size_t i = 0; i < partTimes.stages.size(); ++i)
          total.stages[i].ms += partTimes.stages[i].ms;
      return Error::success();
    };
    auto clearOnDevice = [&](int64_t q0, int64_t rows) {
      return clearRowsOnDevice(args, q0, rows, stream);
    };
    if (Error err = forEachPackedSequence(
            attentionConfig, args, one,
            cuda ? llvm::function_ref<Error(int64_t, int64_t)>(clearOnDevice)
                 : nullptr))
      return err;
    if (timings)
      *timings = std::move(total);
    return Error::success();
  }

  size_t workspaceBytes(int64_t batch, int64_t seqQ,
                        int64_t seqK) const override {
    // Room for an lse too, so that the answer serves calls without one.
    Expected<CallWorkspace> workspace =
        layoutCallWorkspace(*loaded.info, attentionConfig.heads,
                            {batch, seqQ, seqK}, /*lseInWorkspace=*/true);
    if (!workspace) {
      // No allocation can hold a workspace whose size overflows.
      llvm::consumeError(workspace.takeError());
      return SIZE_MAX;
    }
    return workspace->bytes;
  }

private:
  Loaded loaded;
};

} // namespace

namespace {
Expected<std::string> cudaArch(const CompileOptions &options) {
  if (!options.arch.empty()) {
    auto target = parseGpuTarget(options.arch);
    if (!target)
      return target.takeError();
    return target->chip;
  }
  auto info = cuda::deviceInfo(0);
  if (!info)
    return createStringError("cannot pick a GPU target (pass an arch such as "
                             "sm_90a): " +
                             llvm::toString(info.takeError()));
  auto target = gpuTargetForDevice(info->major, info->minor);
  if (!target)
    return target.takeError();
  return target->chip;
}
} // namespace

void sattn::forgetLoadedKernels() {
  {
    std::lock_guard<std::mutex> lock(loadedMutex);
    loadedExecutables().clear();
  }
  KernelCache::global().clearMemory();
}

Expected<std::shared_ptr<Kernel>>
sattn::compile(const PatternSource &source, const AttentionConfig &config,
               const CompileOptions &options) {
  auto startTime = std::chrono::steady_clock::now();
  if (config.heads < 1 || config.kvHeads < 1 ||
      config.heads % config.kvHeads != 0)
    return makeArgumentError(
        "attention config: kv heads " + std::to_string(config.kvHeads) +
        " must be >= 1 and divide heads " + std::to_string(config.heads));
  if (!llvm::is_contained(mlir::sattn::AttentionOp::kSupportedHeadDims,
                          config.headDim))
    return makeArgumentError("attention config: head dim must be " +
                             mlir::sattn::AttentionOp::supportedHeadDims() +
                             ", got " + std::to_string(config.headDim));
  mlir::DialectRegistry registry;
  registerPatternDialects(registry);
  registerCodegenDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();

  BoundPattern bound;
  if (Error err = loadBoundPattern(patternRequest(source), context, bound))
    return std::move(err);

  std::string arch;
  if (options.backend == Backend::Cuda) {
    // docs/design.md: GPU code runs on a GPU before it is the default.
    const char *preview = std::getenv("SATTN_GPU_PREVIEW");
    if (!bound.spec.inputs.empty() &&
        !(preview && llvm::StringRef(preview) == "1"))
      return makeArgumentError(
          "pattern '" + bound.spec.name +
          "' reads run-time integer inputs, which run on the CPU backend "
          "for now: the GPU suite has not run them yet (SATTN_GPU_PREVIEW=1 "
          "compiles them for the GPU)");
    Expected<std::string> chip = cudaArch(options);
    if (!chip)
      return chip.takeError();
    arch = *chip;
  } else {
    arch =
        llvm::sys::getProcessTriple() + "," + llvm::sys::getHostCPUName().str();
  }
  CompileInfo info;
  Expected<Loaded> loaded =
      loadKernel(bound.bound, config, options, arch, info);
  if (!loaded)
    return loaded.takeError();
  info.milliseconds = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - startTime)
                          .count();
  return std::shared_ptr<Kernel>(std::make_shared<KernelHandle>(
      std::move(*loaded), config, options.backend, std::move(info)));
}
