// Each stock pattern of patterns/library parses, verifies and round-trips.
// This file holds only RUN and CHECK lines; the inputs are the library files.

// RUN: sattn-opt %sattn_src/patterns/library/hip.mlir | sattn-opt | FileCheck %s --check-prefix=HIP
// RUN: sattn-opt %sattn_src/patterns/library/pbs.mlir | sattn-opt | FileCheck %s --check-prefix=PBS
// RUN: sattn-opt %sattn_src/patterns/library/power.mlir | sattn-opt | FileCheck %s --check-prefix=POWER
// RUN: sattn-opt %sattn_src/patterns/library/sample.mlir | sattn-opt | FileCheck %s --check-prefix=SAMPLE
// RUN: sattn-opt %sattn_src/patterns/library/sparsek.mlir | sattn-opt | FileCheck %s --check-prefix=SPARSEK
// RUN: sattn-opt %sattn_src/patterns/library/streaming.mlir | sattn-opt | FileCheck %s --check-prefix=STREAMING

// HIP-LABEL: sattn.pattern @hip(block_k = 2, block_q = 64, k = 512, q_stride = 2, sink = 16, window = 256) block = 64 causal {
// HIP-NEXT:    sattn.tree_search block_q = #sattn.param<"block_q">, block_k = #sattn.param<"block_k">, k = #sattn.param<"k">, q_stride = #sattn.param<"q_stride">, sink = #sattn.param<"sink">, window = #sattn.param<"window">
// HIP-NEXT:  }
// HIP-NOT:   sattn.pattern

// PBS-LABEL: sattn.pattern @pbs(alpha = 9.000000e-01, block = 128, probe = 128, segment = 256) block = #sattn.param<"block"> causal {
// PBS-NEXT:    sattn.permute segment = #sattn.param<"segment">, probe = #sattn.param<"probe">, block = #sattn.param<"block">, cover = #sattn.param<"alpha">
// PBS-NEXT:  }
// PBS-NOT:   sattn.pattern

// POWER-LABEL: sattn.pattern @power(block = 256, sink = 256, window = 5) block = #sattn.param<"block"> causal {
// POWER-NEXT:    sattn.sink #sattn.param<"sink">
// POWER-NEXT:    sattn.window #sattn.param<"window"> blocks
// POWER-NEXT:    sattn.strides pow2
// POWER-NEXT:  }
// POWER-NOT:   sattn.pattern

// 0.95 has no short exact f64 spelling, so the printer may spell it in full.
// SAMPLE-LABEL: sattn.pattern @sample(alpha = {{0\.9499999[0-9]*|9\.500000e-01}}, block = 128, rows = 64, segments = 8, window_frac = 5.000000e-02) block = #sattn.param<"block"> causal {
// SAMPLE-NEXT:    sattn.stripes segments = #sattn.param<"segments">, rows = #sattn.param<"rows">, cover = #sattn.param<"alpha">, window_frac = #sattn.param<"window_frac">
// SAMPLE-NEXT:  }
// SAMPLE-NOT:   sattn.pattern

// SPARSEK-LABEL: sattn.pattern @sparsek(k = 2048, window = 1024) block = 128 causal {
// SPARSEK-NEXT:    sattn.window #sattn.param<"window"> tokens
// SPARSEK-NEXT:    sattn.topk k = #sattn.param<"k"> tokens by key_score
// SPARSEK-NEXT:  }
// SPARSEK-NOT:   sattn.pattern

// STREAMING-LABEL: sattn.pattern @streaming(sink = 64, window = 1024) block = 128 causal {
// STREAMING-NEXT:    sattn.sink #sattn.param<"sink">
// STREAMING-NEXT:    sattn.window #sattn.param<"window"> tokens
// STREAMING-NEXT:  }
// STREAMING-NOT:   sattn.pattern
