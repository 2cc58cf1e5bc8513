//===- Permute.cpp - Lowering of permute (PBS-Attn) -----------------------===//
//
// docs/patterns.md, "permute". Five selection stages (PermuteStages.cpp),
// each a grid of work items per (batch, query head), computing what
// MaskOracle::Impl::buildPermute computes:
//   1. probe: each probe row t (the last min(n, Sq) query rows) gets its
//      exact causal softmax max (fp32 logits) and sum (fp64; RowStatistics).
//   2. importance: one thread per key j sums exp(l - max) / sum over the
//      probe rows in row order (fp64) and stores a_j = float(acc / #rows).
//   3. sort: stable descending sort of each complete segment of S keys, by
//      rank: rank(j) = #{j' in the segment ranked before j} (a NaN below
//      every number, ties to the smaller index); perm[segStart + rank] = j
//      and posOf[j] = segStart + rank. The tail keys stay in place.
//   4. blocks: mean permuted key of every whole block (blocks of complete
//      segments).
//   5. lists: per absolute query block Q of B positions: mean q of Q, pooled
//      scores of the candidate blocks c, (c + 1) B <= m_Q S, all candidates
//      written in rank order to Q's list, and the cover-alpha prefix length
//      (fp64 softmax, as coverCount) as the list's count.
// The attention kernel then visits, for a tile in query block Q: Q's own
// segment [m_Q S, min((m_Q + 1) S, Sk)), the permuted block holding key 0
// (when m_Q > 0), and the kept blocks of Q's list through perm (skipping the
// block of key 0). Causality is applied on original key indices by the
// emitter.
//
// Workspace, per (batch, head) bh = b * Hq + h (np = min(n, Sq), nwb = the
// number of whole blocks = (Sk / S) (S / B), nQ = query blocks of the call,
// L = kListSplit):
//   HeadFloats [bh * (Sk + np + nwb (D + L))]:
//     importance [Sk] | probe-row max [np] | block mean keys [nwb][D] |
//     candidate scores of each lists item [L][nwb]
//   HeadInts [bh * (2 Sk + 2 np)]:
//     perm [Sk] | posOf [Sk] | probe-row sums [np] as fp64 bit pairs (lo, hi)
//   ListCount [bh * nQ + q], ListItems [(bh * nQ + q) * nwb + rank].
//
//===----------------------------------------------------------------------===//

#include "passes/PrimitiveInterfaces.h"
#include "passes/Schedule.h"
#include "passes/primitives/Models.h"
#include "passes/primitives/PermuteStages.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::sattn;
using namespace mlir::sattn::permute;
using ::sattn::KernelMemref;
using ::sattn::KernelScalar;
using ::sattn::WorkspaceSlot;

//===----------------------------------------------------------------------===//
// Workspace.
//===----------------------------------------------------------------------===//

static void addPermuteWorkspace(const KernelRequest &req, StageAttr stage,
                                WorkspaceSizes &slots) {
  using ::sattn::SizeExpr;
  // The stages share one workspace; it is counted once.
  if (stageOf(stage) != Stage::Lists)
    return;
  Params pp = params(req, stage.getPrimitive());
  const int64_t S = pp.segment, B = pp.block, D = req.shape.headDim;
  SizeExpr sq = SizeExpr::seqQ(), sk = SizeExpr::seqK();
  SizeExpr heads = SizeExpr::batch() * req.shape.heads;
  SizeExpr numProbe = min(SizeExpr(pp.probe), sq);
  SizeExpr wholeBlocks = floorDiv(sk, S) * (S / B);
  SizeExpr numQB = numQueryBlocks(B, BlockOrigin::absolute);
  auto slot = [&](WorkspaceSlot s) -> SizeExpr & { return slots[unsigned(s)]; };
  slot(WorkspaceSlot::HeadFloats) +=
      heads * (sk + numProbe + wholeBlocks * (D + kListSplit));
  slot(WorkspaceSlot::HeadInts) += heads * (sk * 2 + numProbe * 2);
  slot(WorkspaceSlot::ListCount) += heads * numQB;
  slot(WorkspaceSlot::ListItems) += heads * numQB * wholeBlocks;
}

