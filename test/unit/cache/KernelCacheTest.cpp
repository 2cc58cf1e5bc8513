//===- KernelCacheTest.cpp - Kernel cache within one process --------------===//

#include "CacheTestUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace sattn;
using namespace sattn::test;

namespace {

std::string readBytes(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  EXPECT_TRUE(bool(buffer)) << path;
  return buffer ? (*buffer)->getBuffer().str() : std::string();
}

void writeBytes(const std::string &path, llvm::StringRef bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec) << ec.message();
  os << bytes;
}

/// A build callback that counts its calls.
struct CountingBuild {
  std::string artifact;
  std::atomic<int> calls{0};
  llvm::Expected<std::string> operator()() {
    ++calls;
    return artifact;
  }
};

std::shared_ptr<const CacheEntry>
getOrFail(KernelCache &cache, const CacheKey &key, CountingBuild &build) {
  auto entry = cache.getOrCreate(key, [&] { return build(); });
  if (!entry) {
    ADD_FAILURE() << llvm::toString(entry.takeError());
    return nullptr;
  }
  return *entry;
}

//===----------------------------------------------------------------------===//
// Keys
//===----------------------------------------------------------------------===//

TEST(CacheKeyTest, DigestIsStableHex) {
  CacheKey key = sampleKey();
  std::string digest = key.digest();
  EXPECT_EQ(digest.size(), 32u);
  EXPECT_EQ(digest.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(digest, sampleKey().digest());
  // Pinned: a change here invalidates every cache on disk, so it must be
  // deliberate (and then kKeySchema in KernelCache.cpp should change too).
  EXPECT_EQ(digest, "47653f2f8b12ffa3f67797135ed1c775");
}

TEST(CacheKeyTest, EveryFieldChangesTheDigest) {
  const std::string base = sampleKey().digest();
  std::vector<std::string (*)(CacheKey &)> mutators = {
      [](CacheKey &k) { return k.patternIR += " "; },
      [](CacheKey &k) { return k.staticShape = "heads_q=8,head_dim=128"; },
      [](CacheKey &k) { return k.dtype = "bf16"; },
      [](CacheKey &k) { return k.backend = "cpu"; },
      [](CacheKey &k) { return k.arch = "sm_80"; },
      [](CacheKey &k) { return k.options = "O2"; },
      [](CacheKey &k) { return k.compilerVersion = "sattn 0.1.1"; },
  };
  std::set<std::string> digests = {base};
  for (auto mutate : mutators) {
    CacheKey key = sampleKey();
    mutate(key);
    EXPECT_TRUE(digests.insert(key.digest()).second)
        << "field change left the digest unchanged: " << key.describe();
  }
}

TEST(CacheKeyTest, FieldBoundariesAreUnambiguous) {
  CacheKey a = sampleKey(), b = sampleKey();
  a.dtype = "f16";
  a.backend = "cuda";
  b.dtype = "f16c";
  b.backend = "uda";
  EXPECT_NE(a.digest(), b.digest());
  CacheKey c = sampleKey(), d = sampleKey();
  c.options = "";
  c.compilerVersion = "x";
  d.options = "x";
  d.compilerVersion = "";
  EXPECT_NE(c.digest(), d.digest());
}

TEST(CacheKeyTest, DefaultCompilerVersionAndDescription) {
  CacheKey key;
  EXPECT_EQ(key.compilerVersion, compilerVersion().str());
  EXPECT_TRUE(llvm::StringRef(key.compilerVersion).starts_with("sattn "));
  // Builds of one version differ by the fingerprint of their sources: the
  // entries of an older build must not be found (issue 21).
  llvm::StringRef version = compilerVersion();
  size_t at = version.find(", source ");
  ASSERT_NE(at, llvm::StringRef::npos) << version.str();
  llvm::StringRef fingerprint = version.substr(at + 9).drop_back();
  EXPECT_EQ(fingerprint.size(), 16u) << version.str();
  EXPECT_EQ(fingerprint.find_first_not_of("0123456789abcdef"),
            llvm::StringRef::npos)
      << version.str();
  EXPECT_TRUE(version.ends_with(")")) << version.str();
  std::string text = sampleKey().describe();
  EXPECT_NE(text.find("dtype: f16\n"), std::string::npos) << text;
  EXPECT_NE(text.find("arch: sm_90a\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sattn.window before = 128"), std::string::npos) << text;
}

//===----------------------------------------------------------------------===//
// Location
//===----------------------------------------------------------------------===//

/// Sets or unsets environment variables for one test and restores them.
class ScopedEnv {
public:
  void set(const char *name, const char *value) {
    if (!saved.count(name)) {
      const char *old = std::getenv(name);
      saved[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    for (auto &[name, value] : saved)
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
  }

private:
  std::map<std::string, std::optional<std::string>> saved;
};

TEST(CacheDirectoryTest, EnvironmentOrder) {
  ScopedEnv env;
  env.set("SATTN_CACHE_DIR", "/tmp/explicit");
  env.set("XDG_CACHE_HOME", "/tmp/xdg");
  env.set("HOME", "/tmp/home");
  EXPECT_EQ(cacheDirectory(), std::optional<std::string>("/tmp/explicit"));
  env.set("SATTN_CACHE_DIR", "");
  EXPECT_EQ(cacheDirectory(), std::optional<std::string>("/tmp/xdg/sattn"));
  env.set("SATTN_CACHE_DIR", nullptr);
  EXPECT_EQ(cacheDirectory(), std::optional<std::string>("/tmp/xdg/sattn"));
  env.set("XDG_CACHE_HOME", nullptr);
  EXPECT_EQ(cacheDirectory(),
            std::optional<std::string>("/tmp/home/.cache/sattn"));
  env.set("SATTN_CACHE_DIR", "off");
  EXPECT_EQ(cacheDirectory(), std::nullopt);
  env.set("SATTN_CACHE_DIR", "OFF");
  EXPECT_EQ(cacheDirectory(), std::nullopt);
}

TEST(CacheDirectoryTest, OffDisablesTheDiskCache) {
  TempDir dir;
  ScopedEnv env;
  env.set("SATTN_CACHE_DIR", "off");
  CacheOptions options = CacheOptions::fromEnvironment();
  EXPECT_FALSE(options.enableDisk);
  KernelCache cache(options);
  EXPECT_FALSE(cache.diskEnabled());
  EXPECT_EQ(cache.entryPath(sampleKey()), "");

  // Even with a directory given, enableDisk = false writes nothing there.
  CacheOptions explicitOff = optionsFor(dir.str());
  explicitOff.enableDisk = false;
  KernelCache noDisk(explicitOff);
  CountingBuild build{"artifact"};
  ASSERT_TRUE(getOrFail(noDisk, sampleKey(), build));
  EXPECT_EQ(build.calls, 1);
  EXPECT_TRUE(listFiles(dir.str()).empty());

  // A second memory-less, disk-less instance must build again.
  KernelCache other(explicitOff);
  ASSERT_TRUE(getOrFail(other, sampleKey(), build));
  EXPECT_EQ(build.calls, 2);
}

TEST(CacheDirectoryTest, EnvironmentDirectoryIsUsedAndCreated) {
  TempDir dir;
  ScopedEnv env;
  std::string nested = dir.child("a/b/sattn");
  env.set("SATTN_CACHE_DIR", nested.c_str());
  CacheOptions options = CacheOptions::fromEnvironment();
  options.warningHandler = [](llvm::StringRef m) { ADD_FAILURE() << m.str(); };
  KernelCache cache(options);
  ASSERT_TRUE(cache.diskEnabled());
  EXPECT_EQ(cache.directory(), nested);
  EXPECT_TRUE(llvm::sys::fs::is_directory(nested));
  CountingBuild build{"artifact"};
  ASSERT_TRUE(getOrFail(cache, sampleKey(), build));
  EXPECT_TRUE(llvm::sys::fs::exists(cache.entryPath(sampleKey())));
}

TEST(CacheDirectoryTest, UncreatableDirectoryWarnsOnceAndStaysInMemory) {
  TempDir dir;
  // A regular file where a parent directory should be.
  std::string file = dir.child("not-a-dir");
  writeBytes(file, "x");
  std::vector<std::string> warnings;
  KernelCache cache(optionsFor(file + "/sattn", &warnings));
  EXPECT_FALSE(cache.diskEnabled());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("cannot create kernel cache directory"),
            std::string::npos)
      << warnings[0];
  CountingBuild build{"artifact"};
  ASSERT_TRUE(getOrFail(cache, sampleKey(), build));
  ASSERT_TRUE(getOrFail(cache, sampleKey(), build));
  EXPECT_EQ(build.calls, 1);
  EXPECT_EQ(cache.stats().memoryHits, 1u);
  EXPECT_EQ(warnings.size(), 1u);
}

//===----------------------------------------------------------------------===//
// Memory and disk hits
//===----------------------------------------------------------------------===//

TEST(KernelCacheTest, MemoryHit) {
  TempDir dir;
  KernelCache cache(optionsFor(dir.str()));
  CountingBuild build{"object bytes \0 with a NUL"};
  auto first = getOrFail(cache, sampleKey(), build);
  auto second = getOrFail(cache, sampleKey(), build);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(build.calls, 1);
  EXPECT_EQ(first->origin, CacheEntry::Origin::Built);
  EXPECT_EQ(first->digest, sampleKey().digest());
  EXPECT_EQ(first->description, sampleKey().describe());
  CacheStats stats = cache.stats();
  EXPECT_EQ(stats.builds, 1u);
  EXPECT_EQ(stats.memoryHits, 1u);
  EXPECT_EQ(stats.diskHits, 0u);

  // A different key is a different entry.
  CacheKey other = sampleKey();
  other.arch = "sm_80";
  CountingBuild otherBuild{"other"};
  auto third = getOrFail(cache, other, otherBuild);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->artifact, "other");
  EXPECT_EQ(otherBuild.calls, 1);
}

TEST(KernelCacheTest, DiskHitInAFreshInstance) {
  TempDir dir;
  std::string artifact(100000, '\0');
  for (size_t i = 0; i < artifact.size(); ++i)
    artifact[i] = char(i * 131 + 7);
  {
    KernelCache writer(optionsFor(dir.str()));
    CountingBuild build{artifact};
    ASSERT_TRUE(getOrFail(writer, sampleKey(), build));
    EXPECT_EQ(build.calls, 1);
  }
  EXPECT_EQ(listFiles(dir.str()),
            std::vector<std::string>{sampleKey().digest() + ".sattnk"});

  KernelCache reader(optionsFor(dir.str()));
  auto entry =
      reader.getOrCreate(sampleKey(), []() -> llvm::Expected<std::string> {
        ADD_FAILURE() << "build called despite a valid disk entry";
        return std::string("wrong");
      });
  ASSERT_TRUE(bool(entry)) << llvm::toString(entry.takeError());
  EXPECT_EQ((*entry)->artifact, artifact);
  EXPECT_EQ((*entry)->origin, CacheEntry::Origin::Disk);
  EXPECT_EQ((*entry)->description, sampleKey().describe());
  EXPECT_EQ(reader.stats().diskHits, 1u);
  EXPECT_EQ(reader.stats().builds, 0u);

  // Now it is in memory.
  CountingBuild never{"never"};
  ASSERT_TRUE(getOrFail(reader, sampleKey(), never));
  EXPECT_EQ(never.calls, 0);
  EXPECT_EQ(reader.stats().memoryHits, 1u);
}

TEST(KernelCacheTest, MemoryOffStillUsesDisk) {
  TempDir dir;
  CacheOptions options = optionsFor(dir.str());
  options.enableMemory = false;
  KernelCache cache(options);
  CountingBuild build{"artifact"};
  auto a = getOrFail(cache, sampleKey(), build);
  auto b = getOrFail(cache, sampleKey(), build);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(build.calls, 1);
  EXPECT_EQ(cache.stats().diskHits, 1u);
  EXPECT_EQ(b->artifact, "artifact");
}

TEST(KernelCacheTest, BuildErrorsAreReturnedAndNotCached) {
  TempDir dir;
  KernelCache cache(optionsFor(dir.str()));
  auto failed =
      cache.getOrCreate(sampleKey(), []() -> llvm::Expected<std::string> {
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "ptxas failed");
      });
  ASSERT_FALSE(bool(failed));
  EXPECT_EQ(llvm::toString(failed.takeError()), "ptxas failed");
  EXPECT_TRUE(listFiles(dir.str()).empty());
  EXPECT_EQ(cache.stats().buildFailures, 1u);

  CountingBuild build{"fixed"};
  auto retried = getOrFail(cache, sampleKey(), build);
  ASSERT_TRUE(retried);
  EXPECT_EQ(retried->artifact, "fixed");
  EXPECT_EQ(build.calls, 1);
}

