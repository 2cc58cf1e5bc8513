//===- Passes.h - sattn's per-target conversions ----------------*- C++ -*-===//

#ifndef SATTN_CODEGEN_PASSES_H
#define SATTN_CODEGEN_PASSES_H

#include "passes/PassDialects.h"

#include "mlir/Pass/Pass.h"

namespace mlir::sattn {

#define GEN_PASS_DECL
#include "codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/Passes.h.inc"

} // namespace mlir::sattn

#endif // SATTN_CODEGEN_PASSES_H
