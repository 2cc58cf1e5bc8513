//===- ParseExpr.cpp - Expressions of .sattn files ------------------------===//
//
// Precedence, loosest first, as in Python so that `a & b == c` and
// `x < y and y < z` read as they would there:
//   or, and, not, comparisons (not chained), |, ^, &, << >>, + -, * / %,
//   unary -, primaries.
//
//===----------------------------------------------------------------------===//

#include "patterns/dsl/Parser.h"

#include "llvm/ADT/STLExtras.h"

#include <vector>

#include <cmath>

namespace sattn::dsl {

/// Deeper nesting than this is certainly not a pattern a person wrote.
static constexpr unsigned kMaxDepth = 64;
static constexpr unsigned kMaxOperations = 2048;

namespace {
/// Counts the nesting of one recursive step and fails past kMaxDepth.
class DepthGuard {
public:
  explicit DepthGuard(unsigned &depth) : depth(depth) { ++depth; }
  ~DepthGuard() { --depth; }
  /// Reports the error at `pos` when past kMaxDepth.
  bool tooDeep(Diagnostics &diags, SourcePos pos) const {
    if (depth <= kMaxDepth)
      return false;
    diags.error(pos) << "expression nested more than " << kMaxDepth
                     << " levels deep";
    return true;
  }

private:
  unsigned &depth;
};
} // namespace

ExprPtr Parser::makeBinary(BinaryOp op, SourcePos pos, ExprPtr lhs,
                           ExprPtr rhs) {
  if (!lhs || !rhs)
    return nullptr;
  // Long flat chains (a + b + c + ...) nest as deeply as they are long in
  // every later pass; the dialect accepts at most 4096 ops in a predicate.
  if (++operations > kMaxOperations) {
    diags.error(pos) << "expression has more than " << kMaxOperations
                     << " operations";
    return nullptr;
  }
  auto expr = std::make_unique<Expr>(ExprKind::Binary, pos);
  expr->binaryOp = op;
  expr->operands.push_back(std::move(lhs));
  expr->operands.push_back(std::move(rhs));
  return expr;
}

ExprPtr Parser::parseExpr() {
  if (depth == 0)
    operations = 0; // a new expression
  DepthGuard guard(depth);
  if (guard.tooDeep(diags, tok().pos))
    return nullptr;
  return parseOr();
}

ExprPtr Parser::parseOr() {
  ExprPtr lhs = parseAnd();
  while (lhs && tok().isIdentifier("or")) {
    SourcePos pos = tok().pos;
    consume();
    lhs = makeBinary(BinaryOp::Or, pos, std::move(lhs), parseAnd());
  }
  return lhs;
}

ExprPtr Parser::parseAnd() {
  ExprPtr lhs = parseNot();
  while (lhs && tok().isIdentifier("and")) {
    SourcePos pos = tok().pos;
    consume();
    lhs = makeBinary(BinaryOp::And, pos, std::move(lhs), parseNot());
  }
  return lhs;
}

ExprPtr Parser::parseNot() {
  if (!tok().isIdentifier("not"))
    return parseComparison();
  DepthGuard guard(depth);
  if (guard.tooDeep(diags, tok().pos))
    return nullptr;
  SourcePos pos = tok().pos;
  consume();
  ExprPtr operand = parseNot();
  if (!operand)
    return nullptr;
  auto expr = std::make_unique<Expr>(ExprKind::Unary, pos);
  expr->unaryOp = UnaryOp::Not;
  expr->operands.push_back(std::move(operand));
  return expr;
}

static std::optional<BinaryOp> comparisonOp(TokenKind kind) {
  switch (kind) {
  case TokenKind::Eq:
    return BinaryOp::Eq;
  case TokenKind::Ne:
    return BinaryOp::Ne;
  case TokenKind::Lt:
    return BinaryOp::Lt;
  case TokenKind::Le:
    return BinaryOp::Le;
  case TokenKind::Gt:
    return BinaryOp::Gt;
  case TokenKind::Ge:
    return BinaryOp::Ge;
  default:
    return std::nullopt;
  }
}

ExprPtr Parser::parseComparison() {
  ExprPtr lhs = parseBinary(0);
  if (!lhs)
    return nullptr;
  std::optional<BinaryOp> op = comparisonOp(tok().kind);
  if (!op)
    return lhs;
  SourcePos pos = tok().pos;
  consume();
  ExprPtr result = makeBinary(*op, pos, std::move(lhs), parseBinary(0));
  if (result && comparisonOp(tok().kind)) {
    // `a < b < c` means different things in different languages: refuse it.
    diags.error(tok().pos) << "comparisons cannot be chained; write "
                              "'a < b and b < c'";
    return nullptr;
  }
  return result;
}

/// The left-associative binary operators between comparisons and unary
/// minus, loosest first (Python's precedence).
static const std::vector<std::vector<std::pair<TokenKind, BinaryOp>>>
    kBinaryLevels = {
        {{TokenKind::Pipe, BinaryOp::BitOr}},
        {{TokenKind::Caret, BinaryOp::BitXor}},
        {{TokenKind::Amp, BinaryOp::BitAnd}},
        {{TokenKind::Shl, BinaryOp::Shl}, {TokenKind::Shr, BinaryOp::Shr}},
        {{TokenKind::Plus, BinaryOp::Add}, {TokenKind::Minus, BinaryOp::Sub}},
        {{TokenKind::Star, BinaryOp::Mul},
         {TokenKind::Slash, BinaryOp::Div},
         {TokenKind::Percent, BinaryOp::Mod}},
};

ExprPtr Parser::parseBinary(unsigned level) {
  if (level == kBinaryLevels.size())
    return parseUnary();
  ExprPtr lhs = parseBinary(level + 1);
  while (lhs) {
    const auto &ops = kBinaryLevels[level];
    auto it = llvm::find_if(
        ops, [&](const auto &entry) { return tok().is(entry.first); });
    if (it == ops.end())
      break;
    SourcePos pos = tok().pos;
    consume();
    lhs = makeBinary(it->second, pos, std::move(lhs), parseBinary(level + 1));
  }
  return lhs;
}

ExprPtr Parser::parseUnary() {
  if (!tok().is(TokenKind::Minus))
    return parsePrimary();
  DepthGuard guard(depth);
  if (guard.tooDeep(diags, tok().pos))
    return nullptr;
  SourcePos pos = tok().pos;
  consume();
  ExprPtr operand = parseUnary();
  if (!operand)
    return nullptr;
  // Fold `-literal` right away so that lists and defaults read naturally.
  if (operand->kind == ExprKind::Integer && operand->intValue != INT64_MIN) {
    operand->intValue = -operand->intValue;
    operand->pos = pos;
    return operand;
  }
  if (operand->kind == ExprKind::Float) {
    operand->floatValue = -operand->floatValue;
    operand->pos = pos;
    return operand;
  }
  auto expr = std::make_unique<Expr>(ExprKind::Unary, pos);
  expr->unaryOp = UnaryOp::Neg;
  expr->operands.push_back(std::move(operand));
  return expr;
}

ExprPtr Parser::parsePrimary() {
  const Token &token = tok();
  switch (token.kind) {
  case TokenKind::Integer: {
    uint64_t value = 0;
    if (token.text.getAsInteger(10, value) ||
        value > static_cast<uint64_t>(INT64_MAX)) {
      diags.error(token.pos)
          << "integer " << token.text << " does not fit in 64 bits";
      consume();
      return nullptr;
    }
    auto expr = std::make_unique<Expr>(ExprKind::Integer, token.pos);
    expr->intValue = static_cast<int64_t>(value);
    consume();
    return expr;
  }
  case TokenKind::Float: {
    double value = 0.0;
    if (token.text.getAsDouble(value, /*AllowInexact=*/true) ||
        !std::isfinite(value)) {
      diags.error(token.pos)
          << "number " << token.text << " is not a finite double";
      consume();
      return nullptr;
    }
    auto expr = std::make_unique<Expr>(ExprKind::Float, token.pos);
    expr->floatValue = value;
    consume();
    return expr;
  }
  case TokenKind::LParen: {
    SourcePos open = token.pos;
    consume();
    ExprPtr inner = parseExpr();
    if (!inner)
      return nullptr;
    if (!tok().is(TokenKind::RParen)) {
      errorExpected("')' to close the '(' at " + llvm::Twine(open.line) + ":" +
                    llvm::Twine(open.column));
      return nullptr;
    }
    consume();
    return inner;
  }
  case TokenKind::Identifier:
    // A statement name starting a line begins the next statement: the
    // expression ended early.
    if (token.firstOnLine && isStatementStart()) {
      errorExpected("a value");
      return nullptr;
    }
    break;
  default:
    errorExpected("a value");
    return nullptr;
  }

  if (token.text == "and" || token.text == "or") {
    errorExpected("a value");
    return nullptr;
  }
  if (token.text == "true" || token.text == "false") {
    auto expr = std::make_unique<Expr>(ExprKind::Bool, token.pos);
    expr->boolValue = token.text == "true";
    consume();
    return expr;
  }
  bool isCall = peekTok().is(TokenKind::LParen);
  bool isIndex = peekTok().is(TokenKind::LSquare);
  auto expr = std::make_unique<Expr>(isCall    ? ExprKind::Call
                                     : isIndex ? ExprKind::Index
                                               : ExprKind::Name,
                                     token.pos);
  expr->name = token.text.str();
  consume();
  if (isIndex) {
    consume(); // '['
    do {
      ExprPtr index = parseExpr();
      if (!index)
        return nullptr;
      expr->operands.push_back(std::move(index));
    } while (consumeIf(TokenKind::Comma));
    if (!expect(TokenKind::RSquare,
                "',' or ']' in the indices of '" + expr->name + "'"))
      return nullptr;
    return expr;
  }
  if (!isCall)
    return expr;
  consume(); // '('
  if (!tok().is(TokenKind::RParen)) {
    do {
      ExprPtr argument = parseExpr();
      if (!argument)
        return nullptr;
      expr->operands.push_back(std::move(argument));
    } while (consumeIf(TokenKind::Comma));
  }
  if (!expect(TokenKind::RParen,
              "',' or ')' in the arguments of '" + expr->name + "'"))
    return nullptr;
  return expr;
}

} // namespace sattn::dsl
