//===- WarpFragmentTile.h - Tiles held as m16n8 warp fragments --*- C++ -*-===//
//
// What the tensor-core layouts (`mma_sync`, `wgmma`) share: warp w owns
// query rows [16w, 16w + 16) of the tile; lane 4g + t holds rows g and g + 8
// of the warp's score and output fragments (the m16n8 accumulator layout,
// which is also each warp's share of a wgmma m64nN accumulator), columns
// 2t and 2t + 1 of every 8-column slice. Per tile, each thread keeps its
// query fragments, its output accumulators and the running max and sum of
// its two rows in registers: private buffers that are only ever indexed by
// constants, so LLVM promotes them to registers.
//
// Common to both: K and V chunks staged in shared memory by 16-byte
// cp.async (zero-filled for empty slots) when the call's strides and
// pointers allow it, else element by element; the element mask; the online
// softmax in base 2; the non-finite V rule; the epilogue. A layout says how
// the staged rows are laid out and how the two products are computed.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_CODEGEN_WARPFRAGMENTTILE_H
#define SATTN_CODEGEN_WARPFRAGMENTTILE_H

#include "codegen/TileLowering.h"

#include <array>

namespace mlir::sattn {

/// Four f32 values of an m16n8 accumulator fragment.
using Frag = std::array<Value, 4>;

class WarpFragmentTile : public TileLayoutLowering {
public:
  WarpFragmentTile(KernelBuilder &kb, tile::TileType type);

  void begin(const TileValues &values, Operation *top) override;
  ChunkValues rangeChunk(Value start, Value count) override {
    return {tile::ChunkKind::range, start, count};
  }
  ChunkValues listChunk(Value count, function_ref<Value(Value)> keyOf) override;
  void copy(const ChunkValues &chunk, tile::Operand operand, Value pred,
            Value slot) override;
  void wait(int64_t pending) override { waitCopies(pending); }
  void release() override { kb.barrier(); }
  SmallVector<Value> qk() override { return flatten(scores()); }
  SmallVector<Value> mask(const ChunkValues &chunk, ValueRange scores,
                          Value needs, KeepFn keep) override;
  FailureOr<SmallVector<Value>> modify(const ChunkValues &chunk,
                                       ValueRange scores, ModifyFn fn) override;
  SmallVector<Value> softmax(ValueRange scores) override;
  void pv(ValueRange probabilities) override;
  void store() override;

protected:
  /// Allocates keyTile and valueTile (shared) and the layout's own
  /// buffers; runs at the top of the function after the common buffers and
  /// per-thread values exist.
  virtual void allocateStaging() = 0;
  /// The indices into keyTile / valueTile of element `col` of staged row
  /// `c`. For col a multiple of `vec`, the `vec` elements from there are
  /// contiguous.
  virtual SmallVector<Value> stagedAt(Value c, Value col) = 0;
  /// S = Q · Kᵀ of the staged chunk.
  virtual SmallVector<Frag> scores() = 0;
  /// O += P · V of the staged chunk.
  virtual void accumulateValues(const SmallVector<Frag> &p) = 0;
  /// Orders this thread's writes to the staged rows before the barrier that
  /// publishes them (wgmma reads shared memory through the async proxy).
  virtual void fenceStagedWrites() {}
  /// Whether the call's rows of every tensor in `tensors` are 16-byte
  /// aligned (pointer and strides), so that 16-byte copies may stage them.
  Value rowsAligned(ArrayRef<::sattn::KernelMemref> tensors);
  /// A 16-byte cp.async of `which` at `src` into `buffer` at `dst`; with
  /// `ok` false it reads nothing and zero-fills (`src` must stay valid).
  void asyncCopy(Value buffer, ValueRange dst, ::sattn::KernelMemref which,
                 Value src, Value ok);
  /// Closes the cp.async group of the copies issued since the last one.
  void commitCopies();
  /// Row `i` of the call clamped into [0, Sq), and whether `i` is one.
  std::pair<Value, Value> clampedRow(Value i);
  /// Loads the tile's queries (rows outside [0, Sq) as zeros): by default
  /// into queryRegs, as the A fragments of the m16n8k16 (or k8 tf32)
  /// products.
  virtual void loadQueries();

