//===- KeepLowering.cpp - `keep where` predicates to arith ops ------------===//

#include "patterns/dsl/KeepLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringExtras.h"

using mlir::Value;
namespace arith = mlir::arith;
namespace ir = mlir::sattn;

namespace sattn::dsl {

llvm::ArrayRef<llvm::StringRef> keepVariables() {
  static const llvm::StringRef kVariables[] = {"q", "k", "qb", "kb",
                                               "h", "B", "Sq", "Sk"};
  return kVariables;
}

namespace {
/// A lowered sub-expression: its value and whether it is a condition (i1)
/// rather than an integer (i64).
struct Typed {
  Value value;
  bool isBool;
};

class KeepLowering {
public:
  KeepLowering(const ParamTable &params, mlir::OpBuilder &builder,
               mlir::Block &body, Diagnostics &diags)
      : params(params), builder(builder), body(body), diags(diags) {}

  std::optional<Typed> lower(const Expr &expr);

private:
  mlir::Location loc(const Expr &expr) const { return diags.loc(expr.pos); }
  std::optional<Typed> lowerName(const Expr &expr);
  std::optional<Typed> lowerBinary(const Expr &expr);
  std::optional<Typed> lowerCall(const Expr &expr);
  std::optional<Typed> lowerIndex(const Expr &expr);
  /// `sattn.batch_index`, created once at the start of the region.
  Value batchIndex(const Expr &at);
  /// Reports that operand `which` of `what` has the wrong kind.
  std::nullopt_t wrongKind(const Expr &at, llvm::StringRef what,
                           llvm::StringRef side, bool wantBool) {
    mlir::InFlightDiagnostic diag = diags.error(at.pos);
    diag << what << " needs " << (wantBool ? "conditions" : "integers")
         << ", got " << (wantBool ? "an integer" : "a condition");
    if (!side.empty())
      diag << " on the " << side;
    if (wantBool)
      diag << "; compare it, e.g. 'x != 0'";
    else
      diag << "; conditions are not numbers here";
    return std::nullopt;
  }
  Value intConstant(const Expr &expr, int64_t value) {
    return arith::ConstantOp::create(builder, loc(expr),
                                     builder.getI64IntegerAttr(value));
  }

