//===- ToolCommon.cpp - What sattn-compile and sattn-run share ------------===//

#include "tools/common/ToolCommon.h"

#include "patterns/PatternLoader.h"
#include "sattn/PackedSequences.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <random>
#include <tuple>

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

/// The default of one of a tool's options as --help shows it, or "" when
/// there is nothing to show (no value, an empty string, a flag that is off,
/// a type this does not know: enum options say theirs in their text).
static std::string defaultText(llvm::cl::Option &option) {
  namespace cl = llvm::cl;
  auto number = [](double value) {
    std::string text;
    llvm::raw_string_ostream(text) << llvm::format("%g", value);
    return text;
  };
  if (auto *o = dynamic_cast<cl::opt<std::string> *>(&option))
    return o->getDefault().hasValue() ? o->getDefault().getValue() : "";
  if (auto *o = dynamic_cast<cl::opt<int64_t> *>(&option))
    return o->getDefault().hasValue()
               ? std::to_string(o->getDefault().getValue())
               : "";
  if (auto *o = dynamic_cast<cl::opt<int> *>(&option))
    return o->getDefault().hasValue()
               ? std::to_string(o->getDefault().getValue())
               : "";
  if (auto *o = dynamic_cast<cl::opt<unsigned> *>(&option))
    return o->getDefault().hasValue()
               ? std::to_string(o->getDefault().getValue())
               : "";
  if (auto *o = dynamic_cast<cl::opt<double> *>(&option))
    return o->getDefault().hasValue() ? number(o->getDefault().getValue()) : "";
  if (auto *o = dynamic_cast<cl::opt<bool> *>(&option))
    return o->getDefault().hasValue() && o->getDefault().getValue() ? "true"
                                                                    : "";
  return "";
}

/// Appends "(default: X)" to the description of each of the tool's own
/// options that has a default its text does not already give.
static void describeDefaults() {
  static std::vector<std::unique_ptr<std::string>> descriptions;
  for (auto &entry : llvm::cl::getRegisteredOptions()) {
    llvm::cl::Option &option = *entry.second;
    if (libraryOptions().contains(entry.first) ||
        option.HelpStr.contains("default"))
      continue;
    std::string value = defaultText(option);
    if (value.empty())
      continue;
    descriptions.push_back(std::make_unique<std::string>(
        (option.HelpStr + " (default: " + value + ")").str()));
    option.setDescription(*descriptions.back());
  }
}

void parseToolCommandLine(int argc, char **argv, StringRef overview) {
  for (auto &entry : llvm::cl::getRegisteredOptions())
    if (libraryOptions().contains(entry.first) &&
        entry.second->getOptionHiddenFlag() == llvm::cl::NotHidden &&
        !entry.first.starts_with("help") && entry.first != "version")
      entry.second->setHiddenFlag(llvm::cl::Hidden);
  describeDefaults();
  llvm::cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << "sattn " SATTN_VERSION " (sparse attention compiler)\n";
  });
  llvm::cl::ParseCommandLineOptions(argc, argv, overview);
}

/// Seconds before a SlowStep speaks: $SATTN_PROGRESS_AFTER_S, else 2.
static double progressAfterSeconds() {
  static const double seconds = [] {
    double value = 2;
    if (std::optional<std::string> env =
            llvm::sys::Process::GetEnv("SATTN_PROGRESS_AFTER_S"))
      if (StringRef(*env).getAsDouble(value) || value < 0)
        value = 2;
    return value;
  }();
  return seconds;
}

SlowStep::SlowStep(StringRef tool, const llvm::Twine &what)
    : prefix((tool + ": " + what).str()),
      start(std::chrono::steady_clock::now()), watcher([this] { watch(); }) {}

