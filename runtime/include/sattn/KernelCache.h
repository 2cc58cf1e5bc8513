//===- KernelCache.h - In-memory and on-disk cache of compiled kernels ----===//
//
// Compiled kernels (host object files, PTX, cubins) are cached in memory and
// on disk, keyed by a 128-bit digest of everything that determines the
// generated code: the canonical pattern IR, the static shape, the dtype, the
// backend and arch, the compiler options and the compiler version (XXH3-128,
// fast enough that a memory hit costs little even for long IR). Sequence
// lengths and batch size are run-time arguments of the kernels and are not part
// of the key, so a new length never recompiles.
//
// On disk every key is one file "<digest>.sattnk" under the cache directory,
// written to a unique temporary file in the same directory and renamed into
// place, so a reader sees a complete old file, a complete new file or none.
// Every entry carries a checksum; a corrupt or truncated entry is reported
// once, rebuilt and replaced. docs/cache.md describes the format.
//
// All members of KernelCache are thread-safe; concurrent requests for one key
// in one process build it once while the others wait.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_KERNELCACHE_H
#define SATTN_KERNELCACHE_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Error.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace sattn {

/// The compiler version that goes into every key: the sattn version and the
/// LLVM version it was built against and a fingerprint of the compiler's
/// sources (cmake/SourceFingerprint.cmake), e.g.
/// "sattn 0.1.0 (LLVM 22.1.8, source 3f0c9a1e5b2d7c44)".
llvm::StringRef compilerVersion();

/// Everything that determines a compiled kernel. Each field is hashed with its
/// name and length, so no two different keys can collide by shifting text from
/// one field into the next.
struct CacheKey {
  /// The pattern as canonical IR text (the printed, canonicalized module), not
  /// the source it came from: sources that mean the same share entries.
  std::string patternIR;
  /// Compile-time shape values, canonically ordered, e.g.
  /// "heads_q=32,heads_kv=8,head_dim=128,block_q=64,block_k=64". Batch and
  /// sequence lengths are run-time arguments and must not appear here.
  std::string staticShape;
  /// Element type of Q/K/V and the output, e.g. "f16", "bf16", "f32".
  std::string dtype;
  /// Code generator: "cpu" or "cuda".
  std::string backend;
  /// Target within the backend: "x86_64", "aarch64", "sm_80", "sm_90a".
  std::string arch;
  /// Canonical text of the code-generation options that change the artifact
  /// (optimization level, tile sizes, fast-math, ...), e.g. "O3,fastmath".
  std::string options;
  /// The compiler that produced the artifact; defaults to compilerVersion().
  std::string compilerVersion = sattn::compilerVersion().str();

  /// The key as 32 lowercase hex digits: XXH3-128 of the named fields.
  std::string digest() const;

  /// A human-readable description, one "field: value" line per field with the
  /// pattern IR last; stored in the disk entry for debugging.
  std::string describe() const;
};

/// A cached artifact and its metadata. Entries are immutable and shared.
struct CacheEntry {
  enum class Origin { Built, Disk };

  /// CacheKey::digest() of the key this entry was made for.
  std::string digest;
  /// CacheKey::describe() of that key.
  std::string description;
  /// The artifact bytes, e.g. an object file, PTX text or a cubin.
  std::string artifact;
  /// Where this process got the entry from.
  Origin origin = Origin::Built;
};

/// Counters, for tests and benchmarks. Each getOrCreate call that succeeds
/// adds one to exactly one of memoryHits, diskHits and builds.
struct CacheStats {
  /// Served from memory, including requests that waited for another thread's
  /// build of the same key.
  uint64_t memoryHits = 0;
  /// Loaded from a valid disk entry.
  uint64_t diskHits = 0;
  /// Successful calls of the build callback.
  uint64_t builds = 0;
  /// Build callbacks that returned an error.
  uint64_t buildFailures = 0;
  /// Disk entries found corrupt or truncated (each is rebuilt).
  uint64_t corruptEntries = 0;
  /// Disk entries that could not be written (the entry stays in memory).
  uint64_t diskWriteFailures = 0;
};

/// Receives every warning the cache reports (corrupt entries, an unusable
/// directory, failed writes). The default prints the message and a newline to
/// llvm::errs().
using CacheWarningHandler = std::function<void(llvm::StringRef message)>;

struct CacheOptions {
  /// Keep built and loaded entries in memory.
  bool enableMemory = true;
  /// Use the disk cache in `directory`.
  bool enableDisk = true;
  /// The cache directory; created when missing. Must be set when enableDisk
  /// is; fromEnvironment() fills it in.
  std::string directory;
  /// Where warnings go; null means llvm::errs().
  CacheWarningHandler warningHandler;
  /// The directory's entries are kept under this many bytes: after each
  /// write the least recently used entries (by modification time, which a
  /// disk hit refreshes) are removed. 0: no limit.
  uint64_t maxDiskBytes = kDefaultMaxDiskBytes;
  static constexpr uint64_t kDefaultMaxDiskBytes = uint64_t(1) << 30;

