//===- WarpFragmentTile.cpp - Tiles held as m16n8 warp fragments ---------===//

#include "codegen/WarpFragmentTile.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sattn;
using ::sattn::KernelMemref;

WarpFragmentTile::WarpFragmentTile(KernelBuilder &kb, tile::TileType type)
    : TileLayoutLowering(kb), d(type.getHeadDim()), chunk(type.getChunk()),
      elem(type.getElement()), tf32(type.getElement().isF32()) {
  vec = 16 / (elem.getIntOrFloatBitWidth() / 8);
}

SmallVector<Value> WarpFragmentTile::flatten(ArrayRef<Frag> frags) {
  SmallVector<Value> flat;
  for (const Frag &f : frags)
    flat.append(f.begin(), f.end());
  return flat;
}

SmallVector<Frag> WarpFragmentTile::fragments(ValueRange flat) {
  SmallVector<Frag> frags(flat.size() / 4);
  for (size_t i = 0; i < flat.size(); ++i)
    frags[i / 4][i % 4] = flat[i];
  return frags;
}

Value WarpFragmentTile::pack(Value lo, Value hi) {
  auto pair = VectorType::get({2}, elem);
  Value v =
      vector::FromElementsOp::create(b(), loc(), pair, ValueRange{lo, hi});
  Value word =
      vector::BitCastOp::create(b(), loc(), VectorType::get({1}, i32()), v);
  return vector::ExtractOp::create(b(), loc(), word, ArrayRef<int64_t>{0});
}

Value WarpFragmentTile::sharedAddress(Value buffer) {
  return kb.toI64(
      memref::ExtractAlignedPointerAsIndexOp::create(b(), loc(), buffer));
}

Value WarpFragmentTile::shuffleXor(Value v, int32_t mask) {
  return gpu::ShuffleOp::create(b(), loc(), v, mask, 32, gpu::ShuffleMode::XOR)
      .getShuffleResult();
}

FailureOr<SmallVector<Value>>
WarpFragmentTile::modify(const ChunkValues &, ValueRange scores, ModifyFn fn) {
  // The fragments hold raw scores (the softmax scales them): the region
  // gets and gives scaled ones. Element (nt, e) of row h is slot
  // 8 nt + e + 2 t of the chunk `mask` saw; dropped keys stay -inf.
  SmallVector<Frag> s = fragments(scores);
  const double scale = kb.shape().effectiveScale();
  Value toScaled = kb.f32(scale), toRaw = kb.f32(1.0 / scale);
  Value twoT = kb.mul(quad, kb.idx(2));
  for (int64_t nt = 0; nt < chunk / 8; ++nt)
    for (int e = 0; e < 2; ++e) {
      Value j = keyOfSlot(maskChunk, kb.add(kb.idx(nt * 8 + e), twoT));
      for (int h = 0; h < 2; ++h) {
        Value &x = s[nt][2 * h + e];
        Value modified = kb.fmul(fn(rows[h], j, kb.fmul(x, toScaled)), toRaw);
        x = kb.select(kb.fcmp(arith::CmpFPredicate::UNE, x, kb.negInf()),
                      modified, x);
      }
    }
  return flatten(s);
}

SmallVector<Value> WarpFragmentTile::softmax(ValueRange scores) {
  SmallVector<Frag> s = fragments(scores);
  rescaleAccumulators(updateStatistics(s));
  return flatten(s);
}

void WarpFragmentTile::pv(ValueRange probabilities) {
  SmallVector<Frag> p = fragments(probabilities);
  // Only masked chunks have p = 0 for keys a row does not see.
  Value nonFinite;
  if (maskNeeds)
    nonFinite = clearNonFiniteValuesIf(maskNeeds);
  accumulateValues(p);
  if (nonFinite)
    kb.ifThen(nonFinite,
              [&] { addNonFiniteValues(positiveSlots(p), maskChunk); });
  maskNeeds = Value();
}

