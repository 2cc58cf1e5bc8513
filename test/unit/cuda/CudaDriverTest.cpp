//===- CudaDriverTest.cpp - The run-time-loaded CUDA driver ---------------===//
//
// Two kinds of tests. Those of CudaDriverTest run everywhere: loading (or
// failing to load) libcuda.so.1, error messages, and the behaviour of every
// entry point without a driver. Those of CudaGpuTest need a driver and a
// device; without them each one skips with "no CUDA device: <reason>" and
// never passes without running.
//
//===----------------------------------------------------------------------===//

#include "sattn/CudaDriver.h"

#include "llvm/Support/Error.h"

#include "gtest/gtest.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace sattn::cuda;

namespace {

/// One kernel: out[ctaid.x * ntid.x + tid.x] = that index (so the thread id
/// for a single block).
const char *const kWriteTidPtx = R"(
.version 7.0
.target sm_70
.address_size 64

.visible .entry write_tid(
    .param .u64 write_tid_out
)
{
    .reg .b32 %r<5>;
    .reg .b64 %rd<5>;

    ld.param.u64 %rd1, [write_tid_out];
    cvta.to.global.u64 %rd2, %rd1;
    mov.u32 %r1, %ctaid.x;
    mov.u32 %r2, %ntid.x;
    mov.u32 %r3, %tid.x;
    mad.lo.s32 %r4, %r1, %r2, %r3;
    mul.wide.s32 %rd3, %r4, 4;
    add.s64 %rd4, %rd2, %rd3;
    st.global.u32 [%rd4], %r4;
    ret;
}
)";

/// Well-formed up to an instruction that does not exist.
const char *const kBrokenPtx = R"(
.version 7.0
.target sm_70
.address_size 64

.visible .entry broken()
{
    .reg .b32 %r<2>;
    bogus_instruction.u32 %r1, 7;
    ret;
}
)";

/// The message of `err`, empty on success.
std::string errorText(llvm::Error err) {
  if (!err)
    return "";
  return llvm::toString(std::move(err));
}

/// The CUresult of a CudaError, -1 for success or any other error.
CUresult resultOf(llvm::Error err) {
  CUresult result = -1;
  llvm::handleAllErrors(
      std::move(err), [&](const CudaError &e) { result = e.result(); },
      [](const llvm::ErrorInfoBase &) {});
  return result;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

/// Whether libcuda.so.1 can be opened at all, asked of the dynamic loader
/// directly rather than of the code under test. (The handle is kept.)
bool libcudaLoadable() {
  static const bool loadable =
      dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL) != nullptr;
  return loadable;
}

/// Why the GPU tests cannot run here; empty when they can.
const std::string &noDeviceReason() {
  static const std::string reason = []() -> std::string {
    llvm::Expected<Driver &> driver = Driver::get();
    if (!driver)
      return llvm::toString(driver.takeError());
    llvm::Expected<int> count = deviceCount();
    if (!count)
      return llvm::toString(count.takeError());
    if (*count == 0)
      return "the driver sees no devices";
    if (std::string err = errorText(makeCurrent(0)); !err.empty())
      return err;
    return "";
  }();
  return reason;
}

#define ASSERT_OK(EXPR)                                                        \
  do {                                                                         \
    std::string assertOkMessage = errorText(EXPR);                             \
    ASSERT_TRUE(assertOkMessage.empty()) << #EXPR << ": " << assertOkMessage;  \
  } while (false)

//===----------------------------------------------------------------------===//
// Everywhere
//===----------------------------------------------------------------------===//

