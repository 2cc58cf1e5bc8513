//===- Recall.h - How much of the dense attention a pattern keeps ---------===//
//
// docs/patterns.md, "Attention recall": for query row i with the dense causal
// softmax P_i over C(i), recall(i) = sum over j in A(i) of P_i(j); per head
// its mean, 5th percentile and minimum over rows, the pattern's density and
// its output error against dense attention, all in float64 from the
// oracle's rows (MaskOracle, attentionRow). Also where the dense mass lies:
// the fewest key blocks holding a given share of it, which says how sparse
// the inputs let an ideal pattern be.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_RECALL_H
#define SATTN_RECALL_H

#include "sattn/Oracle.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace sattn {

struct RecallOptions {
  /// Every row is evaluated up to this query length; above it, `sampleRows`
  /// rows per head, one drawn at random from each of that many equal strata
  /// (a fixed seed, so results are reproducible).
  int64_t allRowsUpTo = 8192;
  int64_t sampleRows = 1024;
  /// The dense cover: the fewest blocks of `coverBlock` keys whose dense
  /// mass reaches `coverMass`.
  int64_t coverBlock = 128;
  double coverMass = 0.95;
};

/// Recall of one (batch, query head).
struct HeadRecall {
  int64_t batch = 0, head = 0;
  double recallMean = 0, recallP5 = 0, recallMin = 0;
  /// Attended pairs / causal pairs, over every row (not only the sampled).
  double density = 0;
  /// ||o - o_dense|| / ||o_dense|| over the evaluated rows (Frobenius);
  /// absent without v.
  std::optional<double> outRelErr;
  /// Sum over evaluated rows of the dense cover's blocks, over the sum of
  /// their causal blocks.
  double denseCover = 0;
  /// Rows the figures above are over (all of Sq unless sampled).
  int64_t rowsEvaluated = 0;
};

/// Recall of every (b, h) of the oracle's shape. Needs q and k (the dense
/// softmax reads them whatever the pattern); v is optional (null: no output
/// error). C(i) is causal when the pattern is, else every key; rows with an
/// empty C(i) (Sq > Sk) have nothing to recall and are left out. Rows are
/// spread over threads; the result does not depend on their number.
llvm::Expected<std::vector<HeadRecall>>
computeRecall(const MaskOracle &oracle, const OracleInputs &inputs,
              const float *v, const RecallOptions &options = {});

/// The rows computeRecall evaluates for a query length.
std::vector<int64_t> recallRows(int64_t seqQ, const RecallOptions &options);

/// Dense causal attention mass per key block for some rows of one (b, h):
/// mass[r][c] is the mean over the evaluated rows of query block r of the
/// causal softmax mass of key block c (blocks of `blockSize` tokens, query
/// blocks on absolute positions). Each query
/// block evaluates `rowsPerBlock` rows spread over it. For pictures.
llvm::Expected<std::vector<std::vector<double>>>
denseBlockMass(const AttentionShape &shape, const OracleInputs &inputs,
               int64_t b, int64_t h, int64_t blockSize, int64_t rowsPerBlock);

} // namespace sattn

#endif // SATTN_RECALL_H
