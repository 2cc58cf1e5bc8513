//===- Passes.td - sattn passes ------------------------------------------===//

#ifndef SATTN_PASSES_TD
#define SATTN_PASSES_TD

include "mlir/Pass/PassBase.td"

def SattnSpecialize : Pass<"sattn-specialize", "::mlir::ModuleOp"> {
  let summary = "Bind pattern parameters to values";
  let description = [{
    Replaces every `#sattn.param` reference and `sattn.param` op of the chosen
    patterns by its value: an override given with `set`, else the default the
    pattern declares. The pattern's parameter list then records the bound
    values. Overrides that name an unknown parameter, or give a value of the
    wrong kind, are errors at the pattern's location; values out of range are
    reported by the primitive's verifier at the primitive's location.

    Example: `sattn-opt --sattn-specialize="pattern=power set=window=3"`.
  }];
  let options = [
    Option<"patternName", "pattern", "std::string", /*default=*/"\"\"",
           "Pattern to specialise (default: every pattern in the module)">,
    ListOption<"overrides", "set", "std::string",
               "Parameter overrides NAME=VALUE">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}


def SattnBuildSchedule : Pass<"sattn-build-schedule", "::mlir::ModuleOp"> {
  let summary = "Plan each kernel request: tiles, key enumerators, stages";
  let description = [{
    For every `sattn.kernel`, reads its bound pattern and attaches a
    `schedule` dictionary: the query tile (`tile_q` rows, aligned to
    absolute positions or, for tree_search, to local indices), the key chunk
    (`tile_k`), the key enumerators in visiting order (static primitives as
    closed-form walks, then the dynamic one as a workspace list) and the
    selection stages that fill those lists, each with its function name and
    launch grid. Patterns that are not bound, or that combine primitives the
    compiler does not support yet, are errors at the request.

    Example: `sattn-opt --sattn-specialize --sattn-build-schedule`.
  }];
}

def SattnLowerSelection : Pass<"sattn-lower-selection", "::mlir::ModuleOp"> {
  let summary = "Emit the selection stages of each kernel as loops";
  let description = [{
    For every scheduled `sattn.kernel`, emits one function per selection
    stage (stripes, tree_search, topk, permute) with `scf` loops over the
    workspace: a `func.func` for the `cpu` target, a `gpu.func` kernel in
    the `sattn_kernels` GPU module for `gpu`. Every function has the kernel
    calling convention of docs/lowering.md.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def SattnTileAttention : Pass<"sattn-tile-attention", "::mlir::ModuleOp"> {
  let summary = "Emit the tiled online-softmax attention of each kernel";
  let description = [{
    For every scheduled `sattn.kernel`, emits the attention function: one
    work item per (batch, query head, query tile); the pattern's key sources
    walk their keys in chunks; online softmax in fp32; out and lse written
    once. Element masks are evaluated only on chunks that need them (partial
    blocks, the causal edge, keys an earlier source holds).

    On the GPU, for head dims that are multiples of 16 and query tiles of
    multiples of 16 rows, the tile is computed with tensor cores: 16 query
    rows per warp, K and V chunks copied to shared memory with
    `nvgpu.device_async_copy`, B fragments by `ldmatrix` (inline PTX, at
    immediate offsets from one base per lane), Q·Kᵀ and P·V as
    `nvvm.mma.sync` (bf16/f16 operands, or f32 as three tf32 products), and
    the softmax state in registers. Otherwise (and on the CPU) one thread or
    loop iteration per row: Q·Kᵀ as one `linalg.matvec` and P·V as one
    `linalg.vecmat` on the staged tile.
    Then erases the request and the patterns, leaving only kernel functions.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def SattnLowerToLLVM : Pass<"sattn-lower-to-llvm", "::mlir::ModuleOp"> {
  let summary = "Lower the kernel functions to the LLVM or NVVM dialect";
  let description = [{
    `target=cpu`: linalg to loops, then scf, math, memref, arith, index,
    func and cf to the LLVM dialect (host code for the ORC JIT).
    `target=gpu`: the same loops inside the GPU module, converted to NVVM
    with the given `chip` (sm_80 or sm_90a), and, with `binary=true`,
    serialised to PTX by the NVPTX back-end (`gpu.binary`).
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

#endif // SATTN_PASSES_TD
