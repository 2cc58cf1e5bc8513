// RUN: sattn-opt %s -split-input-file -verify-diagnostics

// The verifiers of run-time integer inputs (#sattn.input, sattn.read_input).

// expected-error @+1 {{input 'doc' is declared twice}}
sattn.pattern @p() block = 4 inputs = [#sattn.input<"doc", ["b", "s"]>, #sattn.input<"doc", ["b"]>] {
  sattn.sink 1
}

// -----

// expected-error @+1 {{dimension "t" of input 'doc' must be "b", "h", "s" or a size >= 1}}
sattn.pattern @p() block = 4 inputs = [#sattn.input<"doc", ["b", "t"]>] {
  sattn.sink 1
}

// -----

// expected-error @+1 {{dimension 0 : i64 of input 'doc' must be "b", "h", "s" or a size >= 1}}
sattn.pattern @p() block = 4 inputs = [#sattn.input<"doc", [0]>] {
  sattn.sink 1
}

// -----

// expected-error @+1 {{input 'doc' needs at least one dimension}}
sattn.pattern @p() block = 4 inputs = [#sattn.input<"doc", []>] {
  sattn.sink 1
}

// -----

// expected-error @+1 {{input name 'a-b' must be an identifier}}
sattn.pattern @p() block = 4 inputs = [#sattn.input<"a-b", ["b"]>] {
  sattn.sink 1
}

// -----

sattn.pattern @p() block = 4 inputs = [#sattn.input<"doc", ["b", "s"]>] {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    // expected-error @+1 {{reads input 'dox', which pattern @p does not declare}}
    %d = sattn.read_input "dox" ["b", "q"]
    %c = arith.cmpi eq, %d, %k : i64
    sattn.yield %c : i1
  }
}

// -----

sattn.pattern @p() block = 4 inputs = [#sattn.input<"doc", ["b", "s"]>] {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    // expected-error @+1 {{input 'doc' has 2 dimensions, read with 1 indices}}
    %d = sattn.read_input "doc" ["q"]
    %c = arith.cmpi eq, %d, %k : i64
    sattn.yield %c : i1
  }
}

// -----

sattn.pattern @p() block = 4 inputs = [#sattn.input<"doc", ["b", "s"]>] {
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    // expected-error @+1 {{index 'kb' of input 'doc' must be b, h, q or k}}
    %d = sattn.read_input "doc" ["b", "kb"]
    %c = arith.cmpi eq, %d, %k : i64
    sattn.yield %c : i1
  }
}

// -----

// expected-error @+1 {{'sattn.batch_index' op expects parent op 'sattn.keep'}}
%b = sattn.batch_index
