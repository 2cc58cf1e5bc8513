//===- KernelLaunch.cpp - Arguments and workspace of one kernel call ------===//

#include "KernelLaunch.h"

#include "sattn/Errors.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"

using namespace sattn;

KernelArguments &KernelArguments::operator=(const KernelArguments &other) {
  std::copy(std::begin(other.memrefs), std::end(other.memrefs), memrefs);
  std::copy(std::begin(other.scalars), std::end(other.scalars), scalars);
  return *this;
}

void **KernelArguments::params() {
  unsigned n = 0;
  for (MemrefDescriptor &m : memrefs) {
    paramPointers[n++] = &m.allocated;
    paramPointers[n++] = &m.aligned;
    paramPointers[n++] = &m.offset;
    paramPointers[n++] = &m.size;
    paramPointers[n++] = &m.stride;
  }
  for (int64_t &s : scalars)
    paramPointers[n++] = &s;
  return paramPointers;
}

/// Elements from the view's start to its last element, inclusive.
static int64_t extent(const TensorView &view) {
  int64_t last = 0;
  for (size_t i = 0; i < view.sizes.size(); ++i) {
    if (view.sizes[i] == 0)
      return 0;
    last += (view.sizes[i] - 1) * view.strides[i];
  }
  return last + 1;
}

static MemrefDescriptor describe(const TensorView &view) {
  MemrefDescriptor d;
  d.allocated = d.aligned = view.data;
  d.size = extent(view);
  return d;
}

static bool isContiguous(const TensorView &view) {
  int64_t expected = 1;
  for (size_t i = view.sizes.size(); i-- > 0;) {
    if (view.sizes[i] != 1 && view.strides[i] != expected)
      return false;
    expected *= view.sizes[i];
  }
  return true;
}

static std::string formatSizes(llvm::ArrayRef<int64_t> sizes) {
  std::string text = "[";
  for (size_t i = 0; i < sizes.size(); ++i)
    text += (i ? ", " : "") + std::to_string(sizes[i]);
  return text + "]";
}

/// The range of values a predicate variable takes in a call of `shape`
/// (with rows and keys), as [lo, hi].
static std::pair<int64_t, int64_t> indexRange(unsigned bit,
                                              const AttentionShape &shape) {
  switch (bit) {
  case kIndexedByBatch:
    return {0, shape.batch - 1};
  case kIndexedByHead:
    return {0, shape.heads - 1};
  case kIndexedByQuery:
    return {shape.seqK - shape.seqQ, shape.seqK - 1};
  default:
    return {0, shape.seqK - 1};
  }
}

