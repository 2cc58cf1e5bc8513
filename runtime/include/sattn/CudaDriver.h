//===- CudaDriver.h - The CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// sattn talks to the GPU through the CUDA driver API (libcuda), which it
// loads with dlopen on first use instead of linking it, so that the library
// and its tools build, link and run on machines without a GPU or a driver:
// there every GPU entry point returns an error that says so.
//
//   llvm::Expected<sattn::cuda::Driver &> driver = sattn::cuda::Driver::get();
//   if (!driver) ... llvm::toString(driver.takeError()) ...
//   if (llvm::Error err = sattn::cuda::makeCurrent(0)) ...
//   auto module = sattn::cuda::Module::loadData(ptx);
//   auto kernel = module->function("attention_fwd");
//   if (llvm::Error err = sattn::cuda::launch(*kernel, {blocks}, {128},
//                                             sharedBytes, stream, params)) ...
//
// The driver's types and the few enum values sattn uses are declared here
// rather than taken from cuda.h, so no CUDA toolkit is needed to build. Do not
// include cuda.h in a file that includes this header: its macros (cuMemAlloc
// -> cuMemAlloc_v2, cuEventElapsedTime -> cuEventElapsedTime_v2, ...) would
// rename members of Driver.
//
// Everything here is thread-safe: Driver is immutable once get() returned, and
// the objects below own their handles (one object must not be used by two
// threads at once, as usual). Objects that need a context (Module,
// DeviceBuffer, Event, Stream) are created in the context current on the
// calling thread, normally the primary context set by makeCurrent(), and
// remember it: their members and destructors make it current for the call
// (and restore the thread's context after), so any thread may use them.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_CUDADRIVER_H
#define SATTN_CUDADRIVER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <string>
#include <utility>

// The driver's opaque handle types, declared as cuda.h declares them.
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;

namespace sattn::cuda {

//===----------------------------------------------------------------------===//
// Driver types and constants
//===----------------------------------------------------------------------===//

using CUresult = int;
using CUdevice = int;
using CUcontext = ::CUctx_st *;
using CUmodule = ::CUmod_st *;
using CUfunction = ::CUfunc_st *;
using CUstream = ::CUstream_st *;
using CUevent = ::CUevent_st *;
using CUdeviceptr = unsigned long long;
/// The driver's enums, passed by value as int.
using CUjit_option = int;
using CUdevice_attribute = int;
using CUfunction_attribute = int;

// CUresult values.
inline constexpr CUresult CUDA_SUCCESS = 0;
inline constexpr CUresult CUDA_ERROR_INVALID_VALUE = 1;
inline constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
inline constexpr CUresult CUDA_ERROR_NOT_INITIALIZED = 3;
inline constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;
inline constexpr CUresult CUDA_ERROR_INVALID_IMAGE = 200;
inline constexpr CUresult CUDA_ERROR_INVALID_CONTEXT = 201;
inline constexpr CUresult CUDA_ERROR_NO_BINARY_FOR_GPU = 209;
inline constexpr CUresult CUDA_ERROR_INVALID_PTX = 218;
inline constexpr CUresult CUDA_ERROR_INVALID_HANDLE = 400;
inline constexpr CUresult CUDA_ERROR_NOT_FOUND = 500;
inline constexpr CUresult CUDA_ERROR_NOT_READY = 600;
inline constexpr CUresult CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701;

// CUdevice_attribute values.
inline constexpr CUdevice_attribute CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK =
    1;
inline constexpr CUdevice_attribute
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8;
inline constexpr CUdevice_attribute CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT =
    16;
inline constexpr CUdevice_attribute
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
inline constexpr CUdevice_attribute
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
inline constexpr CUdevice_attribute
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;

// CUfunction_attribute values.
inline constexpr CUfunction_attribute CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK =
    0;
inline constexpr CUfunction_attribute CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1;
inline constexpr CUfunction_attribute CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES = 3;
inline constexpr CUfunction_attribute CU_FUNC_ATTRIBUTE_NUM_REGS = 4;
inline constexpr CUfunction_attribute
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

// CUjit_option values.
inline constexpr CUjit_option CU_JIT_INFO_LOG_BUFFER = 3;
inline constexpr CUjit_option CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
inline constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER = 5;
inline constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

// Flags of cuStreamCreate and cuEventCreate.
inline constexpr unsigned CU_STREAM_DEFAULT = 0x0;
inline constexpr unsigned CU_STREAM_NON_BLOCKING = 0x1;
inline constexpr unsigned CU_EVENT_DEFAULT = 0x0;
inline constexpr unsigned CU_EVENT_BLOCKING_SYNC = 0x1;
inline constexpr unsigned CU_EVENT_DISABLE_TIMING = 0x2;

//===----------------------------------------------------------------------===//
// The driver
//===----------------------------------------------------------------------===//

/// The entry points of libcuda.so.1. Each member is named after the symbol it
/// is resolved from (the `_v2` symbols where the driver has them) and is
/// never null once get() succeeded. Call them through SATTN_CU (below) to get
/// an llvm::Error.
class Driver {
public:
  /// The process-wide driver. The first call loads libcuda.so.1, resolves
  /// every entry point and calls cuInit(0); later calls return the same
  /// result (the driver or a copy of the same error). Errors:
  ///   "CUDA driver not available: libcuda.so.1: <dlerror() text>"
  ///   "CUDA driver too old: libcuda.so.1 has no <symbol>"
  ///   "cuInit failed: CUDA_ERROR_NO_DEVICE (100): ..." (a CudaError)
  static llvm::Expected<Driver &> get();

