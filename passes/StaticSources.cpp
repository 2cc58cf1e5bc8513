//===- StaticSources.cpp - Closed-form key sources of static primitives ---===//
//
// Each static primitive walks its key blocks for a tile with index
// arithmetic only (no mask memory) and answers membership per key in closed
// form (docs/patterns.md, "Static primitives").
//
//===----------------------------------------------------------------------===//

#include "passes/AttentionEmitter.h"

#include "dialect/SattnDialect.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::sattn::lowering;
namespace spec = ::sattn;
namespace ir = mlir::sattn;

Value mlir::sattn::lowering::fractionWindow(KernelBuilder &kb, double fraction,
                                            int64_t block, Value seqK) {
  OpBuilder &b = kb.b();
  Location loc = kb.loc();
  Type f64 = b.getF64Type();
  Value sk = arith::SIToFPOp::create(b, loc, f64, kb.toI64(seqK));
  Value x = arith::MulFOp::create(
      b, loc, sk, arith::ConstantOp::create(b, loc, b.getF64FloatAttr(fraction)));
  x = arith::AddFOp::create(
      b, loc, x, arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0.5)));
  // x >= 0, so truncation is the floor (and needs no libm/libdevice call).
  Value w = kb.toIndex(arith::FPToSIOp::create(b, loc, b.getI64Type(), x));
  return kb.max(kb.idx(block), w);
}

Value mlir::sattn::lowering::windowCoversRange(KernelBuilder &kb,
                                               const TileContext &tile,
                                               Value width, Value start,
                                               Value end) {
  // In (p - w, p] for every row p in [firstPos, lastPos].
  Value afterLast = kb.gt(start, kb.sub(tile.lastPos, width));
  return kb.andI(afterLast, kb.le(kb.sub(end, kb.idx(1)), tile.firstPos));
}

