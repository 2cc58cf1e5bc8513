//===- SattnOps.td - sattn pattern primitives and attention --------------===//
//
// One op per primitive of docs/patterns.md, the pattern container that holds
// them, the helpers of `keep` predicates, and `sattn.attention`.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_OPS_TD
#define SATTN_OPS_TD

include "dialect/SattnDialect.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

class Sattn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Sattn_Dialect, mnemonic, traits>;

/// A keep-primitive: lives directly in a `sattn.pattern` body.
class Sattn_PrimitiveOp<string mnemonic, list<Trait> traits = []>
    : Sattn_Op<mnemonic, !listconcat(traits, [HasParent<"PatternOp">])> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Pattern container
//===----------------------------------------------------------------------===//

def Sattn_PatternOp : Sattn_Op<"pattern", [Symbol, NoTerminator, SingleBlock,
    IsolatedFromAbove, RegionKindInterface]> {
  let summary = "A named sparse attention pattern.";
  let description = [{
    Holds the pattern's keep-primitives. A query i attends to
    A(i) = C(i) ∩ (K1(i) ∪ K2(i) ∪ ...): the union of the keys each primitive
    keeps, intersected with the causal set C(i) = {j <= p(i)} when `causal` is
    set (bottom-right aligned: p(i) = i + Sk - Sq). `block` is the block size B
    used by qb/kb in block-level primitives.

    Score modifiers (docs/patterns.md, "Score modifiers") change the scaled
    score s of every kept key before the softmax, never which keys are kept:
    `softcap = c` (c > 0) makes it c * tanh(s / c), then `alibi` subtracts
    m_h * (p(i) - j) with the ALiBi slope m_h of query head h.

    Parameters are declared with defaults in parentheses (integers or floats)
    and referenced from primitives as `#sattn.param<"name">`; callers may
    override them.

    Example (PowerAttention):

    ```mlir
    sattn.pattern @power(block = 256, window = 5, sink = 256)
        block = #sattn.param<"block"> causal {
      sattn.sink #sattn.param<"sink">
      sattn.window #sattn.param<"window"> blocks
      sattn.strides pow2
    }
    ```

    `inputs` declares run-time integer inputs (`#sattn.input`) that `keep`
    predicates read with `sattn.read_input`.

    Example (Gemma 2's local layers: a causal window with soft-capped
    scores):

    ```mlir
    sattn.pattern @gemma2_local(cap = 50.0) block = 128 causal
        softcap = #sattn.param<"cap"> {
      sattn.window 4096 tokens
    }
    ```

    Example (FlexAttention's document mask over a run-time document id per
    token):

    ```mlir
    sattn.pattern @document() block = 128 causal
        inputs = [#sattn.input<"doc", ["b", "s"]>] {
      sattn.keep {
      ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
        %dq = sattn.read_input "doc" ["b", "q"]
        %dk = sattn.read_input "doc" ["b", "k"]
        %same = arith.cmpi eq, %dq, %dk : i64
        sattn.yield %same : i1
      }
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, DictionaryAttr:$params,
                       Sattn_IntParam:$block, UnitAttr:$causal,
                       OptionalAttr<Sattn_NumberParam>:$softcap,
                       UnitAttr:$alibi,
                       OptionalAttr<Sattn_InputArrayAttr>:$inputs);
  let regions = (region SizedRegion<1>:$body);
  let builders = [
    // A pattern without score modifiers.
    OpBuilder<(ins "::llvm::StringRef":$sym_name,
                   "::mlir::DictionaryAttr":$params,
                   "::mlir::Attribute":$block, "bool":$causal), [{
      build($_builder, $_state, sym_name, params, block, causal,
            /*softcap=*/::mlir::Attribute(), /*alibi=*/false,
            /*inputs=*/::mlir::ArrayAttr());
    }]>
  ];
  let assemblyFormat = [{
    $sym_name `` custom<ParamList>($params) `block` `=` custom<IntParam>($block)
    (`causal` $causal^)? (`softcap` `=` custom<NumberParam>($softcap)^)?
    (`alibi` $alibi^)? (`inputs` `=` $inputs^)? attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    static ::mlir::RegionKind getRegionKind(unsigned) {
      return ::mlir::RegionKind::Graph;
    }
    /// The integer value of `attr`: a literal, or the default of the parameter
    /// it names. Empty when `attr` is neither or names an unknown parameter.
    std::optional<int64_t> resolveInt(::mlir::Attribute attr);
    /// As resolveInt, for floats (integer literals and defaults are widened).
    std::optional<double> resolveFloat(::mlir::Attribute attr);
    /// The default of a declared parameter, or null.
    ::mlir::Attribute getParamDefault(::llvm::StringRef name);
    /// The block size B when it is known (literal or parameter default).
    std::optional<int64_t> getBlockSize() { return resolveInt(getBlock()); }
    /// The soft cap c when the pattern has one and it is known.
    std::optional<double> getSoftcapValue() {
      if (::mlir::Attribute cap = getSoftcapAttr())
        return resolveFloat(cap);
      return std::nullopt;
    }
    /// Whether the pattern modifies scores (softcap or alibi).
    bool hasScoreModifiers() { return getSoftcapAttr() || getAlibi(); }
    /// The declared run-time input named `name`, or null.
    ::mlir::sattn::InputAttr lookupInput(::llvm::StringRef name);
  }];
}

//===----------------------------------------------------------------------===//
// Static primitives
//===----------------------------------------------------------------------===//

def Sattn_SinkOp : Sattn_PrimitiveOp<"sink"> {
  let summary = "Keep the first `tokens` keys (attention sinks).";
  let description = [{
    Keeps keys j < n for every query. PowerAttention's sink is one block.

    Example:

    ```mlir
    sattn.sink 256
    ```
  }];
  let arguments = (ins Sattn_IntParam:$tokens);
  let assemblyFormat = "custom<IntParam>($tokens) attr-dict";
  let hasCanonicalizer = 1;
}

def Sattn_WindowOp : Sattn_PrimitiveOp<"window"> {
  let summary = "Keep a sliding window of recent keys.";
  let description = [{
    - `tokens`: keys with p(i) - w < j <= p(i).
    - `blocks`: key blocks with 0 <= qb(i) - kb(j) < W (the diagonal block
      counts).
    - `fraction`: a token window of max(B, round(f * Sk)) tokens, so the
      window follows the key length at run time.

    Example:

    ```mlir
    sattn.window 1024 tokens
    sattn.window 5 blocks
    sattn.window 0.05 fraction
    ```
  }];
  let arguments = (ins Sattn_NumberParam:$size, Sattn_WindowUnitAttr:$unit);
  let assemblyFormat = "custom<NumberParam>($size) custom<WindowUnit>($unit) attr-dict";
  let hasCanonicalizer = 1;
}

def Sattn_StridesOp : Sattn_PrimitiveOp<"strides"> {
  let summary = "Keep key blocks at chosen block distances.";
  let description = [{
    With d = qb(i) - kb(j): `pow2` keeps d >= 1 a power of two (no cap),
    `every s` keeps d >= 1 with d mod s == 0, and a list keeps d in the list.

    Example:

    ```mlir
    sattn.strides pow2
    sattn.strides every 4
    sattn.strides [1, 3, 9]
    ```
  }];
  let arguments = (ins Sattn_StrideKindAttr:$kind,
                       OptionalAttr<Sattn_IntParam>:$every,
                       OptionalAttr<DenseI64ArrayAttr>:$distances);
  let assemblyFormat = "custom<Strides>($kind, $every, $distances) attr-dict";
  let hasCanonicalizer = 1;
}

def Sattn_ColumnsOp : Sattn_PrimitiveOp<"columns"> {
  let summary = "Keep whole key blocks (vertical stripes).";
  let description = [{
    Keeps every key j with kb(j) in the list, for every query.

    Example:

    ```mlir
    sattn.columns [0, 7]
    ```
  }];
  let arguments = (ins DenseI64ArrayAttr:$blocks);
  let assemblyFormat = "$blocks attr-dict";
  let hasCanonicalizer = 1;
}

def Sattn_DiagonalsOp : Sattn_PrimitiveOp<"diagonals"> {
  let summary = "Keep block diagonals (slashes).";
  let description = [{
    Keeps key j when qb(i) - kb(j) is in the list.

    Example:

    ```mlir
    sattn.diagonals [0, 16]
    ```
  }];
  let arguments = (ins DenseI64ArrayAttr:$offsets);
  let assemblyFormat = "$offsets attr-dict";
  let hasCanonicalizer = 1;
}

// Isolated from above: a predicate reads only its arguments and parameters,
// and folding keeps its constants inside it rather than in the pattern body.
def Sattn_KeepOp : Sattn_PrimitiveOp<"keep", [SingleBlock,
    IsolatedFromAbove]> {
  let summary = "Keep the keys a user predicate accepts.";
  let description = [{
    The region receives eight i64 values — q = p(i), k = j, qb, kb, h, B, Sq,
    Sk — and yields an i1. It is built from `arith` integer ops,
    `sattn.is_pow2`, `sattn.param`, `sattn.batch_index` and
    `sattn.read_input`. A predicate that reads only qb, kb, h and constants
    is block level; otherwise it is evaluated per element in the blocks it
    partially keeps.

    Example (a document mask of 512-token documents):

    ```mlir
    sattn.keep {
    ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
      %c512 = arith.constant 512 : i64
      %dq = arith.floordivsi %q, %c512 : i64
      %dk = arith.floordivsi %k, %c512 : i64
      %same = arith.cmpi eq, %dq, %dk : i64
      sattn.yield %same : i1
    }
    ```
  }];
  let regions = (region SizedRegion<1>:$predicate);
  let assemblyFormat = "attr-dict-with-keyword $predicate";
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// True when the predicate reads only qb, kb and h.
    bool isBlockLevel();
  }];
}

def Sattn_YieldOp : Sattn_Op<"yield", [Pure, Terminator,
    HasParent<"KeepOp">]> {
  let summary = "Yields the truth value of a `keep` predicate.";
  let description = [{
    Example:

    ```mlir
    sattn.yield %cond : i1
    ```
  }];
  let arguments = (ins AnyType:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

def Sattn_IsPow2Op : Sattn_Op<"is_pow2", [Pure, HasParent<"KeepOp">]> {
  let summary = "True when an integer is a positive power of two.";
  let description = [{
    Example:

    ```mlir
    %p = sattn.is_pow2 %d
    ```
  }];
  let arguments = (ins I64:$value);
  let results = (outs I1:$result);
  let assemblyFormat = "$value attr-dict";
}

def Sattn_ReadInputOp : Sattn_Op<"read_input", [Pure,
    HasParent<"KeepOp">]> {
  let summary = "Reads an element of a run-time integer input.";
  let description = [{
    Reads the int32 element of the pattern's run-time input `name` (declared
    in the pattern's `inputs`) at the given indices, one per dimension, each
    the batch index `"b"`, the query head `"h"`, the query position `"q"`
    (= p(i)) or the key `"k"`, and yields it as an i64. The call checks that
    every index stays inside the input's shape, so the read never leaves it.
    A predicate with a read is element level.

    Example:

    ```mlir
    %doc = sattn.read_input "doc" ["b", "k"]
    ```
  }];
  let arguments = (ins StrAttr:$name, StrArrayAttr:$indices);
  let results = (outs I64:$result);
  let assemblyFormat = "$name $indices attr-dict";
  let hasVerifier = 1;
}

def Sattn_BatchIndexOp : Sattn_Op<"batch_index", [Pure,
    HasParent<"KeepOp">]> {
  let summary = "The batch index b inside a predicate.";
  let description = [{
    The index of the batch entry the predicate is evaluated for. A predicate
    that reads it is element level.

    Example:

    ```mlir
    %b = sattn.batch_index
    ```
  }];
  let results = (outs I64:$result);
  let assemblyFormat = "attr-dict";
}

def Sattn_ParamOp : Sattn_Op<"param", [Pure]> {
  let summary = "Reads an integer pattern parameter inside a predicate.";
  let description = [{
    Example:

    ```mlir
    %w = sattn.param "width"
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs I64:$result);
  let assemblyFormat = "$name attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Dynamic primitives
//===----------------------------------------------------------------------===//

def Sattn_StripesOp : Sattn_PrimitiveOp<"stripes"> {
  let summary = "SampleAttention: sampled column and diagonal stripes.";
  let description = [{
    Samples the last `rows` queries of each of `segments` query segments,
    scores key-block columns and block diagonals by their exact softmax mass,
    keeps the smallest prefix of each whose cumulative score reaches `cover`,
    and adds a window of max(B, round(window_frac * Sk)) tokens. B is the
    pattern's block size.

    Example:

    ```mlir
    sattn.stripes segments = 8, rows = 64, cover = 0.95, window_frac = 0.05
    ```
  }];
  let arguments = (ins Sattn_IntParam:$segments, Sattn_IntParam:$rows,
                       Sattn_FloatParam:$cover, Sattn_FloatParam:$window_frac);
  let assemblyFormat = [{
    `segments` `=` custom<IntParam>($segments) `,`
    `rows` `=` custom<IntParam>($rows) `,`
    `cover` `=` custom<FloatParam>($cover) `,`
    `window_frac` `=` custom<FloatParam>($window_frac) attr-dict
  }];
}

def Sattn_TreeSearchOp : Sattn_PrimitiveOp<"tree_search"> {
  let summary = "HiP: hierarchical top-k key-block search per query block.";
  let description = [{
    For each query block of `block_q` rows, splits the searchable key blocks
    (`block_k` tokens each) into K = k / block_k branches and halves them
    until single blocks remain, keeping the K best by the max score of the
    branch's centre block over every `q_stride`-th row. Adds `sink` and
    `window` tokens.

    Example:

    ```mlir
    sattn.tree_search block_q = 64, block_k = 2, k = 512, q_stride = 2, sink = 16, window = 256
    ```
  }];
  let arguments = (ins Sattn_IntParam:$block_q, Sattn_IntParam:$block_k,
                       Sattn_IntParam:$k, Sattn_IntParam:$q_stride,
                       Sattn_IntParam:$sink, Sattn_IntParam:$window);
  let assemblyFormat = [{
    `block_q` `=` custom<IntParam>($block_q) `,`
    `block_k` `=` custom<IntParam>($block_k) `,`
    `k` `=` custom<IntParam>($k) `,`
    `q_stride` `=` custom<IntParam>($q_stride) `,`
    `sink` `=` custom<IntParam>($sink) `,`
    `window` `=` custom<IntParam>($window) attr-dict
  }];
}

def Sattn_TopkOp : Sattn_PrimitiveOp<"topk"> {
  let summary = "Keep the best-scoring candidate keys or key blocks.";
  let description = [{
    Keeps the `k` best candidates, or the smallest prefix whose cumulative
    score reaches `cover`, at token or block granularity. Candidates are the
    causal keys that no static primitive of the pattern keeps. Score sources:
    `key_score` (a per-key score given at run time), `linear` (dot of each key
    with a run-time weight vector per KV head) and `pooled_qk` (mean-pooled q
    and k blocks, softmax over the candidates).

    Example (SparseK):

    ```mlir
    sattn.topk k = 2048 tokens by key_score
    sattn.topk cover = 0.9 blocks by pooled_qk
    ```
  }];
  let arguments = (ins OptionalAttr<Sattn_IntParam>:$k,
                       OptionalAttr<Sattn_FloatParam>:$cover,
                       Sattn_GranularityAttr:$granularity,
                       Sattn_ScoreSourceAttr:$source);
  let assemblyFormat = [{
    custom<Budget>($k, $cover) custom<Granularity>($granularity) `by`
    custom<ScoreSource>($source) attr-dict
  }];
}

def Sattn_PermuteOp : Sattn_PrimitiveOp<"permute"> {
  let summary = "PBS-Attn: permuted block-sparse attention.";
  let description = [{
    Sorts keys by importance within each `segment`, scores `block`-sized
    blocks of the permuted keys of earlier segments with pooled q·k, keeps the
    cover prefix, and always keeps the query's own segment and the block that
    holds key 0. `probe` is the number of last query rows that measure
    importance.

    Example:

    ```mlir
    sattn.permute segment = 256, probe = 128, block = 128, cover = 0.9
    ```
  }];
  let arguments = (ins Sattn_IntParam:$segment, Sattn_IntParam:$probe,
                       Sattn_IntParam:$block, Sattn_FloatParam:$cover);
  let assemblyFormat = [{
    `segment` `=` custom<IntParam>($segment) `,`
    `probe` `=` custom<IntParam>($probe) `,`
    `block` `=` custom<IntParam>($block) `,`
    `cover` `=` custom<FloatParam>($cover) attr-dict
  }];
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Sattn_AttentionElement : AnyTypeOf<[F16, BF16, F32]>;

def Sattn_AttentionOp : Sattn_Op<"attention", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>, AttrSizedOperandSegments]> {
  let summary = "Sparse attention of q over k and v under a named pattern.";
  let description = [{
    q: [B, Hq, Sq, D], k and v: [B, Hkv, Sk, D] with Hkv dividing Hq (GQA),
    all f16, bf16 or f32. Results: out [B, Hq, Sq, D] of q's type and lse
    [B, Hq, Sq] in f32 (natural log). Batch and sequence lengths may be
    dynamic; heads and the head dim are static. Sq != Sk aligns the causal
    diagonal bottom-right. `scale` defaults to 1/sqrt(D). Patterns whose top-k
    reads `key_score` take `key_scores` [B, Hkv, Sk] f32; `linear` takes
    `weights` [Hkv, D] f32.

    Example:

    ```mlir
    %out, %lse = sattn.attention @power(%q, %k, %v)
        : (tensor<1x32x?x128xbf16>, tensor<1x8x?x128xbf16>,
           tensor<1x8x?x128xbf16>) -> (tensor<1x32x?x128xbf16>, tensor<1x32x?xf32>)
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$pattern,
                       AnyRankedTensor:$q, AnyRankedTensor:$k,
                       AnyRankedTensor:$v,
                       Optional<AnyRankedTensor>:$key_scores,
                       Optional<AnyRankedTensor>:$weights,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs AnyRankedTensor:$out, AnyRankedTensor:$lse);
  let assemblyFormat = [{
    $pattern `(` $q `,` $k `,` $v `)`
    (`key_scores` `(` $key_scores^ `:` type($key_scores) `)`)?
    (`weights` `(` $weights^ `:` type($weights) `)`)?
    attr-dict `:` `(` type($q) `,` type($k) `,` type($v) `)`
    `->` `(` type($out) `,` type($lse) `)`
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Head dims the CPU backend compiles for.
    static constexpr int64_t kSupportedHeadDims[] = {32, 64,  80, 96,
                                                     128, 192, 256};
    /// "32, 64, ... or 256", for messages.
    static std::string supportedHeadDims();
  }];
}


def Sattn_KernelOp : Sattn_Op<"kernel", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "A request to compile attention under a bound pattern.";
  let description = [{
    Names a bound pattern (every parameter specialised) and the static part
    of an attention call: query heads, kv heads, head dim, element type of
    q/k/v/out, optional scale (default 1/sqrt(head_dim)) and the code
    generator (`#sattn.target<cpu>` or `<gpu>`). Batch and sequence lengths
    stay run-time values. With `aligned_kv` the kernel may assume that every
    call's K and V rows start at 16-byte aligned addresses (the runtime
    checks it before launching such a kernel), so the GPU copies them with
    16-byte copies only instead of also compiling an element-wise fallback.
    The lowering passes turn it into kernel functions:
    `sattn-build-schedule` attaches the `#sattn.schedule`,
    `sattn-lower-selection` emits the selection stages and
    `sattn-tile-attention` the attention tile program, then erases the
    request (docs/lowering.md).

    Example:

    ```mlir
    sattn.kernel @power {heads = 32, kv_heads = 8, head_dim = 128,
                         element_type = bf16, target = #sattn.target<gpu>}
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$pattern, I64Attr:$heads,
                       I64Attr:$kv_heads, I64Attr:$head_dim,
                       TypeAttr:$element_type, OptionalAttr<F64Attr>:$scale,
                       Sattn_KernelTargetAttr:$target,
                       OptionalAttr<Sattn_ScheduleAttr>:$schedule,
                       UnitAttr:$aligned_kv);
  let assemblyFormat = "$pattern attr-dict";
  let hasVerifier = 1;
}

#endif // SATTN_OPS_TD
