//===- TileToMmaSync.cpp - sattn-convert-tile-to-mma-sync -----------------===//
//
// The `mma_sync` layout: FlashAttention-2's tile with warp-level tensor-core
// products (sm_80+). Warp w owns query rows [16w, 16w + 16) of the tile;
// lane 4g + t holds rows g and g + 8 of the warp's score and output
// fragments (the m16n8 layout), columns 2t and 2t + 1 of every 8-column
// slice. Per tile, each thread keeps its query fragments, its output
// accumulators and the running max and sum of its two rows in registers:
// they live in private buffers that are only ever indexed by constants, so
// LLVM promotes them to registers.
//
// The tile ops become:
//   range_chunk / list_chunk  nothing / the chunk's key indices in shared
//                             memory (i32)
//   copy                      K or V rows to shared memory with 16-byte
//                             cp.async (zero-filled for empty slots) when the
//                             call's strides and pointers allow it, else
//                             element by element; one commit group
//   wait, release             cp.async.wait_group + barrier, barrier
//   qk                        bf16/f16 operands as m16n8k16 products, B
//                             fragments by ldmatrix; f32 operands as three
//                             tf32 m16n8k8 products (hi·hi + hi·lo + lo·hi),
//                             which keeps fp32 accuracy
//   mask                      the region per element, when the chunk needs it
//   softmax                   base 2 (row max over the quad by two shuffles;
//                             the row sums stay per thread until the end of
//                             the tile; accumulators are rescaled only when a
//                             row max of the warp moved)
//   pv                        P converted from the score fragments in
//                             registers, V fragments by ldmatrix.trans; on
//                             masked chunks, non-finite V values first
//                             become 0 in shared memory and are added
//                             afterwards to the rows that keep their key
//                             (a masked p = 0 must not give 0 * Inf = NaN)
// Software pipelining of range chunks is sattn-pipeline-chunks' work.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/TileToMmaSync/MmaSyncProduct.h"
#include "codegen/WarpFragmentTile.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNCONVERTTILETOMMASYNC
#include "codegen/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;

namespace {

class MmaSyncTile : public WarpFragmentTile {
public:
  MmaSyncTile(KernelBuilder &kb, tile::TileType type)
      : WarpFragmentTile(kb, type) {
    // Padded rows keep ldmatrix and the f32 fragment loads free of bank
    // conflicts while every row start stays 16-byte aligned.
    keyPad = 8;
    valuePad = tf32 ? 4 : 8;
    const int64_t bytes = elem.getIntOrFloatBitWidth() / 8;
    keyRowBytes = (d + keyPad) * bytes;
    valueRowBytes = (d + valuePad) * bytes;
  }

private:
  void allocateStaging() override {
    keyTile = kb.sharedAlloc({chunk, d + keyPad}, elem);
    valueTile = kb.sharedAlloc({chunk, d + valuePad}, elem);
    if (tf32)
      return;
    // ldmatrix row addresses of this lane: matrix m = lane / 8, row lane % 8.
    // For Kᵀ fragments matrix m is (key tile m / 2, d half m % 2); for V
    // fragments (key half m % 2, d tile m / 2).
    Value lane8 = kb.floorMod(lane, kb.idx(8));
    Value half = kb.floorMod(kb.floorDiv(lane, kb.idx(8)), kb.idx(2));
    Value pairTile = kb.floorDiv(lane, kb.idx(16));
    Value keyRow = kb.idx(keyRowBytes);
    Value valueRow = kb.idx(valueRowBytes);
    Value keyOff =
        kb.add(kb.mul(kb.add(kb.mul(pairTile, kb.idx(8)), lane8), keyRow),
               kb.mul(half, kb.idx(16)));
    Value valueOff =
        kb.add(kb.mul(kb.add(kb.mul(half, kb.idx(8)), lane8), valueRow),
               kb.mul(pairTile, kb.idx(16)));
    keyLane = kb.add(sharedAddress(keyTile), kb.toI64(keyOff));
    valueLane = kb.add(sharedAddress(valueTile), kb.toI64(valueOff));
  }
  SmallVector<Value> stagedAt(Value c, Value col) override { return {c, col}; }
  SmallVector<Frag> scores() override;
  void accumulateValues(const SmallVector<Frag> &p) override;

