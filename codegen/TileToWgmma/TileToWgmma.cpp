//===- TileToWgmma.cpp - sattn-convert-tile-to-wgmma ----------------------===//
//
// The `wgmma` layout (sm_90a): the warp-fragment tile of WarpFragmentTile.h
// with Hopper's warpgroup products. Each group of four warps (128 threads)
// computes 64 query rows with `wgmma.mma_async`: Q·Kᵀ as m64n{chunk}k16 with
// the query fragments from registers and K from shared memory, P·V as
// m64n{d}k16 with P from registers (the score fragments, narrowed) and V
// from shared memory, transposed by the instruction. Every warp's share of
// an m64nN accumulator is the m16n8 fragment layout of its 16 rows, so the
// mask, the softmax and the epilogue are the shared ones.
//
// K and V chunks are staged as head-dim panels of 64 elements (128 bytes):
// panel p holds columns [64p, 64p + 64) of every staged row, rows 128 bytes
// apart, and the 16-byte units of a row are XOR-swizzled by row % 8 (the
// 128-byte swizzle), so that both products read them without bank
// conflicts. The descriptors (PTX ISA, "Matrix Descriptor Format"): K is
// K-major (stride between 8-row groups 1024 bytes; a k16 step adds 32
// bytes within a panel, a new panel every 4 steps); V is MN-major (panels
// `chunk` rows apart as the leading offset, 8-row groups 1024 bytes apart;
// a k16 step adds 16 rows). bench/probes/wgmma_descriptors.cu checks these
// conventions on the GPU.
//
// The staged rows are written through the generic proxy (cp.async or
// stores) and read by wgmma through the async proxy: each writer fences
// (fence.proxy.async) before the barrier that publishes them. Every product
// is followed by its wait (wgmma.wait_group 0): the accumulators pass
// through the fence and the wait as tied operands, so no use of them is
// scheduled before the product has completed.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/WarpFragmentTile.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#include <string>

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNCONVERTTILETOWGMMA
#include "codegen/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;

namespace {

/// Bytes of one staged row within a panel, and columns per panel.
constexpr int64_t kPanelRowBytes = 128;
/// Rows of one 128-byte swizzle atom.
constexpr int64_t kSwizzleRows = 8;

class WgmmaTile : public WarpFragmentTile {
public:
  WgmmaTile(KernelBuilder &kb, tile::TileType type)
      : WarpFragmentTile(kb, type),
        panelColumns(kPanelRowBytes / (elem.getIntOrFloatBitWidth() / 8)),
        panelBytes(chunk * kPanelRowBytes) {}

private:
  void allocateStaging() override {
    // 128-byte swizzle atoms start at 1024-byte boundaries.
    keyTile = kb.sharedAlloc({chunk * d}, elem, /*alignment=*/1024);
    valueTile = kb.sharedAlloc({chunk * d}, elem, /*alignment=*/1024);
    const int64_t groupBytes = kSwizzleRows * kPanelRowBytes;
    keyDescriptor = descriptor(keyTile, /*leading=*/16, groupBytes);
    valueDescriptor = descriptor(valueTile, /*leading=*/panelBytes, groupBytes);
  }
  SmallVector<Value> stagedAt(Value c, Value col) override {
    Value panel = kb.floorDiv(col, kb.idx(panelColumns));
    Value within = kb.floorMod(col, kb.idx(panelColumns));
    Value unit = kb.floorDiv(within, kb.idx(vec));
    Value swizzled = arith::XOrIOp::create(
        b(), loc(), unit, kb.floorMod(c, kb.idx(kSwizzleRows)));
    Value at = kb.add(kb.mul(panel, kb.idx(chunk * panelColumns)),
                      kb.mul(c, kb.idx(panelColumns)));
    at = kb.add(at, kb.add(kb.mul(swizzled, kb.idx(vec)),
                           kb.floorMod(within, kb.idx(vec))));
    return {at};
  }
  void fenceStagedWrites() override { ptx("fence.proxy.async.shared::cta;"); }
  SmallVector<Frag> scores() override;
  void accumulateValues(const SmallVector<Frag> &p) override;

  /// A side-effecting PTX statement without operands.
  void ptx(StringRef code) {
    NVVM::InlinePtxOp::create(b(), loc(), TypeRange{}, ValueRange{},
                              ValueRange{}, b().getStringAttr(code), Value());
  }
  /// The 64-bit shared-memory descriptor of a 128-byte-swizzled buffer
  /// starting at its first element.
  Value descriptor(Value buffer, int64_t leadingBytes, int64_t strideBytes) {
    auto c64 = [&](uint64_t v) {
      return arith::ConstantOp::create(b(), loc(), b().getI64IntegerAttr(v));
    };
    Value address = arith::ShRUIOp::create(
        b(), loc(),
        arith::AndIOp::create(b(), loc(), sharedAddress(buffer), c64(0x3FFFF)),
        c64(4));
    uint64_t fields = uint64_t((leadingBytes >> 4) & 0x3FFF) << 16 |
                      uint64_t((strideBytes >> 4) & 0x3FFF) << 32 |
                      uint64_t(1) << 62; // 128-byte swizzle
    return arith::OrIOp::create(b(), loc(), address, c64(fields));
  }
  /// `desc` moved by `bytes` (a multiple of 16 within the buffer).
  Value advance(Value desc, int64_t bytes) {
    if (bytes == 0)
      return desc;
    return arith::AddIOp::create(
        b(), loc(), desc,
        arith::ConstantOp::create(b(), loc(), b().getI64IntegerAttr(bytes >> 4)));
  }
  /// `code` as a side-effecting statement that reads and rewrites every
  /// value of `acc` (tied operands): a scheduling fence for them.
  SmallVector<Value> throughAccumulators(StringRef code, ValueRange acc,
                                         ValueRange inputs = {},
                                         StringRef inputConstraints = "");
  /// acc += a · B for one k16 step (B by descriptor; transposed for an
  /// MN-major B).
  SmallVector<Value> product(ValueRange acc, ArrayRef<Value> a, Value desc,
                             bool transposeB);

