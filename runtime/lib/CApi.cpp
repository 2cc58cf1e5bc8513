//===- CApi.cpp - The C API over sattn::compile and the oracle ------------===//
//
// Handles are serial numbers, not pointers: a table of live objects per kind
// maps them to shared objects, so a released, forged or wrong-kind handle is
// found out by a lookup instead of being dereferenced, and a serial is never
// handed out twice (a stale handle cannot reach a newer object). Every entry
// point catches C++ exceptions and turns llvm::Errors into a status and the
// thread's last error.
//
//===----------------------------------------------------------------------===//

#include "sattn/sattn_c.h"

#include "PatternSourceRequest.h"
#include "sattn/Compiler.h"
#include "sattn/KernelCache.h"
#include "sattn/MaskPicture.h"
#include "sattn/Oracle.h"
#include "sattn/ReferenceBackend.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FormatVariadic.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <tuple>
#include <unordered_map>

using namespace sattn;

#ifndef SATTN_VERSION_STRING
#error "SATTN_VERSION_STRING must be defined by the build"
#endif

namespace {
thread_local std::string lastError;
thread_local sattn_status lastStatus = SATTN_OK;
/// Backs the strings some functions return (sattn_cache_dir).
thread_local std::string returnedString;

sattn_status succeed() {
  lastError.clear();
  lastStatus = SATTN_OK;
  return SATTN_OK;
}

sattn_status fail(sattn_status status, const llvm::Twine &message) {
  lastError = message.str();
  lastStatus = status;
  return status;
}

/// Argument errors (makeArgumentError) say SATTN_INVALID_ARGUMENT; the rest
/// `otherwise`.
sattn_status fail(const char *function, llvm::Error error,
                  sattn_status otherwise) {
  sattn_status status = otherwise;
  std::string message;
  llvm::handleAllErrors(std::move(error), [&](const llvm::ErrorInfoBase &e) {
    if (e.convertToErrorCode() == std::errc::invalid_argument)
      status = SATTN_INVALID_ARGUMENT;
    message += (message.empty() ? "" : "\n") + e.message();
  });
  return fail(status, llvm::Twine(function) + ": " + message);
}

/// Runs `body`, clearing the last error when it succeeds and turning an
/// escaping C++ exception into SATTN_ERROR.
template <typename Body>
sattn_status guarded(const char *function, Body &&body) {
  try {
    sattn_status status = body();
    return status == SATTN_OK ? succeed() : status;
  } catch (const std::exception &e) {
    return fail(SATTN_ERROR, llvm::Twine(function) + ": " + e.what());
  } catch (...) {
    return fail(SATTN_ERROR, llvm::Twine(function) + ": unknown exception");
  }
}

/// The same for functions that return a handle (NULL on failure).
template <typename Handle, typename Body>
Handle *guardedHandle(const char *function, Body &&body) {
  Handle *handle = nullptr;
  sattn_status status = guarded(function, [&] { return body(handle); });
  return status == SATTN_OK ? handle : nullptr;
}

/// A loaded, bound pattern: what compiles it and what the oracle reads.
struct PatternObject {
  PatternSource source;
  PatternSpec spec;
  std::string overrides; // "name=value,..."
};

struct KernelObject {
  std::shared_ptr<Kernel> kernel;
};

/// Never reused, shared by both kinds so that no two handles are equal.
std::atomic<uint64_t> nextSerial{1};

/// The live objects of one kind, by handle value: the serial shifted left
/// by 4 with the kind's tag in the low bits.
template <typename Object> class HandleTable {
public:
  HandleTable(uintptr_t tag, const char *kind) : tag(tag), kind(kind) {}

  template <typename Handle> Handle *add(std::shared_ptr<Object> object) {
    uintptr_t value = uintptr_t(nextSerial++ << 4) | tag;
    std::lock_guard<std::mutex> lock(mutex);
    live.emplace(value, std::move(object));
    return reinterpret_cast<Handle *>(value);
  }
  std::shared_ptr<Object> find(const void *handle) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = live.find(reinterpret_cast<uintptr_t>(handle));
    return it == live.end() ? nullptr : it->second;
  }
  /// Drops the table's reference; a call still using the object keeps it.
  bool remove(const void *handle) {
    std::lock_guard<std::mutex> lock(mutex);
    return live.erase(reinterpret_cast<uintptr_t>(handle)) == 1;
  }
  bool contains(const void *handle) { return find(handle) != nullptr; }
  const char *kindName() const { return kind; }

private:
  const uintptr_t tag;
  const char *kind;
  std::mutex mutex;
  std::unordered_map<uintptr_t, std::shared_ptr<Object>> live;
};

