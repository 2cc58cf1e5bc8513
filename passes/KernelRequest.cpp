//===- KernelRequest.cpp - A sattn.kernel with its pattern and schedule ---===//

#include "passes/KernelRequest.h"

#include "patterns/PatternLoader.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::lowering;

FailureOr<KernelRequest> lowering::loadKernelRequest(KernelOp op,
                                                     bool withSchedule) {
  KernelRequest req;
  req.op = op;
  req.pattern = SymbolTable::lookupNearestSymbolFrom<PatternOp>(
      op, op.getPatternAttr());
  if (!req.pattern)
    return op.emitOpError("unknown pattern @") << op.getPattern();
  // Parameters still referenced resolve to their defaults.
  llvm::Expected<::sattn::PatternSpec> spec = ::sattn::importPattern(req.pattern);
  if (!spec)
    return op.emitOpError("cannot compile pattern @")
           << op.getPattern() << ": " << llvm::toString(spec.takeError());
  req.spec = std::move(*spec);
  for (Operation &prim : req.pattern.getBody().front())
    req.primitiveOps.push_back(&prim);
  req.shape.heads = op.getHeads();
  req.shape.kvHeads = op.getKvHeads();
  req.shape.headDim = op.getHeadDim();
  req.shape.scale =
      op.getScaleAttr() ? op.getScaleAttr().getValueAsDouble() : 0.0;
  req.elementType = op.getElementType();
  req.target = *parseTarget(op.getTarget());
  if (!withSchedule)
    return req;
  DictionaryAttr attr = op.getScheduleAttr();
  if (!attr)
    return op.emitOpError("has no schedule; run --sattn-build-schedule first");
  FailureOr<::sattn::KernelSchedule> schedule = decodeSchedule(attr, op);
  if (failed(schedule))
    return failure();
  req.schedule = std::move(*schedule);
  return req;
}

static StringRef gridName(::sattn::GridKind grid) {
  switch (grid) {
  case ::sattn::GridKind::Tiles:
    return "tiles";
  case ::sattn::GridKind::Heads:
    return "heads";
  case ::sattn::GridKind::QueryBlocks:
    return "query_blocks";
  }
  return "?";
}

static std::optional<::sattn::EnumeratorKind> parseEnumerator(StringRef name) {
  for (int k = 0; k <= int(::sattn::EnumeratorKind::Permute); ++k)
    if (::sattn::enumeratorName(::sattn::EnumeratorKind(k)) == name)
      return ::sattn::EnumeratorKind(k);
  return std::nullopt;
}

DictionaryAttr lowering::encodeSchedule(MLIRContext *ctx,
                                        const ::sattn::KernelSchedule &s) {
  Builder b(ctx);
  SmallVector<Attribute> enumerators, stages;
  for (const ::sattn::Enumerator &en : s.enumerators)
    enumerators.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("kind", b.getStringAttr(enumeratorName(en.kind))),
         b.getNamedAttr("primitive", b.getI64IntegerAttr(en.primitive))}));
  for (const ::sattn::SelectionStage &st : s.stages)
    stages.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("function", b.getStringAttr(st.function)),
         b.getNamedAttr("kind", b.getStringAttr(enumeratorName(st.kind))),
         b.getNamedAttr("primitive", b.getI64IntegerAttr(st.primitive)),
         b.getNamedAttr("grid", b.getStringAttr(gridName(st.grid))),
         b.getNamedAttr("query_block", b.getI64IntegerAttr(st.queryBlock)),
         b.getNamedAttr("threads", b.getI64IntegerAttr(st.threads))}));
  return b.getDictionaryAttr(
      {b.getNamedAttr("tile_q", b.getI64IntegerAttr(s.tileQ)),
       b.getNamedAttr("tile_k", b.getI64IntegerAttr(s.tileK)),
       b.getNamedAttr("tiles", b.getStringAttr(s.absoluteTiles ? "absolute"
                                                               : "local")),
       b.getNamedAttr("enumerators", b.getArrayAttr(enumerators)),
       b.getNamedAttr("stages", b.getArrayAttr(stages)),
       b.getNamedAttr("attention", b.getStringAttr(s.attentionFunction))});
}

