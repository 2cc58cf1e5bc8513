// RUN: sattn-opt %s -split-input-file -verify-diagnostics

// One case per verifier error of dialect/SattnOps.cpp (and the ODS
// constraints next to them). Parser errors are in parse-errors.mlir; cases
// whose message should be clearer, or that crash, are in known-issues/.

// expected-error @+1 {{parameter 'x' must default to a 64-bit integer or float (written without a type), got "s"}}
sattn.pattern @p(x = "s") block = 4 {
  sattn.sink 1
}

// -----

// Parameters are i64 or f64; narrower integers are rejected.
// expected-error @+1 {{parameter 'x' must default to a 64-bit integer or float (written without a type), got 3 : i32}}
sattn.pattern @p(x = 3 : i32) block = 4 {
  sattn.sink 1
}

// -----

// expected-error @+1 {{parameter 'x' must default to a 64-bit integer or float (written without a type), got 1.000000e+00 : f32}}
sattn.pattern @p(x = 1.0 : f32) block = 4 {
  sattn.sink 1
}

// -----

// expected-error @+1 {{parameter 'x' must default to a 64-bit integer or float (written without a type), got true}}
sattn.pattern @p(x = true) block = 4 {
  sattn.sink 1
}

// -----

// expected-error @+1 {{attribute 'block' must be >= 1, got 0}}
sattn.pattern @p() block = 0 {
  sattn.sink 1
}

// -----

// expected-error @+1 {{attribute 'block' must be >= 1, got -64}}
sattn.pattern @p() block = -64 {
  sattn.sink 1
}

// -----

// expected-error @+1 {{attribute 'block' (parameter 'b') must be >= 1, got 0}}
sattn.pattern @p(b = 0) block = #sattn.param<"b"> {
  sattn.sink 1
}

// -----

// expected-error @+1 {{attribute 'block' refers to parameter 'b', which the pattern does not declare}}
sattn.pattern @p() block = #sattn.param<"b"> {
  sattn.sink 1
}

// -----

// expected-error @+1 {{attribute 'block' needs an integer but parameter 'f' defaults to 5.000000e-01 : f64}}
sattn.pattern @p(f = 0.5) block = #sattn.param<"f"> {
  sattn.sink 1
}

// -----

// expected-error @+1 {{attribute 'block' failed to satisfy constraint: 64-bit integer or #sattn.param reference}}
sattn.pattern @p() block = 1.5 {
  sattn.sink 1
}

// -----

// expected-error @+1 {{pattern @empty has no primitive: every query would attend to nothing}}
sattn.pattern @empty() block = 4 {
}

// -----

// expected-error @+1 {{body must not take arguments}}
sattn.pattern @p() block = 4 {
^bb0(%x: i64):
  sattn.sink 1
}

// -----

sattn.pattern @p() block = 4 {
  sattn.sink 1
  // expected-error @+1 {{'arith.constant' op is not a pattern primitive; a pattern body holds only sattn primitives}}
  %c = arith.constant 1 : i64
}

// -----

sattn.pattern @p() block = 4 {
  sattn.sink 1
  // expected-error @+1 {{'memref.alloc' op is not a pattern primitive}}
  %m = memref.alloc() : memref<4xi64>
}

// -----

func.func @f() {
  // expected-error @+1 {{'sattn.sink' op expects parent op 'sattn.pattern'}}
  sattn.sink 1
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{'sattn.window' op expects parent op 'sattn.pattern'}}
  sattn.window 4 tokens
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{'sattn.topk' op expects parent op 'sattn.pattern'}}
  sattn.topk k = 4 tokens by pooled_qk
  return
}

// -----

sattn.pattern @outer() block = 4 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    // expected-error @+1 {{'sattn.sink' op expects parent op 'sattn.pattern'}}
    sattn.sink 1
    %t = arith.constant true
    sattn.yield %t : i1
  }
}

// -----

func.func @f(%t: i1) {
  // expected-error @+1 {{'sattn.yield' op expects parent op 'sattn.keep'}}
  sattn.yield %t : i1
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'tokens' refers to parameter 'sink', which the pattern does not declare}}
  sattn.sink #sattn.param<"sink">
}

// -----

