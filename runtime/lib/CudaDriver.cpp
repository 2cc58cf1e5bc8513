//===- CudaDriver.cpp - The CUDA driver API, loaded at run time -----------===//
//
// libcuda.so.1 is opened with dlopen on the first Driver::get() and never
// closed. Each entry point is looked up by its exported symbol name; the
// driver keeps old symbols for compatibility, so a newer driver always has
// them. Nothing here links against CUDA or includes its headers.
//
//===----------------------------------------------------------------------===//

#include "sattn/CudaDriver.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>

#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <mutex>
#include <type_traits>
#include <vector>

using namespace sattn::cuda;

namespace {

constexpr const char *kLibraryName = "libcuda.so.1";

/// The driver once get() has succeeded, for members of objects that can only
/// exist after that; null before.
std::atomic<Driver *> loadedDriver{nullptr};

/// cuGetErrorName and cuGetErrorString as soon as they are resolved, so that
/// even a failing cuInit is described by name.
using ErrorTextFn = CUresult (*)(CUresult, const char **);
std::atomic<ErrorTextFn> errorNameFn{nullptr};
std::atomic<ErrorTextFn> errorStringFn{nullptr};

Driver &driver() {
  Driver *d = loadedDriver.load(std::memory_order_acquire);
  assert(d && "a CUDA object exists, so the driver must be loaded");
  return *d;
}

llvm::Error makeStringError(const llvm::Twine &message) {
  return llvm::make_error<llvm::StringError>(message,
                                             llvm::inconvertibleErrorCode());
}

/// A CudaError for a failed `call`, with `detail` appended to the message.
llvm::Error failure(CUresult result, llvm::StringRef call,
                    llvm::StringRef detail) {
  std::string message =
      (call + " failed: " + describeResult(result) + detail).str();
  return llvm::make_error<CudaError>(result, std::move(message));
}

/// The current context, or an error saying what needs one.
llvm::Expected<CUcontext> requireContext(Driver &d, llvm::StringRef what) {
  CUcontext context = nullptr;
  if (llvm::Error err = SATTN_CU(d, cuCtxGetCurrent)(&context))
    return std::move(err);
  if (!context)
    return makeStringError("cannot " + what +
                           ": no CUDA context is current on this thread "
                           "(call sattn::cuda::makeCurrent first)");
  return context;
}

/// Makes `context` current on this thread for the scope, then restores the
/// thread's previous context. Does nothing when it is already current.
class ContextScope {
public:
  ContextScope(Driver &d, CUcontext context) : d(d) {
    if (!context)
      return;
    CUcontext current = nullptr;
    if (d.cuCtxGetCurrent(&current) != CUDA_SUCCESS || current == context)
      return;
    if (d.cuCtxSetCurrent(context) == CUDA_SUCCESS) {
      previous = current;
      restore = true;
    }
  }
  ~ContextScope() {
    if (restore)
      (void)d.cuCtxSetCurrent(previous);
  }
  ContextScope(const ContextScope &) = delete;
  ContextScope &operator=(const ContextScope &) = delete;

private:
  Driver &d;
  CUcontext previous = nullptr;
  bool restore = false;
};

/// Names of the functions handed out by Module::function, for launch errors.
/// Leaked so that modules destroyed during static destruction can use it.
struct FunctionNames {
  std::mutex mutex;
  llvm::DenseMap<CUfunction, std::pair<CUmodule, std::string>> names;
};

FunctionNames &functionNames() {
  static FunctionNames *names = new FunctionNames();
  return *names;
}

/// Primary contexts retained by makeCurrent, by device ordinal.
struct PrimaryContexts {
  std::mutex mutex;
  std::map<int, CUcontext> contexts;
};

PrimaryContexts &primaryContexts() {
  static PrimaryContexts *contexts = new PrimaryContexts();
  return *contexts;
}

std::string formatDim(Dim3 dim) {
  return std::to_string(dim.x) + "x" + std::to_string(dim.y) + "x" +
         std::to_string(dim.z);
}

/// The text of a JIT log buffer: up to the first NUL, trailing space removed.
std::string logText(const std::vector<char> &buffer) {
  size_t length = strnlen(buffer.data(), buffer.size());
  return llvm::StringRef(buffer.data(), length).rtrim().str();
}

} // namespace

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

