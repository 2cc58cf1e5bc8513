// RUN: sattn-opt %s -split-input-file -verify-diagnostics

// Errors of the custom parsers (dialect/SattnOps.cpp and the assembly formats
// of dialect/SattnOps.td). Verifier errors are in invalid.mlir.

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{expected '[' in 'pow2', 'every N' or a list [d, ...]}}
  sattn.strides foo
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{custom op 'sattn.strides' expected integer value}}
  sattn.strides [1, x]
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{custom op 'sattn.strides' expected integer value}}
  sattn.strides [1.5]
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{expected attribute value}}
  sattn.strides every
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{expected '['}}
  sattn.columns 3
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{custom op 'sattn.topk' expected a budget: 'k = N' or 'cover = F'}}
  sattn.topk tokens by key_score
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{expected a budget: 'k = N' or 'cover = F'}}
  sattn.topk budget = 3 tokens by key_score
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{custom op 'sattn.topk' expected 'by'}}
  sattn.topk k = 4 tokens key_score
}

// -----

// Enum keywords: one error at the keyword, listing the choices.
sattn.pattern @p() block = 4 {
  // expected-error @+1 {{expected a window unit: tokens, blocks or fraction; got 'lines'}}
  sattn.window 5 lines
}

// -----

// A missing unit is noticed at the next token, here the closing brace.
sattn.pattern @p() block = 4 {
  sattn.window 5
// expected-error @+1 {{expected a window unit: tokens, blocks or fraction}}
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{expected a score source: key_score, linear or pooled_qk; got 'magic'}}
  sattn.topk k = 4 tokens by magic
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{expected a granularity: tokens or blocks; got 'rows'}}
  sattn.topk k = 4 rows by key_score
}

// -----

// Both budgets cannot be spelled: after `k = N` comes the granularity.
sattn.pattern @p() block = 4 {
  // expected-error @+1 {{expected a granularity: tokens or blocks; got 'cover'}}
  sattn.topk k = 4 cover = 0.5 tokens by key_score
}

// -----

// expected-error @+1 {{custom op 'sattn.pattern' duplicate parameter 'x'}}
sattn.pattern @p(x = 1, x = 2) block = 4 {
  sattn.sink 1
}

// -----

// expected-error @+1 {{expected '='}}
sattn.pattern @p(x) block = 4 {
  sattn.sink 1
}

// -----

// expected-error @+1 {{custom op 'sattn.pattern' expected 'block'}}
sattn.pattern @p() {
  sattn.sink 1
}

// -----

// The parameter list is required, even when empty.
// expected-error @+1 {{expected '('}}
sattn.pattern @p block = 4 {
  sattn.sink 1
}

// -----

// expected-error @+1 {{expected '{' to begin a region}}
sattn.pattern @p() block = 4 causal causal {
  sattn.sink 1
}

// -----

sattn.pattern @p() block = 4 {
  sattn.sink 1
  // expected-error @+1 {{expected attribute value}}
  sattn.sink
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{expected ','}}
  sattn.stripes segments = 8, rows = 64, cover = 0.5
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{custom op 'sattn.tree_search' expected 'block_k'}}
  sattn.tree_search block_q = 64, k = 512, block_k = 2, q_stride = 2, sink = 16, window = 256
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{expected ','}}
  sattn.permute segment = 256, probe = 128, block = 128
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+2 {{expected string}}
  // expected-error @+1 {{failed to parse Sattn_ParamAttr parameter 'name'}}
  sattn.window #sattn.param<window> tokens
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{unknown attribute `parm` in dialect `sattn`}}
  sattn.window #sattn.parm<"w"> tokens
}

// -----

// A missing pattern symbol.
func.func @f(%q: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{expected non-function type}}
  %o, %l = sattn.attention (%q, %q, %q) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

func.func @f(%q: tensor<1x8x128x64xf16>, %s: tensor<1x8x128xf32>) {
  // The optional operands come in a fixed order: key_scores, then weights.
  // expected-error @+1 {{expected ':'}}
  %o, %l = sattn.attention @p(%q, %q, %q) weights(%s : tensor<1x8x128xf32>) key_scores(%s : tensor<1x8x128xf32>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}
