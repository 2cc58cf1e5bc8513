//===- TileToWgmma.cpp - sattn-convert-tile-to-wgmma ----------------------===//
//
// The `wgmma` layout (sm_90a): the warp-fragment tile of WarpFragmentTile.h
// with Hopper's warpgroup products. Each group of four warps (128 threads)
// computes 64 query rows with `wgmma.mma_async`: Q·Kᵀ as m64n{chunk}k16 with
// Q and K from shared memory, P·V as
// m64n{d}k16 with P from registers (the score fragments, narrowed) and V
// from shared memory, transposed by the instruction. Every warp's share of
// an m64nN accumulator is the m16n8 fragment layout of its 16 rows, so the
// mask, the softmax and the epilogue are the shared ones.
//
// The tile's queries (once per tile) and the K and V chunks are staged as
// head-dim panels of 64 elements (128 bytes): panel p holds columns
// [64p, 64p + 64) of every staged row, rows 128 bytes apart, and the 16-byte
// units of a row are XOR-swizzled by row % 8 (the 128-byte swizzle), so that
// the products read them without bank conflicts. The descriptors (PTX ISA,
// "Matrix Descriptor Format"): Q and K are K-major (stride between 8-row
// groups 1024 bytes; a k16 step adds 32 bytes within a panel, a new panel
// every 4 steps; warpgroup w's rows start 64 rows into Q's panels); V is
// MN-major (panels `chunk` rows apart as the leading offset, 8-row groups
// 1024 bytes apart; a k16 step adds 16 rows).
// bench/probes/wgmma_descriptors.cu checks these conventions on the GPU.
//
// Q comes from shared memory rather than registers: with the query
// fragments as the A operand of every chunk's Q·Kᵀ, ptxas 13.0 gave their
// registers to the P fragments of P·V in some single-loop kernels (seen in
// the SASS of a causal window at D = 64: every chunk after the first scored
// P against K), and the 16 to 32 registers are better spent elsewhere.
//
// The staged rows are written through the generic proxy (cp.async or
// stores) and read by wgmma through the async proxy: each writer fences
// (fence.proxy.async) before the barrier that publishes them. A product's
// accumulators pass through the fence and its wait (wgmma.wait_group) as
// tied operands, so no use of them is scheduled before the product has
// completed. In the plain form every product is followed by its wait. The
// overlapped form (sattn-pipeline-chunks' overlap-products) issues Q·Kᵀ and
// P·V apart from their waits: the lowering counts the commit groups in
// flight (they complete in order) to wait for Q·Kᵀ alone, keeps P·V's A
// words live through its wait, and stages K and V in two slots each.
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
/// K and V staging slots (LayoutAttr::stagingSlots): a chunk's rows load
/// while the asynchronous products read another chunk's.
constexpr int64_t kStagingSlots = 2;

