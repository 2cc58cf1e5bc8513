//===- KernelCacheProcessTest.cpp - Processes sharing one cache directory -===//
//
// Children are forked from the test process; each child reports through a
// pipe and leaves with _exit so that no gtest or static destructor runs twice.
//
//===----------------------------------------------------------------------===//

#include "CacheTestUtil.h"

#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <chrono>
#include <cstring>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace sattn;
using namespace sattn::test;

namespace {

/// What a racing child reports to the parent.
struct ChildReport {
  uint64_t artifactHash = 0;
  uint64_t artifactSize = 0;
  uint32_t origin = 0; // CacheEntry::Origin
  uint32_t warnings = 0;
};

/// A deterministic artifact of `size` bytes.
std::string makeArtifact(size_t size, uint32_t seed) {
  std::string bytes(size, '\0');
  uint32_t x = seed;
  for (char &c : bytes) {
    x = x * 1664525u + 1013904223u;
    c = char(x >> 24);
  }
  return bytes;
}

bool writeAll(int fd, const void *data, size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size) {
    ssize_t n = ::write(fd, p, size);
    if (n <= 0)
      return false;
    p += n;
    size -= size_t(n);
  }
  return true;
}

bool readAll(int fd, void *data, size_t size) {
  char *p = static_cast<char *>(data);
  while (size) {
    ssize_t n = ::read(fd, p, size);
    if (n <= 0)
      return false;
    p += n;
    size -= size_t(n);
  }
  return true;
}

/// Waits for `pid` and returns its exit status, or -1 if it did not exit
/// normally.
int waitExit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(KernelCacheProcessTest, ProcessesRacingOnOneEntry) {
  TempDir dir;
  const CacheKey key = sampleKey();
  const std::string expected = makeArtifact(2 << 20, 42);
  constexpr int kChildren = 6;

  // Every child blocks on `start` until the parent closes its write end, so
  // that all of them look up the entry at about the same time.
  int start[2];
  ASSERT_EQ(::pipe(start), 0);
  std::vector<pid_t> pids;
  std::vector<int> reports;
  for (int i = 0; i < kChildren; ++i) {
    int report[2];
    ASSERT_EQ(::pipe(report), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(start[1]);
      ::close(report[0]);
      char byte;
      (void)::read(start[0], &byte, 1);
      ChildReport r;
      CacheOptions options;
      options.directory = dir.str();
      options.warningHandler = [&](llvm::StringRef) { ++r.warnings; };
      KernelCache cache(options);
      auto entry = cache.getOrCreate(key, [&]() -> llvm::Expected<std::string> {
        // A compile that takes a while, so that the children overlap.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return makeArtifact(2 << 20, 42);
      });
      if (!entry) {
        llvm::consumeError(entry.takeError());
        ::_exit(2);
      }
      r.artifactHash = llvm::xxh3_64bits((*entry)->artifact);
      r.artifactSize = (*entry)->artifact.size();
      r.origin = uint32_t((*entry)->origin);
      ::_exit(writeAll(report[1], &r, sizeof(r)) ? 0 : 3);
    }
    ::close(report[1]);
    pids.push_back(pid);
    reports.push_back(report[0]);
  }
  ::close(start[0]);
  ::close(start[1]); // go

  int built = 0, loaded = 0;
  for (int i = 0; i < kChildren; ++i) {
    ChildReport r;
    bool got = readAll(reports[i], &r, sizeof(r));
    ::close(reports[i]);
    EXPECT_EQ(waitExit(pids[i]), 0) << "child " << i;
    ASSERT_TRUE(got) << "child " << i << " sent no report";
    EXPECT_EQ(r.artifactSize, expected.size()) << "child " << i;
    EXPECT_EQ(r.artifactHash, llvm::xxh3_64bits(expected)) << "child " << i;
    EXPECT_EQ(r.warnings, 0u) << "child " << i;
    (r.origin == uint32_t(CacheEntry::Origin::Built) ? built : loaded)++;
  }
  std::printf("[ cache    ] %d racing processes: %d built, %d loaded from "
              "disk\n",
              kChildren, built, loaded);
  EXPECT_GE(built, 1);

  // One valid entry and no temporary files are left.
  EXPECT_EQ(listFiles(dir.str()),
            std::vector<std::string>{key.digest() + ".sattnk"});
  auto entry =
      readCacheEntryFile(dir.child(key.digest() + ".sattnk"), key.digest());
  ASSERT_TRUE(bool(entry)) << llvm::toString(entry.takeError());
  ASSERT_TRUE(entry->has_value());
  EXPECT_EQ((*entry)->artifact, expected);
  EXPECT_EQ((*entry)->description, key.describe());
}

