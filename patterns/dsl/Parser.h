//===- Parser.h - Recursive-descent parser of .sattn files ------*- C++ -*-===//
//
// Parses a token stream and builds one `sattn.pattern` op per pattern, with
// the FileLineColLoc of each statement on its op. Errors are reported as they
// are found; the parser then skips to the next statement (a statement name at
// the start of a line, or the closing '}') so that one file can report
// several mistakes. A pattern with an error is not kept in the module.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PATTERNS_DSL_PARSER_H
#define SATTN_PATTERNS_DSL_PARSER_H

#include "patterns/dsl/Diagnostics.h"
#include "patterns/dsl/Expr.h"
#include "patterns/dsl/Fold.h"
#include "patterns/dsl/Params.h"

#include "dialect/SattnDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <vector>

namespace sattn::dsl {

/// The statements a pattern body may hold.
llvm::ArrayRef<llvm::StringRef> statementNames();

class Parser {
public:
  Parser(std::vector<Token> tokens, Diagnostics &diags, mlir::ModuleOp module);

  /// Parses the whole file into the module.
  void parseFile();

private:
  /// What one pattern has declared so far.
  struct PatternState {
    std::string name;
    SourcePos pos;
    ParamTable params;
    std::optional<SourcePos> blockPos, causalPos, softcapPos, alibiPos;
    mlir::Attribute block, softcap;
    /// Where each run-time input is declared.
    llvm::StringMap<SourcePos> inputPos;
    mlir::sattn::PatternOp op;
  };
  /// A named argument of a dynamic statement, with its default.
  struct Argument {
    llvm::StringRef name;
    bool isInt;
    double defaultValue;
    mlir::Attribute value; // set by parseArguments
  };

  // Token stream.
  const Token &tok() const { return tokens[index]; }
  const Token &peekTok(size_t ahead = 1) const {
    return tokens[std::min(index + ahead, tokens.size() - 1)];
  }
  void consume() {
    if (!tok().is(TokenKind::Eof))
      ++index;
  }
  bool consumeIf(TokenKind kind) {
    if (!tok().is(kind))
      return false;
    consume();
    return true;
  }
  /// Consumes a token of `kind` or reports "expected WHAT, got ...".
  bool expect(TokenKind kind, const llvm::Twine &what);
  /// Reports "expected WHAT, got <current token>".
  void errorExpected(const llvm::Twine &what);
  /// Where a missing token belongs: just after the previous token when the
  /// current one starts a new line (the statement ended early), else at the
  /// current token.
  SourcePos expectedPos() const;
  /// The current token as "got ..." shows it.
  std::string gotText() const;
  /// True when the current token starts a statement (and is not the name of
  /// a `name = value` argument).
  bool isStatementStart() const;
  /// Skips to where the next statement or the closing '}' may start.
  void recoverToStatement();

  // Patterns and statements (Parser.cpp).
  void parsePattern();
  void parseParams(PatternState &state);
  void parseBody(PatternState &state, SourcePos open);
  bool parseStatement(PatternState &state);
  bool parseBlock(PatternState &state, const Token &keyword);
  bool parseCausal(PatternState &state, const Token &keyword);
  bool parseSoftcap(PatternState &state, const Token &keyword);
  bool parseAlibi(PatternState &state, const Token &keyword);
  bool parseSink(PatternState &state, const Token &keyword);
  bool parseWindow(PatternState &state, const Token &keyword);
  bool parseStrides(PatternState &state, const Token &keyword);
  bool parseBlockList(PatternState &state, const Token &keyword);
  bool parseKeep(PatternState &state, const Token &keyword);
  bool parseInput(PatternState &state, const Token &keyword);
  bool parseStripes(PatternState &state, const Token &keyword);
  bool parseTreeSearch(PatternState &state, const Token &keyword);
  bool parseTopk(PatternState &state, const Token &keyword);
  bool parsePermute(PatternState &state, const Token &keyword);
  bool parseArguments(PatternState &state, const Token &keyword,
                      llvm::MutableArrayRef<Argument> arguments);
  std::optional<llvm::SmallVector<int64_t>> parseIntList(llvm::StringRef what);
  /// `one` | `two` | ... at the current token, or an error naming them.
  std::optional<llvm::StringRef>
  parseWord(llvm::ArrayRef<llvm::StringRef> words, const llvm::Twine &context);

  // Values of primitives: an expression folded to a literal or a parameter.
  mlir::Attribute parseIntValue(PatternState &state, const llvm::Twine &what);
  mlir::Attribute toIntAttr(const FoldedValue &value, const llvm::Twine &what);
  mlir::Attribute toFloatAttr(const FoldedValue &value);

  // Expressions (ParseExpr.cpp), lowest precedence first.
  ExprPtr parseExpr();
  ExprPtr parseOr();
  ExprPtr parseAnd();
  ExprPtr parseNot();
  ExprPtr parseComparison();
  /// Binary operators from `|` (level 0) to `* / %`; see kBinaryLevels.
  ExprPtr parseBinary(unsigned level);
  ExprPtr parseUnary();
  ExprPtr parsePrimary();
  ExprPtr makeBinary(BinaryOp op, SourcePos pos, ExprPtr lhs, ExprPtr rhs);

  std::vector<Token> tokens;
  size_t index = 0;
  Diagnostics &diags;
  mlir::ModuleOp module;
  mlir::OpBuilder builder;
  /// Nesting of parentheses and unary operators, bounded so that a
  /// pathological file cannot overflow the stack.
  unsigned depth = 0;
  /// Binary operations in the expression being parsed.
  unsigned operations = 0;
  llvm::StringMap<SourcePos> patternNames;
};

} // namespace sattn::dsl

#endif // SATTN_PATTERNS_DSL_PARSER_H