sattn.pattern @p(w = 8) block = 4 {
  // expected-error @+1 {{attribute 'size' refers to parameter 'window', which the pattern does not declare}}
  sattn.window #sattn.param<"window"> tokens
}

// -----

sattn.pattern @p(f = 0.5) block = 4 {
  // expected-error @+1 {{attribute 'tokens' needs an integer but parameter 'f' defaults to 5.000000e-01 : f64}}
  sattn.sink #sattn.param<"f">
}

// -----

sattn.pattern @p(f = 0.5) block = 4 {
  // expected-error @+1 {{attribute 'size' needs an integer but parameter 'f' defaults to 5.000000e-01}}
  sattn.window #sattn.param<"f"> blocks
}

// -----

sattn.pattern @p(f = 0.5) block = 4 {
  // expected-error @+1 {{attribute 'k' needs an integer but parameter 'f' defaults to 5.000000e-01}}
  sattn.topk k = #sattn.param<"f"> tokens by key_score
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'cover' refers to parameter 'alpha', which the pattern does not declare}}
  sattn.topk cover = #sattn.param<"alpha"> blocks by pooled_qk
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'size' must be an integer, got 1.500000e+00 : f64}}
  sattn.window 1.5 tokens
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'size' must be an integer, got 2.000000e+00 : f64}}
  sattn.window 2.0 blocks
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'tokens' failed to satisfy constraint: 64-bit integer or #sattn.param reference}}
  sattn.sink 1.5
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'tokens' must be >= 1, got 0}}
  sattn.sink 0
}

// -----

sattn.pattern @p(sink = -3) block = 4 {
  // expected-error @+1 {{attribute 'tokens' (parameter 'sink') must be >= 1, got -3}}
  sattn.sink #sattn.param<"sink">
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'size' must be >= 1, got 0}}
  sattn.window 0 tokens
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'size' must be >= 1, got -2}}
  sattn.window -2 blocks
}

// -----

sattn.pattern @p(w = 0) block = 4 {
  // expected-error @+1 {{attribute 'size' (parameter 'w') must be >= 1, got 0}}
  sattn.window #sattn.param<"w"> blocks
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'size' must be in (0, 1], got 0.000000e+00}}
  sattn.window 0.0 fraction
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'size' must be in (0, 1], got 1.500000e+00}}
  sattn.window 1.5 fraction
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'size' must be in (0, 1], got -2.500000e-01}}
  sattn.window -0.25 fraction
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'size' must be in (0, 1], got 2.000000e+00}}
  sattn.window 2 fraction
}

// -----

sattn.pattern @p(f = 1.25) block = 4 {
  // expected-error @+1 {{attribute 'size' (parameter 'f') must be in (0, 1], got 1.250000e+00}}
  sattn.window #sattn.param<"f"> fraction
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'every' must be >= 1, got 0}}
  sattn.strides every 0
}

// -----

sattn.pattern @p(s = -1) block = 4 {
  // expected-error @+1 {{attribute 'every' (parameter 's') must be >= 1, got -1}}
  sattn.strides every #sattn.param<"s">
}

// -----

sattn.pattern @p(s = 2.0) block = 4 {
  // expected-error @+1 {{attribute 'every' needs an integer but parameter 's' defaults to 2.000000e+00}}
  sattn.strides every #sattn.param<"s">
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{stride list must not be empty}}
  sattn.strides []
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{stride distance must be >= 0, got -1}}
  sattn.strides [2, -1]
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{duplicate stride distance 3}}
  sattn.strides [3, 1, 3]
}

// -----

sattn.pattern @p() block = 4 {
  // The custom syntax cannot spell a pow2 stride with a distance.
  // expected-error @+1 {{'pow2' strides take no distance}}
  "sattn.strides"() <{kind = #sattn<stride_kind pow2>, every = 2}> : () -> ()
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{'pow2' strides take no distance}}
  "sattn.strides"() <{kind = #sattn<stride_kind pow2>, distances = array<i64: 1, 2>}> : () -> ()
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{'every' strides need a distance}}
  "sattn.strides"() <{kind = #sattn<stride_kind every>}> : () -> ()
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{stride list must not be empty}}
  "sattn.strides"() <{kind = #sattn<stride_kind list>}> : () -> ()
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{column list must not be empty}}
  sattn.columns []
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{column must be >= 0, got -1}}
  sattn.columns [0, -1]
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{duplicate column 3}}
  sattn.columns [3, 1, 3]
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{diagonal list must not be empty}}
  sattn.diagonals []
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{duplicate diagonal -2}}
  sattn.diagonals [-2, 0, -2]
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{predicate must take 8 i64 arguments (q, k, qb, kb, h, B, Sq, Sk), got 7}}
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64):
    %t = arith.constant true
    sattn.yield %t : i1
  }
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{predicate must take 8 i64 arguments (q, k, qb, kb, h, B, Sq, Sk), got 0}}
  sattn.keep {
    %t = arith.constant true
    sattn.yield %t : i1
  }
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{predicate argument 2 (qb) must be i64, got 'i32'}}
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i32, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %t = arith.constant true
    sattn.yield %t : i1
  }
}

