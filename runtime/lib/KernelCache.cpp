//===- KernelCache.cpp - In-memory and on-disk cache of compiled kernels --===//
//
// Disk entry layout (all integers little-endian), see docs/cache.md:
//
//   offset  size  field
//        0     8  magic "SATTNK01"
//        8     4  format version (1)
//       12     4  description size D
//       16     8  payload size P
//       24     8  xxh3_64 of bytes [32, 64 + D + P)
//       32    32  key digest, lowercase hex
//       64     D  description (CacheKey::describe())
//   64 + D     P  payload (the artifact)
//
//===----------------------------------------------------------------------===//

#include "sattn/KernelCache.h"
#include "sattn/ReadFile.h"

#include "sattn/AtomicFile.h"
#include "sattn/Errors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstring>

#include "SourceFingerprint.h"

#ifndef SATTN_VERSION_STRING
#define SATTN_VERSION_STRING "unknown"
#endif

using namespace sattn;
namespace fs = llvm::sys::fs;
namespace endian = llvm::support::endian;

namespace {

constexpr char kMagic[8] = {'S', 'A', 'T', 'T', 'N', 'K', '0', '1'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kDigestSize = 32;
constexpr size_t kChecksumStart = 32;
constexpr size_t kHeaderSize = kChecksumStart + kDigestSize;
/// Entries larger than this are not read (corrupt or planted: kernels are
/// kilobytes to a few megabytes).
constexpr uint64_t kMaxEntryBytes = uint64_t(256) << 20;
/// Bumped whenever the way keys are hashed changes.
constexpr llvm::StringLiteral kKeySchema = "sattn-kernel-key-v1";
/// Temporary files are "<digest>.sattnk.tmp-XXXXXXXX".
constexpr llvm::StringLiteral kTempInfix = ".tmp-";

/// Appends `value` as "<name>\0<length>\0<value>" so that field boundaries
/// are unambiguous.
void appendField(std::string &out, llvm::StringRef name,
                 llvm::StringRef value) {
  out += name;
  out += '\0';
  out += llvm::utostr(value.size());
  out += '\0';
  out += value;
}

/// The outcome of reading a disk entry.
struct ReadResult {
  enum Kind { Missing, Valid, Corrupt, Unreadable } kind = Missing;
  CacheEntry entry;
  /// For Corrupt and Unreadable: what is wrong, e.g. "checksum mismatch".
  std::string reason;
};

/// Validates `bytes`; returns the problem, or std::nullopt and fills `entry`.
std::optional<std::string> decodeInto(llvm::StringRef bytes,
                                      llvm::StringRef expectedDigest,
                                      CacheEntry &entry) {
  if (bytes.size() < kHeaderSize)
    return ("truncated (" + llvm::Twine(bytes.size()) +
            " bytes, shorter than the " + llvm::Twine(kHeaderSize) +
            "-byte header)")
        .str();
  const char *p = bytes.data();
  if (llvm::StringRef(p, sizeof(kMagic)) !=
      llvm::StringRef(kMagic, sizeof(kMagic)))
    return std::string("bad magic");
  uint32_t version = endian::read32le(p + 8);
  if (version != kFormatVersion)
    return ("unsupported format version " + llvm::Twine(version)).str();
  uint64_t descSize = endian::read32le(p + 12);
  uint64_t payloadSize = endian::read64le(p + 16);
  uint64_t checksum = endian::read64le(p + 24);
  uint64_t available = bytes.size() - kHeaderSize;
  // descSize < 2^32, so descSize + payloadSize overflows only if payloadSize
  // alone exceeds `available`.
  if (payloadSize > available || descSize + payloadSize > available)
    return ("truncated (" + llvm::Twine(bytes.size()) + " bytes, header says " +
            llvm::Twine(kHeaderSize) + " + " + llvm::Twine(descSize) + " + " +
            llvm::Twine(payloadSize) + ")")
        .str();
  if (descSize + payloadSize < available)
    return ("trailing bytes (" + llvm::Twine(bytes.size()) +
            " bytes, header says " + llvm::Twine(kHeaderSize) + " + " +
            llvm::Twine(descSize) + " + " + llvm::Twine(payloadSize) + ")")
        .str();
  if (llvm::xxh3_64bits(bytes.drop_front(kChecksumStart)) != checksum)
    return std::string("checksum mismatch");
  llvm::StringRef digest = bytes.substr(kChecksumStart, kDigestSize);
  if (!expectedDigest.empty() && digest != expectedDigest)
    return std::string("key digest mismatch");
  entry.digest = digest.str();
  entry.description = bytes.substr(kHeaderSize, descSize).str();
  entry.artifact = bytes.substr(kHeaderSize + descSize, payloadSize).str();
  entry.origin = CacheEntry::Origin::Disk;
  return std::nullopt;
}

ReadResult readEntry(llvm::StringRef path, llvm::StringRef expectedDigest) {
  ReadResult result;
  // Read with read(2), never mmap: a file truncated in place by someone else
  // would make a mapping fault (SIGBUS) instead of failing validation.
  // Regular files of at most kMaxEntryBytes only: an entry that was a
  // symlink to /dev/zero grew memory to 9.9 GB, a FIFO blocked forever
  // (issue 21 D6).
  llvm::SmallString<0> bytes;
  if (llvm::Error e = readRegularFile(path, kMaxEntryBytes, bytes)) {
    std::error_code ec;
    std::string reason;
    llvm::handleAllErrors(std::move(e), [&](const llvm::ErrorInfoBase &info) {
      ec = info.convertToErrorCode();
      reason = info.message();
    });
    if (ec == std::errc::no_such_file_or_directory) {
      result.kind = ReadResult::Missing;
    } else {
      result.kind = ReadResult::Unreadable;
      result.reason = std::move(reason);
    }
    return result;
  }
  if (auto problem = decodeInto(bytes, expectedDigest, result.entry)) {
    result.kind = ReadResult::Corrupt;
    result.reason = std::move(*problem);
    return result;
  }
  result.kind = ReadResult::Valid;
  return result;
}

void defaultWarning(llvm::StringRef message) {
  llvm::errs() << message << "\n";
}

} // namespace

//===----------------------------------------------------------------------===//
// Keys, locations and the disk format
//===----------------------------------------------------------------------===//

llvm::StringRef sattn::compilerVersion() {
  // The source fingerprint tells builds of one version apart: a kernel
  // cached by an older build must not be loaded (its workspace layout or
  // calling convention may differ).
  return "sattn " SATTN_VERSION_STRING " (LLVM " LLVM_VERSION_STRING
         ", source " SATTN_SOURCE_FINGERPRINT ")";
}

std::string CacheKey::digest() const {
  std::string text;
  text.reserve(patternIR.size() + staticShape.size() + options.size() + 256);
  text += kKeySchema;
  appendField(text, "pattern_ir", patternIR);
  appendField(text, "static_shape", staticShape);
  appendField(text, "dtype", dtype);
  appendField(text, "backend", backend);
  appendField(text, "arch", arch);
  appendField(text, "options", options);
  appendField(text, "compiler_version", compilerVersion);
  llvm::XXH128_hash_t hash = llvm::xxh3_128bits(llvm::ArrayRef(
      reinterpret_cast<const uint8_t *>(text.data()), text.size()));
  // Big-endian high then low half: the canonical XXH128 hex form.
  uint8_t bytes[16];
  llvm::support::endian::write64be(bytes, hash.high64);
  llvm::support::endian::write64be(bytes + 8, hash.low64);
  return llvm::toHex(bytes, /*LowerCase=*/true);
}

std::string CacheKey::describe() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "static_shape: " << staticShape << "\n"
     << "dtype: " << dtype << "\n"
     << "backend: " << backend << "\n"
     << "arch: " << arch << "\n"
     << "options: " << options << "\n"
     << "compiler_version: " << compilerVersion << "\n"
     << "pattern_ir:\n"
     << patternIR;
  if (!patternIR.empty() && patternIR.back() != '\n')
    os << "\n";
  return text;
}