TEST(KernelCacheTest, ClearMemoryAndDisk) {
  TempDir dir;
  KernelCache cache(optionsFor(dir.str()));
  CountingBuild build{"artifact"};
  auto kept = getOrFail(cache, sampleKey(), build);
  writeBytes(dir.child(sampleKey().digest() + ".sattnk.tmp-abcdefgh"), "junk");
  writeBytes(dir.child("unrelated.txt"), "keep me");
  cache.clearMemory();
  ASSERT_TRUE(getOrFail(cache, sampleKey(), build));
  EXPECT_EQ(build.calls, 1); // from disk
  EXPECT_EQ(cache.stats().diskHits, 1u);
  ASSERT_FALSE(bool(cache.clearDisk()));
  EXPECT_EQ(listFiles(dir.str()), std::vector<std::string>{"unrelated.txt"});
  cache.clearMemory();
  ASSERT_TRUE(getOrFail(cache, sampleKey(), build));
  EXPECT_EQ(build.calls, 2);
  EXPECT_EQ(kept->artifact, "artifact"); // handed-out entries stay valid
}

//===----------------------------------------------------------------------===//
// Corruption
//===----------------------------------------------------------------------===//

/// Builds an entry, damages its file with `damage`, then checks that a fresh
/// cache reports it once with `expectedReason`, rebuilds and rewrites a valid
/// file, and reports nothing when the same key is damaged again.
void checkDamageIsRepaired(
    llvm::function_ref<std::string(const std::string &)> damage,
    llvm::StringRef expectedReason) {
  TempDir dir;
  CacheKey key = sampleKey();
  std::string artifact(4096, 'k');
  {
    KernelCache cache(optionsFor(dir.str()));
    CountingBuild build{artifact};
    ASSERT_TRUE(getOrFail(cache, key, build));
  }
  KernelCache probe(optionsFor(dir.str()));
  const std::string path = probe.entryPath(key);
  writeBytes(path, damage(readBytes(path)));
  auto bad = readCacheEntryFile(path, key.digest());
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find(expectedReason.str()),
            std::string::npos);

  std::vector<std::string> warnings;
  KernelCache cache(optionsFor(dir.str(), &warnings));
  CountingBuild build{artifact};
  auto entry = getOrFail(cache, key, build);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->artifact, artifact);
  EXPECT_EQ(build.calls, 1);
  EXPECT_EQ(cache.stats().corruptEntries, 1u);
  ASSERT_EQ(warnings.size(), 1u);
  // The reason may carry details: "truncated (20 bytes, ...)".
  llvm::StringRef warning = warnings[0];
  EXPECT_TRUE(warning.starts_with("sattn: cache entry " + path +
                                  " is corrupt (" + expectedReason.str()))
      << warnings[0];
  EXPECT_TRUE(warning.ends_with("); rebuilding")) << warnings[0];

  // The rebuilt file is valid and nothing else is left in the directory.
  auto good = readCacheEntryFile(path, key.digest());
  ASSERT_TRUE(bool(good)) << llvm::toString(good.takeError());
  ASSERT_TRUE(good->has_value());
  EXPECT_EQ((*good)->artifact, artifact);
  EXPECT_EQ(listFiles(dir.str()),
            std::vector<std::string>{key.digest() + ".sattnk"});

  // Damaged again in the same process: rebuilt again, reported no more.
  writeBytes(path, damage(readBytes(path)));
  cache.clearMemory();
  ASSERT_TRUE(getOrFail(cache, key, build));
  EXPECT_EQ(build.calls, 2);
  EXPECT_EQ(cache.stats().corruptEntries, 2u);
  EXPECT_EQ(warnings.size(), 1u);
  auto again = readCacheEntryFile(path, key.digest());
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
}

