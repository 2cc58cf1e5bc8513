//===- ReadFile.h - Reading a bounded regular file --------------*- C++ -*-===//
//
// The one way sattn reads a file it did not write itself (pattern files,
// .npy inputs, kernel cache entries): regular files only, so that a FIFO
// cannot block and /dev/zero cannot grow memory without end; at most
// `maxBytes`; read with read(2), never mapped, so that a file truncated by
// someone else fails cleanly instead of faulting.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_READFILE_H
#define SATTN_READFILE_H

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <system_error>

namespace sattn {

/// Reads `path` into `bytes`. Errors (the reason, without the path): "not a
/// regular file", "larger than N bytes", or the system's message. A missing
/// file gives an error whose code is std::errc::no_such_file_or_directory.
llvm::Error readRegularFile(llvm::StringRef path, uint64_t maxBytes,
                            llvm::SmallVectorImpl<char> &bytes);

} // namespace sattn

#endif // SATTN_READFILE_H
