//===- TileDialect.cpp - The sattn_tile dialect ---------------------------===//

#include "dialect/tile/TileDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::sattn::tile;

#include "dialect/tile/TileDialect.cpp.inc"
#include "dialect/tile/TileEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/tile/TileAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialect/tile/TileTypes.cpp.inc"

#define GET_OP_CLASSES
#include "dialect/tile/TileOps.cpp.inc"

namespace {
/// Prints tile and scores types once, as aliases (`!tile = ...`): every op
/// of a tile program names them.
struct TileAsmInterface : public OpAsmDialectInterface {
  using OpAsmDialectInterface::OpAsmDialectInterface;
  AliasResult getAlias(Type type, raw_ostream &os) const override {
    if (isa<TileType>(type)) {
      os << "tile";
      return AliasResult::OverridableAlias;
    }
    if (isa<ScoresType>(type)) {
      os << "scores";
      return AliasResult::OverridableAlias;
    }
    return AliasResult::NoAlias;
  }
};
} // namespace

void SattnTileDialect::initialize() {
  addInterfaces<TileAsmInterface>();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/tile/TileAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialect/tile/TileTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialect/tile/TileOps.cpp.inc"
      >();
}

LogicalResult SattnTileDialect::verifyOperationAttribute(Operation *op,
                                                         NamedAttribute attr) {
  if (attr.getName() == kDynamicSharedBytesAttrName) {
    auto bytes = dyn_cast<IntegerAttr>(attr.getValue());
    if (!bytes || bytes.getInt() < 1)
      return op->emitError(kDynamicSharedBytesAttrName)
             << " must be an integer >= 1";
    return success();
  }
  if (attr.getName() != kThreadsAttrName)
    return op->emitError("unknown sattn_tile attribute ") << attr.getName();
  auto threads = dyn_cast<IntegerAttr>(attr.getValue());
  if (!threads || threads.getInt() < 1)
    return op->emitError(kThreadsAttrName) << " must be an integer >= 1";
  return success();
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

LogicalResult TileType::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t rows, int64_t headDim, Type element,
                               int64_t chunk, LayoutAttr) {
  if (rows < 1 || headDim < 1 || chunk < 1)
    return emitError() << "rows, head_dim and chunk must be >= 1";
  if (!element.isF16() && !element.isBF16() && !element.isF32())
    return emitError() << "element must be f16, bf16 or f32, got " << element;
  return success();
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

/// The body has one block whose arguments are `count` indices.
static LogicalResult verifyIndexArgs(Operation *op, Region &body,
                                     unsigned count) {
  Block &block = body.front();
  if (block.getNumArguments() != count ||
      !llvm::all_of(block.getArgumentTypes(),
                    [](Type t) { return t.isIndex(); }))
    return op->emitOpError("body must take ") << count << " index arguments";
  return success();
}

/// The region ends with a sattn_tile.yield of one value of `type`.
static LogicalResult verifyYieldsOne(Operation *op, Region &region, Type type) {
  auto yield = dyn_cast<YieldOp>(region.front().getTerminator());
  if (!yield || yield.getValues().size() != 1 ||
      yield.getValues()[0].getType() != type)
    return op->emitOpError("region must yield one ") << type;
  return success();
}

LogicalResult ForItemsOp::verifyRegions() {
  return verifyIndexArgs(*this, getBody(), 1);
}

LogicalResult ForRowsOp::verifyRegions() {
  if (getRows() < 1)
    return emitOpError("rows must be >= 1, got ") << getRows();
  return verifyIndexArgs(*this, getBody(), 2);
}

LogicalResult CoopForOp::verifyRegions() {
  return verifyIndexArgs(*this, getBody(), 1);
}

LogicalResult AllocSharedOp::verify() {
  auto space =
      dyn_cast_if_present<gpu::AddressSpaceAttr>(getType().getMemorySpace());
  if (!space || space.getValue() != gpu::AddressSpace::Workgroup)
    return emitOpError("buffer must be in #gpu.address_space<workgroup>");
  if (std::optional<uint64_t> align = getAlignment())
    if (*align < 16 || !llvm::isPowerOf2_64(*align))
      return emitOpError("alignment must be a power of two >= 16, got ")
             << *align;
  return success();
}

LogicalResult DotsOp::verify() {
  auto shared = [](MemRefType type) {
    auto space =
        dyn_cast_if_present<gpu::AddressSpaceAttr>(type.getMemorySpace());
    return space && space.getValue() == gpu::AddressSpace::Workgroup;
  };
  MemRefType lhs = getLhs().getType(), rhs = getRhs().getType(),
             result = getResult().getType();
  for (MemRefType type : {lhs, rhs, result}) {
    if (type.getRank() != 2)
      return emitOpError("operands must be 2-D buffers, got ") << type;
    if (!shared(type))
      return emitOpError("operands must be in #gpu.address_space<workgroup>");
  }
  if (lhs.getElementType() != rhs.getElementType())
    return emitOpError("lhs and rhs must have one element type");
  if (!lhs.getElementType().isF32() && !lhs.getElementType().isF16() &&
      !lhs.getElementType().isBF16())
    return emitOpError("operands must be f32, f16 or bf16, got ")
           << lhs.getElementType();
  if (!result.getElementType().isF32())
    return emitOpError("result must be f32");
  const int64_t m = lhs.getDimSize(0), n = rhs.getDimSize(0);
  const int64_t depth = getDepth();
  if (depth < 1 || depth > lhs.getDimSize(1) || depth > rhs.getDimSize(1))
    return emitOpError("depth ")
           << depth << " must be in [1, the operands' row lengths]";
  if (result.getDimSize(0) != m || result.getDimSize(1) < n)
    return emitOpError("result must be [")
           << m << ", >= " << n << "], got " << result;
  if (getLayout() == Layout::mma_sync) {
    if (lhs.getElementType().isF32())
      return emitOpError("layout mma_sync needs f16 or bf16 operands");
    if (m % 16 || n % 8 || depth % 16)
      return emitOpError("layout mma_sync needs M and depth multiples of 16 "
                         "and N of 8, got M = ")
             << m << ", N = " << n << ", depth = " << depth;
    // Operands are read and results written as 32-bit / 64-bit pairs.
    if (lhs.getDimSize(1) % 2 || rhs.getDimSize(1) % 2 ||
        result.getDimSize(1) % 2)
      return emitOpError("layout mma_sync needs rows of even length");
  } else if (getLayout() != Layout::row) {
    return emitOpError("layout must be row or mma_sync");
  }
  return success();
}

LogicalResult BeginOp::verify() {
  if (!(getScale().convertToDouble() > 0))
    return emitOpError("scale must be positive");
  if (getBlock() < 1)
    return emitOpError("block must be >= 1, got ") << getBlock();
  return success();
}

LogicalResult ForChunksOp::verifyRegions() {
  Block &block = getBody().front();
  const unsigned carried = getInits().size();
  if (block.getNumArguments() != 2 + carried ||
      !block.getArgument(0).getType().isIndex() ||
      !block.getArgument(1).getType().isIndex())
    return emitOpError("body must take 2 index arguments and one per carried "
                       "value");
  if (TypeRange(ValueRange(block.getArguments().drop_front(2))) !=
          TypeRange(getInits()) ||
      getResultTypes() != TypeRange(getInits()))
    return emitOpError("carried values, body arguments and results must have "
                       "the same types");
  auto yield = cast<YieldOp>(block.getTerminator());
  if (TypeRange(yield.getValues()) != TypeRange(getInits()))
    return emitOpError("body must yield the carried values' types, got ")
           << yield.getValues().size() << " values";
  return success();
}

/// The layout of the tile `op` works on.
static LayoutAttr layoutOf(Value tile) {
  return cast<TileType>(tile.getType()).getLayout();
}

/// Whether `later` follows `op` in op's block.
static bool followsInBlock(Operation *op, Operation *later) {
  return later->getBlock() == op->getBlock() && op->isBeforeInBlock(later);
}

/// `slot`, when present, needs a layout with several staging slots.
static LogicalResult verifySlot(Operation *op, Value tile, Value slot) {
  LayoutAttr layout = layoutOf(tile);
  if (slot && layout.stagingSlots() < 2)
    return op->emitOpError("the ") << stringifyLayout(layout.getValue())
                                   << " layout has one staging slot";
  return success();
}

LogicalResult CopyOp::verify() {
  return verifySlot(*this, getTile(), getSlot());
}

LogicalResult QKWaitOp::verify() {
  auto qk = getPending().getDefiningOp<QKOp>();
  if (!qk || !qk.getAsync() || !followsInBlock(qk, *this))
    return emitOpError("must wait for an async sattn_tile.qk earlier in its "
                       "block");
  return success();
}

LogicalResult SoftmaxOp::verify() {
  if (!getDeferRescale())
    return success();
  if (!llvm::any_of(getProbabilities().getUsers(), [&](Operation *user) {
        return isa<RescaleOp>(user) && followsInBlock(*this, user);
      }))
    return emitOpError("with defer_rescale needs a sattn_tile.rescale of its "
                       "probabilities later in its block");
  return success();
}

LogicalResult RescaleOp::verify() {
  auto softmax = getProbabilities().getDefiningOp<SoftmaxOp>();
  if (!softmax || !softmax.getDeferRescale())
    return emitOpError("must rescale for a sattn_tile.softmax with "
                       "defer_rescale");
  return success();
}

LogicalResult PVOp::verify() {
  LayoutAttr layout = layoutOf(getTile());
  if (failed(verifySlot(*this, getTile(), getSlot())))
    return failure();
  if (!getAsync())
    return success();
  if (!layout.hasAsyncProducts())
    return emitOpError("async: the ") << stringifyLayout(layout.getValue())
                                      << " layout has no asynchronous products";
  for (Operation *op = getOperation()->getNextNode(); op;
       op = op->getNextNode()) {
    if (isa<PVWaitOp>(op))
      return success();
    if (isa<PVOp, StoreOp>(op))
      break;
  }
  return emitOpError("async needs a sattn_tile.pv_wait later in its block, "
                     "before the next pv or store");
}

LogicalResult RangeChunkOp::verify() {
  if (getChunk().getType().getKind() != ChunkKind::range)
    return emitOpError("result must be a !sattn_tile.chunk<range>");
  return success();
}

LogicalResult ListChunkOp::verify() {
  if (getChunk().getType().getKind() != ChunkKind::list)
    return emitOpError("result must be a !sattn_tile.chunk<list>");
  if (failed(verifyIndexArgs(*this, getKeys(), 1)))
    return failure();
  return verifyYieldsOne(*this, getKeys(), IndexType::get(getContext()));
}

LogicalResult QKOp::verify() {
  TileType tile = getTile().getType();
  ScoresType scores = getScores().getType();
  if (scores.getRows() != tile.getRows() ||
      scores.getChunk() != tile.getChunk() ||
      scores.getLayout() != tile.getLayout())
    return emitOpError("scores must have the tile's rows, chunk and layout");
  if (failed(verifySlot(*this, getTile(), getSlot())))
    return failure();
  if (!getAsync())
    return success();
  if (!tile.getLayout().hasAsyncProducts())
    return emitOpError("async: the ")
           << stringifyLayout(tile.getLayout().getValue())
           << " layout has no asynchronous products";
  if (!getScores().hasOneUse() || !isa<QKWaitOp>(*getScores().user_begin()))
    return emitOpError("async scores must have one user, a "
                       "sattn_tile.qk_wait");
  return success();
}

LogicalResult ModifyOp::verifyRegions() {
  Block &block = getModifier().front();
  Type f32 = Float32Type::get(getContext());
  if (block.getNumArguments() != 4 ||
      !llvm::all_of(block.getArguments().take_front(3),
                    [](BlockArgument a) { return a.getType().isIndex(); }) ||
      block.getArgument(3).getType() != f32)
    return emitOpError("body must take three index arguments and an f32");
  return verifyYieldsOne(*this, getModifier(), f32);
}

LogicalResult MaskOp::verifyRegions() {
  if (failed(verifyIndexArgs(*this, getKeep(), 4)))
    return failure();
  return verifyYieldsOne(*this, getKeep(), IntegerType::get(getContext(), 1));
}
