//===- Token.h - Tokens of the .sattn pattern language ----------*- C++ -*-===//
//
// The lexer's output. Keywords are not tokens of their own: statement names,
// units and argument names are identifiers that the parser recognises by
// position, so that a parameter may be called `window` or `sink` as the stock
// patterns' parameters are.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PATTERNS_DSL_TOKEN_H
#define SATTN_PATTERNS_DSL_TOKEN_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace sattn::dsl {

/// A 1-based line and column (in bytes) of the source buffer.
struct SourcePos {
  unsigned line = 1;
  unsigned column = 1;
};

enum class TokenKind {
  Eof,
  Identifier,
  Integer,
  Float,
  LParen,
  RParen,
  LBrace,
  RBrace,
  LSquare,
  RSquare,
  Comma,
  Colon,
  Assign, // =
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Amp,
  Pipe,
  Caret,
  Shl,
  Shr,
  Eq, // ==
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
};

struct Token {
  TokenKind kind = TokenKind::Eof;
  llvm::StringRef text; // spelling in the source buffer
  SourcePos pos;
  /// True when no other token precedes this one on its line: statements start
  /// such tokens, which is where error recovery resumes.
  bool firstOnLine = false;

  bool is(TokenKind k) const { return kind == k; }
  bool isIdentifier(llvm::StringRef name) const {
    return kind == TokenKind::Identifier && text == name;
  }
};

} // namespace sattn::dsl

#endif // SATTN_PATTERNS_DSL_TOKEN_H
