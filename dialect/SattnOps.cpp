//===- SattnOps.cpp - sattn op parsing, printing and verification ---------===//

#include "dialect/SattnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sattn;

//===----------------------------------------------------------------------===//
// Custom directives
//===----------------------------------------------------------------------===//

/// An integer, a float or a #sattn.param reference, printed bare.
static ParseResult parseNumberParam(OpAsmParser &parser, Attribute &attr) {
  return parser.parseAttribute(attr);
}
static void printNumberParam(OpAsmPrinter &p, Operation *, Attribute attr) {
  p.printAttributeWithoutType(attr);
}
static ParseResult parseIntParam(OpAsmParser &parser, Attribute &attr) {
  return parseNumberParam(parser, attr);
}
static void printIntParam(OpAsmPrinter &p, Operation *op, Attribute attr) {
  printNumberParam(p, op, attr);
}
/// Integer literals are accepted where a float is expected (`cover = 1`).
static ParseResult parseFloatParam(OpAsmParser &parser, Attribute &attr) {
  if (parser.parseAttribute(attr))
    return failure();
  if (auto intAttr = dyn_cast<IntegerAttr>(attr))
    attr = parser.getBuilder().getF64FloatAttr(
        static_cast<double>(intAttr.getInt()));
  return success();
}
static void printFloatParam(OpAsmPrinter &p, Operation *op, Attribute attr) {
  printNumberParam(p, op, attr);
}

/// Parses one keyword of an enum, listing the choices on error (the default
/// enum parser names C++ types).
template <typename EnumAttrT, typename Symbolize>
static ParseResult parseEnumKeyword(OpAsmParser &parser, EnumAttrT &attr,
                                    Symbolize symbolize, StringRef what,
                                    StringRef choices) {
  llvm::SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (failed(parser.parseOptionalKeyword(&keyword)))
    return parser.emitError(loc, "expected ") << what << ": " << choices;
  auto value = symbolize(keyword);
  if (!value)
    return parser.emitError(loc, "expected ")
           << what << ": " << choices << "; got '" << keyword << "'";
  attr = EnumAttrT::get(parser.getContext(), *value);
  return success();
}

static ParseResult parseWindowUnit(OpAsmParser &parser, WindowUnitAttr &attr) {
  return parseEnumKeyword(
      parser, attr, [](StringRef s) { return symbolizeWindowUnit(s); },
      "a window unit", "tokens, blocks or fraction");
}
static void printWindowUnit(OpAsmPrinter &p, Operation *, WindowUnitAttr attr) {
  p << stringifyWindowUnit(attr.getValue());
}
static ParseResult parseGranularity(OpAsmParser &parser,
                                    GranularityAttr &attr) {
  return parseEnumKeyword(
      parser, attr, [](StringRef s) { return symbolizeGranularity(s); },
      "a granularity", "tokens or blocks");
}
static void printGranularity(OpAsmPrinter &p, Operation *,
                             GranularityAttr attr) {
  p << stringifyGranularity(attr.getValue());
}
static ParseResult parseScoreSource(OpAsmParser &parser,
                                    ScoreSourceAttr &attr) {
  return parseEnumKeyword(
      parser, attr, [](StringRef s) { return symbolizeScoreSource(s); },
      "a score source", "key_score, linear or pooled_qk");
}
static void printScoreSource(OpAsmPrinter &p, Operation *,
                             ScoreSourceAttr attr) {
  p << stringifyScoreSource(attr.getValue());
}

/// `(name = value, ...)`: pattern parameters and their defaults.
static ParseResult parseParamList(OpAsmParser &parser, DictionaryAttr &params) {
  NamedAttrList entries;
  llvm::SmallSet<std::string, 8> seen;
  auto parseEntry = [&]() -> ParseResult {
    std::string name;
    llvm::SMLoc loc = parser.getCurrentLocation();
    Attribute value;
    if (parser.parseKeywordOrString(&name) || parser.parseEqual() ||
        parser.parseAttribute(value))
      return failure();
    if (!seen.insert(name).second)
      return parser.emitError(loc, "duplicate parameter '") << name << "'";
    entries.append(name, value);
    return success();
  };
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Paren, parseEntry))
    return failure();
  params = entries.getDictionary(parser.getContext());
  return success();
}
static void printParamList(OpAsmPrinter &p, Operation *,
                           DictionaryAttr params) {
  p << "(";
  llvm::interleaveComma(params, p, [&](NamedAttribute entry) {
    p.printKeywordOrString(entry.getName().getValue());
    p << " = ";
    p.printAttributeWithoutType(entry.getValue());
  });
  p << ")";
}

