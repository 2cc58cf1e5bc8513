//===- Recall.cpp - How much of the dense attention a pattern keeps -------===//
//
// Each evaluated row is attended twice through attentionRow, key block by
// key block: over C(i) (the dense reference) and over A(i) (the pattern).
// Block results merge by their log-sum-exp, so recall(i) =
// exp(lse_A - lse_C), and a pattern that keeps all of C(i) computes the very
// same blocks and gets recall exactly 1. The dense blocks' masses give the
// cover for free.
//
//===----------------------------------------------------------------------===//

#include "sattn/Recall.h"

#include "sattn/Errors.h"

#include "llvm/Support/Parallel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

using namespace sattn;

namespace {

/// Attention of one row over `keys`, computed per key block and merged.
struct BlockedRow {
  /// (block, lse) of every block holding a key, ascending.
  std::vector<std::pair<int64_t, double>> blockLse;
  double lse = -std::numeric_limits<double>::infinity();
  std::vector<double> out; // D values, with v
};

/// Scratch space of one thread.
struct RowScratch {
  std::vector<KeyInterval> pieces;
  std::vector<double> logits, blockOut, mergedOut;
  std::vector<std::vector<double>> blockOuts;
};

void attendBlocked(const AttentionShape &shape, const OracleInputs &inputs,
                   const float *v, int64_t b, int64_t h, int64_t i,
                   const std::vector<KeyInterval> &keys, int64_t blockSize,
                   RowScratch &scratch, BlockedRow &row,
                   const ScoreModifiers &modifiers = ScoreModifiers()) {
  const int64_t D = shape.headDim;
  row.blockLse.clear();
  scratch.blockOuts.clear();
  // Cut the intervals at block boundaries and attend each block's pieces.
  size_t next = 0;
  int64_t from = keys.empty() ? 0 : keys.front().first;
  while (next < keys.size()) {
    const int64_t block = from / blockSize;
    const int64_t blockEnd = (block + 1) * blockSize;
    scratch.pieces.clear();
    while (next < keys.size() && from < blockEnd) {
      const int64_t to = std::min(keys[next].second, blockEnd);
      scratch.pieces.emplace_back(from, to);
      if (to == keys[next].second) {
        ++next;
        if (next < keys.size())
          from = keys[next].first;
      } else {
        from = to;
      }
    }
    scratch.blockOut.assign(v ? D : 0, 0.0);
    double lse = attentionRow(shape, inputs, v, b, h, i, scratch.pieces,
                              v ? scratch.blockOut.data() : nullptr,
                              scratch.logits, modifiers);
    row.blockLse.emplace_back(block, lse);
    if (v)
      scratch.blockOuts.push_back(scratch.blockOut);
  }
  double mx = -std::numeric_limits<double>::infinity();
  for (const auto &entry : row.blockLse)
    mx = std::max(mx, entry.second);
  row.out.assign(v ? D : 0, 0.0);
  if (row.blockLse.empty()) {
    row.lse = mx;
    return;
  }
  double sum = 0;
  for (const auto &entry : row.blockLse)
    sum += std::exp(entry.second - mx);
  row.lse = mx + std::log(sum);
  if (v)
    for (size_t n = 0; n < row.blockLse.size(); ++n) {
      const double weight = std::exp(row.blockLse[n].second - row.lse);
      for (int64_t d = 0; d < D; ++d)
        row.out[d] += weight * scratch.blockOuts[n][d];
    }
}

/// C(i) = [0, end(i)).
int64_t denseEnd(const MaskOracle &oracle, int64_t i) {
  const int64_t Sk = oracle.shape().seqK;
  if (!oracle.spec().causal)
    return Sk;
  return std::clamp<int64_t>(oracle.position(i) + 1, 0, Sk);
}

/// What one row contributes to its head's figures.
struct RowFigures {
  bool evaluated = false;
  double recall = 0;
  int64_t coverBlocks = 0, denseBlocks = 0;
  double errorSquared = 0, referenceSquared = 0;
};

/// The fewest of `masses` (summing to about 1) that reach `target`.
int64_t coverSize(std::vector<double> &masses, double target) {
  std::sort(masses.begin(), masses.end(), std::greater<double>());
  double sum = 0;
  int64_t count = 0;
  for (double mass : masses) {
    if (sum >= target)
      break;
    sum += mass;
    ++count;
  }
  return std::max<int64_t>(count, 1);
}

RowFigures evaluateRow(const MaskOracle &oracle, const OracleInputs &inputs,
                       const float *v, int64_t b, int64_t h, int64_t i,
                       const RecallOptions &options, RowScratch &scratch) {
  RowFigures f;
  const int64_t end = denseEnd(oracle, i);
  if (end == 0)
    return f;
  const AttentionShape &shape = oracle.shape();
  BlockedRow dense, kept;
  // Dense attention with the pattern's score modifiers: recall measures
  // what the pattern's keys keep of it.
  const ScoreModifiers &modifiers = oracle.spec().modifiers;
  attendBlocked(shape, inputs, v, b, h, i, {{0, end}}, options.coverBlock,
                scratch, dense, modifiers);
  std::vector<KeyInterval> keys;
  oracle.rowIntervals(b, h, i, keys);
  attendBlocked(shape, inputs, v, b, h, i, keys, options.coverBlock, scratch,
                kept, modifiers);
  f.evaluated = true;
  // Rounding may put lse_A a hair above lse_C when A(i) holds nearly all
  // of the mass; recall is a share, at most 1.
  f.recall = keys.empty() ? 0.0 : std::min(1.0, std::exp(kept.lse - dense.lse));
  std::vector<double> masses;
  for (const auto &entry : dense.blockLse)
    masses.push_back(std::exp(entry.second - dense.lse));
  f.denseBlocks = int64_t(masses.size());
  f.coverBlocks = coverSize(masses, options.coverMass);
  if (v)
    for (int64_t d = 0; d < shape.headDim; ++d) {
      const double diff = kept.out[d] - dense.out[d];
      f.errorSquared += diff * diff;
      f.referenceSquared += dense.out[d] * dense.out[d];
    }
  return f;
}

/// Nearest-rank percentile of `sorted` (ascending).
double percentile(const std::vector<double> &sorted, double fraction) {
  size_t rank = size_t(std::ceil(fraction * double(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

} // namespace

std::vector<int64_t> sattn::recallRows(int64_t seqQ,
                                       const RecallOptions &options) {
  std::vector<int64_t> rows;
  if (seqQ <= options.allRowsUpTo || seqQ <= options.sampleRows) {
    for (int64_t i = 0; i < seqQ; ++i)
      rows.push_back(i);
    return rows;
  }
  // mt19937_64's output is fixed by the C++ standard, so the sample is the
  // same on every platform.
  std::mt19937_64 rng(0x5a77e11);
  const int64_t n = std::max<int64_t>(1, options.sampleRows);
  for (int64_t r = 0; r < n; ++r) {
    const int64_t lo = r * seqQ / n, hi = (r + 1) * seqQ / n;
    rows.push_back(lo + int64_t(rng() % uint64_t(hi - lo)));
  }
  return rows;
}

llvm::Expected<std::vector<HeadRecall>>
sattn::computeRecall(const MaskOracle &oracle, const OracleInputs &inputs,
                     const float *v, const RecallOptions &options) {
  if (!inputs.q || !inputs.k)
    return makeError("recall needs q and k: the dense attention it compares "
                     "with reads them whatever the pattern");
  if (options.coverBlock < 1 || !(options.coverMass > 0) ||
      options.coverMass > 1)
    return makeError("recall options: cover block >= 1, cover mass in (0, 1]");
  const AttentionShape &shape = oracle.shape();
  const std::vector<int64_t> rows = recallRows(shape.seqQ, options);
  const int64_t heads = shape.batch * shape.heads;
  std::vector<RowFigures> figures(size_t(heads) * rows.size());
  // Chunks of rows, so that each task amortises its scratch space.
  constexpr size_t kRowsPerTask = 32;
  const size_t chunks = (rows.size() + kRowsPerTask - 1) / kRowsPerTask;
  llvm::parallelFor(0, size_t(heads) * chunks, [&](size_t task) {
    const int64_t bh = int64_t(task / chunks);
    const size_t first = (task % chunks) * kRowsPerTask;
    RowScratch scratch;
    for (size_t n = first; n < std::min(rows.size(), first + kRowsPerTask); ++n)
      figures[size_t(bh) * rows.size() + n] =
          evaluateRow(oracle, inputs, v, bh / shape.heads, bh % shape.heads,
                      rows[n], options, scratch);
  });
  std::vector<HeadRecall> result;
  for (int64_t bh = 0; bh < heads; ++bh) {
    HeadRecall hr;
    hr.batch = bh / shape.heads;
    hr.head = bh % shape.heads;
    std::vector<double> recalls;
    int64_t cover = 0, denseBlocks = 0;
    double error = 0, reference = 0;
    for (size_t n = 0; n < rows.size(); ++n) {
      const RowFigures &f = figures[size_t(bh) * rows.size() + n];
      if (!f.evaluated)
        continue;
      recalls.push_back(f.recall);
      cover += f.coverBlocks;
      denseBlocks += f.denseBlocks;
      error += f.errorSquared;
      reference += f.referenceSquared;
    }
    hr.rowsEvaluated = int64_t(recalls.size());
    if (!recalls.empty()) {
      double sum = 0;
      for (double r : recalls)
        sum += r;
      hr.recallMean = sum / double(recalls.size());
      std::sort(recalls.begin(), recalls.end());
      hr.recallP5 = percentile(recalls, 0.05);
      hr.recallMin = recalls.front();
      hr.denseCover = double(cover) / double(denseBlocks);
    }
    if (v)
      hr.outRelErr = reference > 0 ? std::sqrt(error / reference)
                                   : (error > 0 ? INFINITY : 0.0);
    // Density over every row, walked the way block maps walk them.
    BlockMap map =
        computeBlockMap(oracle, hr.batch, hr.head, oracle.spec().block);
    double densePairs = 0;
    for (int64_t i = 0; i < shape.seqQ; ++i)
      densePairs += double(denseEnd(oracle, i));
    hr.density = densePairs > 0 ? double(map.attendedPairs) / densePairs : 0;
    result.push_back(hr);
  }
  return result;
}

llvm::Expected<std::vector<std::vector<double>>>
sattn::denseBlockMass(const AttentionShape &shape, const OracleInputs &inputs,
                      int64_t b, int64_t h, int64_t blockSize,
                      int64_t rowsPerBlock) {
  if (!inputs.q || !inputs.k)
    return makeError("dense attention needs q and k");
  if (blockSize < 1 || rowsPerBlock < 1 || b < 0 || b >= shape.batch || h < 0 ||
      h >= shape.heads)
    return makeError("dense block mass: block and rows >= 1, (b, h) in range");
  const int64_t offset = shape.seqK - shape.seqQ;
  const int64_t kBlocks = (shape.seqK + blockSize - 1) / blockSize;
  const int64_t firstBlock = std::max<int64_t>(offset, 0) / blockSize;
  const int64_t lastBlock = (shape.seqK - 1) / blockSize;
  std::vector<std::vector<double>> mass(size_t(lastBlock - firstBlock + 1),
                                        std::vector<double>(kBlocks, 0.0));
  llvm::parallelFor(0, mass.size(), [&](size_t r) {
    RowScratch scratch;
    BlockedRow row;
    const int64_t lo = std::max<int64_t>((firstBlock + int64_t(r)) * blockSize,
                                         std::max<int64_t>(offset, 0));
    const int64_t hi = std::min<int64_t>(
        (firstBlock + int64_t(r) + 1) * blockSize, shape.seqK);
    const int64_t count = std::min(rowsPerBlock, hi - lo);
    for (int64_t n = 0; n < count; ++n) {
      // Positions spread over the block, the last one included.
      const int64_t p = hi - 1 - n * (hi - lo) / count;
      attendBlocked(shape, inputs, nullptr, b, h, p - offset, {{0, p + 1}},
                    blockSize, scratch, row);
      for (const auto &[block, lse] : row.blockLse)
        mass[r][block] += std::exp(lse - row.lse) / double(count);
    }
  });
  return mass;
}