class WgmmaTile : public WarpFragmentTile {
public:
  /// `slots`: staging slots for K and for V (1, or kStagingSlots when the
  /// function's ops name slots).
  WgmmaTile(KernelBuilder &kb, tile::TileType type, int64_t slots)
      : WarpFragmentTile(kb, type), slots(slots), rows(type.getRows()),
        panelColumns(kPanelRowBytes / (elem.getIntOrFloatBitWidth() / 8)),
        panelBytes(chunk * kPanelRowBytes) {}

private:
  void allocateStaging() override {
    // 128-byte swizzle atoms start at 1024-byte boundaries.
    keyTile = kb.sharedAlloc({slots * chunk * d}, elem, /*alignment=*/1024);
    valueTile = kb.sharedAlloc({slots * chunk * d}, elem, /*alignment=*/1024);
    const int64_t groupBytes = kSwizzleRows * kPanelRowBytes;
    keyDescriptor = descriptor(keyTile, /*leading=*/16, groupBytes);
    valueDescriptor = descriptor(valueTile, /*leading=*/panelBytes, groupBytes);
    queryTile = kb.sharedAlloc({rows * d}, elem, /*alignment=*/1024);
    // Warpgroup w computes rows [64w, 64w + 64).
    Value warpgroup = kb.toI64(kb.floorDiv(kb.threadIndex(), kb.idx(128)));
    queryDescriptor = arith::AddIOp::create(
        b(), loc(), descriptor(queryTile, /*leading=*/16, groupBytes),
        arith::MulIOp::create(
            b(), loc(), warpgroup,
            arith::ConstantOp::create(
                b(), loc(), b().getI64IntegerAttr(64 * kPanelRowBytes >> 4))));
  }
  /// The index into a buffer of `rowsPerPanel` staged rows of element `col`
  /// of row `c`.
  Value swizzledAt(Value c, Value col, int64_t rowsPerPanel) {
    Value panel = kb.floorDiv(col, kb.idx(panelColumns));
    Value within = kb.floorMod(col, kb.idx(panelColumns));
    Value unit = kb.floorDiv(within, kb.idx(vec));
    Value swizzled = arith::XOrIOp::create(
        b(), loc(), unit, kb.floorMod(c, kb.idx(kSwizzleRows)));
    Value at = kb.add(kb.mul(panel, kb.idx(rowsPerPanel * panelColumns)),
                      kb.mul(c, kb.idx(panelColumns)));
    return kb.add(at, kb.add(kb.mul(swizzled, kb.idx(vec)),
                             kb.floorMod(within, kb.idx(vec))));
  }
  void loadQueries() override;
  SmallVector<Value> stagedAt(Value c, Value col) override {
    return {swizzledAt(c, col, chunk)};
  }
  void fenceStagedWrites() override { ptx("fence.proxy.async.shared::cta;"); }
  SmallVector<Frag> scores() override;
  void accumulateValues(const SmallVector<Frag> &p) override;

  FailureOr<SmallVector<Value>> qkAsync(Value slot) override;
  SmallVector<Value> qkWait(ValueRange pending) override;
  FailureOr<SmallVector<Value>> softmaxDeferred(ValueRange scores) override;
  void rescale() override;
  LogicalResult pvStaged(ValueRange probabilities, const ChunkValues *of,
                         Value slot, bool async) override;
  void pvWait() override;

  /// Issues Q·Kᵀ of the chunk staged in K slot `slot` (null: 0; one commit
  /// group); the accumulators are not readable until a wait.
  SmallVector<Value> issueScores(Value slot);
  /// `desc` moved to staging slot `slot` (null: unchanged).
  Value inSlot(Value desc, Value slot);
  /// Issues O += P·V for P as A fragments (four words per k16 step) and V
  /// from the staging slot `slot` (null: 0); one commit group.
  SmallVector<Value> issueValues(ArrayRef<Value> words, Value slot);
  /// P as the A fragments of P·V: m16n8k16 pairs, narrowed and packed.
  SmallVector<Value> packProbabilities(const SmallVector<Frag> &p);
  /// wgmma.wait_group `pending`, with `acc` tied through it and `live`
  /// read by it (registers an in-flight product still reads).
  SmallVector<Value> waitProducts(int64_t pending, ValueRange acc,
                                  ValueRange live = {});

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
  /// acc += A · B for one k16 step, B by descriptor (transposed for an
  /// MN-major B), A from four registers (`a`) or, K-major, by descriptor
  /// (`aDesc`).
  SmallVector<Value> product(ValueRange acc, ArrayRef<Value> a, Value aDesc,
                             Value desc, bool transposeB);
  /// The byte offset of head dims [16 ks, 16 ks + 16) in a K-major panel
  /// buffer of `rowsPerPanel` rows.
  int64_t kStepOffset(int64_t ks, int64_t rowsPerPanel) const {
    return ks * 16 / panelColumns * rowsPerPanel * kPanelRowBytes +
           (ks * 16 % panelColumns) * (kPanelRowBytes / panelColumns);
  }

  const int64_t slots, rows, panelColumns, panelBytes;
  Value keyDescriptor, valueDescriptor, queryTile, queryDescriptor;