std::optional<std::string> sattn::cacheDirectory() {
  if (std::optional<std::string> env =
          llvm::sys::Process::GetEnv("SATTN_CACHE_DIR");
      env && !env->empty()) {
    if (llvm::StringRef(*env).equals_insensitive("off"))
      return std::nullopt;
    return *env;
  }
  llvm::SmallString<256> path;
  if (std::optional<std::string> xdg =
          llvm::sys::Process::GetEnv("XDG_CACHE_HOME");
      xdg && !xdg->empty()) {
    path = *xdg;
  } else if (std::optional<std::string> home =
                 llvm::sys::Process::GetEnv("HOME");
             home && !home->empty()) {
    path = *home;
    llvm::sys::path::append(path, ".cache");
  } else if (!llvm::sys::path::cache_directory(path)) {
    return std::nullopt;
  }
  llvm::sys::path::append(path, "sattn");
  return std::string(path);
}

llvm::StringRef sattn::cacheEntryExtension() { return ".sattnk"; }

CacheOptions CacheOptions::fromEnvironment() {
  CacheOptions options;
  if (std::optional<std::string> dir = cacheDirectory())
    options.directory = std::move(*dir);
  else
    options.enableDisk = false;
  if (std::optional<std::string> mb =
          llvm::sys::Process::GetEnv("SATTN_CACHE_MAX_MB")) {
    uint64_t value = 0;
    if (!llvm::StringRef(*mb).getAsInteger(10, value) && value < (1ull << 44))
      options.maxDiskBytes = value << 20;
  }
  return options;
}

