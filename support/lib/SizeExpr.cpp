//===- SizeExpr.cpp - Sizes that depend on batch and lengths --------------===//

#include "sattn/SizeExpr.h"

#include "sattn/Errors.h"

#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/MathExtras.h"

using namespace sattn;
using Kind = SizeExpr::Kind;

struct SizeExpr::Node {
  Kind kind = Kind::Constant;
  int64_t value = 0;
  std::shared_ptr<const Node> lhs, rhs;
};

namespace {
struct OperatorName {
  Kind kind;
  const char *name;
};
constexpr OperatorName kOperators[] = {
    {Kind::Add, "+"},           {Kind::Sub, "-"},
    {Kind::Mul, "*"},           {Kind::FloorDiv, "floordiv"},
    {Kind::CeilDiv, "ceildiv"}, {Kind::Min, "min"},
    {Kind::Max, "max"}};
constexpr const char *kVariables[] = {"B", "Sq", "Sk"};

const char *operatorName(Kind kind) {
  for (const OperatorName &op : kOperators)
    if (op.kind == kind)
      return op.name;
  return "?";
}

/// a op b on constants, or nullopt on overflow or division by zero.
std::optional<int64_t> apply(Kind kind, int64_t a, int64_t b) {
  switch (kind) {
  case Kind::Add:
    return llvm::checkedAdd(a, b);
  case Kind::Sub:
    return llvm::checkedSub(a, b);
  case Kind::Mul:
    return llvm::checkedMul(a, b);
  case Kind::FloorDiv:
  case Kind::CeilDiv:
    if (b == 0 || (a == INT64_MIN && b == -1))
      return std::nullopt;
    return kind == Kind::FloorDiv ? llvm::divideFloorSigned(a, b)
                                  : llvm::divideCeilSigned(a, b);
  case Kind::Min:
    return std::min(a, b);
  case Kind::Max:
    return std::max(a, b);
  default:
    return std::nullopt;
  }
}
} // namespace

SizeExpr::SizeExpr() : SizeExpr(int64_t(0)) {}

SizeExpr::SizeExpr(int64_t value) {
  auto n = std::make_shared<Node>();
  n->value = value;
  node = std::move(n);
}

SizeExpr::SizeExpr(std::shared_ptr<const Node> node) : node(std::move(node)) {}

SizeExpr SizeExpr::variable(Kind kind) {
  auto n = std::make_shared<Node>();
  n->kind = kind;
  return SizeExpr(std::shared_ptr<const Node>(std::move(n)));
}

/// An operator node, unfolded (what the JSON reader needs).
SizeExpr SizeExpr::node3(Kind kind, const SizeExpr &a, const SizeExpr &b) {
  auto n = std::make_shared<Node>();
  n->kind = kind;
  n->lhs = a.node;
  n->rhs = b.node;
  return SizeExpr(std::shared_ptr<const Node>(std::move(n)));
}

SizeExpr SizeExpr::batch() { return variable(Kind::Batch); }
SizeExpr SizeExpr::seqQ() { return variable(Kind::SeqQ); }
SizeExpr SizeExpr::seqK() { return variable(Kind::SeqK); }

Kind SizeExpr::kind() const { return node->kind; }
int64_t SizeExpr::constant() const { return node->value; }

SizeExpr SizeExpr::binary(Kind kind, const SizeExpr &a, const SizeExpr &b) {
  // Fold what is known now, so that records stay short.
  if (a.isConstant() && b.isConstant())
    if (std::optional<int64_t> v = apply(kind, a.constant(), b.constant()))
      return SizeExpr(*v);
  auto is = [](const SizeExpr &e, int64_t v) {
    return e.isConstant() && e.constant() == v;
  };
  if ((kind == Kind::Add && is(a, 0)) || (kind == Kind::Mul && is(a, 1)))
    return b;
  if ((kind == Kind::Add || kind == Kind::Sub) && is(b, 0))
    return a;
  if ((kind == Kind::Mul || kind == Kind::FloorDiv || kind == Kind::CeilDiv) &&
      is(b, 1))
    return a;
  if (kind == Kind::Mul && (is(a, 0) || is(b, 0)))
    return SizeExpr(int64_t(0));
  return node3(kind, a, b);
}