void SlowStep::watch() {
  using Seconds = std::chrono::duration<double>;
  std::unique_lock<std::mutex> lock(mutex);
  Seconds wait(progressAfterSeconds());
  while (!finished.wait_for(lock, wait, [this] { return done; })) {
    double elapsed = Seconds(std::chrono::steady_clock::now() - start).count();
    if (!announced)
      llvm::errs() << prefix << "...\n";
    else
      llvm::errs() << prefix << ": " << llvm::format("%.0f", elapsed)
                   << " s so far\n";
    announced = true;
    wait = Seconds(10);
  }
}

SlowStep::~SlowStep() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  finished.notify_one();
  watcher.join();
  if (announced)
    llvm::errs() << prefix << ": done in "
                 << llvm::format("%.1f",
                                 std::chrono::duration<double>(
                                     std::chrono::steady_clock::now() - start)
                                     .count())
                 << " s\n";
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
  OracleInputs view{ptr(q), ptr(k), ptr(keyScores), ptr(weights), {}};
  for (const std::vector<int32_t> &input : intInputs)
    view.intInputs.push_back(input.data());
  return view;
}

Expected<LoadedInputs> loadInputs(const InputFiles &files, FileLayout layout) {
  LoadedInputs in;
  in.files = files;
  const bool tokens = layout == FileLayout::THD;
  const size_t rank = tokens ? 3 : 4;
  if (Error e =
          readInput(files.q, "q", rank,
                    tokens ? "[T, Hq, D] (--layout thd)" : "[B, Hq, Sq, D]",
                    in.q, in.qShape))
    return std::move(e);
  for (auto [path, what, values, shape] :
       {std::tuple(&files.k, "k", &in.k, &in.kShape),
        std::tuple(&files.v, "v", &in.v, &in.vShape)})
    if (Error e =
            readInput(*path, what, rank,
                      tokens ? "[T, Hkv, D] (--layout thd)" : "[B, Hkv, Sk, D]",
                      *values, *shape))
      return std::move(e);
  if (Error e = readInput(files.keyScores, "key scores", tokens ? 2 : 3,
                          tokens ? "[Hkv, T] (--layout thd)" : "[B, Hkv, Sk]",
                          in.keyScores, in.scoreShape))
    return std::move(e);
  // The tokens of a batch of 1.
  if (tokens)
    for (std::vector<int64_t> *dims :
         {&in.qShape, &in.kShape, &in.vShape, &in.scoreShape})
      if (!dims->empty())
        dims->insert(dims->begin(), 1);
  if (Error e = readInput(files.weights, "weights", 2, "[Hkv, D]", in.weights,
                          in.weightShape))
    return std::move(e);
  return in;
}

/// Sizes beyond these are refused with a message rather than attempted: the
/// reference tools hold inputs and block maps in memory.
static constexpr int64_t kMaxTokens = int64_t(1) << 22;
/// More query heads than this, read from a file without --heads, are taken
/// for a layout mistake (models have at most a few hundred).
static constexpr int64_t kMaxGuessedHeads = 256;
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
  // A file whose axes 1 and 2 read the other way round would fit the given
  // heads: it is likely in the other layout (issue 21, Deliver 4).
  auto layoutHint = [&](StringRef file) -> std::string {
    const std::vector<int64_t> *dims = file == files.q   ? &inputs.qShape
                                       : file == files.k ? &inputs.kShape
                                       : file == files.v ? &inputs.vShape
                                                         : nullptr;
    if (!dims || dims->size() != 4)
      return "";
    int64_t wanted = file == files.q ? shape.heads : shape.kvHeads;
    bool wantedKnown = file == files.q ? headsGiven : kvHeadsGiven;
    if (!wantedKnown || (*dims)[2] != wanted)
      return "";
    return " (its axes 1 and 2 read the other way round fit: is it in the "
           "other layout? see --layout)";
  };
  auto settle = [&](Dim &dim, int64_t fromFile, StringRef file) -> Error {
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
          std::to_string(dim.value) + layoutHint(file));
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
  // Heads read from a file, not given: a [B, S, H, D] file read as
  // [B, H, S, D] gives many "heads" of few tokens (Hq = 2048, Sq = 4) and
  // used to run silently. Beyond kMaxGuessedHeads, ask.
  if (!headsGiven && !files.q.empty() && shape.heads > kMaxGuessedHeads &&
      shape.heads > shape.seqQ)
    return createStringError(
        files.q + " reads as " + std::to_string(shape.heads) +
        " query heads of " + std::to_string(shape.seqQ) +
        " tokens in the layout given (--layout): if the file is in the other "
        "layout, say so with --layout; if it really has that many heads, "
        "give --heads " +
        std::to_string(shape.heads));
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