llvm::Error Driver::load() {
  (void)dlerror();
  library = dlopen(kLibraryName, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *reason = dlerror();
    llvm::StringRef text = reason ? reason : "unknown dlopen error";
    // glibc starts the message with the file name; do not repeat it.
    text.consume_front(std::string(kLibraryName) + ": ");
    return makeStringError(llvm::Twine("CUDA driver not available: ") +
                           kLibraryName + ": " + text);
  }

  // The first name the library exports wins.
  const char *missing = nullptr;
  auto resolve = [&](auto &member,
                     std::initializer_list<const char *> symbols) {
    using Fn = std::remove_reference_t<decltype(member)>;
    for (const char *symbol : symbols) {
      if (void *address = dlsym(library, symbol)) {
        member = reinterpret_cast<Fn>(address);
        return;
      }
    }
    if (!missing)
      missing = *symbols.begin();
  };
#define SATTN_RESOLVE(MEMBER) resolve(MEMBER, {#MEMBER})
  SATTN_RESOLVE(cuGetErrorName);
  SATTN_RESOLVE(cuGetErrorString);
  SATTN_RESOLVE(cuInit);
  SATTN_RESOLVE(cuDriverGetVersion);
  SATTN_RESOLVE(cuDeviceGet);
  SATTN_RESOLVE(cuDeviceGetCount);
  SATTN_RESOLVE(cuDeviceGetAttribute);
  SATTN_RESOLVE(cuDeviceGetName);
  SATTN_RESOLVE(cuDevicePrimaryCtxRetain);
  SATTN_RESOLVE(cuDevicePrimaryCtxRelease_v2);
  SATTN_RESOLVE(cuCtxSetCurrent);
  SATTN_RESOLVE(cuCtxGetCurrent);
  SATTN_RESOLVE(cuCtxSynchronize);
  SATTN_RESOLVE(cuMemAlloc_v2);
  SATTN_RESOLVE(cuMemFree_v2);
  SATTN_RESOLVE(cuMemcpyHtoD_v2);
  SATTN_RESOLVE(cuMemcpyDtoH_v2);
  SATTN_RESOLVE(cuMemcpyHtoDAsync_v2);
  SATTN_RESOLVE(cuMemcpyDtoHAsync_v2);
  SATTN_RESOLVE(cuMemcpyDtoDAsync_v2);
  SATTN_RESOLVE(cuMemsetD8_v2);
  SATTN_RESOLVE(cuMemsetD2D8Async);
  SATTN_RESOLVE(cuMemsetD2D32Async);
  SATTN_RESOLVE(cuModuleLoadDataEx);
  SATTN_RESOLVE(cuModuleUnload);
  SATTN_RESOLVE(cuModuleGetFunction);
  SATTN_RESOLVE(cuFuncSetAttribute);
  SATTN_RESOLVE(cuFuncGetAttribute);
  SATTN_RESOLVE(cuLaunchKernel);
  SATTN_RESOLVE(cuOccupancyMaxActiveBlocksPerMultiprocessor);
  SATTN_RESOLVE(cuStreamCreate);
  SATTN_RESOLVE(cuStreamDestroy_v2);
  SATTN_RESOLVE(cuStreamSynchronize);
  SATTN_RESOLVE(cuStreamWaitEvent);
  SATTN_RESOLVE(cuEventCreate);
  SATTN_RESOLVE(cuEventDestroy_v2);
  SATTN_RESOLVE(cuEventRecord);
  SATTN_RESOLVE(cuEventSynchronize);
  SATTN_RESOLVE(cuEventQuery);
#undef SATTN_RESOLVE
  resolve(cuEventElapsedTime, {"cuEventElapsedTime_v2", "cuEventElapsedTime"});

  if (cuGetErrorName && cuGetErrorString) {
    errorNameFn.store(cuGetErrorName, std::memory_order_release);
    errorStringFn.store(cuGetErrorString, std::memory_order_release);
  }
  if (missing)
    return makeStringError(llvm::Twine("CUDA driver too old: ") + kLibraryName +
                           " has no " + missing);

  return SATTN_CU(*this, cuInit)(0u);
}

llvm::Expected<Driver &> Driver::get() {
  static Driver instance;
  static std::once_flag once;
  // The outcome of the first call; every later call reports the same.
  static bool loaded = false;
  static CUresult failedResult = CUDA_SUCCESS;
  static std::string failureMessage;

  std::call_once(once, [] {
    llvm::Error err = instance.load();
    if (!err) {
      loaded = true;
      loadedDriver.store(&instance, std::memory_order_release);
      return;
    }
    llvm::handleAllErrors(
        std::move(err),
        [](const CudaError &e) {
          failedResult = e.result();
          failureMessage = e.message();
        },
        [](const llvm::ErrorInfoBase &e) { failureMessage = e.message(); });
  });

  if (loaded)
    return instance;
  if (failedResult != CUDA_SUCCESS)
    return llvm::make_error<CudaError>(failedResult, failureMessage);
  return makeStringError(failureMessage);
}

