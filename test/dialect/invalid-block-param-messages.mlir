// RUN: sattn-opt %s -split-input-file -verify-diagnostics

// Regression: errors about a pattern's `block` given as a parameter name the
// parameter, as the primitives' errors do.

// expected-error @+1 {{attribute 'block' (parameter 'b') must be >= 1, got 0}}
sattn.pattern @p(b = 0) block = #sattn.param<"b"> {
  sattn.sink 1
}

// -----

// expected-error @+1 {{attribute 'block' needs an integer but parameter 'f' defaults to 5.000000e-01 : f64}}
sattn.pattern @p(f = 0.5) block = #sattn.param<"f"> {
  sattn.sink 1
}
