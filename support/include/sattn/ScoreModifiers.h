//===- ScoreModifiers.h - Score modifiers of docs/patterns.md ---*- C++ -*-===//
//
// What a pattern does to the scaled score s of a kept key before the
// softmax (docs/patterns.md, "Score modifiers"): a soft cap, then ALiBi's
// linear distance penalty. Shared by the reference oracle (apply) and the
// code generator (alibiSlope, the one statement of ALiBi's slope rule).
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_SCOREMODIFIERS_H
#define SATTN_SCOREMODIFIERS_H

#include <cstdint>

namespace sattn {

/// ALiBi's slope m_h of query head h of `heads`: 2^(-8 (h + 1) / H) for H a
/// power of two; otherwise the slopes of H' = 2^floor(log2 H), then the
/// slopes 0, 2, 4, ... of 2H' until there are H.
double alibiSlope(int64_t head, int64_t heads);

struct ScoreModifiers {
  /// c > 0: s <- c * tanh(s / c); 0: no cap.
  double softcap = 0;
  /// s <- s - m_h * (p(i) - j).
  bool alibi = false;

  bool any() const { return softcap > 0 || alibi; }
  /// The modified score of key j for query head h of `heads` at position
  /// `pos`, in double precision. -inf stays -inf (a dropped key).
  double apply(double score, int64_t head, int64_t heads, int64_t pos,
               int64_t key) const;
};

} // namespace sattn

#endif // SATTN_SCOREMODIFIERS_H