  Driver(const Driver &) = delete;
  Driver &operator=(const Driver &) = delete;

  // Initialization and devices.
  CUresult (*cuInit)(unsigned flags) = nullptr;
  CUresult (*cuDriverGetVersion)(int *version) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *device, int ordinal) = nullptr;
  CUresult (*cuDeviceGetCount)(int *count) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *value, CUdevice_attribute attribute,
                                   CUdevice device) = nullptr;
  CUresult (*cuDeviceGetName)(char *name, int length,
                              CUdevice device) = nullptr;
  CUresult (*cuGetErrorName)(CUresult error, const char **name) = nullptr;
  CUresult (*cuGetErrorString)(CUresult error, const char **text) = nullptr;

  // Contexts.
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *context,
                                       CUdevice device) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease_v2)(CUdevice device) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext context) = nullptr;
  CUresult (*cuCtxGetCurrent)(CUcontext *context) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;

  // Memory.
  CUresult (*cuMemAlloc_v2)(CUdeviceptr *pointer, size_t bytes) = nullptr;
  CUresult (*cuMemFree_v2)(CUdeviceptr pointer) = nullptr;
  CUresult (*cuMemcpyHtoD_v2)(CUdeviceptr dst, const void *src,
                              size_t bytes) = nullptr;
  CUresult (*cuMemcpyDtoH_v2)(void *dst, CUdeviceptr src,
                              size_t bytes) = nullptr;
  CUresult (*cuMemcpyHtoDAsync_v2)(CUdeviceptr dst, const void *src,
                                   size_t bytes, CUstream stream) = nullptr;
  CUresult (*cuMemcpyDtoHAsync_v2)(void *dst, CUdeviceptr src, size_t bytes,
                                   CUstream stream) = nullptr;
  CUresult (*cuMemcpyDtoDAsync_v2)(CUdeviceptr dst, CUdeviceptr src,
                                   size_t bytes, CUstream stream) = nullptr;
  CUresult (*cuMemsetD8_v2)(CUdeviceptr dst, unsigned char value,
                            size_t count) = nullptr;
  CUresult (*cuMemsetD2D8Async)(CUdeviceptr dst, size_t pitch,
                                unsigned char value, size_t width,
                                size_t height, CUstream stream) = nullptr;
  CUresult (*cuMemsetD2D32Async)(CUdeviceptr dst, size_t pitch, unsigned value,
                                 size_t width, size_t height,
                                 CUstream stream) = nullptr;

  // Modules and kernels.
  CUresult (*cuModuleLoadDataEx)(CUmodule *module, const void *image,
                                 unsigned numOptions, CUjit_option *options,
                                 void **optionValues) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule module) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction *function, CUmodule module,
                                  const char *name) = nullptr;
  CUresult (*cuFuncSetAttribute)(CUfunction function,
                                 CUfunction_attribute attribute,
                                 int value) = nullptr;
  CUresult (*cuFuncGetAttribute)(int *value, CUfunction_attribute attribute,
                                 CUfunction function) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction function, unsigned gridX,
                             unsigned gridY, unsigned gridZ, unsigned blockX,
                             unsigned blockY, unsigned blockZ,
                             unsigned sharedBytes, CUstream stream,
                             void **params, void **extra) = nullptr;
  CUresult (*cuOccupancyMaxActiveBlocksPerMultiprocessor)(
      int *blocks, CUfunction function, int blockSize,
      size_t dynamicSharedBytes) = nullptr;

  // Streams and events.
  CUresult (*cuStreamCreate)(CUstream *stream, unsigned flags) = nullptr;
  CUresult (*cuStreamDestroy_v2)(CUstream stream) = nullptr;
  CUresult (*cuStreamSynchronize)(CUstream stream) = nullptr;
  CUresult (*cuStreamWaitEvent)(CUstream stream, CUevent event,
                                unsigned flags) = nullptr;
  CUresult (*cuEventCreate)(CUevent *event, unsigned flags) = nullptr;
  CUresult (*cuEventDestroy_v2)(CUevent event) = nullptr;
  CUresult (*cuEventRecord)(CUevent event, CUstream stream) = nullptr;
  CUresult (*cuEventSynchronize)(CUevent event) = nullptr;
  CUresult (*cuEventQuery)(CUevent event) = nullptr;
  /// cuEventElapsedTime_v2 where the driver has it (CUDA 12.8 and later),
  /// else cuEventElapsedTime; both have this signature.
  CUresult (*cuEventElapsedTime)(float *milliseconds, CUevent start,
                                 CUevent end) = nullptr;