//===----------------------------------------------------------------------===//
// Key sources.
//===----------------------------------------------------------------------===//

namespace {

class PermuteSource : public KeySource {
public:
  explicit PermuteSource(const Params &pp) : pp(pp) {}

  /// A tile lies in one query block, so every row shares the segment, the
  /// block of key 0 and the kept list.
  bool visitsOnlyMembers() const override { return true; }

protected:
  /// m_Q of the tile's rows (a tile lies in one block, hence one segment).
  Value segmentOf(KernelBuilder &kb, Value pos) {
    return kb.floorDiv(pos, kb.idx(pp.segment));
  }
  Value intsBase(KernelBuilder &kb, const Geometry &geo,
                 const TileContext &tile) {
    Value bh = kb.add(kb.mul(tile.batch, kb.idx(kb.shape().heads)), tile.head);
    return kb.mul(bh, geo.intsPerHead);
  }
  Value permAt(KernelBuilder &kb, const Geometry &geo, const TileContext &tile,
               Value pos) {
    return kb.loadWs(WorkspaceSlot::HeadInts,
                     kb.add(intsBase(kb, geo, tile), pos));
  }
  Value posOf(KernelBuilder &kb, const Geometry &geo, const TileContext &tile,
              Value j) {
    return kb.loadWs(WorkspaceSlot::HeadInts,
                     kb.add(intsBase(kb, geo, tile), kb.add(geo.posOfAt, j)));
  }
  /// The permuted block holding original key 0.
  Value blockOfKey0(KernelBuilder &kb, const Geometry &geo,
                    const TileContext &tile) {
    return kb.floorDiv(posOf(kb, geo, tile, kb.idx(0)), kb.idx(pp.block));
  }

  Params pp;
};

/// Q's own segment [m_Q S, min((m_Q + 1) S, Sk)).
class OwnSegmentSource : public PermuteSource {
public:
  using PermuteSource::PermuteSource;
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    Value start = kb.mul(segmentOf(kb, tile.firstPos), kb.idx(pp.segment));
    Value end = kb.min(kb.add(start, kb.idx(pp.segment)), tile.seqK);
    cx.visitRange(tile, self, start, end);
  }
  Value contains(KeySourceContext &cx, const TileContext &,
                 const RowContext &row, Value j) override {
    KernelBuilder &kb = cx.builder();
    return kb.eq(segmentOf(kb, row.pos), segmentOf(kb, j));
  }
};

/// The permuted block holding original key 0 (in segment 0, so only new
/// when m_Q > 0).
class KeyZeroBlockSource : public PermuteSource {
public:
  using PermuteSource::PermuteSource;
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    Value later = kb.gt(segmentOf(kb, tile.firstPos), kb.idx(0));
    kb.ifThen(later, [&] {
      Geometry geo = geometry(kb, pp);
      Value start = kb.mul(blockOfKey0(kb, geo, tile), kb.idx(pp.block));
      Value count = kb.min(kb.idx(pp.block), kb.sub(tile.seqK, start));
      cx.visitKeys(tile, self, count, [&](Value c) {
        return permAt(kb, geo, tile, kb.add(start, c));
      });
    });
  }
  Value contains(KeySourceContext &cx, const TileContext &tile,
                 const RowContext &row, Value j) override {
    KernelBuilder &kb = cx.builder();
    Geometry geo = geometry(kb, pp);
    Value later = kb.gt(segmentOf(kb, row.pos), kb.idx(0));
    Value inBlock =
        kb.eq(kb.floorDiv(posOf(kb, geo, tile, j), kb.idx(pp.block)),
              blockOfKey0(kb, geo, tile));
    return kb.andI(later, inBlock);
  }
};