TEST(KernelCacheCorruptionTest, TruncatedPayload) {
  checkDamageIsRepaired(
      [](const std::string &b) { return b.substr(0, b.size() - 100); },
      "truncated");
}

TEST(KernelCacheCorruptionTest, TruncatedHeader) {
  checkDamageIsRepaired([](const std::string &b) { return b.substr(0, 20); },
                        "truncated");
}

TEST(KernelCacheCorruptionTest, EmptyFile) {
  checkDamageIsRepaired([](const std::string &) { return std::string(); },
                        "truncated");
}

TEST(KernelCacheCorruptionTest, FlippedPayloadByte) {
  checkDamageIsRepaired(
      [](const std::string &b) {
        std::string d = b;
        d[d.size() - 1000] ^= 0x10;
        return d;
      },
      "checksum mismatch");
}

TEST(KernelCacheCorruptionTest, FlippedDescriptionByte) {
  checkDamageIsRepaired(
      [](const std::string &b) {
        std::string d = b;
        d[100] ^= 0x01;
        return d;
      },
      "checksum mismatch");
}

TEST(KernelCacheCorruptionTest, FlippedDigestByte) {
  checkDamageIsRepaired(
      [](const std::string &b) {
        std::string d = b;
        d[40] ^= 0x01;
        return d;
      },
      "checksum mismatch");
}