  const int64_t panelColumns, panelBytes;
  Value keyDescriptor, valueDescriptor;
};

SmallVector<Value> WgmmaTile::throughAccumulators(StringRef code,
                                                  ValueRange acc,
                                                  ValueRange inputs,
                                                  StringRef inputConstraints) {
  const size_t n = acc.size();
  std::string constraints;
  for (size_t i = 0; i < n; ++i)
    constraints += (i ? ",=f" : "=f");
  for (size_t i = 0; i < n; ++i)
    constraints += "," + std::to_string(i);
  if (!inputConstraints.empty())
    constraints += ("," + inputConstraints).str();
  SmallVector<Value> operands(acc.begin(), acc.end());
  operands.append(inputs.begin(), inputs.end());
  SmallVector<Type> fields(n, f32());
  auto result = LLVM::LLVMStructType::getLiteral(b().getContext(), fields);
  auto op = LLVM::InlineAsmOp::create(
      b(), loc(), result, operands, code, constraints,
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr::get(b().getContext(), LLVM::AsmDialect::AD_ATT),
      ArrayAttr());
  SmallVector<Value> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b(), loc(), op.getRes(), i));
  return out;
}

SmallVector<Value> WgmmaTile::product(ValueRange acc, ArrayRef<Value> a,
                                      Value desc, bool transposeB) {
  const size_t n = acc.size();
  const std::string type = elem.isBF16() ? "bf16" : "f16";
  auto operand = [](size_t i) { return "$" + std::to_string(i); };
  std::string code = "{\n.reg .pred p;\nsetp.ne.b32 p, " +
                     operand(2 * n + 5) + ", 0;\nwgmma.mma_async.sync.aligned.m64n" +
                     std::to_string(n * 2) + "k16.f32." + type + "." + type +
                     " {";
  for (size_t i = 0; i < n; ++i)
    code += (i ? ", " : "") + operand(i);
  code += "}, {";
  for (size_t i = 0; i < 4; ++i)
    code += (i ? ", " : "") + operand(2 * n + i);
  code += "}, " + operand(2 * n + 4) + ", p, 1, 1, " +
          (transposeB ? "1" : "0") + ";\n}";
  SmallVector<Value> inputs(a.begin(), a.end());
  inputs.push_back(desc);
  inputs.push_back(kb.i32(1)); // scale-d: accumulate
  return throughAccumulators(code, acc, inputs, "r,r,r,r,l,r");
}

SmallVector<Frag> WgmmaTile::scores() {
  SmallVector<Value> acc(chunk / 2, kb.f32(0));
  acc = throughAccumulators("wgmma.fence.sync.aligned;", acc);
  for (int64_t ks = 0; ks < d / 16; ++ks) {
    SmallVector<Value> a;
    for (int r = 0; r < 4; ++r)
      a.push_back(reg(queryRegs, ks * 4 + r));
    // Head dims [16 ks, 16 ks + 16): panel ks / 4, 32 bytes per step in it.
    int64_t offset = ks * 16 / panelColumns * panelBytes +
                     (ks * 16 % panelColumns) * (kPanelRowBytes / panelColumns);
    acc = product(acc, a, advance(keyDescriptor, offset), /*transposeB=*/false);
  }
  ptx("wgmma.commit_group.sync.aligned;");
  acc = throughAccumulators("wgmma.wait_group.sync.aligned 0;", acc);
  return fragments(acc);
}

void WgmmaTile::accumulateValues(const SmallVector<Frag> &p) {
  SmallVector<SmallVector<Value, 4>> a;
  for (int64_t ks = 0; ks < chunk / 16; ++ks) {
    const Frag &lo = p[2 * ks], &hi = p[2 * ks + 1];
    a.push_back({pack(narrow(lo[0]), narrow(lo[1])),
                 pack(narrow(lo[2]), narrow(lo[3])),
                 pack(narrow(hi[0]), narrow(hi[1])),
                 pack(narrow(hi[2]), narrow(hi[3]))});
  }
  SmallVector<Value> acc;
  for (int64_t i = 0; i < d / 2; ++i)
    acc.push_back(reg(outRegs, i));
  acc = throughAccumulators("wgmma.fence.sync.aligned;", acc);
  for (int64_t ks = 0; ks < chunk / 16; ++ks)
    acc = product(acc, a[ks],
                  advance(valueDescriptor, ks * 16 * kPanelRowBytes),
                  /*transposeB=*/true);
  ptx("wgmma.commit_group.sync.aligned;");
  acc = throughAccumulators("wgmma.wait_group.sync.aligned 0;", acc);
  for (int64_t i = 0; i < d / 2; ++i)
    setReg(outRegs, i, acc[i]);
}

} // namespace

namespace {
struct ConvertTileToWgmmaPass
    : public mlir::sattn::impl::SattnConvertTileToWgmmaBase<
          ConvertTileToWgmmaPass> {
  void runOnOperation() override {
    auto make = [](KernelBuilder &kb, tile::TileType type) {
      return std::unique_ptr<TileLayoutLowering>(new WgmmaTile(kb, type));
    };
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (failed(lowerTileOps(fn, tile::Layout::wgmma, make)))
        return signalPassFailure();
  }
};
} // namespace