/// `pow2` | `every N` | `[d1, d2, ...]`.
static ParseResult parseStrides(OpAsmParser &parser, StrideKindAttr &kind,
                                Attribute &every,
                                DenseI64ArrayAttr &distances) {
  MLIRContext *ctx = parser.getContext();
  if (succeeded(parser.parseOptionalKeyword("pow2"))) {
    kind = StrideKindAttr::get(ctx, StrideKind::pow2);
    return success();
  }
  if (succeeded(parser.parseOptionalKeyword("every"))) {
    kind = StrideKindAttr::get(ctx, StrideKind::every);
    return parseIntParam(parser, every);
  }
  SmallVector<int64_t> values;
  auto parseValue = [&]() -> ParseResult {
    int64_t value;
    if (parser.parseInteger(value))
      return failure();
    values.push_back(value);
    return success();
  };
  if (parser.parseCommaSeparatedList(
          OpAsmParser::Delimiter::Square, parseValue,
          " in 'pow2', 'every N' or a list [d, ...]"))
    return failure();
  kind = StrideKindAttr::get(ctx, StrideKind::list);
  distances = DenseI64ArrayAttr::get(ctx, values);
  return success();
}
static void printStrides(OpAsmPrinter &p, Operation *op, StrideKindAttr kind,
                         Attribute every, DenseI64ArrayAttr distances) {
  switch (kind.getValue()) {
  case StrideKind::pow2:
    p << "pow2";
    return;
  case StrideKind::every:
    p << "every ";
    if (every)
      printIntParam(p, op, every);
    return;
  case StrideKind::list:
    p << "[";
    if (distances)
      llvm::interleaveComma(distances.asArrayRef(), p);
    p << "]";
    return;
  }
}

/// `k = N` | `cover = F`.
static ParseResult parseBudget(OpAsmParser &parser, Attribute &k,
                               Attribute &cover) {
  if (succeeded(parser.parseOptionalKeyword("k")))
    return failure(parser.parseEqual() || parseIntParam(parser, k));
  if (succeeded(parser.parseOptionalKeyword("cover")))
    return failure(parser.parseEqual() || parseFloatParam(parser, cover));
  return parser.emitError(parser.getCurrentLocation(),
                          "expected a budget: 'k = N' or 'cover = F'");
}
static void printBudget(OpAsmPrinter &p, Operation *op, Attribute k,
                        Attribute cover) {
  if (k) {
    p << "k = ";
    printIntParam(p, op, k);
  } else if (cover) {
    p << "cover = ";
    printFloatParam(p, op, cover);
  }
}

#define GET_OP_CLASSES
#include "dialect/SattnOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Parameter resolution
//===----------------------------------------------------------------------===//

Attribute PatternOp::getParamDefault(StringRef name) {
  return getParams().get(name);
}

std::optional<int64_t> PatternOp::resolveInt(Attribute attr) {
  if (auto param = dyn_cast_if_present<ParamAttr>(attr))
    attr = getParamDefault(param.getName());
  if (auto intAttr = dyn_cast_if_present<IntegerAttr>(attr))
    return intAttr.getInt();
  return std::nullopt;
}

std::optional<double> PatternOp::resolveFloat(Attribute attr) {
  if (auto param = dyn_cast_if_present<ParamAttr>(attr))
    attr = getParamDefault(param.getName());
  if (auto floatAttr = dyn_cast_if_present<FloatAttr>(attr))
    return floatAttr.getValueAsDouble();
  if (auto intAttr = dyn_cast_if_present<IntegerAttr>(attr))
    return static_cast<double>(intAttr.getInt());
  return std::nullopt;
}