/// Checks the call's run-time integer inputs against the kernel's record
/// (each given once, by a known name, with the declared sizes, every read
/// inside them) and places them in the Inputs slot.
static llvm::Expected<std::vector<PreparedCall::InputCopy>>
placeInputs(const KernelInfo &info, const AttentionShape &shape,
            const AttentionArgs &args, const WorkspaceLayout &slots) {
  std::string declared;
  for (const KernelInput &input : info.inputs)
    declared += (declared.empty() ? "" : ", ") + input.name;
  for (size_t n = 0; n < args.intInputs.size(); ++n) {
    const std::string &name = args.intInputs[n].name;
    if (llvm::none_of(info.inputs,
                      [&](const KernelInput &i) { return i.name == name; }))
      return makeArgumentError("pattern '" + info.pattern +
                               "' has no run-time input '" + name + "'" +
                               (declared.empty()
                                    ? " (it reads none)"
                                    : " (its inputs: " + declared + ")"));
    for (size_t m = 0; m < n; ++m)
      if (args.intInputs[m].name == name)
        return makeArgumentError("run-time input '" + name +
                                 "' is given twice");
  }
  CallSizes sizes{shape.batch, shape.seqQ, shape.seqK};
  const bool reads = shape.batch > 0 && shape.seqQ > 0 && shape.seqK > 0;
  std::vector<PreparedCall::InputCopy> copies;
  int64_t offset = slots.offsets[unsigned(WorkspaceSlot::Inputs)];
  for (const KernelInput &input : info.inputs) {
    std::vector<int64_t> want;
    for (const SizeExpr &dim : input.dims) {
      llvm::Expected<int64_t> n = dim.evaluate(sizes);
      if (!n)
        return n.takeError();
      want.push_back(*n);
    }
    std::string shapeText = "i32" + formatSizes(want) + " (" +
                            llvm::join(input.dimNames, ", ") + ")";
    const IntInput *given = nullptr;
    for (const IntInput &i : args.intInputs)
      if (i.name == input.name)
        given = &i;
    if (!given)
      return makeArgumentError("pattern '" + info.pattern +
                               "' reads run-time input '" + input.name + "', " +
                               shapeText + " for this call; none given");
    if (llvm::ArrayRef<int64_t>(given->sizes) != llvm::ArrayRef<int64_t>(want))
      return makeArgumentError("run-time input '" + input.name + "' must be " +
                               shapeText + ", got " +
                               formatSizes(given->sizes));
    for (size_t d = 0; reads && d < want.size(); ++d)
      for (unsigned bit :
           {kIndexedByBatch, kIndexedByHead, kIndexedByQuery, kIndexedByKey}) {
        if (!(input.indexedBy[d] & bit))
          continue;
        auto [lo, hi] = indexRange(bit, shape);
        if (lo < 0 || hi >= want[d]) {
          const char *var = bit == kIndexedByBatch   ? "b"
                            : bit == kIndexedByHead  ? "h"
                            : bit == kIndexedByQuery ? "q"
                                                     : "k";
          return makeArgumentError(
              "run-time input '" + input.name + "': its dimension " +
              std::to_string(d) + " ('" + input.dimNames[d] + "', " +
              std::to_string(want[d]) + " entries) is read at " + var +
              ", which ranges over [" + std::to_string(lo) + ", " +
              std::to_string(hi) + "] in this call");
        }
      }
    int64_t count = 1;
    for (int64_t n : want)
      count *= n; // fits: the slot's size was evaluated without overflow
    if (count > 0 && !given->data)
      return makeArgumentError("run-time input '" + input.name +
                               "' has a null pointer");
    copies.push_back({given->data, offset, count});
    offset += count;
  }
  return copies;
}

llvm::Expected<PreparedCall> sattn::prepareCall(const KernelInfo &info,
                                                const AttentionConfig &config,
                                                const AttentionArgs &args) {
  llvm::Expected<AttentionShape> shape = checkAttentionArgs(config, args);
  if (!shape)
    return shape.takeError();
  if (info.readsKeyScores && !args.keyScores)
    return makeArgumentError("pattern '" + info.pattern +
                             "' reads key scores [B, Hkv, Sk]; none given");
  if (info.readsWeights && !args.weights)
    return makeArgumentError("pattern '" + info.pattern +
                             "' reads linear weights [Hkv, D]; none given");
  if (info.kvRowAlignment > 0 && (!rowsAligned(args.k, info.kvRowAlignment) ||
                                  !rowsAligned(args.v, info.kvRowAlignment)))
    return makeArgumentError(
        "this kernel was compiled for K and V rows aligned to " +
        std::to_string(info.kvRowAlignment) +
        " bytes (pointers and strides); compile it for any alignment");
  for (auto [name, view] :
       {std::pair<const char *, const std::optional<TensorView> *>{
            "key scores", &args.keyScores},
        {"weights", &args.weights}})
    if (*view && !isContiguous(**view))
      return makeArgumentError(llvm::Twine(name) +
                               " must be contiguous (row-major)");
  PreparedCall call;
  call.shape = *shape;
  KernelArguments &a = call.args;
  a.memrefs[unsigned(KernelMemref::Q)] = describe(args.q);
  a.memrefs[unsigned(KernelMemref::K)] = describe(args.k);
  a.memrefs[unsigned(KernelMemref::V)] = describe(args.v);
  a.memrefs[unsigned(KernelMemref::Out)] = describe(args.out);
  if (args.wantsLse())
    a.memrefs[unsigned(KernelMemref::Lse)] = describe(args.lse);
  if (args.keyScores)
    a.memrefs[unsigned(KernelMemref::KeyScores)] = describe(*args.keyScores);
  if (args.weights)
    a.memrefs[unsigned(KernelMemref::Weights)] = describe(*args.weights);
  int64_t *s = a.scalars;
  s[unsigned(KernelScalar::Batch)] = shape->batch;
  s[unsigned(KernelScalar::SeqQ)] = shape->seqQ;
  s[unsigned(KernelScalar::SeqK)] = shape->seqK;
  auto strides = [&](KernelScalar first, const TensorView &view) {
    for (unsigned i = 0; i < 3; ++i)
      s[unsigned(first) + i] = view.strides[i];
  };
  strides(KernelScalar::QStrideB, args.q);
  strides(KernelScalar::KStrideB, args.k);
  strides(KernelScalar::VStrideB, args.v);
  strides(KernelScalar::OutStrideB, args.out);
  if (args.wantsLse()) {
    strides(KernelScalar::LseStrideB, args.lse);
  } else {
    s[unsigned(KernelScalar::LseStrideB)] = shape->heads * shape->seqQ;
    s[unsigned(KernelScalar::LseStrideH)] = shape->seqQ;
    s[unsigned(KernelScalar::LseStrideS)] = 1;
  }
  CallSizes sizes{shape->batch, shape->seqQ, shape->seqK};
  llvm::Expected<CallWorkspace> workspace =
      layoutCallWorkspace(info, shape->heads, sizes, !args.wantsLse());
  if (!workspace)
    return workspace.takeError();
  call.workspace = *workspace;
  for (unsigned i = 0; i < kNumWorkspaceSlots; ++i)
    s[unsigned(KernelScalar::WorkspaceOffset0) + i] =
        call.workspace.slots.offsets[i];
  llvm::Expected<std::vector<PreparedCall::InputCopy>> copies =
      placeInputs(info, *shape, args, call.workspace.slots);
  if (!copies)
    return copies.takeError();
  call.inputCopies = std::move(*copies);
  for (const KernelFunction &stage : info.stages) {
    llvm::Expected<int64_t> items = stage.items.evaluate(sizes);
    if (!items)
      return items.takeError();
    call.stageItems.push_back(*items);
  }
  llvm::Expected<int64_t> items = info.attention.items.evaluate(sizes);
  if (!items)
    return items.takeError();
  call.attentionItems = *items;
  return call;
}

