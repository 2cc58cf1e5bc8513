//===- Oracle.cpp - Reference semantics of sparse attention patterns ------===//
//
// A direct transcription of docs/patterns.md. Clarity beats speed here, except
// where the stock patterns must scale to 128K tokens: rows are key intervals,
// dot products of several query rows are computed together (QueryTile, same
// fp32 values), tree_search scores each block once per query block, token
// top-k keeps the best of every key prefix (PrefixTopk), and block maps count
// rows that share their keys together. Every shortcut selects exactly what
// the plain definition does. Selection scores are fp32 (as the spec says);
// attention is float64.
//
//===----------------------------------------------------------------------===//

#include "sattn/Oracle.h"

#include "sattn/Errors.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

using namespace sattn;

namespace {

// The spec's integer division rounds toward negative infinity.
int64_t floorDiv(int64_t a, int64_t b) { return llvm::divideFloorSigned(a, b); }
int64_t ceilDiv(int64_t a, int64_t b) { return llvm::divideCeilSigned(a, b); }

/// Spec: round(x) = floor(x + 0.5).
int64_t roundHalfUp(double x) { return int64_t(std::floor(x + 0.5)); }

/// fp32 dot product, accumulated in order: selection scores are fp32.
float dotF32(const float *a, const float *b, int64_t n) {
  float s = 0;
  for (int64_t d = 0; d < n; ++d)
    s += a[d] * b[d];
  return s;
}

/// Sorts, drops empty intervals and merges overlapping or touching ones so
/// that each set has one canonical representation.
void canonicalize(std::vector<KeyInterval> &v) {
  v.erase(
      std::remove_if(v.begin(), v.end(),
                     [](const KeyInterval &x) { return x.first >= x.second; }),
      v.end());
  // Rows are assembled from sorted runs (see mergeRun), so this is usually a
  // linear check.
  if (!std::is_sorted(v.begin(), v.end()))
    std::sort(v.begin(), v.end());
  size_t n = 0;
  for (const KeyInterval &x : v) {
    if (n > 0 && x.first <= v[n - 1].second)
      v[n - 1].second = std::max(v[n - 1].second, x.second);
    else
      v[n++] = x;
  }
  v.resize(n);
}

/// Sorts the intervals v[mid..) and merges them into the sorted v[..mid), so
/// that a row built from a few long sorted runs costs linear time.
void mergeRun(std::vector<KeyInterval> &v, size_t mid) {
  auto middle = v.begin() + mid;
  if (!std::is_sorted(middle, v.end()))
    std::sort(middle, v.end());
  if (middle != v.begin() && middle != v.end() && *middle < *(middle - 1))
    std::inplace_merge(v.begin(), middle, v.end());
}

/// Whether the canonical set `v` contains every key of [lo, hi).
bool coversRange(const std::vector<KeyInterval> &v, int64_t lo, int64_t hi) {
  if (lo >= hi)
    return true;
  auto it = std::upper_bound(
      v.begin(), v.end(), lo,
      [](int64_t x, const KeyInterval &iv) { return x < iv.first; });
  if (it == v.begin())
    return false;
  --it;
  // Intervals are non-adjacent, so one interval must hold all of [lo, hi).
  return it->first <= lo && hi <= it->second;
}

bool containsKey(const std::vector<KeyInterval> &v, int64_t j) {
  return coversRange(v, j, j + 1);
}

//===----------------------------------------------------------------------===//
// `keep where` expressions.
//===----------------------------------------------------------------------===//

/// A run-time integer input as predicates read it.
struct InputTable {
  const int32_t *data = nullptr;
  std::vector<int64_t> strides; // elements, one per dimension
};

struct KeepEnv {
  int64_t q = 0, k = 0, qb = 0, kb = 0, h = 0, B = 0, Sq = 0, Sk = 0;
  int64_t batch = 0;
  const std::vector<InputTable> *inputs = nullptr;

  int64_t var(KeepVar v) const {
    switch (v) {
    case KeepVar::Q:
      return q;
    case KeepVar::K:
      return k;
    case KeepVar::QB:
      return qb;
    case KeepVar::KB:
      return kb;
    case KeepVar::H:
      return h;
    case KeepVar::B:
      return B;
    case KeepVar::Sq:
      return Sq;
    case KeepVar::Sk:
      return Sk;
    case KeepVar::Batch:
      return batch;
    }
    return 0;
  }
  /// Element `indices` of input `n`; checkInputReads keeps it in bounds.
  int64_t input(int64_t n, llvm::ArrayRef<KeepVar> indices) const {
    const InputTable &t = (*inputs)[n];
    int64_t offset = 0;
    for (size_t d = 0; d < indices.size(); ++d)
      offset += var(indices[d]) * t.strides[d];
    return t.data[offset];
  }
};

/// checkKeep's bit for "reads a run-time input" (above every KeepVar's).
constexpr unsigned kReadsInput = 1u << 31;

// Wrapping arithmetic: user predicates must not be able to trigger UB.
int64_t wrapAdd(int64_t a, int64_t b) {
  return int64_t(uint64_t(a) + uint64_t(b));
}
int64_t wrapSub(int64_t a, int64_t b) {
  return int64_t(uint64_t(a) - uint64_t(b));
}
int64_t wrapMul(int64_t a, int64_t b) {
  return int64_t(uint64_t(a) * uint64_t(b));
}

int64_t keepDiv(int64_t a, int64_t b) {
  if (b == 0)
    return 0;
  if (b == -1)
    return wrapSub(0, a);
  return floorDiv(a, b);
}

int64_t keepRem(int64_t a, int64_t b) {
  if (b == 0 || b == -1)
    return 0;
  return a - floorDiv(a, b) * b;
}

int64_t keepDivTrunc(int64_t a, int64_t b) {
  if (b == 0)
    return 0;
  if (b == -1)
    return wrapSub(0, a);
  return a / b;
}

int64_t keepRemTrunc(int64_t a, int64_t b) {
  if (b == 0 || b == -1)
    return 0;
  return a % b;
}

/// One node of a predicate, given the values of its operands through `arg`.
template <typename ArgFn>
int64_t evalKeepNode(const KeepExpr &e, const KeepEnv &env, ArgFn arg) {
  switch (e.op) {
  case KeepOp::Const:
    return e.value;
  case KeepOp::Var:
    return env.var(e.var);
  case KeepOp::Input:
    return env.input(e.value, e.indices);
  case KeepOp::LogicAnd:
    return arg(0) != 0 && arg(1) != 0;
  case KeepOp::LogicOr:
    return arg(0) != 0 || arg(1) != 0;
  case KeepOp::LogicNot:
    return arg(0) == 0;
  case KeepOp::IsPow2: {
    int64_t x = arg(0);
    return x >= 1 && (x & (x - 1)) == 0;
  }
  case KeepOp::Select:
    return arg(0) != 0 ? arg(1) : arg(2);
  default:
    break;
  }
  int64_t a = arg(0), b = arg(1);
  switch (e.op) {
  case KeepOp::Add:
    return wrapAdd(a, b);
  case KeepOp::Sub:
    return wrapSub(a, b);
  case KeepOp::Mul:
    return wrapMul(a, b);
  case KeepOp::Div:
    return keepDiv(a, b);
  case KeepOp::Rem:
    return keepRem(a, b);
  case KeepOp::DivTrunc:
    return keepDivTrunc(a, b);
  case KeepOp::RemTrunc:
    return keepRemTrunc(a, b);
  case KeepOp::And:
    return a & b;
  case KeepOp::Or:
    return a | b;
  case KeepOp::Xor:
    return a ^ b;
  case KeepOp::Shl:
    return (b < 0 || b >= 64) ? 0 : int64_t(uint64_t(a) << b);
  case KeepOp::Shr:
    if (b < 0)
      return 0;
    return b >= 64 ? (a < 0 ? -1 : 0) : (a >> b);
  case KeepOp::Min:
    return std::min(a, b);
  case KeepOp::Max:
    return std::max(a, b);
  case KeepOp::Eq:
    return a == b;
  case KeepOp::Ne:
    return a != b;
  case KeepOp::Lt:
    return a < b;
  case KeepOp::Le:
    return a <= b;
  case KeepOp::Gt:
    return a > b;
  case KeepOp::Ge:
    return a >= b;
  default:
    return 0;
  }
}

/// A keep predicate flattened in post-order, each shared subexpression once.
/// The importer builds a DAG whose tree can be exponentially larger, and long
/// chains would overflow the stack of a recursive evaluator.
class KeepProgram {
public:
  explicit KeepProgram(const KeepExpr &root) {
    llvm::DenseMap<const KeepExpr *, int32_t> slot;
    std::vector<std::pair<const KeepExpr *, size_t>> stack{{&root, 0}};
    while (!stack.empty()) {
      const KeepExpr *node = stack.back().first;
      if (slot.count(node)) {
        stack.pop_back();
        continue;
      }
      size_t next = stack.back().second;
      if (next < node->operands.size()) {
        ++stack.back().second;
        const KeepExpr *child = node->operands[next].get();
        if (!slot.count(child))
          stack.push_back({child, 0});
        continue;
      }
      Instr instr{node, {}};
      for (size_t n = 0; n < node->operands.size() && n < 3; ++n)
        instr.operands[n] = slot.lookup(node->operands[n].get());
      slot[node] = int32_t(code.size());
      code.push_back(instr);
      stack.pop_back();
    }
  }

