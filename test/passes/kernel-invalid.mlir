// RUN: sattn-opt %s --split-input-file --verify-diagnostics
// RUN: sattn-opt %s --split-input-file --verify-diagnostics --sattn-build-schedule

sattn.pattern @p() block = 64 causal {
  sattn.sink 64
}
// expected-error @+1 {{'sattn.kernel' op kv_heads must be >= 1 and divide heads 6, got 4}}
sattn.kernel @p {heads = 6, kv_heads = 4, head_dim = 64, element_type = f32, target = #sattn.target<cpu>}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.sink 64
}
// expected-error @+1 {{'sattn.kernel' op head_dim must be 32, 64, 80, 96, 128, 192 or 256, got 48}}
sattn.kernel @p {heads = 4, kv_heads = 4, head_dim = 48, element_type = f32, target = #sattn.target<cpu>}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.sink 64
}
// expected-error @+1 {{'sattn.kernel' op element_type must be f16, bf16 or f32, got 'f64'}}
sattn.kernel @p {heads = 4, kv_heads = 4, head_dim = 64, element_type = f64, target = #sattn.target<cpu>}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.sink 64
}
// expected-error @+1 {{expected a target: cpu or gpu; got 'tpu'}}
sattn.kernel @p {heads = 4, kv_heads = 4, head_dim = 64, element_type = f32, target = #sattn.target<tpu>}

// -----

sattn.pattern @p() block = 64 causal {
  sattn.sink 64
}
// expected-error @+1 {{'sattn.kernel' op scale must be a positive finite number, got -1}}
sattn.kernel @p {heads = 4, kv_heads = 4, head_dim = 64, element_type = f32, target = #sattn.target<cpu>, scale = -1.0}

// -----

// expected-error @+1 {{'sattn.kernel' op unknown pattern @missing}}
sattn.kernel @missing {heads = 4, kv_heads = 4, head_dim = 64, element_type = f32, target = #sattn.target<cpu>}

// -----

func.func @f() {
  return
}
// expected-error @+1 {{'sattn.kernel' op @f is a 'func.func', not a sattn.pattern}}
sattn.kernel @f {heads = 4, kv_heads = 4, head_dim = 64, element_type = f32, target = #sattn.target<cpu>}