TEST(KernelCacheProcessTest, ReadersNeverSeeATornFile) {
  TempDir dir;
  const CacheKey key = sampleKey();
  const std::string path = dir.child(key.digest() + ".sattnk");
  // Two artifacts of different sizes, so a mix of old and new bytes, or a
  // partly written file, could not pass for either.
  const std::string small = makeArtifact(1 << 20, 1);
  const std::string large = makeArtifact(3 << 20, 2);
  const std::string description = key.describe();
  constexpr auto kDuration = std::chrono::milliseconds(1500);

  // Two writers replace the entry over and over, racing with each other.
  std::vector<pid_t> writers;
  for (int w = 0; w < 2; ++w) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto end = std::chrono::steady_clock::now() + kDuration;
      for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
        if (llvm::Error err = writeCacheEntryFile(
                path, key.digest(), description, (i + w) % 2 ? large : small)) {
          llvm::consumeError(std::move(err));
          ::_exit(2);
        }
      }
      ::_exit(0);
    }
    writers.push_back(pid);
  }

  // The reader (this process) validates every read; with the memory cache
  // off, KernelCache reads the disk each time too.
  CacheOptions options;
  options.directory = dir.str();
  options.enableMemory = false;
  std::vector<std::string> warnings;
  options.warningHandler = [&](llvm::StringRef m) {
    warnings.push_back(m.str());
  };
  KernelCache cache(options);
  int misses = 0, smallReads = 0, largeReads = 0, torn = 0;
  std::string firstProblem;
  auto end = std::chrono::steady_clock::now() + kDuration;
  for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
    if (i % 2) {
      auto entry = readCacheEntryFile(path, key.digest());
      if (!entry) {
        ++torn;
        if (firstProblem.empty())
          firstProblem = llvm::toString(entry.takeError());
        else
          llvm::consumeError(entry.takeError());
        continue;
      }
      if (!entry->has_value()) {
        ++misses;
        continue;
      }
      const std::string &a = (*entry)->artifact;
      if (a == small)
        ++smallReads;
      else if (a == large)
        ++largeReads;
      else
        ++torn;
    } else {
      auto entry = cache.getOrCreate(
          key, [&]() -> llvm::Expected<std::string> { return small; });
      ASSERT_TRUE(bool(entry)) << llvm::toString(entry.takeError());
      const std::string &a = (*entry)->artifact;
      if ((*entry)->origin == CacheEntry::Origin::Built)
        ++misses;
      else if (a == small)
        ++smallReads;
      else if (a == large)
        ++largeReads;
      else
        ++torn;
    }
  }
  for (pid_t pid : writers)
    EXPECT_EQ(waitExit(pid), 0);

  std::printf("[ cache    ] concurrent reads: %d small, %d large, %d misses, "
              "%d torn\n",
              smallReads, largeReads, misses, torn);
  EXPECT_EQ(torn, 0) << firstProblem;
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  EXPECT_EQ(cache.stats().corruptEntries, 0u);
  EXPECT_GT(smallReads, 0);
  EXPECT_GT(largeReads, 0);
  EXPECT_EQ(listFiles(dir.str()),
            std::vector<std::string>{key.digest() + ".sattnk"});
}

TEST(KernelCacheProcessTest, InPlaceRewritesAreDetectedWithoutCrashing) {
  // Control for the test above: a writer that does NOT follow the protocol
  // and rewrites the file in place (truncate, then write). Readers must see
  // torn files as corrupt, never crash on them (a memory-mapped read would
  // die of SIGBUS when the file shrinks under it), and never accept them.
  TempDir dir;
  const CacheKey key = sampleKey();
  const std::string path = dir.child(key.digest() + ".sattnk");
  const std::string small = makeArtifact(1 << 20, 1);
  const std::string large = makeArtifact(3 << 20, 2);
  constexpr auto kDuration = std::chrono::milliseconds(500);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto end = std::chrono::steady_clock::now() + kDuration;
    for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
      std::error_code ec;
      llvm::raw_fd_ostream os(path, ec);
      if (ec)
        ::_exit(2);
      os << encodeCacheEntry(key.digest(), "desc", i % 2 ? large : small);
    }
    ::_exit(0);
  }
  int valid = 0, detected = 0, accepted = 0;
  auto end = std::chrono::steady_clock::now() + kDuration;
  while (std::chrono::steady_clock::now() < end) {
    auto entry = readCacheEntryFile(path, key.digest());
    if (!entry) {
      ++detected;
      llvm::consumeError(entry.takeError());
    } else if (entry->has_value()) {
      const std::string &a = (*entry)->artifact;
      (a == small || a == large ? valid : accepted)++;
    }
  }
  EXPECT_EQ(waitExit(pid), 0);
  std::printf("[ cache    ] in-place (non-atomic) writer: %d valid reads, %d "
              "torn reads detected\n",
              valid, detected);
  EXPECT_EQ(accepted, 0);
}

} // namespace