// -----

sattn.pattern @p() block = 4 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %d = arith.subi %qb, %kb : i64
    // expected-error @+1 {{'sattn.yield' op keep predicate must yield i1, got 'i64'}}
    sattn.yield %d : i64
  }
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{predicate must end with sattn.yield}}
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    llvm.unreachable
  }
}

// -----

sattn.pattern @p() block = 4 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    // expected-error @+1 {{'memref.alloc' op is not allowed in a keep predicate; use arith integer ops, sattn.is_pow2, sattn.param, sattn.batch_index or sattn.read_input}}
    %a = memref.alloc() : memref<4xi64>
    %t = arith.constant true
    sattn.yield %t : i1
  }
}

// -----

sattn.pattern @p() block = 4 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    // expected-error @+1 {{'math.absi' op is not allowed in a keep predicate}}
    %a = math.absi %q : i64
    %c = arith.constant 0 : i64
    %t = arith.cmpi sgt, %a, %c : i64
    sattn.yield %t : i1
  }
}

// -----

sattn.pattern @p() block = 4 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    // expected-error @+1 {{'arith.constant' op keep predicates compute on i64 and i1 only, got 'f32'}}
    %f = arith.constant 1.0 : f32
    %t = arith.constant true
    sattn.yield %t : i1
  }
}

// -----

sattn.pattern @p() block = 4 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    // expected-error @+1 {{'arith.trunci' op keep predicates compute on i64 and i1 only, got 'i32'}}
    %n = arith.trunci %q : i64 to i32
    %t = arith.constant true
    sattn.yield %t : i1
  }
}

// -----

func.func @f() {
  // expected-error @+1 {{'sattn.param' op must be inside a keep predicate}}
  %x = sattn.param "x"
  return
}

// -----

sattn.pattern @p(x = 1) block = 4 {
  sattn.sink 1
  // expected-error @+1 {{'sattn.param' op must be inside a keep predicate}}
  %x = sattn.param "x"
}

// -----

sattn.pattern @p(x = 1) block = 4 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    // expected-error @+1 {{'sattn.param' op refers to parameter 'width', which pattern @p does not declare}}
    %w = sattn.param "width"
    %t = arith.cmpi slt, %q, %w : i64
    sattn.yield %t : i1
  }
}

// -----

sattn.pattern @p(width = 0.5) block = 4 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    // expected-error @+1 {{'sattn.param' op parameter 'width' must be an integer in a predicate, got 5.000000e-01 : f64}}
    %w = sattn.param "width"
    %t = arith.cmpi slt, %q, %w : i64
    sattn.yield %t : i1
  }
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'segments' must be >= 1, got 0}}
  sattn.stripes segments = 0, rows = 64, cover = 0.5, window_frac = 0.5
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'rows' must be >= 1, got -1}}
  sattn.stripes segments = 8, rows = -1, cover = 0.5, window_frac = 0.5
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'cover' must be in (0, 1], got 0.000000e+00}}
  sattn.stripes segments = 8, rows = 64, cover = 0.0, window_frac = 0.5
}

// -----

