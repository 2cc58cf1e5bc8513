//===- Oracle.h - Reference semantics of sparse attention patterns -------===//
//
// The oracle implements docs/patterns.md directly, with straightforward loops,
// so that every other implementation (lowering passes, kernels) can be checked
// against it. It shares no code with the compiler on purpose.
//
// Static primitives are evaluated in closed form per query row as key
// intervals, so no Sq x Sk mask is ever built; dynamic primitives are selected
// once in MaskOracle::create (or per row on demand where storing every row's
// selection would not fit).
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_ORACLE_H
#define SATTN_ORACLE_H

#include "sattn/PatternSpec.h"
#include "sattn/TensorView.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sattn {

/// Run-time inputs, all contiguous C-order float32; null when not given.
/// The pointed-to data must outlive every MaskOracle created from it.
struct OracleInputs {
  const float *q = nullptr;             // [B, Hq, Sq, D]
  const float *k = nullptr;             // [B, Hkv, Sk, D]
  const float *keyScores = nullptr;     // [B, Hkv, Sk]
  const float *linearWeights = nullptr; // [Hkv, D]
  /// The pattern's run-time integer inputs (PatternSpec::inputs), in
  /// declaration order, each contiguous C-order int32 of its declared shape.
  std::vector<const int32_t *> intInputs;
};

/// Which run-time inputs a pattern's selections read.
struct RequiredInputs {
  bool q = false;
  bool k = false;
  bool keyScores = false;
  bool linearWeights = false;

  bool any() const { return q || k || keyScores || linearWeights; }
};

/// q/k for stripes, tree_search, pooled_qk and permute (and k for linear);
/// keyScores for key_score; linearWeights for linear.
RequiredInputs requiredInputs(const PatternSpec &spec);

/// Names ("q", "k", "key scores", "linear weights", then "input 'NAME'") of
/// the inputs `spec` needs that `inputs` lacks, in that order; empty when
/// nothing is missing.
std::vector<std::string> missingInputs(const PatternSpec &spec,
                                       const OracleInputs &inputs);

/// The size of a run-time input's dimension for a call of `shape`.
int64_t inputExtent(const InputDim &dim, const AttentionShape &shape);

/// Checks that every read of a run-time input in `spec` stays inside the
/// input's declared shape for a call of `shape` (docs/patterns.md: an index
/// outside it is an error at the call); the error names the input, the
/// dimension and the variable.
llvm::Error checkInputReads(const PatternSpec &spec,
                            const AttentionShape &shape);

/// A half-open key interval [first, second).
using KeyInterval = std::pair<int64_t, int64_t>;

/// Answers "which keys does query i attend to" for one pattern, shape and set
/// of inputs. Cheap to copy (the precomputed state is shared and immutable).
class MaskOracle {
public:
  /// Validates the shape, the pattern parameters and the presence of the
  /// inputs the pattern needs, then precomputes the dynamic selections.
  static llvm::Expected<MaskOracle> create(const PatternSpec &spec,
                                           const AttentionShape &shape,
                                           const OracleInputs &inputs);

  /// A(i) for batch b, query head h, query row i (local index) as sorted,
  /// disjoint, non-adjacent half-open key intervals. Replaces `out`.
  void rowIntervals(int64_t b, int64_t h, int64_t i,
                    std::vector<KeyInterval> &out) const;

  /// The number n >= 1 of rows i, i + 1, ..., i + n - 1 whose sets differ
  /// only by causality: A(i + r) = A(i + n - 1) ∩ C(i + r) for every batch
  /// and head. Lets a caller walk such rows from one computed row.
  int64_t rowsSharingKeys(int64_t i) const;

  /// Whether key j is in A(i). Computes the row; meant for tests and spot
  /// checks, not for inner loops.
  bool attends(int64_t b, int64_t h, int64_t i, int64_t j) const;

  /// Absolute position p(i) = i + (Sk - Sq).
  int64_t position(int64_t i) const;

  const PatternSpec &spec() const;
  const AttentionShape &shape() const;

  struct Impl;

private:
  explicit MaskOracle(std::shared_ptr<const Impl> impl)
      : impl(std::move(impl)) {}
  std::shared_ptr<const Impl> impl;
};

