//===- PatternLoader.cpp - Pattern files to specialised patterns ----------===//

#include "patterns/PatternLoader.h"

#include "patterns/dsl/Frontend.h"

#include "sattn/ReadFile.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

using llvm::ArrayRef;
using llvm::cast;
using llvm::createStringError;
using llvm::dyn_cast;
using llvm::dyn_cast_if_present;
using llvm::Expected;
using llvm::isa;
using llvm::SmallVector;
using llvm::StringRef;
using llvm::Twine;
using mlir::ArrayAttr;
using mlir::Attribute;
using mlir::BlockArgument;
using mlir::DialectRegistry;
using mlir::FailureOr;
using mlir::FloatAttr;
using mlir::IntegerAttr;
using mlir::MLIRContext;
using mlir::ModuleOp;
using mlir::Operation;
using mlir::OwningOpRef;
using mlir::ParserConfig;
using mlir::PassManager;
using mlir::StringAttr;
using mlir::Value;
namespace ir = mlir::sattn;
namespace arith = mlir::arith;

namespace sattn {

void registerPatternDialects(DialectRegistry &registry) {
  registry.insert<ir::SattnDialect, arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::tensor::TensorDialect>();
}

Expected<OwningOpRef<ModuleOp>> loadPatternSource(StringRef source,
                                                  StringRef bufferName,
                                                  MLIRContext &context) {
  DialectRegistry registry;
  registerPatternDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  // The pattern language of docs/dsl.md; anything else is MLIR.
  if (bufferName.ends_with(".sattn"))
    return dsl::parseSattnSource(source, bufferName, context);
  ParserConfig config(&context);
  OwningOpRef<ModuleOp> module;
  {
    auto sourceMgr = std::make_shared<llvm::SourceMgr>();
    sourceMgr->AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(source, bufferName),
        llvm::SMLoc());
    module = mlir::parseSourceFile<ModuleOp>(sourceMgr, config);
  }
  if (!module)
    return createStringError("cannot parse pattern file '" + bufferName + "'");
  return std::move(module);
}

Expected<OwningOpRef<ModuleOp>> loadPatternFile(StringRef path,
                                                MLIRContext &context) {
  // Regular files of at most kMaxPatternFileBytes: a FIFO or /dev/zero
  // given as a pattern blocked or grew memory without end (issue 21 D6).
  llvm::SmallString<0> bytes;
  if (llvm::Error e = ::sattn::readRegularFile(path, kMaxPatternFileBytes,
                                               bytes)) {
    std::string why = llvm::toString(std::move(e));
    return createStringError("cannot read pattern file '" + path +
                             "': " + why);
  }
  return loadPatternSource(bytes.str(), path, context);
}

Expected<ir::PatternOp> findPattern(ModuleOp module, StringRef name) {
  SmallVector<ir::PatternOp> patterns(module.getOps<ir::PatternOp>());
  std::string names;
  for (ir::PatternOp pattern : patterns) {
    if (!names.empty())
      names += ", ";
    names += pattern.getSymName().str();
    if (pattern.getSymName() == name)
      return pattern;
  }
  if (patterns.empty())
    return createStringError("the file holds no sattn.pattern");
  if (name.empty()) {
    if (patterns.size() == 1)
      return patterns.front();
    return createStringError("the file holds several patterns (" + names +
                             "); choose one with --pattern");
  }
  return createStringError("no pattern named '" + name +
                           "'; the file holds: " + names);
}

Expected<ir::PatternOp> bindPattern(ir::PatternOp pattern,
                                    const ir::ParamOverrides &overrides) {
  FailureOr<ir::PatternOp> bound = ir::specializePattern(pattern, overrides);
  if (mlir::failed(bound))
    return createStringError("cannot bind the parameters of pattern '" +
                             pattern.getSymName() + "'");
  PassManager pm(pattern.getContext(), ir::PatternOp::getOperationName());
  pm.addPass(mlir::createCanonicalizerPass());
  if (mlir::failed(pm.run(*bound)))
    return createStringError("cannot canonicalize pattern '" +
                             pattern.getSymName() + "'");
  return *bound;
}

//===----------------------------------------------------------------------===//
// Import
//===----------------------------------------------------------------------===//

namespace {
/// Converts one bound pattern. Errors name the op and its location.
class Importer {
public:
  explicit Importer(ir::PatternOp pattern) : pattern(pattern) {}