sattn.pattern @p(alpha = 1.5) block = 4 {
  // expected-error @+1 {{attribute 'cover' (parameter 'alpha') must be in (0, 1], got 1.500000e+00}}
  sattn.stripes segments = 8, rows = 64, cover = #sattn.param<"alpha">, window_frac = 0.5
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'window_frac' must be in (0, 1], got 2.000000e+00}}
  sattn.stripes segments = 8, rows = 64, cover = 0.5, window_frac = 2
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'window_frac' must be in (0, 1], got -5.000000e-01}}
  sattn.stripes segments = 8, rows = 64, cover = 0.5, window_frac = -0.5
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'block_q' must be >= 1, got 0}}
  sattn.tree_search block_q = 0, block_k = 2, k = 512, q_stride = 2, sink = 16, window = 256
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'block_k' must be >= 1, got 0}}
  sattn.tree_search block_q = 64, block_k = 0, k = 512, q_stride = 2, sink = 16, window = 256
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'q_stride' must be >= 1, got 0}}
  sattn.tree_search block_q = 64, block_k = 2, k = 512, q_stride = 0, sink = 16, window = 256
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'sink' must be >= 0, got -1}}
  sattn.tree_search block_q = 64, block_k = 2, k = 512, q_stride = 2, sink = -1, window = 256
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'window' must be >= 0, got -256}}
  sattn.tree_search block_q = 64, block_k = 2, k = 512, q_stride = 2, sink = 16, window = -256
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'k' (budget in tokens) must be at least one key block of 4 tokens, got 2}}
  sattn.tree_search block_q = 64, block_k = 4, k = 2, q_stride = 2, sink = 16, window = 256
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'k' (budget in tokens) must be at least one key block of 2 tokens, got 0}}
  sattn.tree_search block_q = 64, block_k = 2, k = 0, q_stride = 2, sink = 16, window = 256
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'k' (budget in tokens) must be a multiple of block_k = 4, got 10}}
  sattn.tree_search block_q = 64, block_k = 4, k = 10, q_stride = 2, sink = 16, window = 256
}

// -----

sattn.pattern @p(k = 511) block = 4 {
  // expected-error @+1 {{attribute 'k' (parameter 'k') (budget in tokens) must be a multiple of block_k = 2, got 511}}
  sattn.tree_search block_q = 64, block_k = 2, k = #sattn.param<"k">, q_stride = 2, sink = 16, window = 256
}

// -----

sattn.pattern @p(k = 512.0) block = 4 {
  // expected-error @+1 {{attribute 'k' needs an integer but parameter 'k' defaults to 5.120000e+02}}
  sattn.tree_search block_q = 64, block_k = 2, k = #sattn.param<"k">, q_stride = 2, sink = 16, window = 256
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'k' must be >= 1, got 0}}
  sattn.topk k = 0 tokens by key_score
}

// -----

sattn.pattern @p(k = -8) block = 4 {
  // expected-error @+1 {{attribute 'k' (parameter 'k') must be >= 1, got -8}}
  sattn.topk k = #sattn.param<"k"> blocks by pooled_qk
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'cover' must be in (0, 1], got 0.000000e+00}}
  sattn.topk cover = 0.0 blocks by pooled_qk
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'cover' must be in (0, 1], got 1.010000e+00}}
  sattn.topk cover = 1.01 tokens by linear
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{needs exactly one budget: 'k = N' or 'cover = F'}}
  "sattn.topk"() <{k = 8, cover = 0.5, granularity = #sattn<granularity tokens>, source = #sattn<score_source linear>}> : () -> ()
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{needs exactly one budget: 'k = N' or 'cover = F'}}
  "sattn.topk"() <{granularity = #sattn<granularity blocks>, source = #sattn<score_source pooled_qk>}> : () -> ()
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'segment' must be >= 1, got 0}}
  sattn.permute segment = 0, probe = 128, block = 128, cover = 0.9
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'probe' must be >= 1, got 0}}
  sattn.permute segment = 256, probe = 0, block = 128, cover = 0.9
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'block' must be >= 1, got -128}}
  sattn.permute segment = 256, probe = 128, block = -128, cover = 0.9
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'cover' must be in (0, 1], got 0.000000e+00}}
  sattn.permute segment = 256, probe = 128, block = 128, cover = 0
}

// -----

sattn.pattern @p(alpha = 2.0) block = 4 {
  // expected-error @+1 {{attribute 'cover' (parameter 'alpha') must be in (0, 1], got 2.000000e+00}}
  sattn.permute segment = 256, probe = 128, block = 128, cover = #sattn.param<"alpha">
}

// -----

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{attribute 'block' = 96 must divide segment = 256}}
  sattn.permute segment = 256, probe = 128, block = 96, cover = 0.9
}

