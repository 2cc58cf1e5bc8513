//===- Parser.cpp - Patterns and statements of .sattn files ---------------===//

#include "patterns/dsl/Parser.h"

#include "patterns/dsl/KeepLowering.h"

#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>

using mlir::Attribute;
namespace ir = mlir::sattn;

namespace sattn::dsl {

/// The block size of a pattern that neither sets one nor declares a `block`
/// parameter; the default B of docs/patterns.md's dynamic primitives.
static constexpr int64_t kDefaultBlock = 128;

/// Words that cannot name a parameter: the expression grammar gives them a
/// meaning of their own.
static constexpr llvm::StringLiteral kReserved[] = {
    "and", "or", "not", "true", "false", "min", "max", "is_pow2", "pattern"};

llvm::ArrayRef<llvm::StringRef> statementNames() {
  static const llvm::StringRef kNames[] = {
      "causal",  "block",     "sink",    "window",  "strides",
      "columns", "diagonals", "keep",    "stripes", "tree_search",
      "topk",    "permute",   "softcap", "alibi",   "input"};
  return kNames;
}

static std::string where(SourcePos pos) {
  return (llvm::Twine(pos.line) + ":" + llvm::Twine(pos.column)).str();
}

/// How the current token reads in "expected X, got Y".
static std::string quote(const Token &token) {
  if (token.is(TokenKind::Eof))
    return "end of file";
  return "'" + token.text.str() + "'";
}

Parser::Parser(std::vector<Token> tokens, Diagnostics &diags,
               mlir::ModuleOp module)
    : tokens(std::move(tokens)), diags(diags), module(module),
      builder(module.getContext()) {}

SourcePos Parser::expectedPos() const {
  if (index == 0 || !tok().firstOnLine)
    return tok().pos;
  const Token &previous = tokens[index - 1];
  SourcePos pos = previous.pos;
  pos.column += previous.text.size();
  return pos;
}

std::string Parser::gotText() const {
  if (index > 0 && tok().firstOnLine && !tok().is(TokenKind::Eof))
    return "the end of the line";
  return quote(tok());
}

void Parser::errorExpected(const llvm::Twine &what) {
  diags.error(expectedPos()) << "expected " << what << ", got " << gotText();
}

bool Parser::expect(TokenKind kind, const llvm::Twine &what) {
  if (consumeIf(kind))
    return true;
  errorExpected(what);
  return false;
}

bool Parser::isStatementStart() const {
  if (!tok().is(TokenKind::Identifier))
    return false;
  // `sink = 16` on a continuation line is an argument, not a statement.
  if (peekTok().is(TokenKind::Assign))
    return false;
  return llvm::is_contained(statementNames(), tok().text);
}

void Parser::recoverToStatement() {
  while (!tok().is(TokenKind::Eof) && !tok().is(TokenKind::RBrace)) {
    // A name starting a line starts a statement, unless it continues the
    // previous one: `name = value` arguments and `and`/`or` conditions do.
    // A misspelt statement name thus ends the skip and is reported.
    if (tok().firstOnLine && tok().is(TokenKind::Identifier) &&
        !peekTok().is(TokenKind::Assign) && !tok().isIdentifier("and") &&
        !tok().isIdentifier("or"))
      return;
    consume();
  }
}

//===----------------------------------------------------------------------===//
// File and patterns
//===----------------------------------------------------------------------===//

void Parser::parseFile() {
  while (!tok().is(TokenKind::Eof) && !diags.tooMany()) {
    if (tok().isIdentifier("pattern")) {
      parsePattern();
      continue;
    }
    if (tok().is(TokenKind::RBrace)) {
      diags.error(tok().pos, "unexpected '}' outside a pattern");
    } else if (isStatementStart()) {
      diags.error(tok().pos) << "'" << tok().text
                             << "' must be inside a pattern: write "
                                "'pattern NAME(PARAMS) { ... }' around it";
    } else {
      errorExpected("'pattern' to start a pattern");
    }
    consume();
    while (!tok().is(TokenKind::Eof) &&
           !(tok().firstOnLine && tok().isIdentifier("pattern")))
      consume();
  }
  if (patternNames.empty() && diags.errorCount() == 0)
    diags.error(tok().pos, "the file defines no pattern; write "
                           "'pattern NAME(PARAMS) { STATEMENTS }'");
}

void Parser::parsePattern() {
  PatternState state;
  state.pos = tok().pos;
  unsigned errorsBefore = diags.errorCount();
  consume(); // 'pattern'

  if (tok().is(TokenKind::Identifier) &&
      !llvm::is_contained(kReserved, tok().text)) {
    state.name = tok().text.str();
    auto [it, inserted] = patternNames.try_emplace(state.name, tok().pos);
    if (!inserted)
      diags.error(tok().pos) << "pattern '" << state.name
                             << "' is already defined at " << where(it->second);
    consume();
  } else {
    errorExpected("a pattern name after 'pattern'");
  }
  if (tok().is(TokenKind::LParen))
    parseParams(state);

  // Find the body even after a broken header, to check its statements too.
  if (!tok().is(TokenKind::LBrace)) {
    errorExpected("'{' to open the body of the pattern");
    while (!tok().is(TokenKind::Eof) && !tok().is(TokenKind::LBrace) &&
           !(tok().firstOnLine && tok().isIdentifier("pattern")))
      consume();
    if (!tok().is(TokenKind::LBrace))
      return;
  }
  SourcePos open = tok().pos;
  consume();

  mlir::NamedAttrList defaults;
  for (const ParamInfo &param : state.params.all())
    defaults.append(
        param.name,
        param.isInt ? Attribute(builder.getI64IntegerAttr(param.intDefault))
                    : Attribute(builder.getF64FloatAttr(param.floatDefault)));
  builder.setInsertionPointToEnd(module.getBody());
  state.op = ir::PatternOp::create(builder, diags.loc(state.pos),
                                   state.name.empty() ? "unnamed" : state.name,
                                   defaults.getDictionary(builder.getContext()),
                                   builder.getI64IntegerAttr(kDefaultBlock),
                                   /*causal=*/false);
  builder.createBlock(&state.op.getBody());

  parseBody(state, open);

  if (diags.errorCount() == errorsBefore) {
    if (state.op.getBody().front().empty())
      diags.error(state.pos)
          << "pattern '" << state.name
          << "' keeps no key: every query would attend to nothing; add a "
             "primitive such as 'window 1 blocks'";
    if (state.block) {
      state.op.setBlockAttr(state.block);
    } else if (const ParamInfo *block = state.params.lookup("block")) {
      // A parameter named `block` is the block size unless a `block`
      // statement says otherwise, so that `--set block=64` retiles.
      if (block->isInt)
        state.op.setBlockAttr(
            ir::ParamAttr::get(builder.getContext(), "block"));
      else
        diags.error(block->pos)
            << "parameter 'block' is the pattern's block size and must "
               "default to an integer, got "
            << formatNumber(block->floatDefault);
    }
    state.op.setCausal(state.causalPos.has_value());
    if (state.softcap)
      state.op.setSoftcapAttr(state.softcap);
    state.op.setAlibi(state.alibiPos.has_value());
  }
  if (diags.errorCount() != errorsBefore)
    state.op.erase();
}

void Parser::parseParams(PatternState &state) {
  consume(); // '('
  while (!tok().is(TokenKind::RParen) && !diags.tooMany()) {
    const Token name = tok();
    bool ok = false;
    if (!name.is(TokenKind::Identifier)) {
      errorExpected("a parameter name");
    } else if (llvm::is_contained(kReserved, name.text)) {
      diags.error(name.pos) << "'" << name.text
                            << "' is a reserved word and cannot name a "
                               "parameter";
    } else {
      consume();
      if (!tok().is(TokenKind::Assign)) {
        errorExpected("'=' and a default after parameter '" + name.text +
                      "' (every parameter has a default)");
      } else {
        consume();
        ExprPtr value = parseExpr();
        std::optional<FoldedValue> folded;
        if (value)
          folded = foldValue(*value, /*params=*/nullptr, diags);
        ParamInfo info;
        info.name = name.text.str();
        info.pos = name.pos;
        if (folded) {
          info.isInt = folded->kind == FoldedValue::Int;
          info.intDefault = folded->intValue;
          info.floatDefault = folded->floatValue;
          ok = true;
        }
        if (const ParamInfo *previous = state.params.lookup(info.name)) {
          diags.error(name.pos)
              << "parameter '" << info.name << "' is already declared at "
              << where(previous->pos);
          ok = false;
        } else {
          // Declared even when its default is broken, so that uses of it do
          // not add "unknown parameter" errors.
          state.params.add(std::move(info));
        }
      }
    }
    if (ok && consumeIf(TokenKind::Comma))
      continue;
    if (ok && tok().is(TokenKind::RParen))
      break;
    if (ok)
      errorExpected("',' or ')' after a parameter");
    // Skip the rest of this parameter.
    while (!tok().is(TokenKind::Eof) && !tok().is(TokenKind::Comma) &&
           !tok().is(TokenKind::RParen) && !tok().is(TokenKind::LBrace))
      consume();
    if (!consumeIf(TokenKind::Comma))
      break;
  }
  consumeIf(TokenKind::RParen);
}

void Parser::parseBody(PatternState &state, SourcePos open) {
  while (!diags.tooMany()) {
    if (consumeIf(TokenKind::RBrace))
      return;
    if (tok().is(TokenKind::Eof)) {
      errorExpected("'}' to close pattern '" + state.name + "' opened at " +
                    where(open));
      return;
    }
    if (tok().firstOnLine && tok().isIdentifier("pattern")) {
      diags.error(expectedPos())
          << "expected '}' to close pattern '" << state.name << "' opened at "
          << where(open) << " before the next pattern";
      return;
    }
    size_t start = index;
    if (!parseStatement(state)) {
      if (index == start)
        consume();
      recoverToStatement();
    }
  }
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

bool Parser::parseStatement(PatternState &state) {
  const Token keyword = tok();
  if (!keyword.is(TokenKind::Identifier) ||
      !llvm::is_contained(statementNames(), keyword.text) ||
      peekTok().is(TokenKind::Assign)) {
    mlir::InFlightDiagnostic diag = diags.error(keyword.pos);
    if (!keyword.firstOnLine) {
      diag << "unexpected " << quote(keyword)
           << " after the end of a statement; write one statement per line";
    } else if (keyword.is(TokenKind::Identifier)) {
      diag << "unknown statement '" << keyword.text << "'";
      if (llvm::StringRef hint = closestMatch(keyword.text, statementNames());
          !hint.empty())
        diag << "; did you mean '" << hint << "'?";
      else
        diag << "; statements are: "
             << llvm::join(statementNames().begin(), statementNames().end(),
                           ", ");
    } else {
      diag << "expected a statement or '}', got " << quote(keyword);
    }
    return false;
  }
  consume();
  llvm::StringRef name = keyword.text;
  if (name == "causal")
    return parseCausal(state, keyword);
  if (name == "softcap")
    return parseSoftcap(state, keyword);
  if (name == "alibi")
    return parseAlibi(state, keyword);
  if (name == "block")
    return parseBlock(state, keyword);
  if (name == "sink")
    return parseSink(state, keyword);
  if (name == "window")
    return parseWindow(state, keyword);
  if (name == "strides")
    return parseStrides(state, keyword);
  if (name == "columns" || name == "diagonals")
    return parseBlockList(state, keyword);
  if (name == "keep")
    return parseKeep(state, keyword);
  if (name == "input")
    return parseInput(state, keyword);
  if (name == "stripes")
    return parseStripes(state, keyword);
  if (name == "tree_search")
    return parseTreeSearch(state, keyword);
  if (name == "topk")
    return parseTopk(state, keyword);
  return parsePermute(state, keyword);
}

bool Parser::parseCausal(PatternState &state, const Token &keyword) {
  if (state.causalPos) {
    diags.error(keyword.pos)
        << "'causal' is already given at " << where(*state.causalPos);
    return false;
  }
  state.causalPos = keyword.pos;
  return true;
}

bool Parser::parseSoftcap(PatternState &state, const Token &keyword) {
  ExprPtr expr = parseExpr();
  if (!expr)
    return false;
  std::optional<FoldedValue> folded = foldValue(*expr, &state.params, diags);
  if (!folded)
    return false;
  if (state.softcapPos) {
    diags.error(keyword.pos)
        << "'softcap' is already given at " << where(*state.softcapPos);
    return false;
  }
  // A literal is checked here, a parameter by the dialect's verifier (its
  // value may be set by the caller).
  double literal = folded->kind == FoldedValue::Int
                       ? static_cast<double>(folded->intValue)
                       : folded->floatValue;
  if (folded->kind != FoldedValue::Param &&
      !(literal > 0.0 && std::isfinite(literal))) {
    diags.error(folded->pos)
        << "the soft cap must be a number > 0, got " << formatNumber(literal);
    return false;
  }
  state.softcapPos = keyword.pos;
  state.softcap = toFloatAttr(*folded);
  return true;
}

bool Parser::parseAlibi(PatternState &state, const Token &keyword) {
  if (state.alibiPos) {
    diags.error(keyword.pos)
        << "'alibi' is already given at " << where(*state.alibiPos);
    return false;
  }
  state.alibiPos = keyword.pos;
  return true;
}

bool Parser::parseBlock(PatternState &state, const Token &keyword) {
  Attribute value = parseIntValue(state, "the block size");
  if (!value)
    return false;
  if (state.blockPos) {
    diags.error(keyword.pos)
        << "the block size is already set at " << where(*state.blockPos);
    return false;
  }
  state.blockPos = keyword.pos;
  state.block = value;
  return true;
}

bool Parser::parseSink(PatternState &state, const Token &keyword) {
  Attribute tokens = parseIntValue(state, "the sink size");
  if (!tokens)
    return false;
  if (tok().isIdentifier("blocks")) {
    diags.error(tok().pos, "a sink is counted in tokens: write "
                           "'sink N tokens' (one block of B tokens is "
                           "'sink B tokens')");
    return false;
  }
  // The unit is optional: a sink is always counted in tokens.
  if (tok().isIdentifier("tokens") && !peekTok().is(TokenKind::Assign))
    consume();
  ir::SinkOp::create(builder, diags.loc(keyword.pos), tokens);
  return true;
}

bool Parser::parseWindow(PatternState &state, const Token &keyword) {
  ExprPtr size = parseExpr();
  if (!size)
    return false;
  std::optional<FoldedValue> folded = foldValue(*size, &state.params, diags);
  if (!folded)
    return false;
  std::optional<llvm::StringRef> unit =
      parseWord({"tokens", "blocks", "fraction"}, "after the window size");
  if (!unit)
    return false;
  Attribute value;
  ir::WindowUnit kind = ir::WindowUnit::fraction;
  if (*unit == "fraction") {
    value = toFloatAttr(*folded);
  } else {
    kind = *unit == "tokens" ? ir::WindowUnit::tokens : ir::WindowUnit::blocks;
    value = toIntAttr(*folded, "a window in " + *unit);
  }
  if (!value)
    return false;
  ir::WindowOp::create(builder, diags.loc(keyword.pos), value,
                       ir::WindowUnitAttr::get(builder.getContext(), kind));
  return true;
}

bool Parser::parseStrides(PatternState &state, const Token &keyword) {
  mlir::MLIRContext *ctx = builder.getContext();
  mlir::Location loc = diags.loc(keyword.pos);
  if (tok().isIdentifier("pow2")) {
    consume();
    ir::StridesOp::create(builder, loc,
                          ir::StrideKindAttr::get(ctx, ir::StrideKind::pow2),
                          Attribute(), mlir::DenseI64ArrayAttr());
    return true;
  }
  if (tok().isIdentifier("every")) {
    consume();
    Attribute every = parseIntValue(state, "the stride");
    if (!every)
      return false;
    ir::StridesOp::create(builder, loc,
                          ir::StrideKindAttr::get(ctx, ir::StrideKind::every),
                          every, mlir::DenseI64ArrayAttr());
    return true;
  }
  // docs/patterns.md writes `strides list [...]`; the word is optional.
  if (tok().isIdentifier("list") && peekTok().is(TokenKind::LSquare))
    consume();
  if (!tok().is(TokenKind::LSquare)) {
    errorExpected("'pow2', 'every N' or a list '[d1, d2, ...]' after "
                  "'strides'");
    return false;
  }
  std::optional<llvm::SmallVector<int64_t>> distances =
      parseIntList("stride distance");
  if (!distances)
    return false;
  ir::StridesOp::create(builder, loc,
                        ir::StrideKindAttr::get(ctx, ir::StrideKind::list),
                        Attribute(), builder.getDenseI64ArrayAttr(*distances));
  return true;
}

bool Parser::parseBlockList(PatternState &state, const Token &keyword) {
  bool isColumns = keyword.text == "columns";
  if (!tok().is(TokenKind::LSquare)) {
    errorExpected(llvm::Twine("a list of ") +
                  (isColumns ? "key blocks" : "block diagonals") +
                  " '[a, b, ...]' after '" + keyword.text + "'");
    return false;
  }
  std::optional<llvm::SmallVector<int64_t>> values =
      parseIntList(isColumns ? "column" : "diagonal");
  if (!values)
    return false;
  mlir::Location loc = diags.loc(keyword.pos);
  if (isColumns)
    ir::ColumnsOp::create(builder, loc, *values);
  else
    ir::DiagonalsOp::create(builder, loc, *values);
  return true;
}

/// The first name `expr` reads, if any.
static const Expr *findName(const Expr &expr) {
  if (expr.kind == ExprKind::Name)
    return &expr;
  for (const ExprPtr &operand : expr.operands)
    if (const Expr *name = findName(*operand))
      return name;
  return nullptr;
}

std::optional<llvm::SmallVector<int64_t>>
Parser::parseIntList(llvm::StringRef what) {
  SourcePos open = tok().pos;
  consume(); // '['
  llvm::SmallVector<int64_t> values;
  llvm::SmallSet<int64_t, 8> seen;
  bool ok = true;
  // Negative diagonals keep future blocks; the other lists count forward.
  bool allowNegative = what == "diagonal";
  if (tok().is(TokenKind::RSquare)) {
    diags.error(tok().pos) << "the " << what
                           << " list is empty; give at least one";
    consume();
    return std::nullopt;
  }
  do {
    ExprPtr element = parseExpr();
    if (!element)
      return std::nullopt;
    // No parameters: the IR stores a list as constants.
    ParamTable noParams;
    if (const Expr *name = findName(*element)) {
      diags.error(name->pos)
          << "a list holds numbers only, got '" << name->name
          << "': the IR stores lists as constants, so parameters cannot "
             "appear in them";
      ok = false;
      continue;
    }
    std::optional<FoldedValue> folded = foldValue(*element, &noParams, diags);
    if (!folded) {
      ok = false;
      continue;
    }
    if (folded->kind != FoldedValue::Int) {
      diags.error(folded->pos) << "a " << what << " must be an integer, got "
                               << formatNumber(folded->floatValue);
      ok = false;
      continue;
    }
    if (!allowNegative && folded->intValue < 0) {
      diags.error(folded->pos)
          << "a " << what << " must be >= 0, got " << folded->intValue;
      ok = false;
      continue;
    }
    if (!seen.insert(folded->intValue).second) {
      diags.error(folded->pos)
          << "duplicate " << what << " " << folded->intValue;
      ok = false;
      continue;
    }
    values.push_back(folded->intValue);
  } while (consumeIf(TokenKind::Comma) && !tok().is(TokenKind::RSquare));
  if (!expect(TokenKind::RSquare,
              "',' or ']' to close the list opened at " + where(open)))
    return std::nullopt;
  if (!ok)
    return std::nullopt;
  return values;
}

bool Parser::parseInput(PatternState &state, const Token &keyword) {
  const Token name = tok();
  if (!name.is(TokenKind::Identifier) ||
      llvm::is_contained(kReserved, name.text)) {
    errorExpected("an input name after 'input' (input NAME: i32[b, s])");
    return false;
  }
  consume();
  if (!expect(TokenKind::Colon, "':' and the input's type after '" + name.text +
                                    "' (input NAME: i32[b, s])"))
    return false;
  if (!tok().isIdentifier("i32")) {
    errorExpected("'i32' (run-time inputs are 32-bit integers)");
    return false;
  }
  consume();
  if (!expect(TokenKind::LSquare, "'[' and the input's dimensions"))
    return false;
  llvm::SmallVector<Attribute> dims;
  do {
    const Token dim = tok();
    if (dim.is(TokenKind::Identifier) &&
        llvm::is_contained({"b", "h", "s"}, dim.text)) {
      dims.push_back(builder.getStringAttr(dim.text));
    } else if (int64_t size = 0; dim.is(TokenKind::Integer) &&
                                 !dim.text.getAsInteger(10, size) &&
                                 size >= 1) {
      dims.push_back(builder.getI64IntegerAttr(size));
    } else {
      errorExpected("a dimension: b (batch), h (query heads), s (key "
                    "tokens) or a size >= 1");
      return false;
    }
    consume();
  } while (consumeIf(TokenKind::Comma));
  if (!expect(TokenKind::RSquare, "',' or ']' after a dimension"))
    return false;
  if (state.params.lookup(name.text)) {
    diags.error(name.pos) << "'" << name.text
                          << "' is already a parameter of this pattern";
    return false;
  }
  if (auto previous = state.inputPos.find(name.text);
      previous != state.inputPos.end()) {
    diags.error(name.pos) << "input '" << name.text
                          << "' is already declared at "
                          << where(previous->second);
    return false;
  }
  state.inputPos[name.text] = name.pos;
  llvm::SmallVector<Attribute> inputs;
  if (mlir::ArrayAttr declared = state.op.getInputsAttr())
    llvm::append_range(inputs, declared.getValue());
  inputs.push_back(ir::InputAttr::get(builder.getContext(), name.text,
                                      builder.getArrayAttr(dims)));
  state.op.setInputsAttr(builder.getArrayAttr(inputs));
  return true;
}

bool Parser::parseKeep(PatternState &state, const Token &keyword) {
  if (!tok().isIdentifier("where")) {
    errorExpected("'where' after 'keep' (keep where CONDITION)");
    return false;
  }
  consume();
  ExprPtr predicate = parseExpr();
  if (!predicate)
    return false;
  auto keep = ir::KeepOp::create(builder, diags.loc(keyword.pos));
  if (!lowerKeepPredicate(*predicate, state.params, keep, diags)) {
    keep.erase();
    return false;
  }
  return true;
}

std::optional<llvm::StringRef>
Parser::parseWord(llvm::ArrayRef<llvm::StringRef> words,
                  const llvm::Twine &context) {
  if (tok().is(TokenKind::Identifier) &&
      llvm::is_contained(words, tok().text)) {
    llvm::StringRef word = tok().text;
    consume();
    return word;
  }
  std::string list;
  for (auto [i, word] : llvm::enumerate(words)) {
    if (i)
      list += i + 1 == words.size() ? " or " : ", ";
    list += "'" + word.str() + "'";
  }
  mlir::InFlightDiagnostic diag = diags.error(expectedPos());
  diag << "expected " << list << " " << context << ", got " << gotText();
  if (tok().is(TokenKind::Identifier) && !tok().firstOnLine)
    if (llvm::StringRef hint = closestMatch(tok().text, words); !hint.empty())
      diag << "; did you mean '" << hint << "'?";
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Dynamic statements
//===----------------------------------------------------------------------===//

bool Parser::parseArguments(PatternState &state, const Token &keyword,
                            llvm::MutableArrayRef<Argument> arguments) {
  bool ok = true;
  llvm::StringMap<SourcePos> given;
  llvm::SmallVector<llvm::StringRef> names;
  for (const Argument &argument : arguments)
    names.push_back(argument.name);
  while (tok().is(TokenKind::Identifier) && !diags.tooMany()) {
    const Token name = tok();
    Argument *argument = llvm::find_if(
        arguments, [&](const Argument &a) { return a.name == name.text; });
    if (!peekTok().is(TokenKind::Assign)) {
      // A known argument without '=' on the statement's line is a slip;
      // anything else is the next statement.
      if (argument == arguments.end() || name.firstOnLine)
        break;
      consume();
      errorExpected("'=' after argument '" + name.text + "'");
      return false;
    }
    consume();
    consume(); // '='
    ExprPtr value = parseExpr();
    if (argument == arguments.end()) {
      mlir::InFlightDiagnostic diag = diags.error(name.pos);
      diag << "unknown argument '" << name.text << "' of '" << keyword.text
           << "'";
      if (llvm::StringRef hint = closestMatch(name.text, names); !hint.empty())
        diag << "; did you mean '" << hint << "'?";
      else if (name.text == "block" && keyword.text == "stripes")
        diag << "; stripes use the pattern's block size, set with 'block N'";
      else
        diag << "; its arguments are: "
             << llvm::join(names.begin(), names.end(), ", ");
      ok = false;
    } else if (auto [it, inserted] = given.try_emplace(name.text, name.pos);
               !inserted) {
      diags.error(name.pos) << "argument '" << name.text
                            << "' is already given at " << where(it->second);
      ok = false;
    } else if (value) {
      std::optional<FoldedValue> folded =
          foldValue(*value, &state.params, diags);
      if (folded)
        argument->value = argument->isInt
                              ? toIntAttr(*folded, "'" + name.text + "'")
                              : toFloatAttr(*folded);
      ok &= bool(argument->value);
    }
    if (!value)
      return false;
    if (consumeIf(TokenKind::Comma) &&
        !(tok().is(TokenKind::Identifier) && peekTok().is(TokenKind::Assign))) {
      errorExpected("an argument 'NAME = VALUE' after ','");
      return false;
    }
  }
  for (Argument &argument : arguments)
    if (!argument.value)
      argument.value =
          argument.isInt
              ? Attribute(builder.getI64IntegerAttr(
                    static_cast<int64_t>(argument.defaultValue)))
              : Attribute(builder.getF64FloatAttr(argument.defaultValue));
  return ok;
}

bool Parser::parseStripes(PatternState &state, const Token &keyword) {
  Argument arguments[] = {{"segments", true, 8, {}},
                          {"rows", true, 64, {}},
                          {"cover", false, 0.95, {}},
                          {"window_frac", false, 0.05, {}}};
  if (!parseArguments(state, keyword, arguments))
    return false;
  ir::StripesOp::create(builder, diags.loc(keyword.pos), arguments[0].value,
                        arguments[1].value, arguments[2].value,
                        arguments[3].value);
  return true;
}

bool Parser::parseTreeSearch(PatternState &state, const Token &keyword) {
  Argument arguments[] = {{"block_q", true, 64, {}}, {"block_k", true, 2, {}},
                          {"k", true, 512, {}},      {"q_stride", true, 2, {}},
                          {"sink", true, 16, {}},    {"window", true, 256, {}}};
  if (!parseArguments(state, keyword, arguments))
    return false;
  ir::TreeSearchOp::create(builder, diags.loc(keyword.pos), arguments[0].value,
                           arguments[1].value, arguments[2].value,
                           arguments[3].value, arguments[4].value,
                           arguments[5].value);
  return true;
}

bool Parser::parsePermute(PatternState &state, const Token &keyword) {
  Argument arguments[] = {{"segment", true, 256, {}},
                          {"probe", true, 128, {}},
                          {"block", true, 128, {}},
                          {"cover", false, 0.9, {}}};
  if (!parseArguments(state, keyword, arguments))
    return false;
  ir::PermuteOp::create(builder, diags.loc(keyword.pos), arguments[0].value,
                        arguments[1].value, arguments[2].value,
                        arguments[3].value);
  return true;
}

bool Parser::parseTopk(PatternState &state, const Token &keyword) {
  std::optional<llvm::StringRef> budget =
      parseWord({"k", "cover"}, "after 'topk' (topk k = N or topk cover = F)");
  if (!budget)
    return false;
  if (!expect(TokenKind::Assign, "'=' after '" + *budget + "'"))
    return false;
  Attribute k, cover;
  if (*budget == "k") {
    k = parseIntValue(state, "the top-k budget 'k'");
    if (!k)
      return false;
  } else {
    ExprPtr value = parseExpr();
    if (!value)
      return false;
    std::optional<FoldedValue> folded = foldValue(*value, &state.params, diags);
    if (!folded)
      return false;
    cover = toFloatAttr(*folded);
  }
  std::optional<llvm::StringRef> granularity =
      parseWord({"tokens", "blocks"}, "after the budget (what top-k selects)");
  if (!granularity)
    return false;
  if (!tok().isIdentifier("by")) {
    errorExpected("'by' and a score source after '" + *granularity + "'");
    return false;
  }
  consume();
  std::optional<llvm::StringRef> source =
      parseWord({"key_score", "linear", "pooled_qk"}, "after 'by'");
  if (!source)
    return false;
  mlir::MLIRContext *ctx = builder.getContext();
  ir::ScoreSource kind = *source == "key_score" ? ir::ScoreSource::key_score
                         : *source == "linear"  ? ir::ScoreSource::linear
                                                : ir::ScoreSource::pooled_qk;
  ir::TopkOp::create(
      builder, diags.loc(keyword.pos), k, cover,
      ir::GranularityAttr::get(ctx, *granularity == "tokens"
                                        ? ir::Granularity::tokens
                                        : ir::Granularity::blocks),
      ir::ScoreSourceAttr::get(ctx, kind));
  return true;
}

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

Attribute Parser::parseIntValue(PatternState &state, const llvm::Twine &what) {
  ExprPtr expr = parseExpr();
  if (!expr)
    return {};
  std::optional<FoldedValue> folded = foldValue(*expr, &state.params, diags);
  if (!folded)
    return {};
  return toIntAttr(*folded, what);
}

Attribute Parser::toIntAttr(const FoldedValue &value, const llvm::Twine &what) {
  switch (value.kind) {
  case FoldedValue::Int:
    return builder.getI64IntegerAttr(value.intValue);
  case FoldedValue::Float:
    diags.error(value.pos) << what << " must be an integer, got "
                           << formatNumber(value.floatValue);
    return {};
  case FoldedValue::Param:
    if (!value.param->isInt) {
      diags.error(value.pos) << what << " must be an integer, but parameter '"
                             << value.param->name << "' is fractional (default "
                             << formatNumber(value.param->floatDefault) << ")";
      return {};
    }
    return ir::ParamAttr::get(builder.getContext(), value.param->name);
  }
  return {};
}

Attribute Parser::toFloatAttr(const FoldedValue &value) {
  switch (value.kind) {
  case FoldedValue::Int:
    return builder.getF64FloatAttr(static_cast<double>(value.intValue));
  case FoldedValue::Float:
    return builder.getF64FloatAttr(value.floatValue);
  case FoldedValue::Param:
    return ir::ParamAttr::get(builder.getContext(), value.param->name);
  }
  return {};
}

} // namespace sattn::dsl
