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
#include "codegen/TileLowering.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <array>
#include <cmath>

namespace mlir::sattn {
#define GEN_PASS_DEF_SATTNCONVERTTILETOMMASYNC
#include "codegen/Passes.h.inc"
} // namespace mlir::sattn

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelMemref;
using ::sattn::KernelScalar;

namespace {

/// Four f32 values of an m16n8 accumulator fragment.
using Frag = std::array<Value, 4>;

class MmaTile : public TileLayoutLowering {
public:
  MmaTile(KernelBuilder &kb, tile::TileType type)
      : TileLayoutLowering(kb), d(type.getHeadDim()), chunk(type.getChunk()),
        elem(type.getElement()), tf32(type.getElement().isF32()) {
    // Padded rows keep ldmatrix and the f32 fragment loads free of bank
    // conflicts while every row start stays 16-byte aligned.
    keyPad = 8;
    valuePad = tf32 ? 4 : 8;
    vec = tf32 ? 4 : 8;
    const int64_t bytes = elem.getIntOrFloatBitWidth() / 8;
    keyRowBytes = (d + keyPad) * bytes;
    valueRowBytes = (d + valuePad) * bytes;
  }

  void begin(const TileValues &values, Operation *top) override;
  ChunkValues rangeChunk(Value start, Value count) override {
    return {tile::ChunkKind::range, start, count};
  }
  ChunkValues listChunk(Value count, function_ref<Value(Value)> keyOf) override;
  void copy(const ChunkValues &chunk, tile::Operand operand,
            Value pred) override;
  void wait(int64_t pending) override { waitCopies(pending); }
  void release() override { kb.barrier(); }
  SmallVector<Value> qk() override { return flatten(scores()); }
  SmallVector<Value> mask(const ChunkValues &chunk, ValueRange scores,
                          Value needs, KeepFn keep) override;
  SmallVector<Value> softmax(ValueRange scores) override {
    SmallVector<Frag> s = fragments(scores);
    softmax(s);
    return flatten(s);
  }
  void pv(ValueRange probabilities) override {
    SmallVector<Frag> p = fragments(probabilities);
    // Only masked chunks have p = 0 for keys a row does not see.
    Value nonFinite;
    if (maskNeeds)
      nonFinite = kb.ifThenElse(
          maskNeeds, {b().getI1Type()},
          [&] { return SmallVector<Value>{clearNonFiniteValues()}; },
          [&] { return SmallVector<Value>{kb.boolean(false)}; })[0];
    accumulateValues(p);
    if (nonFinite)
      kb.ifThen(nonFinite, [&] { addNonFiniteValues(p); });
    maskNeeds = Value();
  }
  void store() override;

private:
  void allocate();
  static SmallVector<Value> flatten(ArrayRef<Frag> frags) {
    SmallVector<Value> flat;
    for (const Frag &f : frags)
      flat.append(f.begin(), f.end());
    return flat;
  }
  static SmallVector<Frag> fragments(ValueRange flat) {
    SmallVector<Frag> frags(flat.size() / 4);
    for (size_t i = 0; i < flat.size(); ++i)
      frags[i / 4][i % 4] = flat[i];
    return frags;
  }
  OpBuilder &b() { return kb.b(); }
  Location loc() { return kb.loc(); }
  Type f32() { return b().getF32Type(); }
  Type i32() { return b().getI32Type(); }

  Value reg(Value buffer, int64_t i) {
    return kb.load(buffer, {kb.idx(0), kb.idx(i)});
  }
  void setReg(Value buffer, int64_t i, Value v) {
    kb.store(v, buffer, {kb.idx(0), kb.idx(i)});
  }

