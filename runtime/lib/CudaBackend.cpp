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
/// A loaded kernel function and its launch shape.
struct LoadedFunction {
  CUfunction fn = nullptr;
  int64_t threads = 1;
  unsigned sharedBytes = 0;
};

class CudaExecutable : public Executable {
public:
  CudaExecutable(cuda::Module module, std::vector<LoadedFunction> stages,
                 LoadedFunction attention)
      : module(std::move(module)), stages(std::move(stages)),
        attention(attention) {}

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
    // Inside the timed span: the copies are part of the call's cost.
    for (const PreparedCall::InputCopy &copy : call.inputCopies)
      if (copy.count > 0)
        if (Error err = cuda::copyDeviceAsync(
                cuda::CUdeviceptr(
                    reinterpret_cast<uintptr_t>(call.destination(copy))),
                cuda::CUdeviceptr(reinterpret_cast<uintptr_t>(copy.source)),
                size_t(copy.count) * sizeof(int32_t), cuStream)) {
          // Copies already queued write the owned buffer: its last use.
          if (owned)
            llvm::consumeError(owned->lastUse.record(cuStream));
          return err;
        }
    for (size_t i = 0; i < stages.size(); ++i) {
      if (Error err = launch(stages[i], call, call.stageItems[i], cuStream))
        return err;
      if (timings)
        if (Error err = events[i + 1].record(cuStream))
          return err;
    }
    if (Error err = launch(attention, call, call.attentionItems, cuStream))
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

  Error launch(const LoadedFunction &f, const PreparedCall &call, int64_t items,
               CUstream stream) {
    constexpr int64_t kMaxGrid = (int64_t(1) << 31) - 1;
    for (int64_t begin = 0; begin < items; begin += kMaxGrid) {
      int64_t end = std::min(items, begin + kMaxGrid);
      KernelArguments args = call.args;
      args.setGrid(begin, end);
      if (Error err = cuda::launch(f.fn, {unsigned(end - begin), 1, 1},
                                   {unsigned(f.threads), 1, 1}, f.sharedBytes,
                                   stream, args.params()))
        return err;
    }
    return Error::success();
  }

  cuda::Module module;
  std::vector<LoadedFunction> stages;
  LoadedFunction attention;
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
  auto load = [&](const KernelFunction &f) -> Expected<LoadedFunction> {
    auto fn = module->function(f.entry);
    if (!fn)
      return fn.takeError();
    // Beyond 48 KB, dynamic shared memory is an opt-in per function.
    if (f.dynamicSharedBytes > 0)
      if (Error err = cuda::setFunctionAttribute(
              *fn, cuda::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
              int(f.dynamicSharedBytes)))
        return makeError("kernel '" + f.entry + "' needs " +
                         llvm::Twine(f.dynamicSharedBytes) +
                         " bytes of dynamic shared memory: " +
                         llvm::toString(std::move(err)));
    return LoadedFunction{*fn, f.threads, unsigned(f.dynamicSharedBytes)};
  };
  std::vector<LoadedFunction> stages;
  for (const KernelFunction &stage : artifact.info.stages) {
    auto f = load(stage);
    if (!f)
      return f.takeError();
    stages.push_back(*f);
  }
  auto attention = load(artifact.info.attention);
  if (!attention)
    return attention.takeError();
  return std::make_shared<CudaExecutable>(std::move(*module), std::move(stages),
                                          *attention);
}

Error sattn::clearRowsOnDevice(const AttentionArgs &args, int64_t q0,
                               int64_t rows, void *stream) {
  // Batch 0 (packed calls have one); out rows are D elements, strided.
  const TensorView &out = args.out;
  const size_t bytes = dtypeSize(out.dtype);
  const int64_t heads = out.sizes[1], d = out.sizes[3];
  auto at = [](const TensorView &view, int64_t offset, size_t size) {
    return cuda::CUdeviceptr(reinterpret_cast<uintptr_t>(view.data) +
                             uint64_t(offset) * size);
  };
  auto cuStream = static_cast<CUstream>(stream);
  const uint32_t negativeInfinity = 0xff800000u; // f32 -inf
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t first = h * out.strides[1] + q0 * out.strides[2];
    const size_t pitch = size_t(out.strides[2]) * bytes;
    if (out.strides[3] == 1) {
      if (Error e = cuda::memset2D(at(out, first, bytes), pitch, 0,
                                   size_t(d) * bytes, size_t(rows), cuStream))
        return e;
    } else {
      for (int64_t c = 0; c < d; ++c)
        if (Error e = cuda::memset2D(at(out, first + c * out.strides[3], bytes),
                                     pitch, 0, bytes, size_t(rows), cuStream))
          return e;
    }
    if (!args.wantsLse())
      continue;
    const TensorView &lse = args.lse;
    if (lse.dtype != DType::F32)
      return makeArgumentError("lse must be float32");
    if (Error e = cuda::memset2D32(
            at(lse, h * lse.strides[1] + q0 * lse.strides[2], 4),
            size_t(lse.strides[2]) * 4, negativeInfinity, 1, size_t(rows),
            cuStream))
      return e;
  }
  return Error::success();
}
