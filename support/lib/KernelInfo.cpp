//===- KernelInfo.cpp - What the runtime needs to launch a kernel ---------===//

#include "sattn/KernelInfo.h"

#include "sattn/Errors.h"

#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace sattn;
namespace json = llvm::json;

namespace {
constexpr const char *kSlotNames[kNumWorkspaceSlots] = {
    "list_count",          "list_items",  "row_threshold",
    "row_threshold_index", "head_floats", "head_ints",
    "inputs"};
constexpr llvm::StringLiteral kArtifactMagic = "sattn-kernel-artifact\n";

json::Value functionToJSON(const KernelFunction &f) {
  return json::Object{{"name", f.name},
                      {"entry", f.entry},
                      {"items", f.items.toJSON()},
                      {"threads", f.threads},
                      {"dynamic_shared_bytes", f.dynamicSharedBytes}};
}

/// Reads the fields of a JSON object, remembering the first problem.
class Reader {
public:
  explicit Reader(llvm::StringRef context) : context(context.str()) {}

  const json::Object *object(const json::Value *v, llvm::StringRef what) {
    const json::Object *o = v ? v->getAsObject() : nullptr;
    if (!o)
      fail(what + " must be an object");
    return o;
  }
  std::string string(const json::Object &o, llvm::StringRef key) {
    if (std::optional<llvm::StringRef> s = o.getString(key))
      return s->str();
    fail("'" + key + "' must be a string");
    return "";
  }
  int64_t integer(const json::Object &o, llvm::StringRef key) {
    if (std::optional<int64_t> v = o.getInteger(key))
      return *v;
    fail("'" + key + "' must be an integer");
    return 0;
  }
  double number(const json::Object &o, llvm::StringRef key) {
    if (std::optional<double> v = o.getNumber(key))
      return *v;
    fail("'" + key + "' must be a number");
    return 0;
  }
  bool boolean(const json::Object &o, llvm::StringRef key) {
    if (std::optional<bool> v = o.getBoolean(key))
      return *v;
    fail("'" + key + "' must be true or false");
    return false;
  }
  SizeExpr size(const json::Object &o, llvm::StringRef key) {
    const json::Value *v = o.get(key);
    if (!v) {
      fail("'" + key + "' is missing");
      return SizeExpr();
    }
    llvm::Expected<SizeExpr> e = SizeExpr::fromJSON(*v);
    if (!e) {
      fail("'" + key + "': " + llvm::toString(e.takeError()));
      return SizeExpr();
    }
    return *e;
  }
  KernelInput input(const json::Value *v) {
    KernelInput in;
    const json::Object *o = object(v, "an input");
    if (!o)
      return in;
    in.name = string(*o, "name");
    const json::Array *dims = o->getArray("dims");
    const json::Array *names = o->getArray("dim_names");
    const json::Array *indexedBy = o->getArray("indexed_by");
    if (!dims || !names || !indexedBy || dims->size() != names->size() ||
        dims->size() != indexedBy->size() || dims->empty()) {
      fail("input '" + in.name +
           "': 'dims', 'dim_names' and 'indexed_by' must be arrays of one "
           "length >= 1");
      return in;
    }
    for (size_t d = 0; d < dims->size(); ++d) {
      llvm::Expected<SizeExpr> e = SizeExpr::fromJSON((*dims)[d]);
      std::optional<llvm::StringRef> name = (*names)[d].getAsString();
      std::optional<int64_t> bits = (*indexedBy)[d].getAsInteger();
      if (!e || !name || !bits || *bits < 0 || *bits > 15) {
        if (!e)
          llvm::consumeError(e.takeError());
        fail("input '" + in.name + "': bad dimension " + llvm::Twine(d));
        return in;
      }
      in.dims.push_back(*e);
      in.dimNames.push_back(name->str());
      in.indexedBy.push_back(unsigned(*bits));
    }
    return in;
  }
  KernelFunction function(const json::Value *v, llvm::StringRef what) {
    KernelFunction f;
    const json::Object *o = object(v, what);
    if (!o)
      return f;
    f.name = string(*o, "name");
    f.entry = string(*o, "entry");
    f.items = size(*o, "items");
    f.threads = integer(*o, "threads");
    f.dynamicSharedBytes = integer(*o, "dynamic_shared_bytes");
    if (f.threads < 1 || f.dynamicSharedBytes < 0)
      fail(what + ": threads must be >= 1 and shared bytes >= 0");
    return f;
  }
  void fail(const llvm::Twine &message) {
    if (problem.empty())
      problem = message.str();
  }
  llvm::Error error() const {
    if (problem.empty())
      return llvm::Error::success();
    return makeError(context + ": " + problem);
  }

private:
  std::string context;
  std::string problem;
};
} // namespace

