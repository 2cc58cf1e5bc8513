//===- Schedule.cpp - Tiles, enumerators and stages of a pattern ----------===//

#include "passes/Schedule.h"

#include <cmath>
#include <numeric>

using namespace sattn;

double KernelShape::effectiveScale() const {
  return scale != 0 ? scale : 1.0 / std::sqrt(double(headDim));
}

llvm::StringRef sattn::enumeratorName(EnumeratorKind kind) {
  switch (kind) {
  case EnumeratorKind::Sink:
    return "sink";
  case EnumeratorKind::WindowTokens:
    return "window_tokens";
  case EnumeratorKind::WindowBlocks:
    return "window_blocks";
  case EnumeratorKind::WindowFraction:
    return "window_fraction";
  case EnumeratorKind::StridesPow2:
    return "strides_pow2";
  case EnumeratorKind::StridesEvery:
    return "strides_every";
  case EnumeratorKind::StridesList:
    return "strides_list";
  case EnumeratorKind::Columns:
    return "columns";
  case EnumeratorKind::Diagonals:
    return "diagonals";
  case EnumeratorKind::Keep:
    return "keep_blocks";
  case EnumeratorKind::KeepTokens:
    return "keep_tokens";
  case EnumeratorKind::Stripes:
    return "stripes";
  case EnumeratorKind::TreeSearch:
    return "tree_search";
  case EnumeratorKind::TopkTokens:
    return "topk_tokens";
  case EnumeratorKind::TopkBlocks:
    return "topk_blocks";
  case EnumeratorKind::Permute:
    return "permute";
  }
  return "?";
}

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// The largest power of two <= cap that divides n.
static int64_t pow2Divisor(int64_t n, int64_t cap) {
  int64_t t = 1;
  while (t * 2 <= cap && n % (t * 2) == 0)
    t *= 2;
  return t;
}

static llvm::Error unsupported(const PatternSpec &spec, const llvm::Twine &why) {
  return llvm::createStringError("pattern '" + spec.name +
                                 "': not supported by the compiler yet: " +
                                 why);
}

llvm::Expected<KernelSchedule> sattn::buildSchedule(const PatternSpec &spec,
                                                    const KernelShape &shape) {
  KernelSchedule s;
  s.pattern = spec.name;
  s.tileK = shape.headDim <= 64 ? 64 : 32;
  int64_t align = 0; // gcd of the block sizes tiles must respect
  auto alignTo = [&](int64_t block) { align = std::gcd(align, block); };
  std::vector<Enumerator> dynamic;
  bool treeSearch = false;
  int64_t treeBlockQ = 0;
  for (int i = 0, e = int(spec.primitives.size()); i < e; ++i) {
    const Primitive &p = spec.primitives[i];
    Enumerator en{EnumeratorKind::Sink, i};
    if (std::holds_alternative<SinkPrim>(p)) {
      en.kind = EnumeratorKind::Sink;
    } else if (const auto *w = std::get_if<WindowPrim>(&p)) {
      en.kind = w->unit == WindowUnit::Tokens   ? EnumeratorKind::WindowTokens
                : w->unit == WindowUnit::Blocks ? EnumeratorKind::WindowBlocks
                                                : EnumeratorKind::WindowFraction;
      if (w->unit == WindowUnit::Blocks)
        alignTo(spec.block);
    } else if (const auto *st = std::get_if<StridesPrim>(&p)) {
      en.kind = st->kind == StrideKind::Pow2    ? EnumeratorKind::StridesPow2
                : st->kind == StrideKind::Every ? EnumeratorKind::StridesEvery
                                                : EnumeratorKind::StridesList;
      alignTo(spec.block);
    } else if (std::holds_alternative<ColumnsPrim>(p)) {
      en.kind = EnumeratorKind::Columns;
      alignTo(spec.block);
    } else if (std::holds_alternative<DiagonalsPrim>(p)) {
      en.kind = EnumeratorKind::Diagonals;
      alignTo(spec.block);
    } else if (const auto *k = std::get_if<KeepPrim>(&p)) {
      en.kind = k->blockLevel ? EnumeratorKind::Keep : EnumeratorKind::KeepTokens;
      alignTo(spec.block);
    } else if (const auto *sp = std::get_if<StripesPrim>(&p)) {
      en.kind = EnumeratorKind::Stripes;
      alignTo(sp->block);
    } else if (const auto *tp = std::get_if<TreeSearchPrim>(&p)) {
      en.kind = EnumeratorKind::TreeSearch;
      treeSearch = true;
      treeBlockQ = tp->blockQ;
    } else if (const auto *tk = std::get_if<TopkPrim>(&p)) {
      en.kind = tk->granularity == TopkGranularity::Token
                    ? EnumeratorKind::TopkTokens
                    : EnumeratorKind::TopkBlocks;
      if (tk->granularity == TopkGranularity::Block)
        alignTo(tk->block);
    } else if (const auto *pp = std::get_if<PermutePrim>(&p)) {
      en.kind = EnumeratorKind::Permute;
      alignTo(pp->block);
    }
    bool isDynamic = en.kind >= EnumeratorKind::Stripes;
    (isDynamic ? dynamic : s.enumerators).push_back(en);
  }
  if (dynamic.size() > 1)
    return unsupported(spec, "more than one dynamic primitive (stripes, "
                             "tree_search, topk, permute) in one pattern");
  if (treeSearch) {
    if (align != 0)
      return unsupported(spec, "tree_search together with block-level "
                               "primitives (its query blocks follow local "
                               "indices)");
    s.absoluteTiles = false;
    s.tileQ = pow2Divisor(treeBlockQ, 64);
  } else {
    s.tileQ = align == 0 ? 64 : pow2Divisor(align, 64);
  }
  // Dynamic enumerators come last: their lists are filtered against the
  // static primitives' closed forms, never the other way round.
  for (const Enumerator &en : dynamic) {
    s.enumerators.push_back(en);
    SelectionStage stage;
    stage.kind = en.kind;
    stage.primitive = en.primitive;
    stage.function = ("sattn_select_" + enumeratorName(en.kind) + "_" +
                      llvm::Twine(en.primitive))
                         .str();
    switch (en.kind) {
    case EnumeratorKind::Stripes:
      stage.grid = GridKind::Heads;
      stage.threads = 128;
      break;
    case EnumeratorKind::TreeSearch:
      stage.grid = GridKind::QueryBlocks;
      stage.queryBlock =
          std::get<TreeSearchPrim>(spec.primitives[en.primitive]).blockQ;
      stage.threads = 128;
      break;
    case EnumeratorKind::TopkTokens:
      stage.grid = GridKind::Heads;
      stage.threads = 128;
      break;
    case EnumeratorKind::TopkBlocks:
      stage.grid = GridKind::QueryBlocks;
      stage.queryBlock =
          std::get<TopkPrim>(spec.primitives[en.primitive]).block;
      stage.threads = 128;
      break;
    case EnumeratorKind::Permute:
      stage.grid = GridKind::Heads;
      stage.threads = 128;
      break;
    default:
      break;
    }
    s.stages.push_back(stage);
  }
  return s;
}