  int64_t eval(const KeepEnv &env) const {
    llvm::SmallVector<int64_t, 32> values(code.size());
    for (size_t n = 0; n < code.size(); ++n) {
      const Instr &instr = code[n];
      values[n] = evalKeepNode(*instr.expr, env, [&](size_t operand) {
        return values[instr.operands[operand]];
      });
    }
    return values.back();
  }

private:
  struct Instr {
    const KeepExpr *expr;
    int32_t operands[3];
  };
  std::vector<Instr> code;
};

size_t keepArity(KeepOp op) {
  switch (op) {
  case KeepOp::Const:
  case KeepOp::Var:
  case KeepOp::Input:
    return 0;
  case KeepOp::LogicNot:
  case KeepOp::IsPow2:
    return 1;
  case KeepOp::Select:
    return 3;
  default:
    return 2;
  }
}

/// Checks the tree's shape and records which variables it reads.
/// Checks arities and collects the variables read; each shared node of the
/// DAG once (its tree can be exponentially larger).
llvm::Error checkKeepNode(const KeepExpr *e, unsigned &varsRead,
                          llvm::SmallPtrSetImpl<const KeepExpr *> &seen,
                          std::vector<const KeepExpr *> *inputReads) {
  if (!e)
    return makeError("keep predicate has a null sub-expression");
  if (!seen.insert(e).second)
    return llvm::Error::success();
  if (e->operands.size() != keepArity(e->op))
    return makeError(
        llvm::formatv("keep predicate node has {0} operands, expected {1}",
                      e->operands.size(), keepArity(e->op)));
  if (e->op == KeepOp::Var)
    varsRead |= 1u << unsigned(e->var);
  if (e->op == KeepOp::Input) {
    varsRead |= kReadsInput;
    for (KeepVar v : e->indices)
      varsRead |= 1u << unsigned(v);
    if (inputReads)
      inputReads->push_back(e);
  }
  for (const KeepExprPtr &o : e->operands)
    if (llvm::Error err = checkKeepNode(o.get(), varsRead, seen, inputReads))
      return err;
  return llvm::Error::success();
}

/// Checks the predicate's shape; collects the variables it reads into
/// `varsRead` (kReadsInput when it reads a run-time input) and, when given,
/// its reads of run-time inputs.
llvm::Error checkKeep(const KeepExpr *e, unsigned &varsRead,
                      std::vector<const KeepExpr *> *inputReads = nullptr) {
  llvm::SmallPtrSet<const KeepExpr *, 32> seen;
  return checkKeepNode(e, varsRead, seen, inputReads);
}

/// The reads of run-time inputs of every `keep where` in `spec`.
std::vector<const KeepExpr *> inputReadsOf(const PatternSpec &spec) {
  std::vector<const KeepExpr *> reads;
  for (const Primitive &p : spec.primitives)
    if (const auto *x = std::get_if<KeepPrim>(&p)) {
      unsigned vars = 0;
      llvm::consumeError(checkKeep(x->predicate.get(), vars, &reads));
    }
  return reads;
}

const char *keepVarName(KeepVar v) {
  switch (v) {
  case KeepVar::Batch:
    return "b";
  case KeepVar::H:
    return "h";
  case KeepVar::Q:
    return "q";
  case KeepVar::K:
    return "k";
  default:
    return "?";
  }
}

const char *inputDimName(const InputDim &dim) {
  switch (dim.kind) {
  case InputDim::Batch:
    return "b";
  case InputDim::Heads:
    return "h";
  case InputDim::Tokens:
    return "s";
  case InputDim::Fixed:
    break;
  }
  return "fixed";
}

bool isStatic(const Primitive &p) {
  return std::holds_alternative<SinkPrim>(p) ||
         std::holds_alternative<WindowPrim>(p) ||
         std::holds_alternative<StridesPrim>(p) ||
         std::holds_alternative<ColumnsPrim>(p) ||
         std::holds_alternative<DiagonalsPrim>(p) ||
         std::holds_alternative<KeepPrim>(p);
}

/// Step 4 of stripes, shared by topk and permute: entries are ranked by
/// descending score, ties toward the smaller index; returns how many of the
/// ranked entries to keep: count(cumsum < alpha) + 1, capped.
size_t coverCount(const std::vector<double> &probsInRankOrder, double alpha) {
  double cum = 0;
  size_t n = 0;
  for (double p : probsInRankOrder) {
    ++n;
    cum += p;
    if (cum >= alpha)
      break;
  }
  return n;
}

/// Indices 0..n-1 ordered by descending score, ties toward the smaller index.
/// Whether entry a (score sa) ranks before entry b: descending score, a NaN
/// below every number, ties (NaN with NaN too) to the smaller index
/// (docs/patterns.md, "Non-finite inputs"). A strict weak order even with
/// NaN, which `sa > sb` is not (issue 21 D10).
bool ranksBefore(float sa, int64_t a, float sb, int64_t b) {
  bool nanA = std::isnan(sa), nanB = std::isnan(sb);
  if (nanA != nanB)
    return nanB;
  if (!nanA && sa != sb)
    return sa > sb;
  return a < b;
}

/// max(a, b), NaN when either is NaN (a kernel's arith.maximumf): a NaN dot
/// makes a block score NaN, which then ranks last.
float maxPropagatingNaN(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<float>::quiet_NaN();
  return std::max(a, b);
}

std::vector<int64_t> rankDescending(const std::vector<float> &score) {
  std::vector<int64_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return ranksBefore(score[a], a, score[b], b);
  });
  return order;
}

/// Softmax (float64 arithmetic on fp32 logits) of `logits` taken in `order`.
std::vector<double> softmaxInOrder(const std::vector<float> &logits,
                                   const std::vector<int64_t> &order) {
  std::vector<double> probs;
  if (logits.empty())
    return probs;
  double mx = -std::numeric_limits<double>::infinity();
  for (float x : logits)
    mx = std::max(mx, double(x));
  double sum = 0;
  for (float x : logits)
    sum += std::exp(double(x) - mx);
  probs.reserve(order.size());
  for (int64_t o : order)
    probs.push_back(std::exp(double(logits[o]) - mx) / sum);
  return probs;
}

/// Up to kRows query rows stored dimension-major, so that their dot products
/// with two keys are computed together, four rows per vector operation. Each
/// product is still accumulated in order over d, exactly as dotF32 does, so
/// the fp32 scores are the same bit for bit.
class QueryTile {
public:
  static constexpr int64_t kRows = 16;

  /// Loads rows[0..count) (count <= kRows); rowPtr(r) is row r's q vector.
  template <typename RowPtr>
  void load(int64_t headDim, int64_t count, RowPtr rowPtr) {
    assert(count <= kRows && "too many rows for one tile");
    D = headDim;
    qT.assign(D * kRows, 0.0f);
    for (int64_t r = 0; r < count; ++r)
      for (int64_t d = 0; d < D; ++d)
        qT[d * kRows + r] = rowPtr(r)[d];
  }

  /// out[r] = dotF32(row r, key0) and out[kRows + r] = dotF32(row r, key1)
  /// for every r < kRows (unused rows give 0).
  void dots(const float *key0, const float *key1, float *out) const {
    // GCC/Clang vector extension: lane-wise arithmetic, no reassociation.
    // Two keys give eight independent accumulator chains.
    typedef float Float4 __attribute__((vector_size(16)));
    constexpr int64_t kVecs = kRows / 4;
    Float4 acc0[kVecs] = {}, acc1[kVecs] = {};
    for (int64_t d = 0; d < D; ++d) {
      const float k0 = key0[d], k1 = key1[d];
      for (int64_t v = 0; v < kVecs; ++v) {
        Float4 q;
        std::memcpy(&q, &qT[d * kRows + 4 * v], sizeof q);
        acc0[v] += q * k0;
        acc1[v] += q * k1;
      }
    }
    std::memcpy(out, acc0, sizeof acc0);
    std::memcpy(out + kRows, acc1, sizeof acc1);
  }

private:
  int64_t D = 0;
  std::vector<float> qT; // [D][kRows]
};

/// The k best keys of every prefix [0, L) of a key sequence, by a fixed score
/// (descending, ties toward the smaller index), restricted to eligible keys.
///
/// Built with one pass over the keys and a heap of the current k best: when
/// key j joins the prefix it displaces the worst of them only if its score is
/// strictly greater (on a tie the older, smaller index wins). Each key is
/// therefore among the best for one range of prefix lengths, j < L <
/// leaveAt[j], and best(L) is answered from a snapshot of best(m * spacing),
/// m = floor(L / spacing), filtered by leaveAt, plus the keys in
/// [m * spacing, L) still alive at L. Memory is O(length + k); a query costs
/// O(k + spacing) and returns the keys in ascending order.
class PrefixTopk {
public:
  PrefixTopk() = default;
  /// Keys j < length with eligible[j] take part.
  PrefixTopk(const std::vector<float> &score, const std::vector<bool> &eligible,
             int64_t k, int64_t length)
      : spacing(std::max<int64_t>(k, 256)), leaveAt(length) {
    // Heap ordered so that its front is the worst of the current best.
    auto better = [&](int64_t a, int64_t b) {
      return ranksBefore(score[a], a, score[b], b);
    };
    std::vector<int64_t> heap;
    for (int64_t j = 0; j < length; ++j) {
      leaveAt[j] = j; // never among the best
      if (!eligible[j] || k == 0)
        continue;
      if (int64_t(heap.size()) == k) {
        if (!better(j, heap.front()))
          continue;
        leaveAt[heap.front()] = j + 1;
        std::pop_heap(heap.begin(), heap.end(), better);
        heap.pop_back();
      }
      leaveAt[j] = std::numeric_limits<int64_t>::max();
      heap.push_back(j);
      std::push_heap(heap.begin(), heap.end(), better);
    }
    snapshots.resize(length / spacing + 1);
    for (size_t m = 1; m < snapshots.size(); ++m)
      collect(snapshots[m - 1], (m - 1) * spacing, m * spacing, snapshots[m]);
  }

  /// The best keys of the prefix [0, L), ascending; L <= length.
  void query(int64_t L, std::vector<int64_t> &out) const {
    int64_t m = L / spacing;
    collect(snapshots[m], m * spacing, L, out);
  }

private:
  /// best(L) from best(from) = `base`, from <= L.
  void collect(const std::vector<int64_t> &base, int64_t from, int64_t L,
               std::vector<int64_t> &out) const {
    out.clear();
    for (int64_t j : base)
      if (leaveAt[j] > L)
        out.push_back(j);
    for (int64_t j = from; j < L; ++j)
      if (leaveAt[j] > L)
        out.push_back(j);
  }

  int64_t spacing = 1;
  std::vector<int64_t> leaveAt;
  std::vector<std::vector<int64_t>> snapshots;
};

} // namespace

//===----------------------------------------------------------------------===//
// Required inputs.
//===----------------------------------------------------------------------===//

RequiredInputs sattn::requiredInputs(const PatternSpec &spec) {
  RequiredInputs r;
  for (const Primitive &p : spec.primitives) {
    if (std::holds_alternative<StripesPrim>(p) ||
        std::holds_alternative<TreeSearchPrim>(p) ||
        std::holds_alternative<PermutePrim>(p)) {
      r.q = r.k = true;
    } else if (const auto *t = std::get_if<TopkPrim>(&p)) {
      switch (t->source) {
      case ScoreSource::KeyScore:
        r.keyScores = true;
        break;
      case ScoreSource::Linear:
        r.k = r.linearWeights = true;
        break;
      case ScoreSource::PooledQK:
        r.q = r.k = true;
        break;
      }
    }
  }
  return r;
}

std::vector<std::string> sattn::missingInputs(const PatternSpec &spec,
                                              const OracleInputs &inputs) {
  RequiredInputs r = requiredInputs(spec);
  std::vector<std::string> names;
  if (r.q && !inputs.q)
    names.push_back("q");
  if (r.k && !inputs.k)
    names.push_back("k");
  if (r.keyScores && !inputs.keyScores)
    names.push_back("key scores");
  if (r.linearWeights && !inputs.linearWeights)
    names.push_back("linear weights");
  for (size_t n = 0; n < spec.inputs.size(); ++n)
    if (n >= inputs.intInputs.size() || !inputs.intInputs[n])
      names.push_back("input '" + spec.inputs[n].name + "'");
  return names;
}

