// RUN: sattn-opt %s -split-input-file | sattn-opt -split-input-file | FileCheck %s
// RUN: sattn-opt %s -split-input-file --mlir-print-op-generic | sattn-opt -split-input-file | FileCheck %s

// Round trip of every sattn op in every syntactic form.

// CHECK-LABEL: sattn.pattern @no_params() block = 64 {
// CHECK-NEXT:    sattn.sink 4
// CHECK-NEXT:  }
sattn.pattern @no_params() block = 64 {
  sattn.sink 4
}

// -----

// CHECK-LABEL: sattn.pattern @causal_literal_block() block = 128 causal {
// CHECK-NEXT:    sattn.sink 1
// CHECK-NEXT:  }
sattn.pattern @causal_literal_block() block = 128 causal {
  sattn.sink 1
}

// -----

// Parameters print sorted by name; the block may be a parameter.
// CHECK-LABEL: sattn.pattern @param_block(alpha = 5.000000e-01, block = 256, sink = 16) block = #sattn.param<"block"> causal {
// CHECK-NEXT:    sattn.sink #sattn.param<"sink">
// CHECK-NEXT:  }
sattn.pattern @param_block(sink = 16, block = 256, alpha = 0.5)
    block = #sattn.param<"block"> causal {
  sattn.sink #sattn.param<"sink">
}

// -----

// Parameter names that are not bare identifiers are quoted.
// CHECK-LABEL: sattn.pattern @quoted_param("my param" = 8) block = 16 {
// CHECK-NEXT:    sattn.sink #sattn.param<"my param">
sattn.pattern @quoted_param("my param" = 8) block = 16 {
  sattn.sink #sattn.param<"my param">
}

// -----

// An attr-dict after the pattern header needs the `attributes` keyword.
// CHECK-LABEL: sattn.pattern @extra_attrs() block = 16 attributes {note = "x"} {
sattn.pattern @extra_attrs() block = 16 attributes {note = "x"} {
  sattn.sink 2
}

// -----

// CHECK-LABEL: sattn.pattern @windows(f = 2.500000e-01, w = 512) block = 64 causal {
// CHECK-NEXT:    sattn.window 1024 tokens
// CHECK-NEXT:    sattn.window 5 blocks
// CHECK-NEXT:    sattn.window 5.000000e-02 fraction
// CHECK-NEXT:    sattn.window 1.000000e+00 fraction
// CHECK-NEXT:    sattn.window #sattn.param<"w"> tokens
// CHECK-NEXT:    sattn.window #sattn.param<"w"> blocks
// CHECK-NEXT:    sattn.window #sattn.param<"f"> fraction
// CHECK-NEXT:  }
sattn.pattern @windows(w = 512, f = 0.25) block = 64 causal {
  sattn.window 1024 tokens
  sattn.window 5 blocks
  sattn.window 0.05 fraction
  sattn.window 1.0 fraction
  sattn.window #sattn.param<"w"> tokens
  sattn.window #sattn.param<"w"> blocks
  sattn.window #sattn.param<"f"> fraction
}

// -----

// CHECK-LABEL: sattn.pattern @strides(s = 3) block = 64 causal {
// CHECK-NEXT:    sattn.strides pow2
// CHECK-NEXT:    sattn.strides every 4
// CHECK-NEXT:    sattn.strides every #sattn.param<"s">
// CHECK-NEXT:    sattn.strides [1, 3, 9]
// CHECK-NEXT:    sattn.strides [0]
// CHECK-NEXT:    sattn.strides [9, 3]
// CHECK-NEXT:  }
sattn.pattern @strides(s = 3) block = 64 causal {
  sattn.strides pow2
  sattn.strides every 4
  sattn.strides every #sattn.param<"s">
  sattn.strides [1, 3, 9]
  sattn.strides [0]
  sattn.strides [9, 3]
}

// -----

// CHECK-LABEL: sattn.pattern @columns_diagonals() block = 64 {
// CHECK-NEXT:    sattn.columns [0, 7]
// CHECK-NEXT:    sattn.columns [3]
// CHECK-NEXT:    sattn.diagonals [0, 16]
// CHECK-NEXT:    sattn.diagonals [-2, 0, 1]
// CHECK-NEXT:  }
sattn.pattern @columns_diagonals() block = 64 {
  sattn.columns [0, 7]
  sattn.columns [3]
  sattn.diagonals [0, 16]
  sattn.diagonals [-2, 0, 1]
}

// -----