Value WarpFragmentTile::clearNonFiniteValuesIf(Value needs) {
  return kb.ifThenElse(
      needs, {b().getI1Type()},
      [&] { return SmallVector<Value>{clearNonFiniteValues()}; },
      [&] { return SmallVector<Value>{kb.boolean(false)}; })[0];
}

void WarpFragmentTile::withAlignedRows(function_ref<void()> async,
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

void WarpFragmentTile::allocate() {
  Value tid = kb.threadIndex();
  lane = kb.floorMod(tid, kb.idx(32));
  warpRow = kb.mul(kb.floorDiv(tid, kb.idx(32)), kb.idx(16));
  group = kb.floorDiv(lane, kb.idx(4));
  quad = kb.floorMod(lane, kb.idx(4));
  allocateStaging();
  keyIndex = kb.sharedAlloc({chunk}, i32());
  int64_t qRegs = tf32 ? d / 8 * 4 : d / 16 * 4;
  queryRegs = kb.privateAlloc({qRegs}, tf32 ? f32() : i32());
  outRegs = kb.privateAlloc({d / 8 * 4}, f32());
  rowMax = kb.privateAlloc({2}, f32());
  rowSum = kb.privateAlloc({2}, f32());
  nonFiniteFlag = kb.privateAlloc({1}, b().getI1Type());

  const int64_t segments = d / vec, threads = kb.threads();
  if (threads % segments == 0 && chunk % (threads / segments) == 0) {
    unrolledCopies = true;
    copyRowStep = threads / segments;
    copyRow = kb.floorDiv(tid, kb.idx(segments));
    copyColumn = kb.mul(kb.floorMod(tid, kb.idx(segments)), kb.idx(vec));
  }
  // 16-byte copies need 16-byte aligned K and V rows: known at compile time
  // (aligned_kv), or checked once per launch.
  aligned = tile.alignedKV ? kb.boolean(true)
                           : rowsAligned({KernelMemref::K, KernelMemref::V});
}

Value WarpFragmentTile::rowsAligned(ArrayRef<KernelMemref> tensors) {
  auto multiple = [&](Value v, int64_t m) {
    return kb.eq(kb.floorMod(v, kb.idx(m)), kb.idx(0));
  };
  Value ok = kb.boolean(true);
  for (KernelMemref which : tensors) {
    Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(
        b(), loc(), kb.memref(which));
    ok = kb.andI(ok, multiple(ptr, 16));
  }
  for (KernelMemref which : tensors)
    for (unsigned dim = 0; dim < 3; ++dim)
      ok = kb.andI(ok, multiple(kb.stride(which, dim), vec));
  return ok;
}

void WarpFragmentTile::asyncCopy(Value buffer, ValueRange dst,
                                 KernelMemref which, Value src, Value ok) {
  nvgpu::DeviceAsyncCopyOp::create(
      b(), loc(), nvgpu::DeviceAsyncTokenType::get(b().getContext()), buffer,
      dst, kb.memref(which), ValueRange{src}, b().getIndexAttr(vec),
      kb.select(ok, kb.idx(vec), kb.idx(0)), b().getUnitAttr());
}

std::pair<Value, Value> WarpFragmentTile::clampedRow(Value i) {
  Value valid = kb.andI(kb.ge(i, kb.idx(0)), kb.lt(i, tile.seqQ));
  Value lastRow = kb.sub(tile.seqQ, kb.idx(1));
  return {kb.max(kb.min(i, lastRow), kb.idx(0)), valid};
}

void WarpFragmentTile::begin(const TileValues &values, Operation *top) {
  tile = values;
  {
    OpBuilder::InsertionGuard guard(b());
    b().setInsertionPoint(top);
    allocate();
  }
  for (int h = 0; h < 2; ++h) {
    Value i =
        kb.add(tile.firstRow, kb.add(warpRow, kb.add(group, kb.idx(8 * h))));
    // Rows outside [0, Sq) compute as a valid row and are never stored.
    std::tie(rowIndex[h], rowValid[h]) = clampedRow(i);
    rows[h].row = rowIndex[h];
    rows[h].pos = kb.add(rowIndex[h], tile.offset);
    rows[h].queryBlock = kb.floorDiv(rows[h].pos, kb.idx(tile.block));
  }
  loadQueries();
  for (int64_t i = 0; i < d / 8 * 4; ++i)
    setReg(outRegs, i, kb.f32(0));
  for (int h = 0; h < 2; ++h) {
    setReg(rowMax, h, kb.negInf());
    setReg(rowSum, h, kb.f32(0));
  }
}

void WarpFragmentTile::loadQueries() {
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
}

void WarpFragmentTile::copyRows(
    KernelMemref which, function_ref<std::pair<Value, Value>(Value)> slotKey) {
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
          asyncCopy(buffer, stagedIndex(buffer, c, col), which, src, ok);
        });
      },
      [&] { copyElements(which, slotKey); });
}

