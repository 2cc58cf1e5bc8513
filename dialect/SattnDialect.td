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

def Sattn_KernelTarget : I32EnumAttr<"KernelTarget",
    "what a kernel is compiled for", [
    I32EnumAttrCase<"cpu", 0>,
    I32EnumAttrCase<"gpu", 1>]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::sattn";
}
def Sattn_KernelTargetAttr : EnumAttr<Sattn_Dialect, Sattn_KernelTarget, "target"> {
  let summary = "The code generator of a kernel request: cpu or gpu.";
  let description = [{
    `cpu` builds host code for the ORC JIT, `gpu` NVIDIA kernels (the chip is
    chosen when the kernel is compiled to PTX).

    Example: `#sattn.target<gpu>`.
  }];
  let assemblyFormat = "`<` custom<KernelTarget>($value) `>`";
}

def Sattn_GridKind : I32EnumAttr<"GridKind",
    "the work items a selection stage is launched over", [
    I32EnumAttrCase<"heads", 0>,
    I32EnumAttrCase<"query_blocks", 1>]> {
  let cppNamespace = "::mlir::sattn";
}

def Sattn_BlockOrigin : I32EnumAttr<"BlockOrigin",
    "what query tiles and blocks are aligned to", [
    I32EnumAttrCase<"absolute", 0>,
    I32EnumAttrCase<"local", 1>]> {
  let cppNamespace = "::mlir::sattn";
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

def Sattn_InputAttr : AttrDef<Sattn_Dialect, "Input"> {
  let mnemonic = "input";
  let summary = "A run-time integer input that `keep` predicates read.";
  let description = [{
    Declares an int32 tensor given at each call by name (docs/patterns.md,
    "Run-time integer inputs in predicates"). Each dimension is `"b"` (the
    batch), `"h"` (the query heads), `"s"` (the key tokens Sk) or a fixed
    size. Predicates read it with `sattn.read_input`, indexed by b, h, q or
    k.

    Example (a document id per batch entry and token):

    ```mlir
    #sattn.input<"doc", ["b", "s"]>
    ```
  }];
  let parameters = (ins StringRefParameter<"input name">:$name,
                        "::mlir::ArrayAttr":$dims);
  let assemblyFormat = "`<` $name `,` $dims `>`";
}

def Sattn_InputArrayAttr : TypedArrayAttrBase<Sattn_InputAttr,
    "array of run-time integer inputs">;

def Sattn_IntParam : AnyAttrOf<[I64Attr, Sattn_ParamAttr],
    "64-bit integer or #sattn.param reference">;
def Sattn_FloatParam : AnyAttrOf<[F64Attr, Sattn_ParamAttr],
    "64-bit float or #sattn.param reference">;
def Sattn_NumberParam : AnyAttrOf<[I64Attr, F64Attr, Sattn_ParamAttr],
    "64-bit integer, 64-bit float or #sattn.param reference">;

def Sattn_StageAttr : AttrDef<Sattn_Dialect, "Stage"> {
  let mnemonic = "stage";
  let summary = "A selection stage: a function that fills workspace lists.";
  let description = [{
    One selection stage of a kernel: the function that implements it, the
    pattern primitive (index in the pattern body) whose selection it
    computes, the grid of work items it is launched over, and the threads of
    a GPU block. A `query_blocks` grid has one work item per (batch, query
    head, query block of `query_block` rows), the blocks aligned on absolute
    positions p(i) or, with `blocks = local`, on local row indices i.
    `split` multiplies the grid: each of its work items is launched as
    `split` items (a primitive whose stage has more parallel work than one
    item per head or query block, e.g. one item per sampled row).

    Example:

    ```mlir
    #sattn.stage<"sattn_select_tree_search_0", primitive = 0,
                 grid = query_blocks, query_block = 64, blocks = local,
                 threads = 128>
    ```
  }];
  let parameters = (ins StringRefParameter<"function name">:$function,
                        "int64_t":$primitive,
                        EnumParameter<Sattn_GridKind>:$grid,
                        DefaultValuedParameter<"int64_t", "0">:$query_block,
                        DefaultValuedParameter<"::mlir::sattn::BlockOrigin",
                          "::mlir::sattn::BlockOrigin::absolute">:$blocks,
                        "int64_t":$threads,
                        DefaultValuedParameter<"int64_t", "1">:$split);
  let assemblyFormat = [{
    `<` $function `,` `primitive` `=` $primitive `,` `grid` `=` $grid `,`
    (`query_block` `=` $query_block^ `,`)? (`blocks` `=` $blocks^ `,`)?
    `threads` `=` $threads (`,` `split` `=` $split^)? `>`
  }];
  let genVerifyDecl = 1;
}

def Sattn_ScheduleAttr : AttrDef<Sattn_Dialect, "Schedule"> {
  let mnemonic = "schedule";
  let summary = "How a kernel request is computed, tile by tile.";
  let description = [{
    Attached to a `sattn.kernel` by `sattn-build-schedule`. Query tiles have
    `tile_q` rows, aligned on absolute positions p(i) (so that a tile stays
    in one query block) or, with `tiles = local`, on local row indices;
    keys are staged `chunk` at a time. `sources` lists the pattern's
    primitives (indices in the pattern body) in the order attention visits
    their keys: static primitives as closed-form walks, then the dynamic one
    through the lists its selection stage writes. `stages` run before
    attention, in order; `attention` names the attention function.

    Example:

    ```mlir
    sattn.kernel @sparsek {heads = 4, kv_heads = 1, head_dim = 64,
        element_type = f16, target = #sattn.target<cpu>,
        schedule = #sattn.schedule<tile_q = 64, chunk = 64, tiles = absolute,
            sources = [0, 1],
            stages = [#sattn.stage<"sattn_select_topk_tokens_1",
                                   primitive = 1, grid = heads, threads = 128>],
            attention = "sattn_attention">}
    ```
  }];
  let parameters = (ins "int64_t":$tile_q, "int64_t":$chunk,
                        EnumParameter<Sattn_BlockOrigin>:$tiles,
                        ArrayRefParameter<"int64_t">:$sources,
                        OptionalArrayRefParameter<"::mlir::sattn::StageAttr">:$stages,
                        StringRefParameter<"attention function">:$attention);
  let assemblyFormat = [{
    `<` `tile_q` `=` $tile_q `,` `chunk` `=` $chunk `,` `tiles` `=` $tiles `,`
    `sources` `=` `[` $sources `]` `,` (`stages` `=` `[` $stages^ `]` `,`)?
    `attention` `=` $attention `>`
  }];
  let genVerifyDecl = 1;
}

#endif // SATTN_DIALECT_TD
