//===- Backends.h - Loading artifacts into runnable kernels -----*- C++ -*-===//

#ifndef SATTN_RUNTIME_BACKENDS_H
#define SATTN_RUNTIME_BACKENDS_H

#include "KernelLaunch.h"

#include <memory>

namespace sattn {

/// A loaded artifact: JIT-linked host code or a CUDA module. Shared by every
/// Kernel handle of one cache key; run() is thread-safe.
class Executable {
public:
  virtual ~Executable();
  virtual llvm::Error run(const KernelPlan &plan, PreparedCall &call,
                          const Workspace *workspace, void *stream,
                          RunTimings *timings) = 0;
};

/// Links a host object file (emitHostObject) with ORC.
llvm::Expected<std::shared_ptr<Executable>>
loadCpuExecutable(const std::string &object, const KernelPlan &plan,
                  unsigned threads);

/// Loads PTX or a cubin with the CUDA driver.
llvm::Expected<std::shared_ptr<Executable>>
loadCudaExecutable(const std::string &image, const KernelPlan &plan);

} // namespace sattn

#endif // SATTN_RUNTIME_BACKENDS_H
