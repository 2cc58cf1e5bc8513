//===- PatternParams.cpp - Binding pattern parameters to values -----------===//

#include "dialect/SattnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::sattn;

FailureOr<std::pair<std::string, std::string>>
sattn::parseOverride(StringRef text, std::string &error) {
  auto [name, value] = text.split('=');
  name = name.trim();
  value = value.trim();
  if (!text.contains('=') || name.empty() || value.empty()) {
    error = ("expected NAME=VALUE, got '" + text + "'").str();
    return failure();
  }
  return std::make_pair(name.str(), value.str());
}

/// The declared parameter closest to `name`, for "did you mean" hints.
static StringRef closestParam(DictionaryAttr params, StringRef name) {
  StringRef best;
  unsigned bestDistance = 3; // farther than this is no hint
  for (NamedAttribute entry : params) {
    unsigned distance = name.edit_distance(entry.getName().getValue());
    if (distance < bestDistance) {
      best = entry.getName().getValue();
      bestDistance = distance;
    }
  }
  return best;
}

/// The bound parameter values: defaults with the overrides applied.
static FailureOr<DictionaryAttr> bindParams(PatternOp pattern,
                                            const ParamOverrides &overrides) {
  Builder builder(pattern.getContext());
  NamedAttrList bound(pattern.getParams());
  for (const auto &[name, text] : overrides) {
    Attribute declared = pattern.getParamDefault(name);
    if (!declared) {
      InFlightDiagnostic diag = pattern.emitError("pattern @")
                                << pattern.getSymName() << " has no parameter '"
                                << name << "'";
      if (StringRef hint = closestParam(pattern.getParams(), name);
          !hint.empty())
        diag << "; did you mean '" << hint << "'?";
      else if (pattern.getParams().empty())
        diag << "; it has no parameters";
      else {
        diag << "; its parameters are: ";
        llvm::interleaveComma(
            pattern.getParams(), diag,
            [&](NamedAttribute entry) { diag << entry.getName().getValue(); });
      }
      return failure();
    }
    StringRef valueText = text;
    if (isa<IntegerAttr>(declared)) {
      int64_t value;
      if (valueText.getAsInteger(10, value)) {
        bool digits = !valueText.empty() &&
                      llvm::all_of(valueText.drop_front(valueText[0] == '-'),
                                   llvm::isDigit);
        return pattern.emitError("parameter '")
               << name << "' of pattern @" << pattern.getSymName()
               << (digits
                       ? " needs a 64-bit integer; '" + text + "' does not fit"
                       : " needs an integer, got '" + text + "'");
      }
      bound.set(name, builder.getI64IntegerAttr(value));
    } else {
      double value;
      if (valueText.getAsDouble(value))
        return pattern.emitError("parameter '")
               << name << "' of pattern @" << pattern.getSymName()
               << " needs a number, got '" << text << "'";
      bound.set(name, builder.getF64FloatAttr(value));
    }
  }
  return bound.getDictionary(pattern.getContext());
}

FailureOr<PatternOp> sattn::specializePattern(PatternOp pattern,
                                              const ParamOverrides &overrides) {
  FailureOr<DictionaryAttr> bound = bindParams(pattern, overrides);
  if (failed(bound))
    return failure();

  OpBuilder builder(pattern);
  builder.setInsertionPointAfter(pattern);
  auto clone = cast<PatternOp>(builder.clone(*pattern));
  clone.setParamsAttr(*bound);
  // Verify while the references are still in place, so that a value out of
  // range is reported with the parameter that carried it.
  if (failed(mlir::verify(clone))) {
    clone.erase();
    return failure();
  }

  // Replace references in attributes (the pattern's and its primitives').
  auto bindAttrs = [&](Operation *op) {
    for (NamedAttribute attr : op->getAttrs())
      if (auto param = dyn_cast<ParamAttr>(attr.getValue()))
        op->setAttr(attr.getName(), bound->get(param.getName()));
  };
  bindAttrs(clone);
  SmallVector<ParamOp> paramOps;
  clone.getBody().walk([&](Operation *op) {
    bindAttrs(op);
    if (auto paramOp = dyn_cast<ParamOp>(op))
      paramOps.push_back(paramOp);
  });
  // Parameters read in predicates become constants.
  for (ParamOp paramOp : paramOps) {
    Attribute value = bound->get(paramOp.getName());
    auto intValue = dyn_cast_if_present<IntegerAttr>(value);
    if (!intValue)
      continue; // the verifier below reports it
    builder.setInsertionPoint(paramOp);
    Value constant =
        arith::ConstantOp::create(builder, paramOp.getLoc(), intValue);
    paramOp.replaceAllUsesWith(constant);
    paramOp.erase();
  }

  if (failed(mlir::verify(clone))) {
    clone.erase();
    return failure();
  }
  return clone;
}