int64_t sattn::inputExtent(const InputDim &dim, const AttentionShape &shape) {
  switch (dim.kind) {
  case InputDim::Batch:
    return shape.batch;
  case InputDim::Heads:
    return shape.heads;
  case InputDim::Tokens:
    return shape.seqK;
  case InputDim::Fixed:
    break;
  }
  return dim.size;
}

llvm::Error sattn::checkInputReads(const PatternSpec &spec,
                                   const AttentionShape &shape) {
  // With no query rows or no keys, no predicate is evaluated.
  if (shape.batch < 1 || shape.seqQ < 1 || shape.seqK < 1)
    return llvm::Error::success();
  for (const KeepExpr *read : inputReadsOf(spec)) {
    if (read->value < 0 || size_t(read->value) >= spec.inputs.size())
      continue; // validate() reports it
    const IntInputDecl &decl = spec.inputs[read->value];
    for (size_t d = 0; d < read->indices.size() && d < decl.dims.size(); ++d) {
      KeepVar v = read->indices[d];
      int64_t lo = 0, hi = 0;
      switch (v) {
      case KeepVar::Batch:
        hi = shape.batch - 1;
        break;
      case KeepVar::H:
        hi = shape.heads - 1;
        break;
      case KeepVar::Q:
        lo = shape.seqK - shape.seqQ;
        hi = shape.seqK - 1;
        break;
      case KeepVar::K:
        hi = shape.seqK - 1;
        break;
      default:
        continue; // validate() reports it
      }
      int64_t extent = inputExtent(decl.dims[d], shape);
      if (lo < 0 || hi >= extent)
        return makeError(llvm::formatv(
            "input '{0}': index {1} ({2}) ranges over [{3}, {4}] in this "
            "call, outside dimension {1} ('{5}') of {6} entries",
            decl.name, d, keepVarName(v), lo, hi, inputDimName(decl.dims[d]),
            extent));
    }
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Oracle state.
//===----------------------------------------------------------------------===//

struct MaskOracle::Impl {
  PatternSpec spec;
  AttentionShape shape;
  OracleInputs inputs;
  int64_t Sq = 0, Sk = 0, D = 0, Hq = 0, Hkv = 0, groupSize = 1;
  float scaleF = 0;

  /// Block-level `keep where`: kept key intervals per (head variant, qb).
  struct KeepTable {
    bool perHead = false;
    int64_t firstQB = 0, numQB = 0;
    std::vector<std::vector<KeyInterval>> rows;
  };

  /// Dynamic selections of one primitive for one (b, h).
  struct HeadState {
    std::vector<int64_t> columns, diagonals; // stripes: ascending, descending
    std::vector<std::vector<KeyInterval>> groupKeys; // tree_search, topk
    std::vector<std::vector<uint64_t>> groupBitmaps; // permute
  };

  /// Token top-k by a row-independent score: keys ranked once per (b, g).
  struct KeyRanking {
    std::vector<float> score;
    std::vector<int64_t> order;
  };

  /// Token top-k by a row-independent score when every row's candidates
  /// are a prefix of one fixed set of keys (see buildPrefixTopk).
  struct PrefixSelection {
    /// candidateEnd[i]: row i's candidates are the eligible keys < it.
    std::vector<int64_t> candidateEnd;
    std::vector<PrefixTopk> best; // [b * Hkv + g]
  };

  std::vector<KeepTable> keepTables;             // [primitive]
  std::vector<std::vector<HeadState>> heads;     // [primitive][b * Hq + h]
  std::vector<std::vector<KeyRanking>> rankings; // [primitive][b * Hkv + g]
  std::vector<PrefixSelection> prefixSelections; // [primitive], may be empty
  std::vector<InputTable> inputTables;           // [spec.inputs]

  int64_t position(int64_t i) const { return i + (Sk - Sq); }
  int64_t kvHead(int64_t h) const { return h / groupSize; }
  const float *qRow(int64_t b, int64_t h, int64_t i) const {
    return inputs.q + ((b * Hq + h) * Sq + i) * D;
  }
  const float *kRow(int64_t b, int64_t g, int64_t j) const {
    return inputs.k + ((b * Hkv + g) * Sk + j) * D;
  }
  /// End of C(i): keys [0, causalEnd(i)).
  int64_t causalEnd(int64_t i) const {
    if (!spec.causal)
      return Sk;
    return std::clamp<int64_t>(position(i) + 1, 0, Sk);
  }

  void pushClipped(std::vector<KeyInterval> &out, int64_t lo,
                   int64_t hi) const {
    lo = std::max<int64_t>(lo, 0);
    hi = std::min(hi, Sk);
    if (lo < hi)
      out.emplace_back(lo, hi);
  }
  void pushBlock(std::vector<KeyInterval> &out, int64_t kb, int64_t B) const {
    if (kb >= 0 && kb < ceilDiv(Sk, B))
      pushClipped(out, kb * B, (kb + 1) * B);
  }
  /// Token window (p - w, p].
  void pushWindow(std::vector<KeyInterval> &out, int64_t p, int64_t w) const {
    if (w > 0)
      pushClipped(out, w > p ? 0 : p - w + 1, p + 1);
  }

  llvm::Error validate() const;
  void buildKeepTable(size_t idx, const KeepPrim &kp);
  void staticRow(size_t idx, int64_t b, int64_t h, int64_t i,
                 std::vector<KeyInterval> &out) const;
  /// The union of every static primitive's keys for row i, canonical.
  void staticSet(int64_t b, int64_t h, int64_t i,
                 std::vector<KeyInterval> &out) const;

  void buildStripes(const StripesPrim &sp, int64_t b, int64_t h,
                    HeadState &hs) const;
  void buildTreeSearch(const TreeSearchPrim &tp, int64_t b, int64_t h,
                       HeadState &hs) const;
  void buildTopkBlocks(const TopkPrim &tp, int64_t b, int64_t h,
                       HeadState &hs) const;
  void buildPermute(const PermutePrim &pp, int64_t b, int64_t h,
                    HeadState &hs) const;
  bool buildPrefixTopk(size_t idx, const TopkPrim &tp);
  void topkTokens(size_t idx, const TopkPrim &tp, int64_t b, int64_t h,
                  int64_t i, std::vector<KeyInterval> &out) const;
  /// Calls visit(t, probs, end) for each row t of `rows` (in order) with a
  /// non-empty C(t) = [0, end): probs[j] is the exact softmax over C(t) of
  /// s(t, j), from fp32 logits in float64.
  template <typename Visit>
  void forEachSoftmaxRow(int64_t b, int64_t h, const std::vector<int64_t> &rows,
                         Visit visit) const;
  float keyScore(const TopkPrim &tp, int64_t b, int64_t g, int64_t j) const;

  void row(int64_t b, int64_t h, int64_t i,
           std::vector<KeyInterval> &out) const;
  int64_t rowsSharingKeys(int64_t i) const;
};

llvm::Error MaskOracle::Impl::validate() const {
  const AttentionShape &s = shape;
  if (s.batch < 1 || s.heads < 1 || s.kvHeads < 1 || s.seqQ < 1 || s.seqK < 1 ||
      s.headDim < 1)
    return makeError(llvm::formatv("invalid attention shape: batch={0} "
                                   "heads={1} kv_heads={2} seq_q={3} "
                                   "seq_k={4} head_dim={5} (all must be >= 1)",
                                   s.batch, s.heads, s.kvHeads, s.seqQ, s.seqK,
                                   s.headDim)
                         .str());
  if (s.heads % s.kvHeads != 0)
    return makeError(llvm::formatv("kv_heads={0} does not divide heads={1}",
                                   s.kvHeads, s.heads)
                         .str());
  if (!std::isfinite(s.scale))
    return makeError("attention scale is not finite");
  if (spec.block < 1)
    return makeError(llvm::formatv("pattern '{0}': block size {1} must be >= 1",
                                   spec.name, spec.block)
                         .str());

  auto bad = [&](const char *prim, const std::string &what) {
    return makeError(
        llvm::formatv("pattern '{0}': {1}: {2}", spec.name, prim, what));
  };
  auto alphaOk = [](double a) { return std::isfinite(a) && a > 0 && a <= 1; };
  for (const Primitive &p : spec.primitives) {
    if (const auto *x = std::get_if<SinkPrim>(&p)) {
      if (x->tokens < 0)
        return bad("sink", "negative token count");
    } else if (const auto *x = std::get_if<WindowPrim>(&p)) {
      if (x->unit == WindowUnit::Fraction
              ? !(std::isfinite(x->fraction) && x->fraction >= 0)
              : x->size < 0)
        return bad("window", "negative or non-finite size");
    } else if (const auto *x = std::get_if<StridesPrim>(&p)) {
      if (x->kind == StrideKind::Every && x->every < 1)
        return bad("strides", "'every' step must be >= 1");
    } else if (const auto *x = std::get_if<KeepPrim>(&p)) {
      unsigned vars = 0;
      std::vector<const KeepExpr *> reads;
      if (llvm::Error e = checkKeep(x->predicate.get(), vars, &reads))
        return bad("keep where", llvm::toString(std::move(e)));
      unsigned elementVars = (1u << unsigned(KeepVar::Q)) |
                             (1u << unsigned(KeepVar::K)) |
                             (1u << unsigned(KeepVar::Batch)) | kReadsInput;
      if (x->blockLevel && (vars & elementVars))
        return bad("keep where", "marked block level but the predicate reads "
                                 "q, k, b or a run-time input");
      for (const KeepExpr *read : reads) {
        if (read->value < 0 || size_t(read->value) >= spec.inputs.size())
          return bad("keep where", "reads an undeclared run-time input");
        const IntInputDecl &decl = spec.inputs[read->value];
        if (read->indices.size() != decl.dims.size())
          return bad("keep where",
                     llvm::formatv("input '{0}' has {1} dimensions, read "
                                   "with {2} indices",
                                   decl.name, decl.dims.size(),
                                   read->indices.size()));
        for (KeepVar v : read->indices)
          if (v != KeepVar::Batch && v != KeepVar::H && v != KeepVar::Q &&
              v != KeepVar::K)
            return bad("keep where", llvm::formatv("input '{0}' indexed by a "
                                                   "variable other than b, h, "
                                                   "q or k",
                                                   decl.name));
      }
    } else if (const auto *x = std::get_if<StripesPrim>(&p)) {
      if (x->block < 1 || x->segments < 1 || x->rows < 1)
        return bad("stripes", "block, segments and rows must be >= 1");
      if (!alphaOk(x->alpha))
        return bad("stripes", "alpha must be in (0, 1]");
      if (!(std::isfinite(x->windowFraction) && x->windowFraction >= 0))
        return bad("stripes", "window fraction must be >= 0");
    } else if (const auto *x = std::get_if<TreeSearchPrim>(&p)) {
      if (x->blockQ < 1 || x->blockK < 1 || x->queryStride < 1)
        return bad("tree_search", "block_q, block_k and q_stride must be >= 1");
      if (x->budget < 0 || x->sink < 0 || x->window < 0)
        return bad("tree_search", "k, sink and window must be >= 0");
    } else if (const auto *x = std::get_if<TopkPrim>(&p)) {
      if (x->byCover ? !alphaOk(x->alpha) : x->k < 0)
        return bad("topk",
                   x->byCover ? "alpha must be in (0, 1]" : "k must be >= 0");
      if (x->granularity == TopkGranularity::Block && x->block < 1)
        return bad("topk", "block must be >= 1");
    } else if (const auto *x = std::get_if<PermutePrim>(&p)) {
      if (x->segment < 1 || x->block < 1 || x->probe < 1)
        return bad("permute", "segment, block and probe must be >= 1");
      if (x->segment % x->block != 0)
        return bad("permute", "block must divide segment");
      if (!alphaOk(x->alpha))
        return bad("permute", "alpha must be in (0, 1]");
    }
  }
  for (const IntInputDecl &decl : spec.inputs)
    for (const InputDim &dim : decl.dims)
      if (dim.kind == InputDim::Fixed && dim.size < 1)
        return bad("input", llvm::formatv("input '{0}' has a dimension of "
                                          "size {1}",
                                          decl.name, dim.size));
  if (llvm::Error e = checkInputReads(spec, shape))
    return e;
  std::vector<std::string> missing = missingInputs(spec, inputs);
  if (!missing.empty()) {
    std::string list;
    for (size_t n = 0; n < missing.size(); ++n)
      list += (n == 0                    ? ""
               : n + 1 == missing.size() ? " and "
                                         : ", ") +
              missing[n];
    return makeError(llvm::formatv("pattern '{0}' needs run-time input: {1}",
                                   spec.name, list)
                         .str());
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Static primitives.
//===----------------------------------------------------------------------===//

void MaskOracle::Impl::buildKeepTable(size_t idx, const KeepPrim &kp) {
  KeepTable &t = keepTables[idx];
  const int64_t B = spec.block;
  unsigned vars = 0;
  (void)checkKeep(kp.predicate.get(), vars); // validated already
  t.perHead = vars & (1u << unsigned(KeepVar::H));
  t.firstQB = floorDiv(position(0), B);
  t.numQB = floorDiv(position(Sq - 1), B) - t.firstQB + 1;
  int64_t variants = t.perHead ? Hq : 1;
  int64_t nKB = ceilDiv(Sk, B);
  t.rows.assign(variants * t.numQB, {});
  KeepProgram program(*kp.predicate);
  KeepEnv env;
  env.B = B;
  env.Sq = Sq;
  env.Sk = Sk;
  for (int64_t v = 0; v < variants; ++v) {
    env.h = v;
    for (int64_t r = 0; r < t.numQB; ++r) {
      env.qb = t.firstQB + r;
      std::vector<KeyInterval> &out = t.rows[v * t.numQB + r];
      for (int64_t kb = 0; kb < nKB; ++kb) {
        env.kb = kb;
        if (program.eval(env))
          pushBlock(out, kb, B);
      }
      canonicalize(out);
    }
  }
}

void MaskOracle::Impl::staticRow(size_t idx, int64_t b, int64_t h, int64_t i,
                                 std::vector<KeyInterval> &out) const {
  const Primitive &prim = spec.primitives[idx];
  const int64_t B = spec.block;
  const int64_t p = position(i);
  const int64_t qb = floorDiv(p, B);
  if (const auto *x = std::get_if<SinkPrim>(&prim)) {
    pushClipped(out, 0, x->tokens);
  } else if (const auto *x = std::get_if<WindowPrim>(&prim)) {
    switch (x->unit) {
    case WindowUnit::Tokens:
      pushWindow(out, p, x->size);
      break;
    case WindowUnit::Fraction:
      pushWindow(out, p,
                 std::max<int64_t>(B, roundHalfUp(x->fraction * double(Sk))));
      break;
    case WindowUnit::Blocks:
      // 0 <= qb - kb < W.
      if (x->size > 0)
        for (int64_t kb = std::max<int64_t>(0, qb - x->size + 1); kb <= qb;
             ++kb)
          pushBlock(out, kb, B);
      break;
    }
  } else if (const auto *x = std::get_if<StridesPrim>(&prim)) {
    switch (x->kind) {
    case StrideKind::Pow2:
      for (int64_t d = 1; d <= qb; d *= 2)
        pushBlock(out, qb - d, B);
      break;
    case StrideKind::Every:
      for (int64_t d = x->every; d <= qb; d += x->every)
        pushBlock(out, qb - d, B);
      break;
    case StrideKind::List:
      for (int64_t d : x->list)
        pushBlock(out, qb - d, B);
      break;
    }
  } else if (const auto *x = std::get_if<ColumnsPrim>(&prim)) {
    for (int64_t c : x->blocks)
      pushBlock(out, c, B);
  } else if (const auto *x = std::get_if<DiagonalsPrim>(&prim)) {
    for (int64_t d : x->offsets)
      pushBlock(out, qb - d, B);
  } else if (const auto *x = std::get_if<KeepPrim>(&prim)) {
    if (x->blockLevel) {
      const KeepTable &t = keepTables[idx];
      int64_t v = t.perHead ? h : 0;
      const auto &rowSet = t.rows[v * t.numQB + (qb - t.firstQB)];
      out.insert(out.end(), rowSet.begin(), rowSet.end());
      return;
    }
    // Element level: only keys inside C(i) can matter (A(i) and the topk
    // candidates are both within C(i)).
    KeepEnv env;
    env.q = p;
    env.qb = qb;
    env.h = h;
    env.B = B;
    env.Sq = Sq;
    env.Sk = Sk;
    env.batch = b;
    env.inputs = &inputTables;
    KeepProgram program(*x->predicate);
    int64_t runStart = -1, end = causalEnd(i);
    for (int64_t j = 0; j < end; ++j) {
      env.k = j;
      env.kb = j / B;
      bool keep = program.eval(env) != 0;
      if (keep && runStart < 0)
        runStart = j;
      if (!keep && runStart >= 0) {
        out.emplace_back(runStart, j);
        runStart = -1;
      }
    }
    if (runStart >= 0)
      out.emplace_back(runStart, end);
  }
}

void MaskOracle::Impl::staticSet(int64_t b, int64_t h, int64_t i,
                                 std::vector<KeyInterval> &out) const {
  out.clear();
  for (size_t idx = 0; idx < spec.primitives.size(); ++idx)
    if (isStatic(spec.primitives[idx]))
      staticRow(idx, b, h, i, out);
  canonicalize(out);
}

//===----------------------------------------------------------------------===//
// Exact softmax rows (stripes, permute).
//===----------------------------------------------------------------------===//

template <typename Visit>
void MaskOracle::Impl::forEachSoftmaxRow(int64_t b, int64_t h,
                                         const std::vector<int64_t> &rows,
                                         Visit visit) const {
  // Rows go by tiles: the tile's logits are computed one key at a time (so
  // each key is read once per tile), then each row is normalised in turn.
  const int64_t g = kvHead(h), R = QueryTile::kRows;
  QueryTile tile;
  float dots[2 * QueryTile::kRows];
  std::vector<float> logits; // [row of the tile][key]
  std::vector<double> probs;
  for (size_t t0 = 0; t0 < rows.size(); t0 += R) {
    const int64_t *tileRows = &rows[t0];
    const int64_t count = std::min<int64_t>(R, rows.size() - t0);
    tile.load(D, count, [&](int64_t r) { return qRow(b, h, tileRows[r]); });
    int64_t maxEnd = 0;
    for (int64_t r = 0; r < count; ++r)
      maxEnd = std::max(maxEnd, causalEnd(tileRows[r]));
    logits.resize(count * maxEnd);
    for (int64_t j = 0; j < maxEnd; j += 2) {
      const int64_t j1 = std::min(j + 1, maxEnd - 1);
      tile.dots(kRow(b, g, j), kRow(b, g, j1), dots);
      for (int64_t r = 0; r < count; ++r) {
        logits[r * maxEnd + j] = scaleF * dots[r];
        logits[r * maxEnd + j1] = scaleF * dots[R + r];
      }
    }
    for (int64_t r = 0; r < count; ++r) {
      const int64_t end = causalEnd(tileRows[r]);
      if (end == 0)
        continue;
      const float *l = &logits[r * maxEnd];
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < end; ++j)
        mx = std::max(mx, l[j]);
      probs.resize(end);
      double sum = 0;
      for (int64_t j = 0; j < end; ++j) {
        probs[j] = std::exp(double(l[j]) - mx);
        sum += probs[j];
      }
      for (int64_t j = 0; j < end; ++j)
        probs[j] /= sum;
      visit(tileRows[r], probs.data(), end);
    }
  }
}

//===----------------------------------------------------------------------===//
// stripes (SampleAttention).
//===----------------------------------------------------------------------===//

void MaskOracle::Impl::buildStripes(const StripesPrim &sp, int64_t b, int64_t h,
                                    HeadState &hs) const {
  const int64_t B = sp.block;
  const int64_t nKB = ceilDiv(Sk, B);
  // Diagonal d = qb(t) - kb(j) ranges over [dLo, dHi] for real rows and keys.
  const int64_t dHi = floorDiv(position(Sq - 1), B);
  const int64_t dLo = floorDiv(position(0), B) - (nKB - 1);
  std::vector<double> col(nKB, 0.0), dia(dHi - dLo + 1, 0.0);

  // Step 1: the last min(r, len) rows of each of the m segments. With
  // m >= Sq each non-empty segment holds one row and every row is in one:
  // min(m, Sq) segments sample the same rows, in a loop bounded by Sq.
  std::vector<int64_t> rows;
  const int64_t m = std::min(sp.segments, Sq);
  for (int64_t s = 0; s < m; ++s) {
    int64_t lo = s * Sq / m, hi = (s + 1) * Sq / m;
    for (int64_t t = hi - std::min(sp.rows, hi - lo); t < hi; ++t)
      rows.push_back(t);
  }

  // Steps 2-3: exact softmax of each sampled row over C(t), summed into
  // column and diagonal blocks.
  forEachSoftmaxRow(b, h, rows,
                    [&](int64_t t, const double *probs, int64_t end) {
                      int64_t qbt = floorDiv(position(t), B);
                      for (int64_t j = 0; j < end; ++j) {
                        col[j / B] += probs[j];
                        dia[qbt - j / B - dLo] += probs[j];
                      }
                    });

  // Step 4: normalise, rank (fp32 scores, ties to the smaller index), keep
  // the cover-alpha prefix.
  auto select = [&](const std::vector<double> &raw, int64_t indexBase,
                    std::vector<int64_t> &kept) {
    double total = std::accumulate(raw.begin(), raw.end(), 0.0);
    if (!(total > 0))
      return; // no sampled row saw any key
    std::vector<float> score(raw.size());
    for (size_t n = 0; n < raw.size(); ++n)
      score[n] = float(raw[n] / total);
    std::vector<int64_t> order = rankDescending(score);
    std::vector<double> probs;
    for (int64_t o : order)
      probs.push_back(score[o]);
    size_t count = coverCount(probs, sp.alpha);
    for (size_t n = 0; n < count; ++n)
      kept.push_back(order[n] + indexBase);
  };
  select(col, 0, hs.columns);
  select(dia, dLo, hs.diagonals);
  // Sorted so that each row's blocks come in ascending key order.
  std::sort(hs.columns.begin(), hs.columns.end());
  std::sort(hs.diagonals.begin(), hs.diagonals.end(), std::greater<>());
}

//===----------------------------------------------------------------------===//
// tree_search (HiP).
//===----------------------------------------------------------------------===//

void MaskOracle::Impl::buildTreeSearch(const TreeSearchPrim &tp, int64_t b,
                                       int64_t h, HeadState &hs) const {
  const int64_t Bq = tp.blockQ, Bk = tp.blockK, K = tp.budget / Bk;
  const int64_t g = kvHead(h);
  const int64_t numGroups = ceilDiv(Sq, Bq);
  hs.groupKeys.assign(numGroups, {});
  struct Branch {
    int64_t start, size;
    float score;
  };
  // Ranking: higher score first (a NaN below every number), ties toward the
  // smaller start. Starts are distinct, so this is a total order and any
  // selection algorithm keeps the same K branches.
  auto better = [](const Branch &a, const Branch &c) {
    return ranksBefore(a.score, a.start, c.score, c.start);
  };
  // Block scores of the current group, computed on first use: a block that
  // stays the representative of a branch is scored once, not every round.
  const int64_t maxBlocks = ceilDiv(Sk, Bk);
  std::vector<float> blockScore(maxBlocks);
  std::vector<int64_t> scoredInGroup(maxBlocks, -1);
  std::vector<QueryTile> tiles;
  std::vector<int64_t> rowPos; // positions of the sampled rows
  float dots[2 * QueryTile::kRows];
  std::vector<Branch> branches, next;

  for (int64_t grp = 0; grp < numGroups; ++grp) {
    const int64_t first = grp * Bq, last = std::min(Sq, first + Bq) - 1;
    const int64_t P = position(last);
    const int64_t n =
        std::max<int64_t>(0, floorDiv(P + 1 - tp.window - tp.sink, Bk));
    std::vector<int64_t> selected;
    if (n <= K) {
      for (int64_t blk = 0; blk < n; ++blk)
        selected.push_back(blk);
    } else if (K > 0) {
      // Sampled rows, in tiles; their positions increase.
      rowPos.clear();
      for (int64_t i = first; i <= last; i += tp.queryStride)
        rowPos.push_back(position(i));
      const int64_t R = QueryTile::kRows;
      const int64_t numRows = int64_t(rowPos.size());
      tiles.resize(ceilDiv(numRows, R));
      for (size_t x = 0; x < tiles.size(); ++x)
        tiles[x].load(D, std::min(R, numRows - int64_t(x) * R), [&](int64_t r) {
          return qRow(b, h, first + (int64_t(x) * R + r) * tp.queryStride);
        });
      // Max over sampled rows i and tokens t of the block with t <= p(i).
      auto scoreOf = [&](int64_t blk) {
        if (scoredInGroup[blk] == grp)
          return blockScore[blk];
        float best = -std::numeric_limits<float>::infinity();
        const int64_t t0 = tp.sink + blk * Bk, t1 = t0 + Bk;
        for (int64_t t = t0; t < t1; t += 2) {
          // Tokens t and u (u = t for an odd last token). Rows allowed to
          // see a token: those from the first with p(i) >= token.
          const int64_t u = std::min(t + 1, t1 - 1);
          auto firstRow = [&](int64_t tok) {
            return std::lower_bound(rowPos.begin(), rowPos.end(), tok) -
                   rowPos.begin();
          };
          const int64_t fromT = firstRow(t), fromU = firstRow(u);
          for (int64_t x = fromT / R; x < int64_t(tiles.size()); ++x) {
            tiles[x].dots(kRow(b, g, t), kRow(b, g, u), dots);
            const int64_t rowEnd = std::min(R, numRows - x * R);
            for (int64_t r = std::max(fromT - x * R, int64_t(0)); r < rowEnd;
                 ++r)
              best = maxPropagatingNaN(best, dots[r]);
            for (int64_t r = std::max(fromU - x * R, int64_t(0)); r < rowEnd;
                 ++r)
              best = maxPropagatingNaN(best, dots[R + r]);
          }
        }
        scoredInGroup[blk] = grp;
        blockScore[blk] = best;
        return best;
      };
      branches.clear();
      for (int64_t c = 0; c < K; ++c) {
        int64_t s = c * n / K, e = (c + 1) * n / K;
        branches.push_back({s, e - s, 0});
      }
      auto anyWide = [&] {
        return std::any_of(branches.begin(), branches.end(),
                           [](const Branch &x) { return x.size > 1; });
      };
      while (anyWide()) {
        next.clear();
        for (const Branch &x : branches) {
          if (x.size > 1) {
            int64_t half = x.size / 2;
            next.push_back({x.start, half, 0});
            next.push_back({x.start + half, x.size - half, 0});
          } else {
            next.push_back(x);
          }
        }
        // Representative: the centre block.
        for (Branch &x : next)
          x.score = scoreOf(x.start + x.size / 2);
        if (int64_t(next.size()) > K) {
          std::nth_element(next.begin(), next.begin() + K, next.end(), better);
          next.resize(K);
        }
        std::swap(branches, next);
      }
      for (const Branch &x : branches)
        selected.push_back(x.start);
    }
    std::vector<KeyInterval> &keys = hs.groupKeys[grp];
    for (int64_t blk : selected)
      pushClipped(keys, tp.sink + blk * Bk, tp.sink + (blk + 1) * Bk);
    canonicalize(keys);
  }
}

//===----------------------------------------------------------------------===//
// topk.
//===----------------------------------------------------------------------===//

float MaskOracle::Impl::keyScore(const TopkPrim &tp, int64_t b, int64_t g,
                                 int64_t j) const {
  if (tp.source == ScoreSource::KeyScore)
    return inputs.keyScores[(b * Hkv + g) * Sk + j];
  return dotF32(kRow(b, g, j), inputs.linearWeights + g * D, D);
}

void MaskOracle::Impl::buildTopkBlocks(const TopkPrim &tp, int64_t b, int64_t h,
                                       HeadState &hs) const {
  const int64_t Bt = tp.block, g = kvHead(h);
  const int64_t nKB = ceilDiv(Sk, Bt);
  const int64_t firstQB = floorDiv(position(0), Bt);
  const int64_t numGroups = floorDiv(position(Sq - 1), Bt) - firstQB + 1;
  hs.groupKeys.assign(numGroups, {});

  // Per key block: max key score, or the mean-pooled key (fp32).
  std::vector<float> blockMax(nKB, -std::numeric_limits<float>::infinity());
  std::vector<float> kMean;
  if (tp.source == ScoreSource::PooledQK) {
    kMean.assign(nKB * D, 0.0f);
    for (int64_t c = 0; c < nKB; ++c) {
      int64_t lo = c * Bt, hi = std::min(Sk, lo + Bt);
      for (int64_t j = lo; j < hi; ++j)
        for (int64_t d = 0; d < D; ++d)
          kMean[c * D + d] += kRow(b, g, j)[d];
      for (int64_t d = 0; d < D; ++d)
        kMean[c * D + d] /= float(hi - lo);
    }
  } else {
    for (int64_t j = 0; j < Sk; ++j)
      blockMax[j / Bt] = std::max(blockMax[j / Bt], keyScore(tp, b, g, j));
  }

  std::vector<KeyInterval> stat;
  std::vector<float> qMean(D);
  for (int64_t grp = 0; grp < numGroups; ++grp) {
    const int64_t qb = firstQB + grp;
    const int64_t first = std::max<int64_t>(0, qb * Bt - (Sk - Sq));
    const int64_t last = std::min(Sq, (qb + 1) * Bt - (Sk - Sq)) - 1;
    // Candidates are those of Q's last row.
    staticSet(b, h, last, stat);
    const int64_t end = causalEnd(last);
    std::vector<int64_t> cands;
    for (int64_t c = 0; c < nKB; ++c)
      if (!coversRange(stat, c * Bt, std::min(end, (c + 1) * Bt)))
        cands.push_back(c);
    if (cands.empty())
      continue;

    std::vector<float> score(cands.size());
    if (tp.source == ScoreSource::PooledQK) {
      std::fill(qMean.begin(), qMean.end(), 0.0f);
      for (int64_t i = first; i <= last; ++i)
        for (int64_t d = 0; d < D; ++d)
          qMean[d] += qRow(b, h, i)[d];
      for (int64_t d = 0; d < D; ++d)
        qMean[d] /= float(last - first + 1);
      for (size_t n = 0; n < cands.size(); ++n)
        score[n] = scaleF * dotF32(qMean.data(), &kMean[cands[n] * D], D);
    } else {
      for (size_t n = 0; n < cands.size(); ++n)
        score[n] = blockMax[cands[n]];
    }
    std::vector<int64_t> order = rankDescending(score);
    size_t count = tp.byCover
                       ? coverCount(softmaxInOrder(score, order), tp.alpha)
                       : size_t(std::min<int64_t>(tp.k, order.size()));
    std::vector<KeyInterval> &keys = hs.groupKeys[grp];
    for (size_t n = 0; n < count; ++n)
      pushBlock(keys, cands[order[n]], Bt);
    canonicalize(keys);
  }
}

/// Token top-k by a row-independent score. When the static primitives leave
/// every row i the candidates E ∩ [0, L(i)) for one fixed set E of keys (as
/// SparseK's window does, with E = all keys: the candidates of row i are the
/// keys j <= p(i) - w; a sink takes the same keys out of every row), row i
/// keeps the k best of a key prefix, which PrefixTopk answers without
/// storing Sq x k keys. Returns false, leaving the per-row ranking walk of
/// topkTokens, when the rows are carved otherwise or k is a cover.
bool MaskOracle::Impl::buildPrefixTopk(size_t idx, const TopkPrim &tp) {
  if (tp.byCover || tp.source == ScoreSource::PooledQK)
    return false;
  // Static sets must be the same for every head and cheap to evaluate.
  for (size_t n = 0; n < spec.primitives.size(); ++n)
    if (const auto *x = std::get_if<KeepPrim>(&spec.primitives[n]))
      if (!x->blockLevel || keepTables[n].perHead)
        return false;

  // Row i's candidates are [0, L) minus `fixedPart`, where [L, end) is the
  // static run that reaches the causal end (the window), if any.
  std::vector<KeyInterval> stat;
  auto split = [&](int64_t i, std::vector<KeyInterval> &fixedPart) {
    staticSet(0, 0, i, stat);
    const int64_t end = causalEnd(i);
    fixedPart.clear();
    for (const KeyInterval &iv : stat)
      if (iv.first < end)
        fixedPart.emplace_back(iv.first, std::min(iv.second, end));
    int64_t L = end;
    if (!fixedPart.empty() && fixedPart.back().second == end) {
      L = fixedPart.back().first;
      fixedPart.pop_back();
    }
    return L;
  };
  PrefixSelection sel;
  sel.candidateEnd.resize(Sq);
  std::vector<KeyInterval> fixedPart, excluded;
  int64_t longest = 0;
  for (int64_t i = 0; i < Sq; ++i) {
    sel.candidateEnd[i] = split(i, fixedPart);
    if (sel.candidateEnd[i] > sel.candidateEnd[longest])
      longest = i;
  }
  const int64_t length = sel.candidateEnd[longest];
  split(longest, excluded);
  // Every row must exclude the same keys below its L: excluded ∩ [0, L).
  std::vector<KeyInterval> clipped;
  for (int64_t i = 0; i < Sq; ++i) {
    split(i, fixedPart);
    clipped.clear();
    for (const KeyInterval &iv : excluded)
      if (iv.first < sel.candidateEnd[i])
        clipped.emplace_back(iv.first,
                             std::min(iv.second, sel.candidateEnd[i]));
    if (clipped != fixedPart)
      return false;
  }

  std::vector<bool> eligible(length, true);
  for (const KeyInterval &iv : excluded)
    for (int64_t j = iv.first; j < iv.second; ++j)
      eligible[j] = false;
  std::vector<float> score(length);
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t g = 0; g < Hkv; ++g) {
      for (int64_t j = 0; j < length; ++j)
        score[j] = keyScore(tp, b, g, j);
      sel.best.emplace_back(score, eligible, tp.k, length);
    }
  prefixSelections[idx] = std::move(sel);
  return true;
}

void MaskOracle::Impl::topkTokens(size_t idx, const TopkPrim &tp, int64_t b,
                                  int64_t h, int64_t i,
                                  std::vector<KeyInterval> &out) const {
  const int64_t g = kvHead(h);
  if (const PrefixSelection &ps = prefixSelections[idx]; !ps.best.empty()) {
    std::vector<int64_t> best;
    ps.best[b * Hkv + g].query(ps.candidateEnd[i], best);
    for (int64_t j : best)
      out.emplace_back(j, j + 1);
    return;
  }
  std::vector<KeyInterval> stat;
  staticSet(b, h, i, stat);
  const int64_t end = causalEnd(i);
  auto isCandidate = [&](int64_t j) {
    return j < end && !containsKey(stat, j);
  };

  std::vector<int64_t> picked;
  if (tp.source == ScoreSource::PooledQK) {
    // Token granularity: blocks of one token, so the pooled score is
    // scale * q_i . k_j, softmaxed over the row's candidates.
    std::vector<int64_t> cands;
    std::vector<float> score;
    for (int64_t j = 0; j < end; ++j)
      if (isCandidate(j)) {
        cands.push_back(j);
        score.push_back(scaleF * dotF32(qRow(b, h, i), kRow(b, g, j), D));
      }
    std::vector<int64_t> order = rankDescending(score);
    size_t count = tp.byCover
                       ? coverCount(softmaxInOrder(score, order), tp.alpha)
                       : size_t(std::min<int64_t>(tp.k, order.size()));
    for (size_t n = 0; n < count; ++n)
      picked.push_back(cands[order[n]]);
  } else {
    // Row-independent scores: walk the (b, g) ranking, keeping candidates.
    const KeyRanking &rk = rankings[idx][b * Hkv + g];
    if (!tp.byCover) {
      for (int64_t j : rk.order) {
        if (int64_t(picked.size()) >= tp.k)
          break;
        if (isCandidate(j))
          picked.push_back(j);
      }
    } else {
      std::vector<float> score;
      std::vector<int64_t> cands;
      for (int64_t j : rk.order)
        if (isCandidate(j)) {
          cands.push_back(j);
          score.push_back(rk.score[j]);
        }
      // `cands` is already in rank order.
      std::vector<int64_t> order(cands.size());
      std::iota(order.begin(), order.end(), 0);
      size_t count = coverCount(softmaxInOrder(score, order), tp.alpha);
      picked.assign(cands.begin(), cands.begin() + count);
    }
  }
  for (int64_t j : picked)
    out.emplace_back(j, j + 1);
}

//===----------------------------------------------------------------------===//
// permute (PBS-Attn).
//===----------------------------------------------------------------------===//

void MaskOracle::Impl::buildPermute(const PermutePrim &pp, int64_t b, int64_t h,
                                    HeadState &hs) const {
  const int64_t S = pp.segment, B = pp.block, g = kvHead(h);

  // Step 1: importance = mean softmax over the last min(n, Sq) rows.
  const int64_t firstProbe = Sq - std::min(pp.probe, Sq);
  const int64_t numProbe = Sq - firstProbe;
  std::vector<double> acc(Sk, 0.0);
  std::vector<int64_t> probeRows(numProbe);
  std::iota(probeRows.begin(), probeRows.end(), firstProbe);
  forEachSoftmaxRow(b, h, probeRows,
                    [&](int64_t, const double *probs, int64_t end) {
                      for (int64_t j = 0; j < end; ++j)
                        acc[j] += probs[j];
                    });
  std::vector<float> importance(Sk);
  for (int64_t j = 0; j < Sk; ++j)
    importance[j] = float(acc[j] / double(numProbe));

  // Step 2: perm[position] = original key; stable sort inside each complete
  // segment, the tail stays in place.
  std::vector<int64_t> perm(Sk);
  std::iota(perm.begin(), perm.end(), 0);
  for (int64_t m = 0; (m + 1) * S <= Sk; ++m)
    std::sort(perm.begin() + m * S, perm.begin() + (m + 1) * S,
              [&](int64_t x, int64_t y) {
                return ranksBefore(importance[x], x, importance[y], y);
              });
  int64_t posOfKey0 = std::find(perm.begin(), perm.end(), 0) - perm.begin();
  const int64_t blockOfKey0 = posOfKey0 / B;

  // Mean permuted key of every block that can be a candidate (whole
  // segments only, so every such block has B keys).
  const int64_t numWholeBlocks = (Sk / S) * (S / B);
  std::vector<float> kMean(numWholeBlocks * D, 0.0f);
  for (int64_t c = 0; c < numWholeBlocks; ++c) {
    for (int64_t pos = c * B; pos < (c + 1) * B; ++pos)
      for (int64_t d = 0; d < D; ++d)
        kMean[c * D + d] += kRow(b, g, perm[pos])[d];
    for (int64_t d = 0; d < D; ++d)
      kMean[c * D + d] /= float(B);
  }

  // Step 3-4 per query block (absolute positions, block B).
  const int64_t firstQB = floorDiv(position(0), B);
  const int64_t numGroups = floorDiv(position(Sq - 1), B) - firstQB + 1;
  const int64_t words = ceilDiv(Sk, 64);
  hs.groupBitmaps.assign(numGroups, std::vector<uint64_t>(words, 0));
  std::vector<float> qMean(D);
  for (int64_t grp = 0; grp < numGroups; ++grp) {
    const int64_t qb = firstQB + grp;
    const int64_t first = std::max<int64_t>(0, qb * B - (Sk - Sq));
    const int64_t last = std::min(Sq, (qb + 1) * B - (Sk - Sq)) - 1;
    const int64_t mQ = floorDiv(position(first), S);
    std::vector<uint64_t> &bits = hs.groupBitmaps[grp];
    auto setKey = [&](int64_t j) { bits[j / 64] |= uint64_t(1) << (j % 64); };
    auto keepBlock = [&](int64_t c) {
      for (int64_t pos = c * B; pos < std::min(Sk, (c + 1) * B); ++pos)
        setKey(perm[pos]);
    };

    // Candidates: blocks wholly in earlier segments, (c + 1) B <= mQ S.
    const int64_t numCands =
        std::clamp<int64_t>(floorDiv(mQ * S, B), 0, numWholeBlocks);
    if (numCands > 0) {
      std::fill(qMean.begin(), qMean.end(), 0.0f);
      for (int64_t i = first; i <= last; ++i)
        for (int64_t d = 0; d < D; ++d)
          qMean[d] += qRow(b, h, i)[d];
      for (int64_t d = 0; d < D; ++d)
        qMean[d] /= float(last - first + 1);
      std::vector<float> score(numCands);
      for (int64_t c = 0; c < numCands; ++c)
        score[c] = scaleF * dotF32(qMean.data(), &kMean[c * D], D);
      std::vector<int64_t> order = rankDescending(score);
      size_t count = coverCount(softmaxInOrder(score, order), pp.alpha);
      for (size_t n = 0; n < count; ++n)
        keepBlock(order[n]);
    }
    // Always kept: Q's own segment and the block holding original key 0.
    for (int64_t j = std::max<int64_t>(0, mQ * S);
         j < std::min(Sk, (mQ + 1) * S); ++j)
      setKey(j);
    keepBlock(blockOfKey0);
  }
}

//===----------------------------------------------------------------------===//
// Rows.
//===----------------------------------------------------------------------===//

/// Appends the runs of set bits of `bits` among keys 0..end-1 as intervals.
static void appendBitRuns(const std::vector<uint64_t> &bits, int64_t end,
                          std::vector<KeyInterval> &out) {
  const int64_t words = int64_t(bits.size());
  // First key >= j whose bit equals `want`, or end.
  auto next = [&](int64_t j, bool want) -> int64_t {
    while (j < end) {
      int64_t w = j / 64;
      uint64_t word = want ? bits[w] : ~bits[w];
      word &= ~uint64_t(0) << (j % 64);
      if (word != 0)
        return std::min(end, w * 64 + llvm::countr_zero(word));
      j = (w + 1) * 64;
      if (w + 1 >= words)
        return end;
    }
    return end;
  };
  for (int64_t j = next(0, true); j < end;) {
    int64_t e = next(j, false);
    out.emplace_back(j, e);
    j = next(e, true);
  }
}

void MaskOracle::Impl::row(int64_t b, int64_t h, int64_t i,
                           std::vector<KeyInterval> &out) const {
  out.clear();
  const int64_t p = position(i);
  const int64_t end = causalEnd(i);
  for (size_t idx = 0; idx < spec.primitives.size(); ++idx) {
    const Primitive &prim = spec.primitives[idx];
    // Each piece is merged into the sorted `out` as it comes.
    size_t mid = out.size();
    auto endRun = [&] {
      mergeRun(out, mid);
      mid = out.size();
    };
    if (isStatic(prim)) {
      staticRow(idx, b, h, i, out);
      endRun();
      continue;
    }
    const HeadState *hs =
        heads[idx].empty() ? nullptr : &heads[idx][b * Hq + h];
    if (const auto *x = std::get_if<StripesPrim>(&prim)) {
      // Kept columns and the blocks of kept diagonals, both ascending, are
      // merged into runs of blocks up to the causal end.
      const int64_t B = x->block, qb = floorDiv(p, B);
      const int64_t endBlock = ceilDiv(end, B);
      auto col = hs->columns.begin(), dia = hs->diagonals.begin();
      while (true) {
        const int64_t c = col != hs->columns.end() ? *col : endBlock;
        const int64_t d = dia != hs->diagonals.end() ? qb - *dia : endBlock;
        const int64_t kb = std::min(c, d);
        if (kb >= endBlock)
          break;
        col += c == kb;
        dia += d == kb;
        if (kb < 0)
          continue;
        if (out.size() > mid && out.back().second == kb * B)
          out.back().second = std::min(Sk, (kb + 1) * B);
        else
          pushBlock(out, kb, B);
      }
      endRun();
      pushWindow(
          out, p,
          std::max<int64_t>(B, roundHalfUp(x->windowFraction * double(Sk))));
    } else if (const auto *x = std::get_if<TreeSearchPrim>(&prim)) {
      const auto &keys = hs->groupKeys[i / x->blockQ];
      out.insert(out.end(), keys.begin(), keys.end());
      endRun();
      pushClipped(out, 0, x->sink);
      pushWindow(out, p, x->window);
    } else if (const auto *x = std::get_if<TopkPrim>(&prim)) {
      if (x->granularity == TopkGranularity::Token) {
        topkTokens(idx, *x, b, h, i, out);
      } else {
        int64_t grp = floorDiv(p, x->block) - floorDiv(position(0), x->block);
        const auto &keys = hs->groupKeys[grp];
        out.insert(out.end(), keys.begin(), keys.end());
      }
    } else if (const auto *x = std::get_if<PermutePrim>(&prim)) {
      int64_t grp = floorDiv(p, x->block) - floorDiv(position(0), x->block);
      appendBitRuns(hs->groupBitmaps[grp], end, out);
    }
    endRun();
  }
  canonicalize(out);
  // A(i) = C(i) ∩ union.
  while (!out.empty() && out.back().first >= end)
    out.pop_back();
  if (!out.empty())
    out.back().second = std::min(out.back().second, end);
}

int64_t MaskOracle::Impl::rowsSharingKeys(int64_t i) const {
  // Before the causal cut, a primitive's keys for row i depend on nothing
  // (sink, columns), on a block of p(i), on a group of rows, or on p(i)
  // itself (token windows, element-level keep, token top-k, stripes' window).
  const int64_t p = position(i);
  auto sameBlock = [&](int64_t B) {
    return std::min(Sq, (floorDiv(p, B) + 1) * B - (Sk - Sq)) - i;
  };
  int64_t n = Sq - i;
  for (const Primitive &prim : spec.primitives) {
    if (std::holds_alternative<SinkPrim>(prim) ||
        std::holds_alternative<ColumnsPrim>(prim))
      continue;
    if (const auto *x = std::get_if<WindowPrim>(&prim)) {
      if (x->unit == WindowUnit::Blocks)
        n = std::min(n, sameBlock(spec.block));
      else if (!(x->unit == WindowUnit::Tokens && x->size == 0))
        n = 1;
    } else if (std::holds_alternative<StridesPrim>(prim) ||
               std::holds_alternative<DiagonalsPrim>(prim)) {
      n = std::min(n, sameBlock(spec.block));
    } else if (const auto *x = std::get_if<KeepPrim>(&prim)) {
      n = x->blockLevel ? std::min(n, sameBlock(spec.block)) : 1;
    } else if (const auto *x = std::get_if<TreeSearchPrim>(&prim)) {
      n = x->window > 0
              ? 1
              : std::min(n, std::min(Sq, (i / x->blockQ + 1) * x->blockQ) - i);
    } else if (const auto *x = std::get_if<TopkPrim>(&prim)) {
      n = x->granularity == TopkGranularity::Token
              ? 1
              : std::min(n, sameBlock(x->block));
    } else if (const auto *x = std::get_if<PermutePrim>(&prim)) {
      n = std::min(n, sameBlock(x->block));
    } else {
      n = 1; // stripes: its window moves with p(i)
    }
  }
  return std::max<int64_t>(n, 1);
}

//===----------------------------------------------------------------------===//
// MaskOracle.
//===----------------------------------------------------------------------===//

llvm::Expected<MaskOracle> MaskOracle::create(const PatternSpec &spec,
                                              const AttentionShape &shape,
                                              const OracleInputs &inputs) {
  auto impl = std::make_shared<Impl>();
  impl->spec = spec;
  impl->shape = shape;
  impl->inputs = inputs;
  if (llvm::Error e = impl->validate())
    return e;
  impl->Sq = shape.seqQ;
  impl->Sk = shape.seqK;
  impl->D = shape.headDim;
  impl->Hq = shape.heads;
  impl->Hkv = shape.kvHeads;
  impl->groupSize = shape.heads / shape.kvHeads;
  impl->scaleF = float(shape.effectiveScale());
  for (size_t n = 0; n < spec.inputs.size(); ++n) {
    const IntInputDecl &decl = spec.inputs[n];
    InputTable table;
    table.data = inputs.intInputs[n];
    table.strides.assign(decl.dims.size(), 1);
    for (size_t d = decl.dims.size(); d-- > 1;)
      table.strides[d - 1] =
          table.strides[d] * inputExtent(decl.dims[d], shape);
    impl->inputTables.push_back(std::move(table));
  }

  const size_t numPrims = spec.primitives.size();
  impl->keepTables.resize(numPrims);
  impl->heads.resize(numPrims);
  impl->rankings.resize(numPrims);
  impl->prefixSelections.resize(numPrims);
  const int64_t BH = shape.batch * shape.heads;
  // Static tables first: dynamic primitives read every static primitive.
  for (size_t idx = 0; idx < numPrims; ++idx)
    if (const auto *x = std::get_if<KeepPrim>(&spec.primitives[idx]))
      if (x->blockLevel)
        impl->buildKeepTable(idx, *x);
  for (size_t idx = 0; idx < numPrims; ++idx) {
    const Primitive &prim = spec.primitives[idx];
    if (const auto *x = std::get_if<TopkPrim>(&prim);
        x && x->granularity == TopkGranularity::Token) {
      // Rows are selected on demand (storing Sq x k keys would not fit):
      // from the best of each key prefix where candidates are prefixes,
      // else from keys ranked once here by a row-independent score.
      if (x->source == ScoreSource::PooledQK || impl->buildPrefixTopk(idx, *x))
        continue;
      auto &ranks = impl->rankings[idx];
      ranks.resize(shape.batch * shape.kvHeads);
      for (int64_t b = 0; b < shape.batch; ++b)
        for (int64_t g = 0; g < shape.kvHeads; ++g) {
          Impl::KeyRanking &rk = ranks[b * shape.kvHeads + g];
          rk.score.resize(impl->Sk);
          for (int64_t j = 0; j < impl->Sk; ++j)
            rk.score[j] = impl->keyScore(*x, b, g, j);
          rk.order = rankDescending(rk.score);
        }
      continue;
    }
    if (isStatic(prim))
      continue;
    auto &states = impl->heads[idx];
    states.resize(BH);
    for (int64_t b = 0; b < shape.batch; ++b)
      for (int64_t h = 0; h < shape.heads; ++h) {
        Impl::HeadState &hs = states[b * shape.heads + h];
        if (const auto *s = std::get_if<StripesPrim>(&prim))
          impl->buildStripes(*s, b, h, hs);
        else if (const auto *t = std::get_if<TreeSearchPrim>(&prim))
          impl->buildTreeSearch(*t, b, h, hs);
        else if (const auto *k = std::get_if<TopkPrim>(&prim))
          impl->buildTopkBlocks(*k, b, h, hs);
        else if (const auto *p = std::get_if<PermutePrim>(&prim))
          impl->buildPermute(*p, b, h, hs);
      }
  }
  return MaskOracle(std::move(impl));
}

void MaskOracle::rowIntervals(int64_t b, int64_t h, int64_t i,
                              std::vector<KeyInterval> &out) const {
  assert(b >= 0 && b < impl->shape.batch && h >= 0 && h < impl->Hq && i >= 0 &&
         i < impl->Sq && "row out of range");
  impl->row(b, h, i, out);
}

int64_t MaskOracle::rowsSharingKeys(int64_t i) const {
  assert(i >= 0 && i < impl->Sq && "row out of range");
  return impl->rowsSharingKeys(i);
}

bool MaskOracle::attends(int64_t b, int64_t h, int64_t i, int64_t j) const {
  std::vector<KeyInterval> rowSet;
  rowIntervals(b, h, i, rowSet);
  return containsKey(rowSet, j);
}

int64_t MaskOracle::position(int64_t i) const { return impl->position(i); }
const PatternSpec &MaskOracle::spec() const { return impl->spec; }
const AttentionShape &MaskOracle::shape() const { return impl->shape; }

//===----------------------------------------------------------------------===//
// Reference attention.
//===----------------------------------------------------------------------===//

double sattn::attentionRow(const AttentionShape &s, const OracleInputs &inputs,
                           const float *v, int64_t b, int64_t h, int64_t i,
                           llvm::ArrayRef<KeyInterval> keys, double *out,
                           std::vector<double> &logits,
                           const ScoreModifiers &modifiers) {
  const int64_t Sq = s.seqQ, Sk = s.seqK, D = s.headDim;
  const int64_t g = h / (s.heads / s.kvHeads);
  const double scale = s.effectiveScale();
  const float *kBase = inputs.k + (b * s.kvHeads + g) * Sk * D;
  const float *vBase = v ? v + (b * s.kvHeads + g) * Sk * D : nullptr;
  const float *qi = inputs.q + ((b * s.heads + h) * Sq + i) * D;
  if (out)
    std::fill(out, out + D, 0.0);
  logits.clear();
  double mx = -std::numeric_limits<double>::infinity();
  for (const KeyInterval &iv : keys) {
    int64_t j = iv.first;
    // Four keys at a time: four independent sums keep the adder busy, and
    // each is still accumulated in order over d (the same bits as one by
    // one).
    for (; j + 4 <= iv.second; j += 4) {
      const float *k0 = kBase + j * D;
      double dot[4] = {0, 0, 0, 0};
      for (int64_t d = 0; d < D; ++d) {
        const double qd = double(qi[d]);
        for (int64_t r = 0; r < 4; ++r)
          dot[r] += qd * double(k0[r * D + d]);
      }
      for (double x : dot) {
        logits.push_back(scale * x);
        mx = std::max(mx, logits.back());
      }
    }
    for (; j < iv.second; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < D; ++d)
        dot += double(qi[d]) * double(kBase[j * D + d]);
      logits.push_back(scale * dot);
      mx = std::max(mx, logits.back());
    }
  }
  if (logits.empty())
    return -std::numeric_limits<double>::infinity();
  if (modifiers.any()) {
    const int64_t pos = i + (Sk - Sq);
    size_t n = 0;
    mx = -std::numeric_limits<double>::infinity();
    for (const KeyInterval &iv : keys)
      for (int64_t j = iv.first; j < iv.second; ++j, ++n) {
        logits[n] = modifiers.apply(logits[n], h, s.heads, pos, j);
        mx = std::max(mx, logits[n]);
      }
  }
  double sum = 0;
  size_t n = 0;
  for (const KeyInterval &iv : keys)
    for (int64_t j = iv.first; j < iv.second; ++j, ++n) {
      double w = std::exp(logits[n] - mx);
      sum += w;
      if (vBase)
        for (int64_t d = 0; d < D; ++d)
          out[d] += w * double(vBase[j * D + d]);
    }
  if (vBase)
    for (int64_t d = 0; d < D; ++d)
      out[d] /= sum;
  return mx + std::log(sum);
}

llvm::Error sattn::referenceAttention(const MaskOracle &oracle,
                                      const OracleInputs &inputs,
                                      const float *v, double *out,
                                      double *lse) {
  if (!inputs.q || !inputs.k || !v || !out)
    return makeError("reference attention needs q, k, v and an output buffer");
  const AttentionShape &s = oracle.shape();
  std::vector<KeyInterval> rowSet;
  std::vector<double> logits;
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.heads; ++h)
      for (int64_t i = 0; i < s.seqQ; ++i) {
        const int64_t row = (b * s.heads + h) * s.seqQ + i;
        oracle.rowIntervals(b, h, i, rowSet);
        double rowLse =
            attentionRow(s, inputs, v, b, h, i, rowSet, out + row * s.headDim,
                         logits, oracle.spec().modifiers);
        if (lse)
          lse[row] = rowLse;
      }
  return llvm::Error::success();
}

