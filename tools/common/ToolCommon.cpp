//===- ToolCommon.cpp - What sattn-compile and sattn-run share ------------===//

#include "tools/common/ToolCommon.h"

#include "patterns/PatternLoader.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <random>

using llvm::createStringError;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace sattn::tools {

static Error loadBoundPattern(const PatternOptions &options,
                              LoadedPattern &out);

/// "file:line:col: " for a file location, "" otherwise.
static std::string locationPrefix(mlir::Location loc) {
  if (auto fileLoc = llvm::dyn_cast<mlir::FileLineColLoc>(loc))
    return (fileLoc.getFilename().getValue() + ":" +
            llvm::Twine(fileLoc.getLine()) + ":" +
            llvm::Twine(fileLoc.getColumn()) + ": ")
        .str();
  return "";
}

/// Runs `load` and turns the error diagnostics it emits into the returned
/// error. For `.mlir` files that is the first one, with its location: later
/// ones are consequences of it. The pattern language recovers from errors,
/// so for `.sattn` files it is every one, a line each, then the front-end's
/// count.
static Error withDiagnostics(const PatternOptions &options,
                             mlir::MLIRContext &context,
                             llvm::function_ref<Error()> load) {
  bool allErrors = StringRef(options.file).ends_with(".sattn");
  std::vector<std::string> errors;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() == mlir::DiagnosticSeverity::Error &&
        (allErrors || errors.empty()))
      errors.push_back(locationPrefix(diag.getLocation()) + diag.str());
    return mlir::success();
  });
  Error error = load();
  if (!error || errors.empty())
    return error;
  if (allErrors && errors.size() > 1)
    errors.push_back(llvm::toString(std::move(error)));
  else
    llvm::consumeError(std::move(error));
  return createStringError(llvm::join(errors, "\n"));
}

Error loadPattern(const PatternOptions &options, LoadedPattern &out) {
  return withDiagnostics(options, out.context,
                         [&] { return loadBoundPattern(options, out); });
}

Error loadParsedModule(const PatternOptions &options, LoadedPattern &out) {
  return withDiagnostics(options, out.context, [&]() -> Error {
    auto module = loadPatternFile(options.file, out.context);
    if (!module)
      return module.takeError();
    out.module = std::move(*module);
    return Error::success();
  });
}

static Error loadBoundPattern(const PatternOptions &options,
                              LoadedPattern &out) {
  auto module = loadPatternFile(options.file, out.context);
  if (!module)
    return module.takeError();
  out.module = std::move(*module);
  auto pattern = findPattern(*out.module, options.pattern);
  if (!pattern)
    return createStringError(options.file + ": " +
                             llvm::toString(pattern.takeError()));
  mlir::sattn::ParamOverrides overrides;
  for (const std::string &text : options.overrides) {
    std::string message;
    auto parsed = mlir::sattn::parseOverride(text, message);
    if (mlir::failed(parsed))
      return createStringError("--set: " + message);
    overrides.push_back(*parsed);
  }
  auto bound = bindPattern(*pattern, overrides);
  if (!bound)
    return bound.takeError();
  out.bound = *bound;
  auto spec = importPattern(*bound);
  if (!spec)
    return spec.takeError();
  out.spec = std::move(*spec);
  return Error::success();
}

static std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  return "[" +
         llvm::join(llvm::map_range(
                        shape, [](int64_t d) { return std::to_string(d); }),
                    ", ") +
         "]";
}

/// Reads one float input and checks its rank.
static Error readInput(StringRef path, StringRef what, size_t rank,
                       StringRef layout, std::vector<float> &values,
                       std::vector<int64_t> &shape) {
  if (path.empty())
    return Error::success();
  auto array = readNpy(path);
  if (!array)
    return array.takeError();
  if (array->dtype == NpyDtype::UInt8)
    return createStringError(path + ": " + what +
                             " must be float32, float16 or float64, got uint8");
  if (array->shape.size() != rank)
    return createStringError(path + ": " + what + " must have shape " + layout +
                             ", got " + shapeString(array->shape));
  shape = array->shape;
  values = array->toFloat32();
  return Error::success();
}

