//===- MmaSyncDots.cpp - sattn_tile.dots on mma.sync ----------------------===//
//
// The [M, N] results of `sattn_tile.dots` as (M / 16) x (N / 8) m16n8
// fragments, dealt round-robin to the work item's warps; each fragment is
// depth / 16 m16n8k16 products with fp32 accumulators. Lane 4g + t loads its
// A registers from lhs rows g and g + 8 (columns 2t, 2t + 1 and 2t + 8,
// 2t + 9 of each k step) and its B registers from rhs row g (the same
// columns) as 32-bit pairs: rows whose length in words is 4 mod 8 (what
// the selection stages allocate) put the 32 lanes in 32 banks. Results go
// back to shared memory as pairs, then the op's barrier.
//
//===----------------------------------------------------------------------===//

#include "codegen/TileLowering.h"
#include "codegen/TileToMmaSync/MmaSyncProduct.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::sattn;

LogicalResult mlir::sattn::lowerMmaSyncDots(func::FuncOp fn) {
  SmallVector<tile::DotsOp> ops;
  fn.walk([&](tile::DotsOp op) {
    if (op.getLayout() == tile::Layout::mma_sync)
      ops.push_back(op);
  });
  if (ops.empty())
    return success();
  auto threadsAttr =
      fn->getAttrOfType<IntegerAttr>(tile::SattnTileDialect::kThreadsAttrName);
  if (!threadsAttr || threadsAttr.getInt() % 32)
    return ops.front().emitOpError(
        "layout mma_sync needs a kernel of whole warps");
  const int64_t warps = threadsAttr.getInt() / 32;
  OpBuilder builder(fn.getContext());
  for (tile::DotsOp op : ops) {
    builder.setInsertionPoint(op);
    Type element = op.getLhs().getType().getElementType();
    KernelBuilder kb(builder, fn, KernelShape(), element);
    Location loc = kb.loc();
    Type i32 = builder.getI32Type(), f32 = builder.getF32Type();
    const int64_t m = op.getLhs().getType().getDimSize(0);
    const int64_t n = op.getRhs().getType().getDimSize(0);
    const int64_t nTiles = n / 8, tiles = (m / 16) * nTiles;
    const int64_t steps = op.getDepth() / 16;

    Value tid = kb.threadIndex();
    Value warp = arith::DivUIOp::create(builder, loc, tid, kb.idx(32));
    Value lane = arith::RemUIOp::create(builder, loc, tid, kb.idx(32));
    Value g = arith::DivUIOp::create(builder, loc, lane, kb.idx(4));
    Value twoT = kb.mul(arith::RemUIOp::create(builder, loc, lane, kb.idx(4)),
                        kb.idx(2));
    // Two 16-bit elements at [row, col] as one i32 register.
    auto pair = [&](Value buffer, Value row, Value col) -> Value {
      Value v =
          vector::LoadOp::create(builder, loc, VectorType::get({2}, element),
                                 buffer, ValueRange{row, col});
      v = vector::BitCastOp::create(builder, loc, VectorType::get({1}, i32), v);
      return vector::ExtractOp::create(builder, loc, v, ArrayRef<int64_t>{0});
    };
    kb.forRange(warp, kb.idx(tiles), kb.idx(warps), [&](Value f) {
      Value mt = arith::DivUIOp::create(builder, loc, f, kb.idx(nTiles));
      Value nt = arith::RemUIOp::create(builder, loc, f, kb.idx(nTiles));
      Value row = kb.add(kb.mul(mt, kb.idx(16)), g);
      Value row8 = kb.add(row, kb.idx(8));
      Value key = kb.add(kb.mul(nt, kb.idx(8)), g);
      std::array<Value, 4> c = {kb.f32(0), kb.f32(0), kb.f32(0), kb.f32(0)};
      for (int64_t ks = 0; ks < steps; ++ks) {
        Value col = kb.add(kb.idx(16 * ks), twoT);
        Value col8 = kb.add(col, kb.idx(8));
        Value a[4] = {pair(op.getLhs(), row, col), pair(op.getLhs(), row8, col),
                      pair(op.getLhs(), row, col8),
                      pair(op.getLhs(), row8, col8)};
        Value b[2] = {pair(op.getRhs(), key, col),
                      pair(op.getRhs(), key, col8)};
        c = mmaSyncProduct(builder, loc, element, a, b, c);
      }
      Value outCol = kb.add(kb.mul(nt, kb.idx(8)), twoT);
      auto store = [&](Value x, Value y, Value r) {
        Value v = vector::FromElementsOp::create(
            builder, loc, VectorType::get({2}, f32), ValueRange{x, y});
        vector::StoreOp::create(builder, loc, v, op.getResult(),
                                ValueRange{r, outCol});
      };
      store(c[0], c[1], row);
      store(c[2], c[3], row8);
    });
    kb.barrier();
    op.erase();
  }
  return success();
}
