// RUN: sattn-opt %s -canonicalize -split-input-file | FileCheck %s

// Folds of dialect/SattnCanonicalize.cpp.

// CHECK-LABEL: sattn.pattern @merge_sinks() block = 64 causal {
// CHECK-NEXT:    sattn.window 128 tokens
// CHECK-NEXT:    sattn.sink 16
// CHECK-NEXT:  }
sattn.pattern @merge_sinks() block = 64 causal {
  sattn.sink 4
  sattn.window 128 tokens
  sattn.sink 16
}

// -----

// CHECK-LABEL: sattn.pattern @merge_sinks_larger_first() block = 64 {
// CHECK-NEXT:    sattn.sink 32
// CHECK-NEXT:  }
sattn.pattern @merge_sinks_larger_first() block = 64 {
  sattn.sink 32
  sattn.sink 8
  sattn.sink 31
}

// -----

// Two equal sinks leave exactly one.
// CHECK-LABEL: sattn.pattern @equal_sinks() block = 64 {
// CHECK-NEXT:    sattn.sink 8
// CHECK-NEXT:  }
sattn.pattern @equal_sinks() block = 64 {
  sattn.sink 8
  sattn.sink 8
}

// -----

// Folds stay inside one pattern.
// CHECK-LABEL: sattn.pattern @first() block = 64 {
// CHECK-NEXT:    sattn.sink 4
// CHECK-NEXT:  }
// CHECK-LABEL: sattn.pattern @second() block = 64 {
// CHECK-NEXT:    sattn.sink 8
// CHECK-NEXT:  }
sattn.pattern @first() block = 64 {
  sattn.sink 4
}
sattn.pattern @second() block = 64 {
  sattn.sink 8
}

// -----

// CHECK-LABEL: sattn.pattern @merge_token_windows() block = 64 causal {
// CHECK-NEXT:    sattn.window 1024 tokens
// CHECK-NEXT:  }
sattn.pattern @merge_token_windows() block = 64 causal {
  sattn.window 1024 tokens
  sattn.window 256 tokens
}

// -----

// CHECK-LABEL: sattn.pattern @merge_block_windows() block = 64 causal {
// CHECK-NEXT:    sattn.window 5 blocks
// CHECK-NEXT:  }
sattn.pattern @merge_block_windows() block = 64 causal {
  sattn.window 2 blocks
  sattn.window 5 blocks
  sattn.window 3 blocks
}

// -----

// CHECK-LABEL: sattn.pattern @merge_fraction_windows() block = 64 causal {
// CHECK-NEXT:    sattn.window 2.500000e-01 fraction
// CHECK-NEXT:  }
sattn.pattern @merge_fraction_windows() block = 64 causal {
  sattn.window 0.25 fraction
  sattn.window 0.125 fraction
}

// -----

// Of two equal windows, one survives.
// CHECK-LABEL: sattn.pattern @equal_windows() block = 64 causal {
// CHECK-NEXT:    sattn.window 64 tokens
// CHECK-NEXT:  }
sattn.pattern @equal_windows() block = 64 causal {
  sattn.window 64 tokens
  sattn.window 64 tokens
}

// -----

// Windows of different units are not nested; all of them stay.
// CHECK-LABEL: sattn.pattern @windows_of_different_units() block = 64 causal {
// CHECK-NEXT:    sattn.window 1024 tokens
// CHECK-NEXT:    sattn.window 2 blocks
// CHECK-NEXT:    sattn.window 5.000000e-01 fraction
// CHECK-NEXT:  }
sattn.pattern @windows_of_different_units() block = 64 causal {
  sattn.window 1024 tokens
  sattn.window 2 blocks
  sattn.window 0.5 fraction
}

// -----

// In a causal pattern, a window of the whole key length keeps every causal
// key, so a sink adds nothing.
// CHECK-LABEL: sattn.pattern @sink_under_whole_window() block = 64 causal {
// CHECK-NOT:     sattn.sink
// CHECK-NEXT:    sattn.window 1.000000e+00 fraction
// CHECK-NEXT:  }
sattn.pattern @sink_under_whole_window() block = 64 causal {
  sattn.sink 64
  sattn.window 1.0 fraction
}

// -----

// The integer spelling of fraction 1 folds the same way.
// CHECK-LABEL: sattn.pattern @sink_under_whole_window_int() block = 64 causal {
// CHECK-NEXT:    sattn.window 1 fraction
// CHECK-NEXT:  }
sattn.pattern @sink_under_whole_window_int() block = 64 causal {
  sattn.window 1 fraction
  sattn.sink 64
}

// -----

// Without causality the window does not reach keys after the query, but the
// sink may: the sink stays.
// CHECK-LABEL: sattn.pattern @sink_non_causal() block = 64 {
// CHECK-NEXT:    sattn.sink 64
// CHECK-NEXT:    sattn.window 1.000000e+00 fraction
// CHECK-NEXT:  }
sattn.pattern @sink_non_causal() block = 64 {
  sattn.sink 64
  sattn.window 1.0 fraction
}

// -----

// A window of less than the whole key length keeps the sink.
// CHECK-LABEL: sattn.pattern @sink_under_partial_window() block = 64 causal {
// CHECK-NEXT:    sattn.sink 64
// CHECK-NEXT:    sattn.window 5.000000e-01 fraction
// CHECK-NEXT:  }
sattn.pattern @sink_under_partial_window() block = 64 causal {
  sattn.sink 64
  sattn.window 0.5 fraction
}

// -----