namespace {
/// Resolves the attributes of one primitive against its pattern and checks
/// their ranges, naming the attribute, the value and, for a parameter
/// reference, the parameter whose default it is.
class ParamChecker {
public:
  explicit ParamChecker(Operation *op) : op(op) {
    pattern = dyn_cast<PatternOp>(op);
    if (!pattern)
      pattern = op->getParentOfType<PatternOp>();
  }

  /// Resolves an integer attribute; fails with a diagnostic when it names a
  /// missing or non-integer parameter.
  FailureOr<int64_t> getInt(StringRef name, Attribute attr) {
    if (failed(checkReference(name, attr, /*wantInt=*/true)))
      return failure();
    if (auto intAttr = dyn_cast<IntegerAttr>(resolved(attr)))
      return intAttr.getInt();
    return op->emitOpError("attribute '")
           << name << "' must be an integer, got " << attr;
  }

  FailureOr<double> getFloat(StringRef name, Attribute attr) {
    if (failed(checkReference(name, attr, /*wantInt=*/false)))
      return failure();
    Attribute value = resolved(attr);
    if (auto floatAttr = dyn_cast<FloatAttr>(value))
      return floatAttr.getValueAsDouble();
    if (auto intAttr = dyn_cast<IntegerAttr>(value))
      return static_cast<double>(intAttr.getInt());
    return op->emitOpError("attribute '")
           << name << "' must be a number, got " << attr;
  }

  /// `min <= name <= kMaxSize`.
  LogicalResult atLeast(StringRef name, Attribute attr, int64_t min) {
    FailureOr<int64_t> value = getInt(name, attr);
    if (failed(value))
      return failure();
    if (*value < min)
      return emitRangeError(name, attr)
             << " must be >= " << min << ", got " << *value;
    if (*value > kMaxSize)
      return emitRangeError(name, attr)
             << " must be <= " << kMaxSize << " (2^40), got " << *value;
    return success();
  }

  /// Sizes and counts above this are certainly mistakes, and bounding them
  /// keeps index arithmetic such as (kb + 1) * B clear of overflow.
  static constexpr int64_t kMaxSize = int64_t(1) << 40;

  /// `0 < name <= 1`.
  LogicalResult unitInterval(StringRef name, Attribute attr) {
    FailureOr<double> value = getFloat(name, attr);
    if (failed(value))
      return failure();
    if (!(*value > 0.0 && *value <= 1.0))
      return emitRangeError(name, attr) << " must be in (0, 1], got " << *value;
    return success();
  }

  InFlightDiagnostic emitRangeError(StringRef name, Attribute attr) {
    InFlightDiagnostic diag = op->emitOpError("attribute '") << name << "'";
    if (auto param = dyn_cast<ParamAttr>(attr))
      diag << " (parameter '" << param.getName() << "')";
    return diag;
  }

private:
  Attribute resolved(Attribute attr) {
    if (auto param = dyn_cast<ParamAttr>(attr))
      return pattern.getParamDefault(param.getName());
    return attr;
  }

  LogicalResult checkReference(StringRef name, Attribute attr, bool wantInt) {
    auto param = dyn_cast_if_present<ParamAttr>(attr);
    if (!param)
      return success();
    Attribute value =
        pattern ? pattern.getParamDefault(param.getName()) : Attribute();
    if (!value)
      return op->emitOpError("attribute '")
             << name << "' refers to parameter '" << param.getName()
             << "', which the pattern does not declare";
    if (wantInt && !isa<IntegerAttr>(value))
      return op->emitOpError("attribute '")
             << name << "' needs an integer but parameter '" << param.getName()
             << "' defaults to " << value;
    return success();
  }

  Operation *op;
  PatternOp pattern;
};
} // namespace

//===----------------------------------------------------------------------===//
// PatternOp
//===----------------------------------------------------------------------===//

InputAttr PatternOp::lookupInput(StringRef name) {
  if (ArrayAttr inputs = getInputsAttr())
    for (Attribute attr : inputs)
      if (auto input = dyn_cast<InputAttr>(attr);
          input && input.getName() == name)
        return input;
  return nullptr;
}