// Never destroyed: objects still live at exit must not be torn down after
// the CUDA driver or LLVM's own statics are gone.
HandleTable<PatternObject> &patterns() {
  static auto *table = new HandleTable<PatternObject>(0x5, "pattern");
  return *table;
}
HandleTable<KernelObject> &kernels() {
  static auto *table = new HandleTable<KernelObject>(0x9, "kernel");
  return *table;
}

/// The message for a handle `table` does not hold.
template <typename Object, typename Other>
sattn_status badHandle(const char *function, const void *handle,
                       HandleTable<Object> &table, HandleTable<Other> &other) {
  if (!handle)
    return fail(SATTN_INVALID_HANDLE, llvm::Twine(function) + ": the " +
                                          table.kindName() + " is NULL");
  std::string value = llvm::utohexstr(reinterpret_cast<uintptr_t>(handle));
  if (other.contains(handle))
    return fail(SATTN_INVALID_HANDLE, llvm::Twine(function) + ": handle 0x" +
                                          value + " is a " + other.kindName() +
                                          ", not a " + table.kindName());
  return fail(SATTN_INVALID_HANDLE,
              llvm::Twine(function) + ": 0x" + value + " is not a live " +
                  table.kindName() +
                  " handle (released, or never returned by sattn)");
}

/// Drops `table`'s object for `handle`.
template <typename Object, typename Other>
sattn_status release(const char *function, const void *handle,
                     HandleTable<Object> &table, HandleTable<Other> &other) {
  return guarded(function, [&] {
    return table.remove(handle) ? SATTN_OK
                                : badHandle(function, handle, table, other);
  });
}

sattn_status invalid(const char *function, const llvm::Twine &message) {
  return fail(SATTN_INVALID_ARGUMENT, llvm::Twine(function) + ": " + message);
}

/// Loads and binds `source`; the spec is what the oracle and the info read.
sattn_status loadPattern(const char *function, PatternSource source,
                         sattn_pattern *&handle) {
  mlir::DialectRegistry registry;
  registerPatternDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  BoundPattern bound;
  if (llvm::Error e = loadBoundPattern(patternRequest(source), context, bound))
    return fail(function, std::move(e), SATTN_INVALID_ARGUMENT);
  auto object = std::make_shared<PatternObject>();
  object->overrides = llvm::join(source.overrides, ",");
  object->source = std::move(source);
  object->spec = std::move(bound.spec);
  handle = patterns().add<sattn_pattern>(std::move(object));
  return succeed();
}

/// Appends "a=1,b=2" to `source`'s overrides, checking each is name=value.
sattn_status addOverrides(const char *function, const char *overrides,
                          PatternSource &source) {
  if (!overrides)
    return SATTN_OK;
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(overrides).split(parts, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef part : parts) {
    part = part.trim();
    if (!part.contains('='))
      return invalid(function, "override '" + part + "' is not name=value");
    source.set(part);
  }
  return SATTN_OK;
}

