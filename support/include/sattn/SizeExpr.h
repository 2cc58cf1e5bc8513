//===- SizeExpr.h - Sizes that depend on batch and lengths ------*- C++ -*-===//
//
// How many work items a kernel function has, or how many elements a workspace
// slot needs, depends on the call's batch B and lengths Sq, Sk; everything
// else is fixed when the kernel is compiled. A SizeExpr is such a size as a
// small expression over B, Sq and Sk, so that the compiler can write it into
// a kernel's record and the runtime can evaluate it at each call without
// knowing how the kernel was built. Evaluation is checked: an overflow or a
// division by zero is an error, never a wrapped size.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_SIZEEXPR_H
#define SATTN_SIZEEXPR_H

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <memory>
#include <string>

namespace sattn {

/// The run-time values a size may depend on.
struct CallSizes {
  int64_t batch = 1;
  int64_t seqQ = 1;
  int64_t seqK = 1;
};

class SizeExpr {
public:
  enum class Kind {
    Constant,
    Batch,
    SeqQ,
    SeqK,
    Add,
    Sub,
    Mul,
    FloorDiv, // rounds toward negative infinity
    CeilDiv,  // rounds toward positive infinity
    Min,
    Max,
  };

  /// The constant 0.
  SizeExpr();
  SizeExpr(int64_t value); // NOLINT: constants read naturally in formulas
  static SizeExpr batch();
  static SizeExpr seqQ();
  static SizeExpr seqK();

  friend SizeExpr operator+(const SizeExpr &a, const SizeExpr &b);
  friend SizeExpr operator-(const SizeExpr &a, const SizeExpr &b);
  friend SizeExpr operator*(const SizeExpr &a, const SizeExpr &b);
  friend SizeExpr floorDiv(const SizeExpr &a, const SizeExpr &b);
  friend SizeExpr ceilDiv(const SizeExpr &a, const SizeExpr &b);
  friend SizeExpr min(const SizeExpr &a, const SizeExpr &b);
  friend SizeExpr max(const SizeExpr &a, const SizeExpr &b);
  SizeExpr &operator+=(const SizeExpr &other) { return *this = *this + other; }

  Kind kind() const;
  /// The value of a Constant.
  int64_t constant() const;
  bool isConstant() const { return kind() == Kind::Constant; }

  /// The value for one call; errors on overflow or division by zero.
  llvm::Expected<int64_t> evaluate(const CallSizes &sizes) const;

  /// Infix text, e.g. "B * 32 * ceildiv(Sk, 128)".
  std::string str() const;

  /// JSON form: a number, "B", "Sq", "Sk", or [operator, lhs, rhs] with
  /// operator one of + - * floordiv ceildiv min max.
  llvm::json::Value toJSON() const;
  static llvm::Expected<SizeExpr> fromJSON(const llvm::json::Value &value);

  friend bool operator==(const SizeExpr &a, const SizeExpr &b);

private:
  struct Node;
  explicit SizeExpr(std::shared_ptr<const Node> node);
  static SizeExpr variable(Kind kind);
  static SizeExpr node3(Kind kind, const SizeExpr &a, const SizeExpr &b);
  static SizeExpr binary(Kind kind, const SizeExpr &a, const SizeExpr &b);

  std::shared_ptr<const Node> node;
};

} // namespace sattn

#endif // SATTN_SIZEEXPR_H
