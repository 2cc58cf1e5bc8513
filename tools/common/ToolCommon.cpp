//===- ToolCommon.cpp - What sattn-compile and sattn-run share ------------===//

#include "tools/common/ToolCommon.h"

#include "patterns/PatternLoader.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <random>

using llvm::createStringError;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace sattn::tools {

/// The options registered before main: those of the LLVM and MLIR libraries.
/// Taken at start-up: the tools link the shared libLLVM/libMLIR, whose
/// static initialisers run before the executable's.
static llvm::StringSet<> &libraryOptions() {
  static llvm::StringSet<> names = [] {
    llvm::StringSet<> set;
    for (auto &entry : llvm::cl::getRegisteredOptions())
      set.insert(entry.first);
    return set;
  }();
  return names;
}
[[maybe_unused]] static const bool libraryOptionsTaken =
    (libraryOptions(), true);

void parseToolCommandLine(int argc, char **argv, StringRef overview) {
  for (auto &entry : llvm::cl::getRegisteredOptions())
    if (libraryOptions().contains(entry.first) &&
        entry.second->getOptionHiddenFlag() == llvm::cl::NotHidden &&
        !entry.first.starts_with("help") && entry.first != "version")
      entry.second->setHiddenFlag(llvm::cl::Hidden);
  llvm::cl::ParseCommandLineOptions(argc, argv, overview);
}

static Error loadRequest(const PatternOptions &options, LoadedPattern &out,
                         bool bind) {
  PatternRequest request;
  request.file = options.file;
  request.pattern = options.pattern;
  request.overrides.assign(options.overrides.begin(), options.overrides.end());
  if (!bind) {
    return loadParsedPattern(request, out.context, out.module);
  }
  BoundPattern bound;
  if (Error err = loadBoundPattern(request, out.context, bound))
    return err;
  out.module = std::move(bound.module);
  out.bound = bound.bound;
  out.spec = std::move(bound.spec);
  return Error::success();
}

Error loadPattern(const PatternOptions &options, LoadedPattern &out) {
  return loadRequest(options, out, /*bind=*/true);
}

Error loadParsedModule(const PatternOptions &options, LoadedPattern &out) {
  return loadRequest(options, out, /*bind=*/false);
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
  in.files = files;
  if (Error e = readInput(files.q, "q", 4, "[B, Hq, Sq, D]", in.q, in.qShape))
    return std::move(e);
  if (Error e = readInput(files.k, "k", 4, "[B, Hkv, Sk, D]", in.k, in.kShape))
    return std::move(e);
  if (Error e = readInput(files.v, "v", 4, "[B, Hkv, Sk, D]", in.v, in.vShape))
    return std::move(e);
  if (Error e = readInput(files.keyScores, "key scores", 3, "[B, Hkv, Sk]",
                          in.keyScores, in.scoreShape))
    return std::move(e);
  if (Error e = readInput(files.weights, "weights", 2, "[Hkv, D]", in.weights,
                          in.weightShape))
    return std::move(e);
  return in;
}

/// Sizes beyond these are refused with a message rather than attempted: the
/// reference tools hold inputs and block maps in memory.
static constexpr int64_t kMaxTokens = int64_t(1) << 22;
static constexpr int64_t kMaxInputElements = int64_t(1) << 31;

/// a * b * ..., or an error naming `what` when it exceeds `limit`.
static Expected<int64_t> boundedProduct(std::initializer_list<int64_t> factors,
                                        int64_t limit, StringRef what) {
  int64_t product = 1;
  for (int64_t factor : factors)
    if (__builtin_mul_overflow(product, factor, &product) || product > limit)
      return createStringError(what + " would exceed " + std::to_string(limit) +
                               " elements");
  return product;
}

Error reconcileShape(const LoadedInputs &inputs, AttentionShape &shape,
                     bool seqGiven, bool kvLenGiven, bool batchGiven,
                     bool headsGiven, bool kvHeadsGiven, bool headDimGiven) {
  const InputFiles &files = inputs.files;
  // A dimension comes from the first source that has it: the command line,
  // then q, k, key scores and weights in turn; every later source must agree.
  struct Dim {
    int64_t &value;
    bool known;
    StringRef name;
    std::string source; // a flag or the file it was first read from
  };
  Dim batch{shape.batch, batchGiven, "batch", "--batch"};
  Dim heads{shape.heads, headsGiven, "query heads", "--heads"};
  Dim kvHeads{shape.kvHeads, kvHeadsGiven, "key/value heads", "--kv-heads"};
  Dim seqQ{shape.seqQ, seqGiven, "query length", "--seq-len"};
  Dim seqK{shape.seqK, kvLenGiven, "key length", "--kv-len"};
  Dim headDim{shape.headDim, headDimGiven, "head dim", "--head-dim"};
  auto settle = [](Dim &dim, int64_t fromFile, StringRef file) -> Error {
    if (!dim.known) {
      dim.value = fromFile;
      dim.known = true;
      dim.source = file.str();
      return Error::success();
    }
    if (dim.value != fromFile)
      return createStringError(
          file + " has " + dim.name + " " + std::to_string(fromFile) + " but " +
          dim.source +
          (StringRef(dim.source).starts_with("--") ? " says " : " has ") +
          std::to_string(dim.value));
    return Error::success();
  };
  auto settleAll = [&](llvm::ArrayRef<int64_t> fileShape,
                       std::initializer_list<Dim *> dims,
                       StringRef file) -> Error {
    if (fileShape.empty())
      return Error::success();
    size_t axis = 0;
    for (Dim *dim : dims)
      if (Error e = settle(*dim, fileShape[axis++], file))
        return e;
    return Error::success();
  };
  if (Error e =
          settleAll(inputs.qShape, {&batch, &heads, &seqQ, &headDim}, files.q))
    return e;
  if (Error e = settleAll(inputs.kShape, {&batch, &kvHeads, &seqK, &headDim},
                          files.k))
    return e;
  if (Error e = settleAll(inputs.vShape, {&batch, &kvHeads, &seqK, &headDim},
                          files.v))
    return e;
  if (Error e = settleAll(inputs.scoreShape, {&batch, &kvHeads, &seqK},
                          files.keyScores))
    return e;
  if (Error e =
          settleAll(inputs.weightShape, {&kvHeads, &headDim}, files.weights))
    return e;
  if (!seqQ.known)
    return createStringError("--seq-len is required without --q");
  if (!seqK.known)
    shape.seqK = shape.seqQ;
  if (!kvHeads.known)
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
  if (shape.seqQ > kMaxTokens || shape.seqK > kMaxTokens)
    return createStringError("sequence lengths above " +
                             std::to_string(kMaxTokens) +
                             " tokens are not supported by the reference "
                             "tools, got " +
                             std::to_string(std::max(shape.seqQ, shape.seqK)));
  if (auto q =
          boundedProduct({shape.batch, shape.heads, shape.seqQ, shape.headDim},
                         kMaxInputElements, "q [B, Hq, Sq, D]");
      !q)
    return q.takeError();
  if (auto k = boundedProduct(
          {shape.batch, shape.kvHeads, shape.seqK, shape.headDim},
          kMaxInputElements, "k [B, Hkv, Sk, D]");
      !k)
    return k.takeError();
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
