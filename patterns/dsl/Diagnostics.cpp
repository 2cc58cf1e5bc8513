//===- Diagnostics.cpp - Error reporting of the .sattn front-end ----------===//

#include "patterns/dsl/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <cstdio>
#include <cstdlib>

namespace sattn::dsl {

mlir::Location Diagnostics::loc(SourcePos pos) const {
  return mlir::FileLineColLoc::get(&context, bufferName, pos.line, pos.column);
}

mlir::InFlightDiagnostic Diagnostics::error(SourcePos pos) {
  // Past the cap the error is counted, not shown: a list of 3M duplicate
  // columns printed 3M lines (issue 21 D9).
  mlir::InFlightDiagnostic diagnostic = mlir::emitError(loc(pos));
  if (++count > kMaxErrors)
    diagnostic.abandon();
  return diagnostic;
}

std::string formatNumber(double value) {
  char text[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof(text), "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value)
      break;
  }
  std::string result = text;
  if (result.find_first_of(".eEn") == std::string::npos)
    result += ".0";
  return result;
}

llvm::StringRef closestMatch(llvm::StringRef name,
                             llvm::ArrayRef<llvm::StringRef> candidates) {
  llvm::StringRef best;
  // Fewer than one edit per three characters: "widow" -> "window", but not
  // "q" -> "k".
  unsigned bestDistance = name.size() / 3 + 1;
  for (llvm::StringRef candidate : candidates) {
    unsigned distance =
        name.edit_distance(candidate, /*AllowReplacements=*/true,
                           /*MaxEditDistance=*/bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

} // namespace sattn::dsl