namespace {

/// For sources made of whole key blocks, kept or not as a whole for the
/// tile: whether [start, end), spanning at most two key blocks, misses both.
Value blocksMissRange(AttentionEmitter &em, Value start, Value end,
                      function_ref<Value(Value)> keptBlock) {
  KernelBuilder &kb = em.builder();
  Value first = kb.floorDiv(start, em.patternBlock());
  Value last = kb.floorDiv(kb.sub(end, kb.idx(1)), em.patternBlock());
  Value twoAtMost = kb.le(kb.sub(last, first), kb.idx(1));
  Value neither = kb.andI(kb.notI(keptBlock(first)), kb.notI(keptBlock(last)));
  return kb.andI(twoAtMost, neither);
}

/// Key block kb as the range [kb B, (kb + 1) B).
void visitBlock(AttentionEmitter &em, const TileContext &tile, unsigned self,
                Value kbValue) {
  KernelBuilder &kb = em.builder();
  Value start = kb.mul(kbValue, em.patternBlock());
  em.visitRange(tile, self, start, kb.add(start, em.patternBlock()));
}

/// Visits block kb unless it is negative or an earlier source covers it.
void visitBlockIfNew(AttentionEmitter &em, const TileContext &tile,
                     unsigned self, Value kbValue) {
  KernelBuilder &kb = em.builder();
  Value ok = kb.andI(kb.ge(kbValue, kb.idx(0)),
                     kb.notI(em.coveredBefore(tile, self, kbValue)));
  kb.ifThen(ok, [&] { visitBlock(em, tile, self, kbValue); });
}

class SinkSource : public KeySource {
public:
  explicit SinkSource(int64_t n) : n(n) {}
  void enumerate(AttentionEmitter &em, const TileContext &tile,
                 unsigned self) override {
    em.visitRange(tile, self, em.builder().idx(0), em.builder().idx(n));
  }
  Value contains(AttentionEmitter &em, const TileContext &, const RowContext &,
                 Value j) override {
    return em.builder().lt(j, em.builder().idx(n));
  }
  bool visitsOnlyMembers() const override { return true; }
  Value coversBlock(AttentionEmitter &em, const TileContext &,
                    Value kbValue) override {
    KernelBuilder &kb = em.builder();
    return kb.le(kb.mul(kb.add(kbValue, kb.idx(1)), em.patternBlock()),
                 kb.idx(n));
  }
  Value missesRange(AttentionEmitter &em, const TileContext &, Value start,
                    Value) override {
    return em.builder().ge(start, em.builder().idx(n));
  }

private:
  int64_t n;
};

/// Token windows: a fixed width, or a fraction of Sk.
class TokenWindowSource : public KeySource {
public:
  TokenWindowSource(int64_t width, double fraction, bool isFraction)
      : width(width), fraction(fraction), isFraction(isFraction) {}
  Value widthValue(AttentionEmitter &em, const TileContext &tile) {
    KernelBuilder &kb = em.builder();
    return isFraction ? fractionWindow(kb, fraction, em.spec().block, tile.seqK)
                      : kb.idx(width);
  }
  void enumerate(AttentionEmitter &em, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = em.builder();
    Value w = widthValue(em, tile);
    Value start = kb.add(kb.sub(tile.firstPos, w), kb.idx(1));
    Value end = kb.min(kb.add(tile.lastPos, kb.idx(1)), tile.seqK);
    em.visitRange(tile, self, start, end);
  }
  Value contains(AttentionEmitter &em, const TileContext &tile,
                 const RowContext &row, Value j) override {
    return inTokenWindow(em.builder(), row.pos, j, widthValue(em, tile));
  }
  Value coversRange(AttentionEmitter &em, const TileContext &tile, Value start,
                    Value end) override {
    return windowCoversRange(em.builder(), tile, widthValue(em, tile), start,
                             end);
  }
  Value missesRange(AttentionEmitter &em, const TileContext &tile, Value start,
                    Value end) override {
    KernelBuilder &kb = em.builder();
    Value w = widthValue(em, tile);
    // Every key before the first row's window, or after the last row.
    Value before = kb.le(kb.sub(end, kb.idx(1)), kb.sub(tile.firstPos, w));
    return kb.orI(before, kb.gt(start, tile.lastPos));
  }

private:
  int64_t width;
  double fraction;
  bool isFraction;
};

/// Sources made of whole key blocks of the pattern's block size, in
/// relation to the query block: kept(qb, kb).
class BlockSource : public KeySource {
public:
  Value contains(AttentionEmitter &em, const TileContext &tile,
                 const RowContext &row, Value j) override {
    KernelBuilder &kb = em.builder();
    return keeps(em, tile, row.queryBlock, kb.floorDiv(j, em.patternBlock()));
  }
  bool visitsOnlyMembers() const override { return true; }
  Value coversBlock(AttentionEmitter &em, const TileContext &tile,
                    Value kbValue) override {
    return keeps(em, tile, tile.queryBlock, kbValue);
  }
  Value missesRange(AttentionEmitter &em, const TileContext &tile, Value start,
                    Value end) override {
    return blocksMissRange(em, start, end, [&](Value kbValue) {
      return keeps(em, tile, tile.queryBlock, kbValue);
    });
  }
  virtual Value keeps(AttentionEmitter &em, const TileContext &tile, Value qb,
                      Value kbValue) = 0;
};

class BlockWindowSource : public BlockSource {
public:
  explicit BlockWindowSource(int64_t blocks) : blocks(blocks) {}
  void enumerate(AttentionEmitter &em, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = em.builder();
    Value first = kb.add(kb.sub(tile.queryBlock, kb.idx(blocks)), kb.idx(1));
    kb.forRange(kb.max(first, kb.idx(0)), kb.add(tile.queryBlock, kb.idx(1)),
                [&](Value kbValue) {
                  visitBlockIfNew(em, tile, self, kbValue);
                });
  }
  Value keeps(AttentionEmitter &em, const TileContext &, Value qb,
              Value kbValue) override {
    KernelBuilder &kb = em.builder();
    Value dist = kb.sub(qb, kbValue);
    return kb.andI(kb.ge(dist, kb.idx(0)), kb.lt(dist, kb.idx(blocks)));
  }

private:
  int64_t blocks;
};

class Pow2StridesSource : public BlockSource {
public:
  void enumerate(AttentionEmitter &em, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = em.builder();
    // Distances d = 1, 2, 4, ... while d <= qb.
    kb.whileLoop(
        {kb.idx(1)}, [&](ValueRange d) { return kb.le(d[0], tile.queryBlock); },
        [&](ValueRange d) {
          visitBlockIfNew(em, tile, self, kb.sub(tile.queryBlock, d[0]));
          return SmallVector<Value>{kb.add(d[0], d[0])};
        });
  }
  Value keeps(AttentionEmitter &em, const TileContext &, Value qb,
              Value kbValue) override {
    KernelBuilder &kb = em.builder();
    Value d = kb.sub(qb, kbValue);
    Value pow2 = kb.eq(arith::AndIOp::create(kb.b(), kb.loc(), d,
                                             kb.sub(d, kb.idx(1))),
                       kb.idx(0));
    return kb.andI(kb.ge(d, kb.idx(1)), pow2);
  }
};

class EveryStridesSource : public BlockSource {
public:
  explicit EveryStridesSource(int64_t every) : every(every) {}
  void enumerate(AttentionEmitter &em, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = em.builder();
    Value count = kb.floorDiv(kb.max(tile.queryBlock, kb.idx(0)), kb.idx(every));
    kb.forRange(kb.idx(1), kb.add(count, kb.idx(1)), [&](Value t) {
      visitBlockIfNew(em, tile, self,
                      kb.sub(tile.queryBlock, kb.mul(t, kb.idx(every))));
    });
  }
  Value keeps(AttentionEmitter &em, const TileContext &, Value qb,
              Value kbValue) override {
    KernelBuilder &kb = em.builder();
    Value d = kb.sub(qb, kbValue);
    return kb.andI(kb.ge(d, kb.idx(1)),
                   kb.eq(kb.floorMod(d, kb.idx(every)), kb.idx(0)));
  }

private:
  int64_t every;
};

/// Fixed block distances (strides list, diagonals) or fixed columns.
class ListedBlocksSource : public BlockSource {
public:
  ListedBlocksSource(std::vector<int64_t> values, bool columns)
      : values(std::move(values)), columns(columns) {}
  void enumerate(AttentionEmitter &em, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = em.builder();
    for (int64_t v : values) {
      Value kbValue =
          columns ? kb.idx(v) : kb.sub(tile.queryBlock, kb.idx(v));
      visitBlockIfNew(em, tile, self, kbValue);
    }
  }
  Value keeps(AttentionEmitter &em, const TileContext &, Value qb,
              Value kbValue) override {
    KernelBuilder &kb = em.builder();
    Value key = columns ? kbValue : kb.sub(qb, kbValue);
    Value any = kb.boolean(false);
    for (int64_t v : values)
      any = kb.orI(any, kb.eq(key, kb.idx(v)));
    return any;
  }

private:
  std::vector<int64_t> values;
  bool columns;
};

/// `keep where`: the predicate's region is re-emitted with arithmetic that
/// cannot trap (division by zero is 0, out-of-range shifts are defined), as
/// the spec's evaluator does.
class KeepSource : public KeySource {
public:
  KeepSource(ir::KeepOp op, bool blockLevel) : op(op), blockLevel(blockLevel) {}

