// sattn-specialize names the parameter that carried an out-of-range value,
// and says so plainly when a pattern has no parameters at all.

// RUN: split-file %s %t
// RUN: sattn-opt %t/range.mlir -verify-diagnostics --sattn-specialize="set=sink=0"
// RUN: sattn-opt %t/none.mlir -verify-diagnostics --sattn-specialize="set=window=3"

//--- range.mlir
sattn.pattern @p(sink = 4) block = 64 causal {
  // expected-error @+1 {{attribute 'tokens' (parameter 'sink') must be >= 1, got 0}}
  sattn.sink #sattn.param<"sink">
}

//--- none.mlir
// expected-error @+1 {{pattern @none has no parameter 'window'; it has no parameters}}
sattn.pattern @none() block = 64 {
  sattn.sink 1
}
