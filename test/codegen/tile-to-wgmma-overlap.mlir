// RUN: sattn-opt %s --sattn-build-schedule --sattn-tile-attention=wgmma=true --sattn-pipeline-chunks=overlap-products=true --sattn-convert-tile-to-wgmma --sattn-convert-tile-to-mma-sync --sattn-convert-tile-to-rows --sattn-convert-kernels-to-gpu | FileCheck %s
// The overlapped pipeline (sattn-pipeline-chunks' overlap-products) as the
// wgmma kernel it becomes: K and V staged in two slots each (twice the
// plain tile's 4096 elements at head dim 64); Q·Kᵀ waited for with one
// product still in flight (P·V of the chunk before, issued after it), P·V
// waited for with none; the probabilities cross the loop's back edge as
// the sixteen packed A words, the p > 0 bits of both rows and the
// chunk's mask flag.
sattn.pattern @streaming() block = 64 causal {
  sattn.sink 16
  sattn.window 128 tokens
}
sattn.kernel @streaming {heads = 4, kv_heads = 2, head_dim = 64, element_type = bf16, target = #sattn.target<gpu>}

// CHECK-LABEL: gpu.func @sattn_attention(
// CHECK-SAME: workgroup(%{{[^ ]+}} : memref<8192xbf16, #gpu.address_space<workgroup>> {llvm.align = 1024 : i64}, %{{[^ ]+}} : memref<8192xbf16, #gpu.address_space<workgroup>> {llvm.align = 1024 : i64}, %{{[^ ]+}} : memref<4096xbf16, #gpu.address_space<workgroup>> {llvm.align = 1024 : i64}
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i1) {
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}p, 1, 1, 0, 0;
// CHECK: "wgmma.commit_group.sync.aligned;"
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {{.*}}p, 1, 1, 1;
// CHECK: "wgmma.commit_group.sync.aligned;"
// CHECK: "wgmma.wait_group.sync.aligned 1;"
// CHECK: "wgmma.wait_group.sync.aligned 0;"
// CHECK: scf.yield
