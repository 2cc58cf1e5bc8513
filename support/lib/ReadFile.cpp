//===- ReadFile.cpp - Reading a bounded regular file ----------------------===//

#include "sattn/ReadFile.h"

#include "llvm/Support/FileSystem.h"

#include <fcntl.h>

namespace fs = llvm::sys::fs;

namespace sattn {

/// The reason alone: callers say which file, in their own words.
static llvm::Error fileError(llvm::StringRef, std::error_code ec,
                             const llvm::Twine &what) {
  return llvm::createStringError(ec, what);
}

llvm::Error readRegularFile(llvm::StringRef path, uint64_t maxBytes,
                            llvm::SmallVectorImpl<char> &bytes) {
  bytes.clear();
  // The type first, by path: opening a FIFO for reading would block.
  fs::file_status status;
  if (std::error_code ec = fs::status(path, status))
    return fileError(path, ec, ec.message());
  auto notRegular = [&] {
    return fileError(path, std::make_error_code(std::errc::invalid_argument),
                     "not a regular file");
  };
  if (status.type() != fs::file_type::regular_file)
    return notRegular();
  llvm::Expected<fs::file_t> file =
      fs::openNativeFileForRead(path, fs::OF_None);
  if (!file) {
    std::error_code ec = llvm::errorToErrorCode(file.takeError());
    return fileError(path, ec, ec.message());
  }
  // Again on the open file: the path may have been replaced in between.
  fs::file_status opened;
  std::error_code ec = fs::status(*file, opened);
  llvm::Error result = llvm::Error::success();
  if (ec) {
    result = fileError(path, ec, ec.message());
  } else if (opened.type() != fs::file_type::regular_file) {
    result = notRegular();
  } else if (opened.getSize() > maxBytes) {
    result = fileError(path, std::make_error_code(std::errc::file_too_large),
                       "larger than " + llvm::Twine(maxBytes) + " bytes (" +
                           llvm::Twine(opened.getSize()) + ")");
  } else {
    // Read at most maxBytes + 1: a file that grew past the cap fails too.
    bytes.reserve(opened.getSize());
    char chunk[65536];
    while (true) {
      llvm::Expected<size_t> n = fs::readNativeFile(
          *file, llvm::MutableArrayRef<char>(chunk, sizeof(chunk)));
      if (!n) {
        result = fileError(path, llvm::errorToErrorCode(n.takeError()),
                           "read failed");
        break;
      }
      if (*n == 0)
        break;
      if (bytes.size() + *n > maxBytes) {
        result =
            fileError(path, std::make_error_code(std::errc::file_too_large),
                      "larger than " + llvm::Twine(maxBytes) + " bytes");
        break;
      }
      bytes.append(chunk, chunk + *n);
    }
  }
  fs::closeFile(*file);
  if (result)
    bytes.clear();
  return result;
}

} // namespace sattn
