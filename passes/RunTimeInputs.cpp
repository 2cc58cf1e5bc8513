//===- RunTimeInputs.cpp - Run-time integer inputs of predicates ----------===//

#include "passes/RunTimeInputs.h"

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelInput;
using ::sattn::SizeExpr;

namespace {
/// The declared inputs of the request's pattern (empty when none).
ArrayRef<Attribute> declaredInputs(const KernelRequest &req) {
  if (ArrayAttr inputs = req.pattern.getInputsAttr())
    return inputs.getValue();
  return {};
}

unsigned indexBit(StringRef name) {
  if (name == "b")
    return ::sattn::kIndexedByBatch;
  if (name == "h")
    return ::sattn::kIndexedByHead;
  if (name == "q")
    return ::sattn::kIndexedByQuery;
  return ::sattn::kIndexedByKey;
}
} // namespace

std::vector<KernelInput> mlir::sattn::describeInputs(const KernelRequest &req) {
  std::vector<KernelInput> inputs;
  for (Attribute attr : declaredInputs(req)) {
    auto decl = cast<InputAttr>(attr);
    KernelInput input;
    input.name = decl.getName().str();
    for (Attribute dim : decl.getDims()) {
      if (auto size = dyn_cast<IntegerAttr>(dim)) {
        input.dims.push_back(size.getInt());
        input.dimNames.push_back(std::to_string(size.getInt()));
        continue;
      }
      StringRef kind = cast<StringAttr>(dim).getValue();
      input.dims.push_back(kind == "b"   ? SizeExpr::batch()
                           : kind == "h" ? SizeExpr(req.shape.heads)
                                         : SizeExpr::seqK());
      input.dimNames.push_back(kind.str());
    }
    input.indexedBy.assign(input.dims.size(), 0);
    inputs.push_back(std::move(input));
  }
  req.pattern.walk([&](ReadInputOp read) {
    auto found = llvm::find_if(inputs, [&](const KernelInput &input) {
      return input.name == read.getName();
    });
    if (found == inputs.end())
      return; // the verifier rejects it
    for (auto [d, index] : llvm::enumerate(read.getIndices()))
      if (d < found->indexedBy.size())
        found->indexedBy[d] |= indexBit(cast<StringAttr>(index).getValue());
  });
  return inputs;
}

Value mlir::sattn::readInput(KernelBuilder &kb, const KernelRequest &req,
                             ReadInputOp read, const InputIndexValues &at) {
  // The extent of a declared dimension in this call.
  auto extent = [&](Attribute dim) -> Value {
    if (auto size = dyn_cast<IntegerAttr>(dim))
      return kb.idx(size.getInt());
    StringRef kind = cast<StringAttr>(dim).getValue();
    if (kind == "h")
      return kb.idx(req.shape.heads);
    return kb.toIndex(kb.scalar(kind == "b" ? ::sattn::KernelScalar::Batch
                                            : ::sattn::KernelScalar::SeqK));
  };
  auto elements = [&](InputAttr input) {
    Value n = kb.idx(1);
    for (Attribute dim : input.getDims())
      n = kb.mul(n, extent(dim));
    return n;
  };
  // The input's first element: after every input declared before it.
  Value offset = kb.idx(0);
  InputAttr input;
  for (Attribute attr : declaredInputs(req)) {
    input = cast<InputAttr>(attr);
    if (input.getName() == read.getName())
      break;
    offset = kb.add(offset, elements(input));
  }
  // C order: offset = (...((i0 * n1 + i1) * n2 + i2)...). The call checks
  // the reads of every row and key it has; code may also evaluate a
  // predicate where its result is discarded (a scan's end, a masked lane),
  // so each index is clamped into the input to keep such reads inside it.
  Value element = kb.idx(0);
  for (auto [dim, index] : llvm::zip(input.getDims(), read.getIndices())) {
    StringRef name = cast<StringAttr>(index).getValue();
    Value value = name == "b"   ? at.batch
                  : name == "h" ? at.head
                  : name == "q" ? at.query
                                : at.key;
    Value size = extent(dim);
    Value inside =
        kb.max(kb.min(kb.toIndex(value), kb.sub(size, kb.idx(1))), kb.idx(0));
    element = kb.add(kb.mul(element, size), inside);
  }
  Value loaded =
      kb.loadWs(::sattn::WorkspaceSlot::Inputs, kb.add(offset, element));
  return kb.toI64(loaded);
}