  /// Four 8x8 matrices of 16-bit elements from shared memory: lane L gives
  /// the row address `base` + `offset` bytes of matrix L / 8. The offset is
  /// an immediate of the instruction, so the unrolled loads share one base
  /// register instead of each keeping a hoisted 64-bit address.
  std::array<Value, 4> ldmatrix(Value base, int64_t offset, bool transpose) {
    std::string ptx = "ldmatrix.sync.aligned.m8n8.x4";
    ptx += transpose ? ".trans" : "";
    ptx += ".shared.b16 {$0, $1, $2, $3}, [$4+" + std::to_string(offset) + "];";
    Type t = i32();
    auto op = NVVM::InlinePtxOp::create(b(), loc(), TypeRange{t, t, t, t},
                                        ValueRange{base}, ValueRange{},
                                        b().getStringAttr(ptx), Value());
    return {op->getResult(0), op->getResult(1), op->getResult(2),
            op->getResult(3)};
  }
  /// An f32 as its tf32 high part and the tf32 rest, both as i32 bits. The
  /// masking is opaque inline PTX so that LLVM does not hoist the split of
  /// the tile's query fragments out of the chunk loop (which would double
  /// their registers).
  std::pair<Value, Value> split(Value x) {
    auto truncate = [&](Value bits) {
      auto op = NVVM::InlinePtxOp::create(
          b(), loc(), TypeRange{i32()}, ValueRange{bits}, ValueRange{},
          b().getStringAttr("and.b32 $0, $1, -8192;"), Value());
      return op->getResult(0);
    };
    Value hiBits = truncate(arith::BitcastOp::create(b(), loc(), i32(), x));
    Value hi = arith::BitcastOp::create(b(), loc(), f32(), hiBits);
    Value rest = kb.fsub(x, hi);
    Value loBits = truncate(arith::BitcastOp::create(b(), loc(), i32(), rest));
    return {hiBits, loBits};
  }
  /// c += a · b on the tensor cores.
  Frag mma(ArrayRef<Value> a, ArrayRef<Value> bFrag, const Frag &c) {
    return mmaSyncProduct(b(), loc(), tf32 ? f32() : elem, a, bFrag, c);
  }
  /// f32 values split into their tf32 high parts and rests.
  struct Split {
    SmallVector<Value, 4> hi, lo;
  };
  Split splitAll(ArrayRef<Value> values) {
    Split out;
    for (Value x : values) {
      auto [hi, lo] = split(x);
      out.hi.push_back(hi);
      out.lo.push_back(lo);
    }
    return out;
  }
  /// c += a · b with f32 operands, as three tf32 products (a already split:
  /// it is shared by a row of products).
  Frag mma3(const Split &a, ArrayRef<Value> bFrag, Frag c) {
    Split bSplit = splitAll(bFrag);
    c = mma(a.lo, bSplit.hi, c);
    c = mma(a.hi, bSplit.lo, c);
    return mma(a.hi, bSplit.hi, c);
  }