  Expected<PatternSpec> run();

private:
  llvm::Error error(Operation *op, const Twine &message) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << op->getLoc() << ": '" << op->getName() << "' " << message;
    return createStringError(text);
  }
  Expected<int64_t> intValue(Operation *op, StringRef name, Attribute attr) {
    if (auto intAttr = dyn_cast_if_present<IntegerAttr>(attr))
      return intAttr.getInt();
    return error(op, "attribute '" + name + "' is not bound to an integer");
  }
  Expected<double> floatValue(Operation *op, StringRef name, Attribute attr) {
    if (auto floatAttr = dyn_cast_if_present<FloatAttr>(attr))
      return floatAttr.getValueAsDouble();
    if (auto intAttr = dyn_cast_if_present<IntegerAttr>(attr))
      return static_cast<double>(intAttr.getInt());
    return error(op, "attribute '" + name + "' is not bound to a number");
  }
  Expected<Primitive> convert(Operation *op, int64_t block);
  Expected<KeepExprPtr> convertExpr(Value value,
                                    llvm::DenseMap<Value, KeepExprPtr> &memo);

  ir::PatternOp pattern;
};
} // namespace

/// Unwraps an Expected into `var`, returning its error from the caller.
#define SATTN_ASSIGN(var, expr)                                                \
  auto var##OrErr = (expr);                                                    \
  if (!var##OrErr)                                                             \
    return var##OrErr.takeError();                                             \
  auto var = *var##OrErr

Expected<PatternSpec> Importer::run() {
  PatternSpec spec;
  spec.name = pattern.getSymName().str();
  spec.causal = pattern.getCausal();
  SATTN_ASSIGN(block, intValue(pattern, "block", pattern.getBlock()));
  spec.block = block;
  if (Attribute cap = pattern.getSoftcapAttr()) {
    SATTN_ASSIGN(softcap, floatValue(pattern, "softcap", cap));
    spec.modifiers.softcap = softcap;
  }
  spec.modifiers.alibi = pattern.getAlibi();
  if (ArrayAttr inputs = pattern.getInputsAttr())
    for (Attribute attr : inputs) {
      auto input = cast<ir::InputAttr>(attr);
      IntInputDecl decl;
      decl.name = input.getName().str();
      for (Attribute dim : input.getDims()) {
        InputDim d;
        if (auto size = dyn_cast<IntegerAttr>(dim)) {
          d.size = size.getInt();
        } else {
          StringRef kind = cast<StringAttr>(dim).getValue();
          d.kind = kind == "b"   ? InputDim::Batch
                   : kind == "h" ? InputDim::Heads
                                 : InputDim::Tokens;
        }
        decl.dims.push_back(d);
      }
      spec.inputs.push_back(std::move(decl));
    }
  for (Operation &op : pattern.getBody().front()) {
    SATTN_ASSIGN(primitive, convert(&op, block));
    spec.primitives.push_back(std::move(primitive));
  }
  return spec;
}

Expected<Primitive> Importer::convert(Operation *op, int64_t block) {
  if (auto sink = dyn_cast<ir::SinkOp>(op)) {
    SATTN_ASSIGN(tokens, intValue(op, "tokens", sink.getTokens()));
    return SinkPrim{tokens};
  }
  if (auto window = dyn_cast<ir::WindowOp>(op)) {
    WindowPrim prim;
    switch (window.getUnit()) {
    case ir::WindowUnit::tokens:
    case ir::WindowUnit::blocks: {
      prim.unit = window.getUnit() == ir::WindowUnit::tokens
                      ? WindowUnit::Tokens
                      : WindowUnit::Blocks;
      SATTN_ASSIGN(size, intValue(op, "size", window.getSize()));
      prim.size = size;
      break;
    }
    case ir::WindowUnit::fraction: {
      prim.unit = WindowUnit::Fraction;
      SATTN_ASSIGN(fraction, floatValue(op, "size", window.getSize()));
      prim.fraction = fraction;
      break;
    }
    }
    return prim;
  }
  if (auto strides = dyn_cast<ir::StridesOp>(op)) {
    StridesPrim prim;
    switch (strides.getKind()) {
    case ir::StrideKind::pow2:
      prim.kind = StrideKind::Pow2;
      break;
    case ir::StrideKind::every: {
      prim.kind = StrideKind::Every;
      SATTN_ASSIGN(every, intValue(op, "every", strides.getEveryAttr()));
      prim.every = every;
      break;
    }
    case ir::StrideKind::list:
      prim.kind = StrideKind::List;
      if (std::optional<ArrayRef<int64_t>> list = strides.getDistances())
        prim.list.assign(list->begin(), list->end());
      break;
    }
    return prim;
  }
  if (auto columns = dyn_cast<ir::ColumnsOp>(op))
    return ColumnsPrim{std::vector<int64_t>(columns.getBlocks().begin(),
                                            columns.getBlocks().end())};
  if (auto diagonals = dyn_cast<ir::DiagonalsOp>(op))
    return DiagonalsPrim{std::vector<int64_t>(diagonals.getOffsets().begin(),
                                              diagonals.getOffsets().end())};
  if (auto keep = dyn_cast<ir::KeepOp>(op)) {
    llvm::DenseMap<Value, KeepExprPtr> memo;
    auto yield = cast<ir::YieldOp>(keep.getPredicate().front().getTerminator());
    SATTN_ASSIGN(expr, convertExpr(yield.getValue(), memo));
    return KeepPrim{expr, keep.isBlockLevel()};
  }
  if (auto stripes = dyn_cast<ir::StripesOp>(op)) {
    StripesPrim prim;
    prim.block = block;
    SATTN_ASSIGN(segments, intValue(op, "segments", stripes.getSegments()));
    SATTN_ASSIGN(rows, intValue(op, "rows", stripes.getRows()));
    SATTN_ASSIGN(cover, floatValue(op, "cover", stripes.getCover()));
    SATTN_ASSIGN(fraction,
                 floatValue(op, "window_frac", stripes.getWindowFrac()));
    prim.segments = segments;
    prim.rows = rows;
    prim.alpha = cover;
    prim.windowFraction = fraction;
    return prim;
  }
  if (auto tree = dyn_cast<ir::TreeSearchOp>(op)) {
    TreeSearchPrim prim;
    SATTN_ASSIGN(blockQ, intValue(op, "block_q", tree.getBlockQ()));
    SATTN_ASSIGN(blockK, intValue(op, "block_k", tree.getBlockK()));
    SATTN_ASSIGN(k, intValue(op, "k", tree.getK()));
    SATTN_ASSIGN(stride, intValue(op, "q_stride", tree.getQStride()));
    SATTN_ASSIGN(sink, intValue(op, "sink", tree.getSink()));
    SATTN_ASSIGN(window, intValue(op, "window", tree.getWindow()));
    prim.blockQ = blockQ;
    prim.blockK = blockK;
    prim.budget = k;
    prim.queryStride = stride;
    prim.sink = sink;
    prim.window = window;
    return prim;
  }
  if (auto topk = dyn_cast<ir::TopkOp>(op)) {
    TopkPrim prim;
    prim.block = block;
    prim.granularity = topk.getGranularity() == ir::Granularity::tokens
                           ? TopkGranularity::Token
                           : TopkGranularity::Block;
    switch (topk.getSource()) {
    case ir::ScoreSource::key_score:
      prim.source = ScoreSource::KeyScore;
      break;
    case ir::ScoreSource::linear:
      prim.source = ScoreSource::Linear;
      break;
    case ir::ScoreSource::pooled_qk:
      prim.source = ScoreSource::PooledQK;
      break;
    }
    if (Attribute k = topk.getKAttr()) {
      SATTN_ASSIGN(count, intValue(op, "k", k));
      prim.k = count;
    } else {
      prim.byCover = true;
      SATTN_ASSIGN(cover, floatValue(op, "cover", topk.getCoverAttr()));
      prim.alpha = cover;
    }
    return prim;
  }
  if (auto permute = dyn_cast<ir::PermuteOp>(op)) {
    PermutePrim prim;
    SATTN_ASSIGN(segment, intValue(op, "segment", permute.getSegment()));
    SATTN_ASSIGN(probe, intValue(op, "probe", permute.getProbe()));
    SATTN_ASSIGN(permBlock, intValue(op, "block", permute.getBlock()));
    SATTN_ASSIGN(cover, floatValue(op, "cover", permute.getCover()));
    prim.segment = segment;
    prim.probe = probe;
    prim.block = permBlock;
    prim.alpha = cover;
    return prim;
  }
  return error(op, "is not a pattern primitive");
}

static KeepExprPtr makeExpr(KeepOp op, std::vector<KeepExprPtr> operands) {
  auto expr = std::make_shared<KeepExpr>();
  expr->op = op;
  expr->operands = std::move(operands);
  return expr;
}

Expected<KeepExprPtr>
Importer::convertExpr(Value value, llvm::DenseMap<Value, KeepExprPtr> &memo) {
  if (KeepExprPtr known = memo.lookup(value))
    return known;
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    static constexpr KeepVar kVars[] = {KeepVar::Q,  KeepVar::K, KeepVar::QB,
                                        KeepVar::KB, KeepVar::H, KeepVar::B,
                                        KeepVar::Sq, KeepVar::Sk};
    auto expr = std::make_shared<KeepExpr>();
    expr->op = KeepOp::Var;
    expr->var = kVars[arg.getArgNumber()];
    return memo[value] = expr;
  }
  Operation *op = value.getDefiningOp();
  std::vector<KeepExprPtr> operands;
  for (Value operand : op->getOperands()) {
    SATTN_ASSIGN(converted, convertExpr(operand, memo));
    operands.push_back(converted);
  }
  auto binary = [&](sattn::KeepOp kind) -> Expected<KeepExprPtr> {
    return makeExpr(kind, operands);
  };
  Expected<KeepExprPtr> result =
      llvm::TypeSwitch<Operation *, Expected<KeepExprPtr>>(op)
          .Case([&](arith::ConstantOp constant) -> Expected<KeepExprPtr> {
            auto attr = dyn_cast<IntegerAttr>(constant.getValue());
            if (!attr)
              return error(op, "must be an integer constant");
            auto expr = std::make_shared<KeepExpr>();
            expr->op = KeepOp::Const;
            // i1 true is 1, not -1.
            expr->value =
                attr.getType().isInteger(1)
                    ? static_cast<int64_t>(attr.getValue().getBoolValue())
                    : attr.getInt();
            return KeepExprPtr(expr);
          })
          .Case([&](arith::AddIOp) { return binary(KeepOp::Add); })
          .Case([&](arith::SubIOp) { return binary(KeepOp::Sub); })
          .Case([&](arith::MulIOp) { return binary(KeepOp::Mul); })
          .Case([&](arith::FloorDivSIOp) { return binary(KeepOp::Div); })
          .Case([&](arith::DivSIOp) { return binary(KeepOp::DivTrunc); })
          .Case([&](arith::RemSIOp) { return binary(KeepOp::RemTrunc); })
          .Case([&](arith::MinSIOp) { return binary(KeepOp::Min); })
          .Case([&](arith::MaxSIOp) { return binary(KeepOp::Max); })
          .Case([&](arith::ShLIOp) { return binary(KeepOp::Shl); })
          .Case([&](arith::ShRSIOp) { return binary(KeepOp::Shr); })
          .Case([&](arith::AndIOp) { return binary(KeepOp::And); })
          .Case([&](arith::OrIOp) { return binary(KeepOp::Or); })
          .Case([&](arith::XOrIOp) { return binary(KeepOp::Xor); })
          .Case([&](arith::SelectOp) { return binary(KeepOp::Select); })
          .Case([&](arith::ExtUIOp) -> Expected<KeepExprPtr> {
            // i1 -> i64 keeps 0 and 1.
            return operands.front();
          })
          .Case([&](ir::IsPow2Op) { return binary(KeepOp::IsPow2); })
          .Case([&](ir::BatchIndexOp) -> Expected<KeepExprPtr> {
            auto expr = std::make_shared<KeepExpr>();
            expr->op = KeepOp::Var;
            expr->var = KeepVar::Batch;
            return KeepExprPtr(expr);
          })
          .Case([&](ir::ReadInputOp read) -> Expected<KeepExprPtr> {
            auto expr = std::make_shared<KeepExpr>();
            expr->op = KeepOp::Input;
            ArrayAttr inputs = pattern.getInputsAttr();
            auto found = llvm::find_if(inputs, [&](Attribute attr) {
              return cast<ir::InputAttr>(attr).getName() == read.getName();
            });
            if (found == inputs.end())
              return error(op, "reads an undeclared input");
            expr->value = found - inputs.begin();
            for (Attribute index : read.getIndices()) {
              StringRef name = cast<StringAttr>(index).getValue();
              expr->indices.push_back(name == "b"   ? KeepVar::Batch
                                      : name == "h" ? KeepVar::H
                                      : name == "q" ? KeepVar::Q
                                                    : KeepVar::K);
            }
            return KeepExprPtr(expr);
          })
          .Case([&](arith::CmpIOp cmp) -> Expected<KeepExprPtr> {
            switch (cmp.getPredicate()) {
            case arith::CmpIPredicate::eq:
              return binary(KeepOp::Eq);
            case arith::CmpIPredicate::ne:
              return binary(KeepOp::Ne);
            case arith::CmpIPredicate::slt:
              return binary(KeepOp::Lt);
            case arith::CmpIPredicate::sle:
              return binary(KeepOp::Le);
            case arith::CmpIPredicate::sgt:
              return binary(KeepOp::Gt);
            case arith::CmpIPredicate::sge:
              return binary(KeepOp::Ge);
            default:
              return error(op, "unsigned comparisons are not supported in "
                               "keep predicates; positions are signed");
            }
          })
          .Default([&](Operation *) -> Expected<KeepExprPtr> {
            return error(op, "is not supported in keep predicates");
          });
  if (!result)
    return result.takeError();
  return memo[value] = *result;
}

