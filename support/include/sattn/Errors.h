//===- Errors.h - One way to make an error with a message ------*- C++ -*-===//
//
// Every sattn library reports failures as llvm::Error with a readable
// message; this is the one helper that builds them.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_ERRORS_H
#define SATTN_ERRORS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

namespace sattn {

/// An error carrying `message` (and no error code a caller could test).
inline llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// An error in what the caller passed (a shape, a stride, a missing input):
/// it carries std::errc::invalid_argument, which the C API reports as
/// SATTN_INVALID_ARGUMENT.
inline llvm::Error makeArgumentError(const llvm::Twine &message) {
  return llvm::createStringError(
      std::make_error_code(std::errc::invalid_argument), message);
}

} // namespace sattn

#endif // SATTN_ERRORS_H