namespace sattn {
SizeExpr operator+(const SizeExpr &a, const SizeExpr &b) {
  return SizeExpr::binary(Kind::Add, a, b);
}
SizeExpr operator-(const SizeExpr &a, const SizeExpr &b) {
  return SizeExpr::binary(Kind::Sub, a, b);
}
SizeExpr operator*(const SizeExpr &a, const SizeExpr &b) {
  return SizeExpr::binary(Kind::Mul, a, b);
}
SizeExpr floorDiv(const SizeExpr &a, const SizeExpr &b) {
  return SizeExpr::binary(Kind::FloorDiv, a, b);
}
SizeExpr ceilDiv(const SizeExpr &a, const SizeExpr &b) {
  return SizeExpr::binary(Kind::CeilDiv, a, b);
}
SizeExpr min(const SizeExpr &a, const SizeExpr &b) {
  return SizeExpr::binary(Kind::Min, a, b);
}
SizeExpr max(const SizeExpr &a, const SizeExpr &b) {
  return SizeExpr::binary(Kind::Max, a, b);
}
bool operator==(const SizeExpr &a, const SizeExpr &b) {
  if (a.node == b.node)
    return true;
  if (a.kind() != b.kind())
    return false;
  if (a.kind() == Kind::Constant)
    return a.constant() == b.constant();
  if (a.kind() == Kind::Batch || a.kind() == Kind::SeqQ ||
      a.kind() == Kind::SeqK)
    return true;
  return SizeExpr(a.node->lhs) == SizeExpr(b.node->lhs) &&
         SizeExpr(a.node->rhs) == SizeExpr(b.node->rhs);
}
} // namespace sattn

llvm::Expected<int64_t> SizeExpr::evaluate(const CallSizes &sizes) const {
  switch (kind()) {
  case Kind::Constant:
    return constant();
  case Kind::Batch:
    return sizes.batch;
  case Kind::SeqQ:
    return sizes.seqQ;
  case Kind::SeqK:
    return sizes.seqK;
  default:
    break;
  }
  llvm::Expected<int64_t> a = SizeExpr(node->lhs).evaluate(sizes);
  if (!a)
    return a.takeError();
  llvm::Expected<int64_t> b = SizeExpr(node->rhs).evaluate(sizes);
  if (!b)
    return b.takeError();
  if (std::optional<int64_t> v = apply(kind(), *a, *b))
    return *v;
  return makeError("size " + str() + " overflows or divides by zero for B=" +
                   llvm::Twine(sizes.batch) + ", Sq=" +
                   llvm::Twine(sizes.seqQ) + ", Sk=" + llvm::Twine(sizes.seqK));
}

std::string SizeExpr::str() const {
  switch (kind()) {
  case Kind::Constant:
    return std::to_string(constant());
  case Kind::Batch:
  case Kind::SeqQ:
  case Kind::SeqK:
    return kVariables[int(kind()) - int(Kind::Batch)];
  case Kind::Add:
  case Kind::Sub:
  case Kind::Mul: {
    auto side = [&](const SizeExpr &e, bool right) {
      bool sum = e.kind() == Kind::Add || e.kind() == Kind::Sub;
      bool paren =
          (kind() == Kind::Mul && sum) || (right && kind() == Kind::Sub && sum);
      return paren ? "(" + e.str() + ")" : e.str();
    };
    return side(SizeExpr(node->lhs), false) + " " + operatorName(kind()) + " " +
           side(SizeExpr(node->rhs), true);
  }
  default:
    return std::string(operatorName(kind())) + "(" + SizeExpr(node->lhs).str() +
           ", " + SizeExpr(node->rhs).str() + ")";
  }
}

llvm::json::Value SizeExpr::toJSON() const {
  switch (kind()) {
  case Kind::Constant:
    return constant();
  case Kind::Batch:
  case Kind::SeqQ:
  case Kind::SeqK:
    return kVariables[int(kind()) - int(Kind::Batch)];
  default:
    return llvm::json::Array{operatorName(kind()), SizeExpr(node->lhs).toJSON(),
                             SizeExpr(node->rhs).toJSON()};
  }
}

llvm::Expected<SizeExpr> SizeExpr::fromJSON(const llvm::json::Value &value) {
  if (std::optional<int64_t> v = value.getAsInteger())
    return SizeExpr(*v);
  if (std::optional<llvm::StringRef> name = value.getAsString()) {
    for (int i = 0; i < 3; ++i)
      if (*name == kVariables[i])
        return variable(Kind(int(Kind::Batch) + i));
    return makeError("size expression: unknown variable '" + *name + "'");
  }
  const llvm::json::Array *array = value.getAsArray();
  if (!array || array->size() != 3 || !(*array)[0].getAsString())
    return makeError("size expression: expected a number, a variable or "
                     "[operator, lhs, rhs]");
  llvm::StringRef name = *(*array)[0].getAsString();
  for (const OperatorName &op : kOperators) {
    if (name != op.name)
      continue;
    llvm::Expected<SizeExpr> lhs = fromJSON((*array)[1]);
    if (!lhs)
      return lhs.takeError();
    llvm::Expected<SizeExpr> rhs = fromJSON((*array)[2]);
    if (!rhs)
      return rhs.takeError();
    return node3(op.kind, *lhs, *rhs);
  }
  return makeError("size expression: unknown operator '" + name + "'");
}
