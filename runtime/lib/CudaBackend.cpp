//===- CudaBackend.cpp - GPU kernels through the CUDA driver --------------===//
//
// One CUDA module per cache key; each selection stage and the attention
// function is a kernel launched on the caller's stream with the shared
// parameter array (KernelLaunch.h). Without a caller workspace, the
// executable keeps a device buffer that grows to the largest call.
//
//===----------------------------------------------------------------------===//

#include "Backends.h"

#include "sattn/CudaDriver.h"
#include "sattn/Errors.h"

#include <mutex>

using namespace sattn;
using cuda::CUfunction;
using cuda::CUstream;
using llvm::Error;
using llvm::Expected;

namespace {
class CudaExecutable : public Executable {
public:
  CudaExecutable(cuda::Module module, std::vector<CUfunction> stages,
                 std::vector<int64_t> stageThreads, CUfunction attention,
                 int64_t attentionThreads)
      : module(std::move(module)), stages(std::move(stages)),
        stageThreads(std::move(stageThreads)), attention(attention),
        attentionThreads(attentionThreads) {}

  Error run(PreparedCall &call, const Workspace *workspace, void *stream,
            RunTimings *timings) override {
    if (Error err = cuda::makeCurrent())
      return err;
    auto cuStream = static_cast<CUstream>(stream);
    size_t need = call.workspace.bytes;
    std::unique_lock<std::mutex> lock(workspaceMutex, std::defer_lock);
    if (workspace && need) {
      if (workspace->bytes < need || !workspace->data)
        return makeArgumentError(
            "workspace of " + std::to_string(workspace->bytes) +
            " bytes is too small: this call needs " + std::to_string(need));
      setWorkspace(call, workspace->data);
    } else if (need) {
      // The owned buffer is shared: calls that use it are serialised.
      lock.lock();
      if (ownedWorkspace.size() < need) {
        ownedWorkspace.reset();
        auto buffer = cuda::DeviceBuffer::allocate(need);
        if (!buffer)
          return buffer.takeError();
        ownedWorkspace = std::move(*buffer);
      }
      setWorkspace(call, reinterpret_cast<void *>(ownedWorkspace.pointer()));
    } else {
      setWorkspace(call, nullptr);
    }
    std::optional<cuda::Event> start, middle, end;
    if (timings) {
      for (auto *e : {&start, &middle, &end}) {
        auto event = cuda::Event::create();
        if (!event)
          return event.takeError();
        *e = std::move(*event);
      }
      if (Error err = start->record(cuStream))
        return err;
    }
    for (size_t i = 0; i < stages.size(); ++i)
      if (Error err = launch(stages[i], stageThreads[i], call,
                             call.stageItems[i], cuStream))
        return err;
    if (timings)
      if (Error err = middle->record(cuStream))
        return err;
    if (Error err = launch(attention, attentionThreads, call,
                           call.attentionItems, cuStream))
      return err;
    if (timings) {
      if (Error err = end->record(cuStream))
        return err;
      if (Error err = end->synchronize())
        return err;
      auto sel = cuda::Event::elapsedMs(*start, *middle);
      if (!sel)
        return sel.takeError();
      auto att = cuda::Event::elapsedMs(*middle, *end);
      if (!att)
        return att.takeError();
      timings->selectionMs = *sel;
      timings->attentionMs = *att;
    }
    return Error::success();
  }

private:
  Error launch(CUfunction fn, int64_t threads, const PreparedCall &call,
               int64_t items, CUstream stream) {
    constexpr int64_t kMaxGrid = (int64_t(1) << 31) - 1;
    for (int64_t begin = 0; begin < items; begin += kMaxGrid) {
      int64_t end = std::min(items, begin + kMaxGrid);
      KernelArguments args = call.args;
      args.setGrid(begin, end);
      if (Error err =
              cuda::launch(fn, {unsigned(end - begin), 1, 1},
                           {unsigned(threads), 1, 1}, 0, stream, args.params()))
        return err;
    }
    return Error::success();
  }

  cuda::Module module;
  std::vector<CUfunction> stages;
  std::vector<int64_t> stageThreads;
  CUfunction attention;
  int64_t attentionThreads;
  std::mutex workspaceMutex;
  cuda::DeviceBuffer ownedWorkspace;
};
} // namespace

Expected<std::shared_ptr<Executable>>
sattn::loadCudaExecutable(const KernelArtifact &artifact) {
  if (Error err = cuda::makeCurrent())
    return std::move(err);
  auto module = cuda::Module::loadData(artifact.binary);
  if (!module)
    return module.takeError();
  std::vector<CUfunction> stages;
  std::vector<int64_t> threads;
  for (const KernelFunction &stage : artifact.info.stages) {
    auto fn = module->function(stage.entry);
    if (!fn)
      return fn.takeError();
    stages.push_back(*fn);
    threads.push_back(stage.threads);
  }
  auto attention = module->function(artifact.info.attention.entry);
  if (!attention)
    return attention.takeError();
  return std::make_shared<CudaExecutable>(std::move(*module), std::move(stages),
                                          std::move(threads), *attention,
                                          artifact.info.attention.threads);
}