bool sattn::cuda::available() {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d) {
    llvm::consumeError(d.takeError());
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

char CudaError::ID = 0;

void CudaError::log(llvm::raw_ostream &os) const { os << text; }

std::error_code CudaError::convertToErrorCode() const {
  return llvm::inconvertibleErrorCode();
}

std::string sattn::cuda::describeResult(CUresult result) {
  ErrorTextFn nameFn = errorNameFn.load(std::memory_order_acquire);
  ErrorTextFn stringFn = errorStringFn.load(std::memory_order_acquire);
  const char *name = nullptr;
  const char *text = nullptr;
  if (nameFn && nameFn(result, &name) != CUDA_SUCCESS)
    name = nullptr;
  if (stringFn && stringFn(result, &text) != CUDA_SUCCESS)
    text = nullptr;

  std::string out;
  llvm::raw_string_ostream os(out);
  if (name)
    os << name << " (" << result << ")";
  else
    os << "CUDA error " << result;
  if (text)
    os << ": " << text;
  return out;
}

llvm::Error sattn::cuda::check(CUresult result, const char *call) {
  if (result == CUDA_SUCCESS)
    return llvm::Error::success();
  return failure(result, call, "");
}

//===----------------------------------------------------------------------===//
// Devices and contexts
//===----------------------------------------------------------------------===//

std::string DeviceInfo::arch() const {
  return "sm_" + std::to_string(major * 10 + minor);
}

llvm::Expected<int> sattn::cuda::deviceCount() {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  int count = 0;
  if (llvm::Error err = SATTN_CU(*d, cuDeviceGetCount)(&count))
    return std::move(err);
  return count;
}

llvm::Expected<DeviceInfo> sattn::cuda::deviceInfo(int ordinal) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  CUdevice device = 0;
  if (llvm::Error err = SATTN_CU(*d, cuDeviceGet)(&device, ordinal))
    return std::move(err);

  DeviceInfo info;
  info.ordinal = ordinal;
  char name[256] = {};
  if (llvm::Error err =
          SATTN_CU(*d, cuDeviceGetName)(name, int(sizeof(name) - 1), device))
    return std::move(err);
  info.name = name;
  std::pair<CUdevice_attribute, int *> attributes[] = {
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &info.major},
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &info.minor},
      {CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, &info.smCount},
      {CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
       &info.maxSharedPerBlockOptin},
  };
  for (auto [attribute, value] : attributes)
    if (llvm::Error err =
            SATTN_CU(*d, cuDeviceGetAttribute)(value, attribute, device))
      return std::move(err);
  if (llvm::Error err = SATTN_CU(*d, cuDriverGetVersion)(&info.driverVersion))
    return std::move(err);
  return info;
}

llvm::Error sattn::cuda::makeCurrent(int ordinal) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();

  CUcontext context = nullptr;
  {
    PrimaryContexts &primary = primaryContexts();
    std::lock_guard<std::mutex> lock(primary.mutex);
    auto it = primary.contexts.find(ordinal);
    if (it != primary.contexts.end()) {
      context = it->second;
    } else {
      CUdevice device = 0;
      if (llvm::Error err = SATTN_CU(*d, cuDeviceGet)(&device, ordinal))
        return err;
      if (llvm::Error err =
              SATTN_CU(*d, cuDevicePrimaryCtxRetain)(&context, device))
        return err;
      primary.contexts.emplace(ordinal, context);
    }
  }
  return SATTN_CU(*d, cuCtxSetCurrent)(context);
}

llvm::Error sattn::cuda::synchronize() {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  return SATTN_CU(*d, cuCtxSynchronize)();
}

//===----------------------------------------------------------------------===//
// Modules and kernels
//===----------------------------------------------------------------------===//

