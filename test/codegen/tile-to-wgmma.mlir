// RUN: sattn-opt %s -split-input-file --sattn-build-schedule --sattn-tile-attention=wgmma=true --sattn-pipeline-chunks --sattn-convert-tile-to-wgmma --sattn-convert-tile-to-mma-sync --sattn-convert-tile-to-rows --sattn-convert-kernels-to-gpu | FileCheck %s
// The `wgmma` layout (sm_90a) as the GPU kernel it becomes; the last case
// is a head dim wgmma does not take (it keeps `mma_sync`).

// bf16, head dim 64: the tile's queries and K and V chunks of 64 rows in
// 1024-byte aligned swizzled panels; Q·Kᵀ with both operands from shared
// memory; each product fenced, committed and waited for; the staged rows
// fenced for the async proxy before their barrier.
sattn.pattern @streaming() block = 64 causal {
  sattn.sink 16
  sattn.window 128 tokens
}
sattn.kernel @streaming {heads = 4, kv_heads = 2, head_dim = 64, element_type = bf16, target = #sattn.target<gpu>}

// CHECK-LABEL: gpu.func @sattn_attention(
// CHECK-SAME: workgroup(%{{[^ ]+}} : memref<4096xbf16, #gpu.address_space<workgroup>> {llvm.align = 1024 : i64}, %{{[^ ]+}} : memref<4096xbf16, #gpu.address_space<workgroup>> {llvm.align = 1024 : i64}, %{{[^ ]+}} : memref<4096xbf16, #gpu.address_space<workgroup>> {llvm.align = 1024 : i64}, %{{.*}} : memref<64xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: nvvm.inline_ptx "fence.proxy.async.shared::cta;"
// CHECK: llvm.inline_asm has_side_effects {{.*}}"wgmma.fence.sync.aligned;"
// CHECK: "{\0A.reg .pred p;\0Asetp.ne.b32 p, $66, 0;\0Awgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}}, $64, $65, p, 1, 1, 0, 0;\0A}"
// CHECK: nvvm.inline_ptx "wgmma.commit_group.sync.aligned;"
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// P · V: V transposed by the instruction.
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}p, 1, 1, 1;
// CHECK-NOT: ldmatrix
// CHECK-NOT: nvvm.mma.sync

// -----

// Head dim 128: K, V and Q panels of 16 KB each and the key slots pass the
// 48 KB a block may declare statically: views into dynamic shared memory
// at offsets aligned from its base, and the bytes the launch requests
// (49408 + 1024 - 16 of alignment slack).
sattn.pattern @streaming() block = 64 causal {
  sattn.sink 16
  sattn.window 128 tokens
}
sattn.kernel @streaming {heads = 4, kv_heads = 2, head_dim = 128, element_type = bf16, target = #sattn.target<gpu>}

// CHECK-LABEL: gpu.func @sattn_attention(
// CHECK-NOT: workgroup(
// CHECK-SAME: sattn_tile.dynamic_shared_bytes = 50416 : i64
// CHECK: %[[DYN:.+]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: %[[BASE:.+]] = memref.extract_aligned_pointer_as_index %[[DYN]]
// CHECK: %[[NEG:.+]] = arith.subi %{{.+}}, %[[BASE]] : index
// CHECK: %[[PAD:.+]] = arith.andi %[[NEG]], %{{.+}} : index
// CHECK: %[[AT:.+]] = arith.addi %[[PAD]], %{{.+}} : index
// CHECK: memref.view %[[DYN]][%[[AT]]][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<8192xbf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-2: memref.view %[[DYN]][%{{.+}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<8192xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[DYN]][%{{.+}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<64xi32, #gpu.address_space<workgroup>>
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}p, 1, 1, 1;

// -----

// Head dim 32 is not whole 128-byte panels: the warp tile (mma_sync).
sattn.pattern @streaming() block = 64 causal {
  sattn.sink 16
  sattn.window 128 tokens
}
sattn.kernel @streaming {heads = 4, kv_heads = 2, head_dim = 32, element_type = bf16, target = #sattn.target<gpu>}

// CHECK-LABEL: gpu.func @sattn_attention(
// CHECK-NOT: wgmma
// CHECK: nvvm.mma.sync