/// Reads a sattn_config; `forKernel` also reads the backend options.
sattn_status readConfig(const char *function, const sattn_config *in,
                        bool forKernel, AttentionConfig &config,
                        CompileOptions &options) {
  if (!in)
    return invalid(function, "the config is NULL");
  if (!in->dtype)
    return invalid(function, "the config's dtype is NULL");
  std::optional<DType> dtype = parseDType(in->dtype);
  if (!dtype)
    return invalid(function, llvm::Twine("dtype must be f32, f16 or bf16, "
                                         "got '") +
                                 in->dtype + "'");
  if (!std::isfinite(in->scale) || in->scale < 0)
    return invalid(function, "scale must be 0 (1/sqrt(head_dim)) or a "
                             "positive finite number, got " +
                                 llvm::formatv("{0}", in->scale).str());
  config =
      AttentionConfig{in->heads, in->kv_heads, in->head_dim, *dtype, in->scale};
  if (!forKernel)
    return SATTN_OK;
  llvm::StringRef backend = in->backend ? in->backend : "";
  if (backend == "cuda")
    options.backend = Backend::Cuda;
  else if (backend == "cpu")
    options.backend = Backend::Cpu;
  else
    return invalid(function,
                   "backend must be cpu or cuda, got '" + backend + "'");
  if (in->arch)
    options.arch = in->arch;
  if (in->cpu_threads < 0 || in->cpu_threads > 65536)
    return invalid(function, "cpu_threads must be 0 (all) to 65536, got " +
                                 llvm::Twine(in->cpu_threads));
  options.cpuThreads = unsigned(in->cpu_threads);
  return SATTN_OK;
}

/// One sattn_tensor as a view; at most 4 dims fit the struct.
sattn_status readTensor(const char *function, const char *name,
                        const sattn_tensor &tensor, DType dtype,
                        TensorView &view) {
  if (tensor.rank < 1 || tensor.rank > 4)
    return invalid(function, llvm::Twine(name) + " has rank " +
                                 llvm::Twine(tensor.rank) +
                                 "; a sattn_tensor holds 1 to 4 dims");
  view.data = tensor.data;
  view.dtype = dtype;
  view.sizes.assign(tensor.sizes, tensor.sizes + tensor.rank);
  view.strides.assign(tensor.strides, tensor.strides + tensor.rank);
  return SATTN_OK;
}

/// The views of a run, checked for presence and rank (the rest is
/// checkAttentionArgs's work).
sattn_status readRunArgs(const char *function, const sattn_run_args *in,
                         DType dtype, AttentionArgs &args) {
  if (!in)
    return invalid(function, "the run arguments are NULL");
  if (!in->q || !in->k || !in->v || !in->out)
    return invalid(function, "q, k, v and out are required");
  struct Entry {
    const char *name;
    const sattn_tensor *tensor;
    DType dtype;
    TensorView *view;
  } entries[] = {{"q", in->q, dtype, &args.q},
                 {"k", in->k, dtype, &args.k},
                 {"v", in->v, dtype, &args.v},
                 {"out", in->out, dtype, &args.out},
                 {"lse", in->lse, DType::F32, &args.lse}};
  for (const Entry &entry : entries)
    if (entry.tensor)
      if (sattn_status s = readTensor(function, entry.name, *entry.tensor,
                                      entry.dtype, *entry.view))
        return s;
  for (auto [name, tensor, view] :
       {std::tuple<const char *, const sattn_tensor *,
                   std::optional<TensorView> *>{"key scores", in->key_scores,
                                                &args.keyScores},
        {"weights", in->weights, &args.weights}})
    if (tensor) {
      view->emplace();
      if (sattn_status s =
              readTensor(function, name, *tensor, DType::F32, **view))
        return s;
    }
  if (!in->workspace && in->workspace_bytes)
    return invalid(function, "workspace_bytes is " +
                                 llvm::Twine(in->workspace_bytes) +
                                 " but workspace is NULL");
  return SATTN_OK;
}

/// A shape for the oracle, checked for sizes it can hold.
sattn_status readShape(const char *function, const sattn_shape *in,
                       AttentionShape &shape) {
  if (!in)
    return invalid(function, "the shape is NULL");
  if (in->batch < 1 || in->heads < 1 || in->kv_heads < 1 || in->seq_q < 1 ||
      in->seq_k < 1 || in->head_dim < 1 || in->heads % in->kv_heads != 0)
    return invalid(function,
                   llvm::formatv("sizes must be positive with kv heads "
                                 "dividing heads: batch {0}, heads {1}, kv "
                                 "heads {2}, seq q {3}, seq k {4}, head dim "
                                 "{5}",
                                 in->batch, in->heads, in->kv_heads, in->seq_q,
                                 in->seq_k, in->head_dim)
                       .str());
  shape.batch = in->batch;
  shape.heads = in->heads;
  shape.kvHeads = in->kv_heads;
  shape.seqQ = in->seq_q;
  shape.seqK = in->seq_k;
  shape.headDim = in->head_dim;
  return SATTN_OK;
}