/// Checks the run-time inputs' declarations: names unique and usable as
/// identifiers, dims "b", "h", "s" or a positive size.
static LogicalResult verifyInputs(PatternOp pattern) {
  ArrayAttr inputs = pattern.getInputsAttr();
  if (!inputs)
    return success();
  llvm::StringSet<> seen;
  for (Attribute attr : inputs) {
    auto input = cast<InputAttr>(attr);
    StringRef name = input.getName();
    if (name.empty() || !(llvm::isAlpha(name[0]) || name[0] == '_') ||
        !llvm::all_of(name,
                      [](char c) { return llvm::isAlnum(c) || c == '_'; }))
      return pattern.emitOpError("input name '")
             << name << "' must be an identifier";
    if (!seen.insert(name).second)
      return pattern.emitOpError("input '") << name << "' is declared twice";
    if (input.getDims().empty())
      return pattern.emitOpError("input '")
             << name << "' needs at least one dimension";
    for (Attribute dim : input.getDims()) {
      if (auto kind = dyn_cast<StringAttr>(dim);
          kind && llvm::is_contained({"b", "h", "s"}, kind.getValue()))
        continue;
      if (auto size = dyn_cast<IntegerAttr>(dim);
          size && size.getType().isSignlessInteger(64) && size.getInt() >= 1)
        continue;
      return pattern.emitOpError("dimension ")
             << dim << " of input '" << name
             << "' must be \"b\", \"h\", \"s\" or a size >= 1";
    }
  }
  return success();
}

LogicalResult PatternOp::verify() {
  for (NamedAttribute entry : getParams()) {
    Attribute value = entry.getValue();
    bool isI64 = isa<IntegerAttr>(value) &&
                 cast<IntegerAttr>(value).getType().isSignlessInteger(64);
    bool isF64 =
        isa<FloatAttr>(value) && cast<FloatAttr>(value).getType().isF64();
    if (!isI64 && !isF64)
      return emitOpError("parameter '")
             << entry.getName().getValue()
             << "' must default to a 64-bit integer or float (written "
                "without a type), got "
             << value;
  }
  if (failed(verifyInputs(*this)))
    return failure();
  ParamChecker check(*this);
  if (failed(check.atLeast("block", getBlock(), 1)))
    return failure();
  if (Attribute cap = getSoftcapAttr()) {
    FailureOr<double> value = check.getFloat("softcap", cap);
    if (failed(value))
      return failure();
    if (!(*value > 0.0) || !std::isfinite(*value))
      return check.emitRangeError("softcap", cap)
             << " must be a finite number > 0, got " << *value;
  }
  return success();
}

