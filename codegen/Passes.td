//===- Passes.td - sattn's per-target conversions -------------------------===//
//
// From the target-independent kernels of passes/ to host code or PTX: each
// tile layout and each target's kernel constructs in a folder of its own.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_CODEGEN_PASSES_TD
#define SATTN_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def SattnConvertTileToRows
    : Pass<"sattn-convert-tile-to-rows", "::mlir::ModuleOp"> {
  let summary = "Lower `row`-layout tiles to per-row loops";
  let description = [{
    Every sattn_tile op of a tile with layout `row`: one `for_rows` row (a
    GPU thread, or a CPU loop iteration) per query row with its running max,
    sum and fp32 accumulator in `alloc_private` buffers; K and V rows staged
    as f32 in `alloc_shared` buffers by `coop_for` loops; per row one
    `linalg.matvec` for Q·Kᵀ and one `linalg.vecmat` for P·V.

    `sattn_tile.dots` in the row layout: one result per iteration of a
    cooperative loop, its products added in order over d (the oracle's
    order); with `dots-by-depth`, each row's results are added depth by
    depth instead, every result's sum still in order over d, so that the
    loop over a row's results has independent additions (a CPU vectorises
    it without reassociation).

    Example: `sattn-opt --sattn-tile-attention --sattn-convert-tile-to-rows`.
  }];
  let options = [
    Option<"dotsByDepth", "dots-by-depth", "bool", /*default=*/"false",
           "Add each row's dots depth by depth (the CPU pipeline)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def SattnConvertTileToMmaSync
    : Pass<"sattn-convert-tile-to-mma-sync", "::mlir::ModuleOp"> {
  let summary = "Lower `mma_sync`-layout tiles to warp tensor-core code";
  let description = [{
    Every sattn_tile op of a tile with layout `mma_sync`: 16 query rows per
    warp; K and V chunks copied to shared memory with
    `nvgpu.device_async_copy` (16 bytes, zero-filled; element copies when
    the call's strides or pointers do not allow them) in commit groups; B
    fragments by `ldmatrix` (inline PTX at immediate offsets from one base
    per lane); Q·Kᵀ and P·V as `nvvm.mma.sync` (bf16/f16 operands, or f32 as
    three tf32 products); the online softmax in base 2 with the state in
    registers.

    Example: `sattn-opt --sattn-pipeline-chunks --sattn-convert-tile-to-mma-sync`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def SattnConvertTileToWgmma
    : Pass<"sattn-convert-tile-to-wgmma", "::mlir::ModuleOp"> {
  let summary = "Lower `wgmma`-layout tiles to Hopper warpgroup products";
  let description = [{
    Every sattn_tile op of a tile with layout `wgmma` (sm_90a, bf16/f16):
    the per-warp fragments, masks, softmax and copies of the `mma_sync`
    layout, with K and V staged in 128-byte-swizzled panels of 1024-byte
    aligned shared buffers (fenced for the async proxy), Q·Kᵀ as
    `wgmma.mma_async` m64nCk16 with the query fragments from registers and
    P·V as m64nDk16 with P from registers and V transposed by the
    instruction, each product fenced and waited for in inline PTX.

    Example: `sattn-opt --sattn-pipeline-chunks --sattn-convert-tile-to-wgmma`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def SattnConvertKernelsToCpu
    : Pass<"sattn-convert-kernels-to-cpu", "::mlir::ModuleOp"> {
  let summary = "Lower sattn_tile's kernel constructs to host loops";
  let description = [{
    In every kernel function (`sattn_tile.threads`): `for_items` becomes an
    scf.for over the launch's work items, `for_rows` a loop over the rows
    (the row's private slot is its index), `coop_for` a loop, `thread_id`
    0, `barrier` nothing, and `alloc_shared` / `alloc_private` stack
    buffers.

    Example: `sattn-opt --sattn-convert-tile-to-rows --sattn-convert-kernels-to-cpu`.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def SattnConvertKernelsToGpu
    : Pass<"sattn-convert-kernels-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Lower kernel functions to gpu.func kernels";
  let description = [{
    Moves every kernel function (`sattn_tile.threads`) into the
    `sattn_kernels` gpu.module as a `gpu.func` kernel of that many threads,
    then: `for_items` is one work item per thread block, `for_rows` one row
    per thread, `coop_for` a loop strided by the block's threads,
    `thread_id` the thread index, `barrier` gpu.barrier, `alloc_shared` a
    16-byte aligned workgroup buffer, `alloc_private` a per-thread buffer
    of one row; f32 exp, exp2, log and log2 become `ex2.approx` and
    `lg2.approx` (so no libdevice call is needed).

    Example: `sattn-opt --sattn-convert-tile-to-mma-sync --sattn-convert-kernels-to-gpu`.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def SattnLowerToLLVM : Pass<"sattn-lower-to-llvm", "::mlir::ModuleOp"> {
  let summary = "Lower the kernel functions to the LLVM or NVVM dialect";
  let description = [{
    Runs after the tile and kernel conversions. `target=cpu`: linalg to
    loops, then scf, math, memref, arith, index, func and cf to the LLVM
    dialect (host code for the ORC JIT). `target=gpu`: the same loops inside
    the `sattn_kernels` GPU module, converted to NVVM for the given `chip`
    (sm_80 or sm_90a; the PTX features follow from it), and, with
    `binary=true`, serialised to PTX by the NVPTX back-end (`gpu.binary`).

    Example: `sattn-opt --sattn-lower-to-llvm="target=gpu chip=sm_90a"`.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "cpu or gpu">,
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "GPU target: sm_80 or sm_90a">,
    Option<"binary", "binary", "bool", /*default=*/"false",
           "GPU: also serialise the module to PTX">,
    Option<"libdevice", "libdevice", "std::string", /*default=*/"\"\"",
           "GPU: libdevice bitcode linked for f64 math (empty: none; f32 "
           "exp/log never need it)">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // SATTN_CODEGEN_PASSES_TD
