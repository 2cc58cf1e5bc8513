//===- SattnDialect.cpp - sattn dialect registration ----------------------===//

#include "dialect/SattnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::sattn;

/// `cpu` or `gpu`; the error lists the choices (the generated parser would
/// name the C++ enum).
static ParseResult parseKernelTarget(AsmParser &parser, KernelTarget &target) {
  llvm::SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (failed(parser.parseOptionalKeyword(&keyword)))
    return parser.emitError(loc, "expected a target: cpu or gpu");
  std::optional<KernelTarget> value = symbolizeKernelTarget(keyword);
  if (!value)
    return parser.emitError(loc, "expected a target: cpu or gpu; got '")
           << keyword << "'";
  target = *value;
  return success();
}

static void printKernelTarget(AsmPrinter &printer, KernelTarget target) {
  printer << stringifyKernelTarget(target);
}

#include "dialect/SattnDialect.cpp.inc"
#include "dialect/SattnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/SattnAttrs.cpp.inc"

//===----------------------------------------------------------------------===//
// Schedule attributes
//===----------------------------------------------------------------------===//

LogicalResult StageAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                StringRef function, int64_t primitive,
                                GridKind grid, int64_t queryBlock,
                                BlockOrigin blocks, int64_t threads,
                                int64_t split) {
  if (function.empty())
    return emitError() << "a stage needs a function name";
  if (primitive < 0)
    return emitError() << "stage '" << function
                       << "': primitive index must be >= 0, got " << primitive;
  if (threads < 1)
    return emitError() << "stage '" << function
                       << "': threads must be >= 1, got " << threads;
  if (split < 1)
    return emitError() << "stage '" << function
                       << "': split must be >= 1, got " << split;
  if ((grid == GridKind::query_blocks) != (queryBlock >= 1))
    return emitError() << "stage '" << function
                       << "': a query_blocks grid needs query_block >= 1, "
                          "other grids none; got "
                       << queryBlock;
  if (grid != GridKind::query_blocks && blocks != BlockOrigin::absolute)
    return emitError() << "stage '" << function
                       << "': only a query_blocks grid has block alignment";
  return success();
}

LogicalResult ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   int64_t tileQ, int64_t chunk,
                                   BlockOrigin tiles, ArrayRef<int64_t> sources,
                                   ArrayRef<StageAttr> stages,
                                   StringRef attention) {
  if (tileQ < 1 || !llvm::isPowerOf2_64(tileQ))
    return emitError() << "tile_q must be a power of two, got " << tileQ;
  if (chunk < 1)
    return emitError() << "chunk must be >= 1, got " << chunk;
  if (attention.empty())
    return emitError() << "the schedule needs an attention function name";
  llvm::SmallDenseSet<int64_t> seen;
  for (int64_t source : sources)
    if (source < 0 || !seen.insert(source).second)
      return emitError() << "sources must be distinct primitive indices >= 0, "
                            "got "
                         << source;
  llvm::StringSet<> names;
  names.insert(attention);
  for (StageAttr stage : stages) {
    if (!seen.contains(stage.getPrimitive()))
      return emitError() << "stage '" << stage.getFunction()
                         << "' computes primitive " << stage.getPrimitive()
                         << ", which is not a key source";
    if (!names.insert(stage.getFunction()).second)
      return emitError() << "function name '" << stage.getFunction()
                         << "' is used twice";
  }
  return success();
}

void SattnDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/SattnAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialect/SattnOps.cpp.inc"
      >();
}