llvm::Error sattn::referenceAttention(const PatternSpec &spec,
                                      const AttentionShape &shape,
                                      const OracleInputs &inputs,
                                      const float *v, double *out,
                                      double *lse) {
  llvm::Expected<MaskOracle> oracle = MaskOracle::create(spec, shape, inputs);
  if (!oracle)
    return oracle.takeError();
  return referenceAttention(*oracle, inputs, v, out, lse);
}

//===----------------------------------------------------------------------===//
// Block maps.
//===----------------------------------------------------------------------===//

BlockGrid sattn::blockGrid(const AttentionShape &shape, int64_t blockSize) {
  BlockGrid grid;
  grid.firstQBlock = floorDiv(shape.seqK - shape.seqQ, blockSize);
  grid.qBlocks = floorDiv(shape.seqK - 1, blockSize) - grid.firstQBlock + 1;
  grid.kBlocks = ceilDiv(shape.seqK, blockSize);
  return grid;
}

int64_t sattn::blockGridFactor(const AttentionShape &shape, int64_t blockSize,
                               int64_t maxCells) {
  assert(maxCells >= 1 && "need at least one cell");
  // floor(floor(x / B) / f) = floor(x / (B f)): the grid at B f is exactly the
  // grid at B merged f by f.
  int64_t f = 1;
  while (true) {
    BlockGrid grid = blockGrid(shape, blockSize * f);
    if (grid.qBlocks <= maxCells && grid.kBlocks <= maxCells)
      return f;
    ++f;
  }
}