FailureOr<::sattn::KernelSchedule>
lowering::decodeSchedule(DictionaryAttr attr, Operation *forErrors) {
  ::sattn::KernelSchedule s;
  auto bad = [&](StringRef what) {
    return forErrors->emitOpError("malformed schedule: ") << what;
  };
  auto intField = [&](DictionaryAttr d, StringRef name) -> std::optional<int64_t> {
    if (auto v = d.getAs<IntegerAttr>(name))
      return v.getInt();
    return std::nullopt;
  };
  auto tq = intField(attr, "tile_q"), tk = intField(attr, "tile_k");
  auto tiles = attr.getAs<StringAttr>("tiles");
  auto ens = attr.getAs<ArrayAttr>("enumerators");
  auto stages = attr.getAs<ArrayAttr>("stages");
  auto attention = attr.getAs<StringAttr>("attention");
  if (!tq || !tk || *tq < 1 || *tk < 1 || !tiles || !ens || !stages ||
      !attention)
    return bad("needs tile_q, tile_k >= 1, tiles, enumerators, stages and "
               "attention");
  s.tileQ = *tq;
  s.tileK = *tk;
  s.absoluteTiles = tiles.getValue() == "absolute";
  s.attentionFunction = attention.getValue().str();
  for (Attribute a : ens) {
    auto d = dyn_cast<DictionaryAttr>(a);
    auto kind = d ? d.getAs<StringAttr>("kind") : StringAttr();
    auto prim = d ? intField(d, "primitive") : std::nullopt;
    std::optional<::sattn::EnumeratorKind> k =
        kind ? parseEnumerator(kind.getValue()) : std::nullopt;
    if (!k || !prim)
      return bad("enumerator needs a known kind and a primitive index");
    s.enumerators.push_back({*k, int(*prim)});
  }
  for (Attribute a : stages) {
    auto d = dyn_cast<DictionaryAttr>(a);
    if (!d)
      return bad("stage must be a dictionary");
    ::sattn::SelectionStage st;
    auto fn = d.getAs<StringAttr>("function");
    auto kind = d.getAs<StringAttr>("kind");
    auto grid = d.getAs<StringAttr>("grid");
    auto prim = intField(d, "primitive"), qb = intField(d, "query_block"),
         threads = intField(d, "threads");
    std::optional<::sattn::EnumeratorKind> k =
        kind ? parseEnumerator(kind.getValue()) : std::nullopt;
    if (!fn || !k || !grid || !prim || !qb || !threads || *threads < 1)
      return bad("stage needs function, kind, primitive, grid, query_block "
                 "and threads");
    st.function = fn.getValue().str();
    st.kind = *k;
    st.primitive = int(*prim);
    st.queryBlock = *qb;
    st.threads = *threads;
    st.grid = grid.getValue() == "query_blocks" ? ::sattn::GridKind::QueryBlocks
              : grid.getValue() == "tiles"      ? ::sattn::GridKind::Tiles
                                                : ::sattn::GridKind::Heads;
    s.stages.push_back(st);
  }
  return s;
}

Operation *lowering::kernelContainer(ModuleOp module, Target target) {
  if (target == Target::Cpu)
    return module;
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>("sattn_kernels"))
    return existing;
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(module.getContext()));
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  return gpu::GPUModuleOp::create(b, module.getLoc(), "sattn_kernels");
}

LogicalResult lowering::forEachScheduledKernel(
    ModuleOp module,
    function_ref<LogicalResult(KernelRequest &, Operation *)> emit) {
  SmallVector<KernelOp> ops;
  module.walk([&](KernelOp op) { ops.push_back(op); });
  for (KernelOp op : ops) {
    FailureOr<KernelRequest> req = loadKernelRequest(op, true);
    if (failed(req) || failed(emit(*req, kernelContainer(module, req->target))))
      return failure();
  }
  return success();
}
