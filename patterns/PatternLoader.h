//===- PatternLoader.h - Pattern files to specialised patterns --*- C++ -*-===//
//
// The front door of every tool: read a pattern file, pick a pattern, bind its
// parameters, and convert it to the plain PatternSpec the oracle consumes.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PATTERNS_PATTERNLOADER_H
#define SATTN_PATTERNS_PATTERNLOADER_H

#include "dialect/SattnDialect.h"
#include "sattn/PatternSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace sattn {

/// Registers what pattern files may contain (sattn, arith, func, tensor).
void registerPatternDialects(mlir::DialectRegistry &registry);

/// Pattern files larger than this are refused (the stock ones are ~1 KB).
constexpr uint64_t kMaxPatternFileBytes = uint64_t(16) << 20;

/// Parses and verifies a pattern file: the DSL of docs/dsl.md for `.sattn`,
/// MLIR otherwise. Diagnostics go to the
/// context's handlers with file:line:col; the returned error says which file
/// failed.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
loadPatternFile(llvm::StringRef path, mlir::MLIRContext &context);

/// Parses and verifies pattern source text; `bufferName` names it in errors.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
loadPatternSource(llvm::StringRef source, llvm::StringRef bufferName,
                  mlir::MLIRContext &context);

/// The pattern named `name`, or the only pattern when `name` is empty. The
/// error lists the available names.
llvm::Expected<mlir::sattn::PatternOp> findPattern(mlir::ModuleOp module,
                                                   llvm::StringRef name);

/// Binds `overrides` on `pattern` (see mlir::sattn::specializePattern) and
/// canonicalizes the result. The bound pattern is inserted after `pattern`.
llvm::Expected<mlir::sattn::PatternOp>
bindPattern(mlir::sattn::PatternOp pattern,
            const mlir::sattn::ParamOverrides &overrides);

/// Converts a bound pattern (no parameter references left) to a PatternSpec.
llvm::Expected<PatternSpec> importPattern(mlir::sattn::PatternOp bound);


/// A pattern to load and bind: from a file, or from source text whose
/// `textName` ends in .sattn (the DSL) or .mlir.
struct PatternRequest {
  std::string file;
  std::string text;
  std::string textName;
  /// Empty: the source's only pattern.
  std::string pattern;
  /// "name=value" parameter overrides.
  std::vector<std::string> overrides;
};

struct BoundPattern {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::sattn::PatternOp bound; // in `module`
  PatternSpec spec;
};

/// Loads the requested source as the front-end produces it (nothing bound).
llvm::Error loadParsedPattern(const PatternRequest &request,
                              mlir::MLIRContext &context,
                              mlir::OwningOpRef<mlir::ModuleOp> &out);

/// Loads, selects, binds and imports the requested pattern. Diagnostics
/// become the returned error: for the DSL every error (one per line), for
/// MLIR the first, each with file:line:col.
llvm::Error loadBoundPattern(const PatternRequest &request,
                             mlir::MLIRContext &context, BoundPattern &out);

} // namespace sattn

#endif // SATTN_PATTERNS_PATTERNLOADER_H