std::string KernelInfo::toJSON() const {
  json::Array stageArray;
  for (const KernelFunction &f : stages)
    stageArray.push_back(functionToJSON(f));
  json::Object slots;
  for (unsigned i = 0; i < kNumWorkspaceSlots; ++i)
    slots[kSlotNames[i]] = workspace[i].toJSON();
  json::Array inputArray;
  for (const KernelInput &in : inputs) {
    json::Array dims, names, indexedBy;
    for (size_t d = 0; d < in.dims.size(); ++d) {
      dims.push_back(in.dims[d].toJSON());
      names.push_back(in.dimNames[d]);
      indexedBy.push_back(int64_t(in.indexedBy[d]));
    }
    inputArray.push_back(json::Object{{"name", in.name},
                                      {"dims", std::move(dims)},
                                      {"dim_names", std::move(names)},
                                      {"indexed_by", std::move(indexedBy)}});
  }
  json::Value value = json::Object{{"format", kFormatVersion},
                                   {"pattern", pattern},
                                   {"target", target},
                                   {"element_type", elementType},
                                   {"heads", heads},
                                   {"kv_heads", kvHeads},
                                   {"head_dim", headDim},
                                   {"scale", scale},
                                   {"stages", std::move(stageArray)},
                                   {"attention", functionToJSON(attention)},
                                   {"workspace", std::move(slots)},
                                   {"reads_key_scores", readsKeyScores},
                                   {"reads_weights", readsWeights},
                                   {"inputs", std::move(inputArray)},
                                   {"kv_row_alignment", kvRowAlignment}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", value);
  return text;
}

llvm::Expected<KernelInfo> KernelInfo::fromJSON(llvm::StringRef text) {
  llvm::Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return makeError("kernel info: " + llvm::toString(parsed.takeError()));
  Reader r("kernel info");
  KernelInfo info;
  const json::Object *o = r.object(&*parsed, "the record");
  if (!o)
    return r.error();
  int64_t format = r.integer(*o, "format");
  if (format != kFormatVersion)
    return makeError("kernel info: format " + llvm::Twine(format) +
                     " is not the supported " + llvm::Twine(kFormatVersion));
  info.pattern = r.string(*o, "pattern");
  info.target = r.string(*o, "target");
  info.elementType = r.string(*o, "element_type");
  info.heads = r.integer(*o, "heads");
  info.kvHeads = r.integer(*o, "kv_heads");
  info.headDim = r.integer(*o, "head_dim");
  info.scale = r.number(*o, "scale");
  if (const json::Array *stages = o->getArray("stages")) {
    for (const json::Value &stage : *stages)
      info.stages.push_back(r.function(&stage, "a stage"));
  } else {
    r.fail("'stages' must be an array");
  }
  info.attention = r.function(o->get("attention"), "'attention'");
  if (const json::Object *slots = r.object(o->get("workspace"), "'workspace'"))
    for (unsigned i = 0; i < kNumWorkspaceSlots; ++i)
      info.workspace[i] = r.size(*slots, kSlotNames[i]);
  info.readsKeyScores = r.boolean(*o, "reads_key_scores");
  info.readsWeights = r.boolean(*o, "reads_weights");
  if (const json::Array *inputs = o->getArray("inputs")) {
    for (const json::Value &input : *inputs)
      info.inputs.push_back(r.input(&input));
  } else {
    r.fail("'inputs' must be an array");
  }
  info.kvRowAlignment = r.integer(*o, "kv_row_alignment");
  if (info.kvRowAlignment < 0)
    r.fail("'kv_row_alignment' must be >= 0");
  if (llvm::Error err = r.error())
    return std::move(err);
  return info;
}

SizeExpr KernelInput::elements() const {
  SizeExpr n = 1;
  for (const SizeExpr &dim : dims)
    n = n * dim;
  return n;
}

llvm::Expected<WorkspaceLayout> sattn::layoutWorkspace(const KernelInfo &info,
                                                       const CallSizes &sizes) {
  WorkspaceLayout layout;
  for (unsigned i = 0; i < kNumWorkspaceSlots; ++i) {
    llvm::Expected<int64_t> n = info.workspace[i].evaluate(sizes);
    if (!n)
      return n.takeError();
    if (*n < 0)
      return makeError("workspace slot " + llvm::Twine(kSlotNames[i]) +
                       " has a negative size for this call");
    layout.sizes[i] = *n;
  }
  for (unsigned i = 0; i < kNumWorkspaceSlots; ++i) {
    int64_t &total = isFloatSlot(WorkspaceSlot(i)) ? layout.floatElements
                                                   : layout.intElements;
    layout.offsets[i] = total;
    std::optional<int64_t> next = llvm::checkedAdd(total, layout.sizes[i]);
    if (!next)
      return makeError("the workspace of this call is too large");
    total = *next;
  }
  // The i32 part starts 16-byte aligned; both parts count 4-byte elements.
  std::optional<int64_t> aligned =
      llvm::checkedAdd(layout.floatElements, int64_t(3));
  std::optional<int64_t> all =
      aligned ? llvm::checkedAdd(*aligned / 4 * 4, layout.intElements)
              : std::nullopt;
  if (!all || !llvm::checkedMul(*all, int64_t(4)))
    return makeError("the workspace of this call is too large");
  layout.floatElements = *aligned / 4 * 4;
  return layout;
}

std::string sattn::encodeKernelArtifact(const KernelInfo &info,
                                        llvm::StringRef binary) {
  std::string record = info.toJSON();
  return (kArtifactMagic + llvm::Twine(record.size()) + "\n" + record + binary)
      .str();
}

llvm::Expected<KernelArtifact>
sattn::decodeKernelArtifact(llvm::StringRef bytes) {
  if (!bytes.consume_front(kArtifactMagic))
    return makeError("not a sattn kernel artifact");
  auto [length, rest] = bytes.split('\n');
  size_t recordBytes = 0;
  if (length.getAsInteger(10, recordBytes) || recordBytes > rest.size())
    return makeError("kernel artifact: bad record length");
  llvm::Expected<KernelInfo> info =
      KernelInfo::fromJSON(rest.take_front(recordBytes));
  if (!info)
    return info.takeError();
  return KernelArtifact{std::move(*info), rest.drop_front(recordBytes).str()};
}
