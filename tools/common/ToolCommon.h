//===- ToolCommon.h - What sattn-compile and sattn-run share ----*- C++ -*-===//
//
// The pattern options (file, --pattern, --set), loading a pattern to a
// PatternSpec, reading the run-time inputs from .npy files and checking
// their shapes, and one-line error reporting.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_TOOLS_TOOLCOMMON_H
#define SATTN_TOOLS_TOOLCOMMON_H

#include "sattn/Npy.h"
#include "sattn/Oracle.h"
#include "sattn/PatternSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/CommandLine.h"

#include <optional>
#include <string>
#include <vector>

namespace sattn::tools {

/// Options every tool that takes a pattern file has. Constructing this
/// registers them with llvm::cl.
struct PatternOptions {
  llvm::cl::opt<std::string> file{
      llvm::cl::Positional, llvm::cl::Required,
      llvm::cl::desc("<pattern file (.sattn or .mlir)>")};
  llvm::cl::opt<std::string> pattern{
      "pattern",
      llvm::cl::desc("Pattern to use (default: the file's only one)"),
      llvm::cl::value_desc("name")};
  llvm::cl::list<std::string> overrides{
      "set", llvm::cl::desc("Override a pattern parameter (repeatable)"),
      llvm::cl::value_desc("NAME=VALUE")};
};

/// Parses the command line. --help lists the tool's own options only: the
/// options LLVM and MLIR register for their code generators stay usable
/// and are listed by --help-hidden.
void parseToolCommandLine(int argc, char **argv, llvm::StringRef overview);

/// A pattern loaded, bound and imported. Owns the IR it came from.
struct LoadedPattern {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::Operation *bound = nullptr; // the bound sattn.pattern in `module`
  PatternSpec spec;
};

/// Loads `options.file`, selects, binds and imports the pattern. For a
/// `.sattn` file the error lists every error of the file, one per line.
llvm::Error loadPattern(const PatternOptions &options, LoadedPattern &out);

/// Loads `options.file` into `out.module` as the front-end produced it: no
/// pattern selected, no parameter bound (`out.bound` stays null).
llvm::Error loadParsedModule(const PatternOptions &options, LoadedPattern &out);

/// Run-time inputs read from .npy files, as float32.
struct InputFiles {
  std::string q, k, v, keyScores, weights;
};

struct LoadedInputs {
  InputFiles files;
  std::vector<float> q, k, v, keyScores, weights;
  std::vector<int64_t> qShape, kShape, vShape, scoreShape, weightShape;
  OracleInputs view() const;
};

/// Reads the inputs named in `files` (empty names are skipped), checks their
/// ranks and their agreement with each other.
llvm::Expected<LoadedInputs> loadInputs(const InputFiles &files);

/// Completes `shape` from the loaded inputs (when present), checks that the
/// sizes given on the command line agree with them, that every input has
/// exactly the shape the result implies, and that the sizes stay within what
/// the reference tools can hold.
llvm::Error reconcileShape(const LoadedInputs &inputs, AttentionShape &shape,
                           bool seqGiven, bool kvLenGiven, bool batchGiven,
                           bool headsGiven, bool kvHeadsGiven,
                           bool headDimGiven);

/// Fills the inputs `spec` needs and `inputs` lacks (sizes were bounded by
/// reconcileShape) with standard normal
/// values drawn from `seed`, shaped by `shape`.
void fillRandomInputs(const PatternSpec &spec, const AttentionShape &shape,
                      uint64_t seed, LoadedInputs &inputs);

/// Says which flags a pattern needs that were not given ("pattern 'sample'
/// reads q and k: pass --q and --k").
llvm::Error checkRequiredInputs(const PatternSpec &spec,
                                const InputFiles &files);

/// Prints "TOOL: error: LINE" for each line of the message and exits with
/// status 1.
[[noreturn]] void exitOnError(llvm::StringRef tool, llvm::Error error);

} // namespace sattn::tools

#endif // SATTN_TOOLS_TOOLCOMMON_H