OracleInputs LoadedInputs::view() const {
  auto ptr = [](const std::vector<float> &v) {
    return v.empty() ? nullptr : v.data();
  };
  return OracleInputs{ptr(q), ptr(k), ptr(keyScores), ptr(weights)};
}

Expected<LoadedInputs> loadInputs(const InputFiles &files) {
  LoadedInputs in;
  std::vector<int64_t> scoreShape, weightShape;
  if (Error e = readInput(files.q, "q", 4, "[B, Hq, Sq, D]", in.q, in.qShape))
    return std::move(e);
  if (Error e = readInput(files.k, "k", 4, "[B, Hkv, Sk, D]", in.k, in.kShape))
    return std::move(e);
  if (Error e = readInput(files.v, "v", 4, "[B, Hkv, Sk, D]", in.v, in.vShape))
    return std::move(e);
  if (Error e = readInput(files.keyScores, "key scores", 3, "[B, Hkv, Sk]",
                          in.keyScores, scoreShape))
    return std::move(e);
  if (Error e = readInput(files.weights, "weights", 2, "[Hkv, D]", in.weights,
                          weightShape))
    return std::move(e);
  if (!in.k.empty() && !in.v.empty() && in.kShape != in.vShape)
    return createStringError(files.v + ": v must have k's shape " +
                             shapeString(in.kShape) + ", got " +
                             shapeString(in.vShape));
  if (!in.q.empty() && !in.k.empty()) {
    if (in.qShape[0] != in.kShape[0])
      return createStringError(
          files.k + ": batch " + std::to_string(in.kShape[0]) +
          " differs from q's " + std::to_string(in.qShape[0]));
    if (in.qShape[3] != in.kShape[3])
      return createStringError(
          files.k + ": head dim " + std::to_string(in.kShape[3]) +
          " differs from q's " + std::to_string(in.qShape[3]));
    if (in.kShape[1] == 0 || in.qShape[1] % in.kShape[1] != 0)
      return createStringError(files.k + ": " + std::to_string(in.kShape[1]) +
                               " key/value heads do not divide " +
                               std::to_string(in.qShape[1]) + " query heads");
  }
  if (!in.keyScores.empty() && !in.k.empty() &&
      scoreShape !=
          std::vector<int64_t>{in.kShape[0], in.kShape[1], in.kShape[2]})
    return createStringError(
        files.keyScores + ": key scores must have shape " +
        shapeString({in.kShape[0], in.kShape[1], in.kShape[2]}) + ", got " +
        shapeString(scoreShape));
  if (!in.weights.empty() && !in.k.empty() &&
      weightShape != std::vector<int64_t>{in.kShape[1], in.kShape[3]})
    return createStringError(files.weights + ": weights must have shape " +
                             shapeString({in.kShape[1], in.kShape[3]}) +
                             ", got " + shapeString(weightShape));
  // Remember key-score and weight shapes through q/k-less runs.
  if (in.kShape.empty() && !scoreShape.empty())
    in.kShape = {scoreShape[0], scoreShape[1], scoreShape[2], 0};
  return in;
}

