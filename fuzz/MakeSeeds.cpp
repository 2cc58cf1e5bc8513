//===- MakeSeeds.cpp - Writes the generated seed corpora of the fuzzers ---===//
//
// sattn-fuzz-seeds DIR writes small .npy files (every dtype, a scalar, an
// empty array, a version 2.0 header) to DIR/npy, and kernel cache entries
// encoded by the cache's own encoders (one for a real key holding a kernel
// artifact, one empty, and the artifact alone) to DIR/cache-entry, so that
// the corpora follow the formats when they change.
//
//===----------------------------------------------------------------------===//

#include "sattn/KernelCache.h"
#include "sattn/KernelInfo.h"
#include "sattn/Npy.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

bool writeFile(llvm::StringRef dir, llvm::StringRef name,
               llvm::StringRef bytes) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    llvm::errs() << "sattn-fuzz-seeds: " << path << ": " << ec.message()
                 << "\n";
    return false;
  }
  os << bytes;
  return true;
}

bool writeNpy(llvm::StringRef dir, llvm::StringRef name, sattn::NpyDtype dtype,
              llvm::ArrayRef<int64_t> shape, const void *data) {
  auto bytes = sattn::encodeNpy(dtype, shape, data);
  if (!bytes) {
    llvm::errs() << "sattn-fuzz-seeds: " << llvm::toString(bytes.takeError())
                 << "\n";
    return false;
  }
  return writeFile(
      dir, name,
      llvm::StringRef(reinterpret_cast<const char *>(bytes->data()),
                      bytes->size()));
}

/// A version 2.0 file (4-byte header length), which encodeNpy only writes
/// for headers over 64 KiB.
std::string version2Npy() {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, "
                     "'shape': (2,), }";
  size_t total = 12 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x02';
  bytes += '\x00';
  uint32_t length = dict.size();
  for (int i = 0; i < 4; ++i)
    bytes += static_cast<char>((length >> (8 * i)) & 0xff);
  bytes += dict;
  float values[2] = {1.5f, -2.0f};
  bytes.append(reinterpret_cast<const char *>(values), sizeof(values));
  return bytes;
}

bool writeNpySeeds(llvm::StringRef dir) {
  std::vector<float> f32(24);
  for (size_t i = 0; i < f32.size(); ++i)
    f32[i] = 0.25f * float(i) - 2.0f;
  std::vector<uint16_t> f16 = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x7e00};
  std::vector<double> f64 = {1.0, -0.5, 1e300, 5e-324};
  std::vector<uint8_t> u8 = {0, 1, 255, 7, 8, 9};
  return writeNpy(dir, "f32-2x3x4.npy", sattn::NpyDtype::Float32, {2, 3, 4},
                  f32.data()) &&
         writeNpy(dir, "f32-bhsd.npy", sattn::NpyDtype::Float32, {1, 2, 3, 4},
                  f32.data()) &&
         writeNpy(dir, "f16-6.npy", sattn::NpyDtype::Float16, {6},
                  f16.data()) &&
         writeNpy(dir, "f64-2x2.npy", sattn::NpyDtype::Float64, {2, 2},
                  f64.data()) &&
         writeNpy(dir, "u8-2x3.npy", sattn::NpyDtype::UInt8, {2, 3},
                  u8.data()) &&
         writeNpy(dir, "f32-scalar.npy", sattn::NpyDtype::Float32, {},
                  f32.data()) &&
         writeNpy(dir, "f32-empty.npy", sattn::NpyDtype::Float32, {0, 4},
                  f32.data()) &&
         writeFile(dir, "f32-v2.npy", version2Npy());
}

/// A kernel record like the ones the compiler writes: one selection stage
/// and attention, sizes in terms of the call's batch and lengths.
sattn::KernelInfo sampleKernelInfo() {
  sattn::KernelInfo info;
  info.pattern = "power";
  info.target = "cpu";
  info.elementType = "f32";
  info.heads = 2;
  info.kvHeads = 1;
  info.headDim = 64;
  info.scale = 0.125;
  sattn::KernelFunction stage;
  stage.name = stage.entry = "sattn_select_topk_1";
  stage.items = sattn::SizeExpr::batch() * 2;
  info.stages.push_back(stage);
  info.attention.name = info.attention.entry = "sattn_attention";
  info.attention.items =
      sattn::SizeExpr::batch() * ceilDiv(sattn::SizeExpr::seqQ(), 64);
  info.workspace[unsigned(sattn::WorkspaceSlot::HeadFloats)] =
      sattn::SizeExpr::seqK() + 1;
  info.workspace[unsigned(sattn::WorkspaceSlot::ListCount)] =
      sattn::SizeExpr::batch() * 3;
  info.readsKeyScores = true;
  return info;
}

bool writeCacheSeeds(llvm::StringRef dir) {
  sattn::CacheKey key;
  key.patternIR = "sattn.pattern @power(window = 2) block = 64 causal {\n"
                  "  sattn.window #sattn.param<\"window\"> blocks\n"
                  "  sattn.strides pow2\n"
                  "}\n";
  key.staticShape = "heads_q=2,heads_kv=1,head_dim=64,block_q=64,block_k=64";
  key.dtype = "f32";
  key.backend = "cpu";
  key.arch = "x86_64";
  key.options = "O3";
  std::string object = "\x7f"
                       "ELF\x02\x01\x01";
  object.append(57, '\0');
  std::string artifact =
      sattn::encodeKernelArtifact(sampleKernelInfo(), object);
  sattn::CacheKey empty;
  // The target also reads each input as an entry's artifact: the artifact
  // alone is a seed too.
  return writeFile(
             dir, "power-cpu.sattnk",
             sattn::encodeCacheEntry(key.digest(), key.describe(), artifact)) &&
         writeFile(dir, "empty.sattnk",
                   sattn::encodeCacheEntry(empty.digest(), "", "")) &&
         writeFile(dir, "power-cpu.artifact", artifact);
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sattn-fuzz-seeds DIR\n");
    return 2;
  }
  llvm::SmallString<256> npyDir(argv[1]), cacheDir(argv[1]);
  llvm::sys::path::append(npyDir, "npy");
  llvm::sys::path::append(cacheDir, "cache-entry");
  for (llvm::StringRef dir : {npyDir.str(), cacheDir.str()}) {
    if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
      std::fprintf(stderr, "sattn-fuzz-seeds: %s: %s\n", dir.str().c_str(),
                   ec.message().c_str());
      return 1;
    }
  }
  return writeNpySeeds(npyDir) && writeCacheSeeds(cacheDir) ? 0 : 1;
}