std::string sattn::encodeCacheEntry(llvm::StringRef digest,
                                    llvm::StringRef description,
                                    llvm::StringRef artifact) {
  assert(digest.size() == kDigestSize && "digest must be 32 hex digits");
  assert(description.size() <= UINT32_MAX && "description too long");
  std::string bytes(kHeaderSize, '\0');
  bytes.reserve(kHeaderSize + description.size() + artifact.size());
  char *p = bytes.data();
  std::memcpy(p, kMagic, sizeof(kMagic));
  endian::write32le(p + 8, kFormatVersion);
  endian::write32le(p + 12, static_cast<uint32_t>(description.size()));
  endian::write64le(p + 16, artifact.size());
  std::memcpy(p + kChecksumStart, digest.data(),
              std::min(digest.size(), kDigestSize));
  bytes += description;
  bytes += artifact;
  uint64_t checksum =
      llvm::xxh3_64bits(llvm::StringRef(bytes).drop_front(kChecksumStart));
  endian::write64le(bytes.data() + 24, checksum);
  return bytes;
}

llvm::Expected<CacheEntry>
sattn::decodeCacheEntry(llvm::StringRef bytes, llvm::StringRef expectedDigest,
                        llvm::StringRef nameForErrors) {
  CacheEntry entry;
  if (auto problem = decodeInto(bytes, expectedDigest, entry))
    return makeError(nameForErrors + ": " + *problem);
  return entry;
}

llvm::Expected<std::optional<CacheEntry>>
sattn::readCacheEntryFile(llvm::StringRef path,
                          llvm::StringRef expectedDigest) {
  ReadResult result = readEntry(path, expectedDigest);
  switch (result.kind) {
  case ReadResult::Missing:
    return std::nullopt;
  case ReadResult::Valid:
    return std::move(result.entry);
  case ReadResult::Corrupt:
  case ReadResult::Unreadable:
    break;
  }
  return makeError(path + ": " + result.reason);
}

llvm::Error sattn::writeCacheEntryFile(llvm::StringRef path,
                                       llvm::StringRef digest,
                                       llvm::StringRef description,
                                       llvm::StringRef artifact) {
  if (digest.size() != kDigestSize)
    return makeError(path + ": key digest must be " + llvm::Twine(kDigestSize) +
                     " hex digits");
  if (description.size() > UINT32_MAX)
    return makeError(path + ": description too long");
  std::string bytes = encodeCacheEntry(digest, description, artifact);
  AtomicWriteOptions options;
  // The cache cleans up temporary files it finds by this infix; a crash of
  // the machine right after the rename could otherwise leave a renamed but
  // empty file (which the checksum would catch).
  options.tempInfix = kTempInfix;
  options.durable = true;
  options.writeThroughSpecialFiles = false;
  return writeFileAtomically(path, bytes, options);
}

//===----------------------------------------------------------------------===//
// KernelCache
//===----------------------------------------------------------------------===//

/// One key's entry, or its build in progress.
struct KernelCache::Slot {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  /// Set when done and the build succeeded.
  std::shared_ptr<const CacheEntry> entry;
  /// Set when done and the build failed.
  std::string error;
};

KernelCache &KernelCache::global() {
  // Never destroyed: threads may still use it while static objects die.
  static KernelCache *cache = new KernelCache(CacheOptions::fromEnvironment());
  return *cache;
}

