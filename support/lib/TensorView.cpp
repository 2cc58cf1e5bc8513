//===- TensorView.cpp - Caller-owned tensors and their validation ---------===//

#include "sattn/TensorView.h"

#include "sattn/Errors.h"
#include "sattn/Float16.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <cmath>
#include <cstring>
#include <string>

using namespace sattn;

llvm::StringRef sattn::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  }
  return "?";
}

std::optional<DType> sattn::parseDType(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<DType>>(name)
      .Case("f32", DType::F32)
      .Case("f16", DType::F16)
      .Case("bf16", DType::BF16)
      .Default(std::nullopt);
}

size_t sattn::dtypeSize(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

bool sattn::rowsAligned(const TensorView &view, int64_t bytes) {
  if (reinterpret_cast<uintptr_t>(view.data) % bytes != 0)
    return false;
  const int64_t elementBytes = int64_t(dtypeSize(view.dtype));
  for (size_t i = 0; i + 1 < view.strides.size(); ++i)
    if (view.strides[i] * elementBytes % bytes != 0)
      return false;
  return true;
}

TensorView TensorView::contiguous(void *data, DType dtype,
                                  llvm::ArrayRef<int64_t> sizes) {
  TensorView view{data, dtype, llvm::SmallVector<int64_t, 4>(sizes), {}};
  view.strides.resize(sizes.size());
  int64_t stride = 1;
  for (size_t d = sizes.size(); d-- > 0;) {
    view.strides[d] = stride;
    stride *= sizes[d];
  }
  return view;
}

TensorView TensorView::fromBSHD(void *data, DType dtype, int64_t batch,
                                int64_t seq, int64_t heads, int64_t headDim) {
  return TensorView{data,
                    dtype,
                    {batch, heads, seq, headDim},
                    {seq * heads * headDim, headDim, heads * headDim, 1}};
}

/// Byte offset of an element; the caller has validated the index.
static size_t byteOffset(const TensorView &view,
                         llvm::ArrayRef<int64_t> index) {
  int64_t offset = 0;
  for (size_t d = 0; d < index.size(); ++d)
    offset += index[d] * view.strides[d];
  return size_t(offset) * dtypeSize(view.dtype);
}

float TensorView::load(llvm::ArrayRef<int64_t> index) const {
  const char *at = static_cast<const char *>(data) + byteOffset(*this, index);
  switch (dtype) {
  case DType::F32: {
    float value;
    std::memcpy(&value, at, sizeof(value));
    return value;
  }
  case DType::F16:
  case DType::BF16: {
    uint16_t bits;
    std::memcpy(&bits, at, sizeof(bits));
    return dtype == DType::F16 ? halfToFloat(bits) : bf16ToFloat(bits);
  }
  }
  return 0;
}

void TensorView::store(llvm::ArrayRef<int64_t> index, float value) const {
  char *at = static_cast<char *>(data) + byteOffset(*this, index);
  switch (dtype) {
  case DType::F32:
    std::memcpy(at, &value, sizeof(value));
    return;
  case DType::F16:
  case DType::BF16: {
    uint16_t bits =
        dtype == DType::F16 ? floatToHalf(value) : floatToBf16(value);
    std::memcpy(at, &bits, sizeof(bits));
    return;
  }
  }
}

namespace {
/// Checks one view: pointer, alignment, rank, dtype, sizes and strides.
class ViewChecker {
public:
  ViewChecker(llvm::StringRef name, const TensorView &view)
      : name(name), view(view) {}

  llvm::Error check(llvm::StringRef layout, DType dtype,
                    llvm::ArrayRef<int64_t> expected, bool unitInnerStride) {
    if (!view.data)
      return fail("is a null pointer");
    if (reinterpret_cast<uintptr_t>(view.data) % dtypeSize(view.dtype) != 0)
      return fail("is not aligned to its " +
                  std::to_string(dtypeSize(view.dtype)) + "-byte elements");
    if (view.dtype != dtype)
      return fail("must be " + dtypeName(dtype).str() + ", got " +
                  dtypeName(view.dtype).str());
    if (view.sizes.size() != expected.size() ||
        view.strides.size() != view.sizes.size())
      return fail("must have rank " + std::to_string(expected.size()) + " " +
                  layout.str() + " with one stride per size, got rank " +
                  std::to_string(view.sizes.size()) + " and " +
                  std::to_string(view.strides.size()) + " strides");
    for (size_t d = 0; d < expected.size(); ++d) {
      if (view.sizes[d] < 1)
        return fail("has size " + std::to_string(view.sizes[d]) + " in dim " +
                    std::to_string(d) + "; sizes must be positive");
      if (expected[d] >= 0 && view.sizes[d] != expected[d])
        return fail("must have shape " + shapeText(expected) + " " +
                    layout.str() + ", got " + shapeText(view.sizes));
      if (view.strides[d] < 0)
        return fail("has negative stride " + std::to_string(view.strides[d]) +
                    " in dim " + std::to_string(d));
    }
    if (unitInnerStride && view.strides.back() != 1)
      return fail("must have unit stride in its last dim (head dim), got " +
                  std::to_string(view.strides.back()));
    return llvm::Error::success();
  }

  static std::string shapeText(llvm::ArrayRef<int64_t> shape) {
    std::string text = "[";
    for (size_t d = 0; d < shape.size(); ++d)
      text += (d ? ", " : "") +
              (shape[d] < 0 ? std::string("?") : std::to_string(shape[d]));
    return text + "]";
  }

private:
  llvm::Error fail(const std::string &what) {
    return makeArgumentError(name + " " + what);
  }
  std::string name;
  const TensorView &view;
};
} // namespace

namespace {
/// The bytes [begin, end) a view can touch.
struct ByteSpan {
  uintptr_t begin = 0, end = 0;
  bool overlaps(const ByteSpan &other) const {
    return begin < other.end && other.begin < end;
  }
};

/// A view as the overlap checks see it.
struct NamedView {
  llvm::StringRef name;
  const TensorView *view;
  bool written;
  ByteSpan span;
};
} // namespace

/// The span of a view with positive sizes and non-negative strides, or
/// std::nullopt when its last byte lies beyond the address space.
static std::optional<ByteSpan> byteSpan(const TensorView &view) {
  int64_t last = 0;
  for (size_t d = 0; d < view.sizes.size(); ++d) {
    std::optional<int64_t> step =
        llvm::checkedMul(view.sizes[d] - 1, view.strides[d]);
    std::optional<int64_t> next =
        step ? llvm::checkedAdd(last, *step) : std::nullopt;
    if (!next)
      return std::nullopt;
    last = *next;
  }
  std::optional<int64_t> elements = llvm::checkedAdd(last, int64_t(1));
  std::optional<int64_t> bytes =
      elements ? llvm::checkedMul(*elements, int64_t(dtypeSize(view.dtype)))
               : std::nullopt;
  uintptr_t begin = reinterpret_cast<uintptr_t>(view.data);
  if (!bytes || uint64_t(*bytes) > UINTPTR_MAX - begin)
    return std::nullopt;
  return ByteSpan{begin, begin + uintptr_t(*bytes)};
}

/// Whether two indices of a view whose span fits address one element: with
/// the dims of size > 1 sorted by stride, some stride does not step past
/// everything the smaller ones reach (a zero stride, or interleaved dims).
static bool hasSharedElements(const TensorView &view) {
  llvm::SmallVector<std::pair<int64_t, int64_t>, 4> dims; // stride, size
  for (size_t d = 0; d < view.sizes.size(); ++d)
    if (view.sizes[d] > 1)
      dims.push_back({view.strides[d], view.sizes[d]});
  llvm::sort(dims);
  int64_t reached = 0; // the largest offset the smaller strides reach
  for (auto [stride, size] : dims) {
    if (stride <= reached)
      return true;
    reached += (size - 1) * stride; // bounded by the span byteSpan checked
  }
  return false;
}

/// Outputs must own their memory: each element its own, and no byte shared
/// with another tensor (a kernel writing out while reading q from the same
/// bytes gives garbage, with no error). Spans are compared, so two views that
/// interleave without sharing an element are refused too.
static llvm::Error checkOverlaps(const AttentionArgs &args) {
  llvm::SmallVector<NamedView, 7> views = {{"q", &args.q, false, {}},
                                           {"k", &args.k, false, {}},
                                           {"v", &args.v, false, {}},
                                           {"out", &args.out, true, {}}};
  if (args.wantsLse())
    views.push_back({"lse", &args.lse, true, {}});
  if (args.keyScores)
    views.push_back({"key scores", &*args.keyScores, false, {}});
  if (args.weights)
    views.push_back({"weights", &*args.weights, false, {}});
  for (NamedView &named : views) {
    std::optional<ByteSpan> span = byteSpan(*named.view);
    if (!span)
      return makeArgumentError(named.name + " with shape " +
                               ViewChecker::shapeText(named.view->sizes) +
                               " and strides " +
                               ViewChecker::shapeText(named.view->strides) +
                               " reaches beyond the address space");
    named.span = *span;
  }
  for (size_t i = 0; i < views.size(); ++i) {
    if (!views[i].written)
      continue;
    if (hasSharedElements(*views[i].view))
      return makeArgumentError(
          views[i].name + " has strides " +
          ViewChecker::shapeText(views[i].view->strides) + " for shape " +
          ViewChecker::shapeText(views[i].view->sizes) +
          " that give several elements the same memory; each output "
          "element needs its own");
    for (size_t j = 0; j < views.size(); ++j)
      if (j != i && (!views[j].written || j > i) &&
          views[i].span.overlaps(views[j].span))
        return makeArgumentError(views[i].name + " overlaps " + views[j].name +
                                 " in memory: out and lse must not share "
                                 "memory with any other tensor");
  }
  return llvm::Error::success();
}

llvm::Expected<AttentionShape>
sattn::checkAttentionArgs(const AttentionConfig &config,
                          const AttentionArgs &args) {
  if (config.heads < 1 || config.kvHeads < 1 || config.headDim < 1 ||
      config.heads % config.kvHeads != 0)
    return makeArgumentError("attention config: heads " +
                             std::to_string(config.heads) + " and kv heads " +
                             std::to_string(config.kvHeads) +
                             " must be positive with kv heads dividing heads");
  constexpr int64_t kAny = -1;
  // q fixes batch and Sq, k fixes Sk; everything else must agree.
  if (llvm::Error e =
          ViewChecker("q", args.q)
              .check("[B, Hq, Sq, D]", config.dtype,
                     {kAny, config.heads, kAny, config.headDim}, true))
    return std::move(e);
  int64_t batch = args.q.sizes[0], seqQ = args.q.sizes[2];
  if (llvm::Error e =
          ViewChecker("k", args.k)
              .check("[B, Hkv, Sk, D]", config.dtype,
                     {batch, config.kvHeads, kAny, config.headDim}, true))
    return std::move(e);
  int64_t seqK = args.k.sizes[2];
  if (llvm::Error e =
          ViewChecker("v", args.v)
              .check("[B, Hkv, Sk, D]", config.dtype,
                     {batch, config.kvHeads, seqK, config.headDim}, true))
    return std::move(e);
  if (llvm::Error e =
          ViewChecker("out", args.out)
              .check("[B, Hq, Sq, D]", config.dtype,
                     {batch, config.heads, seqQ, config.headDim}, true))
    return std::move(e);
  if (args.wantsLse())
    if (llvm::Error e = ViewChecker("lse", args.lse)
                            .check("[B, Hq, Sq]", DType::F32,
                                   {batch, config.heads, seqQ}, false))
      return std::move(e);
  if (args.keyScores)
    if (llvm::Error e = ViewChecker("key scores", *args.keyScores)
                            .check("[B, Hkv, Sk]", DType::F32,
                                   {batch, config.kvHeads, seqK}, false))
      return std::move(e);
  if (args.weights)
    if (llvm::Error e = ViewChecker("weights", *args.weights)
                            .check("[Hkv, D]", DType::F32,
                                   {config.kvHeads, config.headDim}, false))
      return std::move(e);
  if (llvm::Error e = checkOverlaps(args))
    return std::move(e);
  AttentionShape shape;
  shape.batch = batch;
  shape.heads = config.heads;
  shape.kvHeads = config.kvHeads;
  shape.seqQ = seqQ;
  shape.seqK = seqK;
  shape.headDim = config.headDim;
  shape.scale = config.scale;
  return shape;
}