Expected<PatternSpec> importPattern(ir::PatternOp bound) {
  return Importer(bound).run();
}

} // namespace sattn

//===----------------------------------------------------------------------===//
// Loading and binding a requested pattern
//===----------------------------------------------------------------------===//

namespace {
/// "file:line:col: " for a file location, "" otherwise.
static std::string locationPrefix(mlir::Location loc) {
  if (auto fileLoc = llvm::dyn_cast<mlir::FileLineColLoc>(loc))
    return (fileLoc.getFilename().getValue() + ":" +
            llvm::Twine(fileLoc.getLine()) + ":" +
            llvm::Twine(fileLoc.getColumn()) + ": ")
        .str();
  return "";
}

/// Runs `load` and turns the error diagnostics it emits into the returned
/// error. For `.mlir` files that is the first one, with its location: later
/// ones are consequences of it. The pattern language recovers from errors,
/// so for `.sattn` files it is every one, a line each, then the front-end's
/// count.
static llvm::Error withDiagnostics(StringRef file,
                             mlir::MLIRContext &context,
                             llvm::function_ref<llvm::Error()> load) {
  bool allErrors = file.ends_with(".sattn");
  std::vector<std::string> errors;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() == mlir::DiagnosticSeverity::Error &&
        (allErrors || errors.empty()))
      errors.push_back(locationPrefix(diag.getLocation()) + diag.str());
    return mlir::success();
  });
  llvm::Error error = load();
  if (!error || errors.empty())
    return error;
  if (allErrors && errors.size() > 1)
    errors.push_back(llvm::toString(std::move(error)));
  else
    llvm::consumeError(std::move(error));
  return createStringError(llvm::join(errors, "\n"));
}


