//===- SattnCanonicalize.cpp - Folds of pattern primitives ----------------===//
//
// Each fold rewrites a pattern into one with the same A(i) for every query,
// every shape and every parameter binding. Primitives whose values are
// parameter references are left alone: their values are not known yet.
//
//===----------------------------------------------------------------------===//

#include "dialect/SattnDialect.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::sattn;

namespace {

/// The first other primitive of type OpTy in the same pattern that `accept`
/// approves.
template <typename OpTy, typename Fn>
static OpTy findSibling(Operation *op, Fn accept) {
  for (Operation &other : *op->getBlock())
    if (&other != op)
      if (auto sibling = dyn_cast<OpTy>(other); sibling && accept(sibling))
        return sibling;
  return nullptr;
}

static std::optional<int64_t> literalInt(Attribute attr) {
  if (auto intAttr = dyn_cast_if_present<IntegerAttr>(attr))
    return intAttr.getInt();
  return std::nullopt;
}

static std::optional<double> literalNumber(Attribute attr) {
  if (auto floatAttr = dyn_cast_if_present<FloatAttr>(attr))
    return floatAttr.getValueAsDouble();
  if (auto intAttr = dyn_cast_if_present<IntegerAttr>(attr))
    return static_cast<double>(intAttr.getInt());
  return std::nullopt;
}

/// Two sinks keep the keys of the larger one.
struct MergeSinks : OpRewritePattern<SinkOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SinkOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<int64_t> tokens = literalInt(op.getTokens());
    if (!tokens)
      return failure();
    SinkOp larger = findSibling<SinkOp>(op, [&](SinkOp other) {
      std::optional<int64_t> size = literalInt(other.getTokens());
      return size && *size >= *tokens;
    });
    if (!larger)
      return failure();
    rewriter.eraseOp(op);
    return success();
  }
};

/// In a causal pattern, a window of the whole key length (fraction 1) keeps
/// every causal key, so a sink adds nothing.
struct DropSinkCoveredByWindow : OpRewritePattern<SinkOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SinkOp op,
                                PatternRewriter &rewriter) const override {
    auto pattern = op->getParentOfType<PatternOp>();
    if (!pattern.getCausal())
      return failure();
    WindowOp whole = findSibling<WindowOp>(op, [](WindowOp window) {
      std::optional<double> size = literalNumber(window.getSize());
      return window.getUnit() == WindowUnit::fraction && size && *size >= 1.0;
    });
    if (!whole)
      return failure();
    rewriter.eraseOp(op);
    return success();
  }
};

/// Windows of one unit are nested (all end at the query), so the union of two
/// is the larger.
struct MergeWindows : OpRewritePattern<WindowOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(WindowOp op,
                                PatternRewriter &rewriter) const override {
    Attribute size = op.getSize();
    if (isa<ParamAttr>(size))
      return failure();
    double mine = *literalNumber(size);
    // Erase the first of two equal windows only, so one of them survives.
    WindowOp larger = findSibling<WindowOp>(op, [&](WindowOp other) {
      std::optional<double> theirs = literalNumber(other.getSize());
      if (other.getUnit() != op.getUnit() || !theirs)
        return false;
      return *theirs > mine || (*theirs == mine && op->isBeforeInBlock(other));
    });
    if (!larger)
      return failure();
    rewriter.eraseOp(op);
    return success();
  }
};

/// Sorted, duplicate-free union of two lists.
static SmallVector<int64_t> sortedUnion(ArrayRef<int64_t> a,
                                        ArrayRef<int64_t> b = {}) {
  SmallVector<int64_t> values(a);
  values.append(b.begin(), b.end());
  llvm::sort(values);
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

/// Sorts one list attribute in place, or merges it into a sibling with the
/// same meaning. `getList`/`setList` access the list; `sameKind` says whether
/// a sibling is a list of the same kind.
template <typename OpTy> struct CanonicalizeBlockList : OpRewritePattern<OpTy> {
  using GetList = std::function<std::optional<ArrayRef<int64_t>>(OpTy)>;
  using SetList = std::function<void(OpTy, ArrayRef<int64_t>)>;

  CanonicalizeBlockList(MLIRContext *ctx, GetList getList, SetList setList)
      : OpRewritePattern<OpTy>(ctx), getList(std::move(getList)),
        setList(std::move(setList)) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    std::optional<ArrayRef<int64_t>> mine = getList(op);
    if (!mine)
      return failure();
    if (OpTy other = findSibling<OpTy>(
            op, [&](OpTy sibling) { return getList(sibling).has_value(); })) {
      // Fold the later op into the earlier one.
      OpTy first = op->isBeforeInBlock(other) ? op : other;
      OpTy second = first == op ? other : op;
      SmallVector<int64_t> merged =
          sortedUnion(*getList(first), *getList(second));
      rewriter.modifyOpInPlace(first, [&] { setList(first, merged); });
      rewriter.eraseOp(second);
      return success();
    }
    SmallVector<int64_t> sorted = sortedUnion(*mine);
    if (ArrayRef<int64_t>(sorted) == *mine)
      return failure();
    rewriter.modifyOpInPlace(op, [&] { setList(op, sorted); });
    return success();
  }

  GetList getList;
  SetList setList;
};

/// `strides every 1` keeps every d >= 1, so `strides pow2` beside it adds
/// nothing.
struct DropPow2UnderEveryOne : OpRewritePattern<StridesOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(StridesOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getKind() != StrideKind::pow2)
      return failure();
    StridesOp everyOne = findSibling<StridesOp>(op, [](StridesOp other) {
      return other.getKind() == StrideKind::every &&
             literalInt(other.getEveryAttr()) == 1;
    });
    if (!everyOne)
      return failure();
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void SinkOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<MergeSinks, DropSinkCoveredByWindow>(context);
}

void WindowOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<MergeWindows>(context);
}

void StridesOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<DropPow2UnderEveryOne>(context);
  results.add<CanonicalizeBlockList<StridesOp>>(
      context,
      [](StridesOp op) -> std::optional<ArrayRef<int64_t>> {
        if (op.getKind() != StrideKind::list || !op.getDistances())
          return std::nullopt;
        return *op.getDistances();
      },
      [](StridesOp op, ArrayRef<int64_t> values) { op.setDistances(values); });
}

void ColumnsOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<CanonicalizeBlockList<ColumnsOp>>(
      context,
      [](ColumnsOp op) -> std::optional<ArrayRef<int64_t>> {
        return op.getBlocks();
      },
      [](ColumnsOp op, ArrayRef<int64_t> values) { op.setBlocks(values); });
}

void DiagonalsOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<CanonicalizeBlockList<DiagonalsOp>>(
      context,
      [](DiagonalsOp op) -> std::optional<ArrayRef<int64_t>> {
        return op.getOffsets();
      },
      [](DiagonalsOp op, ArrayRef<int64_t> values) { op.setOffsets(values); });
}
