//===- KernelLaunch.cpp - Arguments and workspace of one kernel call ------===//

#include "KernelLaunch.h"

#include "sattn/Errors.h"

using namespace sattn;
using llvm::createStringError;

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

llvm::Expected<PreparedCall> sattn::prepareCall(const KernelInfo &info,
                                                const AttentionConfig &config,
                                                const AttentionArgs &args) {
  llvm::Expected<AttentionShape> shape = checkAttentionArgs(config, args);
  if (!shape)
    return shape.takeError();
  if (info.readsKeyScores && !args.keyScores)
    return createStringError("pattern '" + info.pattern +
                             "' reads key scores [B, Hkv, Sk]; none given");
  if (info.readsWeights && !args.weights)
    return createStringError("pattern '" + info.pattern +
                             "' reads linear weights [Hkv, D]; none given");
  if (info.kvRowAlignment > 0 && (!rowsAligned(args.k, info.kvRowAlignment) ||
                                  !rowsAligned(args.v, info.kvRowAlignment)))
    return createStringError(
        "this kernel was compiled for K and V rows aligned to " +
        std::to_string(info.kvRowAlignment) +
        " bytes (pointers and strides); compile it for any alignment");
  for (auto [name, view] :
       {std::pair<const char *, const std::optional<TensorView> *>{
            "key scores", &args.keyScores},
        {"weights", &args.weights}})
    if (*view && !isContiguous(**view))
      return createStringError(llvm::Twine(name) +
                               " must be contiguous (row-major)");
  PreparedCall call;
  call.shape = *shape;
  KernelArguments &a = call.args;
  a.memrefs[unsigned(KernelMemref::Q)] = describe(args.q);
  a.memrefs[unsigned(KernelMemref::K)] = describe(args.k);
  a.memrefs[unsigned(KernelMemref::V)] = describe(args.v);
  a.memrefs[unsigned(KernelMemref::Out)] = describe(args.out);
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
  strides(KernelScalar::LseStrideB, args.lse);
  CallSizes sizes{shape->batch, shape->seqQ, shape->seqK};
  llvm::Expected<WorkspaceLayout> layout = layoutWorkspace(info, sizes);
  if (!layout)
    return layout.takeError();
  call.layout = *layout;
  for (unsigned i = 0; i < kNumWorkspaceSlots; ++i)
    s[unsigned(KernelScalar::WorkspaceOffset0) + i] = call.layout.offsets[i];
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

void sattn::setWorkspace(PreparedCall &call, void *data) {
  MemrefDescriptor &f = call.args.memrefs[unsigned(KernelMemref::WorkspaceF32)];
  MemrefDescriptor &i = call.args.memrefs[unsigned(KernelMemref::WorkspaceI32)];
  f.allocated = f.aligned = data;
  f.size = call.layout.floatElements;
  char *ints = static_cast<char *>(data) + call.layout.floatElements * 4;
  i.allocated = i.aligned = data ? ints : nullptr;
  i.size = call.layout.intElements;
}
