//===- Lexer.h - Tokenizer of the .sattn pattern language -------*- C++ -*-===//

#ifndef SATTN_PATTERNS_DSL_LEXER_H
#define SATTN_PATTERNS_DSL_LEXER_H

#include "patterns/dsl/Diagnostics.h"
#include "patterns/dsl/Token.h"

#include <vector>

namespace sattn::dsl {

/// Splits `source` into tokens, ending with one Eof token. `#` starts a comment
/// that runs to the end of the line. Characters that start no token are
/// reported and skipped, so the parser always sees a well-formed stream; a
/// few habits from other languages (`&&`, `||`, `!`) are reported with the
/// spelling to use and replaced by it.
std::vector<Token> lex(llvm::StringRef source, Diagnostics &diags);

} // namespace sattn::dsl

#endif // SATTN_PATTERNS_DSL_LEXER_H