Expected<OwningOpRef<ModuleOp>> loadRequested(const sattn::PatternRequest &r,
                                              MLIRContext &context) {
  if (!r.file.empty())
    return sattn::loadPatternFile(r.file, context);
  return sattn::loadPatternSource(r.text, r.textName, context);
}

StringRef requestName(const sattn::PatternRequest &r) {
  return r.file.empty() ? StringRef(r.textName) : StringRef(r.file);
}
} // namespace

llvm::Error sattn::loadParsedPattern(const PatternRequest &request,
                                     MLIRContext &context,
                                     OwningOpRef<ModuleOp> &out) {
  return withDiagnostics(requestName(request), context, [&]() -> llvm::Error {
    auto module = loadRequested(request, context);
    if (!module)
      return module.takeError();
    out = std::move(*module);
    return llvm::Error::success();
  });
}

llvm::Error sattn::loadBoundPattern(const PatternRequest &request,
                                    MLIRContext &context, BoundPattern &out) {
  StringRef name = requestName(request);
  return withDiagnostics(name, context, [&]() -> llvm::Error {
    auto module = loadRequested(request, context);
    if (!module)
      return module.takeError();
    out.module = std::move(*module);
    auto pattern = findPattern(*out.module, request.pattern);
    if (!pattern)
      return createStringError(name + ": " +
                               llvm::toString(pattern.takeError()));
    mlir::sattn::ParamOverrides overrides;
    for (const std::string &text : request.overrides) {
      std::string message;
      auto parsed = mlir::sattn::parseOverride(text, message);
      if (mlir::failed(parsed))
        return createStringError("--set: " + message);
      overrides.push_back(*parsed);
    }
    auto bound = bindPattern(*pattern, overrides);
    if (!bound)
      return bound.takeError();
    out.bound = *bound;
    auto spec = importPattern(*bound);
    if (!spec)
      return spec.takeError();
    out.spec = std::move(*spec);
    return llvm::Error::success();
  });
}