KernelCache::KernelCache(CacheOptions options) : opts(std::move(options)) {
  if (!opts.warningHandler)
    opts.warningHandler = defaultWarning;
  if (!opts.enableDisk)
    return;
  if (opts.directory.empty()) {
    warnOnce("directory", "sattn: no kernel cache directory could be "
                          "determined; using the in-memory cache only");
    return;
  }
  if (std::error_code ec = fs::create_directories(opts.directory)) {
    warnOnce("directory", "sattn: cannot create kernel cache directory " +
                              opts.directory + ": " + ec.message() +
                              "; using the in-memory cache only");
    return;
  }
  dir = opts.directory;
  diskOn = true;
}

KernelCache::~KernelCache() = default;

std::string KernelCache::entryPath(const CacheKey &key) const {
  if (!diskOn)
    return "";
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, key.digest() + cacheEntryExtension());
  return std::string(path);
}

void KernelCache::warnOnce(llvm::StringRef onceKey,
                           const llvm::Twine &message) {
  {
    std::lock_guard<std::mutex> lock(warnMutex);
    if (!warned.insert(onceKey).second)
      return;
  }
  opts.warningHandler(message.str());
}

llvm::Expected<std::shared_ptr<const CacheEntry>> KernelCache::getOrCreate(
    const CacheKey &key,
    llvm::function_ref<llvm::Expected<std::string>()> build) {
  std::string digest = key.digest();
  std::shared_ptr<Slot> slot;
  bool owner = false;
  {
    std::lock_guard<std::mutex> lock(mapMutex);
    std::shared_ptr<Slot> &found = slots[digest];
    if (!found) {
      found = std::make_shared<Slot>();
      owner = true;
    }
    slot = found;
  }

  if (!owner) {
    std::unique_lock<std::mutex> lock(slot->mutex);
    slot->cv.wait(lock, [&] { return slot->done; });
    if (slot->entry) {
      ++memoryHits;
      return slot->entry;
    }
    return makeError(slot->error);
  }

  auto result = loadOrBuild(key, digest, build);
  std::string error;
  if (!result) {
    llvm::Error err = llvm::handleErrors(
        result.takeError(),
        [&](std::unique_ptr<llvm::ErrorInfoBase> info) -> llvm::Error {
          error = info->message();
          return llvm::Error(std::move(info));
        });
    result = std::move(err);
  }
  // Failures are not cached, and without the memory cache the slot only
  // served to share one build among concurrent requests.
  if (!result || !opts.enableMemory) {
    std::lock_guard<std::mutex> lock(mapMutex);
    slots.erase(digest);
  }
  {
    std::lock_guard<std::mutex> lock(slot->mutex);
    slot->done = true;
    if (result)
      slot->entry = *result;
    else
      slot->error = error;
  }
  slot->cv.notify_all();
  return result;
}

llvm::Expected<std::shared_ptr<const CacheEntry>> KernelCache::loadOrBuild(
    const CacheKey &key, const std::string &digest,
    llvm::function_ref<llvm::Expected<std::string>()> build) {
  std::string path;
  if (diskOn) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, digest + cacheEntryExtension());
    path = std::string(p);
    ReadResult read = readEntry(path, digest);
    // The digest names the key; the description is the full key. An entry
    // whose checksum and digest are right but whose key is not (another
    // pattern's object under this name) is not this kernel (issue 21 D6).
    if (read.kind == ReadResult::Valid &&
        read.entry.description != key.describe()) {
      read.kind = ReadResult::Corrupt;
      read.reason = "key mismatch: the entry describes another kernel";
    }
    switch (read.kind) {
    case ReadResult::Valid: {
      ++diskHits;
      // Recently used, for the LRU eviction (best effort: a read-only cache
      // keeps its times).
      llvm::Expected<fs::file_t> file =
          fs::openNativeFileForWrite(path, fs::CD_OpenExisting, fs::OF_Append);
      if (file) {
        (void)fs::setLastAccessAndModificationTime(
            *file, std::chrono::system_clock::now());
        fs::closeFile(*file);
      } else {
        llvm::consumeError(file.takeError());
      }
      return std::make_shared<const CacheEntry>(std::move(read.entry));
    }
    case ReadResult::Missing:
      break;
    case ReadResult::Corrupt:
      ++corruptEntries;
      warnOnce("corrupt:" + digest, "sattn: cache entry " + path +
                                        " is corrupt (" + read.reason +
                                        "); rebuilding");
      break;
    case ReadResult::Unreadable:
      warnOnce("unreadable:" + digest, "sattn: cannot read cache entry " +
                                           path + ": " + read.reason +
                                           "; rebuilding");
      break;
    }
  }

  llvm::Expected<std::string> artifact = build();
  if (!artifact) {
    ++buildFailures;
    return artifact.takeError();
  }
  ++builds;
  auto entry = std::make_shared<CacheEntry>();
  entry->digest = digest;
  entry->description = key.describe();
  entry->artifact = std::move(*artifact);
  entry->origin = CacheEntry::Origin::Built;

  if (!path.empty()) {
    // Replaces a corrupt entry, if there was one, in the same atomic step.
    if (llvm::Error err = writeCacheEntryFile(path, digest, entry->description,
                                              entry->artifact)) {
      ++diskWriteFailures;
      warnOnce("write", "sattn: cannot store kernel cache entry: " +
                            llvm::toString(std::move(err)) +
                            "; keeping it in memory only");
    } else if (opts.maxDiskBytes) {
      evictToLimit(path);
    }
  }
  return std::shared_ptr<const CacheEntry>(std::move(entry));
}

