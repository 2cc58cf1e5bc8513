//===- ScoreModifiers.cpp - Score modifiers of docs/patterns.md -----------===//

#include "sattn/ScoreModifiers.h"

#include "llvm/Support/MathExtras.h"

#include <cassert>
#include <cmath>
#include <limits>

using namespace sattn;

double sattn::alibiSlope(int64_t head, int64_t heads) {
  assert(heads >= 1 && head >= 0 && head < heads && "head out of range");
  const int64_t base = int64_t(1) << llvm::Log2_64(uint64_t(heads));
  if (head < base)
    return std::exp2(-8.0 * double(head + 1) / double(base));
  // Slope 2t of 2H', t = h - H'.
  const int64_t t = head - base;
  return std::exp2(-8.0 * double(2 * t + 1) / double(2 * base));
}

double ScoreModifiers::apply(double score, int64_t head, int64_t heads,
                             int64_t pos, int64_t key) const {
  if (score == -std::numeric_limits<double>::infinity())
    return score;
  if (softcap > 0)
    score = softcap * std::tanh(score / softcap);
  if (alibi)
    score -= alibiSlope(head, heads) * double(pos - key);
  return score;
}