/// The oracle of `pattern` on `shape` and `inputs` (NULL: none).
sattn_status createOracle(const char *function, const PatternObject &pattern,
                          const sattn_shape *shapeIn,
                          const sattn_inputs *inputsIn,
                          std::optional<MaskOracle> &oracle) {
  AttentionShape shape;
  if (sattn_status s = readShape(function, shapeIn, shape))
    return s;
  OracleInputs inputs;
  if (inputsIn)
    inputs = OracleInputs{inputsIn->q, inputsIn->k, inputsIn->key_scores,
                          inputsIn->weights};
  std::vector<std::string> missing = missingInputs(pattern.spec, inputs);
  if (!missing.empty())
    return invalid(function, "pattern '" + pattern.spec.name + "' reads " +
                                 llvm::join(missing, ", ") +
                                 " at run time; pass them in the inputs");
  llvm::Expected<MaskOracle> created =
      MaskOracle::create(pattern.spec, shape, inputs);
  if (!created)
    return fail(function, created.takeError(), SATTN_INVALID_ARGUMENT);
  oracle.emplace(std::move(*created));
  return SATTN_OK;
}
} // namespace

extern "C" {

const char *sattn_version(void) { return SATTN_VERSION_STRING; }

int sattn_c_api_version(void) { return SATTN_C_API_VERSION; }

const char *sattn_last_error(void) { return lastError.c_str(); }

sattn_status sattn_last_status(void) { return lastStatus; }

const char *sattn_cache_dir(void) {
  std::optional<std::string> dir = cacheDirectory();
  succeed();
  if (!dir)
    return nullptr;
  returnedString = std::move(*dir);
  return returnedString.c_str();
}

sattn_pattern *sattn_pattern_from_file(const char *path,
                                       const char *patternName) {
  constexpr const char *kFunction = "sattn_pattern_from_file";
  return guardedHandle<sattn_pattern>(kFunction, [&](sattn_pattern *&handle) {
    if (!path)
      return invalid(kFunction, "path is NULL");
    PatternSource source = PatternSource::file(path);
    if (patternName)
      source.withPattern(patternName);
    return loadPattern(kFunction, std::move(source), handle);
  });
}

sattn_pattern *sattn_pattern_from_source(const char *text, const char *language,
                                         const char *patternName) {
  constexpr const char *kFunction = "sattn_pattern_from_source";
  return guardedHandle<sattn_pattern>(kFunction, [&](sattn_pattern *&handle) {
    if (!text)
      return invalid(kFunction, "text is NULL");
    llvm::StringRef lang = language ? language : "sattn";
    if (lang != "sattn" && lang != "mlir")
      return invalid(kFunction,
                     "language must be sattn or mlir, got '" + lang + "'");
    PatternSource source = PatternSource::text(text, lang);
    if (patternName)
      source.withPattern(patternName);
    return loadPattern(kFunction, std::move(source), handle);
  });
}

sattn_pattern *sattn_pattern_bind(const sattn_pattern *pattern,
                                  const char *overrides) {
  constexpr const char *kFunction = "sattn_pattern_bind";
  return guardedHandle<sattn_pattern>(kFunction, [&](sattn_pattern *&handle) {
    std::shared_ptr<PatternObject> object = patterns().find(pattern);
    if (!object)
      return badHandle(kFunction, pattern, patterns(), kernels());
    PatternSource source = object->source;
    if (sattn_status s = addOverrides(kFunction, overrides, source))
      return s;
    return loadPattern(kFunction, std::move(source), handle);
  });
}

sattn_status sattn_pattern_get_info(const sattn_pattern *pattern,
                                    sattn_pattern_info *info) {
  constexpr const char *kFunction = "sattn_pattern_get_info";
  return guarded(kFunction, [&] {
    std::shared_ptr<PatternObject> object = patterns().find(pattern);
    if (!object)
      return badHandle(kFunction, pattern, patterns(), kernels());
    if (!info)
      return invalid(kFunction, "info is NULL");
    RequiredInputs reads = requiredInputs(object->spec);
    // The strings belong to the object, which the table keeps alive.
    *info = sattn_pattern_info{object->spec.name.c_str(),
                               object->overrides.c_str(),
                               object->spec.block,
                               reads.q,
                               reads.k,
                               reads.keyScores,
                               reads.linearWeights};
    return succeed();
  });
}

sattn_status sattn_pattern_mask(const sattn_pattern *pattern,
                                const sattn_shape *shape,
                                const sattn_inputs *inputs, uint8_t *mask,
                                size_t maskBytes) {
  constexpr const char *kFunction = "sattn_pattern_mask";
  return guarded(kFunction, [&] {
    std::shared_ptr<PatternObject> object = patterns().find(pattern);
    if (!object)
      return badHandle(kFunction, pattern, patterns(), kernels());
    std::optional<MaskOracle> oracle;
    if (sattn_status s =
            createOracle(kFunction, *object, shape, inputs, oracle))
      return s;
    std::optional<uint64_t> need = 1;
    for (int64_t size :
         {shape->batch, shape->heads, shape->seq_q, shape->seq_k})
      need =
          need ? llvm::checkedMulUnsigned(*need, uint64_t(size)) : std::nullopt;
    if (!need || *need != maskBytes)
      return invalid(kFunction,
                     llvm::formatv("mask_bytes is {0}; the mask [B, Hq, Sq, "
                                   "Sk] of this shape has {1}",
                                   maskBytes,
                                   need ? std::to_string(*need)
                                        : std::string("more than 2^64"))
                         .str());
    if (!mask)
      return invalid(kFunction, "mask is NULL");
    writeTokenMask(*oracle, mask);
    return succeed();
  });
}

sattn_status sattn_pattern_picture(const sattn_pattern *pattern,
                                   const sattn_shape *shape,
                                   const sattn_inputs *inputs, int64_t batch,
                                   int64_t head, const char *path) {
  constexpr const char *kFunction = "sattn_pattern_picture";
  return guarded(kFunction, [&] {
    std::shared_ptr<PatternObject> object = patterns().find(pattern);
    if (!object)
      return badHandle(kFunction, pattern, patterns(), kernels());
    if (!path)
      return invalid(kFunction, "path is NULL");
    std::optional<MaskOracle> oracle;
    if (sattn_status s =
            createOracle(kFunction, *object, shape, inputs, oracle))
      return s;
    PictureFormat format = llvm::StringRef(path).ends_with_insensitive(".svg")
                               ? PictureFormat::Svg
                               : PictureFormat::Png;
    if (llvm::Error e = writePatternPicture(path, format, *oracle, batch, head))
      return fail(kFunction, std::move(e), SATTN_ERROR);
    return succeed();
  });
}

sattn_status sattn_pattern_release(sattn_pattern *pattern) {
  return release("sattn_pattern_release", pattern, patterns(), kernels());
}

sattn_kernel *sattn_kernel_compile(const sattn_pattern *pattern,
                                   const sattn_config *configIn) {
  constexpr const char *kFunction = "sattn_kernel_compile";
  return guardedHandle<sattn_kernel>(kFunction, [&](sattn_kernel *&handle) {
    std::shared_ptr<PatternObject> object = patterns().find(pattern);
    if (!object)
      return badHandle(kFunction, pattern, patterns(), kernels());
    AttentionConfig config;
    CompileOptions options;
    if (sattn_status s = readConfig(kFunction, configIn, /*forKernel=*/true,
                                    config, options))
      return s;
    auto kernel = compile(object->source, config, options);
    if (!kernel)
      return fail(kFunction, kernel.takeError(), SATTN_ERROR);
    handle = kernels().add<sattn_kernel>(
        std::make_shared<KernelObject>(KernelObject{std::move(*kernel)}));
    return succeed();
  });
}

sattn_status sattn_kernel_get_info(const sattn_kernel *kernel,
                                   sattn_kernel_info *info) {
  constexpr const char *kFunction = "sattn_kernel_get_info";
  return guarded(kFunction, [&] {
    std::shared_ptr<KernelObject> object = kernels().find(kernel);
    if (!object)
      return badHandle(kFunction, kernel, kernels(), patterns());
    if (!info)
      return invalid(kFunction, "info is NULL");
    const CompileInfo &compiled = object->kernel->compileInfo();
    *info = sattn_kernel_info{int(compiled.origin), compiled.milliseconds,
                              compiled.digest.c_str()};
    return succeed();
  });
}

sattn_status sattn_kernel_workspace_bytes(const sattn_kernel *kernel,
                                          int64_t batch, int64_t seqQ,
                                          int64_t seqK, size_t *bytes) {
  constexpr const char *kFunction = "sattn_kernel_workspace_bytes";
  return guarded(kFunction, [&] {
    std::shared_ptr<KernelObject> object = kernels().find(kernel);
    if (!object)
      return badHandle(kFunction, kernel, kernels(), patterns());
    if (!bytes)
      return invalid(kFunction, "bytes is NULL");
    if (batch < 1 || seqQ < 1 || seqK < 1)
      return invalid(kFunction, llvm::formatv("batch {0}, seq_q {1} and seq_k "
                                              "{2} must be positive",
                                              batch, seqQ, seqK)
                                    .str());
    size_t need = object->kernel->workspaceBytes(batch, seqQ, seqK);
    if (need == SIZE_MAX)
      return invalid(kFunction, "the workspace of these sizes overflows");
    *bytes = need;
    return succeed();
  });
}

/// Reads `packed` (may be null) into args' cu_seqlens.
static sattn_status readPacked(const char *function,
                               const sattn_packed_sequences *packed,
                               AttentionArgs &args) {
  if (!packed)
    return SATTN_OK;
  if (!packed->cu_seqlens_q || !packed->cu_seqlens_k)
    return invalid(function, "packed sequences need cu_seqlens_q and "
                             "cu_seqlens_k");
  if (packed->entries < 1 || packed->entries > (int64_t(1) << 31))
    return invalid(function, "packed sequences need 1 to 2^31 entries (n + 1 "
                             "offsets), got " +
                                 std::to_string(packed->entries));
  args.cuSeqlensQ =
      llvm::ArrayRef<int32_t>(packed->cu_seqlens_q, size_t(packed->entries));
  args.cuSeqlensK =
      llvm::ArrayRef<int32_t>(packed->cu_seqlens_k, size_t(packed->entries));
  return SATTN_OK;
}

/// Reads `count` run-time integer inputs (may be none) into args.
static sattn_status readIntInputs(const char *function,
                                  const sattn_int_input *inputs, int64_t count,
                                  AttentionArgs &args) {
  if (count < 0 || count > 1024)
    return invalid(function, "the input count must be 0 to 1024, got " +
                                 std::to_string(count));
  if (count > 0 && !inputs)
    return invalid(function,
                   "inputs is NULL but count is " + std::to_string(count));
  for (int64_t n = 0; n < count; ++n) {
    const sattn_int_input &in = inputs[n];
    if (!in.name)
      return invalid(function,
                     "input " + std::to_string(n) + " has no name (NULL)");
    if (in.rank < 1 || in.rank > 8 || !in.sizes)
      return invalid(function, std::string("input '") + in.name +
                                   "' needs a rank of 1 to 8 and its sizes");
    IntInput input;
    input.name = in.name;
    input.data = in.data;
    input.sizes.assign(in.sizes, in.sizes + in.rank);
    for (int64_t size : input.sizes)
      if (size < 0)
        return invalid(function, std::string("input '") + in.name +
                                     "' has a negative size");
    args.intInputs.push_back(std::move(input));
  }
  return SATTN_OK;
}

static sattn_status runKernel(const char *kFunction, sattn_kernel *kernel,
                              const sattn_run_args *argsIn,
                              const sattn_packed_sequences *packed,
                              const sattn_int_input *inputs = nullptr,
                              int64_t inputCount = 0) {
  return guarded(kFunction, [&] {
    // Holding the object keeps it alive if another thread releases it now.
    std::shared_ptr<KernelObject> object = kernels().find(kernel);
    if (!object)
      return badHandle(kFunction, kernel, kernels(), patterns());
    AttentionArgs args;
    if (sattn_status s = readRunArgs(kFunction, argsIn,
                                     object->kernel->config().dtype, args))
      return s;
    if (sattn_status s = readPacked(kFunction, packed, args))
      return s;
    if (sattn_status s = readIntInputs(kFunction, inputs, inputCount, args))
      return s;
    Workspace workspace{argsIn->workspace, argsIn->workspace_bytes};
    RunTimings timings;
    bool timed = argsIn->selection_ms || argsIn->attention_ms;
    if (llvm::Error e =
            object->kernel->run(args, argsIn->workspace ? &workspace : nullptr,
                                argsIn->stream, timed ? &timings : nullptr))
      return fail(kFunction, std::move(e), SATTN_ERROR);
    if (argsIn->selection_ms)
      *argsIn->selection_ms = timings.selectionMs;
    if (argsIn->attention_ms)
      *argsIn->attention_ms = timings.attentionMs;
    return succeed();
  });
}

sattn_status sattn_kernel_run(sattn_kernel *kernel,
                              const sattn_run_args *args) {
  return runKernel("sattn_kernel_run", kernel, args, nullptr);
}

sattn_status sattn_kernel_run_packed(sattn_kernel *kernel,
                                     const sattn_run_args *args,
                                     const sattn_packed_sequences *packed) {
  return runKernel("sattn_kernel_run_packed", kernel, args, packed);
}

sattn_status sattn_kernel_run_with_inputs(sattn_kernel *kernel,
                                          const sattn_run_args *args,
                                          const sattn_int_input *inputs,
                                          int64_t count) {
  return runKernel("sattn_kernel_run_with_inputs", kernel, args, nullptr,
                   inputs, count);
}

sattn_status sattn_kernel_release(sattn_kernel *kernel) {
  return release("sattn_kernel_release", kernel, kernels(), patterns());
}

static sattn_status
runReference(const char *kFunction, const sattn_pattern *pattern,
             const sattn_config *configIn, const sattn_run_args *argsIn,
             const sattn_packed_sequences *packed,
             const sattn_int_input *inputs = nullptr, int64_t inputCount = 0) {
  return guarded(kFunction, [&] {
    std::shared_ptr<PatternObject> object = patterns().find(pattern);
    if (!object)
      return badHandle(kFunction, pattern, patterns(), kernels());
    AttentionConfig config;
    CompileOptions unused;
    if (sattn_status s = readConfig(kFunction, configIn, /*forKernel=*/false,
                                    config, unused))
      return s;
    AttentionArgs args;
    if (sattn_status s = readRunArgs(kFunction, argsIn, config.dtype, args))
      return s;
    if (sattn_status s = readPacked(kFunction, packed, args))
      return s;
    if (sattn_status s = readIntInputs(kFunction, inputs, inputCount, args))
      return s;
    if (argsIn->workspace || argsIn->stream)
      return invalid(kFunction, "the reference takes no workspace or stream "
                                "(it runs on the host)");
    auto start = std::chrono::steady_clock::now();
    if (llvm::Error e = runReferenceAttention(object->spec, config, args))
      return fail(kFunction, std::move(e), SATTN_INVALID_ARGUMENT);
    if (argsIn->selection_ms)
      *argsIn->selection_ms = 0;
    if (argsIn->attention_ms)
      *argsIn->attention_ms = std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - start)
                                  .count();
    return succeed();
  });
}

sattn_status sattn_reference_run(const sattn_pattern *pattern,
                                 const sattn_config *config,
                                 const sattn_run_args *args) {
  return runReference("sattn_reference_run", pattern, config, args, nullptr);
}

sattn_status sattn_reference_run_with_inputs(const sattn_pattern *pattern,
                                             const sattn_config *config,
                                             const sattn_run_args *args,
                                             const sattn_int_input *inputs,
                                             int64_t count) {
  return runReference("sattn_reference_run_with_inputs", pattern, config, args,
                      nullptr, inputs, count);
}

sattn_status sattn_reference_run_packed(const sattn_pattern *pattern,
                                        const sattn_config *config,
                                        const sattn_run_args *args,
                                        const sattn_packed_sequences *packed) {
  return runReference("sattn_reference_run_packed", pattern, config, args,
                      packed);
}

} // extern "C"
