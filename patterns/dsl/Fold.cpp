//===- Fold.cpp - Primitive arguments to literals or parameters -----------===//

#include "patterns/dsl/Fold.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <cmath>

namespace sattn::dsl {

namespace {
class Folder {
public:
  Folder(const ParamTable *params, Diagnostics &diags)
      : params(params), diags(diags) {}

  /// `top` is true for the whole argument: only there may a parameter stand,
  /// since the IR can reference a parameter but not compute with one.
  std::optional<FoldedValue> fold(const Expr &expr, bool top);

private:
  std::optional<FoldedValue> foldName(const Expr &expr, bool top);
  std::optional<FoldedValue> foldBinary(const Expr &expr);
  std::optional<FoldedValue> foldCall(const Expr &expr);
  std::optional<FoldedValue> notANumber(const Expr &expr,
                                        llvm::StringRef what) {
    diags.error(expr.pos) << what
                          << " is a condition, which only 'keep where' takes; "
                             "a number is needed here";
    return std::nullopt;
  }
  std::optional<FoldedValue> overflow(const Expr &expr) {
    diags.error(expr.pos) << "'" << spelling(expr.binaryOp)
                          << "' overflows a 64-bit integer";
    return std::nullopt;
  }

  const ParamTable *params;
  Diagnostics &diags;
};
} // namespace

static FoldedValue intValue(int64_t value, SourcePos pos) {
  FoldedValue result;
  result.kind = FoldedValue::Int;
  result.intValue = value;
  result.pos = pos;
  return result;
}

static FoldedValue floatValue(double value, SourcePos pos) {
  FoldedValue result;
  result.kind = FoldedValue::Float;
  result.floatValue = value;
  result.pos = pos;
  return result;
}

static double asDouble(const FoldedValue &value) {
  return value.kind == FoldedValue::Int ? static_cast<double>(value.intValue)
                                        : value.floatValue;
}

static int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

/// a - floor(a / b) * b, in [0, b) or (b, 0]; no intermediate overflows.
static int64_t floorMod(int64_t a, int64_t b) {
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0)))
    r += b;
  return r;
}

