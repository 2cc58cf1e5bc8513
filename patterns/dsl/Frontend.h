//===- Frontend.h - The .sattn language to the sattn dialect ----*- C++ -*-===//
//
// Entry point of the pattern language of docs/dsl.md. PatternLoader calls it
// for files ending in `.sattn`.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PATTERNS_DSL_FRONTEND_H
#define SATTN_PATTERNS_DSL_FRONTEND_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace sattn::dsl {

/// Parses `.sattn` source into a module of verified `sattn.pattern` ops whose
/// locations point into `bufferName`. Every error is emitted as an MLIR
/// diagnostic on the context; the returned error names the buffer and says
/// how many there were. Never asserts or crashes on malformed input.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
parseSattnSource(llvm::StringRef source, llvm::StringRef bufferName,
                 mlir::MLIRContext &context);

} // namespace sattn::dsl

#endif // SATTN_PATTERNS_DSL_FRONTEND_H
