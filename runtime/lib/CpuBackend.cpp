//===- CpuBackend.cpp - Host kernels through the ORC JIT ------------------===//
//
// The object file is linked by an LLJIT instance against the process (libm
// for expf/logf). Work items of each function are split into contiguous
// ranges, one per thread; functions run one after another because each
// selection stage reads what the previous one wrote.
//
//===----------------------------------------------------------------------===//

#include "Backends.h"

#include "sattn/Errors.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

using namespace sattn;
using llvm::Error;
using llvm::Expected;

Executable::~Executable() = default;

namespace {
using PackedFn = void (*)(void **);

class CpuExecutable : public Executable {
public:
  CpuExecutable(std::unique_ptr<llvm::orc::LLJIT> jit,
                std::vector<PackedFn> stages, PackedFn attention,
                unsigned threads)
      : jit(std::move(jit)), stages(std::move(stages)), attention(attention),
        threads(threads) {}

  Error run(PreparedCall &call, const Workspace *workspace, void *,
            RunTimings *timings) override {
    std::unique_ptr<char[]> owned;
    void *ws = nullptr;
    size_t need = call.workspace.bytes;
    if (workspace && need) {
      if (workspace->bytes < need || !workspace->data)
        return makeArgumentError(
            "workspace of " + std::to_string(workspace->bytes) +
            " bytes is too small: this call needs " + std::to_string(need));
      ws = workspace->data;
    } else if (need) {
      // No bad_alloc through the API: a workspace the machine cannot give
      // is an error of the call.
      owned.reset(new (std::nothrow) char[need]);
      if (!owned)
        return makeArgumentError("cannot allocate the " +
                                 std::to_string(need) +
                                 " byte workspace this call needs");
      ws = owned.get();
    }
    setWorkspace(call, ws);
    auto now = [] { return std::chrono::steady_clock::now(); };
    auto ms = [](auto from, auto to) {
      return std::chrono::duration<double, std::milli>(to - from).count();
    };
    auto t0 = now();
    for (const PreparedCall::InputCopy &copy : call.inputCopies)
      if (copy.count > 0)
        std::memcpy(call.destination(copy), copy.source,
                    size_t(copy.count) * sizeof(int32_t));
    if (timings)
      timings->stages.assign(stages.size(), {});
    for (size_t i = 0; i < stages.size(); ++i) {
      auto before = now();
      launch(stages[i], call, call.stageItems[i]);
      if (timings)
        timings->stages[i].ms = ms(before, now());
    }
    auto t1 = now();
    launch(attention, call, call.attentionItems);
    auto t2 = now();
    if (timings) {
      timings->selectionMs = ms(t0, t1);
      timings->attentionMs = ms(t1, t2);
    }
    return Error::success();
  }

private:
  void launch(PackedFn fn, const PreparedCall &call, int64_t items) {
    if (items <= 0)
      return;
    unsigned n = unsigned(std::min<int64_t>(threads, items));
    auto runRange = [&](int64_t begin, int64_t end) {
      KernelArguments args = call.args;
      args.setGrid(begin, end);
      fn(args.params());
    };
    if (n <= 1) {
      runRange(0, items);
      return;
    }
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < n; ++t) {
      int64_t begin = items * t / n, end = items * (t + 1) / n;
      pool.emplace_back(runRange, begin, end);
    }
    for (std::thread &th : pool)
      th.join();
  }

  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::vector<PackedFn> stages;
  PackedFn attention;
  unsigned threads;
};
} // namespace

Expected<std::shared_ptr<Executable>>
sattn::loadCpuExecutable(const KernelArtifact &artifact, unsigned threads) {
  static std::once_flag targetOnce;
  std::call_once(targetOnce, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit)
    return jit.takeError();
  auto generator =
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
          (*jit)->getDataLayout().getGlobalPrefix());
  if (!generator)
    return generator.takeError();
  (*jit)->getMainJITDylib().addGenerator(std::move(*generator));
  if (Error err = (*jit)->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(
          artifact.binary, "sattn_kernel.o")))
    return std::move(err);
  auto lookup = [&](llvm::StringRef name) -> Expected<PackedFn> {
    auto symbol = (*jit)->lookup(name);
    if (!symbol)
      return symbol.takeError();
    return symbol->toPtr<PackedFn>();
  };
  std::vector<PackedFn> stages;
  for (const KernelFunction &stage : artifact.info.stages) {
    auto fn = lookup(stage.entry);
    if (!fn)
      return fn.takeError();
    stages.push_back(*fn);
  }
  auto attention = lookup(artifact.info.attention.entry);
  if (!attention)
    return attention.takeError();
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  return std::make_shared<CpuExecutable>(std::move(*jit), std::move(stages),
                                         *attention, threads);
}