TEST(CudaDriverTest, GetLoadsTheDriverOrSaysWhy) {
  llvm::Expected<Driver &> driver = Driver::get();
  if (!libcudaLoadable()) {
    ASSERT_FALSE(bool(driver)) << "get() succeeded without libcuda.so.1";
    std::string message = llvm::toString(driver.takeError());
    EXPECT_EQ(message.rfind("CUDA driver not available: libcuda.so.1: ", 0), 0u)
        << message;
    EXPECT_FALSE(available());
    // Every later call reports the same error.
    llvm::Expected<Driver &> again = Driver::get();
    ASSERT_FALSE(bool(again));
    EXPECT_EQ(llvm::toString(again.takeError()), message);
    return;
  }

  // A driver is installed. get() succeeds; the one allowed failure is
  // cuInit finding no device, which must then be reported as such.
  if (!driver) {
    llvm::Error err = driver.takeError();
    std::string message;
    CUresult result = -1;
    llvm::handleAllErrors(
        std::move(err),
        [&](const CudaError &e) {
          result = e.result();
          message = e.message();
        },
        [&](const llvm::ErrorInfoBase &e) { message = e.message(); });
    EXPECT_EQ(result, CUDA_ERROR_NO_DEVICE) << message;
    EXPECT_EQ(message.rfind("cuInit failed: CUDA_ERROR_NO_DEVICE (100)", 0), 0u)
        << message;
    EXPECT_FALSE(available());
    return;
  }
  EXPECT_TRUE(available());
  Driver &d = *driver;
  EXPECT_NE(d.cuInit, nullptr);
  EXPECT_NE(d.cuMemAlloc_v2, nullptr);
  EXPECT_NE(d.cuModuleLoadDataEx, nullptr);
  EXPECT_NE(d.cuLaunchKernel, nullptr);
  EXPECT_NE(d.cuEventElapsedTime, nullptr);
  EXPECT_NE(d.cuOccupancyMaxActiveBlocksPerMultiprocessor, nullptr);
  llvm::Expected<Driver &> again = Driver::get();
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  EXPECT_EQ(&*again, &d);
}