void WarpFragmentTile::copyElements(
    KernelMemref which, function_ref<std::pair<Value, Value>(Value)> slotKey) {
  Value buffer = which == KernelMemref::K ? keyTile : valueTile;
  Value zero = arith::ConstantOp::create(b(), loc(), b().getZeroAttr(elem));
  kb.coopLoop(kb.idx(chunk * d), [&](Value e) {
    Value c = kb.floorDiv(e, kb.idx(d));
    Value col = kb.floorMod(e, kb.idx(d));
    auto [j, ok] = slotKey(c);
    Value x = kb.load(kb.memref(which),
                      kb.tensorIndex(which, tile.batch, tile.kvHead, j, col));
    kb.store(kb.select(ok, x, zero), buffer, stagedIndex(buffer, c, col));
  });
}

void WarpFragmentTile::copyRange(KernelMemref which, Value c0, Value count) {
  auto rangeKey = [&](Value c) {
    Value ok = kb.lt(c, count);
    return std::make_pair(kb.select(ok, kb.add(c0, c), kb.idx(0)), ok);
  };
  if (!unrolledCopies)
    return copyRows(which, rangeKey);
  Value buffer = which == KernelMemref::K ? keyTile : valueTile;
  withAlignedRows(
      [&] {
        // This thread copies segment `copyColumn` of rows copyRow + i * step
        // of the chunk: one running source address, constant destinations.
        Value base =
            kb.tensorIndex(which, tile.batch, tile.kvHead, kb.idx(0), Value());
        Value strideS = kb.stride(which, 2);
        Value first = kb.add(kb.add(base, kb.mul(kb.add(c0, copyRow), strideS)),
                             copyColumn);
        Value step = kb.mul(kb.idx(copyRowStep), strideS);
        for (int64_t i = 0; i < chunk / copyRowStep; ++i) {
          Value c = kb.add(copyRow, kb.idx(i * copyRowStep));
          Value ok = kb.lt(c, count);
          Value src = kb.add(first, kb.mul(kb.idx(i), step));
          // Empty slots read nothing (zero-fill) from a valid address.
          asyncCopy(buffer, stagedIndex(buffer, c, copyColumn), which,
                    kb.select(ok, src, base), ok);
        }
      },
      [&] { copyElements(which, rangeKey); });
}

void WarpFragmentTile::commitCopies() { NVVM::CpAsyncCommitGroupOp::create(b(), loc()); }

/// Waits until at most `pending` commit groups are in flight, then makes
/// every thread's copies visible.
void WarpFragmentTile::waitCopies(int pending) {
  NVVM::CpAsyncWaitGroupOp::create(b(), loc(), pending);
  fenceStagedWrites();
  kb.barrier();
}