BlockMap sattn::computeBlockMap(const MaskOracle &oracle, int64_t b, int64_t h,
                                int64_t blockSize) {
  assert(blockSize >= 1 && "block size must be positive");
  const AttentionShape &s = oracle.shape();
  const int64_t Sq = s.seqQ, Sk = s.seqK, bs = blockSize;
  const int64_t offset = Sk - Sq; // p(i) = i + offset
  BlockMap m;
  m.blockSize = bs;
  m.seqQ = Sq;
  m.seqK = Sk;
  BlockGrid grid = blockGrid(s, bs);
  m.firstQBlock = grid.firstQBlock;
  m.qBlocks = grid.qBlocks;
  m.kBlocks = grid.kBlocks;
  m.state.assign(m.qBlocks * m.kBlocks, BlockMap::Skipped);

  // Per key block: a difference array of rows covering the block entirely,
  // plus pairs from partially covered blocks. Work is per interval, so a
  // row costs O(#intervals), not O(Sk), and rows that share their keys up to
  // causality are counted together from one computed row.
  std::vector<int64_t> fullRows(m.kBlocks + 1), pairs(m.kBlocks);
  std::vector<KeyInterval> rowSet;
  // Counts `weight` rows attending to the keys of rowSet inside [lo, hi),
  // starting at interval `from`.
  auto addKeys = [&](size_t from, int64_t lo, int64_t hi, int64_t weight) {
    int64_t kbS = 0; // intervals ascend: most find their block without a div
    for (size_t n = from; n < rowSet.size() && rowSet[n].first < hi; ++n) {
      const int64_t a = std::max(rowSet[n].first, lo);
      const int64_t e = std::min(rowSet[n].second, hi);
      if (a >= e)
        continue;
      if (a >= (kbS + 1) * bs)
        kbS = a / bs;
      const int64_t kbE = e <= (kbS + 1) * bs ? kbS : (e - 1) / bs;
      if (kbS == kbE) {
        pairs[kbS] += weight * (e - a);
        continue;
      }
      pairs[kbS] += weight * ((kbS + 1) * bs - a);
      pairs[kbE] += weight * (e - kbE * bs);
      fullRows[kbS + 1] += weight;
      fullRows[kbE] -= weight;
    }
  };
  auto causalEnd = [&](int64_t i) {
    return oracle.spec().causal ? std::clamp<int64_t>(i + offset + 1, 0, Sk)
                                : Sk;
  };
  for (int64_t r = 0; r < m.qBlocks; ++r) {
    const int64_t qb = m.firstQBlock + r;
    const int64_t first = std::max<int64_t>(0, qb * bs - offset);
    const int64_t last = std::min(Sq, (qb + 1) * bs - offset); // exclusive
    std::fill(fullRows.begin(), fullRows.end(), 0);
    std::fill(pairs.begin(), pairs.end(), 0);
    for (int64_t i = first; i < last;) {
      // Rows i..i+n-1 attend to A(i + n - 1) cut at their own causal ends:
      // all n see its keys below causalEnd(i), each sees some more.
      const int64_t n = std::min(oracle.rowsSharingKeys(i), last - i);
      oracle.rowIntervals(b, h, i + n - 1, rowSet);
      const int64_t common = causalEnd(i);
      addKeys(0, 0, common, n);
      const size_t from =
          std::lower_bound(
              rowSet.begin(), rowSet.end(), common,
              [](const KeyInterval &iv, int64_t j) { return iv.second <= j; }) -
          rowSet.begin();
      for (int64_t x = i + 1; x < i + n; ++x)
        addKeys(from, common, causalEnd(x), 1);
      i += n;
    }
    const int64_t rows = last - first;
    int64_t covering = 0;
    for (int64_t kb = 0; kb < m.kBlocks; ++kb) {
      covering += fullRows[kb];
      const int64_t len = std::min(bs, Sk - kb * bs);
      const int64_t count = covering * len + pairs[kb];
      m.attendedPairs += count;
      uint8_t st = count == 0            ? BlockMap::Skipped
                   : count == rows * len ? BlockMap::Full
                                         : BlockMap::Partial;
      m.state[r * m.kBlocks + kb] = st;
    }
  }
  int64_t causalPairs = 0;
  for (int64_t i = 0; i < Sq; ++i)
    causalPairs += std::clamp<int64_t>(i + offset + 1, 0, Sk);
  m.density = double(m.attendedPairs) / (double(Sq) * double(Sk));
  m.causalDensity =
      causalPairs > 0 ? double(m.attendedPairs) / double(causalPairs) : 0.0;
  return m;
}