  Value predicate(AttentionEmitter &em, const TileContext &tile, Value q,
                  Value k, Value qb, Value kbValue) {
    KernelBuilder &kb = em.builder();
    Block &body = op.getPredicate().front();
    IRMapping map;
    Value args[8] = {q,        k,         qb,        kbValue,
                     tile.head, em.patternBlock(), tile.seqQ, tile.seqK};
    for (unsigned a = 0; a < 8; ++a)
      map.map(body.getArgument(a), kb.toI64(args[a]));
    for (Operation &inner : body) {
      if (auto yield = dyn_cast<ir::YieldOp>(inner))
        return map.lookup(yield->getOperand(0));
      Value result = emitSafe(kb, inner, map);
      map.map(inner.getResult(0), result);
    }
    return kb.boolean(false);
  }

  static Value emitSafe(KernelBuilder &kb, Operation &inner, IRMapping &map) {
    OpBuilder &b = kb.b();
    Location loc = kb.loc();
    auto operand = [&](unsigned i) { return map.lookup(inner.getOperand(i)); };
    auto c64 = [&](int64_t v) { return kb.i64(v); };
    auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
      return arith::CmpIOp::create(b, loc, p, x, y).getResult();
    };
    using P = arith::CmpIPredicate;
    if (isa<arith::FloorDivSIOp, arith::DivSIOp, arith::RemSIOp>(inner)) {
      Value a = operand(0);
      Value d = operand(1);
      Value zero = cmp(P::eq, d, c64(0));
      Value minus = cmp(P::eq, d, c64(-1));
      Value safe = arith::SelectOp::create(
          b, loc, arith::OrIOp::create(b, loc, zero, minus), c64(1), d);
      Value r;
      if (isa<arith::RemSIOp>(inner))
        return arith::SelectOp::create(
            b, loc, arith::OrIOp::create(b, loc, zero, minus), c64(0),
            arith::RemSIOp::create(b, loc, a, safe));
      r = isa<arith::FloorDivSIOp>(inner)
              ? Value(arith::FloorDivSIOp::create(b, loc, a, safe))
              : Value(arith::DivSIOp::create(b, loc, a, safe));
      r = arith::SelectOp::create(
          b, loc, minus, arith::SubIOp::create(b, loc, c64(0), a), r);
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
    if (isa<ir::IsPow2Op>(inner)) {
      Value x = operand(0);
      Value pos = cmp(P::sge, x, c64(1));
      Value low = arith::AndIOp::create(
          b, loc, x, arith::SubIOp::create(b, loc, x, c64(1)));
      return arith::AndIOp::create(b, loc, pos, cmp(P::eq, low, c64(0)));
    }
    return b.clone(inner, map)->getResult(0);
  }