private:
  Driver() = default;
  /// Loads the library, resolves the entry points and calls cuInit.
  llvm::Error load();

  void *library = nullptr;
};

/// Whether Driver::get() succeeds: libcuda.so.1 loads and cuInit(0) works
/// (which needs at least one device). Prints nothing.
bool available();

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

/// A failed driver call. The message reads
///   "cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX (218): a PTX JIT
///    compilation failed"
/// sometimes followed by context (a JIT log, the kernel that was launched).
class CudaError : public llvm::ErrorInfo<CudaError> {
public:
  static char ID;

  CudaError(CUresult result, std::string message)
      : resultCode(result), text(std::move(message)) {}

  /// The driver's CUresult.
  CUresult result() const { return resultCode; }

  void log(llvm::raw_ostream &os) const override;
  std::error_code convertToErrorCode() const override;

private:
  CUresult resultCode;
  std::string text;
};

/// Success for CUDA_SUCCESS, else a CudaError named after `call`, with the
/// driver's name and description of `result` (cuGetErrorName and
/// cuGetErrorString; just the number when the driver is not loaded).
llvm::Error check(CUresult result, const char *call);

/// The text check() gives for `result`: "CUDA_ERROR_INVALID_PTX (218): a PTX
/// JIT compilation failed".
std::string describeResult(CUresult result);

namespace detail {
template <typename Fn> struct CheckedCall {
  Fn fn;
  const char *name;
  template <typename... Args> llvm::Error operator()(Args &&...args) const {
    return check(fn(std::forward<Args>(args)...), name);
  }
};
template <typename Fn> CheckedCall<Fn> checkedCall(Fn fn, const char *name) {
  return CheckedCall<Fn>{fn, name};
}
} // namespace detail

