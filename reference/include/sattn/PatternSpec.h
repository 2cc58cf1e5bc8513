//===- PatternSpec.h - Plain description of a sparse attention pattern ----===//
//
// A PatternSpec is a fully specialised pattern (every parameter bound to a
// value) in plain C++ types. It is what the reference oracle consumes; it is
// produced from verified `sattn` dialect IR by the pattern importer. It holds
// no MLIR types so that the oracle stays independent of the compiler.
//
// Semantics of every field: docs/patterns.md.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PATTERNSPEC_H
#define SATTN_PATTERNSPEC_H

#include "sattn/ScoreModifiers.h"

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace sattn {

//===----------------------------------------------------------------------===//
// `keep where` predicates: a small integer expression tree.
//===----------------------------------------------------------------------===//

/// The integer variables a predicate may read (docs/patterns.md, `keep where`):
/// B is the block size, Batch the batch index b.
enum class KeepVar { Q, K, QB, KB, H, B, Sq, Sk, Batch };

enum class KeepOp {
  Const, // value
  Var,   // var
  // Binary integer ops (operands[0], operands[1]). Division and remainder are
  // floor division / floor modulo; division by zero yields 0.
  Add,
  Sub,
  Mul,
  Div,
  Rem,
  And,
  Or,
  Xor,
  Shl,
  Shr,
  Min,
  Max,
  // Comparisons yield 0 or 1.
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  // Logic on truth values (non-zero = true).
  LogicAnd,
  LogicOr,
  LogicNot,
  // is_pow2(x): x >= 1 and x is a power of two.
  IsPow2,
  // select(c, a, b).
  Select,
  // Truncating division and remainder (arith.divsi / arith.remsi); division
  // by zero yields 0.
  DivTrunc,
  RemTrunc,
  // An element of run-time integer input number `value`, indexed by the
  // variables `indices` (each Batch, H, Q or K; one per dimension).
  Input,
};

struct KeepExpr {
  KeepOp op = KeepOp::Const;
  int64_t value = 0;
  KeepVar var = KeepVar::Q;
  std::vector<KeepVar> indices; // for Input
  std::vector<std::shared_ptr<const KeepExpr>> operands;
};
using KeepExprPtr = std::shared_ptr<const KeepExpr>;

//===----------------------------------------------------------------------===//
// Primitives.
//===----------------------------------------------------------------------===//

/// `sink n`: keys j < tokens.
struct SinkPrim {
  int64_t tokens = 0;
};

enum class WindowUnit { Tokens, Blocks, Fraction };
/// `window`: tokens (p - w < j <= p), blocks (0 <= qb - kb < W), or a fraction
/// f of the key length, meaning max(B, round(f * Sk)) tokens.
struct WindowPrim {
  WindowUnit unit = WindowUnit::Tokens;
  int64_t size = 0;    // Tokens / Blocks
  double fraction = 0; // Fraction
};

enum class StrideKind { Pow2, Every, List };
/// `strides`: block distance d = qb - kb kept when pow2 / multiple / listed.
struct StridesPrim {
  StrideKind kind = StrideKind::Pow2;
  int64_t every = 1;         // Every
  std::vector<int64_t> list; // List (distances >= 0)
};

/// `columns [c...]`: key blocks kb = c.
struct ColumnsPrim {
  std::vector<int64_t> blocks;
};

/// `diagonals [d...]`: block diagonals qb - kb = d.
struct DiagonalsPrim {
  std::vector<int64_t> offsets;
};

/// `keep where EXPR`.
struct KeepPrim {
  KeepExprPtr predicate;
  /// True when the predicate reads only qb, kb, h and constants.
  bool blockLevel = false;
};

/// `stripes` (SampleAttention). Block size is `block`.
struct StripesPrim {
  int64_t block = 128;
  int64_t segments = 8;
  int64_t rows = 64;
  double alpha = 0.95;
  double windowFraction = 0.05;
};

/// `tree_search` (HiP).
struct TreeSearchPrim {
  int64_t blockQ = 64;
  int64_t blockK = 2;
  int64_t budget = 512; // tokens; K = budget / blockK branches
  int64_t queryStride = 2;
  int64_t sink = 16;
  int64_t window = 256;
};

enum class TopkGranularity { Token, Block };
enum class ScoreSource { KeyScore, Linear, PooledQK };
/// `topk`: keep `k` best candidates, or the cover-`alpha` prefix.
struct TopkPrim {
  bool byCover = false;
  int64_t k = 0;      // when !byCover
  double alpha = 1.0; // when byCover
  TopkGranularity granularity = TopkGranularity::Token;
  int64_t block = 128; // for Block granularity
  ScoreSource source = ScoreSource::KeyScore;
};

/// `permute` (PBS-Attn).
struct PermutePrim {
  int64_t segment = 256;
  int64_t probe = 128;
  int64_t block = 128;
  double alpha = 0.9;
};

using Primitive =
    std::variant<SinkPrim, WindowPrim, StridesPrim, ColumnsPrim, DiagonalsPrim,
                 KeepPrim, StripesPrim, TreeSearchPrim, TopkPrim, PermutePrim>;

/// One dimension of a run-time integer input: the batch B, the query heads
/// Hq, the key tokens Sk, or a fixed size.
struct InputDim {
  enum Kind { Batch, Heads, Tokens, Fixed } kind = Fixed;
  int64_t size = 0; // for Fixed
};

/// `input NAME: i32[dims]` (docs/patterns.md, "Run-time integer inputs in
/// predicates"): a contiguous C-order int32 tensor given at each call.
struct IntInputDecl {
  std::string name;
  std::vector<InputDim> dims;
};

/// A specialised pattern: A(i) = C(i) ∩ (K1(i) ∪ K2(i) ∪ ...).
struct PatternSpec {
  std::string name;
  int64_t block = 128; // B: qb(i) = p(i) / B, kb(j) = j / B
  bool causal = true;
  std::vector<Primitive> primitives;
  /// Applied to the scores of the kept keys; never change which are kept.
  ScoreModifiers modifiers;
  /// Run-time integer inputs, in declaration order (KeepExpr::value of an
  /// Input node indexes this list).
  std::vector<IntInputDecl> inputs;
};

} // namespace sattn

#endif // SATTN_PATTERNSPEC_H