  /// Two 16-bit values as one i32 register, the first in the low half.
  Value pack(Value lo, Value hi) {
    auto pair = VectorType::get({2}, elem);
    Value v =
        vector::FromElementsOp::create(b(), loc(), pair, ValueRange{lo, hi});
    Value word =
        vector::BitCastOp::create(b(), loc(), VectorType::get({1}, i32()), v);
    return vector::ExtractOp::create(b(), loc(), word, ArrayRef<int64_t>{0});
  }
  Value narrow(Value x) { return arith::TruncFOp::create(b(), loc(), elem, x); }
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
  /// The shared-memory address of a buffer's first element (i64).
  Value sharedAddress(Value buffer) {
    return kb.toI64(
        memref::ExtractAlignedPointerAsIndexOp::create(b(), loc(), buffer));
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
  /// An i32 register as the mma operand type (f16 operands are typed pairs).
  Value operand(Value word) {
    if (!elem.isF16())
      return word;
    Value v = vector::FromElementsOp::create(
        b(), loc(), VectorType::get({1}, i32()), ValueRange{word});
    return vector::BitCastOp::create(b(), loc(), VectorType::get({2}, elem), v);
  }
  /// c += a · b on the tensor cores.
  Frag mma(ArrayRef<Value> a, ArrayRef<Value> bFrag, const Frag &c) {
    MLIRContext *ctx = b().getContext();
    Type f = f32();
    auto result = LLVM::LLVMStructType::getLiteral(ctx, {f, f, f, f});
    NVVM::MMATypes type = tf32            ? NVVM::MMATypes::tf32
                          : elem.isBF16() ? NVVM::MMATypes::bf16
                                          : NVVM::MMATypes::f16;
    SmallVector<Value> aOps, bOps;
    for (Value x : a)
      aOps.push_back(operand(x));
    for (Value x : bFrag)
      bOps.push_back(operand(x));
    auto op = NVVM::MmaOp::create(
        b(), loc(), result, aOps, bOps, ValueRange(c),
        ArrayRef<int64_t>{16, 8, tf32 ? 8 : 16}, std::nullopt, std::nullopt,
        std::array<NVVM::MMATypes, 2>{type, type},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    Frag out;
    for (int64_t i = 0; i < 4; ++i)
      out[i] = LLVM::ExtractValueOp::create(b(), loc(), op, i);
    return out;
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
  Value shuffleXor(Value v, int32_t mask) {
    return gpu::ShuffleOp::create(b(), loc(), v, mask, 32,
                                  gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  /// Copies the K or V rows of a chunk into shared memory: slot c holds row
  /// slotKey(c).first when slotKey(c).second, zeros otherwise. 16-byte
  /// cp.async when the call allows it (commitCopies() closes the group),
  /// else element by element.
  void copyRows(const TileValues &tile, ::sattn::KernelMemref which,
                function_ref<std::pair<Value, Value>(Value)> slotKey);
  /// The element-wise form of copyRows (any strides and alignment).
  void copyElements(const TileValues &tile, ::sattn::KernelMemref which,
                    function_ref<std::pair<Value, Value>(Value)> slotKey);
  /// copyRows for keys [c0, c0 + count): with a fixed row and segment per
  /// thread, unrolled, when the block's threads cover whole rows.
  void copyRange(const TileValues &tile, ::sattn::KernelMemref which, Value c0,
                 Value count);
  void commitCopies();
  /// `async` when K and V rows are known or found to be 16-byte aligned,
  /// else `elements`.
  void withAlignedRows(function_ref<void()> async,
                       function_ref<void()> elements) {
    if (tile.alignedKV)
      return async();
    kb.ifThenElse(
        aligned, {},
        [&] {
          async();
          return SmallVector<Value>{};
        },
        [&] {
          elements();
          return SmallVector<Value>{};
        });
  }
  void waitCopies(int pending);
  /// S = Q · Kᵀ of the staged chunk.
  SmallVector<Frag> scores();
  /// Element masks when `needsMask`; keyOf(c) is the key of slot c (-1:
  /// none).
  void maskScores(SmallVector<Frag> &s, Value needsMask,
                  function_ref<Value(Value)> keyOf, KeepFn keep);
  /// The online-softmax update; `s` becomes P.
  void softmax(SmallVector<Frag> &s);
  /// O += P · V of the staged chunk.
  void accumulateValues(const SmallVector<Frag> &p);
  /// Whether the staged V chunk holds a NaN or an infinity (the same answer
  /// in every thread); each thread first sets the non-finite values it
  /// checked to 0. One barrier.
  Value clearNonFiniteValues();
  /// O += v for every non-finite value v of the chunk (read again from V)
  /// whose key has p > 0 in the row: for p > 0, p * v is v's own infinity
  /// or NaN, which the product on the zeroed tile left out.
  void addNonFiniteValues(const SmallVector<Frag> &p);
  /// The key of slot c of the chunk `mask` saw last (-1: none).
  Value maskedKey(Value c);

  const int64_t d, chunk;
  Type elem;
  const bool tf32;
  int64_t keyPad, valuePad, vec;
  // Bytes between consecutive rows of the staged K and V chunks.
  int64_t keyRowBytes, valueRowBytes;
  // Shared memory.
  Value keyTile, valueTile, keyIndex;
  // Registers: query fragments, output accumulators, max and sum per row.
  Value queryRegs, outRegs, rowMax, rowSum, nonFiniteFlag;
  // The chunk the last `mask` saw and whether it masked (null: no mask).
  ChunkValues maskChunk;
  Value maskNeeds;
  // Per thread.
  Value lane, group, quad, warpRow, aligned;
  // Shared addresses (i64) of this lane's ldmatrix rows in K and V.
  Value keyLane, valueLane;
  // Range copies: this thread's first row and column in a chunk, and the
  // rows between its copies (all threads cover copyRowStep whole rows).
  bool unrolledCopies = false;
  int64_t copyRowStep = 0;
  Value copyRow, copyColumn;
  // The thread's two rows (valid or not, and clamped into [0, Sq)).
  std::array<Value, 2> rowIndex, rowValid;
  std::array<RowContext, 2> rows;
};

void MmaTile::allocate() {
  keyTile = kb.sharedAlloc({chunk, d + keyPad}, elem);
  valueTile = kb.sharedAlloc({chunk, d + valuePad}, elem);
  keyIndex = kb.sharedAlloc({chunk}, i32());
  int64_t qRegs = tf32 ? d / 8 * 4 : d / 16 * 4;
  queryRegs = kb.privateAlloc({qRegs}, tf32 ? f32() : i32());
  outRegs = kb.privateAlloc({d / 8 * 4}, f32());
  rowMax = kb.privateAlloc({2}, f32());
  rowSum = kb.privateAlloc({2}, f32());
  nonFiniteFlag = kb.privateAlloc({1}, b().getI1Type());

  Value tid = kb.threadIndex();
  lane = kb.floorMod(tid, kb.idx(32));
  warpRow = kb.mul(kb.floorDiv(tid, kb.idx(32)), kb.idx(16));
  group = kb.floorDiv(lane, kb.idx(4));
  quad = kb.floorMod(lane, kb.idx(4));
  if (!tf32) {
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

  const int64_t segments = d / vec, threads = kb.threads();
  if (threads % segments == 0 && chunk % (threads / segments) == 0) {
    unrolledCopies = true;
    copyRowStep = threads / segments;
    copyRow = kb.floorDiv(tid, kb.idx(segments));
    copyColumn = kb.mul(kb.floorMod(tid, kb.idx(segments)), kb.idx(vec));
  }
  // 16-byte copies need 16-byte aligned K and V rows: known at compile time
  // (aligned_kv), or checked once per launch.
  aligned = kb.boolean(true);
  if (tile.alignedKV)
    return;
  auto multiple = [&](Value v, int64_t m) {
    return kb.eq(kb.floorMod(v, kb.idx(m)), kb.idx(0));
  };
  for (KernelMemref which : {KernelMemref::K, KernelMemref::V}) {
    Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(
        b(), loc(), kb.memref(which));
    aligned = kb.andI(aligned, multiple(ptr, 16));
  }
  for (KernelScalar s :
       {KernelScalar::KStrideB, KernelScalar::KStrideH, KernelScalar::KStrideS,
        KernelScalar::VStrideB, KernelScalar::VStrideH, KernelScalar::VStrideS})
    aligned = kb.andI(aligned, multiple(kb.scalar(s), vec));
}

void MmaTile::begin(const TileValues &values, Operation *top) {
  tile = values;
  {
    OpBuilder::InsertionGuard guard(b());
    b().setInsertionPoint(top);
    allocate();
  }
  Value lastRow = kb.sub(tile.seqQ, kb.idx(1));
  for (int h = 0; h < 2; ++h) {
    Value i =
        kb.add(tile.firstRow, kb.add(warpRow, kb.add(group, kb.idx(8 * h))));
    rowValid[h] = kb.andI(kb.ge(i, kb.idx(0)), kb.lt(i, tile.seqQ));
    // Rows outside [0, Sq) compute as a valid row and are never stored.
    rowIndex[h] = kb.max(kb.min(i, lastRow), kb.idx(0));
    rows[h].row = rowIndex[h];
    rows[h].pos = kb.add(rowIndex[h], tile.offset);
    rows[h].queryBlock = kb.floorDiv(rows[h].pos, kb.idx(tile.block));
  }
  auto q = [&](int h, Value col) {
    Value at = kb.tensorIndex(KernelMemref::Q, tile.batch, tile.head,
                              rowIndex[h], col);
    return kb.load(kb.memref(KernelMemref::Q), at);
  };
  Value twoT = kb.mul(quad, kb.idx(2));
  if (tf32) {
    for (int64_t ks = 0; ks < d / 8; ++ks) {
      Value col = kb.add(kb.idx(ks * 8), twoT);
      Value col1 = kb.add(col, kb.idx(1));
      Value vals[4] = {q(0, col), q(1, col), q(0, col1), q(1, col1)};
      for (int r = 0; r < 4; ++r)
        setReg(queryRegs, ks * 4 + r,
               kb.select(rowValid[r % 2], vals[r], kb.f32(0)));
    }
  } else {
    for (int64_t ks = 0; ks < d / 16; ++ks) {
      for (int r = 0; r < 4; ++r) {
        int h = r % 2;
        Value col = kb.add(kb.idx(ks * 16 + (r / 2) * 8), twoT);
        Value word = pack(q(h, col), q(h, kb.add(col, kb.idx(1))));
        setReg(queryRegs, ks * 4 + r, kb.select(rowValid[h], word, kb.i32(0)));
      }
    }
  }
  for (int64_t i = 0; i < d / 8 * 4; ++i)
    setReg(outRegs, i, kb.f32(0));
  for (int h = 0; h < 2; ++h) {
    setReg(rowMax, h, kb.negInf());
    setReg(rowSum, h, kb.f32(0));
  }
}

void MmaTile::copyRows(const TileValues &tile, KernelMemref which,
                       function_ref<std::pair<Value, Value>(Value)> slotKey) {
  MLIRContext *ctx = b().getContext();
  Value buffer = which == KernelMemref::K ? keyTile : valueTile;
  const int64_t segments = d / vec;
  withAlignedRows(
      [&] {
        kb.coopLoop(kb.idx(chunk * segments), [&](Value e) {
          Value c = kb.floorDiv(e, kb.idx(segments));
          Value col = kb.mul(kb.floorMod(e, kb.idx(segments)), kb.idx(vec));
          auto [j, ok] = slotKey(c);
          Value src = kb.tensorIndex(which, tile.batch, tile.kvHead, j, col);
          // Empty slots are zero-filled: 0 · garbage could be NaN.
          Value elements = kb.select(ok, kb.idx(vec), kb.idx(0));
          nvgpu::DeviceAsyncCopyOp::create(
              b(), loc(), nvgpu::DeviceAsyncTokenType::get(ctx), buffer,
              ValueRange{c, col}, kb.memref(which), ValueRange{src},
              b().getIndexAttr(vec), elements, b().getUnitAttr());
        });
      },
      [&] { copyElements(tile, which, slotKey); });
}

void MmaTile::copyElements(
    const TileValues &tile, KernelMemref which,
    function_ref<std::pair<Value, Value>(Value)> slotKey) {
  Value buffer = which == KernelMemref::K ? keyTile : valueTile;
  Value zero = arith::ConstantOp::create(b(), loc(), b().getZeroAttr(elem));
  kb.coopLoop(kb.idx(chunk * d), [&](Value e) {
    Value c = kb.floorDiv(e, kb.idx(d));
    Value col = kb.floorMod(e, kb.idx(d));
    auto [j, ok] = slotKey(c);
    Value x = kb.load(kb.memref(which),
                      kb.tensorIndex(which, tile.batch, tile.kvHead, j, col));
    kb.store(kb.select(ok, x, zero), buffer, {c, col});
  });
}

void MmaTile::copyRange(const TileValues &tile, KernelMemref which, Value c0,
                        Value count) {
  auto rangeKey = [&](Value c) {
    Value ok = kb.lt(c, count);
    return std::make_pair(kb.select(ok, kb.add(c0, c), kb.idx(0)), ok);
  };
  if (!unrolledCopies)
    return copyRows(tile, which, rangeKey);
  MLIRContext *ctx = b().getContext();
  Value buffer = which == KernelMemref::K ? keyTile : valueTile;
  withAlignedRows(
      [&] {
        // This thread copies segment `copyColumn` of rows copyRow + i * step
        // of the chunk: one running source address, constant destinations.
        Value base =
            kb.tensorIndex(which, tile.batch, tile.kvHead, kb.idx(0), Value());
        Value strideS =
            kb.scalar(which == KernelMemref::K ? KernelScalar::KStrideS
                                               : KernelScalar::VStrideS);
        Value first = kb.add(kb.add(base, kb.mul(kb.add(c0, copyRow), strideS)),
                             copyColumn);
        Value step = kb.mul(kb.idx(copyRowStep), strideS);
        for (int64_t i = 0; i < chunk / copyRowStep; ++i) {
          Value c = kb.add(copyRow, kb.idx(i * copyRowStep));
          Value ok = kb.lt(c, count);
          Value src = kb.add(first, kb.mul(kb.idx(i), step));
          // Empty slots read nothing (zero-fill) from a valid address.
          nvgpu::DeviceAsyncCopyOp::create(
              b(), loc(), nvgpu::DeviceAsyncTokenType::get(ctx), buffer,
              ValueRange{c, copyColumn}, kb.memref(which),
              ValueRange{kb.select(ok, src, base)}, b().getIndexAttr(vec),
              kb.select(ok, kb.idx(vec), kb.idx(0)), b().getUnitAttr());
        }
      },
      [&] { copyElements(tile, which, rangeKey); });
}

void MmaTile::commitCopies() { NVVM::CpAsyncCommitGroupOp::create(b(), loc()); }

/// Waits until at most `pending` commit groups are in flight, then makes
/// every thread's copies visible.
void MmaTile::waitCopies(int pending) {
  NVVM::CpAsyncWaitGroupOp::create(b(), loc(), pending);
  kb.barrier();
}

SmallVector<Frag> MmaTile::scores() {
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

void MmaTile::maskScores(SmallVector<Frag> &s, Value needsMask,
                         function_ref<Value(Value)> keyOf, KeepFn keep) {
  const int64_t keyTiles = chunk / 8;
  SmallVector<Type> types(keyTiles * 4, f32());
  SmallVector<Value> flat;
  for (const Frag &f : s)
    flat.append(f.begin(), f.end());
  Value twoT = kb.mul(quad, kb.idx(2));
  SmallVector<Value> masked = kb.ifThenElse(
      needsMask, types,
      [&] {
        SmallVector<Value> out(flat);
        for (int64_t nt = 0; nt < keyTiles; ++nt)
          for (int e = 0; e < 2; ++e) {
            Value j = keyOf(kb.add(kb.idx(nt * 8 + e), twoT));
            for (int h = 0; h < 2; ++h) {
              Value kept = keep(rows[h], j);
              Value &x = out[nt * 4 + 2 * h + e];
              x = kb.select(kept, x, kb.negInf());
            }
          }
        return out;
      },
      [&] { return flat; });
  for (int64_t nt = 0; nt < keyTiles; ++nt)
    for (int e = 0; e < 4; ++e)
      s[nt][e] = masked[nt * 4 + e];
}

/// Combines `values` pairwise: a tree of depth log2(n) instead of a chain.
static Value reduceTree(SmallVector<Value> values,
                        function_ref<Value(Value, Value)> combine) {
  while (values.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < values.size(); i += 2)
      next.push_back(combine(values[i], values[i + 1]));
    if (values.size() % 2)
      next.push_back(values.back());
    values = std::move(next);
  }
  return values.front();
}

void MmaTile::softmax(SmallVector<Frag> &s) {
  const int64_t keyTiles = chunk / 8;
  // The scale is positive (sattn.kernel's verifier), so the max of the raw
  // scores scales to the max of the scaled ones.
  const double scaleLog2 = kb.shape().effectiveScale() * M_LOG2E;
  Value scale = kb.f32(scaleLog2);
  auto fmax = [&](Value x, Value y) { return kb.fmax(x, y); };
  auto fadd = [&](Value x, Value y) { return kb.fadd(x, y); };
  std::array<Value, 2> alpha;
  Value unchanged = kb.boolean(true);
  for (int h = 0; h < 2; ++h) {
    SmallVector<Value> row;
    for (int64_t nt = 0; nt < keyTiles; ++nt)
      for (int e = 0; e < 2; ++e)
        row.push_back(s[nt][2 * h + e]);
    Value chunkMax = reduceTree(row, fmax);
    chunkMax = kb.fmax(chunkMax, shuffleXor(chunkMax, 1));
    chunkMax = kb.fmax(chunkMax, shuffleXor(chunkMax, 2));
    Value mOld = reg(rowMax, h);
    Value mNew = kb.fmax(mOld, kb.fmul(chunkMax, scale));
    // A row with no key yet subtracts 0, so -inf stays -inf and 2^-inf = 0.
    Value mUse = kb.select(
        kb.fcmp(arith::CmpFPredicate::OEQ, mNew, kb.negInf()), kb.f32(0), mNew);
    alpha[h] = kb.exp2(kb.fsub(mOld, mUse));
    unchanged =
        kb.andI(unchanged, kb.fcmp(arith::CmpFPredicate::OEQ, mNew, mOld));
    Value negUse = arith::NegFOp::create(b(), loc(), mUse);
    SmallVector<Value> probabilities;
    for (int64_t nt = 0; nt < keyTiles; ++nt)
      for (int e = 0; e < 2; ++e) {
        Value &x = s[nt][2 * h + e];
        x = kb.exp2(LLVM::FMAOp::create(b(), loc(), x, scale, negUse));
        probabilities.push_back(x);
      }
    Value sum = reduceTree(probabilities, fadd);
    setReg(rowSum, h,
           LLVM::FMAOp::create(b(), loc(), reg(rowSum, h), alpha[h], sum));
    setReg(rowMax, h, mNew);
  }
  // Rescaling the accumulators by alpha = 1 changes nothing (and a row with
  // no key yet has zero accumulators): skip it when no row max of the warp
  // moved, as is usual once a row has seen its largest scores.
  Value warpUnchanged =
      NVVM::VoteSyncOp::create(b(), loc(), b().getI1Type(), kb.i32(-1),
                               unchanged, NVVM::VoteSyncKind::all);
  kb.ifThen(kb.notI(warpUnchanged), [&] {
    for (int64_t nt = 0; nt < d / 8; ++nt)
      for (int e = 0; e < 4; ++e) {
        int64_t at = nt * 4 + e;
        setReg(outRegs, at, kb.fmul(reg(outRegs, at), alpha[e / 2]));
      }
  });
}

void MmaTile::accumulateValues(const SmallVector<Frag> &p) {
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

ChunkValues MmaTile::listChunk(Value count, function_ref<Value(Value)> keyOf) {
  // Key indices; -1 marks an empty slot.
  kb.coopLoop(kb.idx(chunk), [&](Value c) {
    Value j = kb.ifThenElse(
        kb.lt(c, count), {b().getIndexType()},
        [&] { return SmallVector<Value>{keyOf(c)}; },
        [&] { return SmallVector<Value>{kb.idx(-1)}; })[0];
    kb.store(kb.toI32(j), keyIndex, {c});
  });
  kb.barrier();
  return {tile::ChunkKind::list, Value(), count};
}

void MmaTile::copy(const ChunkValues &ch, tile::Operand operand, Value pred) {
  KernelMemref which =
      operand == tile::Operand::keys ? KernelMemref::K : KernelMemref::V;
  auto body = [&] {
    if (ch.kind == tile::ChunkKind::range)
      return copyRange(tile, which, ch.start, ch.count);
    copyRows(tile, which, [&](Value c) {
      Value j = kb.toIndex(kb.load(keyIndex, {c}));
      Value ok = kb.andI(kb.ge(j, kb.idx(0)), kb.lt(j, tile.seqK));
      return std::make_pair(kb.select(ok, j, kb.idx(0)), ok);
    });
  };
  if (pred)
    kb.ifThen(pred, body);
  else
    body();
  commitCopies();
}

SmallVector<Value> MmaTile::mask(const ChunkValues &ch, ValueRange scores,
                                 Value needs, KeepFn keep) {
  SmallVector<Frag> s = fragments(scores);
  maskChunk = ch;
  maskNeeds = needs;
  maskScores(
      s, needs, [&](Value c) { return maskedKey(c); }, keep);
  return flatten(s);
}

Value MmaTile::maskedKey(Value c) {
  if (maskChunk.kind == tile::ChunkKind::list)
    return kb.toIndex(kb.load(keyIndex, {c}));
  return kb.select(kb.lt(c, maskChunk.count), kb.add(maskChunk.start, c),
                   kb.idx(-1));
}

Value MmaTile::clearNonFiniteValues() {
  // A value is non-finite when its magnitude bits are at least +inf's.
  const unsigned bits = elem.getIntOrFloatBitWidth();
  auto floatVec = VectorType::get({vec}, elem);
  auto intVec = VectorType::get({vec}, b().getIntegerType(bits));
  APInt inf = APFloat::getInf(cast<FloatType>(elem).getFloatSemantics())
                  .bitcastToAPInt();
  Value magnitude = arith::ConstantOp::create(
      b(), loc(),
      DenseElementsAttr::get(intVec, APInt::getSignedMaxValue(bits)));
  Value infBits = arith::ConstantOp::create(
      b(), loc(), DenseElementsAttr::get(intVec, inf));
  Value zeros =
      arith::ConstantOp::create(b(), loc(), b().getZeroAttr(floatVec));
  auto check = [&](Value c, Value col) {
    Value x =
        vector::LoadOp::create(b(), loc(), floatVec, valueTile,
                               ValueRange{c, col}, false, llvm::Align(16));
    Value mag = arith::AndIOp::create(
        b(), loc(), vector::BitCastOp::create(b(), loc(), intVec, x),
        magnitude);
    Value bad = arith::CmpIOp::create(b(), loc(), arith::CmpIPredicate::uge,
                                      mag, infBits);
    Value any =
        vector::ReductionOp::create(b(), loc(), vector::CombiningKind::OR, bad);
    kb.ifThen(any, [&] {
      vector::StoreOp::create(
          b(), loc(), arith::SelectOp::create(b(), loc(), bad, zeros, x),
          valueTile, ValueRange{c, col}, false, llvm::Align(16));
    });
    return any;
  };
  Value found = kb.boolean(false);
  if (unrolledCopies) {
    for (int64_t i = 0; i < chunk / copyRowStep; ++i)
      found = kb.orI(
          found, check(kb.add(copyRow, kb.idx(i * copyRowStep)), copyColumn));
  } else {
    const int64_t segments = d / vec;
    setReg(nonFiniteFlag, 0, kb.boolean(false));
    kb.coopLoop(kb.idx(chunk * segments), [&](Value e) {
      Value c = kb.floorDiv(e, kb.idx(segments));
      Value col = kb.mul(kb.floorMod(e, kb.idx(segments)), kb.idx(vec));
      setReg(nonFiniteFlag, 0, kb.orI(reg(nonFiniteFlag, 0), check(c, col)));
    });
    found = reg(nonFiniteFlag, 0);
  }
  // The zeros are visible to every warp, and every thread learns whether
  // any thread found one.
  Value anyThread =
      NVVM::BarrierOp::create(b(), loc(), TypeRange{i32()}, Value(), Value(),
                              NVVM::BarrierReductionAttr::get(
                                  b().getContext(), NVVM::BarrierReduction::OR),
                              arith::ExtUIOp::create(b(), loc(), i32(), found))
          .getRes();
  return kb.ne(anyThread, kb.i32(0));
}

void MmaTile::addNonFiniteValues(const SmallVector<Frag> &p) {
  // Per row h, bit c % 32 of word c / 32 says that slot c has p > 0: each
  // lane sets the bits of its own fragments, the quad ORs them together.
  const int64_t keyTiles = chunk / 8, words = (chunk + 31) / 32;
  Value twoT = kb.toI32(kb.mul(quad, kb.idx(2)));
  std::array<SmallVector<Value>, 2> rowKeys;
  for (int h = 0; h < 2; ++h) {
    rowKeys[h].assign(words, kb.i32(0));
    for (int64_t nt = 0; nt < keyTiles; ++nt)
      for (int e = 0; e < 2; ++e) {
        Value positive =
            kb.fcmp(arith::CmpFPredicate::OGT, p[nt][2 * h + e], kb.f32(0));
        Value shift =
            arith::AddIOp::create(b(), loc(), twoT, kb.i32((nt * 8) % 32 + e));
        Value bit = arith::ShLIOp::create(
            b(), loc(), arith::ExtUIOp::create(b(), loc(), i32(), positive),
            shift);
        Value &word = rowKeys[h][nt * 8 / 32];
        word = arith::OrIOp::create(b(), loc(), word, bit);
      }
    for (Value &word : rowKeys[h])
      for (int32_t m : {1, 2})
        word = arith::OrIOp::create(b(), loc(), word, shuffleXor(word, m));
  }
  for (int64_t w = 0; w < words; ++w) {
    kb.forRange(
        kb.idx(0), kb.idx(std::min<int64_t>(32, chunk - 32 * w)), [&](Value c) {
          Value c32 = kb.toI32(c);
          std::array<Value, 2> seen;
          for (int h = 0; h < 2; ++h) {
            Value shifted =
                arith::ShRUIOp::create(b(), loc(), rowKeys[h][w], c32);
            seen[h] =
                kb.ne(arith::AndIOp::create(b(), loc(), shifted, kb.i32(1)),
                      kb.i32(0));
          }
          Value j = maskedKey(kb.add(c, kb.idx(32 * w)));
          Value valid = kb.andI(kb.ge(j, kb.idx(0)), kb.lt(j, tile.seqK));
          kb.ifThen(kb.andI(valid, kb.orI(seen[0], seen[1])), [&] {
            for (int64_t nt = 0; nt < d / 8; ++nt)
              for (int e = 0; e < 2; ++e) {
                Value col = kb.add(kb.idx(nt * 8 + e), kb.mul(quad, kb.idx(2)));
                Value v = kb.loadV(tile.batch, tile.kvHead, j, col);
                Value bad = kb.orI(
                    kb.fcmp(arith::CmpFPredicate::UEQ, v, kb.f32(INFINITY)),
                    kb.fcmp(arith::CmpFPredicate::OEQ, v, kb.f32(-INFINITY)));
                for (int h = 0; h < 2; ++h) {
                  int64_t at = nt * 4 + 2 * h + e;
                  Value o = reg(outRegs, at);
                  setReg(outRegs, at,
                         kb.select(kb.andI(bad, seen[h]), kb.fadd(o, v), o));
                }
              }
          });
        });
  }
}

void MmaTile::store() {
  Value twoT = kb.mul(quad, kb.idx(2));
  for (int h = 0; h < 2; ++h) {
    Value l = reg(rowSum, h);
    l = kb.fadd(l, shuffleXor(l, 1));
    l = kb.fadd(l, shuffleXor(l, 2));
    // l = 0: no key (o = 0, lse = -inf); a NaN l is a NaN score that the
    // row keeps, which o and lse must show (docs/patterns.md).
    Value some = kb.fcmp(arith::CmpFPredicate::UNE, l, kb.f32(0));
    Value inv = kb.select(some, kb.fdiv(kb.f32(1), l), kb.f32(0));
    Value m = reg(rowMax, h);
    kb.ifThen(rowValid[h], [&] {
      for (int64_t nt = 0; nt < d / 8; ++nt)
        for (int e = 0; e < 2; ++e) {
          Value col = kb.add(kb.idx(nt * 8 + e), twoT);
          kb.storeOut(kb.fmul(reg(outRegs, nt * 4 + 2 * h + e), inv),
                      tile.batch, tile.head, rowIndex[h], col);
        }
      kb.ifThen(kb.eq(quad, kb.idx(0)), [&] {
        Value lse = kb.select(
            some, kb.fmul(kb.fadd(m, kb.log2(l)), kb.f32(M_LN2)), kb.negInf());
        kb.storeLse(lse, tile.batch, tile.head, rowIndex[h]);
      });
    });
  }
}

} // namespace

namespace {
struct ConvertTileToMmaSyncPass
    : public mlir::sattn::impl::SattnConvertTileToMmaSyncBase<
          ConvertTileToMmaSyncPass> {
  void runOnOperation() override {
    auto make = [](KernelBuilder &kb, tile::TileType type) {
      return std::unique_ptr<TileLayoutLowering>(new MmaTile(kb, type));
    };
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (failed(lowerTileOps(fn, tile::Layout::mma_sync, make)))
        return signalPassFailure();
  }
};
} // namespace
