//===- FuzzCacheEntry.cpp - libFuzzer target: the cache entry decoder -----===//
//
// Decodes the input as the bytes of a disk cache entry (decodeCacheEntry,
// which readCacheEntryFile calls after reading the file), once without and
// once with an expected key digest. An accepted entry must be the encoding
// of what it decoded to: encodeCacheEntry of its digest, description and
// artifact gives the input back byte for byte, so no two byte strings decode
// to the same entry. A breach aborts, which libFuzzer reports as a crash.
//
//===----------------------------------------------------------------------===//

#include "sattn/KernelCache.h"

#include "llvm/ADT/StringRef.h"

#include <cstdio>
#include <cstdlib>

namespace {

[[noreturn]] void breach(const char *what) {
  std::fprintf(stderr, "sattn-fuzz-cache-entry: contract breach: %s\n", what);
  std::abort();
}

/// The digest field of the header (bytes 32 to 64), or "" when too short.
llvm::StringRef storedDigest(llvm::StringRef bytes) {
  return bytes.size() >= 64 ? bytes.substr(32, 32) : llvm::StringRef();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
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
    return 0;
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
  return 0;
}