TEST(KernelCacheCorruptionTest, FlippedChecksumByte) {
  checkDamageIsRepaired(
      [](const std::string &b) {
        std::string d = b;
        d[25] ^= 0x80;
        return d;
      },
      "checksum mismatch");
}

TEST(KernelCacheCorruptionTest, BadMagic) {
  checkDamageIsRepaired(
      [](const std::string &b) {
        std::string d = b;
        d[3] = 'X';
        return d;
      },
      "bad magic");
}

TEST(KernelCacheCorruptionTest, OtherFormatVersion) {
  checkDamageIsRepaired(
      [](const std::string &b) {
        std::string d = b;
        d[8] = 2;
        return d;
      },
      "unsupported format version 2");
}

TEST(KernelCacheCorruptionTest, PayloadSizeTooLarge) {
  checkDamageIsRepaired(
      [](const std::string &b) {
        std::string d = b;
        d[23] = char(0x80); // payload size high byte
        return d;
      },
      "truncated");
}

TEST(KernelCacheCorruptionTest, TrailingBytes) {
  checkDamageIsRepaired([](const std::string &b) { return b + "extra"; },
                        "trailing bytes");
}

TEST(KernelCacheCorruptionTest, EntryOfAnotherKey) {
  // A valid file under the wrong name (e.g. copied by hand).
  CacheKey other = sampleKey();
  other.dtype = "f32";
  checkDamageIsRepaired(
      [&](const std::string &b) {
        auto entry = decodeCacheEntry(b, "", "entry");
        EXPECT_TRUE(bool(entry));
        return entry ? encodeCacheEntry(other.digest(), entry->description,
                                        entry->artifact)
                     : std::string();
      },
      "key digest mismatch");
}

