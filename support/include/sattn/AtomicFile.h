//===- AtomicFile.h - Files replaced in one step ----------------*- C++ -*-===//
//
// Writes a file through a temporary file in the same folder renamed into
// place, so that a reader sees the old contents or the new ones, never a
// partial file. Used by the kernel cache, .npy output and pictures.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_ATOMICFILE_H
#define SATTN_ATOMICFILE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace sattn {

struct AtomicWriteOptions {
  /// Inserted between the path and the random suffix of the temporary file
  /// (the kernel cache recognises and cleans up its own).
  llvm::StringRef tempInfix = ".tmp-";
  /// fsync before the rename, so that a crash of the machine cannot leave a
  /// renamed but empty file.
  bool durable = false;
  /// A path that names a symlink, fifo or device is written through (the
  /// link's target replaced atomically; /dev/stdout written in place)
  /// instead of being replaced by a regular file.
  bool writeThroughSpecialFiles = true;
};

/// Replaces `path` with `bytes`. Errors name `path`.
llvm::Error writeFileAtomically(llvm::StringRef path, llvm::StringRef bytes,
                                const AtomicWriteOptions &options = {});

} // namespace sattn

#endif // SATTN_ATOMICFILE_H
