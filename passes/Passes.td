//===- Passes.td - sattn passes ------------------------------------------===//

#ifndef SATTN_PASSES_TD
#define SATTN_PASSES_TD

include "mlir/Pass/PassBase.td"

def SattnSpecialize : Pass<"sattn-specialize", "::mlir::ModuleOp"> {
  let summary = "Bind pattern parameters to values";
  let description = [{
    Replaces every `#sattn.param` reference and `sattn.param` op of the chosen
    patterns by its value: an override given with `set`, else the default the
    pattern declares. The pattern's parameter list then records the bound
    values. Overrides that name an unknown parameter, or give a value of the
    wrong kind, are errors at the pattern's location; values out of range are
    reported by the primitive's verifier at the primitive's location.

    Example: `sattn-opt --sattn-specialize="pattern=power set=window=3"`.
  }];
  let options = [
    Option<"patternName", "pattern", "std::string", /*default=*/"\"\"",
           "Pattern to specialise (default: every pattern in the module)">,
    ListOption<"overrides", "set", "std::string",
               "Parameter overrides NAME=VALUE">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

#endif // SATTN_PASSES_TD