/// A seed: a non-negative integer (decimal, or 0x hexadecimal).
static Expected<uint64_t> parseSeed(StringRef flag, StringRef text) {
  uint64_t seed = 0;
  if (text.getAsInteger(0, seed))
    return createStringError(flag +
                             ": the seed must be a non-negative "
                             "integer, got '" +
                             text + "'");
  return seed;
}

/// Which tensors to make: what the pattern reads, and what the tool does.
static InputNeeds tensorNeeds(const PatternSpec &spec,
                              const InputNeeds &needs) {
  RequiredInputs pattern = requiredInputs(spec);
  return {pattern.q || needs.q,
          pattern.k || needs.k,
          needs.v,
          pattern.keyScores || needs.keyScores,
          pattern.linearWeights || needs.weights,
          needs.who};
}

static InputFiles filesOf(const InputOptions &options) {
  return {options.q, options.k, options.v, options.keyScores, options.weights};
}

/// The flags, with their files' shapes, of the tensors `want` asks for and
/// `files` does not give.
static std::vector<std::string> missingFiles(const InputNeeds &want,
                                             const InputFiles &files) {
  std::vector<std::string> missing;
  for (auto [wanted, file, flag] :
       {std::tuple<bool, const std::string *, const char *>{
            want.q, &files.q, "--q q.npy [B, Hq, Sq, D]"},
        {want.k, &files.k, "--k k.npy [B, Hkv, Sk, D]"},
        {want.v, &files.v, "--v v.npy [B, Hkv, Sk, D]"},
        {want.keyScores, &files.keyScores, "--key-score u.npy [B, Hkv, Sk]"},
        {want.weights, &files.weights, "--weights w.npy [Hkv, D]"}})
    if (wanted && file->empty())
      missing.push_back(flag);
  return missing;
}

/// Fills the tensors `want` asks for and `inputs` lacks with standard
/// normal values. Each tensor has its own stream (the seed and the tensor's
/// index), so that a tensor does not depend on which others are drawn.
static void fillRandomInputs(const InputNeeds &want,
                             const AttentionShape &shape, uint64_t seed,
                             LoadedInputs &inputs) {
  auto fill = [&](bool wanted, unsigned stream, std::vector<float> &values,
                  int64_t count) {
    if (!wanted || !values.empty())
      return;
    std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), stream};
    std::mt19937_64 rng(seq);
    std::normal_distribution<float> normal;
    values.resize(count);
    for (float &value : values)
      value = normal(rng);
  };
  const int64_t d = shape.headDim;
  const int64_t keys = shape.batch * shape.kvHeads * shape.seqK;
  fill(want.q, 0, inputs.q, shape.batch * shape.heads * shape.seqQ * d);
  fill(want.k, 1, inputs.k, keys * d);
  fill(want.v, 2, inputs.v, keys * d);
  fill(want.keyScores, 3, inputs.keyScores, keys);
  fill(want.weights, 4, inputs.weights, shape.kvHeads * d);
}

/// The first file flag given, or "" when none is.
static std::string firstFileFlag(const InputOptions &options) {
  for (auto [flag, value] :
       {std::pair<const char *, const std::string *>{"--q", &options.q},
        {"--k", &options.k},
        {"--v", &options.v},
        {"--key-score", &options.keyScores},
        {"--weights", &options.weights}})
    if (!value->empty())
      return flag;
  return "";
}