  /// Commit groups of products issued and not yet waited for, oldest
  /// first: lowering sees a block's ops in order, so it counts them.
  enum class Product { qk, pv };
  SmallVector<Product> inFlight;
  /// The asynchronous P·V in flight: its accumulators and A words, and
  /// what its completion owes the non-finite V rule.
  struct PendingValues {
    SmallVector<Value> acc, words;
    Value nonFinite;
    PositiveSlots positive;
    ChunkValues chunk;
  };
  std::optional<PendingValues> pendingValues;
  /// The accumulator update of the last softmaxDeferred.
  std::optional<SoftmaxUpdate> pendingRescale;
  /// Words per row of positiveSlots.
  int64_t slotWords() const { return (chunk + 31) / 32; }
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
                                      Value aDesc, Value desc,
                                      bool transposeB) {
  const size_t n = acc.size();
  const std::string type = elem.isBF16() ? "bf16" : "f16";
  auto operand = [](size_t i) { return "$" + std::to_string(i); };
  // Inputs after the 2n accumulator operands: A (4 registers or a
  // descriptor), B's descriptor, scale-d.
  const size_t aOperands = aDesc ? 1 : 4;
  std::string code =
      "{\n.reg .pred p;\nsetp.ne.b32 p, " + operand(2 * n + aOperands + 1) +
      ", 0;\nwgmma.mma_async.sync.aligned.m64n" + std::to_string(n * 2) +
      "k16.f32." + type + "." + type + " {";
  for (size_t i = 0; i < n; ++i)
    code += (i ? ", " : "") + operand(i);
  code += "}, ";
  if (aDesc) {
    code += operand(2 * n);
  } else {
    code += "{";
    for (size_t i = 0; i < 4; ++i)
      code += (i ? ", " : "") + operand(2 * n + i);
    code += "}";
  }
  code += ", " + operand(2 * n + aOperands) + ", p, 1, 1, " +
          (aDesc ? "0, " : "") + (transposeB ? "1" : "0") + ";\n}";
  SmallVector<Value> inputs;
  if (aDesc)
    inputs.push_back(aDesc);
  else
    inputs.append(a.begin(), a.end());
  inputs.push_back(desc);
  inputs.push_back(kb.i32(1)); // scale-d: accumulate
  return throughAccumulators(code, acc, inputs,
                             aDesc ? "l,l,r" : "r,r,r,r,l,r");
}

void WgmmaTile::loadQueries() {
  // Once per tile; rows outside [0, Sq) are zeros. 16-byte cp.async (all in
  // flight at once, no registers) when the call's Q rows are 16-byte
  // aligned, else element by element.
  using ::sattn::KernelMemref;
  const int64_t threads = kb.threads();
  // Two threads per row (a warp per 16 rows) divide the tile evenly.
  assert(rows * d % (threads * vec) == 0 && "threads must divide the tile");
  kb.ifThenElse(
      rowsAligned({KernelMemref::Q}), {},
      [&] {
        const int64_t segments = d / vec;
        for (int64_t first = 0; first < rows * segments; first += threads) {
          Value e = kb.add(kb.threadIndex(), kb.idx(first));
          Value r = kb.floorDiv(e, kb.idx(segments));
          Value col = kb.mul(kb.floorMod(e, kb.idx(segments)), kb.idx(vec));
          auto [row, valid] = clampedRow(kb.add(tile.firstRow, r));
          Value src =
              kb.tensorIndex(KernelMemref::Q, tile.batch, tile.head, row, col);
          asyncCopy(queryTile, swizzledAt(r, col, rows), KernelMemref::Q, src,
                    valid);
        }
        commitCopies();
        NVVM::CpAsyncWaitGroupOp::create(b(), loc(), 0);
        return SmallVector<Value>{};
      },
      [&] {
        Value zero =
            arith::ConstantOp::create(b(), loc(), b().getZeroAttr(elem));
        kb.coopLoop(kb.idx(rows * d), [&](Value e) {
          Value r = kb.floorDiv(e, kb.idx(d));
          Value col = kb.floorMod(e, kb.idx(d));
          auto [row, valid] = clampedRow(kb.add(tile.firstRow, r));
          Value x = kb.load(
              kb.memref(KernelMemref::Q),
              kb.tensorIndex(KernelMemref::Q, tile.batch, tile.head, row, col));
          kb.store(kb.select(valid, x, zero), queryTile,
                   {swizzledAt(r, col, rows)});
        });
        return SmallVector<Value>{};
      });
  fenceStagedWrites();
  kb.barrier();
}

