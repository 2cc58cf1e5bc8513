//===- HostStaging.cpp - Running a CUDA kernel on host tensors ------------===//

#include "sattn/HostStaging.h"

#include "sattn/CudaDriver.h"

#include "sattn/Errors.h"

#include "llvm/Support/CheckedArithmetic.h"

#include <algorithm>
#include <optional>

using namespace sattn;

llvm::Error sattn::runWithHostViews(Kernel &kernel, const AttentionArgs &args,
                                    RunTimings *timings) {
  if (llvm::Error e = cuda::makeCurrent())
    return e;
  std::vector<cuda::DeviceBuffer> buffers;
  // A device copy of `view` (the span from its first to its last element).
  auto upload = [&](TensorView &view) -> llvm::Error {
    int64_t elements = 1;
    for (size_t i = 0; i < view.sizes.size(); ++i)
      elements += (view.sizes[i] - 1) * view.strides[i];
    size_t bytes = size_t(elements) * dtypeSize(view.dtype);
    auto buffer = cuda::DeviceBuffer::allocate(bytes);
    if (!buffer)
      return buffer.takeError();
    if (llvm::Error e = buffer->copyFromHost(view.data, bytes))
      return e;
    view.data = reinterpret_cast<void *>(buffer->pointer());
    buffers.push_back(std::move(*buffer));
    return llvm::Error::success();
  };
  AttentionArgs device = args;
  for (TensorView *view : {&device.q, &device.k, &device.v, &device.out})
    if (llvm::Error e = upload(*view))
      return e;
  if (args.wantsLse())
    if (llvm::Error e = upload(device.lse))
      return e;
  for (std::optional<TensorView> *view : {&device.keyScores, &device.weights})
    if (*view)
      if (llvm::Error e = upload(**view))
        return e;
  // Uploaded after out and lse, which stay buffers[3] and [4].
  for (IntInput &input : device.intInputs) {
    // The sizes describe the host buffer, as a view's do; the kernel's call
    // checks them against the pattern afterwards.
    std::optional<int64_t> bytes = int64_t(sizeof(int32_t));
    for (int64_t size : input.sizes)
      bytes = bytes ? llvm::checkedMul(*bytes, std::max<int64_t>(size, 0))
                    : std::nullopt;
    if (!bytes)
      return makeArgumentError("run-time input '" + input.name +
                               "': its sizes overflow");
    if (*bytes == 0 || !input.data)
      continue;
    auto buffer = cuda::DeviceBuffer::allocate(size_t(*bytes));
    if (!buffer)
      return buffer.takeError();
    if (llvm::Error e = buffer->copyFromHost(input.data, size_t(*bytes)))
      return e;
    input.data = reinterpret_cast<const int32_t *>(buffer->pointer());
    buffers.push_back(std::move(*buffer));
  }
  RunTimings local; // asking for timings makes run() wait for the kernels
  if (llvm::Error e =
          kernel.run(device, nullptr, nullptr, timings ? timings : &local))
    return e;
  if (llvm::Error e = buffers[3].copyToHost(args.out.data, buffers[3].size()))
    return e;
  if (!args.wantsLse())
    return llvm::Error::success();
  return buffers[4].copyToHost(args.lse.data, buffers[4].size());
}