/// The kept candidate blocks of Q's list, through perm, minus the block of
/// key 0. Last source: contains() is never asked by a later one.
class KeptBlocksSource : public PermuteSource {
public:
  using PermuteSource::PermuteSource;
  void enumerate(KeySourceContext &cx, const TileContext &tile,
                 unsigned self) override {
    KernelBuilder &kb = cx.builder();
    Geometry geo = geometry(kb, pp);
    Value blockB = kb.idx(pp.block);
    Value qb = kb.floorDiv(tile.firstPos, blockB);
    Value bh = kb.add(kb.mul(tile.batch, kb.idx(kb.shape().heads)), tile.head);
    Value list = kb.add(kb.mul(bh, geo.numQB), kb.sub(qb, geo.firstQB));
    Value count = kb.loadWs(WorkspaceSlot::ListCount, list);
    Value itemsBase = kb.mul(list, geo.wholeBlocks);
    // Where the block of key 0 sits in the list (count: absent).
    Value c0 = blockOfKey0(kb, geo, tile);
    Value at0 = kb.forRangeCarry(
        kb.idx(0), count, kb.idx(1), {count}, [&](Value n, ValueRange a) {
          Value item =
              kb.loadWs(WorkspaceSlot::ListItems, kb.add(itemsBase, n));
          return SmallVector<Value>{
              kb.select(kb.eq(item, c0), kb.min(a[0], n), a[0])};
        })[0];
    Value blocks =
        kb.select(kb.lt(at0, count), kb.sub(count, kb.idx(1)), count);
    cx.visitKeys(tile, self, kb.mul(blocks, blockB), [&](Value c) {
      Value n = kb.floorDiv(c, blockB);
      n = kb.add(n, kb.select(kb.ge(n, at0), kb.idx(1), kb.idx(0)));
      Value block = kb.loadWs(WorkspaceSlot::ListItems, kb.add(itemsBase, n));
      Value pos = kb.add(kb.mul(block, blockB), kb.floorMod(c, blockB));
      return permAt(kb, geo, tile, pos);
    });
  }
  Value contains(KeySourceContext &cx, const TileContext &, const RowContext &,
                 Value) override {
    return cx.builder().boolean(true);
  }
};

struct PermuteModel
    : KeySourcePrimitive::ExternalModel<PermuteModel, PermuteOp> {
  TileConstraint getTileConstraint(Operation *op,
                                   const KernelRequest &req) const {
    return {params(req, req.indexOf(op)).block, false};
  }
  /// The query's own segment, the block of key 0, the kept permuted blocks.
  void appendKeySources(Operation *op, const KernelRequest &req,
                        KeySourceList &sources) const {
    Params pp = params(req, req.indexOf(op));
    sources.push_back(std::make_unique<OwnSegmentSource>(pp));
    sources.push_back(std::make_unique<KeyZeroBlockSource>(pp));
    sources.push_back(std::make_unique<KeptBlocksSource>(pp));
  }
};

struct PermuteSelection
    : SelectionPrimitive::ExternalModel<PermuteSelection, PermuteOp> {
  void planStages(Operation *op, const KernelRequest &req, StringRef function,
                  int64_t primitive, SmallVectorImpl<StageAttr> &stages) const {
    permute::planStages(op->getContext(), req, function, primitive, stages);
  }
  void addWorkspace(Operation *, const KernelRequest &req, StageAttr stage,
                    WorkspaceSizes &slots) const {
    addPermuteWorkspace(req, stage, slots);
  }
  LogicalResult emitStage(Operation *, KernelBuilder &kb,
                          const KernelRequest &req, StageAttr stage) const {
    return permute::emitStage(kb, req, stage);
  }
};
} // namespace

void mlir::sattn::registerPermuteModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, SattnDialect *) {
    PermuteOp::attachInterface<PermuteModel, PermuteSelection>(*ctx);
  });
}
