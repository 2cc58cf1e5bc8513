//===- ToolCommon.h - What sattn-compile and sattn-run share ----*- C++ -*-===//
//
// The pattern options (file, --pattern, --set), the shape options, where the
// run-time inputs come from (.npy files, --random-inputs, --llm-inputs),
// loading a pattern to a PatternSpec, reading and generating the inputs and
// checking their shapes, and one-line error reporting.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_TOOLS_TOOLCOMMON_H
#define SATTN_TOOLS_TOOLCOMMON_H

#include "sattn/LlmInputs.h"
#include "sattn/Npy.h"
#include "sattn/Oracle.h"
#include "sattn/PatternSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/CommandLine.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
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

/// Parses the command line. --help lists the tool's own options only (the
/// options LLVM and MLIR register for their code generators stay usable
/// and are listed by --help-hidden), each with its default; --version
/// prints sattn's version after LLVM's.
void parseToolCommandLine(int argc, char **argv, llvm::StringRef overview);

/// Work a new user would otherwise wait on in silence (the oracle at 128K
/// tokens, a cold compile, --check): once it has run for two seconds
/// ($SATTN_PROGRESS_AFTER_S overrides), stderr says "TOOL: WHAT...", then
/// every ten seconds how long it has run, and at the end how long it took.
/// Quick work prints nothing.
class SlowStep {
public:
  SlowStep(llvm::StringRef tool, const llvm::Twine &what);
  ~SlowStep();
  SlowStep(const SlowStep &) = delete;
  SlowStep &operator=(const SlowStep &) = delete;

private:
  void watch();

  std::string prefix;
  std::chrono::steady_clock::time_point start;
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  bool announced = false;
  std::thread watcher;
};

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

/// The sizes a tool takes on the command line; files, when given, must
/// agree with the ones given explicitly and settle the others.
struct ShapeOptions {
  llvm::cl::opt<int64_t> seqLen{
      "seq-len",
      llvm::cl::desc("Query length Sq (no default: required unless --q "
                     "gives it)"),
      llvm::cl::value_desc("N")};
  llvm::cl::opt<int64_t> kvLen{"kv-len",
                               llvm::cl::desc("Key length Sk (default: Sq)"),
                               llvm::cl::value_desc("M")};
  llvm::cl::opt<int64_t> batch{"batch", llvm::cl::desc("Batch size"),
                               llvm::cl::init(1)};
  llvm::cl::opt<int64_t> heads{"heads", llvm::cl::desc("Query heads Hq"),
                               llvm::cl::init(1)};
  llvm::cl::opt<int64_t> kvHeads{
      "kv-heads", llvm::cl::desc("Key/value heads Hkv (default: Hq)")};
  llvm::cl::opt<int64_t> headDim{"head-dim", llvm::cl::desc("Head dim D"),
                                 llvm::cl::init(64)};
};

/// Packed sequences (docs/patterns.md, "Packed sequences"): offsets along S
/// of a batch of 1, given as "0,100,250".
struct PackedOptions {
  llvm::cl::opt<std::string> cuSeqlensQ{
      "cu-seqlens-q",
      llvm::cl::desc("Packed sequences: offsets of each sequence's query "
                     "rows along Sq, e.g. 0,100,250 (batch 1; with "
                     "--cu-seqlens-k) (default: none, one unpacked call)"),
      llvm::cl::value_desc("0,n1,...")};
  llvm::cl::opt<std::string> cuSeqlensK{
      "cu-seqlens-k",
      llvm::cl::desc("Packed sequences: offsets of each sequence's keys "
                     "along Sk (default: none)"),
      llvm::cl::value_desc("0,m1,...")};

  bool given() const {
    return cuSeqlensQ.getNumOccurrences() || cuSeqlensK.getNumOccurrences();
  }
  /// The two offset lists (both must be given).
  llvm::Error parse(std::vector<int32_t> &q, std::vector<int32_t> &k) const;
};

