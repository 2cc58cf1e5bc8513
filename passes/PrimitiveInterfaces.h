//===- PrimitiveInterfaces.h - Primitives as the lowering sees them -*- C++
//-*-===//

#ifndef SATTN_PASSES_PRIMITIVEINTERFACES_H
#define SATTN_PASSES_PRIMITIVEINTERFACES_H

#include "passes/KeySource.h"

#include "sattn/KernelAbi.h"
#include "sattn/SizeExpr.h"

#include <array>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mlir::sattn {

/// What a primitive requires of the query tiles (KeySourcePrimitive).
struct TileConstraint {
  /// Tiles must not straddle blocks of this many rows (0: no constraint).
  int64_t block = 0;
  /// The blocks follow local row indices i instead of positions p(i).
  bool local = false;
};

/// Elements of each workspace slot, as sizes over the call.
using WorkspaceSizes =
    std::array<::sattn::SizeExpr, ::sattn::kNumWorkspaceSlots>;

/// Optional run-time inputs a primitive reads.
struct RequiredInputs {
  bool keyScores = false;
  bool weights = false;
};

} // namespace mlir::sattn

#include "passes/PrimitiveInterfaces.h.inc"

namespace mlir::sattn {

/// Attaches every primitive's KeySourcePrimitive and SelectionPrimitive
/// models (passes/primitives/).
void registerPrimitiveModels(DialectRegistry &registry);

} // namespace mlir::sattn

#endif // SATTN_PASSES_PRIMITIVEINTERFACES_H