// A keep predicate with arith ops, sattn.is_pow2 and sattn.param.
// CHECK-LABEL: sattn.pattern @keep(doc = 512) block = 64 causal {
// CHECK-NEXT:    sattn.keep {
// CHECK-NEXT:    ^bb0(%[[Q:.*]]: i64, %[[K:.*]]: i64, %[[QB:.*]]: i64, %[[KB:.*]]: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64, %{{.*}}: i64):
// CHECK-NEXT:      %[[DOC:.*]] = sattn.param "doc"
// CHECK-NEXT:      %[[DQ:.*]] = arith.floordivsi %[[Q]], %[[DOC]] : i64
// CHECK-NEXT:      %[[DK:.*]] = arith.floordivsi %[[K]], %[[DOC]] : i64
// CHECK-NEXT:      %[[SAME:.*]] = arith.cmpi eq, %[[DQ]], %[[DK]] : i64
// CHECK-NEXT:      %[[D:.*]] = arith.subi %[[QB]], %[[KB]] : i64
// CHECK-NEXT:      %[[P2:.*]] = sattn.is_pow2 %[[D]]
// CHECK-NEXT:      %[[OR:.*]] = arith.ori %[[SAME]], %[[P2]] : i1
// CHECK-NEXT:      sattn.yield %[[OR]] : i1
// CHECK-NEXT:    }
// CHECK-NEXT:  }
sattn.pattern @keep(doc = 512) block = 64 causal {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %doc = sattn.param "doc"
    %dq = arith.floordivsi %q, %doc : i64
    %dk = arith.floordivsi %k, %doc : i64
    %same = arith.cmpi eq, %dq, %dk : i64
    %d = arith.subi %qb, %kb : i64
    %p2 = sattn.is_pow2 %d
    %keep = arith.ori %same, %p2 : i1
    sattn.yield %keep : i1
  }
}

// -----

// A keep predicate may yield a constant and use its arguments in any order.
// CHECK-LABEL: sattn.pattern @keep_const() block = 64 {
// CHECK-NEXT:    sattn.keep {
// CHECK-NEXT:    ^bb0(
// CHECK-NEXT:      %[[T:.*]] = arith.constant true
// CHECK-NEXT:      sattn.yield %[[T]] : i1
sattn.pattern @keep_const() block = 64 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %t = arith.constant true
    sattn.yield %t : i1
  }
}

// -----

// CHECK-LABEL: sattn.pattern @stripes(alpha = 7.500000e-01, f = 5.000000e-02, r = 64, s = 8) block = 128 causal {
// CHECK-NEXT:    sattn.stripes segments = 8, rows = 64, cover = 7.500000e-01, window_frac = 5.000000e-02
// CHECK-NEXT:    sattn.stripes segments = 8, rows = 64, cover = 1.000000e+00, window_frac = 1.000000e+00
// CHECK-NEXT:    sattn.stripes segments = #sattn.param<"s">, rows = #sattn.param<"r">, cover = #sattn.param<"alpha">, window_frac = #sattn.param<"f">
// CHECK-NEXT:  }
sattn.pattern @stripes(s = 8, r = 64, alpha = 0.75, f = 0.05) block = 128 causal {
  sattn.stripes segments = 8, rows = 64, cover = 0.75, window_frac = 0.05
  // Integer literals are accepted where a float is expected.
  sattn.stripes segments = 8, rows = 64, cover = 1, window_frac = 1
  sattn.stripes segments = #sattn.param<"s">, rows = #sattn.param<"r">,
      cover = #sattn.param<"alpha">, window_frac = #sattn.param<"f">
}

// -----

// CHECK-LABEL: sattn.pattern @tree_search(k = 512, w = 256) block = 64 causal {
// CHECK-NEXT:    sattn.tree_search block_q = 64, block_k = 2, k = 512, q_stride = 2, sink = 16, window = 256
// CHECK-NEXT:    sattn.tree_search block_q = 32, block_k = 4, k = 4, q_stride = 1, sink = 0, window = 0
// CHECK-NEXT:    sattn.tree_search block_q = 64, block_k = 2, k = #sattn.param<"k">, q_stride = 2, sink = 16, window = #sattn.param<"w">
// CHECK-NEXT:  }
sattn.pattern @tree_search(k = 512, w = 256) block = 64 causal {
  sattn.tree_search block_q = 64, block_k = 2, k = 512, q_stride = 2, sink = 16, window = 256
  sattn.tree_search block_q = 32, block_k = 4, k = 4, q_stride = 1, sink = 0, window = 0
  sattn.tree_search block_q = 64, block_k = 2, k = #sattn.param<"k">, q_stride = 2, sink = 16, window = #sattn.param<"w">
}