// -----

sattn.pattern @p(b = 512) block = 4 {
  // expected-error @+1 {{attribute 'block' (parameter 'b') = 512 must divide segment = 256}}
  sattn.permute segment = 256, probe = 128, block = #sattn.param<"b">, cover = 0.9
}

// -----

func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{unknown pattern @nope}}
  %o, %l = sattn.attention @nope(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{q must have shape [B, H, S, D], got 'tensor<8x128x64xf16>'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<8x128x64xf16>, tensor<8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64x1xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{k must have shape [B, H, S, D]}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64x1xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<8x128x64xf16>) {
  // expected-error @+1 {{v must have shape [B, H, S, D]}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{out must have shape [B, H, S, D], got 'tensor<1x8x128xf16>'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf64>, %k: tensor<1x8x128x64xf64>, %v: tensor<1x8x128x64xf64>) {
  // expected-error @+1 {{element type must be f16, bf16 or f32, got 'f64'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf64>, tensor<1x8x128x64xf64>, tensor<1x8x128x64xf64>) -> (tensor<1x8x128x64xf64>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xi8>, %k: tensor<1x8x128x64xi8>, %v: tensor<1x8x128x64xi8>) {
  // expected-error @+1 {{element type must be f16, bf16 or f32, got 'i8'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xi8>, tensor<1x8x128x64xi8>, tensor<1x8x128x64xi8>) -> (tensor<1x8x128x64xi8>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xbf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{q, k and v must share one element type, got 'f16', 'bf16' and 'f16'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xbf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{q, k and v must share one element type, got 'f16', 'f16' and 'f32'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf32>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{out must have q's type 'tensor<1x8x128x64xf16>', got 'tensor<1x8x128x64xf32>'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf32>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{out must have q's type}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x64x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x?x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{heads and head dim of q must be static, got 'tensor<1x?x128x64xf16>'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x?x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x?x128x64xf16>, tensor<1x?x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x?x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{heads and head dim of k must be static}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x?x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x?xf16>) {
  // expected-error @+1 {{heads and head dim of v must be static}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x?xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x?xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{heads and head dim of q must be static}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x?xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x?xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<2x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{batch sizes differ: q 2, k 1, v 1}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<2x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<2x8x128x64xf16>, tensor<2x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<3x8x128x64xf16>) {
  // expected-error @+1 {{batch sizes differ: q 1, k 1, v 3}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<3x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x4x128x64xf16>) {
  // expected-error @+1 {{k and v must have the same shape, got 'tensor<1x8x128x64xf16>' and 'tensor<1x4x128x64xf16>'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x4x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x256x64xf16>) {
  // expected-error @+1 {{k and v must have the same shape}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x256x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x6x128x64xf16>, %k: tensor<1x4x128x64xf16>, %v: tensor<1x4x128x64xf16>) {
  // expected-error @+1 {{query heads (6) must be a multiple of key/value heads (4)}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x6x128x64xf16>, tensor<1x4x128x64xf16>, tensor<1x4x128x64xf16>) -> (tensor<1x6x128x64xf16>, tensor<1x6x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x4x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{query heads (4) must be a multiple of key/value heads (8)}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x4x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x4x128x64xf16>, tensor<1x4x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x32xf16>, %v: tensor<1x8x128x32xf16>) {
  // expected-error @+1 {{head dims differ: q 64, k 32, v 32}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x32xf16>, tensor<1x8x128x32xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x128xf16>) {
  // expected-error @+1 {{head dims differ: q 64, k 64, v 128}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x128xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x48xf16>, %k: tensor<1x8x128x48xf16>, %v: tensor<1x8x128x48xf16>) {
  // expected-error @+1 {{head dim must be 32, 64, 80, 96, 128, 192 or 256, got 48}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x48xf16>, tensor<1x8x128x48xf16>, tensor<1x8x128x48xf16>) -> (tensor<1x8x128x48xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x512xf16>, %k: tensor<1x8x128x512xf16>, %v: tensor<1x8x128x512xf16>) {
  // expected-error @+1 {{head dim must be 32, 64, 80, 96, 128, 192 or 256, got 512}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x512xf16>, tensor<1x8x128x512xf16>, tensor<1x8x128x512xf16>) -> (tensor<1x8x128x512xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x16xf16>, %k: tensor<1x8x128x16xf16>, %v: tensor<1x8x128x16xf16>) {
  // expected-error @+1 {{head dim must be 32, 64, 80, 96, 128, 192 or 256, got 16}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x16xf16>, tensor<1x8x128x16xf16>, tensor<1x8x128x16xf16>) -> (tensor<1x8x128x16xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{lse must be f32 of shape [B, Hq, Sq] = 'tensor<1x8x128xf32>', got 'tensor<1x8x128xf16>'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf16>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{lse must be f32 of shape [B, Hq, Sq] = 'tensor<1x8x128xf32>', got 'tensor<1x8x128x1xf32>'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128x1xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{lse must be f32 of shape [B, Hq, Sq] = 'tensor<1x8x128xf32>', got 'tensor<1x8x64xf32>'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x64xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<?x32x?x128xbf16>, %k: tensor<?x8x?x128xbf16>, %v: tensor<?x8x?x128xbf16>) {
  // expected-error @+1 {{lse must be f32 of shape [B, Hq, Sq] = 'tensor<?x32x?xf32>', got 'tensor<?x8x?xf32>'}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<?x32x?x128xbf16>, tensor<?x8x?x128xbf16>, tensor<?x8x?x128xbf16>) -> (tensor<?x32x?x128xbf16>, tensor<?x8x?xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{scale must be positive, got 0.000000e+00}}
  %o, %l = sattn.attention @p(%q, %k, %v) {scale = 0.0 : f64} : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{scale must be positive, got -1.250000e-01}}
  %o, %l = sattn.attention @p(%q, %k, %v) {scale = -0.125 : f64} : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{attribute 'scale' failed to satisfy constraint: 64-bit float attribute}}
  %o, %l = sattn.attention @p(%q, %k, %v) {scale = 1.0 : f32} : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @scored() block = 64 causal {
  sattn.topk k = 16 tokens by key_score
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{pattern @scored reads key_scores but none are given}}
  %o, %l = sattn.attention @scored(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %s: tensor<1x8x128xf32>) {
  // expected-error @+1 {{pattern @p does not read key_scores but they are given}}
  %o, %l = sattn.attention @p(%q, %k, %v) key_scores(%s : tensor<1x8x128xf32>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @scored() block = 64 causal {
  sattn.topk k = 16 tokens by key_score
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %s: tensor<1x8x128xf16>) {
  // expected-error @+1 {{key_scores must be f32 of shape [B, Hkv, Sk], got 'tensor<1x8x128xf16>'}}
  %o, %l = sattn.attention @scored(%q, %k, %v) key_scores(%s : tensor<1x8x128xf16>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @scored() block = 64 causal {
  sattn.topk k = 16 tokens by key_score
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %s: tensor<8x128xf32>) {
  // expected-error @+1 {{key_scores must be f32 of shape [B, Hkv, Sk], got 'tensor<8x128xf32>'}}
  %o, %l = sattn.attention @scored(%q, %k, %v) key_scores(%s : tensor<8x128xf32>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

// key_scores are per KV head, not per query head.
sattn.pattern @scored() block = 64 causal {
  sattn.topk k = 16 tokens by key_score
}
func.func @f(%q: tensor<1x16x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %s: tensor<1x16x128xf32>) {
  // expected-error @+1 {{key_scores must be f32 of shape [B, Hkv, Sk], got 'tensor<1x16x128xf32>'}}
  %o, %l = sattn.attention @scored(%q, %k, %v) key_scores(%s : tensor<1x16x128xf32>) : (tensor<1x16x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x16x128x64xf16>, tensor<1x16x128xf32>)
  return
}

// -----

sattn.pattern @scored() block = 64 causal {
  sattn.topk k = 16 tokens by key_score
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %s: tensor<1x8x64xf32>) {
  // expected-error @+1 {{key_scores must be f32 of shape [B, Hkv, Sk], got 'tensor<1x8x64xf32>'}}
  %o, %l = sattn.attention @scored(%q, %k, %v) key_scores(%s : tensor<1x8x64xf32>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @scored() block = 64 causal {
  sattn.topk k = 16 tokens by key_score
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %s: tensor<2x8x128xf32>) {
  // expected-error @+1 {{key_scores must be f32 of shape [B, Hkv, Sk], got 'tensor<2x8x128xf32>'}}
  %o, %l = sattn.attention @scored(%q, %k, %v) key_scores(%s : tensor<2x8x128xf32>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @lin() block = 64 causal {
  sattn.topk cover = 0.5 blocks by linear
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{pattern @lin reads linear weights but none are given}}
  %o, %l = sattn.attention @lin(%q, %k, %v) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %w: tensor<8x64xf32>) {
  // expected-error @+1 {{pattern @p does not read weights but they are given}}
  %o, %l = sattn.attention @p(%q, %k, %v) weights(%w : tensor<8x64xf32>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @lin() block = 64 causal {
  sattn.topk cover = 0.5 blocks by linear
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %w: tensor<8x64xbf16>) {
  // expected-error @+1 {{weights must be f32 of shape [Hkv, D], got 'tensor<8x64xbf16>'}}
  %o, %l = sattn.attention @lin(%q, %k, %v) weights(%w : tensor<8x64xbf16>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @lin() block = 64 causal {
  sattn.topk cover = 0.5 blocks by linear
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %w: tensor<1x8x64xf32>) {
  // expected-error @+1 {{weights must be f32 of shape [Hkv, D], got 'tensor<1x8x64xf32>'}}
  %o, %l = sattn.attention @lin(%q, %k, %v) weights(%w : tensor<1x8x64xf32>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @lin() block = 64 causal {
  sattn.topk cover = 0.5 blocks by linear
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %w: tensor<4x64xf32>) {
  // expected-error @+1 {{weights must be f32 of shape [Hkv, D], got 'tensor<4x64xf32>'}}
  %o, %l = sattn.attention @lin(%q, %k, %v) weights(%w : tensor<4x64xf32>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @lin() block = 64 causal {
  sattn.topk cover = 0.5 blocks by linear
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %w: tensor<8x128xf32>) {
  // expected-error @+1 {{weights must be f32 of shape [Hkv, D], got 'tensor<8x128xf32>'}}
  %o, %l = sattn.attention @lin(%q, %k, %v) weights(%w : tensor<8x128xf32>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @lin() block = 64 causal {
  sattn.topk cover = 0.5 blocks by linear
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf16>, %w: tensor<8x?xf32>) {
  // expected-error @+1 {{weights must be f32 of shape [Hkv, D], got 'tensor<8x?xf32>'}}
  %o, %l = sattn.attention @lin(%q, %k, %v) weights(%w : tensor<8x?xf32>) : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

// Sizes are bounded, so index arithmetic like (kb + 1) * B cannot overflow.
sattn.pattern @p() block = 64 {
  // expected-error @+1 {{attribute 'tokens' must be <= 1099511627776 (2^40), got 9223372036854775807}}
  sattn.sink 9223372036854775807
}

// -----

// Arithmetic on truth values wraps modulo 2; predicates compute on integers.
sattn.pattern @p() block = 4 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %a = arith.cmpi sle, %k, %q : i64
    // expected-error @+1 {{'arith.addi' op cannot take i1 operands in a keep predicate}}
    %s = arith.addi %a, %a : i1
    sattn.yield %s : i1
  }
}

// -----

sattn.pattern @p() block = 4 {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %a = arith.cmpi sle, %k, %q : i64
    %b = arith.cmpi sge, %k, %qb : i64
    // expected-error @+1 {{'arith.cmpi' op cannot take i1 operands in a keep predicate}}
    %c = arith.cmpi slt, %a, %b : i1
    sattn.yield %c : i1
  }
}

// -----

// expected-error @+1 {{'sattn.pattern' op attribute 'softcap' must be a finite number > 0, got 0}}
sattn.pattern @p() block = 4 softcap = 0.0 {
  sattn.sink 1
}

// -----

// expected-error @+1 {{'sattn.pattern' op attribute 'softcap' (parameter 'c') must be a finite number > 0, got -2}}
sattn.pattern @p(c = -2) block = 4 softcap = #sattn.param<"c"> {
  sattn.sink 1
}

// -----

// expected-error @+1 {{'sattn.pattern' op attribute 'softcap' refers to parameter 'c', which the pattern does not declare}}
sattn.pattern @p() block = 4 softcap = #sattn.param<"c"> {
  sattn.sink 1
}
