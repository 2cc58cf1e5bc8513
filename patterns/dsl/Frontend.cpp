//===- Frontend.cpp - The .sattn pattern language to the sattn dialect ----===//

#include "patterns/dsl/Frontend.h"

#include "patterns/dsl/Diagnostics.h"
#include "patterns/dsl/Lexer.h"
#include "patterns/dsl/Parser.h"

#include "dialect/SattnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Verifier.h"

namespace sattn::dsl {

/// Verifies each primitive on its own, so that one file reports every range
/// error (the verifier stops at the first), then each pattern. Returns the
/// number of ops that failed.
static unsigned verifyPatterns(mlir::ModuleOp module) {
  unsigned failures = 0;
  for (auto pattern : module.getOps<mlir::sattn::PatternOp>()) {
    unsigned before = failures;
    for (mlir::Operation &op : pattern.getBody().front())
      failures += mlir::failed(mlir::verify(&op));
    if (failures == before)
      failures += mlir::failed(mlir::verify(pattern));
  }
  return failures;
}

llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
parseSattnSource(llvm::StringRef source, llvm::StringRef bufferName,
                 mlir::MLIRContext &context) {
  context.loadDialect<mlir::sattn::SattnDialect, mlir::arith::ArithDialect>();
  Diagnostics diags(context, bufferName);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(mlir::FileLineColLoc::get(&context, bufferName,
                                                       /*line=*/1,
                                                       /*column=*/1));
  std::vector<Token> tokens = lex(source, diags);
  Parser(std::move(tokens), diags, *module).parseFile();
  // Patterns with front-end errors were dropped; check the others' ranges.
  for (unsigned i = 0, e = verifyPatterns(*module); i < e; ++i)
    diags.countExternal();
  unsigned errors = diags.errorCount();
  if (errors == 0)
    return std::move(module);
  std::string message =
      ("cannot compile pattern file '" + bufferName +
       "': " + llvm::Twine(errors) + (errors == 1 ? " error" : " errors"))
          .str();
  if (errors > Diagnostics::kMaxErrors)
    message += " (the first " + std::to_string(Diagnostics::kMaxErrors) +
               " shown, and " + std::to_string(errors - Diagnostics::kMaxErrors) +
               " more)";
  if (diags.tooMany())
    message += " (stopped early)";
  return llvm::createStringError(message);
}

} // namespace sattn::dsl