/// Calls the entry point FN of DRIVER (a sattn::cuda::Driver) with the
/// arguments that follow and returns an llvm::Error named after FN:
///   if (llvm::Error err = SATTN_CU(driver, cuMemAlloc_v2)(&pointer, bytes))
///     return err;
#define SATTN_CU(DRIVER, FN)                                                   \
  ::sattn::cuda::detail::checkedCall((DRIVER).FN, #FN)

//===----------------------------------------------------------------------===//
// Devices and contexts
//===----------------------------------------------------------------------===//

struct DeviceInfo {
  int ordinal = 0;
  /// E.g. "NVIDIA H100 80GB HBM3".
  std::string name;
  /// Compute capability.
  int major = 0;
  int minor = 0;
  /// Streaming multiprocessors.
  int smCount = 0;
  /// The most shared memory one block may opt in to, in bytes.
  int maxSharedPerBlockOptin = 0;
  /// The driver's CUDA version, 1000 * major + 10 * minor (12040 is 12.4).
  int driverVersion = 0;

  /// The compute capability as an arch name: "sm_90".
  std::string arch() const;
};

/// The number of devices the driver sees.
llvm::Expected<int> deviceCount();

/// Properties of device `ordinal`. Needs no context.
llvm::Expected<DeviceInfo> deviceInfo(int ordinal = 0);

/// Retains the primary context of device `ordinal` (once per process; it is
/// kept until the process exits) and makes it current on the calling thread.
/// Every thread that uses the driver calls this first; calling it again is
/// cheap.
llvm::Error makeCurrent(int ordinal = 0);

/// Waits for all work in the calling thread's current context
/// (cuCtxSynchronize).
llvm::Error synchronize();

//===----------------------------------------------------------------------===//
// Modules and kernels
//===----------------------------------------------------------------------===//

/// A loaded module (cuModuleLoadDataEx), unloaded on destruction.
class Module {
public:
  /// Loads PTX text or a cubin (or fatbin) into the current context. PTX is
  /// compiled by the driver's JIT; on failure the error carries the JIT's
  /// error log.
  static llvm::Expected<Module> loadData(const std::string &image);

  Module() = default;
  Module(Module &&other) noexcept { *this = std::move(other); }
  Module &operator=(Module &&other) noexcept;
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;
  ~Module() { reset(); }

  /// The kernel `name` of this module. Launch errors of the function name it.
  llvm::Expected<CUfunction> function(llvm::StringRef name) const;

  CUmodule handle() const { return module; }
  explicit operator bool() const { return module != nullptr; }
  /// What the JIT reported while loading (often empty).
  const std::string &infoLog() const { return jitInfoLog; }

  /// Unloads the module now.
  void reset();

private:
  CUmodule module = nullptr;
  CUcontext context = nullptr;
  std::string jitInfoLog;
};

/// The name of a function obtained from Module::function, while its module is
/// loaded; empty for other functions.
std::string functionName(CUfunction function);

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/// Launches `function` (cuLaunchKernel). `params` points to one pointer per
/// kernel parameter, as cuLaunchKernel wants. Errors name the kernel and the
/// launch shape. Launches are asynchronous: faults during the kernel surface
/// at the next synchronization.
llvm::Error launch(CUfunction function, Dim3 grid, Dim3 block,
                   unsigned sharedBytes, CUstream stream, void **params);

/// Copies `bytes` from device memory `src` to `dst` in `stream`'s order
/// (cuMemcpyDtoDAsync).
llvm::Error copyDeviceAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                            CUstream stream);

/// Sets `height` rows of `width` bytes, `pitch` bytes apart from `dst` on,
/// to `value` (cuMemsetD2D8Async), in `stream`'s order.
llvm::Error memset2D(CUdeviceptr dst, size_t pitch, unsigned char value,
                     size_t width, size_t height, CUstream stream);
/// The same with 32-bit words: `width` words a row (cuMemsetD2D32Async).
llvm::Error memset2D32(CUdeviceptr dst, size_t pitch, uint32_t value,
                       size_t width, size_t height, CUstream stream);

