// RUN: sattn-opt %s -split-input-file -verify-diagnostics

// Regression: tensors with 0 heads are rejected (0 key/value heads once
// crashed the verifier with SIGFPE; 0 query heads were accepted).

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x8x128x64xf16>, %k: tensor<1x0x128x64xf16>) {
  // expected-error @+1 {{key/value heads must be >= 1, got 0}}
  %o, %l = sattn.attention @p(%q, %k, %k) : (tensor<1x8x128x64xf16>, tensor<1x0x128x64xf16>, tensor<1x0x128x64xf16>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.window 128 tokens
}
func.func @f(%q: tensor<1x0x128x64xf16>, %k: tensor<1x8x128x64xf16>) {
  // expected-error @+1 {{query heads must be >= 1, got 0}}
  %o, %l = sattn.attention @p(%q, %k, %k) : (tensor<1x0x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>) -> (tensor<1x0x128x64xf16>, tensor<1x0x128xf32>)
  return
}