TEST(CudaDriverTest, GetIsSafeFromManyThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> successes{0};
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      llvm::Expected<Driver &> driver = Driver::get();
      if (driver) {
        ++successes;
      } else {
        llvm::consumeError(driver.takeError());
        ++failures;
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  // All threads see the same outcome.
  EXPECT_TRUE(successes == 8 || failures == 8)
      << successes << " successes, " << failures << " failures";
  EXPECT_EQ(successes == 8, available());
}

TEST(CudaDriverTest, CheckNamesTheCallAndTheResult) {
  EXPECT_FALSE(bool(check(CUDA_SUCCESS, "cuInit")));

  // Resolve the error-name entry points if there is a driver at all.
  llvm::consumeError(Driver::get().takeError());
  llvm::Error err = check(CUDA_ERROR_INVALID_PTX, "cuModuleLoadDataEx");
  ASSERT_TRUE(bool(err));
  std::string message;
  CUresult result = -1;
  llvm::handleAllErrors(std::move(err), [&](const CudaError &e) {
    result = e.result();
    message = e.message();
  });
  EXPECT_EQ(result, CUDA_ERROR_INVALID_PTX);
  if (libcudaLoadable())
    EXPECT_EQ(message, "cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX "
                       "(218): a PTX JIT compilation failed");
  else
    EXPECT_EQ(message, "cuModuleLoadDataEx failed: CUDA error 218");
}

TEST(CudaDriverTest, CallMacroChecksTheResult) {
  // SATTN_CU works on any object with function-pointer members.
  struct FakeDriver {
    CUresult (*cuFake)(int) = [](int value) -> CUresult { return value; };
    CUresult (*cuNoArgs)() = []() -> CUresult { return CUDA_SUCCESS; };
  } fake;
  EXPECT_EQ(errorText(SATTN_CU(fake, cuFake)(CUDA_SUCCESS)), "");
  EXPECT_EQ(errorText(SATTN_CU(fake, cuNoArgs)()), "");
  std::string message = errorText(SATTN_CU(fake, cuFake)(CUDA_ERROR_NOT_FOUND));
  EXPECT_EQ(message.rfind("cuFake failed: ", 0), 0u) << message;
  EXPECT_TRUE(contains(message, "500")) << message;
  EXPECT_EQ(resultOf(SATTN_CU(fake, cuFake)(CUDA_ERROR_OUT_OF_MEMORY)),
            CUDA_ERROR_OUT_OF_MEMORY);
}

TEST(CudaDriverTest, EmptyObjectsNeedNoDriver) {
  DeviceBuffer buffer;
  EXPECT_EQ(buffer.pointer(), 0u);
  EXPECT_EQ(buffer.size(), 0u);
  int value = 0;
  EXPECT_EQ(errorText(buffer.copyFromHost(&value, 0)), "");
  EXPECT_EQ(errorText(buffer.memsetZero()), "");
  EXPECT_EQ(errorText(buffer.copyFromHost(&value, sizeof(value))),
            "copyFromHost: 4 bytes at offset 0 exceed the 0-byte device "
            "buffer");
  EXPECT_TRUE(contains(errorText(buffer.copyToHost(&value, 4, 8)),
                       "4 bytes at offset 8"));

  Module module;
  EXPECT_FALSE(bool(module));
  llvm::Expected<CUfunction> function = module.function("write_tid");
  ASSERT_FALSE(bool(function));
  EXPECT_TRUE(contains(llvm::toString(function.takeError()), "'write_tid'"));
  EXPECT_EQ(functionName(nullptr), "");

  Event event;
  EXPECT_TRUE(contains(errorText(event.record()), "empty Event"));
  Stream stream;
  EXPECT_TRUE(contains(errorText(stream.synchronize()), "empty Stream"));
  // Destroying empty objects (and moved-from ones) touches no driver.
  DeviceBuffer moved = std::move(buffer);
  Module movedModule = std::move(module);
}

TEST(CudaDriverTest, EveryEntryPointFailsCleanlyWithoutADriver) {
  if (available())
    GTEST_SKIP() << "a CUDA driver is present; this tests its absence";
  llvm::Expected<Driver &> driver = Driver::get();
  ASSERT_FALSE(bool(driver));
  const std::string why = llvm::toString(driver.takeError());

  auto expectWhy = [&](llvm::Error err, const char *what) {
    EXPECT_EQ(errorText(std::move(err)), why) << what;
  };
  expectWhy(makeCurrent(0), "makeCurrent");
  expectWhy(synchronize(), "synchronize");
  expectWhy(deviceCount().takeError(), "deviceCount");
  expectWhy(deviceInfo(0).takeError(), "deviceInfo");
  expectWhy(Module::loadData(kWriteTidPtx).takeError(), "Module::loadData");
  expectWhy(DeviceBuffer::allocate(128).takeError(), "DeviceBuffer::allocate");
  expectWhy(DeviceBuffer::allocate(0).takeError(), "DeviceBuffer::allocate(0)");
  expectWhy(Event::create().takeError(), "Event::create");
  expectWhy(Stream::create().takeError(), "Stream::create");
  expectWhy(launch(nullptr, {1}, {32}, 0, nullptr, nullptr), "launch");
  expectWhy(functionAttribute(nullptr, CU_FUNC_ATTRIBUTE_NUM_REGS).takeError(),
            "functionAttribute");
  expectWhy(setFunctionAttribute(
                nullptr, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 0),
            "setFunctionAttribute");
  expectWhy(maxActiveBlocksPerSM(nullptr, 32, 0).takeError(),
            "maxActiveBlocksPerSM");
}

//===----------------------------------------------------------------------===//
// With a GPU
//===----------------------------------------------------------------------===//

class CudaGpuTest : public ::testing::Test {
protected:
  void SetUp() override {
    const std::string &reason = noDeviceReason();
    if (!reason.empty())
      GTEST_SKIP() << "no CUDA device: " << reason;
    ASSERT_OK(makeCurrent(0));
  }

  /// Loads kWriteTidPtx and returns write_tid (asserting success).
  void loadWriteTid(Module &module, CUfunction &function) {
    llvm::Expected<Module> loaded = Module::loadData(kWriteTidPtx);
    ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
    module = std::move(*loaded);
    llvm::Expected<CUfunction> found = module.function("write_tid");
    ASSERT_TRUE(bool(found)) << llvm::toString(found.takeError());
    function = *found;
  }
};

TEST_F(CudaGpuTest, DeviceInfo) {
  llvm::Expected<DeviceInfo> info = deviceInfo(0);
  ASSERT_TRUE(bool(info)) << llvm::toString(info.takeError());
  EXPECT_FALSE(info->name.empty());
  EXPECT_GE(info->major, 7);
  EXPECT_GE(info->minor, 0);
  EXPECT_GT(info->smCount, 0);
  EXPECT_GE(info->maxSharedPerBlockOptin, 48 * 1024);
  EXPECT_GE(info->driverVersion, 11000);
  EXPECT_EQ(info->arch(),
            "sm_" + std::to_string(info->major) + std::to_string(info->minor));
  std::printf("device 0: %s, %s, %d SMs, %d bytes opt-in shared memory, "
              "driver %d\n",
              info->name.c_str(), info->arch().c_str(), info->smCount,
              info->maxSharedPerBlockOptin, info->driverVersion);

  llvm::Expected<int> count = deviceCount();
  ASSERT_TRUE(bool(count)) << llvm::toString(count.takeError());
  llvm::Expected<DeviceInfo> missing = deviceInfo(*count);
  ASSERT_FALSE(bool(missing));
  EXPECT_TRUE(contains(llvm::toString(missing.takeError()),
                       "cuDeviceGet failed: CUDA_ERROR_INVALID_DEVICE"));
}

TEST_F(CudaGpuTest, LaunchWritesThreadIds) {
  Module module;
  CUfunction function = nullptr;
  ASSERT_NO_FATAL_FAILURE(loadWriteTid(module, function));
  EXPECT_EQ(functionName(function), "write_tid");

  constexpr int n = 32;
  llvm::Expected<DeviceBuffer> buffer = DeviceBuffer::allocate(n * sizeof(int));
  ASSERT_TRUE(bool(buffer)) << llvm::toString(buffer.takeError());
  EXPECT_NE(buffer->pointer(), 0u);
  EXPECT_EQ(buffer->size(), n * sizeof(int));

  // memsetZero really zeroes.
  std::vector<int> host(n, -1);
  ASSERT_OK(buffer->copyFromHost(host.data(), n * sizeof(int)));
  ASSERT_OK(buffer->memsetZero());
  ASSERT_OK(buffer->copyToHost(host.data(), n * sizeof(int)));
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(host[i], 0) << i;

  // The kernel writes every thread id, timed by two events.
  std::fill(host.begin(), host.end(), -1);
  ASSERT_OK(buffer->copyFromHost(host.data(), n * sizeof(int)));
  llvm::Expected<Event> start = Event::create();
  ASSERT_TRUE(bool(start)) << llvm::toString(start.takeError());
  llvm::Expected<Event> end = Event::create();
  ASSERT_TRUE(bool(end)) << llvm::toString(end.takeError());
  CUdeviceptr out = buffer->pointer();
  void *params[] = {&out};
  ASSERT_OK(start->record());
  ASSERT_OK(launch(function, {1}, {n}, 0, nullptr, params));
  ASSERT_OK(end->record());
  ASSERT_OK(end->synchronize());
  ASSERT_OK(synchronize());
  llvm::Expected<float> ms = Event::elapsedMs(*start, *end);
  ASSERT_TRUE(bool(ms)) << llvm::toString(ms.takeError());
  EXPECT_GE(*ms, 0.0f);
  ASSERT_OK(buffer->copyToHost(host.data(), n * sizeof(int)));
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(host[i], i) << i;

  // A partial copy at an offset.
  int tail[4] = {};
  ASSERT_OK(buffer->copyToHost(tail, sizeof(tail), 28 * sizeof(int)));
  EXPECT_EQ(tail[0], 28);
  EXPECT_EQ(tail[3], 31);
  EXPECT_TRUE(contains(
      errorText(buffer->copyToHost(tail, sizeof(tail), 30 * sizeof(int))),
      "exceed the 128-byte device buffer"));
}

TEST_F(CudaGpuTest, StreamsAndAsyncCopies) {
  Module module;
  CUfunction function = nullptr;
  ASSERT_NO_FATAL_FAILURE(loadWriteTid(module, function));

  llvm::Expected<Stream> stream = Stream::create(CU_STREAM_NON_BLOCKING);
  ASSERT_TRUE(bool(stream)) << llvm::toString(stream.takeError());
  constexpr int blocks = 4, threads = 64, n = blocks * threads;
  llvm::Expected<DeviceBuffer> buffer = DeviceBuffer::allocate(n * sizeof(int));
  ASSERT_TRUE(bool(buffer)) << llvm::toString(buffer.takeError());
  std::vector<int> host(n, -1);
  ASSERT_OK(buffer->copyFromHostAsync(host.data(), n * sizeof(int),
                                      stream->handle()));
  CUdeviceptr out = buffer->pointer();
  void *params[] = {&out};
  ASSERT_OK(launch(function, {blocks}, {threads}, 0, stream->handle(), params));
  ASSERT_OK(
      buffer->copyToHostAsync(host.data(), n * sizeof(int), stream->handle()));
  ASSERT_OK(stream->synchronize());
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(host[i], i) << i;
}

TEST_F(CudaGpuTest, FunctionAttributesAndOccupancy) {
  Module module;
  CUfunction function = nullptr;
  ASSERT_NO_FATAL_FAILURE(loadWriteTid(module, function));
  llvm::Expected<int> maxThreads =
      functionAttribute(function, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  ASSERT_TRUE(bool(maxThreads)) << llvm::toString(maxThreads.takeError());
  EXPECT_GE(*maxThreads, 32);
  ASSERT_OK(setFunctionAttribute(
      function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, 1024));
  llvm::Expected<int> dynamicShared = functionAttribute(
      function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
  ASSERT_TRUE(bool(dynamicShared)) << llvm::toString(dynamicShared.takeError());
  EXPECT_EQ(*dynamicShared, 1024);
  llvm::Expected<int> blocks = maxActiveBlocksPerSM(function, 32, 0);
  ASSERT_TRUE(bool(blocks)) << llvm::toString(blocks.takeError());
  EXPECT_GE(*blocks, 1);
}

TEST_F(CudaGpuTest, InvalidPtxReportsTheJitLog) {
  llvm::Expected<Module> module = Module::loadData(kBrokenPtx);
  ASSERT_FALSE(bool(module)) << "broken PTX loaded";
  llvm::Error err = module.takeError();
  std::string message;
  CUresult result = -1;
  llvm::handleAllErrors(std::move(err), [&](const CudaError &e) {
    result = e.result();
    message = e.message();
  });
  EXPECT_EQ(result, CUDA_ERROR_INVALID_PTX) << message;
  EXPECT_EQ(message.rfind("cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX "
                          "(218): a PTX JIT compilation failed",
                          0),
            0u)
      << message;
  EXPECT_TRUE(contains(message, "JIT error log:")) << message;
  EXPECT_TRUE(contains(message, "bogus_instruction")) << message;

  llvm::Expected<Module> empty = Module::loadData("");
  ASSERT_FALSE(bool(empty));
  EXPECT_TRUE(contains(llvm::toString(empty.takeError()), "empty image"));
}

TEST_F(CudaGpuTest, ErrorsNameTheKernel) {
  Module module;
  CUfunction function = nullptr;
  ASSERT_NO_FATAL_FAILURE(loadWriteTid(module, function));

  llvm::Expected<CUfunction> missing = module.function("no_such_kernel");
  ASSERT_FALSE(bool(missing));
  std::string message = llvm::toString(missing.takeError());
  EXPECT_TRUE(contains(message, "cuModuleGetFunction failed: "
                                "CUDA_ERROR_NOT_FOUND (500)"))
      << message;
  EXPECT_TRUE(contains(message, "'no_such_kernel'")) << message;

  // 4096 threads is more than any block may have.
  llvm::Expected<DeviceBuffer> buffer = DeviceBuffer::allocate(4096 * 4);
  ASSERT_TRUE(bool(buffer)) << llvm::toString(buffer.takeError());
  CUdeviceptr out = buffer->pointer();
  void *params[] = {&out};
  message = errorText(launch(function, {1}, {4096}, 0, nullptr, params));
  EXPECT_EQ(message.rfind("cuLaunchKernel failed: CUDA_ERROR_", 0), 0u)
      << message;
  EXPECT_TRUE(contains(message, "kernel 'write_tid'")) << message;
  EXPECT_TRUE(contains(message, "block 4096x1x1")) << message;
  ASSERT_OK(synchronize());

  // Once the module is gone its functions are no longer named.
  module.reset();
  EXPECT_EQ(functionName(function), "");
}

TEST_F(CudaGpuTest, ThreadsShareThePrimaryContext) {
  Module module;
  CUfunction function = nullptr;
  ASSERT_NO_FATAL_FAILURE(loadWriteTid(module, function));

  // A new thread has no current context until it calls makeCurrent.
  std::string noContext;
  std::thread([&] {
    llvm::Expected<DeviceBuffer> buffer = DeviceBuffer::allocate(64);
    noContext = buffer ? "allocated without a context"
                       : llvm::toString(buffer.takeError());
  }).join();
  EXPECT_TRUE(contains(noContext, "no CUDA context is current")) << noContext;

  constexpr int numThreads = 8, n = 32;
  std::vector<std::string> errors(numThreads);
  std::vector<std::vector<int>> results(numThreads);
  // Buffers allocated on worker threads and freed here, on the main thread.
  std::vector<DeviceBuffer> buffers(numThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < numThreads; ++t)
    threads.emplace_back([&, t] {
      if (std::string err = errorText(makeCurrent(0)); !err.empty()) {
        errors[t] = err;
        return;
      }
      llvm::Expected<DeviceBuffer> buffer =
          DeviceBuffer::allocate(n * sizeof(int));
      if (!buffer) {
        errors[t] = llvm::toString(buffer.takeError());
        return;
      }
      CUdeviceptr out = buffer->pointer();
      void *params[] = {&out};
      results[t].assign(n, -1);
      errors[t] = errorText(launch(function, {1}, {n}, 0, nullptr, params));
      if (errors[t].empty())
        errors[t] =
            errorText(buffer->copyToHost(results[t].data(), n * sizeof(int)));
      buffers[t] = std::move(*buffer);
    });
  for (std::thread &thread : threads)
    thread.join();
  for (int t = 0; t < numThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    ASSERT_EQ(results[t].size(), size_t(n)) << "thread " << t;
    for (int i = 0; i < n; ++i)
      EXPECT_EQ(results[t][i], i) << "thread " << t << ", element " << i;
  }

  // A buffer of this thread's context freed on a thread that has none.
  llvm::Expected<DeviceBuffer> buffer = DeviceBuffer::allocate(256);
  ASSERT_TRUE(bool(buffer)) << llvm::toString(buffer.takeError());
  DeviceBuffer moved = std::move(*buffer);
  std::thread([&] { moved.reset(); }).join();
  EXPECT_EQ(moved.pointer(), 0u);
}

} // namespace
