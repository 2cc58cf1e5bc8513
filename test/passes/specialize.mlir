// The sattn-specialize pass: binds #sattn.param references and sattn.param
// ops to the override given with `set`, else to the declared default.
// Module-level errors (malformed override, unknown pattern) are reported at
// the module, so those inputs spell their module out.

// RUN: split-file %s %t
// RUN: sattn-opt %t/bind.mlir --sattn-specialize | FileCheck %s --check-prefix=DEFAULT
// RUN: sattn-opt %t/bind.mlir --sattn-specialize="set=window=3" | FileCheck %s --check-prefix=WINDOW
// RUN: sattn-opt %t/bind.mlir --sattn-specialize="pattern=power set=window=3,sink=128,block=64" | FileCheck %s --check-prefix=POWER
// RUN: sattn-opt %t/bind.mlir --sattn-specialize="pattern=doc set=doc=128" | FileCheck %s --check-prefix=DOC
// RUN: sattn-opt %t/bind.mlir --sattn-specialize="set=window=3,window=7" | FileCheck %s --check-prefix=LAST
// RUN: sattn-opt %t/float.mlir --sattn-specialize="set=alpha=1,f=0.125" | FileCheck %s --check-prefix=FLOAT
// RUN: sattn-opt %t/kind.mlir -split-input-file -verify-diagnostics --sattn-specialize="set=window=3.5"
// RUN: sattn-opt %t/range.mlir -split-input-file -verify-diagnostics --sattn-specialize="set=window=0"
// RUN: sattn-opt %t/overflow.mlir -verify-diagnostics --sattn-specialize="set=window=99999999999999999999"
// RUN: sattn-opt %t/malformed.mlir -verify-diagnostics --sattn-specialize="set=window"
// RUN: sattn-opt %t/no-name.mlir -verify-diagnostics --sattn-specialize="set==3"
// RUN: sattn-opt %t/no-value.mlir -verify-diagnostics --sattn-specialize="set=window="
// RUN: sattn-opt %t/no-pattern.mlir -verify-diagnostics --sattn-specialize="pattern=nope"

//--- bind.mlir
sattn.pattern @power(block = 256, window = 5, sink = 256)
    block = #sattn.param<"block"> causal {
  sattn.sink #sattn.param<"sink">
  sattn.window #sattn.param<"window"> blocks
  sattn.strides pow2
}
sattn.pattern @doc(doc = 512, window = 64) block = 64 {
  sattn.window #sattn.param<"window"> tokens
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %d = sattn.param "doc"
    %dq = arith.floordivsi %q, %d : i64
    %dk = arith.floordivsi %k, %d : i64
    %same = arith.cmpi eq, %dq, %dk : i64
    sattn.yield %same : i1
  }
}
func.func @use(%q: tensor<1x8x?x64xf16>) -> tensor<1x8x?x64xf16> {
  %out, %lse = sattn.attention @power(%q, %q, %q)
      : (tensor<1x8x?x64xf16>, tensor<1x8x?x64xf16>, tensor<1x8x?x64xf16>)
      -> (tensor<1x8x?x64xf16>, tensor<1x8x?xf32>)
  return %out : tensor<1x8x?x64xf16>
}

// Defaults are bound everywhere; the parameter list records them.
// DEFAULT-LABEL: sattn.pattern @power(block = 256, sink = 256, window = 5) block = 256 causal {
// DEFAULT-NEXT:    sattn.sink 256
// DEFAULT-NEXT:    sattn.window 5 blocks
// DEFAULT-NEXT:    sattn.strides pow2
// DEFAULT-NEXT:  }
// DEFAULT-LABEL: sattn.pattern @doc(doc = 512, window = 64) block = 64 {
// DEFAULT-NEXT:    sattn.window 64 tokens
// DEFAULT-NEXT:    sattn.keep {
// DEFAULT-NEXT:    ^bb0(%[[Q:[^:]*]]: i64, %[[K:[^:]*]]: i64,
// DEFAULT-NOT:       sattn.param
// DEFAULT-NEXT:      %[[C:.*]] = arith.constant 512 : i64
// DEFAULT-NEXT:      %[[DQ:.*]] = arith.floordivsi %[[Q]], %[[C]] : i64
// DEFAULT-NEXT:      %[[DK:.*]] = arith.floordivsi %[[K]], %[[C]] : i64
// DEFAULT-NEXT:      %[[SAME:.*]] = arith.cmpi eq, %[[DQ]], %[[DK]] : i64
// DEFAULT-NEXT:      sattn.yield %[[SAME]] : i1
// DEFAULT-NEXT:    }
// DEFAULT-NEXT:  }
// Users of the pattern are untouched.
// DEFAULT-LABEL: func.func @use(
// DEFAULT:         sattn.attention @power(
// DEFAULT-NOT:   #sattn.param
// DEFAULT-NOT:   sattn.param

// Without `pattern`, an override applies to every pattern.
// WINDOW-LABEL: sattn.pattern @power(block = 256, sink = 256, window = 3) block = 256 causal {
// WINDOW-NEXT:    sattn.sink 256
// WINDOW-NEXT:    sattn.window 3 blocks
// WINDOW-LABEL: sattn.pattern @doc(doc = 512, window = 3) block = 64 {
// WINDOW-NEXT:    sattn.window 3 tokens
// WINDOW:           arith.constant 512 : i64

// `pattern` picks one pattern; the others keep their references. The
// specialised pattern keeps its place in the module.
// POWER-LABEL: sattn.pattern @power(block = 64, sink = 128, window = 3) block = 64 causal {
// POWER-NEXT:    sattn.sink 128
// POWER-NEXT:    sattn.window 3 blocks
// POWER-NEXT:    sattn.strides pow2
// POWER-NEXT:  }
// POWER-LABEL: sattn.pattern @doc(doc = 512, window = 64) block = 64 {
// POWER-NEXT:    sattn.window #sattn.param<"window"> tokens
// POWER:           sattn.param "doc"
// POWER-LABEL: func.func @use(