  const ParamTable &params;
  mlir::OpBuilder &builder;
  mlir::Block &body;
  Diagnostics &diags;
  llvm::StringMap<Value> paramValues; // one sattn.param per name
  Value batch;
};

/// The variables a run-time input may be indexed by (docs/patterns.md).
constexpr llvm::StringLiteral kInputIndices[] = {"b", "h", "q", "k"};
} // namespace

std::optional<Typed> KeepLowering::lower(const Expr &expr) {
  switch (expr.kind) {
  case ExprKind::Integer:
    return Typed{intConstant(expr, expr.intValue), false};
  case ExprKind::Float:
    diags.error(expr.pos) << "keep predicates compute on integers, got the "
                             "fractional number "
                          << formatNumber(expr.floatValue);
    return std::nullopt;
  case ExprKind::Bool:
    return Typed{arith::ConstantOp::create(builder, loc(expr),
                                           builder.getBoolAttr(expr.boolValue)),
                 true};
  case ExprKind::Name:
    return lowerName(expr);
  case ExprKind::Unary: {
    std::optional<Typed> operand = lower(*expr.operands[0]);
    if (!operand)
      return std::nullopt;
    if (expr.unaryOp == UnaryOp::Not) {
      if (!operand->isBool)
        return wrongKind(*expr.operands[0], "'not'", "", true);
      Value one = arith::ConstantOp::create(builder, loc(expr),
                                            builder.getBoolAttr(true));
      return Typed{
          arith::XOrIOp::create(builder, loc(expr), operand->value, one), true};
    }
    if (operand->isBool)
      return wrongKind(*expr.operands[0], "'-'", "", false);
    return Typed{arith::SubIOp::create(builder, loc(expr), intConstant(expr, 0),
                                       operand->value),
                 false};
  }
  case ExprKind::Binary:
    return lowerBinary(expr);
  case ExprKind::Call:
    return lowerCall(expr);
  case ExprKind::Index:
    return lowerIndex(expr);
  }
  return std::nullopt;
}

Value KeepLowering::batchIndex(const Expr &at) {
  if (!batch) {
    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(&body);
    batch = ir::BatchIndexOp::create(builder, loc(at), builder.getI64Type());
  }
  return batch;
}

std::optional<Typed> KeepLowering::lowerIndex(const Expr &expr) {
  auto pattern = body.getParentOp()->getParentOfType<ir::PatternOp>();
  ir::InputAttr input = pattern ? pattern.lookupInput(expr.name) : nullptr;
  if (!input) {
    mlir::InFlightDiagnostic diag = diags.error(expr.pos);
    diag << "'" << expr.name << "' is not a run-time input of this pattern";
    llvm::SmallVector<llvm::StringRef> names;
    if (pattern && pattern.getInputsAttr())
      for (mlir::Attribute attr : pattern.getInputsAttr())
        names.push_back(mlir::cast<ir::InputAttr>(attr).getName());
    if (llvm::StringRef hint = closestMatch(expr.name, names); !hint.empty())
      diag << "; did you mean '" << hint << "'?";
    else
      diag << "; declare it before the predicate, e.g. 'input " << expr.name
           << ": i32[b, s]'";
    return std::nullopt;
  }
  if (expr.operands.size() != input.getDims().size()) {
    diags.error(expr.pos) << "input '" << expr.name << "' has "
                          << input.getDims().size() << " dimensions, got "
                          << expr.operands.size() << " indices";
    return std::nullopt;
  }
  llvm::SmallVector<llvm::StringRef> indices;
  for (const ExprPtr &index : expr.operands) {
    if (index->kind != ExprKind::Name ||
        !llvm::is_contained(kInputIndices, index->name) ||
        params.lookup(index->name)) {
      diags.error(index->pos)
          << "an index of input '" << expr.name
          << "' must be one of the variables b, h, q or k (so that the call "
             "can check it against the input's shape)";
      return std::nullopt;
    }
    indices.push_back(index->name);
  }
  return Typed{ir::ReadInputOp::create(builder, loc(expr), builder.getI64Type(),
                                       expr.name,
                                       builder.getStrArrayAttr(indices)),
               false};
}

std::optional<Typed> KeepLowering::lowerName(const Expr &expr) {
  llvm::ArrayRef<llvm::StringRef> variables = keepVariables();
  const ParamInfo *param = params.lookup(expr.name);
  if (expr.name == "b") {
    if (param) {
      diags.error(expr.pos) << "'b' is ambiguous: it is both the batch index "
                               "and a parameter of this pattern; rename the "
                               "parameter";
      return std::nullopt;
    }
    return Typed{batchIndex(expr), false};
  }
  auto *variable = llvm::find(variables, expr.name);
  if (variable != variables.end()) {
    if (param) {
      diags.error(expr.pos)
          << "'" << expr.name
          << "' is ambiguous: it is both a predicate variable and a "
             "parameter of this pattern; rename the parameter";
      return std::nullopt;
    }
    return Typed{body.getArgument(variable - variables.begin()), false};
  }
  if (param) {
    if (!param->isInt) {
      diags.error(expr.pos)
          << "parameter '" << expr.name << "' is fractional (default "
          << formatNumber(param->floatDefault)
          << "); keep predicates compute on integers";
      return std::nullopt;
    }
    Value &value = paramValues[expr.name];
    if (!value) {
      // At the start of the region, so that every later use is dominated.
      mlir::OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPointToStart(&body);
      value = ir::ParamOp::create(builder, loc(expr), builder.getI64Type(),
                                  expr.name);
    }
    return Typed{value, false};
  }
  llvm::SmallVector<llvm::StringRef> candidates(variables.begin(),
                                                variables.end());
  candidates.push_back("b");
  llvm::append_range(candidates, params.names());
  mlir::InFlightDiagnostic diag = diags.error(expr.pos);
  diag << "unknown name '" << expr.name << "'";
  if (llvm::StringRef hint = closestMatch(expr.name, candidates); !hint.empty())
    diag << "; did you mean '" << hint << "'?";
  else
    diag << "; a predicate reads q, k, qb, kb, h, B, Sq, Sk, b, the "
            "pattern's integer parameters and its run-time inputs";
  return std::nullopt;
}

std::optional<Typed> KeepLowering::lowerBinary(const Expr &expr) {
  std::optional<Typed> lhs = lower(*expr.operands[0]);
  if (!lhs)
    return std::nullopt;
  std::optional<Typed> rhs = lower(*expr.operands[1]);
  if (!rhs)
    return std::nullopt;
  BinaryOp op = expr.binaryOp;
  std::string what = "'" + spelling(op).str() + "'";
  mlir::Location at = loc(expr);
  Value a = lhs->value, b = rhs->value;

  if (op == BinaryOp::And || op == BinaryOp::Or) {
    if (!lhs->isBool)
      return wrongKind(*expr.operands[0], what, "left", true);
    if (!rhs->isBool)
      return wrongKind(*expr.operands[1], what, "right", true);
    if (op == BinaryOp::And)
      return Typed{arith::AndIOp::create(builder, at, a, b), true};
    return Typed{arith::OrIOp::create(builder, at, a, b), true};
  }

  if (isComparison(op)) {
    // Conditions may be compared for (in)equality with each other.
    bool equality = op == BinaryOp::Eq || op == BinaryOp::Ne;
    if (lhs->isBool != rhs->isBool || (lhs->isBool && !equality)) {
      const Expr &culprit = lhs->isBool ? *expr.operands[0] : *expr.operands[1];
      return wrongKind(culprit, what, lhs->isBool ? "left" : "right", false);
    }
    arith::CmpIPredicate predicate = arith::CmpIPredicate::eq;
    switch (op) {
    case BinaryOp::Ne:
      predicate = arith::CmpIPredicate::ne;
      break;
    case BinaryOp::Lt:
      predicate = arith::CmpIPredicate::slt;
      break;
    case BinaryOp::Le:
      predicate = arith::CmpIPredicate::sle;
      break;
    case BinaryOp::Gt:
      predicate = arith::CmpIPredicate::sgt;
      break;
    case BinaryOp::Ge:
      predicate = arith::CmpIPredicate::sge;
      break;
    default:
      break;
    }
    return Typed{arith::CmpIOp::create(builder, at, predicate, a, b), true};
  }

  if (lhs->isBool)
    return wrongKind(*expr.operands[0], what, "left", false);
  if (rhs->isBool)
    return wrongKind(*expr.operands[1], what, "right", false);
  const Expr &divisor = *expr.operands[1];
  if ((op == BinaryOp::Div || op == BinaryOp::Mod) &&
      divisor.kind == ExprKind::Integer && divisor.intValue == 0) {
    diags.error(expr.pos, "division by zero");
    return std::nullopt;
  }
  switch (op) {
  case BinaryOp::Add:
    return Typed{arith::AddIOp::create(builder, at, a, b), false};
  case BinaryOp::Sub:
    return Typed{arith::SubIOp::create(builder, at, a, b), false};
  case BinaryOp::Mul:
    return Typed{arith::MulIOp::create(builder, at, a, b), false};
  case BinaryOp::Div:
    return Typed{arith::FloorDivSIOp::create(builder, at, a, b), false};
  case BinaryOp::Mod: {
    // Floor modulo a - floor(a / b) * b; arith has no floor remainder.
    Value quotient = arith::FloorDivSIOp::create(builder, at, a, b);
    Value product = arith::MulIOp::create(builder, at, quotient, b);
    return Typed{arith::SubIOp::create(builder, at, a, product), false};
  }
  case BinaryOp::BitAnd:
    return Typed{arith::AndIOp::create(builder, at, a, b), false};
  case BinaryOp::BitOr:
    return Typed{arith::OrIOp::create(builder, at, a, b), false};
  case BinaryOp::BitXor:
    return Typed{arith::XOrIOp::create(builder, at, a, b), false};
  case BinaryOp::Shl:
    return Typed{arith::ShLIOp::create(builder, at, a, b), false};
  case BinaryOp::Shr:
    return Typed{arith::ShRSIOp::create(builder, at, a, b), false};
  default:
    break;
  }
  return std::nullopt;
}

std::optional<Typed> KeepLowering::lowerCall(const Expr &expr) {
  bool isMin = expr.name == "min", isMax = expr.name == "max";
  bool isPow2 = expr.name == "is_pow2";
  if (!isMin && !isMax && !isPow2) {
    mlir::InFlightDiagnostic diag = diags.error(expr.pos);
    diag << "unknown function '" << expr.name << "'";
    if (llvm::StringRef hint =
            closestMatch(expr.name, {"min", "max", "is_pow2"});
        !hint.empty())
      diag << "; did you mean '" << hint << "'?";
    else
      diag << "; the functions are min, max and is_pow2";
    return std::nullopt;
  }
  if (isPow2 && expr.operands.size() != 1) {
    diags.error(expr.pos) << "'is_pow2' takes one argument, got "
                          << expr.operands.size();
    return std::nullopt;
  }
  if (!isPow2 && expr.operands.size() < 2) {
    diags.error(expr.pos) << "'" << expr.name
                          << "' needs at least two arguments, got "
                          << expr.operands.size();
    return std::nullopt;
  }
  std::string what = "'" + expr.name + "'";
  Value result;
  for (const ExprPtr &operand : expr.operands) {
    std::optional<Typed> value = lower(*operand);
    if (!value)
      return std::nullopt;
    if (value->isBool)
      return wrongKind(*operand, what, "", false);
    if (isPow2)
      return Typed{ir::IsPow2Op::create(builder, loc(expr), builder.getI1Type(),
                                        value->value),
                   true};
    if (!result)
      result = value->value;
    else if (isMin)
      result = arith::MinSIOp::create(builder, loc(expr), result, value->value);
    else
      result = arith::MaxSIOp::create(builder, loc(expr), result, value->value);
  }
  return Typed{result, false};
}

bool lowerKeepPredicate(const Expr &expr, const ParamTable &params,
                        ir::KeepOp keep, Diagnostics &diags) {
  mlir::OpBuilder builder(keep.getContext());
  llvm::SmallVector<mlir::Type> types(keepVariables().size(),
                                      builder.getI64Type());
  llvm::SmallVector<mlir::Location> locs(types.size(), keep.getLoc());
  mlir::Block *body =
      builder.createBlock(&keep.getPredicate(), {}, types, locs);
  KeepLowering lowering(params, builder, *body, diags);
  std::optional<Typed> result = lowering.lower(expr);
  if (!result)
    return false;
  if (!result->isBool) {
    diags.error(expr.pos, "'keep where' needs a condition, got an integer; "
                          "compare it, e.g. 'qb - kb < 4'");
    return false;
  }
  ir::YieldOp::create(builder, keep.getLoc(), result->value);
  return true;
}

} // namespace sattn::dsl