TEST(KernelCacheFormatTest, RoundTripAndEveryTruncationIsDetected) {
  CacheKey key = sampleKey();
  std::string bytes = encodeCacheEntry(key.digest(), "desc", "payload");
  EXPECT_TRUE(llvm::StringRef(bytes).starts_with("SATTNK01"));
  auto entry = decodeCacheEntry(bytes, key.digest(), "x");
  ASSERT_TRUE(bool(entry)) << llvm::toString(entry.takeError());
  EXPECT_EQ(entry->description, "desc");
  EXPECT_EQ(entry->artifact, "payload");
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto cut = decodeCacheEntry(llvm::StringRef(bytes).take_front(n), "", "x");
    ASSERT_FALSE(bool(cut)) << n;
    llvm::consumeError(cut.takeError());
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[i] ^= char(1 << bit);
      auto bad = decodeCacheEntry(flipped, key.digest(), "x");
      ASSERT_FALSE(bool(bad)) << "byte " << i << " bit " << bit;
      llvm::consumeError(bad.takeError());
    }
  }
}

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

TEST(KernelCacheThreadTest, ManyThreadsOneKeyBuildOnce) {
  TempDir dir;
  KernelCache cache(optionsFor(dir.str()));
  std::atomic<int> calls{0};
  constexpr int kThreads = 16;
  std::vector<std::shared_ptr<const CacheEntry>> results(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      while (!go)
        std::this_thread::yield();
      auto entry =
          cache.getOrCreate(sampleKey(), [&]() -> llvm::Expected<std::string> {
            ++calls;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            return std::string("built once");
          });
      if (entry)
        results[t] = *entry;
      else
        ADD_FAILURE() << llvm::toString(entry.takeError());
    });
  go = true;
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(calls, 1);
  for (const auto &r : results) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r.get(), results[0].get());
  }
  CacheStats stats = cache.stats();
  EXPECT_EQ(stats.builds, 1u);
  EXPECT_EQ(stats.memoryHits, uint64_t(kThreads - 1));
}