void WarpFragmentTile::maskScores(SmallVector<Frag> &s, Value needsMask,
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

WarpFragmentTile::SoftmaxUpdate
WarpFragmentTile::updateStatistics(SmallVector<Frag> &s) {
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
  return {alpha, warpUnchanged};
}

void WarpFragmentTile::rescaleAccumulators(const SoftmaxUpdate &update) {
  kb.ifThen(kb.notI(update.warpUnchanged), [&] {
    for (int64_t nt = 0; nt < d / 8; ++nt)
      for (int e = 0; e < 4; ++e) {
        int64_t at = nt * 4 + e;
        setReg(outRegs, at, kb.fmul(reg(outRegs, at), update.alpha[e / 2]));
      }
  });
}

ChunkValues WarpFragmentTile::listChunk(Value count, function_ref<Value(Value)> keyOf) {
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

void WarpFragmentTile::copy(const ChunkValues &ch, tile::Operand operand,
                            Value pred, Value slot) {
  KernelMemref which =
      operand == tile::Operand::keys ? KernelMemref::K : KernelMemref::V;
  stagingOffset = slot ? kb.mul(slot, kb.idx(chunk * d)) : Value();
  auto body = [&] {
    if (ch.kind == tile::ChunkKind::range)
      return copyRange(which, ch.start, ch.count);
    copyRows(which, [&](Value c) {
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
  stagingOffset = Value();
}

SmallVector<Value> WarpFragmentTile::mask(const ChunkValues &ch, ValueRange scores,
                                 Value needs, KeepFn keep) {
  SmallVector<Frag> s = fragments(scores);
  maskChunk = ch;
  maskNeeds = needs;
  maskScores(
      s, needs, [&](Value c) { return keyOfSlot(maskChunk, c); }, keep);
  return flatten(s);
}

Value WarpFragmentTile::keyOfSlot(const ChunkValues &ch, Value c) {
  if (ch.kind == tile::ChunkKind::list)
    return kb.toIndex(kb.load(keyIndex, {c}));
  return kb.select(kb.lt(c, ch.count), kb.add(ch.start, c), kb.idx(-1));
}

SmallVector<Value> WarpFragmentTile::stagedIndex(Value buffer, Value c,
                                                 Value col) {
  SmallVector<Value> at = stagedAt(c, col);
  if (stagingOffset)
    at.front() = kb.add(at.front(), stagingOffset);
  return at;
}

Value WarpFragmentTile::clearNonFiniteValues() {
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
    Value x = vector::LoadOp::create(b(), loc(), floatVec, valueTile,
                                     stagedIndex(valueTile, c, col), false,
                                     llvm::Align(16));
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
          valueTile, stagedIndex(valueTile, c, col), false, llvm::Align(16));
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
  fenceStagedWrites();
  Value anyThread =
      NVVM::BarrierOp::create(b(), loc(), TypeRange{i32()}, Value(), Value(),
                              NVVM::BarrierReductionAttr::get(
                                  b().getContext(), NVVM::BarrierReduction::OR),
                              arith::ExtUIOp::create(b(), loc(), i32(), found))
          .getRes();
  return kb.ne(anyThread, kb.i32(0));
}

WarpFragmentTile::PositiveSlots
WarpFragmentTile::positiveSlots(const SmallVector<Frag> &p) {
  // Each lane sets the bits of its own fragments, the quad ORs them
  // together.
  const int64_t keyTiles = chunk / 8, words = (chunk + 31) / 32;
  Value twoT = kb.toI32(kb.mul(quad, kb.idx(2)));
  PositiveSlots rowKeys;
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
  return rowKeys;
}

void WarpFragmentTile::addNonFiniteValues(const PositiveSlots &rowKeys,
                                          const ChunkValues &ch) {
  const int64_t words = (chunk + 31) / 32;
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
          Value j = keyOfSlot(ch, kb.add(c, kb.idx(32 * w)));
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

void WarpFragmentTile::store() {
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