std::optional<FoldedValue> Folder::fold(const Expr &expr, bool top) {
  switch (expr.kind) {
  case ExprKind::Integer:
    return intValue(expr.intValue, expr.pos);
  case ExprKind::Float:
    return floatValue(expr.floatValue, expr.pos);
  case ExprKind::Bool:
    return notANumber(expr, expr.boolValue ? "'true'" : "'false'");
  case ExprKind::Name:
    return foldName(expr, top);
  case ExprKind::Unary: {
    if (expr.unaryOp == UnaryOp::Not)
      return notANumber(expr, "'not ...'");
    std::optional<FoldedValue> operand = fold(*expr.operands[0], false);
    if (!operand)
      return std::nullopt;
    if (operand->kind == FoldedValue::Float)
      return floatValue(-operand->floatValue, expr.pos);
    if (operand->intValue == INT64_MIN) {
      diags.error(expr.pos, "'-' overflows a 64-bit integer");
      return std::nullopt;
    }
    return intValue(-operand->intValue, expr.pos);
  }
  case ExprKind::Binary:
    return foldBinary(expr);
  case ExprKind::Call:
    return foldCall(expr);
  case ExprKind::Index:
    diags.error(expr.pos) << "run-time input '" << expr.name
                          << "' is known only at the call; only 'keep where' "
                             "reads it, a constant is needed here";
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<FoldedValue> Folder::foldName(const Expr &expr, bool top) {
  if (!params) {
    diags.error(expr.pos) << "a default must be a number, got '" << expr.name
                          << "'; parameters cannot refer to each other";
    return std::nullopt;
  }
  const ParamInfo *param = params->lookup(expr.name);
  if (!param) {
    mlir::InFlightDiagnostic diag = diags.error(expr.pos);
    diag << "unknown parameter '" << expr.name << "'";
    llvm::SmallVector<llvm::StringRef> names = params->names();
    if (llvm::StringRef hint = closestMatch(expr.name, names); !hint.empty())
      diag << "; did you mean '" << hint << "'?";
    else if (names.empty())
      diag << "; the pattern declares no parameters";
    else
      diag << "; the pattern's parameters are: "
           << llvm::join(names.begin(), names.end(), ", ");
    return std::nullopt;
  }
  if (!top) {
    diags.error(expr.pos)
        << "cannot compute with parameter '" << expr.name
        << "' here: a primitive's argument is a number or a parameter, and "
           "arithmetic on parameters is only possible inside 'keep where'; "
           "declare a parameter with the computed default instead";
    return std::nullopt;
  }
  FoldedValue result;
  result.kind = FoldedValue::Param;
  result.param = param;
  result.pos = expr.pos;
  return result;
}

std::optional<FoldedValue> Folder::foldBinary(const Expr &expr) {
  BinaryOp op = expr.binaryOp;
  if (op == BinaryOp::Or || op == BinaryOp::And || isComparison(op))
    return notANumber(expr, "'" + spelling(op).str() + "'");
  std::optional<FoldedValue> lhs = fold(*expr.operands[0], false);
  std::optional<FoldedValue> rhs = fold(*expr.operands[1], false);
  if (!lhs || !rhs)
    return std::nullopt;
  if (lhs->kind == FoldedValue::Float || rhs->kind == FoldedValue::Float) {
    double a = asDouble(*lhs), b = asDouble(*rhs);
    switch (op) {
    case BinaryOp::Add:
      return floatValue(a + b, expr.pos);
    case BinaryOp::Sub:
      return floatValue(a - b, expr.pos);
    case BinaryOp::Mul:
      return floatValue(a * b, expr.pos);
    case BinaryOp::Div:
      if (b == 0.0) {
        diags.error(expr.pos, "division by zero");
        return std::nullopt;
      }
      return floatValue(a / b, expr.pos);
    default:
      diags.error(expr.pos)
          << "'" << spelling(op) << "' needs integers, got a fractional number";
      return std::nullopt;
    }
  }
  int64_t a = lhs->intValue, b = rhs->intValue;
  std::optional<int64_t> result;
  switch (op) {
  case BinaryOp::Add:
    result = llvm::checkedAdd(a, b);
    break;
  case BinaryOp::Sub:
    result = llvm::checkedSub(a, b);
    break;
  case BinaryOp::Mul:
    result = llvm::checkedMul(a, b);
    break;
  case BinaryOp::Div:
  case BinaryOp::Mod:
    if (b == 0) {
      diags.error(expr.pos, "division by zero");
      return std::nullopt;
    }
    if (a == INT64_MIN && b == -1)
      return overflow(expr);
    // The floor remainder without a - floorDiv(a, b) * b, whose product
    // overflows for a near INT64_MIN (issue 21 D8).
    result = op == BinaryOp::Div ? floorDiv(a, b) : floorMod(a, b);
    break;
  case BinaryOp::BitAnd:
    result = a & b;
    break;
  case BinaryOp::BitOr:
    result = a | b;
    break;
  case BinaryOp::BitXor:
    result = a ^ b;
    break;
  case BinaryOp::Shl:
  case BinaryOp::Shr:
    if (b < 0 || b > 62) {
      diags.error(expr.pos) << "shift amount must be in [0, 62], got " << b;
      return std::nullopt;
    }
    if (op == BinaryOp::Shr)
      result = a >> b;
    else
      result = llvm::checkedMul(a, int64_t(1) << b);
    break;
  default:
    break;
  }
  if (!result)
    return overflow(expr);
  return intValue(*result, expr.pos);
}

std::optional<FoldedValue> Folder::foldCall(const Expr &expr) {
  if (expr.name == "is_pow2")
    return notANumber(expr, "'is_pow2(...)'");
  if (expr.name != "min" && expr.name != "max") {
    diags.error(expr.pos) << "unknown function '" << expr.name
                          << "'; the functions are min, max and is_pow2";
    return std::nullopt;
  }
  if (expr.operands.size() < 2) {
    diags.error(expr.pos) << "'" << expr.name
                          << "' needs at least two arguments";
    return std::nullopt;
  }
  std::optional<FoldedValue> best;
  for (const ExprPtr &operand : expr.operands) {
    std::optional<FoldedValue> value = fold(*operand, false);
    if (!value)
      return std::nullopt;
    if (!best) {
      best = value;
      continue;
    }
    bool isMin = expr.name == "min";
    bool anyFloat =
        best->kind == FoldedValue::Float || value->kind == FoldedValue::Float;
    // Integers compare as integers: doubles lose precision beyond 2^53.
    bool takeNew = anyFloat ? (isMin ? asDouble(*value) < asDouble(*best)
                                     : asDouble(*value) > asDouble(*best))
                            : (isMin ? value->intValue < best->intValue
                                     : value->intValue > best->intValue);
    if (anyFloat) {
      double chosen = takeNew ? asDouble(*value) : asDouble(*best);
      best = floatValue(chosen, expr.pos);
    } else if (takeNew) {
      best = intValue(value->intValue, expr.pos);
    }
  }
  best->pos = expr.pos;
  return best;
}

std::optional<FoldedValue> foldValue(const Expr &expr, const ParamTable *params,
                                     Diagnostics &diags) {
  return Folder(params, diags).fold(expr, /*top=*/true);
}

} // namespace sattn::dsl
