//===- Compiler.h - The JIT API: compile a pattern, run the kernel -*- C++
//-*-===//
//
// The public entry point of sattn for C++ callers:
//
//   auto kernel = sattn::compile(sattn::PatternSource::file("power.sattn"),
//                                config, sattn::CompileOptions());
//   if (!kernel) ... llvm::toString(kernel.takeError()) ...
//   if (llvm::Error err = (*kernel)->run(args)) ...
//
// A kernel is specialised for the pattern (parameters bound), the
// AttentionConfig (heads, kv heads, head dim, dtype, scale) and the backend;
// batch and sequence lengths are run-time values, so a new length reuses the
// kernel. Kernels are cached in memory and on disk (KernelCache). No C++
// exception crosses this API: every failure is an llvm::Error with a message.
// compile() and Kernel::run() may be called from many threads at once.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_COMPILER_H
#define SATTN_COMPILER_H

#include "sattn/TensorView.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sattn {

/// Where a pattern comes from: a .sattn or .mlir file, or source text.
struct PatternSource {
  /// File path, or the source itself when `isText`.
  std::string pathOrText;
  bool isText = false;
  /// For text: "sattn" (the DSL) or "mlir".
  std::string textLanguage = "sattn";
  /// The pattern to use when the source holds several; empty: the only one.
  std::string patternName;
  /// Parameter overrides, each "name=value".
  std::vector<std::string> overrides;

  static PatternSource file(llvm::StringRef path);
  static PatternSource text(llvm::StringRef source,
                            llvm::StringRef language = "sattn");
  PatternSource &withPattern(llvm::StringRef name);
  PatternSource &set(llvm::StringRef nameEqualsValue);
};

enum class Backend { Cpu, Cuda };
llvm::StringRef backendName(Backend backend);

struct CompileOptions {
  Backend backend = Backend::Cpu;
  /// CUDA: "sm_80" or "sm_90a"; empty: follow the current device (sm_90a on
  /// compute capability 9.x, sm_80 otherwise). Ignored by the CPU backend.
  std::string arch;
  /// Threads used by the CPU backend's run(); 0: the hardware's count.
  unsigned cpuThreads = 0;
};

/// How a compile() call was served.
enum class CompileOrigin { Built, MemoryCache, DiskCache };

struct CompileInfo {
  CompileOrigin origin = CompileOrigin::Built;
  /// Wall time of the compile() call.
  double milliseconds = 0;
  /// The cache key digest of the kernel.
  std::string digest;
};

/// Caller-provided scratch memory for the selection stages (host memory for
/// the CPU backend, device memory for CUDA). Kernel::workspaceBytes() says
/// how much a call needs.
struct Workspace {
  void *data = nullptr;
  size_t bytes = 0;
};

/// Per-call timings, filled by run() when asked for (CUDA: events on the
/// stream; CPU: wall clock).
struct RunTimings {
  double selectionMs = 0;
  double attentionMs = 0;
  /// One selection stage: its function (sattn_select_permute_0_probe)
  /// and time.
  struct Stage {
    std::string name;
    double ms = 0;
  };
  /// The selection stages in launch order; their times add up to
  /// selectionMs.
  std::vector<Stage> stages;
};

class Kernel {
public:
  virtual ~Kernel();

  /// Runs attention on `args` (views of host memory for the CPU backend,
  /// device memory for CUDA). Without `workspace`, the kernel allocates its
  /// own (per call on the CPU; on CUDA one buffer per stream, grown to the
  /// largest call on it and freed only after the work queued on it, so calls
  /// on different streams may run at once). A caller's workspace must not be
  /// used by two calls that may run at the same time. An lse left out of
  /// `args` is written into the workspace. `stream` is
  /// a CUstream for CUDA (null: the default stream); the call returns after the
  /// work is queued unless `timings` is given, in which case it waits.
  virtual llvm::Error run(const AttentionArgs &args,
                          const Workspace *workspace = nullptr,
                          void *stream = nullptr,
                          RunTimings *timings = nullptr) = 0;

  /// Workspace bytes a call with this batch and these lengths needs,
  /// including room for the lse of a call that does not want it
  /// (AttentionArgs::wantsLse()). SIZE_MAX when the size overflows.
  virtual size_t workspaceBytes(int64_t batch, int64_t seqQ,
                                int64_t seqK) const = 0;

  const CompileInfo &compileInfo() const { return info; }
  const AttentionConfig &config() const { return attentionConfig; }
  Backend backend() const { return backendKind; }

protected:
  CompileInfo info;
  AttentionConfig attentionConfig;
  Backend backendKind = Backend::Cpu;
};

/// Loads, binds and compiles the pattern for `config` (through the kernel
/// cache) and returns a kernel ready to run.
llvm::Expected<std::shared_ptr<Kernel>>
compile(const PatternSource &source, const AttentionConfig &config,
        const CompileOptions &options = CompileOptions());

/// Forgets the kernels loaded in this process and the in-memory cache
/// entries, so that the next compile() reads the disk cache (benchmarks of
/// disk hits). Kernels handed out stay valid.
void forgetLoadedKernels();

/// How many times this process has run the code generator (cache misses).
/// Lets tests observe that a new sequence length reuses a kernel.
uint64_t codegenInvocations();

} // namespace sattn

#endif // SATTN_COMPILER_H