Value WgmmaTile::inSlot(Value desc, Value slot) {
  if (!slot)
    return desc;
  // Slots are chunk * d elements apart; descriptors count 16 bytes.
  const int64_t slotUnits = chunk * d * (elem.getIntOrFloatBitWidth() / 8) >> 4;
  return arith::AddIOp::create(b(), loc(), desc,
                               kb.toI64(kb.mul(slot, kb.idx(slotUnits))));
}

SmallVector<Value> WgmmaTile::issueScores(Value slot) {
  SmallVector<Value> acc(chunk / 2, kb.f32(0));
  Value keys = inSlot(keyDescriptor, slot);
  acc = throughAccumulators("wgmma.fence.sync.aligned;", acc);
  for (int64_t ks = 0; ks < d / 16; ++ks)
    acc = product(acc, {}, advance(queryDescriptor, kStepOffset(ks, rows)),
                  advance(keys, kStepOffset(ks, chunk)),
                  /*transposeB=*/false);
  ptx("wgmma.commit_group.sync.aligned;");
  return acc;
}

SmallVector<Value> WgmmaTile::waitProducts(int64_t pending, ValueRange acc,
                                           ValueRange live) {
  std::string constraints;
  for (size_t i = 0; i < live.size(); ++i)
    constraints += (i ? ",r" : "r");
  return throughAccumulators("wgmma.wait_group.sync.aligned " +
                                 std::to_string(pending) + ";",
                             acc, live, constraints);
}

SmallVector<Frag> WgmmaTile::scores() {
  assert(inFlight.empty() && "a synchronous Q·Kᵀ behind async products");
  return fragments(waitProducts(0, issueScores(Value())));
}

SmallVector<Value> WgmmaTile::packProbabilities(const SmallVector<Frag> &p) {
  SmallVector<Value> words;
  for (int64_t ks = 0; ks < chunk / 16; ++ks) {
    const Frag &lo = p[2 * ks], &hi = p[2 * ks + 1];
    words.append({pack(narrow(lo[0]), narrow(lo[1])),
                  pack(narrow(lo[2]), narrow(lo[3])),
                  pack(narrow(hi[0]), narrow(hi[1])),
                  pack(narrow(hi[2]), narrow(hi[3]))});
  }
  return words;
}

SmallVector<Value> WgmmaTile::issueValues(ArrayRef<Value> words, Value slot) {
  SmallVector<Value> acc;
  for (int64_t i = 0; i < d / 2; ++i)
    acc.push_back(reg(outRegs, i));
  Value desc = inSlot(valueDescriptor, slot);
  acc = throughAccumulators("wgmma.fence.sync.aligned;", acc);
  for (int64_t ks = 0; ks < chunk / 16; ++ks)
    acc = product(acc, words.slice(4 * ks, 4), Value(),
                  advance(desc, ks * 16 * kPanelRowBytes),
                  /*transposeB=*/true);
  ptx("wgmma.commit_group.sync.aligned;");
  return acc;
}

void WgmmaTile::accumulateValues(const SmallVector<Frag> &p) {
  assert(inFlight.empty() && "a synchronous P·V behind async products");
  SmallVector<Value> words = packProbabilities(p);
  SmallVector<Value> acc = waitProducts(0, issueValues(words, Value()));
  for (int64_t i = 0; i < d / 2; ++i)
    setReg(outRegs, i, acc[i]);
}

FailureOr<SmallVector<Value>> WgmmaTile::qkAsync(Value slot) {
  inFlight.push_back(Product::qk);
  return issueScores(slot);
}

SmallVector<Value> WgmmaTile::qkWait(ValueRange pending) {
  // Groups complete in order: wait until only those after the Q·Kᵀ remain.
  auto it = llvm::find(llvm::reverse(inFlight), Product::qk);
  assert(it != inFlight.rend() && "qk_wait without an async qk");
  const int64_t after = std::distance(inFlight.rbegin(), it);
  inFlight.erase(inFlight.begin(), std::prev(inFlight.end(), after));
  return waitProducts(after, pending);
}

