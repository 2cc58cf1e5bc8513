//===- Expr.h - Expressions of the .sattn pattern language ------*- C++ -*-===//
//
// One tree for every expression the language has: parameter defaults and
// primitive arguments (folded to a literal or a parameter reference by
// Fold.h) and `keep where` predicates (lowered to arith ops by
// KeepLowering.h). Keeping the tree lets each use say precisely what it
// cannot represent.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PATTERNS_DSL_EXPR_H
#define SATTN_PATTERNS_DSL_EXPR_H

#include "patterns/dsl/Token.h"

#include <memory>
#include <string>
#include <vector>

namespace sattn::dsl {

/// Index: `name[operands...]`, an element of a run-time input.
enum class ExprKind { Integer, Float, Bool, Name, Unary, Binary, Call, Index };

enum class UnaryOp { Neg, Not };

/// In order of increasing precedence groups, as in Python: `or`, `and`,
/// comparisons, `|`, `^`, `&`, shifts, `+ -`, `* / %`.
enum class BinaryOp {
  Or,
  And,
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  BitOr,
  BitXor,
  BitAnd,
  Shl,
  Shr,
  Add,
  Sub,
  Mul,
  Div,
  Mod,
};

/// The operator as written ("+", "and", ...).
llvm::StringRef spelling(BinaryOp op);
bool isComparison(BinaryOp op);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind;
  SourcePos pos; // of the literal, name, operator or callee
  int64_t intValue = 0;
  double floatValue = 0.0;
  bool boolValue = false;
  std::string name; // Name, the callee of a Call, the input of an Index
  UnaryOp unaryOp = UnaryOp::Neg;
  BinaryOp binaryOp = BinaryOp::Add;
  std::vector<ExprPtr> operands;

  Expr(ExprKind kind, SourcePos pos) : kind(kind), pos(pos) {}
};

} // namespace sattn::dsl

#endif // SATTN_PATTERNS_DSL_EXPR_H
