// RUN: sattn-opt %s -verify-diagnostics

// Regression: a keep predicate argument of the wrong type is named with its
// type (it once read as a wrong argument count).

sattn.pattern @p() block = 4 {
  // expected-error @+1 {{predicate argument 2 (qb) must be i64, got 'i32'}}
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i32, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %t = arith.constant true
    sattn.yield %t : i1
  }
}
