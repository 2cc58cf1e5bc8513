//===- Keep.cpp - Lowering of keep where ----------------------------------===//
//
// `keep where EXPR` (docs/patterns.md): the predicate's region is re-emitted
// with arithmetic that cannot trap (division by zero is 0, out-of-range
// shifts are defined), as the spec's evaluator does. A block-level predicate
// (it reads only qb, kb, h) is a scan of key blocks; an element-level one a
// scan of the causal key blocks with a per-element test.
//
//===----------------------------------------------------------------------===//

#include "passes/PrimitiveInterfaces.h"
#include "passes/RunTimeInputs.h"
#include "passes/primitives/BlockSources.h"
#include "passes/primitives/Models.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::sattn;

namespace {
class KeepSource : public KeySource {
public:
  KeepSource(KeepOp op, bool blockLevel) : op(op), blockLevel(blockLevel) {}

  Value predicate(KeySourceContext &cx, const TileContext &tile, Value q,
                  Value k, Value qb, Value kbValue) {
    KernelBuilder &kb = cx.builder();
    Block &body = op.getPredicate().front();
    IRMapping map;
    Value args[8] = {
        q, k, qb, kbValue, tile.head, cx.patternBlock(), tile.seqQ, tile.seqK};
    for (unsigned a = 0; a < 8; ++a)
      map.map(body.getArgument(a), kb.toI64(args[a]));
    for (Operation &inner : body) {
      if (auto yield = dyn_cast<YieldOp>(inner))
        return map.lookup(yield->getOperand(0));
      Value result;
      if (isa<BatchIndexOp>(inner))
        result = kb.toI64(tile.batch);
      else if (auto read = dyn_cast<ReadInputOp>(inner))
        result =
            readInput(kb, cx.request(), read, {tile.batch, tile.head, q, k});
      else
        result = emitSafe(kb, cx.request(), inner, map);
      map.map(inner.getResult(0), result);
    }
    return kb.boolean(false);
  }

  static Value emitSafe(KernelBuilder &kb, const KernelRequest &req,
                        Operation &inner, IRMapping &map) {
    OpBuilder &b = kb.b();
    Location loc = kb.loc();
    auto operand = [&](unsigned i) { return map.lookup(inner.getOperand(i)); };
    auto c64 = [&](int64_t v) { return kb.i64(v); };
    auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
      return arith::CmpIOp::create(b, loc, p, x, y).getResult();
    };
    using P = arith::CmpIPredicate;
    if (auto param = dyn_cast<ParamOp>(inner))
      return c64(*req.pattern.resolveInt(
          ParamAttr::get(b.getContext(), param.getName())));
    if (isa<arith::FloorDivSIOp, arith::DivSIOp, arith::RemSIOp>(inner)) {
      Value a = operand(0);
      Value d = operand(1);
      Value zero = cmp(P::eq, d, c64(0));
      Value minus = cmp(P::eq, d, c64(-1));
      Value safe = arith::SelectOp::create(
          b, loc, arith::OrIOp::create(b, loc, zero, minus), c64(1), d);
      if (isa<arith::RemSIOp>(inner))
        return arith::SelectOp::create(
            b, loc, arith::OrIOp::create(b, loc, zero, minus), c64(0),
            arith::RemSIOp::create(b, loc, a, safe));
      Value r = isa<arith::FloorDivSIOp>(inner)
                    ? Value(arith::FloorDivSIOp::create(b, loc, a, safe))
                    : Value(arith::DivSIOp::create(b, loc, a, safe));
      r = arith::SelectOp::create(b, loc, minus,
                                  arith::SubIOp::create(b, loc, c64(0), a), r);
      return arith::SelectOp::create(b, loc, zero, c64(0), r);
    }
    if (isa<arith::ShLIOp, arith::ShRSIOp>(inner)) {
      Value a = operand(0);
      Value s = operand(1);
      Value neg = cmp(P::slt, s, c64(0));
      Value big = cmp(P::sge, s, c64(64));
      Value bad = arith::OrIOp::create(b, loc, neg, big);
      Value safe = arith::SelectOp::create(b, loc, bad, c64(0), s);
      if (isa<arith::ShLIOp>(inner))
        return arith::SelectOp::create(b, loc, bad, c64(0),
                                       arith::ShLIOp::create(b, loc, a, safe));
      Value r = arith::ShRSIOp::create(b, loc, a, safe);
      Value sign = arith::SelectOp::create(b, loc, cmp(P::slt, a, c64(0)),
                                           c64(-1), c64(0));
      r = arith::SelectOp::create(b, loc, big, sign, r);
      return arith::SelectOp::create(b, loc, neg, c64(0), r);
    }
    if (isa<IsPow2Op>(inner)) {
      Value x = operand(0);
      Value pos = cmp(P::sge, x, c64(1));
      Value low = arith::AndIOp::create(
          b, loc, x, arith::SubIOp::create(b, loc, x, c64(1)));
      return arith::AndIOp::create(b, loc, pos, cmp(P::eq, low, c64(0)));
    }
    return b.clone(inner, map)->getResult(0);
  }

  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    Value nkb = kb.ceilDiv(tile.keyEnd, cx.patternBlock());
    kb.forRange(kb.idx(0), nkb, [&](Value kbValue) {
      if (!blockLevel) {
        visitBlock(cx, tile, self, kbValue);
        return;
      }
      Value start = kb.mul(kbValue, cx.patternBlock());
      Value keep =
          predicate(cx, tile, tile.firstPos, start, tile.queryBlock, kbValue);
      kb.ifThen(kb.andI(keep, kb.notI(cx.coveredBefore(tile, self, kbValue))),
                [&] { visitBlock(cx, tile, self, kbValue); });
    });
  }
  Value contains(KeySourceContext &cx, const TileContext &tile,
                 const RowContext &row, Value j) override {
    KernelBuilder &kb = cx.builder();
    return predicate(cx, tile, row.pos, j, row.queryBlock,
                     kb.floorDiv(j, cx.patternBlock()));
  }
  bool visitsOnlyMembers() const override { return blockLevel; }
  Value coversBlock(KeySourceContext &cx, const TileContext &tile,
                    Value kbValue) override {
    if (!blockLevel)
      return Value();
    KernelBuilder &kb = cx.builder();
    return predicate(cx, tile, tile.firstPos,
                     kb.mul(kbValue, cx.patternBlock()), tile.queryBlock,
                     kbValue);
  }
  Value missesRange(KeySourceContext &cx, const TileContext &tile, Value start,
                    Value end) override {
    if (!blockLevel)
      return Value();
    return blocksMissRange(cx, start, end, [&](Value kbValue) {
      return coversBlock(cx, tile, kbValue);
    });
  }

private:
  KeepOp op;
  bool blockLevel;
};

struct KeepModel : KeySourcePrimitive::ExternalModel<KeepModel, KeepOp> {
  TileConstraint getTileConstraint(Operation *,
                                   const KernelRequest &req) const {
    return {req.block, false};
  }
  void appendKeySources(Operation *op, const KernelRequest &,
                        KeySourceList &sources) const {
    auto keep = cast<KeepOp>(op);
    sources.push_back(std::make_unique<KeepSource>(keep, keep.isBlockLevel()));
  }
};
} // namespace

void mlir::sattn::registerKeepModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    KeepOp::attachInterface<KeepModel>(*ctx);
  });
}
