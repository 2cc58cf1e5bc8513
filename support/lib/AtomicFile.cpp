//===- AtomicFile.cpp - Files replaced in one step ------------------------===//

#include "sattn/AtomicFile.h"

#include "sattn/Errors.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#ifdef LLVM_ON_UNIX
#include <unistd.h>
#endif

namespace fs = llvm::sys::fs;
using sattn::makeError;

/// Writes `bytes` to the open `fd` and closes it; fsync first if asked.
static std::error_code writeAndClose(int fd, llvm::StringRef bytes,
                                     bool durable) {
  std::error_code ec;
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/false);
    os << bytes;
    os.flush();
    if (os.has_error()) {
      ec = os.error();
      os.clear_error(); // otherwise the stream aborts on destruction
    }
  }
#ifdef LLVM_ON_UNIX
  // llvm::sys::fs has no fsync.
  if (!ec && durable && ::fsync(fd) != 0)
    ec = std::error_code(errno, std::generic_category());
#endif
  fs::file_t file = fs::convertFDToNativeFile(fd);
  std::error_code closed = fs::closeFile(file);
  return ec ? ec : closed;
}

llvm::Error sattn::writeFileAtomically(llvm::StringRef path,
                                       llvm::StringRef bytes,
                                       const AtomicWriteOptions &options) {
  auto fail = [&](const llvm::Twine &what) {
    return makeError(path + ": cannot write: " + what);
  };
  // Renaming over a symlink, fifo or device would replace the node itself:
  // write through a link to its target, and into the others in place.
  llvm::SmallString<256> target(path);
  if (options.writeThroughSpecialFiles && fs::exists(path)) {
    if (std::error_code ec = fs::real_path(path, target))
      return fail(ec.message());
    fs::file_status status;
    if (std::error_code ec = fs::status(target, status))
      return fail(ec.message());
    if (status.type() != fs::file_type::regular_file) {
      std::error_code ec;
      llvm::raw_fd_ostream os(target, ec);
      if (ec)
        return fail(ec.message());
      os << bytes;
      os.close();
      if (os.has_error()) {
        ec = os.error();
        os.clear_error();
        return fail(ec.message());
      }
      return llvm::Error::success();
    }
  }
  // The temporary file is in the same folder (the same file system), so the
  // rename is atomic.
  int fd = -1;
  llvm::SmallString<256> temp;
  if (std::error_code ec = fs::createUniqueFile(
          target + options.tempInfix + "%%%%%%%%", fd, temp, fs::OF_None))
    return fail("cannot create a temporary file: " + ec.message());
  if (std::error_code ec = writeAndClose(fd, bytes, options.durable)) {
    fs::remove(temp);
    return fail(temp + ": " + ec.message());
  }
  if (std::error_code ec = fs::rename(temp, target)) {
    fs::remove(temp);
    return fail("cannot rename " + temp + ": " + ec.message());
  }
  return llvm::Error::success();
}
