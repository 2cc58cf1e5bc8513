//===- DynamicPrimitives.h - Lowering of each dynamic primitive -*- C++ -*-===//
//
// Each dynamic primitive (stripes, tree_search, topk, permute) lives in one
// file, Select<Primitive>.cpp, that provides three things:
//   - its workspace buffers (sizes per call, in elements of each slot),
//   - its selection stage, emitted with KernelBuilder (CPU and GPU),
//   - its key sources for the attention kernel (AttentionEmitter.h).
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_DYNAMICPRIMITIVES_H
#define SATTN_PASSES_DYNAMICPRIMITIVES_H

#include "passes/AttentionEmitter.h"

namespace mlir::sattn::lowering {

#define SATTN_DYNAMIC_PRIMITIVE(Name)                                          \
  void Name##Workspace(const ::sattn::SelectionStage &stage,                   \
                       const ::sattn::PatternSpec &spec,                       \
                       const ::sattn::KernelSchedule &schedule,                \
                       const ::sattn::KernelShape &shape, int64_t batch,       \
                       int64_t seqQ, int64_t seqK,                             \
                       ::sattn::WorkspaceLayout &layout);                      \
  LogicalResult emit##Name##Stage(KernelBuilder &kb,                           \
                                  const ::sattn::PatternSpec &spec,            \
                                  const ::sattn::KernelSchedule &schedule,     \
                                  const ::sattn::SelectionStage &stage,        \
                                  Operation *container);                       \
  void append##Name##Sources(const ::sattn::PatternSpec &spec,                 \
                             const ::sattn::Enumerator &en,                    \
                             std::vector<std::unique_ptr<KeySource>> &out);

SATTN_DYNAMIC_PRIMITIVE(stripes)
SATTN_DYNAMIC_PRIMITIVE(treeSearch)
SATTN_DYNAMIC_PRIMITIVE(topkTokens)
SATTN_DYNAMIC_PRIMITIVE(topkBlocks)
SATTN_DYNAMIC_PRIMITIVE(permute)

#undef SATTN_DYNAMIC_PRIMITIVE

} // namespace mlir::sattn::lowering

#endif // SATTN_PASSES_DYNAMICPRIMITIVES_H
