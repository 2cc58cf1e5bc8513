//===- GpuTarget.h - GPU targets and the CUDA toolkit -----------*- C++ -*-===//
//
// Which NVIDIA targets sattn compiles for, and where the optional CUDA
// toolkit (ptxas, libdevice) lives. The toolkit is looked up at run time so a
// build without it still emits PTX for the driver to JIT.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_CODEGEN_GPUTARGET_H
#define SATTN_CODEGEN_GPUTARGET_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace sattn {

/// A compilation target: the chip name given to NVPTX and ptxas, and the PTX
/// ISA version the emitted code declares.
struct GpuTarget {
  std::string chip;       // "sm_80" or "sm_90a"
  std::string ptxFeature; // "+ptx80" etc.
  int computeMajor = 8;
  int computeMinor = 0;
  /// wgmma.mma_async (sm_90a) and wgmmaTilesEnabled(): attention tiles may
  /// take layout `wgmma`.
  bool warpgroupMma = false;
};

/// sm_90a kernels use the wgmma tile unless SATTN_WGMMA=0 when they are
/// compiled (the mma_sync tile, for comparison). The kernel cache key
/// records the choice.
bool wgmmaTilesEnabled();

/// With SATTN_WGMMA_OVERLAP=1, wgmma tiles overlap P·V of a chunk with the
/// next chunk's softmax (sattn-pipeline-chunks' overlap-products; slower on
/// most patterns, docs/performance.md). The kernel cache key records it.
bool wgmmaOverlapEnabled();

/// Parses a target name; the error lists the supported ones.
llvm::Expected<GpuTarget> parseGpuTarget(llvm::StringRef name);

/// The best supported target for a device of compute capability major.minor,
/// or an error when the device is older than sm_80.
llvm::Expected<GpuTarget> gpuTargetForDevice(int major, int minor);

/// The names parseGpuTarget accepts, comma-separated.
llvm::StringRef supportedGpuTargets();

struct CudaToolkit {
  std::string root;
  std::string ptxas;     // empty when absent
  std::string libdevice; // empty when absent
};

/// Finds the toolkit from $SATTN_CUDA_ROOT, $CUDA_HOME, $CUDA_PATH, then
/// /usr/local/cuda. Empty when none has ptxas or libdevice.
std::optional<CudaToolkit> findCudaToolkit();

} // namespace sattn

#endif // SATTN_CODEGEN_GPUTARGET_H