/// Errors for input options that cannot go together, or that leave
/// something the pattern or the tool reads without a source.
static Error checkInputChoice(const InputOptions &options,
                              const PatternSpec &spec,
                              const InputNeeds &needs) {
  if (options.llm() && options.random())
    return createStringError("--llm-inputs and --random-inputs cannot be "
                             "combined: pick one source of inputs");
  if (options.llm()) {
    std::string flag = firstFileFlag(options);
    if (!flag.empty())
      return createStringError(
          "--llm-inputs generates every input (their structure ties q to "
          "k); it cannot be combined with " +
          flag);
  }
  if (options.ropeTheta.getNumOccurrences() && !options.llm())
    return createStringError("--rope-theta applies to --llm-inputs only");
  if (options.ropeTheta.getNumOccurrences() && !(options.ropeTheta > 1.0))
    return createStringError("--rope-theta must be greater than 1");
  if (options.llm() || options.random())
    return Error::success();
  std::vector<std::string> missing = missingFiles(needs, filesOf(options));
  if (!missing.empty())
    return createStringError(needs.who + " needs " + llvm::join(missing, ", ") +
                             ": pass the files, or --random-inputs SEED or "
                             "--llm-inputs SEED to generate them");
  return checkRequiredInputs(spec, filesOf(options));
}

/// Reads the --input NAME=FILE options for the inputs `spec` declares, in
/// its order, each checked against its declared shape in a call of `shape`.
static Expected<std::vector<std::vector<int32_t>>>
readIntInputs(const InputOptions &options, const PatternSpec &spec,
              const AttentionShape &shape) {
  std::vector<std::string> files(spec.inputs.size());
  std::vector<std::string> declared;
  for (const IntInputDecl &decl : spec.inputs)
    declared.push_back(decl.name);
  for (StringRef option : options.intInputs) {
    auto [name, file] = option.split('=');
    if (file.empty())
      return createStringError("--input " + option +
                               ": expected NAME=FILE.npy");
    auto found = llvm::find(declared, name);
    if (found == declared.end())
      return createStringError(
          "--input " + option + ": pattern '" + spec.name +
          "' has no run-time input '" + name + "'" +
          (declared.empty()
               ? std::string(" (it reads none)")
               : " (its inputs: " + llvm::join(declared, ", ") + ")"));
    std::string &slot = files[found - declared.begin()];
    if (!slot.empty())
      return createStringError("--input " + name + " is given twice");
    slot = file.str();
  }
  std::vector<std::vector<int32_t>> values;
  for (size_t n = 0; n < spec.inputs.size(); ++n) {
    const IntInputDecl &decl = spec.inputs[n];
    std::vector<int64_t> want;
    std::string dims;
    for (const InputDim &dim : decl.dims) {
      want.push_back(inputExtent(dim, shape));
      dims += (dims.empty() ? "" : ", ") +
              (dim.kind == InputDim::Batch    ? std::string("b")
               : dim.kind == InputDim::Heads  ? std::string("h")
               : dim.kind == InputDim::Tokens ? std::string("s")
                                              : std::to_string(dim.size));
    }
    std::string declaredShape = "i32[" + dims + "] = " + shapeString(want);
    if (files[n].empty())
      return createStringError("pattern '" + spec.name +
                               "' reads run-time input '" + decl.name + "', " +
                               declaredShape + " here: pass --input " +
                               decl.name + "=FILE.npy");
    auto array = readNpy(files[n]);
    if (!array)
      return array.takeError();
    if (array->shape != want)
      return createStringError(files[n] + ": run-time input '" + decl.name +
                               "' must have shape " + declaredShape + ", got " +
                               shapeString(array->shape));
    auto ints = array->toInt32(files[n]);
    if (!ints)
      return ints.takeError();
    values.push_back(std::move(*ints));
  }
  return values;
}