Error reconcileShape(const LoadedInputs &inputs, AttentionShape &shape,
                     bool seqGiven, bool kvLenGiven, bool batchGiven,
                     bool headsGiven, bool kvHeadsGiven, bool headDimGiven) {
  // Each dimension: take it from the file unless given, and if both, agree.
  auto settle = [](int64_t fromFile, int64_t &value, bool given,
                   StringRef flag) -> Error {
    if (!given) {
      value = fromFile;
      return Error::success();
    }
    if (fromFile != value)
      return createStringError("--" + flag + " " + std::to_string(value) +
                               " disagrees with the inputs, which have " +
                               std::to_string(fromFile));
    return Error::success();
  };
  if (!inputs.qShape.empty()) {
    if (Error e = settle(inputs.qShape[0], shape.batch, batchGiven, "batch"))
      return e;
    if (Error e = settle(inputs.qShape[1], shape.heads, headsGiven, "heads"))
      return e;
    if (Error e = settle(inputs.qShape[2], shape.seqQ, seqGiven, "seq-len"))
      return e;
    if (Error e =
            settle(inputs.qShape[3], shape.headDim, headDimGiven, "head-dim"))
      return e;
    seqGiven = true;
  }
  if (!inputs.kShape.empty()) {
    if (Error e = settle(inputs.kShape[0], shape.batch,
                         batchGiven || !inputs.qShape.empty(), "batch"))
      return e;
    if (Error e =
            settle(inputs.kShape[1], shape.kvHeads, kvHeadsGiven, "kv-heads"))
      return e;
    if (Error e = settle(inputs.kShape[2], shape.seqK, kvLenGiven, "kv-len"))
      return e;
    kvLenGiven = true;
    kvHeadsGiven = true;
  }
  if (!seqGiven)
    return createStringError("--seq-len is required without --q");
  if (!kvLenGiven)
    shape.seqK = shape.seqQ;
  if (!kvHeadsGiven)
    shape.kvHeads = shape.heads;
  if (shape.batch < 1 || shape.heads < 1 || shape.kvHeads < 1 ||
      shape.seqQ < 1 || shape.seqK < 1 || shape.headDim < 1)
    return createStringError(
        "sizes must be positive: batch " + std::to_string(shape.batch) +
        ", heads " + std::to_string(shape.heads) + ", kv-heads " +
        std::to_string(shape.kvHeads) + ", seq-len " +
        std::to_string(shape.seqQ) + ", kv-len " + std::to_string(shape.seqK) +
        ", head-dim " + std::to_string(shape.headDim));
  if (shape.heads % shape.kvHeads != 0)
    return createStringError("--kv-heads " + std::to_string(shape.kvHeads) +
                             " must divide --heads " +
                             std::to_string(shape.heads));
  return Error::success();
}

void fillRandomInputs(const PatternSpec &spec, const AttentionShape &shape,
                      uint64_t seed, LoadedInputs &inputs) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  auto fill = [&](std::vector<float> &values, int64_t count) {
    if (!values.empty())
      return;
    values.resize(count);
    for (float &value : values)
      value = normal(rng);
  };
  RequiredInputs needed = requiredInputs(spec);
  int64_t d = shape.headDim;
  if (needed.q)
    fill(inputs.q, shape.batch * shape.heads * shape.seqQ * d);
  if (needed.k)
    fill(inputs.k, shape.batch * shape.kvHeads * shape.seqK * d);
  if (needed.keyScores)
    fill(inputs.keyScores, shape.batch * shape.kvHeads * shape.seqK);
  if (needed.linearWeights)
    fill(inputs.weights, shape.kvHeads * d);
}

Error checkRequiredInputs(const PatternSpec &spec, const InputFiles &files) {
  RequiredInputs needed = requiredInputs(spec);
  std::vector<std::string> missing;
  if (needed.q && files.q.empty())
    missing.push_back("--q q.npy [B, Hq, Sq, D]");
  if (needed.k && files.k.empty())
    missing.push_back("--k k.npy [B, Hkv, Sk, D]");
  if (needed.keyScores && files.keyScores.empty())
    missing.push_back("--key-score u.npy [B, Hkv, Sk]");
  if (needed.linearWeights && files.weights.empty())
    missing.push_back("--weights w.npy [Hkv, D]");
  if (missing.empty())
    return Error::success();
  return createStringError("pattern '" + spec.name +
                           "' selects keys at run time and needs " +
                           llvm::join(missing, ", "));
}

void exitOnError(StringRef tool, Error error) {
  std::string message = llvm::toString(std::move(error));
  llvm::SmallVector<StringRef> lines;
  StringRef(message).split(lines, '\n', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  if (lines.empty())
    lines.push_back("unknown error");
  for (StringRef line : lines)
    llvm::WithColor::error(llvm::errs(), tool) << line << "\n";
  std::exit(1);
}

} // namespace sattn::tools
