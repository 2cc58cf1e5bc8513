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
  virtual llvm::Error run(PreparedCall &call, const Workspace *workspace,
                          void *stream, RunTimings *timings) = 0;
};

/// Links the host object file of a CPU kernel with ORC.
llvm::Expected<std::shared_ptr<Executable>>
loadCpuExecutable(const KernelArtifact &artifact, unsigned threads);

/// Loads the PTX or cubin of a GPU kernel with the CUDA driver.
llvm::Expected<std::shared_ptr<Executable>>
loadCudaExecutable(const KernelArtifact &artifact);

/// Writes out = 0 and (when the call wants it) lse = -inf for rows
/// [q0, q0 + rows) of every head of batch 0 of a call's device tensors, in
/// `stream`'s order: the rows of a packed sequence without keys.
llvm::Error clearRowsOnDevice(const AttentionArgs &args, int64_t q0,
                              int64_t rows, void *stream);

} // namespace sattn

#endif // SATTN_RUNTIME_BACKENDS_H
