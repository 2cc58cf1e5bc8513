// RUN: sattn-opt %s -split-input-file -verify-diagnostics

// Regression: the batch check compares every pair of q, k and v (a dynamic k
// batch once hid a q/v mismatch) and prints dynamic sizes as '?'.

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x4x8x64xf16>, %k: tensor<?x4x8x64xf16>, %v: tensor<2x4x8x64xf16>) {
  // expected-error @+1 {{batch sizes differ: q 1, k ?, v 2}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x4x8x64xf16>, tensor<?x4x8x64xf16>, tensor<2x4x8x64xf16>) -> (tensor<1x4x8x64xf16>, tensor<1x4x8xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x4x8x64xf16>, %k: tensor<2x4x8x64xf16>, %v: tensor<?x4x8x64xf16>) {
  // expected-error @+1 {{batch sizes differ: q 1, k 2, v ?}}
  %o, %l = sattn.attention @p(%q, %k, %v) : (tensor<1x4x8x64xf16>, tensor<2x4x8x64xf16>, tensor<?x4x8x64xf16>) -> (tensor<1x4x8x64xf16>, tensor<1x4x8xf32>)
  return
}
