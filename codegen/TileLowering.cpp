//===- TileLowering.cpp - Lowering sattn_tile tiles per layout ------------===//

#include "codegen/TileLowering.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::tile;

TileLayoutLowering::~TileLayoutLowering() = default;

Value mlir::sattn::inlineRegion(OpBuilder &b, Region &region, ValueRange args) {
  Block &block = region.front();
  IRMapping map;
  for (auto [arg, value] : llvm::zip(block.getArguments(), args))
    map.map(arg, value);
  for (Operation &op : block.without_terminator())
    b.clone(op, map);
  auto yield = cast<tile::YieldOp>(block.getTerminator());
  return yield.getValues().empty() ? Value()
                                   : map.lookupOrDefault(yield.getValues()[0]);
}

/// The tile a tile op works on (null for ops without one).
static Value tileOperand(Operation *op) {
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case<BeginOp>([](BeginOp b) { return b.getTile(); })
      .Case<ForChunksOp, RangeChunkOp, ListChunkOp, CopyOp, WaitOp, ReleaseOp,
            QKOp, QKWaitOp, MaskOp, ModifyOp, SoftmaxOp, RescaleOp, PVOp,
            PVWaitOp, StoreOp>([](auto t) { return t.getTile(); })
      // The end of a loop body that carries values.
      .Case<tile::YieldOp>([](tile::YieldOp y) {
        auto loop = dyn_cast<ForChunksOp>(y->getParentOp());
        return loop && !loop.getInits().empty() ? loop.getTile() : Value();
      })
      .Default([](Operation *) { return Value(); });
}