  int64_t keyPad, valuePad;
  // Bytes between consecutive rows of the staged K and V chunks.
  int64_t keyRowBytes, valueRowBytes;
  // Shared addresses (i64) of this lane's ldmatrix rows in K and V.
  Value keyLane, valueLane;
};

SmallVector<Frag> MmaSyncTile::scores() {
  // tiles[nt] holds the scores of keys [8 nt, 8 nt + 8).
  const int64_t keyTiles = chunk / 8;
  SmallVector<Frag> s(keyTiles,
                      Frag{kb.f32(0), kb.f32(0), kb.f32(0), kb.f32(0)});
  Value twoT = kb.mul(quad, kb.idx(2));
  for (int64_t ks = 0; ks < (tf32 ? d / 8 : d / 16); ++ks) {
    SmallVector<Value> a;
    for (int r = 0; r < 4; ++r)
      a.push_back(reg(queryRegs, ks * 4 + r));
    if (tf32) {
      Split aSplit = splitAll(a);
      for (int64_t nt = 0; nt < keyTiles; ++nt) {
        Value row = kb.add(kb.idx(nt * 8), group);
        Value col = kb.add(kb.idx(ks * 8), twoT);
        Value pair =
            vector::LoadOp::create(b(), loc(), VectorType::get({2}, f32()),
                                   keyTile, ValueRange{row, col});
        Value bFrag[2] = {
            vector::ExtractOp::create(b(), loc(), pair, ArrayRef<int64_t>{0}),
            vector::ExtractOp::create(b(), loc(), pair, ArrayRef<int64_t>{1})};
        s[nt] = mma3(aSplit, bFrag, s[nt]);
      }
      continue;
    }
    for (int64_t ntp = 0; ntp < keyTiles / 2; ++ntp) {
      // Matrices: (keys 2ntp, d lo), (2ntp, d hi), (2ntp+1, lo), (hi).
      auto m = ldmatrix(keyLane, ntp * 16 * keyRowBytes + ks * 32,
                        /*transpose=*/false);
      Value b0[2] = {m[0], m[1]};
      Value b1[2] = {m[2], m[3]};
      s[2 * ntp] = mma(a, b0, s[2 * ntp]);
      s[2 * ntp + 1] = mma(a, b1, s[2 * ntp + 1]);
    }
  }
  return s;
}

void MmaSyncTile::accumulateValues(const SmallVector<Frag> &p) {
  const int64_t keyTiles = chunk / 8;
  auto accumulate = [&](int64_t nt, function_ref<Frag(const Frag &)> add) {
    Frag o;
    for (int e = 0; e < 4; ++e)
      o[e] = reg(outRegs, nt * 4 + e);
    o = add(o);
    for (int e = 0; e < 4; ++e)
      setReg(outRegs, nt * 4 + e, o[e]);
  };
  if (tf32) {
    Value twoT = kb.mul(quad, kb.idx(2));
    for (int64_t ks = 0; ks < keyTiles; ++ks) {
      Split a = splitAll({p[ks][0], p[ks][2], p[ks][1], p[ks][3]});
      Value key = kb.add(kb.idx(ks * 8), twoT);
      Value key1 = kb.add(key, kb.idx(1));
      for (int64_t nt = 0; nt < d / 8; ++nt) {
        Value col = kb.add(kb.idx(nt * 8), group);
        Value bFrag[2] = {kb.load(valueTile, {key, col}),
                          kb.load(valueTile, {key1, col})};
        accumulate(nt, [&](const Frag &o) { return mma3(a, bFrag, o); });
      }
    }
    return;
  }
  for (int64_t ks = 0; ks < keyTiles / 2; ++ks) {
    const Frag &lo = p[2 * ks], &hi = p[2 * ks + 1];
    Value a[4] = {
        pack(narrow(lo[0]), narrow(lo[1])), pack(narrow(lo[2]), narrow(lo[3])),
        pack(narrow(hi[0]), narrow(hi[1])), pack(narrow(hi[2]), narrow(hi[3]))};
    for (int64_t ntp = 0; ntp < d / 16; ++ntp) {
      // Matrices: (keys lo, d 2ntp), (keys hi, 2ntp), (lo, 2ntp+1), (hi).
      auto m = ldmatrix(valueLane, ks * 16 * valueRowBytes + ntp * 32,
                        /*transpose=*/true);
      Value b0[2] = {m[0], m[1]};
      Value b1[2] = {m[2], m[3]};
      accumulate(2 * ntp, [&](const Frag &o) { return mma(a, b0, o); });
      accumulate(2 * ntp + 1, [&](const Frag &o) { return mma(a, b1, o); });
    }
  }
}

} // namespace

namespace {
struct ConvertTileToMmaSyncPass
    : public mlir::sattn::impl::SattnConvertTileToMmaSyncBase<
          ConvertTileToMmaSyncPass> {
  void runOnOperation() override {
    auto make = [](KernelBuilder &kb, tile::TileType type) {
      return std::unique_ptr<TileLayoutLowering>(new MmaSyncTile(kb, type));
    };
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (failed(lowerTileOps(fn, tile::Layout::mma_sync, make)) ||
          failed(lowerMmaSyncDots(fn)))
        return signalPassFailure();
  }
};
} // namespace