// -----

// CHECK-LABEL: sattn.pattern @topk(alpha = 8.000000e-01, k = 16) block = 64 causal {
// CHECK-NEXT:    sattn.topk k = 2048 tokens by key_score
// CHECK-NEXT:    sattn.topk k = 8 blocks by key_score
// CHECK-NEXT:    sattn.topk cover = 9.000000e-01 blocks by pooled_qk
// CHECK-NEXT:    sattn.topk cover = 5.000000e-01 tokens by pooled_qk
// CHECK-NEXT:    sattn.topk k = 32 tokens by linear
// CHECK-NEXT:    sattn.topk cover = 1.000000e+00 blocks by linear
// CHECK-NEXT:    sattn.topk k = #sattn.param<"k"> blocks by pooled_qk
// CHECK-NEXT:    sattn.topk cover = #sattn.param<"alpha"> tokens by key_score
// CHECK-NEXT:  }
sattn.pattern @topk(k = 16, alpha = 0.8) block = 64 causal {
  sattn.topk k = 2048 tokens by key_score
  sattn.topk k = 8 blocks by key_score
  sattn.topk cover = 0.9 blocks by pooled_qk
  sattn.topk cover = 0.5 tokens by pooled_qk
  sattn.topk k = 32 tokens by linear
  sattn.topk cover = 1 blocks by linear
  sattn.topk k = #sattn.param<"k"> blocks by pooled_qk
  sattn.topk cover = #sattn.param<"alpha"> tokens by key_score
}

// -----

// CHECK-LABEL: sattn.pattern @permute(alpha = 9.000000e-01, b = 64, seg = 256) block = 128 causal {
// CHECK-NEXT:    sattn.permute segment = 256, probe = 128, block = 128, cover = 9.000000e-01
// CHECK-NEXT:    sattn.permute segment = 128, probe = 1, block = 128, cover = 1.000000e+00
// CHECK-NEXT:    sattn.permute segment = #sattn.param<"seg">, probe = 128, block = #sattn.param<"b">, cover = #sattn.param<"alpha">
// CHECK-NEXT:  }
sattn.pattern @permute(seg = 256, b = 64, alpha = 0.9) block = 128 causal {
  sattn.permute segment = 256, probe = 128, block = 128, cover = 0.9
  sattn.permute segment = 128, probe = 1, block = 128, cover = 1
  sattn.permute segment = #sattn.param<"seg">, probe = 128,
      block = #sattn.param<"b">, cover = #sattn.param<"alpha">
}

// -----

// Several primitives of different kinds in one pattern.
// CHECK-LABEL: sattn.pattern @mixed(sink = 256, window = 5) block = 256 causal {
// CHECK-NEXT:    sattn.sink #sattn.param<"sink">
// CHECK-NEXT:    sattn.window #sattn.param<"window"> blocks
// CHECK-NEXT:    sattn.strides pow2
// CHECK-NEXT:    sattn.topk cover = 9.000000e-01 blocks by pooled_qk
// CHECK-NEXT:  }
sattn.pattern @mixed(sink = 256, window = 5) block = 256 causal {
  sattn.sink #sattn.param<"sink">
  sattn.window #sattn.param<"window"> blocks
  sattn.strides pow2
  sattn.topk cover = 0.9 blocks by pooled_qk
}

// -----

// sattn.attention: the patterns it names are in the same split.

sattn.pattern @plain() block = 64 causal {
  sattn.window 256 tokens
}
sattn.pattern @scored() block = 64 causal {
  sattn.topk k = 64 tokens by key_score
}
sattn.pattern @lin() block = 64 causal {
  sattn.topk k = 64 tokens by linear
}
sattn.pattern @both() block = 64 causal {
  sattn.topk k = 64 tokens by key_score
  sattn.topk cover = 0.9 blocks by linear
}

// CHECK-LABEL: func.func @attention_static_f16(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<2x8x256x64xf16>, %[[K:[^:]*]]: tensor<2x8x256x64xf16>, %[[V:[^:]*]]: tensor<2x8x256x64xf16>)
// CHECK-NEXT:    %[[O:.*]], %[[L:.*]] = sattn.attention @plain(%[[Q]], %[[K]], %[[V]]) : (tensor<2x8x256x64xf16>, tensor<2x8x256x64xf16>, tensor<2x8x256x64xf16>) -> (tensor<2x8x256x64xf16>, tensor<2x8x256xf32>)
// CHECK-NEXT:    return %[[O]], %[[L]]
func.func @attention_static_f16(%q: tensor<2x8x256x64xf16>, %k: tensor<2x8x256x64xf16>,
                                %v: tensor<2x8x256x64xf16>)
    -> (tensor<2x8x256x64xf16>, tensor<2x8x256xf32>) {
  %out, %lse = sattn.attention @plain(%q, %k, %v)
      : (tensor<2x8x256x64xf16>, tensor<2x8x256x64xf16>, tensor<2x8x256x64xf16>)
      -> (tensor<2x8x256x64xf16>, tensor<2x8x256xf32>)
  return %out, %lse : tensor<2x8x256x64xf16>, tensor<2x8x256xf32>
}

