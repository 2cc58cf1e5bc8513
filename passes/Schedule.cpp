//===- Schedule.cpp - Tiles, sources and stages of a kernel request -------===//

#include "passes/Schedule.h"

#include "passes/PrimitiveInterfaces.h"
#include "passes/RunTimeInputs.h"

#include "llvm/Support/MathExtras.h"

#include <numeric>

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::SizeExpr;

/// The largest power of two <= cap that divides n.
static int64_t pow2Divisor(int64_t n, int64_t cap) {
  int64_t t = 1;
  while (t * 2 <= cap && n % (t * 2) == 0)
    t *= 2;
  return t;
}

static InFlightDiagnostic unsupported(const KernelRequest &req) {
  InFlightDiagnostic diag = req.op.emitOpError();
  diag << "pattern '" << req.pattern.getSymName()
       << "': not supported by the compiler yet: ";
  return diag;
}

FailureOr<ScheduleAttr> mlir::sattn::buildSchedule(const KernelRequest &req) {
  MLIRContext *ctx = req.op.getContext();
  int64_t align = 0;      // gcd of the absolute blocks tiles must respect
  int64_t localBlock = 0; // a block of local rows tiles must respect
  SmallVector<int64_t> sources, dynamic;
  for (auto [index, op] : llvm::enumerate(req.primitives)) {
    auto prim = dyn_cast<KeySourcePrimitive>(op);
    if (!prim)
      return op->emitOpError("has no lowering (KeySourcePrimitive)");
    TileConstraint c = prim.getTileConstraint(req);
    if (c.local)
      localBlock = c.block;
    else if (c.block > 0)
      align = std::gcd(align, c.block);
    (isa<SelectionPrimitive>(op) ? dynamic : sources).push_back(index);
  }
  if (dynamic.size() > 1)
    return unsupported(req) << "more than one dynamic primitive (stripes, "
                               "tree_search, topk, permute) in one pattern";
  BlockOrigin tiles = BlockOrigin::absolute;
  int64_t tileQ = align == 0 ? 64 : pow2Divisor(align, 64);
  if (localBlock > 0) {
    if (align != 0)
      return unsupported(req) << "tree_search together with block-level "
                                 "primitives (its query blocks follow local "
                                 "indices)";
    tiles = BlockOrigin::local;
    tileQ = pow2Divisor(localBlock, 64);
  }
  // Dynamic sources come last: their lists are filtered against the static
  // primitives' closed forms, never the other way round.
  SmallVector<StageAttr> stages;
  for (int64_t index : dynamic) {
    sources.push_back(index);
    Operation *op = req.primitives[index];
    std::string function = ("sattn_select_" + op->getName().stripDialect() +
                            "_" + llvm::Twine(index))
                               .str();
    cast<SelectionPrimitive>(op).planStages(req, function, index, stages);
  }
  int64_t chunk = req.shape.headDim <= 64 ? 64 : 32;
  return ScheduleAttr::getChecked(
      [&] { return req.op.emitOpError("invalid schedule: "); }, ctx, tileQ,
      chunk, tiles, ArrayRef<int64_t>(sources), ArrayRef<StageAttr>(stages),
      StringRef("sattn_attention"));
}

SizeExpr mlir::sattn::numQueryBlocks(int64_t block, BlockOrigin origin) {
  SizeExpr sq = SizeExpr::seqQ(), sk = SizeExpr::seqK();
  if (origin == BlockOrigin::local)
    return ceilDiv(sq, block);
  // Blocks holding positions p in [Sk - Sq, Sk - 1].
  return floorDiv(sk - 1, block) - floorDiv(sk - sq, block) + 1;
}

SizeExpr mlir::sattn::attentionItems(const KernelRequest &req) {
  ScheduleAttr s = req.schedule;
  return SizeExpr::batch() * req.shape.heads *
         numQueryBlocks(s.getTileQ(), s.getTiles());
}

SizeExpr mlir::sattn::stageItems(const KernelRequest &req, StageAttr stage) {
  SizeExpr heads = SizeExpr::batch() * req.shape.heads;
  if (stage.getGrid() == GridKind::query_blocks)
    return heads * numQueryBlocks(stage.getQueryBlock(), stage.getBlocks()) *
           stage.getSplit();
  return heads * stage.getSplit();
}

AttentionKernelPlan mlir::sattn::planAttentionKernel(const KernelRequest &req,
                                                     bool warpgroupMma) {
  AttentionKernelPlan plan;
  int64_t tileQ = req.schedule.getTileQ();
  plan.threads = tileQ;
  plan.chunkKeys = req.schedule.getChunk();
  const int64_t d = req.shape.headDim;
  // Warps own 16 rows each; the products step over 16 head dimensions; a
  // thread's accumulators (d / 2 floats), query fragments (d / 4 words, d / 2
  // floats for f32) and scores (chunkKeys / 2 floats) must fit in its 255
  // registers, which holds up to d = 128.
  if (!req.isGpu() || tileQ % 16 != 0 || d % 16 != 0 || d > 128)
    return plan;
  plan.tensorCores = true;
  plan.threads = tileQ / 16 * 32;
  // K and V chunks (padded rows) stay within 48 KB of static shared memory.
  plan.chunkKeys = req.elementType.getIntOrFloatBitWidth() == 16 ? 64 : 32;
  // Four warps of 16 rows make one warpgroup of 64; the head dim is whole
  // 128-byte swizzle panels and at most 128 accumulator columns.
  plan.warpgroupMma = warpgroupMma && plan.chunkKeys == 64 &&
                      tileQ % 64 == 0 && (d == 64 || d == 128);
  return plan;
}

FailureOr<::sattn::KernelInfo>
mlir::sattn::describeKernel(const KernelRequest &req) {
  ::sattn::KernelInfo info;
  info.pattern = req.pattern.getSymName().str();
  llvm::raw_string_ostream(info.elementType) << req.elementType;
  info.heads = req.shape.heads;
  info.kvHeads = req.shape.kvHeads;
  info.headDim = req.shape.headDim;
  info.scale = req.shape.effectiveScale();
  WorkspaceSizes slots;
  for (StageAttr stage : req.schedule.getStages()) {
    Operation *op = req.primitives[stage.getPrimitive()];
    auto selection = cast<SelectionPrimitive>(op);
    ::sattn::KernelFunction f;
    f.name = f.entry = stage.getFunction().str();
    f.items = stageItems(req, stage);
    f.threads = stage.getThreads();
    info.stages.push_back(f);
    selection.addWorkspace(req, stage, slots);
    RequiredInputs inputs = selection.getRequiredInputs(req);
    info.readsKeyScores |= inputs.keyScores;
    info.readsWeights |= inputs.weights;
  }
  info.inputs = describeInputs(req);
  for (const ::sattn::KernelInput &input : info.inputs)
    slots[unsigned(::sattn::WorkspaceSlot::Inputs)] += input.elements();
  std::copy(slots.begin(), slots.end(), info.workspace.begin());
  info.attention.name = info.attention.entry =
      req.schedule.getAttention().str();
  info.attention.items = attentionItems(req);
  AttentionKernelPlan plan = planAttentionKernel(req);
  info.attention.threads = plan.threads;
  // Only the tensor-core tile copies rows with 16-byte copies.
  if (req.alignedKV && plan.tensorCores)
    info.kvRowAlignment = 16;
  return info;
}