// DOC-LABEL: sattn.pattern @power(block = 256, sink = 256, window = 5) block = #sattn.param<"block"> causal {
// DOC-NEXT:    sattn.sink #sattn.param<"sink">
// DOC-LABEL: sattn.pattern @doc(doc = 128, window = 64) block = 64 {
// DOC-NEXT:    sattn.window 64 tokens
// DOC-NOT:       sattn.param
// DOC:             arith.constant 128 : i64
// DOC-NOT:       sattn.param
// DOC-LABEL: func.func @use(

// The last of two overrides of one parameter wins.
// LAST-LABEL: sattn.pattern @power(block = 256, sink = 256, window = 7) block = 256 causal {
// LAST:       sattn.pattern @doc(doc = 512, window = 7) block = 64 {

//--- float.mlir
// Float parameters take integer or float text.
sattn.pattern @sample(alpha = 0.5, f = 0.25, rows = 64) block = 128 causal {
  sattn.stripes segments = 8, rows = #sattn.param<"rows">,
      cover = #sattn.param<"alpha">, window_frac = #sattn.param<"f">
  sattn.window #sattn.param<"f"> fraction
}
// FLOAT-LABEL: sattn.pattern @sample(alpha = 1.000000e+00, f = 1.250000e-01, rows = 64) block = 128 causal {
// FLOAT-NEXT:    sattn.stripes segments = 8, rows = 64, cover = 1.000000e+00, window_frac = 1.250000e-01
// FLOAT-NEXT:    sattn.window 1.250000e-01 fraction
// FLOAT-NEXT:  }

//--- kind.mlir
// Errors about an override are reported at the pattern.

// expected-error @+1 {{parameter 'window' of pattern @ints needs an integer, got '3.5'}}
sattn.pattern @ints(window = 5) block = 64 {
  sattn.window #sattn.param<"window"> tokens
}

// -----

// expected-error @+1 {{pattern @typo has no parameter 'window'; did you mean 'windows'?}}
sattn.pattern @typo(windows = 4, sink = 4) block = 64 {
  sattn.window #sattn.param<"windows"> blocks
}

// -----

// expected-error @+1 {{pattern @far has no parameter 'window'; its parameters are: block, sink}}
sattn.pattern @far(sink = 4, block = 64) block = #sattn.param<"block"> {
  sattn.sink #sattn.param<"sink">
}

// -----

// A float parameter accepts the text, and the value out of range is reported
// by the primitive's verifier at the primitive.
sattn.pattern @frac(window = 0.5) block = 64 causal {
  // expected-error @+1 {{'sattn.window' op attribute 'size' (parameter 'window') must be in (0, 1], got 3.500000e+00}}
  sattn.window #sattn.param<"window"> fraction
}

// -----

sattn.pattern @stripes(window = 0.5) block = 64 causal {
  // expected-error @+1 {{'sattn.stripes' op attribute 'window_frac' (parameter 'window') must be in (0, 1], got 3.500000e+00}}
  sattn.stripes segments = 8, rows = 64, cover = 0.5, window_frac = #sattn.param<"window">
}

//--- range.mlir
sattn.pattern @blocks(window = 5) block = 64 causal {
  // expected-error @+1 {{'sattn.window' op attribute 'size' (parameter 'window') must be >= 1, got 0}}
  sattn.window #sattn.param<"window"> blocks
}

// -----

// 0 is in range for the window of tree_search.
sattn.pattern @hip(window = 256) block = 64 causal {
  sattn.tree_search block_q = 64, block_k = 2, k = 512, q_stride = 2, sink = 16, window = #sattn.param<"window">
}

// -----

// A sattn.param read in a predicate is checked only by the ops that use it.
sattn.pattern @keep(window = 8) block = 64 causal {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %w = sattn.param "window"
    %d = arith.subi %q, %k : i64
    %in = arith.cmpi slt, %d, %w : i64
    sattn.yield %in : i1
  }
}

// -----

// The pattern's own block is checked at the pattern.
// expected-error @+1 {{'sattn.pattern' op attribute 'block' (parameter 'window') must be >= 1, got 0}}
sattn.pattern @block(window = 64) block = #sattn.param<"window"> {
  sattn.sink 1
}

//--- overflow.mlir
// expected-error @+1 {{parameter 'window' of pattern @p needs a 64-bit integer; '99999999999999999999' does not fit}}
sattn.pattern @p(window = 5) block = 64 {
  sattn.window #sattn.param<"window"> tokens
}

//--- malformed.mlir
// expected-error @+1 {{sattn-specialize: expected NAME=VALUE, got 'window'}}
module {
  sattn.pattern @p(window = 5) block = 64 {
    sattn.window #sattn.param<"window"> tokens
  }
}

//--- no-name.mlir
// expected-error @+1 {{sattn-specialize: expected NAME=VALUE, got '=3'}}
module {
  sattn.pattern @p(window = 5) block = 64 {
    sattn.window #sattn.param<"window"> tokens
  }
}

//--- no-value.mlir
// expected-error @+1 {{sattn-specialize: expected NAME=VALUE, got 'window='}}
module {
  sattn.pattern @p(window = 5) block = 64 {
    sattn.window #sattn.param<"window"> tokens
  }
}

//--- no-pattern.mlir
// expected-error @+1 {{sattn-specialize: no pattern named @nope}}
module {
  sattn.pattern @p(window = 5) block = 64 {
    sattn.window #sattn.param<"window"> tokens
  }
}