// Dynamic batch and sequence lengths, GQA (32 query heads over 8 KV heads),
// Sq != Sk, and a scale attribute.
// CHECK-LABEL: func.func @attention_dynamic_bf16_gqa(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<?x32x?x128xbf16>, %[[K:[^:]*]]: tensor<?x8x?x128xbf16>, %[[V:[^:]*]]: tensor<?x8x?x128xbf16>)
// CHECK-NEXT:    %{{.*}}, %{{.*}} = sattn.attention @plain(%[[Q]], %[[K]], %[[V]]) {scale = 1.250000e-01 : f64} : (tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>) -> (tensor<?x32x?x128xbf16>, tensor<?x32x?xf32>)
func.func @attention_dynamic_bf16_gqa(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>,
                                      %v: tensor<?x8x?x128xbf16>)
    -> (tensor<?x32x?x128xbf16>, tensor<?x32x?xf32>) {
  %out, %lse = sattn.attention @plain(%q, %k, %v) {scale = 0.125 : f64}
      : (tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>)
      -> (tensor<?x32x?x128xbf16>, tensor<?x32x?xf32>)
  return %out, %lse : tensor<?x32x?x128xbf16>, tensor<?x32x?xf32>
}

// Decode shape (Sq = 1), f32, head dim 32, multi-query (one KV head).
// CHECK-LABEL: func.func @attention_decode_f32_mqa(
// CHECK:         sattn.attention @plain(%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<1x4x1x32xf32>, tensor<1x1x4096x32xf32>, tensor<1x1x4096x32xf32>) -> (tensor<1x4x1x32xf32>, tensor<1x4x1xf32>)
func.func @attention_decode_f32_mqa(%q: tensor<1x4x1x32xf32>, %k: tensor<1x1x4096x32xf32>,
                                    %v: tensor<1x1x4096x32xf32>)
    -> (tensor<1x4x1x32xf32>, tensor<1x4x1xf32>) {
  %out, %lse = sattn.attention @plain(%q, %k, %v)
      : (tensor<1x4x1x32xf32>, tensor<1x1x4096x32xf32>, tensor<1x1x4096x32xf32>)
      -> (tensor<1x4x1x32xf32>, tensor<1x4x1xf32>)
  return %out, %lse : tensor<1x4x1x32xf32>, tensor<1x4x1xf32>
}

// CHECK-LABEL: func.func @attention_key_scores(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<?x4x?x64xf16>, %[[K:[^:]*]]: tensor<?x2x?x64xf16>, %[[V:[^:]*]]: tensor<?x2x?x64xf16>, %[[S:[^:]*]]: tensor<?x2x?xf32>)
// CHECK-NEXT:    sattn.attention @scored(%[[Q]], %[[K]], %[[V]]) key_scores(%[[S]] : tensor<?x2x?xf32>) : (tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>) -> (tensor<?x4x?x64xf16>, tensor<?x4x?xf32>)
func.func @attention_key_scores(%q: tensor<?x4x?x64xf16>, %k: tensor<?x2x?x64xf16>,
                                %v: tensor<?x2x?x64xf16>, %s: tensor<?x2x?xf32>)
    -> (tensor<?x4x?x64xf16>, tensor<?x4x?xf32>) {
  %out, %lse = sattn.attention @scored(%q, %k, %v) key_scores(%s : tensor<?x2x?xf32>)
      : (tensor<?x4x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>)
      -> (tensor<?x4x?x64xf16>, tensor<?x4x?xf32>)
  return %out, %lse : tensor<?x4x?x64xf16>, tensor<?x4x?xf32>
}

