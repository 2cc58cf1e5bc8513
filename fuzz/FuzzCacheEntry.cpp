//===- FuzzCacheEntry.cpp - libFuzzer target: the cache entry decoder -----===//
//
// What a disk cache entry can make the runtime do when it loads one:
//  1. The input as the bytes of an entry (decodeCacheEntry, which
//     readCacheEntryFile calls after reading the file), without and with an
//     expected key digest. An accepted entry must be the encoding of what it
//     decoded to, byte for byte, and only its own digest may pass.
//  2. The input as the artifact of an entry with a valid checksum: the
//     checksum is no signature, so anyone who can write the cache directory
//     can plant one (docs/cache.md). Its artifact goes through
//     decodeKernelArtifact, as Compiler.cpp decodes every entry it gets, and
//     a decoded kernel record through layoutWorkspace for a few call sizes,
//     as each launch does; a record must survive encoding it again.
// A breach aborts, which libFuzzer reports as a crash.
//
//===----------------------------------------------------------------------===//

#include "sattn/KernelCache.h"
#include "sattn/KernelInfo.h"

#include "llvm/ADT/StringRef.h"

#include <cstdio>
#include <cstdlib>
#include <limits>

namespace {

[[noreturn]] void breach(const char *what) {
  std::fprintf(stderr, "sattn-fuzz-cache-entry: contract breach: %s\n", what);
  std::abort();
}

/// The digest field of the header (bytes 32 to 64), or "" when too short.
llvm::StringRef storedDigest(llvm::StringRef bytes) {
  return bytes.size() >= 64 ? bytes.substr(32, 32) : llvm::StringRef();
}

/// Step 1: `bytes` as a whole entry.
void checkEntry(llvm::StringRef bytes) {
  llvm::Expected<sattn::CacheEntry> entry =
      sattn::decodeCacheEntry(bytes, "", "fuzz.sattnk");
  if (!entry) {
    std::string message = llvm::toString(entry.takeError());
    if (message.find("fuzz.sattnk") == std::string::npos)
      breach("error does not name the entry");
    // An entry that is invalid without a digest check stays invalid with
    // one.
    llvm::Expected<sattn::CacheEntry> checked =
        sattn::decodeCacheEntry(bytes, storedDigest(bytes), "fuzz.sattnk");
    if (checked)
      breach("invalid entry accepted once its digest is expected");
    llvm::consumeError(checked.takeError());
    return;
  }
  if (entry->digest != storedDigest(bytes))
    breach("decoded digest is not the stored one");
  if (entry->origin != sattn::CacheEntry::Origin::Disk)
    breach("decoded entry not marked as from disk");
  if (sattn::encodeCacheEntry(entry->digest, entry->description,
                              entry->artifact) != bytes)
    breach("re-encoding a decoded entry changes its bytes");
  // The digest check: the stored digest passes, any other is refused.
  llvm::Expected<sattn::CacheEntry> same =
      sattn::decodeCacheEntry(bytes, entry->digest, "fuzz.sattnk");
  if (!same)
    breach("entry refused with its own digest");
  std::string other = entry->digest;
  other[0] = other[0] == '0' ? '1' : '0';
  llvm::Expected<sattn::CacheEntry> wrong =
      sattn::decodeCacheEntry(bytes, other, "fuzz.sattnk");
  if (wrong)
    breach("entry accepted with another key's digest");
  llvm::consumeError(wrong.takeError());
}

/// Step 2: `artifact` as the payload of an entry whose checksum is right.
void checkPlantedArtifact(llvm::StringRef artifact) {
  sattn::CacheKey key;
  std::string digest = key.digest();
  llvm::Expected<sattn::CacheEntry> entry = sattn::decodeCacheEntry(
      sattn::encodeCacheEntry(digest, key.describe(), artifact), digest,
      "fuzz.sattnk");
  if (!entry || entry->artifact != artifact)
    breach("a well-formed entry does not decode to its artifact");
  llvm::Expected<sattn::KernelArtifact> decoded =
      sattn::decodeKernelArtifact(entry->artifact);
  if (!decoded) {
    llvm::consumeError(decoded.takeError());
    return;
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  for (sattn::CallSizes sizes :
       {sattn::CallSizes{1, 1, 1}, sattn::CallSizes{2, 4096, 8192},
        sattn::CallSizes{kMax, kMax, kMax}, sattn::CallSizes{0, 0, 0}}) {
    auto layout = sattn::layoutWorkspace(decoded->info, sizes);
    if (!layout)
      llvm::consumeError(layout.takeError());
  }
  std::string record = decoded->info.toJSON();
  llvm::Expected<sattn::KernelArtifact> again = sattn::decodeKernelArtifact(
      sattn::encodeKernelArtifact(decoded->info, decoded->binary));
  if (!again) {
    llvm::consumeError(again.takeError());
    breach("a decoded kernel record does not decode once encoded again");
  }
  if (again->info.toJSON() != record || again->binary != decoded->binary)
    breach("encoding a decoded kernel artifact changes it");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  checkEntry(bytes);
  checkPlantedArtifact(bytes);
  return 0;
}