AttentionKernelPlan sattn::planAttentionKernel(const KernelSchedule &schedule,
                                               const KernelShape &shape,
                                               unsigned elementBits, bool gpu) {
  AttentionKernelPlan plan;
  plan.threads = schedule.tileQ;
  plan.chunkKeys = schedule.tileK;
  const int64_t d = shape.headDim;
  // Warps own 16 rows each; the products step over 16 head dimensions; a
  // thread's accumulators (d / 2 floats), query fragments (d / 4 words, d / 2
  // floats for f32) and scores (chunkKeys / 2 floats) must fit in its 255
  // registers, which holds up to d = 128.
  if (!gpu || schedule.tileQ % 16 != 0 || d % 16 != 0 || d > 128)
    return plan;
  plan.tensorCores = true;
  plan.threads = schedule.tileQ / 16 * 32;
  // K and V chunks (padded rows) stay within 48 KB of static shared memory.
  plan.chunkKeys = elementBits == 16 ? 64 : 32;
  return plan;
}

int64_t sattn::numQueryTiles(const KernelSchedule &schedule, int64_t seqQ,
                             int64_t seqK) {
  int64_t t = schedule.tileQ;
  if (!schedule.absoluteTiles)
    return ceilDiv(seqQ, t);
  int64_t off = seqK - seqQ;
  return floorDiv(off + seqQ - 1, t) - floorDiv(off, t) + 1;
}

/// Query blocks of a QueryBlocks grid: blocks of absolute positions, except
/// for tree_search, whose blocks follow local indices.
static int64_t numQueryBlocks(const SelectionStage &stage, int64_t seqQ,
                              int64_t seqK) {
  int64_t qb = stage.queryBlock;
  if (stage.kind == EnumeratorKind::TreeSearch)
    return ceilDiv(seqQ, qb);
  int64_t off = seqK - seqQ;
  return floorDiv(off + seqQ - 1, qb) - floorDiv(off, qb) + 1;
}

int64_t sattn::numStageItems(const SelectionStage &stage,
                             const KernelShape &shape, int64_t batch,
                             int64_t seqQ, int64_t seqK) {
  int64_t heads = batch * shape.heads;
  if (stage.grid == GridKind::QueryBlocks)
    return heads * numQueryBlocks(stage, seqQ, seqK);
  return heads;
}

WorkspaceLayout sattn::layoutWorkspace(const KernelSchedule &schedule,
                                       const PatternSpec &spec,
                                       const KernelShape &shape, int64_t batch,
                                       int64_t seqQ, int64_t seqK) {
  WorkspaceLayout layout;
  int64_t *sizes = layout.sizes;
  for (const SelectionStage &stage : schedule.stages)
    stageWorkspace(stage, spec, schedule, shape, batch, seqQ, seqK, layout);
  for (unsigned i = 0; i < kNumWorkspaceSlots; ++i) {
    bool isFloat = i == unsigned(WorkspaceSlot::RowThreshold) ||
                   i == unsigned(WorkspaceSlot::HeadFloats);
    int64_t &total = isFloat ? layout.floatElements : layout.intElements;
    layout.offsets[i] = total;
    total += sizes[i];
  }
  // The i32 part starts 16-byte aligned.
  layout.floatElements = (layout.floatElements + 3) / 4 * 4;
  return layout;
}
