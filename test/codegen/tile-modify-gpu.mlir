// RUN: sattn-opt %s --sattn-build-schedule --sattn-tile-attention="wgmma=1" --sattn-pipeline-chunks | FileCheck %s --check-prefix=PIPE
// RUN: sattn-opt %s --sattn-build-schedule --sattn-tile-attention="wgmma=1" --sattn-pipeline-chunks --sattn-convert-tile-to-wgmma | FileCheck %s --check-prefix=WGMMA
// RUN: sattn-opt %s --sattn-build-schedule --sattn-tile-attention --sattn-pipeline-chunks --sattn-convert-tile-to-mma-sync | FileCheck %s --check-prefix=MMA
// Score modifiers on the tensor-core tiles: the chunk loops stay pipelined
// with the modify between mask and softmax, and each layout applies the
// region per fragment element to the scaled score, scaling back for its
// base-2 softmax.

sattn.pattern @capped() block = 64 causal softcap = 30.0 alibi {
  sattn.window 256 tokens
}
sattn.kernel @capped {heads = 4, kv_heads = 2, head_dim = 64, element_type = bf16, target = #sattn.target<gpu>}

// PIPE: sattn_tile.for_chunks %{{.*}} pipelined
// PIPE: %[[M:.+]] = sattn_tile.mask
// PIPE: %[[MOD:.+]] = sattn_tile.modify %{{.*}}, %{{.*}}, %[[M]]
// PIPE: math.tanh
// PIPE: sattn_tile.softmax %{{.*}}, %[[MOD]]

// WGMMA-NOT: sattn_tile.modify
// WGMMA: wgmma.mma_async
// WGMMA: math.tanh
// WGMMA: arith.sitofp

// MMA-NOT: sattn_tile.modify
// MMA: nvvm.mma.sync
// MMA: math.tanh
// MMA: arith.sitofp