llvm::Expected<Module> Module::loadData(const std::string &image) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  if (image.empty())
    return makeStringError("cannot load a CUDA module from an empty image");
  llvm::Expected<CUcontext> context = requireContext(*d, "load a CUDA module");
  if (!context)
    return context.takeError();

  // The JIT writes its logs into these; the size options come back holding
  // the bytes written.
  constexpr size_t logSize = 64 * 1024;
  std::vector<char> infoLog(logSize, '\0');
  std::vector<char> errorLog(logSize, '\0');
  CUjit_option options[] = {
      CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
      CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {
      infoLog.data(), reinterpret_cast<void *>(uintptr_t(logSize - 1)),
      errorLog.data(), reinterpret_cast<void *>(uintptr_t(logSize - 1))};

  // std::string keeps a NUL after the bytes, which PTX text needs.
  CUmodule handle = nullptr;
  CUresult result = d->cuModuleLoadDataEx(
      &handle, image.c_str(), unsigned(std::size(options)), options, values);
  if (result != CUDA_SUCCESS) {
    std::string detail;
    std::string errorText = logText(errorLog);
    std::string infoText = logText(infoLog);
    if (!errorText.empty())
      detail += "\nJIT error log:\n" + errorText;
    if (!infoText.empty())
      detail += "\nJIT info log:\n" + infoText;
    return failure(result, "cuModuleLoadDataEx", detail);
  }

  Module module;
  module.module = handle;
  module.context = *context;
  module.jitInfoLog = logText(infoLog);
  return std::move(module);
}

Module &Module::operator=(Module &&other) noexcept {
  if (this != &other) {
    reset();
    module = std::exchange(other.module, nullptr);
    context = std::exchange(other.context, nullptr);
    jitInfoLog = std::move(other.jitInfoLog);
  }
  return *this;
}

void Module::reset() {
  if (!module)
    return;
  {
    FunctionNames &names = functionNames();
    std::lock_guard<std::mutex> lock(names.mutex);
    llvm::SmallVector<CUfunction> stale;
    for (const auto &entry : names.names)
      if (entry.second.first == module)
        stale.push_back(entry.first);
    for (CUfunction function : stale)
      names.names.erase(function);
  }
  Driver &d = driver();
  ContextScope scope(d, context);
  (void)d.cuModuleUnload(module);
  module = nullptr;
  context = nullptr;
  jitInfoLog.clear();
}

llvm::Expected<CUfunction> Module::function(llvm::StringRef name) const {
  if (!module)
    return makeStringError("cannot get kernel '" + name +
                           "' from an empty Module");
  Driver &d = driver();
  ContextScope scope(d, context);
  std::string nameText = name.str();
  CUfunction function = nullptr;
  CUresult result = d.cuModuleGetFunction(&function, module, nameText.c_str());
  if (result != CUDA_SUCCESS)
    return failure(result, "cuModuleGetFunction",
                   " (kernel '" + nameText + "')");

  FunctionNames &names = functionNames();
  std::lock_guard<std::mutex> lock(names.mutex);
  names.names[function] = {module, std::move(nameText)};
  return function;
}

std::string sattn::cuda::functionName(CUfunction function) {
  FunctionNames &names = functionNames();
  std::lock_guard<std::mutex> lock(names.mutex);
  auto it = names.names.find(function);
  return it == names.names.end() ? std::string() : it->second.second;
}

llvm::Error sattn::cuda::copyDeviceAsync(CUdeviceptr dst, CUdeviceptr src,
                                         size_t bytes, CUstream stream) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  return SATTN_CU(*d, cuMemcpyDtoDAsync_v2)(dst, src, bytes, stream);
}

llvm::Error sattn::cuda::memset2D(CUdeviceptr dst, size_t pitch,
                                  unsigned char value, size_t width,
                                  size_t height, CUstream stream) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  return SATTN_CU(*d, cuMemsetD2D8Async)(dst, pitch, value, width, height,
                                         stream);
}

llvm::Error sattn::cuda::memset2D32(CUdeviceptr dst, size_t pitch,
                                    uint32_t value, size_t width, size_t height,
                                    CUstream stream) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  return SATTN_CU(*d, cuMemsetD2D32Async)(dst, pitch, value, width, height,
                                          stream);
}

llvm::Error sattn::cuda::launch(CUfunction function, Dim3 grid, Dim3 block,
                                unsigned sharedBytes, CUstream stream,
                                void **params) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  if (!function)
    return makeStringError("cannot launch a null CUfunction");
  CUresult result =
      d->cuLaunchKernel(function, grid.x, grid.y, grid.z, block.x, block.y,
                        block.z, sharedBytes, stream, params, nullptr);
  if (result == CUDA_SUCCESS)
    return llvm::Error::success();

  std::string name = functionName(function);
  std::string detail = " (";
  if (!name.empty())
    detail += "kernel '" + name + "', ";
  detail += "grid " + formatDim(grid) + ", block " + formatDim(block) + ", " +
            std::to_string(sharedBytes) + " bytes of dynamic shared memory)";
  return failure(result, "cuLaunchKernel", detail);
}