  /// What an online-softmax update leaves for the accumulators: each row's
  /// factor exp2(old max - new max), and whether no row max of the warp
  /// moved (then the factors are all 1).
  struct SoftmaxUpdate {
    std::array<Value, 2> alpha;
    Value warpUnchanged;
  };
  /// Updates the running max and sum with the chunk's scores `s`, which
  /// become P; the accumulators are left alone.
  SoftmaxUpdate updateStatistics(SmallVector<Frag> &s);
  void rescaleAccumulators(const SoftmaxUpdate &update);
  /// Per row h, bit c % 32 of word c / 32 says that slot c has p > 0 in the
  /// row (the union over the quad that holds it).
  using PositiveSlots = std::array<SmallVector<Value>, 2>;
  PositiveSlots positiveSlots(const SmallVector<Frag> &p);
  /// Whether the staged V chunk (at stagingOffset) holds a NaN or an
  /// infinity (the same answer in every thread); each thread first sets the
  /// non-finite values it checked to 0. One barrier.
  Value clearNonFiniteValues();
  /// clearNonFiniteValues() when `needs` (the chunk was masked: only then
  /// may p = 0 meet a non-finite value), else false.
  Value clearNonFiniteValuesIf(Value needs);
  /// O += v for every non-finite value v of chunk `ch` (read again from V)
  /// whose key has p > 0 in the row: for p > 0, p * v is v's own infinity
  /// or NaN, which the product on the zeroed tile left out.
  void addNonFiniteValues(const PositiveSlots &rowKeys, const ChunkValues &ch);
  /// The key of slot c of chunk `ch` (-1: none).
  Value keyOfSlot(const ChunkValues &ch, Value c);

  static SmallVector<Value> flatten(ArrayRef<Frag> frags);
  static SmallVector<Frag> fragments(ValueRange flat);
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
  Value pack(Value lo, Value hi);
  Value narrow(Value x) { return arith::TruncFOp::create(b(), loc(), elem, x); }
  /// The shared-memory address of a buffer's first element (i64).
  Value sharedAddress(Value buffer);
  Value shuffleXor(Value v, int32_t mask);

  const int64_t d, chunk;
  Type elem;
  /// f32 operands (three tf32 products in mma_sync).
  const bool tf32;
  /// Elements per 16-byte copy.
  int64_t vec;
  // Shared memory: staged K and V rows (layout's shape), slot keys.
  Value keyTile, valueTile, keyIndex;
  // Registers: query fragments, output accumulators, max and sum per row.
  Value queryRegs, outRegs, rowMax, rowSum, nonFiniteFlag;
  // Per thread.
  Value lane, group, quad, warpRow;
  // The chunk the last `mask` saw and whether it masked (null: no mask).
  ChunkValues maskChunk;
  Value maskNeeds;
  /// Added to the index of staged rows: the staging slot of the copy or
  /// product being lowered (null: slot 0). Layouts with several slots stage
  /// rows flat, slot after slot.
  Value stagingOffset;

private:
  void allocate();
  /// Copies the K or V rows of a chunk into shared memory: slot c holds row
  /// slotKey(c).first when slotKey(c).second, zeros otherwise. 16-byte
  /// cp.async when the call allows it (commitCopies() closes the group),
  /// else element by element.
  void copyRows(::sattn::KernelMemref which,
                function_ref<std::pair<Value, Value>(Value)> slotKey);
  /// The element-wise form of copyRows (any strides and alignment).
  void copyElements(::sattn::KernelMemref which,
                    function_ref<std::pair<Value, Value>(Value)> slotKey);
  /// copyRows for keys [c0, c0 + count): with a fixed row and segment per
  /// thread, unrolled, when the block's threads cover whole rows.
  void copyRange(::sattn::KernelMemref which, Value c0, Value count);
  /// `async` when K and V rows are known or found to be 16-byte aligned,
  /// else `elements`.
  void withAlignedRows(function_ref<void()> async,
                       function_ref<void()> elements);
  void waitCopies(int pending);
  /// Element masks when `needsMask`; keyOf(c) is the key of slot c (-1:
  /// none).
  void maskScores(SmallVector<Frag> &s, Value needsMask,
                  function_ref<Value(Value)> keyOf, KeepFn keep);
  /// The indices into `buffer` (keyTile or valueTile) of element `col` of
  /// staged row `c`: stagedAt, moved by stagingOffset.
  SmallVector<Value> stagedIndex(Value buffer, Value c, Value col);

  Value aligned;
  // Range copies: this thread's first row and column in a chunk, and the
  // rows between its copies (all threads cover copyRowStep whole rows).
  bool unrolledCopies = false;
  int64_t copyRowStep = 0;
  Value copyRow, copyColumn;
  // The thread's two rows (valid or not, and clamped into [0, Sq)).
  std::array<Value, 2> rowIndex, rowValid;
  std::array<RowContext, 2> rows;
};

} // namespace mlir::sattn

#endif // SATTN_CODEGEN_WARPFRAGMENTTILE_H
