//===- CudaBackend.cpp - GPU kernels through the CUDA driver --------------===//
//
// One CUDA module per cache key; each selection stage and the attention
// function is a kernel launched on the caller's stream with the shared
// parameter array (KernelLaunch.h). Without a caller workspace, the
// executable keeps one device buffer per stream, grown to the largest call on
// that stream: calls on one stream run in order, so they may share it, while
// calls on different streams run concurrently on their own buffers. An event
// recorded after each call that used a buffer ties the buffer's lifetime to
// that work: it is freed (grown, evicted, or with the executable) only after
// the event, and a call waits for it, which orders a new stream that reuses a
// destroyed stream's handle after the old stream's kernels.
//
//===----------------------------------------------------------------------===//

#include "Backends.h"

#include "sattn/CudaDriver.h"
#include "sattn/Errors.h"

#include <map>
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

  ~CudaExecutable() override {
    // Kernels still queued may use the owned buffers.
    for (auto &entry : ownedWorkspaces)
      llvm::consumeError(entry.second.lastUse.synchronize());
  }

  Error run(PreparedCall &call, const Workspace *workspace, void *stream,
            RunTimings *timings) override {
    if (Error err = cuda::makeCurrent())
      return err;
    auto cuStream = static_cast<CUstream>(stream);
    size_t need = call.workspace.bytes;
    std::unique_lock<std::mutex> lock(workspaceMutex, std::defer_lock);
    StreamWorkspace *owned = nullptr;
    if (workspace && need) {
      if (workspace->bytes < need || !workspace->data)
        return makeArgumentError(
            "workspace of " + std::to_string(workspace->bytes) +
            " bytes is too small: this call needs " + std::to_string(need));
      setWorkspace(call, workspace->data);
    } else if (need) {
      // Held until the call is queued and its last use recorded, so that no
      // other thread frees the buffer in between.
      lock.lock();
      auto ws = ownedWorkspace(cuStream, need);
      if (!ws)
        return ws.takeError();
      owned = *ws;
      setWorkspace(call, reinterpret_cast<void *>(owned->buffer.pointer()));
    } else {
      setWorkspace(call, nullptr);
    }
    // Events: before the stages, after each stage (the last of them, or the
    // first event, ends the selection) and after the attention kernel.
    std::vector<cuda::Event> events;
    if (timings) {
      for (size_t i = 0; i < stages.size() + 2; ++i) {
        auto event = cuda::Event::create();
        if (!event)
          return event.takeError();
        events.push_back(std::move(*event));
      }
      if (Error err = events[0].record(cuStream))
        return err;
    }
    for (size_t i = 0; i < stages.size(); ++i) {
      if (Error err = launch(stages[i], stageThreads[i], call,
                             call.stageItems[i], cuStream))
        return err;
      if (timings)
        if (Error err = events[i + 1].record(cuStream))
          return err;
    }
    if (Error err = launch(attention, attentionThreads, call,
                           call.attentionItems, cuStream))
      return err;
    if (owned)
      if (Error err = owned->lastUse.record(cuStream))
        return err;
    if (lock.owns_lock())
      lock.unlock();
    if (!timings)
      return Error::success();
    cuda::Event &end = events.back();
    if (Error err = end.record(cuStream))
      return err;
    if (Error err = end.synchronize())
      return err;
    auto elapsed = [&](size_t from, size_t to) -> Expected<double> {
      auto ms = cuda::Event::elapsedMs(events[from], events[to]);
      if (!ms)
        return ms.takeError();
      return double(*ms);
    };
    timings->stages.assign(stages.size(), {});
    for (size_t i = 0; i < stages.size(); ++i) {
      auto ms = elapsed(i, i + 1);
      if (!ms)
        return ms.takeError();
      timings->stages[i].ms = *ms;
    }
    size_t selectionEnd = stages.size();
    auto sel = elapsed(0, selectionEnd);
    if (!sel)
      return sel.takeError();
    auto att = elapsed(selectionEnd, selectionEnd + 1);
    if (!att)
      return att.takeError();
    timings->selectionMs = *sel;
    timings->attentionMs = *att;
    return Error::success();
  }

private:
  /// A buffer owned for the calls on one stream, and the event recorded
  /// after its last use.
  struct StreamWorkspace {
    cuda::DeviceBuffer buffer;
    cuda::Event lastUse;
  };
  /// Owned buffers kept before idle ones are freed.
  static constexpr size_t kKeptStreamWorkspaces = 8;

  /// The owned buffer of `stream`, at least `need` bytes, ordered after its
  /// earlier use. Called with workspaceMutex held.
  Expected<StreamWorkspace *> ownedWorkspace(CUstream stream, size_t need) {
    auto found = ownedWorkspaces.find(stream);
    if (found == ownedWorkspaces.end()) {
      releaseIdleWorkspaces();
      auto event = cuda::Event::create(cuda::CU_EVENT_DISABLE_TIMING);
      if (!event)
        return event.takeError();
      found = ownedWorkspaces.try_emplace(stream).first;
      found->second.lastUse = std::move(*event);
    } else if (Error err = found->second.lastUse.orderBefore(stream)) {
      return std::move(err);
    }
    StreamWorkspace &ws = found->second;
    if (ws.buffer.size() < need) {
      if (Error err = ws.lastUse.synchronize())
        return std::move(err);
      ws.buffer.reset();
      auto buffer = cuda::DeviceBuffer::allocate(need);
      if (!buffer)
        return buffer.takeError();
      ws.buffer = std::move(*buffer);
    }
    return &ws;
  }

  /// Frees the owned buffers whose work is done once more than
  /// kKeptStreamWorkspaces streams have used this executable.
  void releaseIdleWorkspaces() {
    if (ownedWorkspaces.size() < kKeptStreamWorkspaces)
      return;
    for (auto it = ownedWorkspaces.begin(); it != ownedWorkspaces.end();) {
      auto done = it->second.lastUse.done();
      if (done && *done) {
        it = ownedWorkspaces.erase(it);
        continue;
      }
      if (!done)
        llvm::consumeError(done.takeError());
      ++it;
    }
  }

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
  std::map<CUstream, StreamWorkspace> ownedWorkspaces;
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