llvm::Expected<int>
sattn::cuda::functionAttribute(CUfunction function,
                               CUfunction_attribute attribute) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  int value = 0;
  if (llvm::Error err =
          SATTN_CU(*d, cuFuncGetAttribute)(&value, attribute, function))
    return std::move(err);
  return value;
}

llvm::Error sattn::cuda::setFunctionAttribute(CUfunction function,
                                              CUfunction_attribute attribute,
                                              int value) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  return SATTN_CU(*d, cuFuncSetAttribute)(function, attribute, value);
}

llvm::Expected<int>
sattn::cuda::maxActiveBlocksPerSM(CUfunction function, int blockSize,
                                  size_t dynamicSharedBytes) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  int blocks = 0;
  if (llvm::Error err =
          SATTN_CU(*d, cuOccupancyMaxActiveBlocksPerMultiprocessor)(
              &blocks, function, blockSize, dynamicSharedBytes))
    return std::move(err);
  return blocks;
}

//===----------------------------------------------------------------------===//
// Memory, streams and events
//===----------------------------------------------------------------------===//

llvm::Expected<DeviceBuffer> DeviceBuffer::allocate(size_t bytes) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  if (bytes == 0)
    return DeviceBuffer();
  llvm::Expected<CUcontext> context =
      requireContext(*d, "allocate device memory");
  if (!context)
    return context.takeError();
  CUdeviceptr pointer = 0;
  CUresult result = d->cuMemAlloc_v2(&pointer, bytes);
  if (result != CUDA_SUCCESS)
    return failure(result, "cuMemAlloc_v2",
                   " (" + std::to_string(bytes) + " bytes)");
  DeviceBuffer buffer;
  buffer.devicePointer = pointer;
  buffer.bytes = bytes;
  buffer.context = *context;
  return std::move(buffer);
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    reset();
    devicePointer = std::exchange(other.devicePointer, 0);
    bytes = std::exchange(other.bytes, 0);
    context = std::exchange(other.context, nullptr);
  }
  return *this;
}

void DeviceBuffer::reset() {
  if (!devicePointer)
    return;
  Driver &d = driver();
  ContextScope scope(d, context);
  (void)d.cuMemFree_v2(devicePointer);
  devicePointer = 0;
  bytes = 0;
  context = nullptr;
}

llvm::Error DeviceBuffer::checkRange(const char *what, size_t count,
                                     size_t offset) const {
  if (offset <= bytes && count <= bytes - offset)
    return llvm::Error::success();
  return makeStringError(llvm::Twine(what) + ": " + llvm::Twine(count) +
                         " bytes at offset " + llvm::Twine(offset) +
                         " exceed the " + llvm::Twine(bytes) +
                         "-byte device buffer");
}

llvm::Error DeviceBuffer::copyFromHost(const void *src, size_t count,
                                       size_t offset) {
  if (count == 0)
    return llvm::Error::success();
  if (llvm::Error err = checkRange("copyFromHost", count, offset))
    return err;
  Driver &d = driver();
  ContextScope scope(d, context);
  return SATTN_CU(d, cuMemcpyHtoD_v2)(devicePointer + offset, src, count);
}

llvm::Error DeviceBuffer::copyToHost(void *dst, size_t count,
                                     size_t offset) const {
  if (count == 0)
    return llvm::Error::success();
  if (llvm::Error err = checkRange("copyToHost", count, offset))
    return err;
  Driver &d = driver();
  ContextScope scope(d, context);
  return SATTN_CU(d, cuMemcpyDtoH_v2)(dst, devicePointer + offset, count);
}

llvm::Error DeviceBuffer::copyFromHostAsync(const void *src, size_t count,
                                            CUstream stream, size_t offset) {
  if (count == 0)
    return llvm::Error::success();
  if (llvm::Error err = checkRange("copyFromHostAsync", count, offset))
    return err;
  Driver &d = driver();
  ContextScope scope(d, context);
  return SATTN_CU(d, cuMemcpyHtoDAsync_v2)(devicePointer + offset, src, count,
                                           stream);
}

