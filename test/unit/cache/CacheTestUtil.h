//===- CacheTestUtil.h - Helpers shared by the kernel cache tests ---------===//

#ifndef SATTN_TEST_UNIT_CACHE_CACHETESTUTIL_H
#define SATTN_TEST_UNIT_CACHE_CACHETESTUTIL_H

#include "sattn/KernelCache.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

namespace sattn::test {

/// A fresh directory, removed with its contents on destruction.
class TempDir {
public:
  TempDir() {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("sattn-cache-test", path);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  std::string str() const { return std::string(path); }
  std::string child(llvm::StringRef name) const {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }

private:
  llvm::SmallString<256> path;
};

/// The names of the files in `dir`, sorted.
inline std::vector<std::string> listFiles(llvm::StringRef dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    names.push_back(llvm::sys::path::filename(it->path()).str());
  std::sort(names.begin(), names.end());
  return names;
}

/// A key with every field set.
inline CacheKey sampleKey() {
  CacheKey key;
  key.patternIR = "sattn.pattern @local {\n  sattn.window before = 128\n}\n";
  key.staticShape = "heads_q=8,heads_kv=8,head_dim=64,block_q=64,block_k=64";
  key.dtype = "f16";
  key.backend = "cuda";
  key.arch = "sm_90a";
  key.options = "O3";
  key.compilerVersion = "sattn 0.1.0 (LLVM 22.1.8)";
  return key;
}

/// Options for a cache in `dir` whose warnings are appended to `warnings`.
inline CacheOptions optionsFor(const std::string &dir,
                               std::vector<std::string> *warnings = nullptr) {
  CacheOptions options;
  options.directory = dir;
  if (warnings)
    options.warningHandler = [warnings](llvm::StringRef message) {
      warnings->push_back(message.str());
    };
  else
    options.warningHandler = [](llvm::StringRef message) {
      ADD_FAILURE() << "unexpected warning: " << message.str();
    };
  return options;
}

} // namespace sattn::test

#endif // SATTN_TEST_UNIT_CACHE_CACHETESTUTIL_H
