//===- SattnDialect.td - The sattn dialect, enums and attributes ---------===//
//
// The dialect that declares sparse attention patterns. Semantics of every
// primitive: docs/patterns.md.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_DIALECT_TD
#define SATTN_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Sattn_Dialect : Dialect {
  let name = "sattn";
  let cppNamespace = "::mlir::sattn";
  let summary = "Declarative sparse attention patterns and the attention op.";
  let description = [{
    A `sattn.pattern` names a set of keep-primitives (sinks, windows, strides,
    stripes, tree search, top-k, permutation, predicates). A query attends to
    the union of the keys its primitives keep, intersected with the causal set
    when the pattern is causal. `sattn.attention` applies a pattern to q, k
    and v. The token-level meaning of every primitive is docs/patterns.md.
  }];
  let useDefaultAttributePrinterParser = 1;
  // `keep` predicates are written with arith ops.
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Sattn_WindowUnit : I32EnumAttr<"WindowUnit", "unit of a window size", [
    I32EnumAttrCase<"tokens", 0>,
    I32EnumAttrCase<"blocks", 1>,
    I32EnumAttrCase<"fraction", 2>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::sattn";
}
def Sattn_WindowUnitAttr : EnumAttr<Sattn_Dialect, Sattn_WindowUnit, "window_unit"> {
  let assemblyFormat = "$value";
}

def Sattn_StrideKind : I32EnumAttr<"StrideKind", "how block strides are given", [
    I32EnumAttrCase<"pow2", 0>,
    I32EnumAttrCase<"every", 1>,
    I32EnumAttrCase<"list", 2>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::sattn";
}
def Sattn_StrideKindAttr : EnumAttr<Sattn_Dialect, Sattn_StrideKind, "stride_kind"> {
  let assemblyFormat = "$value";
}

def Sattn_Granularity : I32EnumAttr<"Granularity", "selection granularity", [
    I32EnumAttrCase<"tokens", 0>,
    I32EnumAttrCase<"blocks", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::sattn";
}
def Sattn_GranularityAttr : EnumAttr<Sattn_Dialect, Sattn_Granularity, "granularity"> {
  let assemblyFormat = "$value";
}

def Sattn_ScoreSource : I32EnumAttr<"ScoreSource", "score used by top-k", [
    I32EnumAttrCase<"key_score", 0>,
    I32EnumAttrCase<"linear", 1>,
    I32EnumAttrCase<"pooled_qk", 2>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::sattn";
}
def Sattn_ScoreSourceAttr : EnumAttr<Sattn_Dialect, Sattn_ScoreSource, "score_source"> {
  let assemblyFormat = "$value";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Sattn_ParamAttr : AttrDef<Sattn_Dialect, "Param"> {
  let mnemonic = "param";
  let summary = "A reference to a named parameter of the enclosing pattern.";
  let description = [{
    Stands for the value of a pattern parameter wherever a primitive takes an
    integer or float. Callers bind parameters with `--set NAME=VALUE` (or the
    `sattn-specialize` pass); unbound ones take the default declared on the
    `sattn.pattern`.

    Example:

    ```mlir
    sattn.pattern @streaming(sink = 64, window = 1024) block = 128 causal {
      sattn.sink #sattn.param<"sink">
      sattn.window #sattn.param<"window"> tokens
    }
    ```
  }];
  let parameters = (ins StringRefParameter<"parameter name">:$name);
  let assemblyFormat = "`<` $name `>`";
}

def Sattn_IntParam : AnyAttrOf<[I64Attr, Sattn_ParamAttr],
    "64-bit integer or #sattn.param reference">;
def Sattn_FloatParam : AnyAttrOf<[F64Attr, Sattn_ParamAttr],
    "64-bit float or #sattn.param reference">;
def Sattn_NumberParam : AnyAttrOf<[I64Attr, F64Attr, Sattn_ParamAttr],
    "64-bit integer, 64-bit float or #sattn.param reference">;

#endif // SATTN_DIALECT_TD