llvm::Error DeviceBuffer::copyToHostAsync(void *dst, size_t count,
                                          CUstream stream,
                                          size_t offset) const {
  if (count == 0)
    return llvm::Error::success();
  if (llvm::Error err = checkRange("copyToHostAsync", count, offset))
    return err;
  Driver &d = driver();
  ContextScope scope(d, context);
  return SATTN_CU(d, cuMemcpyDtoHAsync_v2)(dst, devicePointer + offset, count,
                                           stream);
}

llvm::Error DeviceBuffer::memsetZero() {
  if (bytes == 0)
    return llvm::Error::success();
  Driver &d = driver();
  ContextScope scope(d, context);
  return SATTN_CU(d, cuMemsetD8_v2)(devicePointer, 0, bytes);
}

llvm::Expected<Stream> Stream::create(unsigned flags) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  llvm::Expected<CUcontext> context = requireContext(*d, "create a stream");
  if (!context)
    return context.takeError();
  Stream stream;
  if (llvm::Error err = SATTN_CU(*d, cuStreamCreate)(&stream.stream, flags))
    return std::move(err);
  stream.context = *context;
  return std::move(stream);
}

Stream &Stream::operator=(Stream &&other) noexcept {
  if (this != &other) {
    reset();
    stream = std::exchange(other.stream, nullptr);
    context = std::exchange(other.context, nullptr);
  }
  return *this;
}

void Stream::reset() {
  if (!stream)
    return;
  Driver &d = driver();
  ContextScope scope(d, context);
  (void)d.cuStreamDestroy_v2(stream);
  stream = nullptr;
  context = nullptr;
}

llvm::Error Stream::synchronize() const {
  if (!stream)
    return makeStringError("cannot synchronize an empty Stream");
  Driver &d = driver();
  ContextScope scope(d, context);
  return SATTN_CU(d, cuStreamSynchronize)(stream);
}

llvm::Expected<Event> Event::create(unsigned flags) {
  llvm::Expected<Driver &> d = Driver::get();
  if (!d)
    return d.takeError();
  llvm::Expected<CUcontext> context = requireContext(*d, "create an event");
  if (!context)
    return context.takeError();
  Event event;
  if (llvm::Error err = SATTN_CU(*d, cuEventCreate)(&event.event, flags))
    return std::move(err);
  event.context = *context;
  return std::move(event);
}

Event &Event::operator=(Event &&other) noexcept {
  if (this != &other) {
    reset();
    event = std::exchange(other.event, nullptr);
    context = std::exchange(other.context, nullptr);
  }
  return *this;
}

void Event::reset() {
  if (!event)
    return;
  Driver &d = driver();
  ContextScope scope(d, context);
  (void)d.cuEventDestroy_v2(event);
  event = nullptr;
  context = nullptr;
}

llvm::Error Event::record(CUstream stream) {
  if (!event)
    return makeStringError("cannot record an empty Event");
  Driver &d = driver();
  ContextScope scope(d, context);
  return SATTN_CU(d, cuEventRecord)(event, stream);
}

llvm::Error Event::synchronize() const {
  if (!event)
    return makeStringError("cannot synchronize an empty Event");
  Driver &d = driver();
  ContextScope scope(d, context);
  return SATTN_CU(d, cuEventSynchronize)(event);
}

llvm::Expected<bool> Event::done() const {
  if (!event)
    return makeStringError("cannot query an empty Event");
  Driver &d = driver();
  ContextScope scope(d, context);
  CUresult result = d.cuEventQuery(event);
  if (result == CUDA_ERROR_NOT_READY)
    return false;
  if (llvm::Error err = check(result, "cuEventQuery"))
    return std::move(err);
  return true;
}

llvm::Error Event::orderBefore(CUstream stream) const {
  if (!event)
    return makeStringError("cannot wait for an empty Event");
  Driver &d = driver();
  ContextScope scope(d, context);
  return SATTN_CU(d, cuStreamWaitEvent)(stream, event, 0);
}

llvm::Expected<float> Event::elapsedMs(const Event &start, const Event &end) {
  if (!start.event || !end.event)
    return makeStringError("cannot time between empty Events");
  Driver &d = driver();
  ContextScope scope(d, start.context);
  float milliseconds = 0;
  if (llvm::Error err = SATTN_CU(d, cuEventElapsedTime)(&milliseconds,
                                                        start.event, end.event))
    return std::move(err);
  return milliseconds;
}