BlockMap sattn::downsampleBlockMap(const BlockMap &map, int64_t maxCells) {
  AttentionShape shape;
  shape.seqQ = map.seqQ;
  shape.seqK = map.seqK;
  // Cells are aligned on absolute blocks, so the row count depends on where
  // the first query block falls inside its cell.
  int64_t f = blockGridFactor(shape, map.blockSize, maxCells);
  if (f == 1)
    return map;
  BlockMap out = map;
  out.blockSize = map.blockSize * f;
  out.firstQBlock = floorDiv(map.firstQBlock, f);
  out.qBlocks =
      floorDiv(map.firstQBlock + map.qBlocks - 1, f) - out.firstQBlock + 1;
  out.kBlocks = ceilDiv(map.kBlocks, f);
  out.state.assign(out.qBlocks * out.kBlocks, BlockMap::Skipped);
  // Per cell: did any covered block have each state.
  std::vector<uint8_t> seen(out.qBlocks * out.kBlocks, 0);
  for (int64_t r = 0; r < map.qBlocks; ++r) {
    int64_t R = floorDiv(map.firstQBlock + r, f) - out.firstQBlock;
    for (int64_t c = 0; c < map.kBlocks; ++c)
      seen[R * out.kBlocks + c / f] |= uint8_t(1) << map.at(r, c);
  }
  for (size_t n = 0; n < seen.size(); ++n)
    out.state[n] = seen[n] == (1 << BlockMap::Full)      ? BlockMap::Full
                   : seen[n] == (1 << BlockMap::Skipped) ? BlockMap::Skipped
                                                         : BlockMap::Partial;
  return out;
}

void sattn::writeTokenMask(const MaskOracle &oracle, uint8_t *mask) {
  const AttentionShape &shape = oracle.shape();
  std::vector<KeyInterval> row;
  for (int64_t b = 0; b < shape.batch; ++b)
    for (int64_t h = 0; h < shape.heads; ++h)
      for (int64_t i = 0; i < shape.seqQ; ++i) {
        oracle.rowIntervals(b, h, i, row);
        uint8_t *dst =
            mask + ((b * shape.heads + h) * shape.seqQ + i) * shape.seqK;
        std::fill(dst, dst + shape.seqK, 0);
        for (auto [begin, end] : row)
          std::fill(dst + begin, dst + end, 1);
      }
}