LogicalResult mlir::sattn::lowerTileOps(func::FuncOp fn, Layout layout,
                                        TileLoweringFactory make) {
  SmallVector<Operation *> ops;
  fn.walk<WalkOrder::PreOrder>([&](Operation *op) {
    Value t = tileOperand(op);
    if (t && cast<TileType>(t.getType()).getLayout().getValue() == layout)
      ops.push_back(op);
  });
  if (ops.empty())
    return success();
  OpBuilder builder(fn.getContext());
  DenseMap<Value, std::unique_ptr<KernelBuilder>> builders;
  DenseMap<Value, std::unique_ptr<TileLayoutLowering>> lowerings;
  DenseMap<Value, ChunkValues> chunks;
  DenseMap<Value, SmallVector<Value>> scores;
  Block &entry = fn.getBody().front();

  auto unsupported = [&](Operation *op) {
    return op->emitOpError("is not supported by the ")
           << stringifyLayout(layout) << " tile layout";
  };
  for (Operation *op : ops) {
    builder.setInsertionPoint(op);
    Location loc = op->getLoc();
    if (auto begin = dyn_cast<BeginOp>(op)) {
      TileType type = begin.getTile().getType();
      KernelShape shape;
      shape.headDim = type.getHeadDim();
      shape.scale = begin.getScale().convertToDouble();
      auto &kb = builders[begin.getTile()];
      kb = std::make_unique<KernelBuilder>(builder, fn, shape,
                                           type.getElement());
      builder.setInsertionPoint(op);
      auto &lowering = lowerings[begin.getTile()];
      lowering = make(*kb, type);
      TileValues values;
      values.batch = begin.getBatch();
      values.head = begin.getHead();
      values.kvHead = begin.getKvHead();
      values.firstRow = begin.getFirstRow();
      values.seqQ = begin.getSeqQ();
      values.seqK = begin.getSeqK();
      values.offset = kb->sub(values.seqK, values.seqQ);
      values.block = begin.getBlock();
      values.alignedKV = begin.getAlignedKv();
      lowering->begin(values, entry.findAncestorOpInBlock(*op));
      continue;
    }
    // The end of a carrying loop body, now in its scf.for.
    if (auto yield = dyn_cast<tile::YieldOp>(op)) {
      SmallVector<Value> next;
      for (Value v : yield.getValues())
        next.append(scores[v]);
      scf::YieldOp::create(builder, loc, next);
      continue;
    }
    Value t = tileOperand(op);
    auto found = lowerings.find(t);
    if (found == lowerings.end())
      return op->emitOpError("its tile does not come from a sattn_tile.begin");
    TileLayoutLowering &lowering = *found->second;
    KernelBuilder &kb = *builders[t];
    LogicalResult result =
        llvm::TypeSwitch<Operation *, LogicalResult>(op)
            .Case([&](ForChunksOp loop) {
              Value step = kb.idx(loop.getTile().getType().getChunk());
              // Carried scores travel as the layout's values, end to end.
              SmallVector<Value> inits;
              SmallVector<size_t> sizes;
              for (Value init : loop.getInits()) {
                inits.append(scores[init]);
                sizes.push_back(scores[init].size());
              }
              auto scfLoop = scf::ForOp::create(builder, loc, loop.getLo(),
                                                loop.getHi(), step, inits);
              builder.setInsertionPointToStart(scfLoop.getBody());
              Value iv = scfLoop.getInductionVar();
              Value count = kb.min(step, kb.sub(loop.getHi(), iv));
              Block &body = loop.getBody().front();
              body.getArgument(0).replaceAllUsesWith(iv);
              body.getArgument(1).replaceAllUsesWith(count);
              size_t at = 0;
              for (auto [i, size] : llvm::enumerate(sizes)) {
                ValueRange args = scfLoop.getRegionIterArgs();
                ValueRange results = scfLoop.getResults();
                scores[body.getArgument(2 + i)] =
                    SmallVector<Value>(args.slice(at, size));
                scores[loop.getResult(i)] =
                    SmallVector<Value>(results.slice(at, size));
                at += size;
              }
              auto &into = scfLoop.getBody()->getOperations();
              if (sizes.empty()) {
                into.splice(std::prev(into.end()), body.getOperations(),
                            body.begin(), std::prev(body.end()));
              } else {
                // The yield goes too: it becomes the scf.yield.
                into.splice(into.end(), body.getOperations());
              }
              return success();
            })
            .Case([&](tile::YieldOp yield) {
              SmallVector<Value> next;
              for (Value v : yield.getValues())
                next.append(scores[v]);
              scf::YieldOp::create(builder, loc, next);
              return success();
            })
            .Case([&](RangeChunkOp chunk) {
              chunks[chunk] =
                  lowering.rangeChunk(chunk.getStart(), chunk.getCount());
              return success();
            })
            .Case([&](ListChunkOp chunk) {
              chunks[chunk] =
                  lowering.listChunk(chunk.getCount(), [&](Value slot) {
                    return inlineRegion(builder, chunk.getKeys(), {slot});
                  });
              return success();
            })
            .Case([&](CopyOp copy) {
              lowering.copy(chunks.lookup(copy.getChunk()), copy.getOperand(),
                            copy.getPred(), copy.getSlot());
              return success();
            })
            .Case([&](WaitOp wait) {
              lowering.wait(wait.getPending());
              return success();
            })
            .Case([&](ReleaseOp) {
              lowering.release();
              return success();
            })
            .Case([&](QKOp qk) -> LogicalResult {
              if (!qk.getAsync() && !qk.getSlot()) {
                scores[qk.getScores()] = lowering.qk();
                return success();
              }
              if (!qk.getAsync())
                return unsupported(qk); // a slot: only the async form
              FailureOr<SmallVector<Value>> issued =
                  lowering.qkAsync(qk.getSlot());
              if (failed(issued))
                return unsupported(qk);
              scores[qk.getScores()] = *issued;
              return success();
            })
            .Case([&](QKWaitOp wait) {
              scores[wait.getScores()] =
                  lowering.qkWait(scores[wait.getPending()]);
              return success();
            })
            .Case([&](MaskOp mask) {
              scores[mask.getResult()] = lowering.mask(
                  chunks.lookup(mask.getChunk()), scores[mask.getScores()],
                  mask.getNeeds(), [&](const RowContext &row, Value j) {
                    return inlineRegion(builder, mask.getKeep(),
                                        {row.row, row.pos, row.queryBlock, j});
                  });
              return success();
            })
            .Case([&](ModifyOp modify) -> LogicalResult {
              FailureOr<SmallVector<Value>> modified = lowering.modify(
                  chunks.lookup(modify.getChunk()), scores[modify.getScores()],
                  [&](const RowContext &row, Value j, Value s) {
                    return inlineRegion(builder, modify.getModifier(),
                                        {row.row, row.pos, j, s});
                  });
              if (failed(modified))
                return modify.emitOpError("is not supported by the ")
                       << stringifyLayout(layout) << " tile layout yet";
              scores[modify.getResult()] = *modified;
              return success();
            })
            .Case([&](SoftmaxOp softmax) -> LogicalResult {
              ValueRange in = scores[softmax.getScores()];
              if (!softmax.getDeferRescale()) {
                scores[softmax.getProbabilities()] = lowering.softmax(in);
                return success();
              }
              FailureOr<SmallVector<Value>> p = lowering.softmaxDeferred(in);
              if (failed(p))
                return unsupported(softmax);
              scores[softmax.getProbabilities()] = *p;
              return success();
            })
            .Case([&](RescaleOp) {
              lowering.rescale();
              return success();
            })
            .Case([&](PVOp pv) -> LogicalResult {
              ValueRange p = scores[pv.getProbabilities()];
              if (!pv.getChunk() && !pv.getSlot() && !pv.getAsync()) {
                lowering.pv(p);
                return success();
              }
              ChunkValues of;
              if (pv.getChunk())
                of = chunks.lookup(pv.getChunk());
              if (failed(lowering.pvStaged(p, pv.getChunk() ? &of : nullptr,
                                           pv.getSlot(), pv.getAsync())))
                return unsupported(pv);
              return success();
            })
            .Case([&](PVWaitOp) {
              lowering.pvWait();
              return success();
            })
            .Case([&](StoreOp) {
              lowering.store();
              return success();
            })
            .Default([&](Operation *other) {
              return other->emitOpError("has no tile lowering");
            });
    if (failed(result))
      return failure();
  }
  // Users before definitions.
  for (Operation *op : llvm::reverse(ops))
    op->erase();
  return success();
}
