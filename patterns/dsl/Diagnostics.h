//===- Diagnostics.h - Error reporting of the .sattn front-end --*- C++ -*-===//
//
// Every front-end error goes through here: it becomes an MLIR diagnostic at a
// FileLineColLoc of the .sattn file, so the tools print it as
// `file:line:col: message`, and it is counted so that the front-end can stop
// after a flood and say how many errors it found.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PATTERNS_DSL_DIAGNOSTICS_H
#define SATTN_PATTERNS_DSL_DIAGNOSTICS_H

#include "patterns/dsl/Token.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/ArrayRef.h"

#include <string>

namespace sattn::dsl {

class Diagnostics {
public:
  /// Beyond this many errors the rest of the file is skipped: later errors
  /// are mostly consequences of earlier ones.
  static constexpr unsigned kMaxErrors = 20;

  Diagnostics(mlir::MLIRContext &context, llvm::StringRef bufferName)
      : context(context), bufferName(bufferName.str()) {}

  mlir::Location loc(SourcePos pos) const;

  /// Emits an error at `pos`; further text can be streamed into the result.
  /// Beyond kMaxErrors it is counted but not shown.
  mlir::InFlightDiagnostic error(SourcePos pos);
  mlir::InFlightDiagnostic error(SourcePos pos, const llvm::Twine &message) {
    return std::move(error(pos) << message);
  }

  unsigned errorCount() const { return count; }
  bool tooMany() const { return count >= kMaxErrors; }
  /// Counts an error that someone else (the op verifier) emitted.
  void countExternal() { ++count; }

private:
  mlir::MLIRContext &context;
  std::string bufferName;
  unsigned count = 0;
};

/// `value` as a person would write it: shortest round-trip digits, with a
/// '.' so that it does not read as an integer ("0.5", "2.0", "1e-07").
std::string formatNumber(double value);

/// The candidate closest to `name` by edit distance, or "" when none is close
/// enough to be a plausible typo. Used for "did you mean" hints.
llvm::StringRef closestMatch(llvm::StringRef name,
                             llvm::ArrayRef<llvm::StringRef> candidates);

} // namespace sattn::dsl

#endif // SATTN_PATTERNS_DSL_DIAGNOSTICS_H
