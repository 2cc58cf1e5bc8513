// RUN: sattn-opt %s -split-input-file --sattn-build-schedule --sattn-tile-attention --sattn-pipeline-chunks --sattn-convert-tile-to-mma-sync --sattn-convert-tile-to-rows --sattn-convert-kernels-to-gpu | FileCheck %s
// The `mma_sync` layout after pipelining, as the GPU kernel it becomes; the
// last case is a GPU tile too small for tensor cores (the `row` layout).

// bf16, head dim 32: the tensor-core tile. 64-row query tiles, 4 warps of
// 16 rows (128 threads); chunks of 64 keys; K and V rows padded by 8
// elements in shared memory; key indices as i32.
sattn.pattern @streaming() block = 64 causal {
  sattn.sink 16
  sattn.window 128 tokens
}
sattn.kernel @streaming {heads = 4, kv_heads = 2, head_dim = 32, element_type = bf16, target = #sattn.target<gpu>}

// CHECK-LABEL: gpu.func @sattn_attention(
// CHECK-SAME: workgroup(%[[KT:[^ ]+]] : memref<64x40xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[VT:[^ ]+]] : memref<64x40xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<64xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// The per-thread state (query fragments, accumulators, row max and sum)
// lives in buffers indexed by constants only, which LLVM keeps in registers.
// CHECK-DAG: memref.alloca() : memref<1x8xi32>
// CHECK-DAG: memref.alloca() : memref<1x16xf32>
// CHECK-DAG: memref.alloca() : memref<1x2xf32>
// The keys of a range are software-pipelined: the first chunk's K and V
// rows are issued before the loop, as 16-byte asynchronous copies
// (zero-filled for empty slots), one commit group each, when strides and
// pointers allow; otherwise element by element.
// CHECK: nvgpu.device_async_copy %{{.*}}, %[[KT]][%{{.*}}, %{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK: } else {
// CHECK: memref.store %{{.*}}, %[[KT]]
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvgpu.device_async_copy %{{.*}}, %[[VT]][%{{.*}}, %{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK: nvvm.cp.async.commit.group
// Per chunk: S = Q·Kᵀ once K has landed (ldmatrix at immediate offsets from
// one lane base, bf16 m16n8k16 products) ...
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.inline_ptx "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {$0, $1, $2, $3}, [$4+0];"
// CHECK-NEXT: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>{{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>
// ... then the next chunk's K rows load while this one finishes ...
// CHECK: gpu.barrier
// CHECK-NEXT: scf.if
// CHECK: nvgpu.device_async_copy %{{.*}}, %[[KT]]
// CHECK: nvvm.cp.async.commit.group
// ... element masks only on chunks that need them ...
// CHECK: scf.if %{{.*}} -> (f32, f32,
// ... online softmax: the row max over the four lanes of a row, base-2
// exps, and the accumulators rescaled only when some row max of the warp
// moved ...
// CHECK: gpu.shuffle  xor %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK: gpu.shuffle  xor
// CHECK: nvvm.inline_ptx "ex2.approx.ftz.f32 $0, $1;"
// CHECK: nvvm.vote.sync  all
// ... O += P·V once V has landed, V fragments by ldmatrix.trans ...
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// On a masked chunk, non-finite values of V (magnitude bits >= +inf's) are
// zeroed and one barrier ORs the finding over the block; the products run
// on the zeroed tile and the values are added back to the rows whose p > 0.
// CHECK: %[[NONFINITE:.+]] = scf.if %{{.*}} -> (i1) {
// CHECK: vector.load %[[VT]][%{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<64x40xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: arith.cmpi uge, %{{.*}}, %{{.*}} : vector<8xi16>
// CHECK: vector.reduction <or>
// CHECK: vector.store
// CHECK: nvvm.barrier #nvvm.reduction<or>
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: nvvm.inline_ptx "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK: nvvm.mma.sync
// CHECK: scf.if %[[NONFINITE]] {
// CHECK: gpu.shuffle  xor %{{.*}}, %{{.*}}, %{{.*}} : i32
// CHECK: scf.for
// CHECK: arith.cmpf ueq
// ... and the next chunk's V rows load once every warp is done with V.
// CHECK: gpu.barrier
// CHECK-NEXT: scf.if
// CHECK: nvgpu.device_async_copy %{{.*}}, %[[VT]]
// CHECK: nvvm.cp.async.commit.group
// Row sums over the quad, then out (bf16) and lse.
// CHECK: nvvm.inline_ptx "lg2.approx.ftz.f32 $0, $1;"
// CHECK: gpu.return

// -----

// f32: the same tile with three tf32 products per product (hi·hi + hi·lo +
// lo·hi); rows of V padded by 4 floats; chunks of 32 keys.
sattn.pattern @streaming() block = 64 causal {
  sattn.sink 16
  sattn.window 128 tokens
}
sattn.kernel @streaming {heads = 4, kv_heads = 2, head_dim = 32, element_type = f32, target = #sattn.target<gpu>}

// CHECK-LABEL: gpu.func @sattn_attention(
// CHECK-SAME: workgroup(%{{.*}} : memref<32x40xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32x36xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xi32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: nvgpu.device_async_copy {{.*}}, 4, %{{.*}} {bypassL1}
// CHECK: nvvm.inline_ptx "and.b32 $0, $1, -8192;"
// CHECK: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<tf32>{{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 8>
// CHECK-NEXT: llvm.extractvalue
// CHECK: nvvm.mma.sync
// CHECK: nvvm.mma.sync
// CHECK: gpu.return

// -----

// Blocks of 8 tokens make 8-row tiles: the per-row tile (one thread per
// row, Q·Kᵀ as one linalg.matvec and P·V as a loop over the keys with
// p != 0).
sattn.pattern @small() block = 8 causal {
  sattn.sink 8
  sattn.window 3 blocks
}
sattn.kernel @small {heads = 2, kv_heads = 2, head_dim = 64, element_type = f16, target = #sattn.target<gpu>}

// CHECK-LABEL: gpu.func @sattn_attention(
// CHECK-SAME: known_block_size = array<i32: 8, 1, 1>
// CHECK-NOT: nvvm.mma.sync
// CHECK: linalg.matvec
// P·V adds only the keys with p != 0 (a masked key must not add 0 * Inf).
// CHECK: %[[ANY:.+]] = arith.cmpf une, %{{.*}}, %{{.*}} : f32
// CHECK: scf.if %[[ANY]] {
// CHECK: %[[NONZERO:.+]] = arith.cmpf une, %[[P:[^,]+]], %{{.*}} : f32
// CHECK-NEXT: scf.if %[[NONZERO]] {
// CHECK: arith.mulf %[[P]], %{{.*}} : f32
// CHECK: gpu.return

// -----

// With aligned_kv the kernel copies K and V rows with 16-byte copies only:
// no alignment test, no element-wise fallback.
sattn.pattern @streaming() block = 64 causal {
  sattn.sink 16
  sattn.window 128 tokens
}
sattn.kernel @streaming {heads = 4, kv_heads = 2, head_dim = 32, element_type = bf16, target = #sattn.target<gpu>, aligned_kv}

// CHECK-LABEL: gpu.func @sattn_attention(
// CHECK-NOT: memref.extract_aligned_pointer_as_index %{{.*}} : memref<?xbf16>
// CHECK: nvgpu.device_async_copy
// CHECK-NOT: } else {
// CHECK: nvvm.mma.sync
// CHECK: gpu.return