CacheStats KernelCache::stats() const {
  CacheStats s;
  s.memoryHits = memoryHits;
  s.diskHits = diskHits;
  s.builds = builds;
  s.buildFailures = buildFailures;
  s.corruptEntries = corruptEntries;
  s.diskWriteFailures = diskWriteFailures;
  return s;
}

void KernelCache::resetStats() {
  memoryHits = 0;
  diskHits = 0;
  builds = 0;
  buildFailures = 0;
  corruptEntries = 0;
  diskWriteFailures = 0;
}

void KernelCache::evictToLimit(llvm::StringRef keep) {
  struct File {
    std::string path;
    uint64_t size;
    llvm::sys::TimePoint<> used;
  };
  std::vector<File> files;
  uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    if (!llvm::StringRef(it->path()).ends_with(cacheEntryExtension()))
      continue;
    fs::file_status status;
    if (fs::status(it->path(), status, /*Follow=*/false) ||
        status.type() != fs::file_type::regular_file)
      continue;
    files.push_back({it->path(), status.getSize(),
                     status.getLastModificationTime()});
    total += status.getSize();
  }
  if (total <= opts.maxDiskBytes)
    return;
  // Oldest first; ties by path, so that concurrent evictors agree.
  llvm::sort(files, [](const File &a, const File &b) {
    return a.used != b.used ? a.used < b.used : a.path < b.path;
  });
  for (const File &f : files) {
    if (total <= opts.maxDiskBytes)
      break;
    if (f.path == keep)
      continue;
    if (!fs::remove(f.path))
      total -= f.size;
  }
}

void KernelCache::forget(const CacheKey &key) {
  std::string digest = key.digest();
  {
    std::lock_guard<std::mutex> lock(mapMutex);
    auto it = slots.find(digest);
    if (it != slots.end()) {
      bool done;
      {
        std::lock_guard<std::mutex> slotLock(it->second->mutex);
        done = it->second->done;
      }
      if (done)
        slots.erase(it);
    }
  }
  if (diskOn.load())
    fs::remove(entryPath(key));
}

void KernelCache::clearMemory() {
  std::lock_guard<std::mutex> lock(mapMutex);
  // Builds in progress keep their slots so that their waiters are served.
  for (auto it = slots.begin(); it != slots.end();) {
    auto next = std::next(it);
    bool done;
    {
      std::lock_guard<std::mutex> slotLock(it->second->mutex);
      done = it->second->done;
    }
    if (done)
      slots.erase(it);
    it = next;
  }
}

llvm::Error KernelCache::clearDisk() {
  if (!diskOn)
    return llvm::Error::success();
  std::error_code ec;
  llvm::SmallVector<std::string> doomed;
  for (fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    if (name.ends_with(cacheEntryExtension()) ||
        name.contains((cacheEntryExtension() + kTempInfix).str()))
      doomed.push_back(it->path());
  }
  if (ec)
    return makeError("cannot list " + dir + ": " + ec.message());
  for (const std::string &path : doomed)
    if (std::error_code removeEc = fs::remove(path))
      return makeError("cannot remove " + path + ": " + removeEc.message());
  return llvm::Error::success();
}