  /// Options from the environment: the directory from cacheDirectory(), the
  /// disk cache disabled when that says "off", the size limit from
  /// $SATTN_CACHE_MAX_MB (MiB; 0 for none) when set.
  static CacheOptions fromEnvironment();
};

/// The disk cache directory from the environment: $SATTN_CACHE_DIR when set
/// and not empty, else $XDG_CACHE_HOME/sattn, else $HOME/.cache/sattn.
/// Returns std::nullopt when SATTN_CACHE_DIR is "off" (any case) or when no
/// directory can be determined.
std::optional<std::string> cacheDirectory();

/// The file name extension of disk entries, ".sattnk".
llvm::StringRef cacheEntryExtension();

/// Serializes an entry in the disk format (header, description, payload).
std::string encodeCacheEntry(llvm::StringRef digest,
                             llvm::StringRef description,
                             llvm::StringRef artifact);

/// Parses and validates the bytes of a disk entry: magic, format version,
/// sizes, checksum and, when `expectedDigest` is not empty, the stored key
/// digest. Errors say what is wrong ("truncated", "checksum mismatch", ...)
/// and name `nameForErrors`.
llvm::Expected<CacheEntry> decodeCacheEntry(llvm::StringRef bytes,
                                            llvm::StringRef expectedDigest,
                                            llvm::StringRef nameForErrors);

/// Reads and validates a disk entry. Returns std::nullopt when the file does
/// not exist and an error when it exists but is unreadable or invalid.
llvm::Expected<std::optional<CacheEntry>>
readCacheEntryFile(llvm::StringRef path, llvm::StringRef expectedDigest = "");

/// Writes a disk entry atomically: to a unique temporary file next to `path`,
/// flushed to stable storage where the platform allows, then renamed over
/// `path`. The temporary file is removed on failure.
llvm::Error writeCacheEntryFile(llvm::StringRef path, llvm::StringRef digest,
                                llvm::StringRef description,
                                llvm::StringRef artifact);

class KernelCache {
public:
  /// The process-wide cache, configured by CacheOptions::fromEnvironment() on
  /// first use.
  static KernelCache &global();

  explicit KernelCache(CacheOptions options);
  ~KernelCache();
  KernelCache(const KernelCache &) = delete;
  KernelCache &operator=(const KernelCache &) = delete;

  /// Returns the entry for `key`: from memory, else from a valid disk entry,
  /// else from `build`, whose bytes are then stored in memory and on disk.
  /// Concurrent calls for one key run `build` once; the others wait for it
  /// and share its result (or its error). Errors of `build` are returned and
  /// not cached; disk problems are warnings, never errors.
  llvm::Expected<std::shared_ptr<const CacheEntry>>
  getOrCreate(const CacheKey &key,
              llvm::function_ref<llvm::Expected<std::string>()> build);

  /// The disk file that holds (or would hold) `key`; empty without a disk
  /// cache.
  std::string entryPath(const CacheKey &key) const;

  /// Whether entries are read from and written to disk. Turns false for good
  /// if the directory cannot be created.
  bool diskEnabled() const { return diskOn.load(); }
  /// The cache directory; empty when the disk cache is off.
  llvm::StringRef directory() const { return dir; }

  CacheStats stats() const;
  void resetStats();

  /// Forgets the in-memory entries (entries handed out stay valid).
  void clearMemory();
  /// Removes every entry and leftover temporary file from the cache directory.
  llvm::Error clearDisk();
  /// Drops `key`'s entry from memory (once its build is done) and from
  /// disk: for an entry that decoded but could not be loaded, so that the
  /// next getOrCreate() rebuilds it.
  void forget(const CacheKey &key);

private:
  struct Slot;

  llvm::Expected<std::shared_ptr<const CacheEntry>>
  loadOrBuild(const CacheKey &key, const std::string &digest,
              llvm::function_ref<llvm::Expected<std::string>()> build);
  /// Removes the least recently used entries until the directory holds at
  /// most opts.maxDiskBytes of them; `keep` (just written) stays.
  void evictToLimit(llvm::StringRef keep);
  /// Reports `message` unless `onceKey` was reported before.
  void warnOnce(llvm::StringRef onceKey, const llvm::Twine &message);

  CacheOptions opts;
  std::string dir;
  std::atomic<bool> diskOn{false};

  mutable std::mutex mapMutex;
  llvm::StringMap<std::shared_ptr<Slot>> slots;

  std::mutex warnMutex;
  llvm::StringSet<> warned;

  std::atomic<uint64_t> memoryHits{0}, diskHits{0}, builds{0}, buildFailures{0},
      corruptEntries{0}, diskWriteFailures{0};
};

} // namespace sattn

#endif // SATTN_KERNELCACHE_H