// CHECK-LABEL: func.func @attention_weights(
// CHECK-SAME:    %[[Q:[^:]*]]: tensor<1x4x128x64xbf16>, %[[K:[^:]*]]: tensor<1x2x128x64xbf16>, %[[V:[^:]*]]: tensor<1x2x128x64xbf16>, %[[W:[^:]*]]: tensor<2x64xf32>)
// CHECK-NEXT:    sattn.attention @lin(%[[Q]], %[[K]], %[[V]]) weights(%[[W]] : tensor<2x64xf32>) : (tensor<1x4x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>) -> (tensor<1x4x128x64xbf16>, tensor<1x4x128xf32>)
func.func @attention_weights(%q: tensor<1x4x128x64xbf16>, %k: tensor<1x2x128x64xbf16>,
                             %v: tensor<1x2x128x64xbf16>, %w: tensor<2x64xf32>)
    -> (tensor<1x4x128x64xbf16>, tensor<1x4x128xf32>) {
  %out, %lse = sattn.attention @lin(%q, %k, %v) weights(%w : tensor<2x64xf32>)
      : (tensor<1x4x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>)
      -> (tensor<1x4x128x64xbf16>, tensor<1x4x128xf32>)
  return %out, %lse : tensor<1x4x128x64xbf16>, tensor<1x4x128xf32>
}

// Both optional operands, and a scale.
// CHECK-LABEL: func.func @attention_both(
// CHECK-SAME:    %{{[^:]*}}: tensor<1x2x128x32xf32>, %{{[^:]*}}: tensor<1x2x128x32xf32>, %{{[^:]*}}: tensor<1x2x128x32xf32>, %[[S:[^:]*]]: tensor<1x2x128xf32>, %[[W:[^:]*]]: tensor<2x32xf32>)
// CHECK-NEXT:    sattn.attention @both(%{{.*}}, %{{.*}}, %{{.*}}) key_scores(%[[S]] : tensor<1x2x128xf32>) weights(%[[W]] : tensor<2x32xf32>) {scale = 2.000000e+00 : f64} : (tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>) -> (tensor<1x2x128x32xf32>, tensor<1x2x128xf32>)
func.func @attention_both(%q: tensor<1x2x128x32xf32>, %k: tensor<1x2x128x32xf32>,
                          %v: tensor<1x2x128x32xf32>, %s: tensor<1x2x128xf32>,
                          %w: tensor<2x32xf32>)
    -> (tensor<1x2x128x32xf32>, tensor<1x2x128xf32>) {
  %out, %lse = sattn.attention @both(%q, %k, %v) key_scores(%s : tensor<1x2x128xf32>)
      weights(%w : tensor<2x32xf32>) {scale = 2.0 : f64}
      : (tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>)
      -> (tensor<1x2x128x32xf32>, tensor<1x2x128xf32>)
  return %out, %lse : tensor<1x2x128x32xf32>, tensor<1x2x128xf32>
}

// -----

// Score modifiers: a soft cap (a number or a parameter) and ALiBi.
// CHECK-LABEL: sattn.pattern @modifiers(cap = 3.000000e+01) block = 128 causal softcap = #sattn.param<"cap"> alibi {
// CHECK-NEXT:    sattn.window 64 tokens
// CHECK-NEXT:  }
// CHECK-LABEL: sattn.pattern @softcap_literal() block = 64 softcap = 5.000000e+01 {
// CHECK-LABEL: sattn.pattern @alibi_only() block = 64 alibi {
sattn.pattern @modifiers(cap = 30.0) block = 128 causal
    softcap = #sattn.param<"cap"> alibi {
  sattn.window 64 tokens
}
sattn.pattern @softcap_literal() block = 64 softcap = 50.0 {
  sattn.sink 4
}
sattn.pattern @alibi_only() block = 64 alibi {
  sattn.sink 4
}

// -----

// Run-time integer inputs round-trip.
// CHECK-LABEL: sattn.pattern @document() block = 128 causal inputs = [#sattn.input<"doc", ["b", "s"]>, #sattn.input<"lim", ["h", 4]>] {
// CHECK:         %[[B:.*]] = sattn.batch_index
// CHECK:         %[[D:.*]] = sattn.read_input "doc" ["b", "q"]
// CHECK:         sattn.read_input "lim" ["h", "b"]
sattn.pattern @document() block = 128 causal
    inputs = [#sattn.input<"doc", ["b", "s"]>, #sattn.input<"lim", ["h", 4]>] {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %b = sattn.batch_index
    %dq = sattn.read_input "doc" ["b", "q"]
    %dk = sattn.read_input "doc" ["b", "k"]
    %l = sattn.read_input "lim" ["h", "b"]
    %same = arith.cmpi eq, %dq, %dk : i64
    %near = arith.cmpi slt, %l, %b : i64
    %keep = arith.ori %same, %near : i1
    sattn.yield %keep : i1
  }
}