FailureOr<SmallVector<Value>> WgmmaTile::softmaxDeferred(ValueRange scores) {
  // P travels as what its P·V and the non-finite rule need: the packed A
  // words, the p > 0 bits of each row (only when the chunk is masked) and
  // whether it is.
  SmallVector<Frag> s = fragments(scores);
  pendingRescale = updateStatistics(s);
  Value needs = maskNeeds ? maskNeeds : kb.boolean(false);
  SmallVector<Type> bitTypes(2 * slotWords(), i32());
  SmallVector<Value> bits = kb.ifThenElse(
      needs, bitTypes,
      [&] {
        PositiveSlots positive = positiveSlots(s);
        SmallVector<Value> flat(positive[0]);
        flat.append(positive[1]);
        return flat;
      },
      [&] { return SmallVector<Value>(2 * slotWords(), kb.i32(0)); });
  SmallVector<Value> carried = packProbabilities(s);
  carried.append(bits);
  carried.push_back(needs);
  maskNeeds = Value();
  return carried;
}

void WgmmaTile::rescale() {
  assert(pendingRescale && "rescale without softmaxDeferred");
  rescaleAccumulators(*pendingRescale);
  pendingRescale.reset();
}

LogicalResult WgmmaTile::pvStaged(ValueRange probabilities,
                                  const ChunkValues *of, Value slot,
                                  bool async) {
  const size_t words = chunk / 4, bits = 2 * slotWords();
  if (probabilities.size() != words + bits + 1)
    return failure(); // not from softmaxDeferred
  PendingValues pending;
  pending.words.assign(probabilities.begin(), probabilities.begin() + words);
  for (int h = 0; h < 2; ++h)
    pending.positive[h].assign(probabilities.begin() + words + h * slotWords(),
                               probabilities.begin() + words +
                                   (h + 1) * slotWords());
  Value needs = probabilities.back();
  pending.chunk = of ? *of : maskChunk;
  stagingOffset = slot ? kb.mul(slot, kb.idx(chunk * d)) : Value();
  pending.nonFinite = clearNonFiniteValuesIf(needs);
  stagingOffset = Value();
  pending.acc = issueValues(pending.words, slot);
  inFlight.push_back(Product::pv);
  pendingValues = std::move(pending);
  if (!async)
    pvWait();
  return success();
}

void WgmmaTile::pvWait() {
  assert(pendingValues && "pv_wait without an async pv");
  PendingValues &pending = *pendingValues;
  SmallVector<Value> acc = waitProducts(0, pending.acc, pending.words);
  inFlight.clear();
  for (int64_t i = 0; i < d / 2; ++i)
    setReg(outRegs, i, acc[i]);
  kb.ifThen(pending.nonFinite,
            [&] { addNonFiniteValues(pending.positive, pending.chunk); });
  pendingValues.reset();
}

} // namespace

namespace {
struct ConvertTileToWgmmaPass
    : public mlir::sattn::impl::SattnConvertTileToWgmmaBase<
          ConvertTileToWgmmaPass> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      // Two staging slots only where the overlapped pipeline uses them.
      bool named = false;
      fn.walk([&](Operation *op) {
        if (auto copy = dyn_cast<tile::CopyOp>(op))
          named |= bool(copy.getSlot());
        else if (auto qk = dyn_cast<tile::QKOp>(op))
          named |= bool(qk.getSlot());
        else if (auto pv = dyn_cast<tile::PVOp>(op))
          named |= bool(pv.getSlot());
      });
      const int64_t slots = named ? kStagingSlots : 1;
      auto make = [&](KernelBuilder &kb, tile::TileType type) {
        return std::unique_ptr<TileLayoutLowering>(
            new WgmmaTile(kb, type, slots));
      };
      if (failed(lowerTileOps(fn, tile::Layout::wgmma, make)))
        return signalPassFailure();
    }
  }
};
} // namespace
