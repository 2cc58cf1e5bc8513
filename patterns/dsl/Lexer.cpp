//===- Lexer.cpp - Tokenizer of the .sattn pattern language ---------------===//

#include "patterns/dsl/Lexer.h"

#include "llvm/ADT/StringExtras.h"

namespace sattn::dsl {

namespace {
class Lexer {
public:
  Lexer(llvm::StringRef source, Diagnostics &diags)
      : source(source), diags(diags) {}

  std::vector<Token> run();

private:
  char peek(size_t ahead = 0) const {
    return index + ahead < source.size() ? source[index + ahead] : '\0';
  }
  bool atEnd() const { return index >= source.size(); }
  void advance() {
    if (source[index] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
    ++index;
  }
  void push(TokenKind kind, size_t begin, SourcePos start) {
    tokens.push_back(
        {kind, source.slice(begin, index), start, /*firstOnLine=*/false});
  }
  /// Replaces a foreign operator by the word this language spells it with.
  void substitute(llvm::StringRef foreign, llvm::StringRef word,
                  SourcePos start) {
    diags.error(start) << "'" << foreign << "' is not an operator; write '"
                       << word << "'";
    tokens.push_back({TokenKind::Identifier, word, start, false});
  }
  void lexNumber();
  void lexPunctuation();

  llvm::StringRef source;
  Diagnostics &diags;
  size_t index = 0;
  SourcePos pos;
  std::vector<Token> tokens;
};
} // namespace

std::vector<Token> Lexer::run() {
  unsigned lastLine = 0;
  while (!diags.tooMany()) {
    // Skip blanks and comments.
    while (!atEnd()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
          c == '\v') {
        advance();
      } else if (c == '#') {
        while (!atEnd() && peek() != '\n')
          advance();
      } else {
        break;
      }
    }
    if (atEnd())
      break;
    size_t before = tokens.size();
    char c = peek();
    if (llvm::isAlpha(c) || c == '_') {
      size_t begin = index;
      SourcePos start = pos;
      while (llvm::isAlnum(peek()) || peek() == '_')
        advance();
      push(TokenKind::Identifier, begin, start);
    } else if (llvm::isDigit(c)) {
      lexNumber();
    } else {
      lexPunctuation();
    }
    if (tokens.size() > before) {
      Token &token = tokens.back();
      token.firstOnLine = token.pos.line != lastLine;
      lastLine = token.pos.line;
    }
  }
  tokens.push_back({TokenKind::Eof, "", pos, /*firstOnLine=*/true});
  return std::move(tokens);
}

void Lexer::lexNumber() {
  size_t begin = index;
  SourcePos start = pos;
  bool isFloat = false;
  while (llvm::isDigit(peek()))
    advance();
  if (peek() == '.' && llvm::isDigit(peek(1))) {
    isFloat = true;
    advance();
    while (llvm::isDigit(peek()))
      advance();
  }
  // An exponent only when digits follow, so `2e` stays `2` then `e`.
  if ((peek() == 'e' || peek() == 'E') &&
      (llvm::isDigit(peek(1)) ||
       ((peek(1) == '+' || peek(1) == '-') && llvm::isDigit(peek(2))))) {
    isFloat = true;
    advance();
    if (peek() == '+' || peek() == '-')
      advance();
    while (llvm::isDigit(peek()))
      advance();
  }
  push(isFloat ? TokenKind::Float : TokenKind::Integer, begin, start);
}

void Lexer::lexPunctuation() {
  size_t begin = index;
  SourcePos start = pos;
  char c = peek();
  char next = peek(1);
  auto one = [&](TokenKind kind) {
    advance();
    push(kind, begin, start);
  };
  auto two = [&](TokenKind kind) {
    advance();
    advance();
    push(kind, begin, start);
  };
  switch (c) {
  case '(':
    return one(TokenKind::LParen);
  case ')':
    return one(TokenKind::RParen);
  case '{':
    return one(TokenKind::LBrace);
  case '}':
    return one(TokenKind::RBrace);
  case '[':
    return one(TokenKind::LSquare);
  case ']':
    return one(TokenKind::RSquare);
  case ',':
    return one(TokenKind::Comma);
  case ':':
    return one(TokenKind::Colon);
  case '+':
    return one(TokenKind::Plus);
  case '-':
    return one(TokenKind::Minus);
  case '*':
    return one(TokenKind::Star);
  case '/':
    return one(TokenKind::Slash);
  case '%':
    return one(TokenKind::Percent);
  case '^':
    return one(TokenKind::Caret);
  case '=':
    return next == '=' ? two(TokenKind::Eq) : one(TokenKind::Assign);
  case '<':
    if (next == '<')
      return two(TokenKind::Shl);
    return next == '=' ? two(TokenKind::Le) : one(TokenKind::Lt);
  case '>':
    if (next == '>')
      return two(TokenKind::Shr);
    return next == '=' ? two(TokenKind::Ge) : one(TokenKind::Gt);
  case '!':
    if (next == '=')
      return two(TokenKind::Ne);
    advance();
    return substitute("!", "not", start);
  case '&':
    if (next == '&') {
      advance();
      advance();
      return substitute("&&", "and", start);
    }
    return one(TokenKind::Amp);
  case '|':
    if (next == '|') {
      advance();
      advance();
      return substitute("||", "or", start);
    }
    return one(TokenKind::Pipe);
  default:
    break;
  }
  advance();
  if (c == ';') {
    diags.error(start, "unexpected ';': statements need no terminator; write "
                       "one statement per line");
  } else if (c == '.' && llvm::isDigit(next)) {
    // Read `.5` as the number it obviously is, after saying how to write it.
    while (llvm::isDigit(peek()))
      advance();
    push(TokenKind::Float, begin, start);
    diags.error(start) << "a number must start with a digit: write '0"
                       << tokens.back().text << "'";
  } else if (llvm::isPrint(c)) {
    diags.error(start) << "unexpected character '" << llvm::Twine(c) << "'";
  } else {
    diags.error(start) << "unexpected byte 0x"
                       << llvm::utohexstr(static_cast<unsigned char>(c))
                       << "; pattern files are plain ASCII text";
    // Skip the rest of a multi-byte character with the first.
    while (!atEnd() && (static_cast<unsigned char>(peek()) & 0xC0) == 0x80)
      advance();
  }
}

std::vector<Token> lex(llvm::StringRef source, Diagnostics &diags) {
  return Lexer(source, diags).run();
}

} // namespace sattn::dsl
