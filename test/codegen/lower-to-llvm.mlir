// RUN: sattn-opt %s --sattn-build-schedule --sattn-tile-attention --sattn-convert-tile-to-rows --sattn-convert-kernels-to-cpu --sattn-lower-to-llvm | FileCheck %s --check-prefix=CPU
// RUN: sed 's/target = #sattn.target<cpu>/target = #sattn.target<gpu>/' %s | sattn-opt --sattn-build-schedule --sattn-tile-attention --sattn-pipeline-chunks --sattn-convert-tile-to-mma-sync --sattn-convert-kernels-to-gpu --sattn-lower-to-llvm="target=gpu chip=sm_80" | FileCheck %s --check-prefix=NVVM
// RUN: sed 's/target = #sattn.target<cpu>/target = #sattn.target<gpu>/' %s | sattn-opt --sattn-build-schedule --sattn-tile-attention --sattn-pipeline-chunks --sattn-convert-tile-to-mma-sync --sattn-convert-kernels-to-gpu --sattn-lower-to-llvm="target=gpu chip=sm_90a binary=true" | FileCheck %s --check-prefix=PTX
// RUN: not sattn-opt %s --sattn-lower-to-llvm="target=gpu chip=sm_70" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not sattn-opt %s --sattn-lower-to-llvm="target=tpu" 2>&1 | FileCheck %s --check-prefix=TARGET

sattn.pattern @power() block = 64 causal {
  sattn.sink 64
  sattn.window 2 blocks
  sattn.strides pow2
}
sattn.kernel @power {heads = 2, kv_heads = 1, head_dim = 64, element_type = f16, target = #sattn.target<cpu>}

// Only the LLVM dialect remains on the host.
// CPU-LABEL: llvm.func @sattn_attention(
// CPU-NOT: scf.
// CPU-NOT: memref.
// CPU-NOT: linalg.
// CPU: llvm.intr.exp
// CPU: llvm.return

// NVVM: gpu.module @sattn_kernels [#nvvm.target<O = 3, chip = "sm_80", features = "+ptx70">]
// NVVM: llvm.func @sattn_attention(
// NVVM-SAME: gpu.kernel
// NVVM: nvvm.read.ptx.sreg.tid.x
// NVVM: nvvm.barrier0

// PTX: gpu.binary @sattn_kernels
// PTX-SAME: chip = "sm_90a"
// PTX-SAME: .version 8.0
// PTX-SAME: .target sm_90a
// PTX-SAME: .visible .entry sattn_attention(
// PTX-NOT: __nv_

// CHIP: sattn-lower-to-llvm: unknown GPU target 'sm_70'; supported: sm_80, sm_90a
// TARGET: sattn-lower-to-llvm: target must be cpu or gpu, got 'tpu'
