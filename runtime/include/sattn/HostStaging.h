//===- HostStaging.h - Running a CUDA kernel on host tensors -----*- C++ -*-===//
//
// For tools and tests that hold their tensors in host memory: copies every
// view to the device (same sizes and strides), runs the kernel, waits, and
// copies out and lse back.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_HOSTSTAGING_H
#define SATTN_HOSTSTAGING_H

#include "sattn/Compiler.h"

namespace sattn {

/// Runs a CUDA `kernel` on host views `args`; out and lse receive the
/// results. `timings` (optional) gets the kernel's selection and attention
/// times.
llvm::Error runWithHostViews(Kernel &kernel, const AttentionArgs &args,
                             RunTimings *timings = nullptr);

} // namespace sattn

#endif // SATTN_HOSTSTAGING_H