llvm::Expected<CallWorkspace> sattn::layoutCallWorkspace(const KernelInfo &info,
                                                         int64_t heads,
                                                         const CallSizes &sizes,
                                                         bool lseInWorkspace) {
  llvm::Expected<WorkspaceLayout> slots = layoutWorkspace(info, sizes);
  if (!slots)
    return slots.takeError();
  CallWorkspace workspace;
  workspace.slots = *slots;
  workspace.bytes = slots->bytes();
  if (!lseInWorkspace)
    return workspace;
  // After the slots, 16-byte aligned like the i32 part.
  std::optional<int64_t> lseBytes = llvm::checkedMul(sizes.batch, heads);
  for (int64_t factor : {sizes.seqQ, int64_t(sizeof(float))})
    lseBytes = lseBytes ? llvm::checkedMul(*lseBytes, factor) : std::nullopt;
  size_t offset = (workspace.bytes + 15) / 16 * 16;
  std::optional<int64_t> total =
      lseBytes ? llvm::checkedAdd(int64_t(offset), *lseBytes) : std::nullopt;
  if (!total)
    return makeError("the workspace of this call is too large");
  workspace.lseOffset = int64_t(offset);
  workspace.bytes = size_t(*total);
  return workspace;
}

void sattn::setWorkspace(PreparedCall &call, void *data) {
  const WorkspaceLayout &slots = call.workspace.slots;
  MemrefDescriptor &f = call.args.memrefs[unsigned(KernelMemref::WorkspaceF32)];
  MemrefDescriptor &i = call.args.memrefs[unsigned(KernelMemref::WorkspaceI32)];
  f.allocated = f.aligned = data;
  f.size = slots.floatElements;
  char *ints = static_cast<char *>(data) + slots.floatElements * 4;
  i.allocated = i.aligned = data ? ints : nullptr;
  i.size = slots.intElements;
  if (call.workspace.lseOffset >= 0) {
    MemrefDescriptor &lse = call.args.memrefs[unsigned(KernelMemref::Lse)];
    lse.allocated = lse.aligned =
        static_cast<char *>(data) + call.workspace.lseOffset;
    lse.size = call.shape.batch * call.shape.heads * call.shape.seqQ;
  }
}