TEST(KernelCacheThreadTest, ConcurrentWaitersShareABuildError) {
  KernelCache cache(CacheOptions{/*enableMemory=*/true, /*enableDisk=*/false});
  std::atomic<int> calls{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      auto entry =
          cache.getOrCreate(sampleKey(), [&]() -> llvm::Expected<std::string> {
            ++calls;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                           "boom");
          });
      ASSERT_FALSE(bool(entry));
      EXPECT_EQ(llvm::toString(entry.takeError()), "boom");
      ++errors;
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(errors, 8);
  // Late arrivals may start a new build after a failure; at least one ran.
  EXPECT_GE(calls, 1);
  EXPECT_LE(calls, 8);
}

TEST(KernelCacheThreadTest, ManyThreadsManyKeys) {
  TempDir dir;
  KernelCache cache(optionsFor(dir.str()));
  constexpr int kThreads = 8, kKeys = 20, kRounds = 5;
  std::atomic<int> calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r)
        for (int i = 0; i < kKeys; ++i) {
          int k = (i + t * 3) % kKeys;
          CacheKey key = sampleKey();
          key.staticShape = "head_dim=" + std::to_string(k);
          auto entry =
              cache.getOrCreate(key, [&]() -> llvm::Expected<std::string> {
                ++calls;
                return "kernel " + std::to_string(k);
              });
          if (!entry) {
            ADD_FAILURE() << llvm::toString(entry.takeError());
            continue;
          }
          EXPECT_EQ((*entry)->artifact, "kernel " + std::to_string(k));
        }
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(calls, kKeys);
  CacheStats stats = cache.stats();
  EXPECT_EQ(stats.builds, uint64_t(kKeys));
  EXPECT_EQ(stats.memoryHits, uint64_t(kThreads * kRounds * kKeys - kKeys));
  EXPECT_EQ(listFiles(dir.str()).size(), size_t(kKeys));
}

} // namespace

/// Issue 21 D6: an entry that is a symlink to /dev/zero grew memory to
/// 9.9 GB and a FIFO blocked forever. Neither is a regular file: reported
/// once, rebuilt, and the entry replaced by a valid file.
void checkSpecialFileIsReplaced(
    llvm::function_ref<void(const std::string &)> plant) {
  TempDir dir;
  CacheKey key = sampleKey();
  KernelCache probe(optionsFor(dir.str()));
  const std::string path = probe.entryPath(key);
  plant(path);
  auto bad = readCacheEntryFile(path, key.digest());
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("not a regular file"),
            std::string::npos);

  std::vector<std::string> warnings;
  KernelCache cache(optionsFor(dir.str(), &warnings));
  CountingBuild build{std::string(100, 'k')};
  auto entry = getOrFail(cache, key, build);
  ASSERT_TRUE(entry);
  EXPECT_EQ(build.calls, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("not a regular file; rebuilding"),
            std::string::npos)
      << warnings[0];
  auto good = readCacheEntryFile(path, key.digest());
  ASSERT_TRUE(bool(good)) << llvm::toString(good.takeError());
  ASSERT_TRUE(good->has_value());
}