/// cuFuncGetAttribute and cuFuncSetAttribute (e.g.
/// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, needed before launching
/// with more than 48 KiB of dynamic shared memory).
llvm::Expected<int> functionAttribute(CUfunction function,
                                      CUfunction_attribute attribute);
llvm::Error setFunctionAttribute(CUfunction function,
                                 CUfunction_attribute attribute, int value);

/// Blocks of `blockSize` threads that fit on one multiprocessor at once.
llvm::Expected<int> maxActiveBlocksPerSM(CUfunction function, int blockSize,
                                         size_t dynamicSharedBytes);

//===----------------------------------------------------------------------===//
// Memory, streams and events
//===----------------------------------------------------------------------===//

/// Device memory (cuMemAlloc), freed on destruction. Copies are bounds-checked
/// against the allocation.
class DeviceBuffer {
public:
  /// Allocates `bytes` in the current context; zero bytes allocates nothing.
  static llvm::Expected<DeviceBuffer> allocate(size_t bytes);

  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer &&other) noexcept { *this = std::move(other); }
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer() { reset(); }

  CUdeviceptr pointer() const { return devicePointer; }
  size_t size() const { return bytes; }

  /// Synchronous copies of `count` bytes at byte `offset` of the buffer.
  llvm::Error copyFromHost(const void *src, size_t count, size_t offset = 0);
  llvm::Error copyToHost(void *dst, size_t count, size_t offset = 0) const;
  /// Asynchronous copies on `stream`; the host memory must stay valid (and,
  /// for overlap, be pinned) until the stream reaches them.
  llvm::Error copyFromHostAsync(const void *src, size_t count, CUstream stream,
                                size_t offset = 0);
  llvm::Error copyToHostAsync(void *dst, size_t count, CUstream stream,
                              size_t offset = 0) const;
  /// Sets every byte to zero.
  llvm::Error memsetZero();

  /// Frees the memory now.
  void reset();

private:
  llvm::Error checkRange(const char *what, size_t count, size_t offset) const;

  CUdeviceptr devicePointer = 0;
  size_t bytes = 0;
  CUcontext context = nullptr;
};

/// A stream (cuStreamCreate), destroyed on destruction.
class Stream {
public:
  static llvm::Expected<Stream> create(unsigned flags = CU_STREAM_DEFAULT);

  Stream() = default;
  Stream(Stream &&other) noexcept { *this = std::move(other); }
  Stream &operator=(Stream &&other) noexcept;
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;
  ~Stream() { reset(); }

  CUstream handle() const { return stream; }
  llvm::Error synchronize() const;
  void reset();

private:
  CUstream stream = nullptr;
  CUcontext context = nullptr;
};

/// An event (cuEventCreate), destroyed on destruction.
class Event {
public:
  static llvm::Expected<Event> create(unsigned flags = CU_EVENT_DEFAULT);

  Event() = default;
  Event(Event &&other) noexcept { *this = std::move(other); }
  Event &operator=(Event &&other) noexcept;
  Event(const Event &) = delete;
  Event &operator=(const Event &) = delete;
  ~Event() { reset(); }

  CUevent handle() const { return event; }
  /// Records the event on `stream` (null: the legacy default stream).
  llvm::Error record(CUstream stream = nullptr);
  /// Waits until the work before the last record() is done.
  llvm::Error synchronize() const;
  /// Whether the work before the last record() is done (cuEventQuery).
  llvm::Expected<bool> done() const;
  /// Makes later work on `stream` wait for the work before the last record()
  /// (cuStreamWaitEvent); returns at once.
  llvm::Error orderBefore(CUstream stream) const;
  /// Milliseconds between two recorded, completed events (cuEventElapsedTime).
  static llvm::Expected<float> elapsedMs(const Event &start, const Event &end);
  void reset();

private:
  CUevent event = nullptr;
  CUcontext context = nullptr;
};

} // namespace sattn::cuda

#endif // SATTN_CUDADRIVER_H