/// One row of reference attention in float64: the softmax of
/// scale * q_i . k_j over the keys in `keys` (sorted, disjoint intervals of
/// head (b, h)'s KV head) applied to `v`, exactly as referenceAttention
/// computes row i when keys = A(i). Writes D values to `out` (zeros when
/// `keys` is empty); `v` and `out` may both be null when only the lse is
/// wanted. Returns the lse (natural log; -inf when `keys` is empty).
/// `logits` is scratch space, reused across calls. `modifiers` change each
/// key's scaled score before the softmax (the pattern's, docs/patterns.md).
double attentionRow(const AttentionShape &shape, const OracleInputs &inputs,
                    const float *v, int64_t b, int64_t h, int64_t i,
                    llvm::ArrayRef<KeyInterval> keys, double *out,
                    std::vector<double> &logits,
                    const ScoreModifiers &modifiers = ScoreModifiers());

/// Reference attention in float64: for every (b, h, i), softmax of
/// scale * q_i . k_j over j in A(i), applied to v. `v` is [B, Hkv, Sk, D];
/// `out` is [B, Hq, Sq, D] and `lse` [B, Hq, Sq] (natural log); `lse` may be
/// null. Rows with empty A(i) get out = 0 and lse = -inf.
llvm::Error referenceAttention(const PatternSpec &spec,
                               const AttentionShape &shape,
                               const OracleInputs &inputs, const float *v,
                               double *out, double *lse);

/// Same, with an oracle already built (avoids recomputing selections).
llvm::Error referenceAttention(const MaskOracle &oracle,
                               const OracleInputs &inputs, const float *v,
                               double *out, double *lse);

/// Block-level summary of one (b, h) mask. Tile (r, c) covers the query rows
/// whose absolute position p(i) lies in block firstQBlock + r and the keys of
/// block c, clipped to the real tokens.
struct BlockMap {
  enum State : uint8_t { Skipped = 0, Partial = 1, Full = 2 };

  int64_t blockSize = 0;
  int64_t qBlocks = 0;
  int64_t kBlocks = 0;
  /// Absolute query block of map row 0: floor((Sk - Sq) / blockSize).
  int64_t firstQBlock = 0;
  int64_t seqQ = 0;
  int64_t seqK = 0;
  /// Row-major qBlocks x kBlocks, values of State.
  std::vector<uint8_t> state;
  int64_t attendedPairs = 0;
  /// attendedPairs / (Sq * Sk).
  double density = 0;
  /// attendedPairs / number of causal pairs (j <= p(i)).
  double causalDensity = 0;

  uint8_t at(int64_t r, int64_t c) const { return state[r * kBlocks + c]; }
};

/// Where a block map of `shape` at `blockSize` tokens lies: query blocks are
/// counted on absolute positions, so the first one is (Sk - Sq) / blockSize.
struct BlockGrid {
  int64_t firstQBlock = 0;
  int64_t qBlocks = 0;
  int64_t kBlocks = 0;
};
BlockGrid blockGrid(const AttentionShape &shape, int64_t blockSize);

/// The smallest f for which the grid at blockSize * f is at most `maxCells`
/// blocks a side (the factor downsampleBlockMap merges by).
int64_t blockGridFactor(const AttentionShape &shape, int64_t blockSize,
                        int64_t maxCells);

/// Builds the block map of (b, h) by walking each row's intervals, so static
/// patterns at 128K tokens take seconds, not an Sq x Sk pass.
BlockMap computeBlockMap(const MaskOracle &oracle, int64_t b, int64_t h,
                         int64_t blockSize);

/// Writes the token mask of every (b, h) to `mask`: uint8 [B, Hq, Sq, Sk] in
/// C order, 1 where query i attends key j; the caller sizes it.
void writeTokenMask(const MaskOracle &oracle, uint8_t *mask);

/// Merges f x f blocks into one cell, with the smallest f making both sides
/// at most `maxCells`. Cells are aligned on absolute blocks, so the result
/// equals computeBlockMap with blockSize * f: a cell is full when all its
/// blocks are full, skipped when all are skipped, else partial.
BlockMap downsampleBlockMap(const BlockMap &map, int64_t maxCells);

} // namespace sattn

#endif // SATTN_ORACLE_H
