//===- Passes.h - sattn passes ----------------------------------*- C++ -*-===//

#ifndef SATTN_PASSES_PASSES_H
#define SATTN_PASSES_PASSES_H

#include "passes/PassDialects.h"

#include "mlir/Pass/Pass.h"

namespace mlir::sattn {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace mlir::sattn

#endif // SATTN_PASSES_PASSES_H