/// Where the run-time inputs come from: .npy files, drawn from a standard
/// normal, or generated with the structure of LLM attention
/// (docs/llm-inputs.md).
struct InputOptions {
  llvm::cl::opt<std::string> q{"q",
                               llvm::cl::desc("Queries, .npy [B, Hq, Sq, D]"),
                               llvm::cl::value_desc("q.npy")};
  llvm::cl::opt<std::string> k{"k",
                               llvm::cl::desc("Keys, .npy [B, Hkv, Sk, D]"),
                               llvm::cl::value_desc("k.npy")};
  llvm::cl::opt<std::string> v{"v",
                               llvm::cl::desc("Values, .npy [B, Hkv, Sk, D]"),
                               llvm::cl::value_desc("v.npy")};
  llvm::cl::opt<std::string> keyScores{
      "key-score", llvm::cl::desc("Key scores for top-k, .npy [B, Hkv, Sk]"),
      llvm::cl::value_desc("u.npy")};
  llvm::cl::opt<std::string> weights{
      "weights", llvm::cl::desc("Linear score weights, .npy [Hkv, D]"),
      llvm::cl::value_desc("w.npy")};
  llvm::cl::list<std::string> intInputs{
      "input",
      llvm::cl::desc("A run-time integer input the pattern declares: "
                     "NAME=FILE.npy, int32 (or int64) of its declared shape, "
                     "e.g. [B, Sk] for 'input doc: i32[b, s]'; repeat for "
                     "each input"),
      llvm::cl::value_desc("name=file.npy")};
  // Seeds are read as text, so that a bad one gets a message naming the
  // flag and what a seed is (checked by prepareInputs).
  llvm::cl::opt<std::string> randomSeed{
      "random-inputs",
      llvm::cl::desc("Draw the inputs the files do not give from a standard "
                     "normal with this seed (each tensor from its own "
                     "stream: the same seed gives the same tensors in every "
                     "tool)"),
      llvm::cl::value_desc("seed")};
  llvm::cl::opt<std::string> llmSeed{
      "llm-inputs",
      llvm::cl::desc("Generate every input with the structure of LLM "
                     "attention (sinks, rotary decay, vertical and slash "
                     "keys, retrieval heads; docs/llm-inputs.md) from this "
                     "seed"),
      llvm::cl::value_desc("seed")};
  llvm::cl::opt<double> ropeTheta{
      "rope-theta",
      llvm::cl::desc("Rotary base of --llm-inputs (500000 as Llama 3; "
                     "10000 as Llama 2)"),
      llvm::cl::init(500000.0)};

  bool random() const { return randomSeed.getNumOccurrences() > 0; }
  bool llm() const { return llmSeed.getNumOccurrences() > 0; }
};

/// Run-time inputs read from .npy files, as float32.
struct InputFiles {
  std::string q, k, v, keyScores, weights;
};

struct LoadedInputs {
  InputFiles files;
  std::vector<float> q, k, v, keyScores, weights;
  /// The pattern's run-time integer inputs, in its declaration order.
  std::vector<std::vector<int32_t>> intInputs;
  std::vector<int64_t> qShape, kShape, vShape, scoreShape, weightShape;
  /// The head kinds of --llm-inputs, per query head; empty otherwise.
  std::vector<LlmHeadKind> llmHeadKinds;
  OracleInputs view() const;
};

/// Reads the inputs named in `files` (empty names are skipped), checks their
/// ranks and their agreement with each other.
/// How q, k and v files (and key scores) hold their dimensions.
enum class FileLayout {
  BHSD, ///< [B, H, S, D]; key scores [B, Hkv, Sk]
  BSHD, ///< [B, S, H, D]; key scores [B, Hkv, Sk]
  THD,  ///< [T, H, D], the tokens of a batch of 1; key scores [Hkv, T]
};

/// Reads the files given, as [B, H, S, D] shapes (THD files get a leading
/// batch of 1; BSHD and THD ones keep S before H: prepareInputs swaps).
llvm::Expected<LoadedInputs> loadInputs(const InputFiles &files,
                                        FileLayout layout = FileLayout::BHSD);

/// Completes `shape` from the loaded inputs (when present), checks that the
/// sizes given on the command line agree with them, that every input has
/// exactly the shape the result implies, and that the sizes stay within what
/// the reference tools can hold.
llvm::Error reconcileShape(const LoadedInputs &inputs, AttentionShape &shape,
                           bool seqGiven, bool kvLenGiven, bool batchGiven,
                           bool headsGiven, bool kvHeadsGiven,
                           bool headDimGiven);

/// What a tool reads besides the pattern's own inputs, and the words its
/// messages use for itself ("--emit=recall-json", "sattn-run").
struct InputNeeds {
  bool q = false, k = false, v = false, keyScores = false, weights = false;
  std::string who;
};

/// Inputs ready for the oracle and the kernels, with their shape and how
/// they were made (for reports).
struct PreparedInputs {
  LoadedInputs inputs;
  AttentionShape shape;
  /// "files", "random" (files completed by --random-inputs) or "llm".
  std::string source = "files";
  uint64_t seed = 0;    // of random and llm
  double ropeTheta = 0; // of llm
};

/// Checks that the input options fit together and give everything `spec`
/// and `needs` read, reads the files (in `files`' layout), settles the
/// shape against `shapeOptions`, then draws or generates what is asked for.
/// Errors name the flags involved.
llvm::Expected<PreparedInputs>
prepareInputs(const InputOptions &options, const ShapeOptions &shapeOptions,
              const PatternSpec &spec, const InputNeeds &needs,
              FileLayout files = FileLayout::BHSD);

/// Says which flags a pattern needs that were not given ("pattern 'sample'
/// reads q and k: pass --q and --k").
llvm::Error checkRequiredInputs(const PatternSpec &spec,
                                const InputFiles &files);

/// Prints "TOOL: error: LINE" for each line of the message and exits with
/// status 1.
[[noreturn]] void exitOnError(llvm::StringRef tool, llvm::Error error);

} // namespace sattn::tools

#endif // SATTN_TOOLS_TOOLCOMMON_H