  void enumerate(AttentionEmitter &em, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = em.builder();
    Value nkb = kb.ceilDiv(tile.keyEnd, em.patternBlock());
    kb.forRange(kb.idx(0), nkb, [&](Value kbValue) {
      if (!blockLevel) {
        visitBlock(em, tile, self, kbValue);
        return;
      }
      Value start = kb.mul(kbValue, em.patternBlock());
      Value keep = predicate(em, tile, tile.firstPos, start, tile.queryBlock,
                             kbValue);
      kb.ifThen(kb.andI(keep, kb.notI(em.coveredBefore(tile, self, kbValue))),
                [&] { visitBlock(em, tile, self, kbValue); });
    });
  }
  Value contains(AttentionEmitter &em, const TileContext &tile,
                 const RowContext &row, Value j) override {
    KernelBuilder &kb = em.builder();
    return predicate(em, tile, row.pos, j, row.queryBlock,
                     kb.floorDiv(j, em.patternBlock()));
  }
  bool visitsOnlyMembers() const override { return blockLevel; }
  Value coversBlock(AttentionEmitter &em, const TileContext &tile,
                    Value kbValue) override {
    if (!blockLevel)
      return Value();
    KernelBuilder &kb = em.builder();
    return predicate(em, tile, tile.firstPos,
                     kb.mul(kbValue, em.patternBlock()), tile.queryBlock,
                     kbValue);
  }
  Value missesRange(AttentionEmitter &em, const TileContext &tile, Value start,
                    Value end) override {
    if (!blockLevel)
      return Value();
    return blocksMissRange(em, start, end, [&](Value kbValue) {
      return coversBlock(em, tile, kbValue);
    });
  }

private:
  ir::KeepOp op;
  bool blockLevel;
};

} // namespace

std::unique_ptr<KeySource> mlir::sattn::lowering::makeSinkSource(int64_t n) {
  return std::make_unique<SinkSource>(n);
}

std::unique_ptr<KeySource>
mlir::sattn::lowering::makeTokenWindowSource(int64_t w) {
  return std::make_unique<TokenWindowSource>(w, 0.0, /*isFraction=*/false);
}

std::unique_ptr<KeySource>
mlir::sattn::lowering::makeStaticSource(const spec::PatternSpec &s,
                                        const spec::Enumerator &en,
                                        Operation *primitiveOp) {
  const spec::Primitive &p = s.primitives[en.primitive];
  using K = spec::EnumeratorKind;
  switch (en.kind) {
  case K::Sink:
    return std::make_unique<SinkSource>(std::get<spec::SinkPrim>(p).tokens);
  case K::WindowTokens:
  case K::WindowFraction: {
    const auto &w = std::get<spec::WindowPrim>(p);
    return std::make_unique<TokenWindowSource>(w.size, w.fraction,
                                               en.kind == K::WindowFraction);
  }
  case K::WindowBlocks:
    return std::make_unique<BlockWindowSource>(
        std::get<spec::WindowPrim>(p).size);
  case K::StridesPow2:
    return std::make_unique<Pow2StridesSource>();
  case K::StridesEvery:
    return std::make_unique<EveryStridesSource>(
        std::get<spec::StridesPrim>(p).every);
  case K::StridesList:
    return std::make_unique<ListedBlocksSource>(
        std::get<spec::StridesPrim>(p).list, /*columns=*/false);
  case K::Columns:
    return std::make_unique<ListedBlocksSource>(
        std::get<spec::ColumnsPrim>(p).blocks, /*columns=*/true);
  case K::Diagonals:
    return std::make_unique<ListedBlocksSource>(
        std::get<spec::DiagonalsPrim>(p).offsets, /*columns=*/false);
  case K::Keep:
  case K::KeepTokens:
    return std::make_unique<KeepSource>(cast<ir::KeepOp>(primitiveOp),
                                        en.kind == K::Keep);
  default:
    break;
  }
  llvm_unreachable("not a static enumerator");
}