TEST(KernelCacheSpecialFileTest, SymlinkToDevZero) {
  checkSpecialFileIsReplaced([](const std::string &path) {
    ASSERT_EQ(::symlink("/dev/zero", path.c_str()), 0);
  });
}

TEST(KernelCacheSpecialFileTest, Fifo) {
  checkSpecialFileIsReplaced([](const std::string &path) {
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  });
}

/// Issue 21 D6: an entry with a valid checksum and this key's digest but
/// another key's contents (another pattern's object) was loaded and run.
/// The full key, stored as the description, is checked on load.
TEST(KernelCacheCorruptionTest, EntryWithThisDigestButAnotherKey) {
  TempDir dir;
  CacheKey key = sampleKey();
  CacheKey other = sampleKey();
  other.patternIR = "sattn.pattern @other() block = 64 {\n}";
  KernelCache probe(optionsFor(dir.str()));
  const std::string path = probe.entryPath(key);
  ASSERT_FALSE(bool(writeCacheEntryFile(path, key.digest(), other.describe(),
                                        "another kernel")));
  std::vector<std::string> warnings;
  KernelCache cache(optionsFor(dir.str(), &warnings));
  CountingBuild build{std::string(64, 'k')};
  auto entry = getOrFail(cache, key, build);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->artifact, std::string(64, 'k'));
  EXPECT_EQ(build.calls, 1);
  EXPECT_EQ(cache.stats().corruptEntries, 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("key mismatch"), std::string::npos) << warnings[0];
  auto good = readCacheEntryFile(path, key.digest());
  ASSERT_TRUE(bool(good)) << llvm::toString(good.takeError());
  ASSERT_TRUE(good->has_value());
  EXPECT_EQ((*good)->description, key.describe());
}

/// Issue 21 D6: the directory grew without bound. After each write the
/// least recently used entries (modification time, refreshed by a disk hit)
/// are removed until the entries fit maxDiskBytes.
TEST(KernelCacheEvictionTest, LeastRecentlyUsedEntriesGo) {
  TempDir dir;
  auto keyNamed = [](const char *dtype) {
    CacheKey key = sampleKey();
    key.dtype = dtype;
    return key;
  };
  CacheKey k1 = keyNamed("f32"), k2 = keyNamed("f16"), k3 = keyNamed("bf16");
  const std::string artifact(4096, 'k');
  auto setAge = [](const std::string &path, int secondsAgo) {
    llvm::Expected<llvm::sys::fs::file_t> file =
        llvm::sys::fs::openNativeFileForWrite(
            path, llvm::sys::fs::CD_OpenExisting, llvm::sys::fs::OF_Append);
    ASSERT_TRUE(bool(file));
    EXPECT_FALSE(llvm::sys::fs::setLastAccessAndModificationTime(
        *file,
        std::chrono::system_clock::now() - std::chrono::seconds(secondsAgo)));
    llvm::sys::fs::closeFile(*file);
  };
  uint64_t entryBytes = 0;
  {
    CacheOptions options = optionsFor(dir.str());
    options.maxDiskBytes = 0; // no limit while the test measures
    KernelCache cache(options);
    CountingBuild build{artifact};
    ASSERT_TRUE(getOrFail(cache, k1, build));
    ASSERT_FALSE(llvm::sys::fs::file_size(cache.entryPath(k1), entryBytes));
    ASSERT_TRUE(getOrFail(cache, k2, build));
    setAge(cache.entryPath(k1), 200);
    setAge(cache.entryPath(k2), 100);
  }
  CacheOptions options = optionsFor(dir.str());
  options.maxDiskBytes = 2 * entryBytes + entryBytes / 2;
  KernelCache cache(options);
  CountingBuild build{artifact};
  ASSERT_TRUE(getOrFail(cache, k1, build)); // a disk hit: k1 is recent now
  EXPECT_EQ(build.calls, 0);
  ASSERT_TRUE(getOrFail(cache, k3, build)); // written: over the limit
  EXPECT_EQ(build.calls, 1);
  std::vector<std::string> expected{k1.digest() + ".sattnk",
                                    k3.digest() + ".sattnk"};
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> files = listFiles(dir.str());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, expected);
}
