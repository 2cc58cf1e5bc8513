//===- GpuTarget.cpp - GPU targets and the CUDA toolkit -------------------===//

#include "codegen/GpuTarget.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#include <cstdlib>

using namespace sattn;

namespace {
struct KnownTarget {
  const char *chip;
  const char *ptxFeature;
  int major, minor;
  bool warpgroupMma;
};
// sm_90a unlocks wgmma/TMA (PTX ISA 8.0); sm_80 needs mma.sync (PTX 7.0).
constexpr KnownTarget kTargets[] = {{"sm_80", "+ptx70", 8, 0, false},
                                    {"sm_90a", "+ptx80", 9, 0, true}};
} // namespace

static GpuTarget makeTarget(const KnownTarget &known) {
  return GpuTarget{known.chip, known.ptxFeature, known.major, known.minor,
                   known.warpgroupMma && wgmmaTilesEnabled()};
}

bool sattn::wgmmaTilesEnabled() {
  const char *value = std::getenv("SATTN_WGMMA");
  return !value || llvm::StringRef(value) != "0";
}

bool sattn::wgmmaOverlapEnabled() {
  const char *value = std::getenv("SATTN_WGMMA_OVERLAP");
  return value && llvm::StringRef(value) == "1";
}

llvm::StringRef sattn::supportedGpuTargets() { return "sm_80, sm_90a"; }

llvm::Expected<GpuTarget> sattn::parseGpuTarget(llvm::StringRef name) {
  for (const KnownTarget &known : kTargets)
    if (name == known.chip)
      return makeTarget(known);
  return llvm::createStringError("unknown GPU target '" + name +
                                 "'; supported: " + supportedGpuTargets());
}

llvm::Expected<GpuTarget> sattn::gpuTargetForDevice(int major, int minor) {
  if (major >= 9)
    return makeTarget(kTargets[1]);
  if (major == 8)
    return makeTarget(kTargets[0]);
  return llvm::createStringError(
      "compute capability " + std::to_string(major) + "." +
      std::to_string(minor) + " is not supported; sattn needs sm_80 or newer");
}

std::optional<CudaToolkit> sattn::findCudaToolkit() {
  llvm::SmallVector<std::string> roots;
  for (const char *var : {"SATTN_CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (std::optional<std::string> value = llvm::sys::Process::GetEnv(var))
      if (!value->empty())
        roots.push_back(*value);
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots) {
    CudaToolkit toolkit{root, "", ""};
    llvm::SmallString<256> ptxas(root), libdevice(root);
    llvm::sys::path::append(ptxas, "bin", "ptxas");
    llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
    if (llvm::sys::fs::can_execute(ptxas))
      toolkit.ptxas = std::string(ptxas);
    if (llvm::sys::fs::exists(libdevice))
      toolkit.libdevice = std::string(libdevice);
    if (!toolkit.ptxas.empty() || !toolkit.libdevice.empty())
      return toolkit;
  }
  return std::nullopt;
}