LogicalResult PatternOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != 0)
    return emitOpError("body must not take arguments");
  if (body.empty())
    return emitOpError("pattern @")
           << getSymName() << " has no primitive: every query would attend "
           << "to nothing";
  for (Operation &op : body) {
    if (!isa<SinkOp, WindowOp, StridesOp, ColumnsOp, DiagonalsOp, KeepOp,
             StripesOp, TreeSearchOp, TopkOp, PermuteOp>(op))
      return op.emitOpError("is not a pattern primitive; a pattern body "
                            "holds only sattn primitives");
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Static primitives
//===----------------------------------------------------------------------===//

LogicalResult SinkOp::verify() {
  return ParamChecker(*this).atLeast("tokens", getTokens(), 1);
}

LogicalResult WindowOp::verify() {
  ParamChecker check(*this);
  if (getUnit() == WindowUnit::fraction)
    return check.unitInterval("size", getSize());
  return check.atLeast("size", getSize(), 1);
}

LogicalResult StridesOp::verify() {
  switch (getKind()) {
  case StrideKind::pow2:
    if (getEvery() || getDistances())
      return emitOpError("'pow2' strides take no distance");
    return success();
  case StrideKind::every:
    if (!getEvery())
      return emitOpError("'every' strides need a distance");
    return ParamChecker(*this).atLeast("every", *getEvery(), 1);
  case StrideKind::list: {
    std::optional<ArrayRef<int64_t>> distances = getDistances();
    if (!distances || distances->empty())
      return emitOpError("stride list must not be empty");
    llvm::SmallSet<int64_t, 8> seen;
    for (int64_t d : *distances) {
      if (d < 0)
        return emitOpError("stride distance must be >= 0, got ") << d;
      if (!seen.insert(d).second)
        return emitOpError("duplicate stride distance ") << d;
    }
    return success();
  }
  }
  return success();
}

/// Lists of block indices: no duplicates, and no negatives when `allowNegative`
/// is false.
static LogicalResult verifyBlockList(Operation *op, StringRef what,
                                     ArrayRef<int64_t> values,
                                     bool allowNegative) {
  if (values.empty())
    return op->emitOpError(what) << " list must not be empty";
  llvm::SmallSet<int64_t, 8> seen;
  for (int64_t value : values) {
    if (!allowNegative && value < 0)
      return op->emitOpError(what) << " must be >= 0, got " << value;
    if (!seen.insert(value).second)
      return op->emitOpError("duplicate ") << what << " " << value;
  }
  return success();
}

LogicalResult ColumnsOp::verify() {
  return verifyBlockList(*this, "column", getBlocks(), /*allowNegative=*/false);
}

LogicalResult DiagonalsOp::verify() {
  // Negative diagonals keep future blocks, which non-causal patterns may use.
  return verifyBlockList(*this, "diagonal", getOffsets(),
                         /*allowNegative=*/true);
}

//===----------------------------------------------------------------------===//
// keep
//===----------------------------------------------------------------------===//

static constexpr unsigned kNumKeepArgs = 8;
static constexpr unsigned kKeepQbArg = 2, kKeepKbArg = 3, kKeepHArg = 4;
/// Bounds the work and recursion depth of the tools that evaluate predicates.
static constexpr size_t kMaxKeepOps = 4096;

LogicalResult KeepOp::verify() { return success(); }

LogicalResult KeepOp::verifyRegions() {
  Block &body = getPredicate().front();
  static constexpr const char *kArgNames[kNumKeepArgs] = {"q", "k", "qb", "kb",
                                                          "h", "B", "Sq", "Sk"};
  if (body.getNumArguments() != kNumKeepArgs)
    return emitOpError("predicate must take 8 i64 arguments "
                       "(q, k, qb, kb, h, B, Sq, Sk), got ")
           << body.getNumArguments();
  for (auto [index, type] : llvm::enumerate(body.getArgumentTypes()))
    if (!type.isSignlessInteger(64))
      return emitOpError("predicate argument ")
             << index << " (" << kArgNames[index] << ") must be i64, got "
             << type;
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("predicate must end with sattn.yield");
  Type yielded = yield.getValue().getType();
  if (!yielded.isSignlessInteger(1))
    return yield.emitOpError("keep predicate must yield i1, got ") << yielded;
  if (body.getOperations().size() > kMaxKeepOps)
    return emitOpError("predicate has ")
           << body.getOperations().size() << " ops; at most " << kMaxKeepOps
           << " are supported";
  for (Operation &op : body) {
    if (!isa<YieldOp, IsPow2Op, ParamOp, ReadInputOp, BatchIndexOp>(op) &&
        !isa<arith::ArithDialect>(op.getDialect()))
      return op.emitOpError("is not allowed in a keep predicate; use arith "
                            "integer ops, sattn.is_pow2, sattn.param, "
                            "sattn.batch_index or sattn.read_input");
    // Truth values take part only in logic; arithmetic on i1 wraps modulo 2,
    // which the predicate semantics (integers, docs/patterns.md) do not have.
    bool readsI1 = llvm::any_of(op.getOperandTypes(), [](Type type) {
      return type.isSignlessInteger(1);
    });
    bool logic = isa<arith::AndIOp, arith::OrIOp, arith::XOrIOp,
                     arith::SelectOp, arith::ExtUIOp, YieldOp>(op);
    if (auto cmp = dyn_cast<arith::CmpIOp>(op))
      logic = cmp.getPredicate() == arith::CmpIPredicate::eq ||
              cmp.getPredicate() == arith::CmpIPredicate::ne;
    if (readsI1 && !logic)
      return op.emitOpError("cannot take i1 operands in a keep predicate; "
                            "truth values combine with andi, ori, xori, "
                            "select, cmpi eq/ne, or extui to i64");
    for (Type type : op.getResultTypes())
      if (!type.isSignlessInteger(64) && !type.isSignlessInteger(1))
        return op.emitOpError("keep predicates compute on i64 and i1 only, "
                              "got ")
               << type;
  }
  return success();
}

bool KeepOp::isBlockLevel() {
  Block &body = getPredicate().front();
  for (auto [index, arg] : llvm::enumerate(body.getArguments()))
    if (index != kKeepQbArg && index != kKeepKbArg && index != kKeepHArg &&
        !arg.use_empty())
      return false;
  // The batch and run-time inputs vary per element or per batch entry, and
  // block-level tables are per head only.
  return llvm::none_of(
      body, [](Operation &op) { return isa<ReadInputOp, BatchIndexOp>(op); });
}

LogicalResult ReadInputOp::verify() {
  auto pattern = (*this)->getParentOfType<PatternOp>();
  if (!pattern)
    return emitOpError("must be inside a pattern's keep predicate");
  InputAttr input = pattern.lookupInput(getName());
  if (!input)
    return emitOpError("reads input '")
           << getName() << "', which pattern @" << pattern.getSymName()
           << " does not declare";
  if (getIndices().size() != input.getDims().size())
    return emitOpError("input '")
           << getName() << "' has " << input.getDims().size()
           << " dimensions, read with " << getIndices().size() << " indices";
  for (Attribute index : getIndices()) {
    StringRef name = cast<StringAttr>(index).getValue();
    if (!llvm::is_contained({"b", "h", "q", "k"}, name))
      return emitOpError("index '")
             << name << "' of input '" << getName() << "' must be b, h, q or k";
  }
  return success();
}

LogicalResult ParamOp::verify() {
  auto pattern = (*this)->getParentOfType<PatternOp>();
  if (!pattern || !(*this)->getParentOfType<KeepOp>())
    return emitOpError("must be inside a keep predicate");
  Attribute value = pattern.getParamDefault(getName());
  if (!value)
    return emitOpError("refers to parameter '")
           << getName() << "', which pattern @" << pattern.getSymName()
           << " does not declare";
  if (!isa<IntegerAttr>(value))
    return emitOpError("parameter '")
           << getName() << "' must be an integer in a predicate, got " << value;
  return success();
}

//===----------------------------------------------------------------------===//
// Dynamic primitives
//===----------------------------------------------------------------------===//

LogicalResult StripesOp::verify() {
  ParamChecker check(*this);
  return failure(failed(check.atLeast("segments", getSegments(), 1)) ||
                 failed(check.atLeast("rows", getRows(), 1)) ||
                 failed(check.unitInterval("cover", getCover())) ||
                 failed(check.unitInterval("window_frac", getWindowFrac())));
}

LogicalResult TreeSearchOp::verify() {
  ParamChecker check(*this);
  if (failed(check.atLeast("block_q", getBlockQ(), 1)) ||
      failed(check.atLeast("block_k", getBlockK(), 1)) ||
      failed(check.atLeast("q_stride", getQStride(), 1)) ||
      failed(check.atLeast("sink", getSink(), 0)) ||
      failed(check.atLeast("window", getWindow(), 0)))
    return failure();
  int64_t blockK = *check.getInt("block_k", getBlockK());
  FailureOr<int64_t> k = check.getInt("k", getK());
  if (failed(k))
    return failure();
  if (*k < blockK)
    return check.emitRangeError("k", getK())
           << " (budget in tokens) must be at least one key block of " << blockK
           << " tokens, got " << *k;
  if (*k % blockK != 0)
    return check.emitRangeError("k", getK())
           << " (budget in tokens) must be a multiple of block_k = " << blockK
           << ", got " << *k;
  return success();
}

LogicalResult TopkOp::verify() {
  ParamChecker check(*this);
  if (!getK() == !getCover())
    return emitOpError("needs exactly one budget: 'k = N' or 'cover = F'");
  if (getK())
    return check.atLeast("k", *getK(), 1);
  return check.unitInterval("cover", *getCover());
}

LogicalResult PermuteOp::verify() {
  ParamChecker check(*this);
  if (failed(check.atLeast("segment", getSegment(), 1)) ||
      failed(check.atLeast("probe", getProbe(), 1)) ||
      failed(check.atLeast("block", getBlock(), 1)) ||
      failed(check.unitInterval("cover", getCover())))
    return failure();
  int64_t segment = *check.getInt("segment", getSegment());
  int64_t block = *check.getInt("block", getBlock());
  if (segment % block != 0)
    return check.emitRangeError("block", getBlock())
           << " = " << block << " must divide segment = " << segment;
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

/// Dimension sizes agree unless one of them is dynamic.
static bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// A dimension as written in a tensor type: "?" when dynamic.
static std::string dimString(int64_t dim) {
  return ShapedType::isDynamic(dim) ? "?" : std::to_string(dim);
}

LogicalResult AttentionOp::verify() {
  auto qType = cast<RankedTensorType>(getQ().getType());
  auto kType = cast<RankedTensorType>(getK().getType());
  auto vType = cast<RankedTensorType>(getV().getType());
  auto outType = cast<RankedTensorType>(getOut().getType());
  auto lseType = cast<RankedTensorType>(getLse().getType());
  for (auto [name, type] : {std::pair<StringRef, RankedTensorType>{"q", qType},
                            {"k", kType},
                            {"v", vType},
                            {"out", outType}})
    if (type.getRank() != 4)
      return emitOpError() << name << " must have shape [B, H, S, D], got "
                           << type;
  Type element = qType.getElementType();
  if (!element.isF16() && !element.isBF16() && !element.isF32())
    return emitOpError("element type must be f16, bf16 or f32, got ")
           << element;
  if (kType.getElementType() != element || vType.getElementType() != element)
    return emitOpError("q, k and v must share one element type, got ")
           << element << ", " << kType.getElementType() << " and "
           << vType.getElementType();
  if (outType != qType)
    return emitOpError("out must have q's type ")
           << qType << ", got " << outType;
  ArrayRef<int64_t> q = qType.getShape(), k = kType.getShape(),
                    v = vType.getShape();
  for (auto [name, type] : {std::pair<StringRef, RankedTensorType>{"q", qType},
                            {"k", kType},
                            {"v", vType}})
    if (type.isDynamicDim(1) || type.isDynamicDim(3))
      return emitOpError("heads and head dim of ")
             << name << " must be static, got " << type;
  if (q[1] < 1)
    return emitOpError("query heads must be >= 1, got ") << q[1];
  if (k[1] < 1)
    return emitOpError("key/value heads must be >= 1, got ") << k[1];
  if (!compatible(q[0], k[0]) || !compatible(k[0], v[0]) ||
      !compatible(q[0], v[0]))
    return emitOpError("batch sizes differ: q ")
           << dimString(q[0]) << ", k " << dimString(k[0]) << ", v "
           << dimString(v[0]);
  if (k[1] != v[1] || !compatible(k[2], v[2]))
    return emitOpError("k and v must have the same shape, got ")
           << kType << " and " << vType;
  if (q[1] % k[1] != 0)
    return emitOpError("query heads (")
           << q[1] << ") must be a multiple of key/value heads (" << k[1]
           << ")";
  if (q[3] != k[3] || k[3] != v[3])
    return emitOpError("head dims differ: q ")
           << q[3] << ", k " << k[3] << ", v " << v[3];
  if (!llvm::is_contained(kSupportedHeadDims, q[3]))
    return emitOpError("head dim must be ")
           << supportedHeadDims() << ", got " << q[3];
  SmallVector<int64_t> lseShape{q[0], q[1], q[2]};
  if (lseType.getRank() != 3 || !lseType.getElementType().isF32() ||
      !llvm::all_of(llvm::zip(lseType.getShape(), lseShape), [](auto dims) {
        return std::get<0>(dims) == std::get<1>(dims);
      }))
    return emitOpError("lse must be f32 of shape [B, Hq, Sq] = ")
           << RankedTensorType::get(lseShape, Float32Type::get(getContext()))
           << ", got " << lseType;
  if (getScale() && !(getScale()->convertToDouble() > 0.0))
    return emitOpError("scale must be positive, got ")
           << getScale()->convertToDouble();
  if (Value scores = getKeyScores()) {
    auto type = cast<RankedTensorType>(scores.getType());
    if (type.getRank() != 3 || !type.getElementType().isF32() ||
        !compatible(type.getDimSize(0), k[0]) || type.getDimSize(1) != k[1] ||
        !compatible(type.getDimSize(2), k[2]))
      return emitOpError("key_scores must be f32 of shape [B, Hkv, Sk], got ")
             << type;
  }
  if (Value weights = getWeights()) {
    auto type = cast<RankedTensorType>(weights.getType());
    if (type.getRank() != 2 || !type.getElementType().isF32() ||
        type.getDimSize(0) != k[1] || type.getDimSize(1) != k[3])
      return emitOpError("weights must be f32 of shape [Hkv, D], got ") << type;
  }
  return success();
}

LogicalResult
AttentionOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  Operation *symbol =
      symbolTable.lookupNearestSymbolFrom(*this, getPatternAttr());
  if (!symbol)
    return emitOpError("unknown pattern @") << getPattern();
  auto pattern = dyn_cast<PatternOp>(symbol);
  if (!pattern)
    return emitOpError("@") << getPattern() << " is a '" << symbol->getName()
                            << "', not a sattn.pattern";
  bool readsKeyScores = false, readsWeights = false;
  pattern.getBody().walk([&](TopkOp topk) {
    readsKeyScores |= topk.getSource() == ScoreSource::key_score;
    readsWeights |= topk.getSource() == ScoreSource::linear;
  });
  if (readsKeyScores != bool(getKeyScores()))
    return emitOpError("pattern @")
           << getPattern()
           << (readsKeyScores ? " reads key_scores but none are given"
                              : " does not read key_scores but they are given");
  if (readsWeights != bool(getWeights()))
    return emitOpError("pattern @")
           << getPattern()
           << (readsWeights ? " reads linear weights but none are given"
                            : " does not read weights but they are given");
  return success();
}

//===----------------------------------------------------------------------===//
// KernelOp
//===----------------------------------------------------------------------===//

std::string AttentionOp::supportedHeadDims() {
  ArrayRef<int64_t> dims(kSupportedHeadDims);
  std::string text;
  llvm::raw_string_ostream os(text);
  const size_t n = dims.size();
  for (size_t i = 0; i < n; ++i)
    os << (i == 0 ? "" : i + 1 == n ? " or " : ", ") << dims[i];
  return text;
}

LogicalResult KernelOp::verify() {
  if (getHeads() < 1)
    return emitOpError("heads must be >= 1, got ") << getHeads();
  if (getKvHeads() < 1 || getHeads() % getKvHeads() != 0)
    return emitOpError("kv_heads must be >= 1 and divide heads ")
           << getHeads() << ", got " << getKvHeads();
  if (!llvm::is_contained(AttentionOp::kSupportedHeadDims, getHeadDim()))
    return emitOpError("head_dim must be ")
           << AttentionOp::supportedHeadDims() << ", got " << getHeadDim();
  Type element = getElementType();
  if (!element.isF16() && !element.isBF16() && !element.isF32())
    return emitOpError("element_type must be f16, bf16 or f32, got ")
           << element;
  if (FloatAttr scaleAttr = getScaleAttr()) {
    double scale = scaleAttr.getValueAsDouble();
    if (!(scale > 0) || !std::isfinite(scale))
      return emitOpError("scale must be a positive finite number, got ")
             << scale;
  }
  return success();
}

LogicalResult KernelOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  Operation *symbol =
      symbolTable.lookupNearestSymbolFrom(*this, getPatternAttr());
  if (!symbol)
    return emitOpError("unknown pattern @") << getPattern();
  auto pattern = dyn_cast<PatternOp>(symbol);
  if (!pattern)
    return emitOpError("@") << getPattern() << " is a '" << symbol->getName()
                            << "', not a sattn.pattern";
  if (ScheduleAttr schedule = getScheduleAttr()) {
    int64_t primitives = llvm::range_size(pattern.getBody().front());
    for (int64_t source : schedule.getSources())
      if (source >= primitives)
        return emitOpError("schedule names primitive ")
               << source << ", but the pattern has " << primitives;
  }
  return success();
}