// `strides every 1` keeps every earlier block, pow2 included.
// CHECK-LABEL: sattn.pattern @pow2_under_every_one() block = 64 causal {
// CHECK-NOT:     sattn.strides pow2
// CHECK-NEXT:    sattn.strides every 1
// CHECK-NEXT:  }
sattn.pattern @pow2_under_every_one() block = 64 causal {
  sattn.strides pow2
  sattn.strides every 1
}

// -----

// CHECK-LABEL: sattn.pattern @pow2_beside_every_two() block = 64 causal {
// CHECK-NEXT:    sattn.strides pow2
// CHECK-NEXT:    sattn.strides every 2
// CHECK-NEXT:  }
sattn.pattern @pow2_beside_every_two() block = 64 causal {
  sattn.strides pow2
  sattn.strides every 2
}

// -----

// CHECK-LABEL: sattn.pattern @sort_strides() block = 64 causal {
// CHECK-NEXT:    sattn.strides [1, 3, 9]
// CHECK-NEXT:  }
sattn.pattern @sort_strides() block = 64 causal {
  sattn.strides [9, 1, 3]
}

// -----

// Two stride lists merge into the first, sorted and without duplicates.
// CHECK-LABEL: sattn.pattern @merge_strides() block = 64 causal {
// CHECK-NEXT:    sattn.strides [0, 2, 4, 8]
// CHECK-NEXT:    sattn.window 1 blocks
// CHECK-NEXT:  }
sattn.pattern @merge_strides() block = 64 causal {
  sattn.strides [8, 2]
  sattn.window 1 blocks
  sattn.strides [4, 2, 0]
}

// -----

// Lists do not merge into `every` or `pow2` strides.
// CHECK-LABEL: sattn.pattern @lists_and_kinds() block = 64 causal {
// CHECK-NEXT:    sattn.strides pow2
// CHECK-NEXT:    sattn.strides every 3
// CHECK-NEXT:    sattn.strides [2, 5]
// CHECK-NEXT:  }
sattn.pattern @lists_and_kinds() block = 64 causal {
  sattn.strides pow2
  sattn.strides every 3
  sattn.strides [5, 2]
}

// -----

// pow2 beside `every 1` goes, and a list beside them stays.
// CHECK-LABEL: sattn.pattern @pow2_every_one_and_list() block = 64 causal {
// CHECK-NEXT:    sattn.strides every 1
// CHECK-NEXT:    sattn.strides [3]
// CHECK-NEXT:  }
sattn.pattern @pow2_every_one_and_list() block = 64 causal {
  sattn.strides every 1
  sattn.strides pow2
  sattn.strides [3]
}

// -----

// CHECK-LABEL: sattn.pattern @sort_columns() block = 64 {
// CHECK-NEXT:    sattn.columns [0, 3, 7]
// CHECK-NEXT:  }
sattn.pattern @sort_columns() block = 64 {
  sattn.columns [7, 0, 3]
}

// -----

// Two column lists merge into the first, sorted and without duplicates.
// CHECK-LABEL: sattn.pattern @merge_columns() block = 64 {
// CHECK-NEXT:    sattn.columns [0, 2, 5, 9]
// CHECK-NEXT:    sattn.sink 1
// CHECK-NEXT:  }
sattn.pattern @merge_columns() block = 64 {
  sattn.columns [9, 2]
  sattn.sink 1
  sattn.columns [5, 2, 0]
}

// -----

// CHECK-LABEL: sattn.pattern @sort_diagonals() block = 64 {
// CHECK-NEXT:    sattn.diagonals [-4, -1, 0, 16]
// CHECK-NEXT:  }
sattn.pattern @sort_diagonals() block = 64 {
  sattn.diagonals [16, 0, -1, -4]
}

// -----

// CHECK-LABEL: sattn.pattern @merge_diagonals() block = 64 {
// CHECK-NEXT:    sattn.diagonals [-2, 0, 1, 16]
// CHECK-NEXT:  }
sattn.pattern @merge_diagonals() block = 64 {
  sattn.diagonals [0, 16]
  sattn.diagonals [1, -2, 0]
  sattn.diagonals [16]
}

// -----

// Columns and diagonals are different lists: they do not merge.
// CHECK-LABEL: sattn.pattern @columns_and_diagonals() block = 64 {
// CHECK-NEXT:    sattn.columns [1, 2]
// CHECK-NEXT:    sattn.diagonals [1, 2]
// CHECK-NEXT:  }
sattn.pattern @columns_and_diagonals() block = 64 {
  sattn.columns [2, 1]
  sattn.diagonals [2, 1]
}

// -----

// Primitives whose values are parameter references are left alone, even when
// the defaults would allow a fold.
// CHECK-LABEL: sattn.pattern @params_left_alone(f = 1.000000e+00, one = 1, s = 4, w = 64) block = 64 causal {
// CHECK-NEXT:    sattn.sink #sattn.param<"s">
// CHECK-NEXT:    sattn.sink #sattn.param<"s">
// CHECK-NEXT:    sattn.sink 2
// CHECK-NEXT:    sattn.window #sattn.param<"w"> tokens
// CHECK-NEXT:    sattn.window 16 tokens
// CHECK-NEXT:    sattn.window #sattn.param<"f"> fraction
// CHECK-NEXT:    sattn.strides pow2
// CHECK-NEXT:    sattn.strides every #sattn.param<"one">
// CHECK-NEXT:  }
sattn.pattern @params_left_alone(s = 4, w = 64, f = 1.0, one = 1) block = 64 causal {
  sattn.sink #sattn.param<"s">
  sattn.sink #sattn.param<"s">
  sattn.sink 2
  sattn.window #sattn.param<"w"> tokens
  sattn.window 16 tokens
  sattn.window #sattn.param<"f"> fraction
  sattn.strides pow2
  sattn.strides every #sattn.param<"one">
}