Expected<PreparedInputs> prepareInputs(const InputOptions &options,
                                       const ShapeOptions &shapeOptions,
                                       const PatternSpec &spec,
                                       const InputNeeds &needs,
                                       FileLayout files) {
  if (Error e = checkInputChoice(options, spec, needs))
    return std::move(e);
  PreparedInputs out;
  auto loaded = loadInputs(filesOf(options), files);
  if (!loaded)
    return loaded.takeError();
  out.inputs = std::move(*loaded);
  if (files != FileLayout::BHSD)
    for (std::vector<int64_t> *dims :
         {&out.inputs.qShape, &out.inputs.kShape, &out.inputs.vShape})
      if (!dims->empty())
        std::swap((*dims)[1], (*dims)[2]);
  AttentionShape &shape = out.shape;
  shape.batch = shapeOptions.batch;
  shape.heads = shapeOptions.heads;
  shape.kvHeads = shapeOptions.kvHeads;
  shape.seqQ = shapeOptions.seqLen;
  shape.seqK = shapeOptions.kvLen;
  shape.headDim = shapeOptions.headDim;
  if (Error e = reconcileShape(out.inputs, shape,
                               shapeOptions.seqLen.getNumOccurrences() > 0,
                               shapeOptions.kvLen.getNumOccurrences() > 0,
                               shapeOptions.batch.getNumOccurrences() > 0,
                               shapeOptions.heads.getNumOccurrences() > 0,
                               shapeOptions.kvHeads.getNumOccurrences() > 0,
                               shapeOptions.headDim.getNumOccurrences() > 0))
    return std::move(e);
  const InputNeeds want = tensorNeeds(spec, needs);
  if (options.random()) {
    auto seed = parseSeed("--random-inputs", options.randomSeed);
    if (!seed)
      return seed.takeError();
    fillRandomInputs(want, shape, *seed, out.inputs);
    out.source = "random";
    out.seed = *seed;
  }
  if (options.llm()) {
    auto seed = parseSeed("--llm-inputs", options.llmSeed);
    if (!seed)
      return seed.takeError();
    LlmInputOptions llm;
    llm.seed = *seed;
    llm.ropeTheta = options.ropeTheta;
    auto generated = generateLlmInputs(
        shape, llm,
        LlmTensorRequest{want.q, want.k, want.v, want.keyScores, want.weights});
    if (!generated)
      return createStringError("--llm-inputs: " +
                               llvm::toString(generated.takeError()));
    out.inputs.q = std::move(generated->q);
    out.inputs.k = std::move(generated->k);
    out.inputs.v = std::move(generated->v);
    out.inputs.keyScores = std::move(generated->keyScores);
    out.inputs.weights = std::move(generated->weights);
    out.inputs.llmHeadKinds = std::move(generated->headKinds);
    out.source = "llm";
    out.seed = *seed;
    out.ropeTheta = llm.ropeTheta;
  }
  auto ints = readIntInputs(options, spec, shape);
  if (!ints)
    return ints.takeError();
  out.inputs.intInputs = std::move(*ints);
  return out;
}

Error checkRequiredInputs(const PatternSpec &spec, const InputFiles &files) {
  std::vector<std::string> missing =
      missingFiles(tensorNeeds(spec, InputNeeds{}), files);
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

llvm::Error PackedOptions::parse(std::vector<int32_t> &q,
                                 std::vector<int32_t> &k) const {
  if (!cuSeqlensQ.getNumOccurrences() || !cuSeqlensK.getNumOccurrences())
    return llvm::createStringError(
        "packed sequences need both --cu-seqlens-q and --cu-seqlens-k");
  auto parsedQ = parseOffsets(cuSeqlensQ, "--cu-seqlens-q");
  if (!parsedQ)
    return parsedQ.takeError();
  auto parsedK = parseOffsets(cuSeqlensK, "--cu-seqlens-k");
  if (!parsedK)
    return parsedK.takeError();
  q = std::move(*parsedQ);
  k = std::move(*parsedK);
  return llvm::Error::success();
}

} // namespace sattn::tools
