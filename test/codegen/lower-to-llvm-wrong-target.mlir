// A GPU kernel lowered with the CPU pipeline: the upstream memref conversion
// reports an error but succeeds, leaving half-converted IR; sattn-opt used
// to print the error and exit 0 (issue 21 D10). It must fail, naming the op
// left behind.
// RUN: sed 's/target = #sattn.target<cpu>/target = #sattn.target<gpu>/' %s | not sattn-opt --sattn-build-schedule --sattn-tile-attention --sattn-pipeline-chunks --sattn-convert-tile-to-mma-sync --sattn-convert-kernels-to-gpu --sattn-lower-to-llvm 2>&1 | FileCheck %s

sattn.pattern @power() block = 64 causal {
  sattn.sink 64
  sattn.window 2 blocks
  sattn.strides pow2
}
sattn.kernel @power {heads = 2, kv_heads = 1, head_dim = 64, element_type = f16, target = #sattn.target<cpu>}

// CHECK: error: conversion of memref memory space #gpu.address_space<workgroup> to integer address space failed
