//===- KernelCompiler.cpp - Bound pattern to host object or PTX -----------===//

#include "codegen/KernelCompiler.h"

#include "codegen/GpuTarget.h"
#include "codegen/Passes.h"
#include "passes/Passes.h"
#include "passes/PrimitiveInterfaces.h"
#include "passes/Schedule.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include <mutex>

using namespace sattn;
using llvm::createStringError;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace ir = mlir::sattn;

static constexpr const char *kStageNames[] = {
    "request",   "schedule", "selection", "tile",
    "pipelined", "kernels",  "llvm",      "binary"};

StringRef sattn::loweringStageName(LoweringStage stage) {
  return kStageNames[unsigned(stage)];
}

std::optional<LoweringStage> sattn::parseLoweringStage(StringRef name) {
  for (unsigned i = 0; i < std::size(kStageNames); ++i)
    if (name == kStageNames[i])
      return LoweringStage(i);
  return std::nullopt;
}

StringRef sattn::loweringStageNames() {
  return "request|schedule|selection|tile|pipelined|kernels|llvm|binary";
}

void sattn::registerCodegenDialects(mlir::DialectRegistry &registry) {
  static std::once_flag passesOnce;
  std::call_once(passesOnce, [] {
    // The lowering pipeline is assembled from pass names.
    mlir::registerAllPasses();
    ir::registerSattnPasses();
    ir::registerSattnCodegenPasses();
  });
  registry.insert<ir::SattnDialect, ir::tile::SattnTileDialect,
                  mlir::affine::AffineDialect, mlir::arith::ArithDialect,
                  mlir::cf::ControlFlowDialect, mlir::func::FuncDialect,
                  mlir::gpu::GPUDialect, mlir::linalg::LinalgDialect,
                  mlir::LLVM::LLVMDialect, mlir::math::MathDialect,
                  mlir::memref::MemRefDialect, mlir::NVVM::NVVMDialect,
                  mlir::nvgpu::NVGPUDialect, mlir::scf::SCFDialect,
                  mlir::vector::VectorDialect>();
  ir::registerPrimitiveModels(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

mlir::OwningOpRef<mlir::ModuleOp>
sattn::buildKernelRequest(ir::PatternOp bound, const ir::KernelShape &shape,
                          StringRef dtype, ir::KernelTarget target,
                          bool alignedKV) {
  mlir::MLIRContext *ctx = bound.getContext();
  mlir::OpBuilder b(ctx);
  mlir::Location loc = bound.getLoc();
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  b.clone(*bound);
  mlir::Type element = dtype == "f16"    ? mlir::Type(b.getF16Type())
                       : dtype == "bf16" ? mlir::Type(b.getBF16Type())
                                         : mlir::Type(b.getF32Type());
  mlir::FloatAttr scale =
      shape.scale != 0 ? b.getF64FloatAttr(shape.scale) : mlir::FloatAttr();
  ir::KernelOp::create(
      b, loc, mlir::FlatSymbolRefAttr::get(ctx, bound.getSymName()),
      b.getI64IntegerAttr(shape.heads), b.getI64IntegerAttr(shape.kvHeads),
      b.getI64IntegerAttr(shape.headDim), mlir::TypeAttr::get(element), scale,
      ir::KernelTargetAttr::get(ctx, target), ir::ScheduleAttr(),
      alignedKV ? b.getUnitAttr() : mlir::UnitAttr());
  return module;
}

Error sattn::lowerKernelModule(mlir::ModuleOp module, ir::KernelTarget target,
                               StringRef chip, LoweringStage stopAfter,
                               LoweringStage from, bool timing) {
  mlir::MLIRContext *ctx = module.getContext();
  std::string messages;
  mlir::ScopedDiagnosticHandler handler(ctx, [&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() == mlir::DiagnosticSeverity::Error) {
      if (!messages.empty())
        messages += "\n";
      messages += diag.str();
    }
    return mlir::success();
  });
  mlir::PassManager pm(ctx);
  if (timing)
    pm.enableTiming();
  auto upTo = [&](LoweringStage stage) {
    return from < stage && stage <= stopAfter;
  };
  if (upTo(LoweringStage::Schedule))
    pm.addPass(ir::createSattnBuildSchedule());
  if (upTo(LoweringStage::Selection))
    pm.addPass(ir::createSattnLowerSelection());
  const bool gpu = target == ir::KernelTarget::gpu;
  if (upTo(LoweringStage::Tile)) {
    ir::SattnTileAttentionOptions options;
    if (gpu && !chip.empty()) {
      llvm::Expected<GpuTarget> chipTarget = parseGpuTarget(chip);
      if (!chipTarget)
        return chipTarget.takeError();
      options.wgmma = chipTarget->warpgroupMma;
    }
    pm.addPass(ir::createSattnTileAttention(options));
  }
  if (upTo(LoweringStage::Pipelined)) {
    ir::SattnPipelineChunksOptions options;
    options.overlapProducts = gpu && wgmmaOverlapEnabled();
    pm.addPass(ir::createSattnPipelineChunks(options));
  }
  if (upTo(LoweringStage::Kernels)) {
    if (gpu) {
      pm.addPass(ir::createSattnConvertTileToWgmma());
      pm.addPass(ir::createSattnConvertTileToMmaSync());
    }
    ir::SattnConvertTileToRowsOptions rows;
    rows.dotsByDepth = !gpu;
    pm.addPass(ir::createSattnConvertTileToRows(rows));
    pm.addPass(gpu ? ir::createSattnConvertKernelsToGpu()
                   : ir::createSattnConvertKernelsToCpu());
  }
  if (upTo(LoweringStage::Lowered)) {
    ir::SattnLowerToLLVMOptions options;
    options.target = gpu ? "gpu" : "cpu";
    options.chip = chip.str();
    options.binary = gpu && upTo(LoweringStage::Binary);
    if (std::optional<CudaToolkit> toolkit = findCudaToolkit())
      options.libdevice = toolkit->libdevice;
    pm.addPass(ir::createSattnLowerToLLVM(options));
  }
  if (mlir::failed(pm.run(module)))
    return createStringError(messages.empty() ? "lowering failed" : messages);
  return Error::success();
}

Expected<std::string> sattn::extractPtx(mlir::ModuleOp module) {
  std::string ptx;
  module.walk([&](mlir::gpu::BinaryOp binary) {
    for (mlir::Attribute attr : binary.getObjects())
      if (auto object = llvm::dyn_cast<mlir::gpu::ObjectAttr>(attr))
        ptx = object.getObject().getValue().str();
  });
  if (ptx.empty())
    return createStringError("the module holds no PTX (lower it to the "
                             "'binary' stage for a GPU target first)");
  size_t extern_ = ptx.find(".extern .func");
  if (extern_ != std::string::npos)
    return createStringError(
        "the PTX calls an unresolved function (" +
        ptx.substr(extern_, ptx.find('\n', extern_) - extern_) +
        "): f64 math needs libdevice from a CUDA toolkit (SATTN_CUDA_ROOT)");
  return ptx;
}

std::string sattn::packedEntryName(StringRef name) {
  return ("_sattn_packed_" + name).str();
}

/// Adds `_sattn_packed_F(void **args)` for every defined function F: args[i]
/// points at F's i-th (LLVM-level) argument, as ExecutionEngine's packed
/// calls and cuLaunchKernel's parameter arrays are laid out.
static void addPackedEntryPoints(llvm::Module &m) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::SmallVector<llvm::Function *> functions;
  for (llvm::Function &f : m)
    if (!f.isDeclaration() && f.getName().starts_with("sattn_"))
      functions.push_back(&f);
  for (llvm::Function *f : functions) {
    auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx),
                                         {llvm::PointerType::get(ctx, 0)},
                                         /*isVarArg=*/false);
    auto *wrapper =
        llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                               packedEntryName(f->getName()), m);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    llvm::SmallVector<llvm::Value *> args;
    for (auto [i, arg] : llvm::enumerate(f->args())) {
      llvm::Value *slot =
          b.CreateConstGEP1_64(b.getPtrTy(), wrapper->getArg(0), i);
      llvm::Value *ptr = b.CreateLoad(b.getPtrTy(), slot);
      args.push_back(b.CreateLoad(arg.getType(), ptr));
    }
    b.CreateCall(f, args);
    b.CreateRetVoid();
  }
}

Expected<std::string>
sattn::emitHostObject(mlir::ModuleOp module,
                      llvm::ArrayRef<std::string> relaxedFloat) {
  static std::once_flag targetOnce;
  std::call_once(targetOnce, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, llvmContext, "sattn_kernel");
  if (!llvmModule)
    return createStringError("translation to LLVM IR failed");
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  builder->setRelocationModel(llvm::Reloc::PIC_);
  auto machine = builder->createTargetMachine();
  if (!machine)
    return machine.takeError();
  llvmModule->setDataLayout((*machine)->createDataLayout());
  llvmModule->setTargetTriple((*machine)->getTargetTriple());
  addPackedEntryPoints(*llvmModule);
  // Reassociation lets the dot products vectorise; infinities stay valid
  // (masked scores are -inf), so no finite-math flags. A selection stage
  // keeps IEEE order: a reassociated or fused dot moves near-tied scores by
  // an ulp, and the candidates they rank then differ from the oracle's.
  for (llvm::Function &f : *llvmModule) {
    if (!llvm::is_contained(relaxedFloat, f.getName()))
      continue;
    for (llvm::Instruction &inst : llvm::instructions(f))
      if (llvm::isa<llvm::FPMathOperator>(inst)) {
        inst.setHasAllowReassoc(true);
        inst.setHasAllowContract(true);
      }
  }
  auto optimize = mlir::makeOptimizingTransformer(3, 0, machine->get());
  if (Error err = optimize(llvmModule.get()))
    return std::move(err);
  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager codegen;
  if ((*machine)->addPassesToEmitFile(codegen, os, nullptr,
                                      llvm::CodeGenFileType::ObjectFile))
    return createStringError("the host target cannot emit object files");
  codegen.run(*llvmModule);
  return std::string(object.begin(), object.end());
}

Expected<std::string> sattn::assemblePtx(StringRef ptx, StringRef chip,
                                         std::string *report) {
  std::optional<CudaToolkit> toolkit = findCudaToolkit();
  if (!toolkit || toolkit->ptxas.empty())
    return createStringError("ptxas not found (set SATTN_CUDA_ROOT to a CUDA "
                             "toolkit)");
  llvm::SmallString<128> ptxPath, cubinPath, logPath;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("sattn", "ptx", ptxPath))
    return llvm::errorCodeToError(ec);
  llvm::sys::fs::createTemporaryFile("sattn", "cubin", cubinPath);
  llvm::sys::fs::createTemporaryFile("sattn", "log", logPath);
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(ptxPath);
    llvm::sys::fs::remove(cubinPath);
    llvm::sys::fs::remove(logPath);
  });
  {
    std::error_code ec;
    llvm::raw_fd_ostream out(ptxPath, ec);
    if (ec)
      return llvm::errorCodeToError(ec);
    out << ptx;
  }
  std::string arch = ("-arch=" + chip).str();
  std::string outFile = std::string(cubinPath);
  llvm::SmallVector<StringRef> argv = {toolkit->ptxas, arch,    "-v",   "-O3",
                                       "-o",           outFile, ptxPath};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath),
                                          StringRef(logPath)};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(toolkit->ptxas, argv, std::nullopt,
                                     redirects, 0, 0, &message);
  auto log = llvm::MemoryBuffer::getFile(logPath);
  std::string logText = log ? (*log)->getBuffer().str() : "";
  if (rc != 0)
    return createStringError("ptxas failed (" + std::to_string(rc) +
                             "): " + message + "\n" + logText);
  if (report)
    *report = logText;
  auto cubin = llvm::MemoryBuffer::getFile(cubinPath, /*IsText=*/false);
  if (!cubin)
    return llvm::errorCodeToError(cubin.getError());
  return (*cubin)->getBuffer().str();
}

Expected<KernelArtifact> sattn::compileKernel(ir::PatternOp bound,
                                              const ir::KernelShape &shape,
                                              StringRef dtype, StringRef target,
                                              bool alignedKV) {
  const bool gpu = target != "cpu";
  ir::KernelTarget kind = gpu ? ir::KernelTarget::gpu : ir::KernelTarget::cpu;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      buildKernelRequest(bound, shape, dtype, kind, alignedKV);
  if (Error err =
          lowerKernelModule(*module, kind, target, LoweringStage::Schedule))
    return std::move(err);
  KernelArtifact artifact;
  {
    // The record comes from the schedule, before the passes erase it.
    ir::KernelOp request = *module->getOps<ir::KernelOp>().begin();
    mlir::FailureOr<ir::KernelRequest> req =
        ir::loadKernelRequest(request, /*withSchedule=*/true);
    mlir::FailureOr<KernelInfo> info =
        mlir::succeeded(req) ? ir::describeKernel(*req)
                             : mlir::FailureOr<KernelInfo>(mlir::failure());
    if (mlir::failed(info))
      return createStringError("cannot describe the kernel of pattern '" +
                               bound.getSymName() + "'");
    artifact.info = std::move(*info);
  }
  artifact.info.target = target.str();
  auto entryPoints = [&](llvm::function_ref<std::string(StringRef)> entry) {
    for (KernelFunction &f : artifact.info.stages)
      f.entry = entry(f.name);
    artifact.info.attention.entry = entry(artifact.info.attention.name);
  };
  if (gpu) {
    if (Error err =
            lowerKernelModule(*module, kind, target, LoweringStage::Kernels,
                              LoweringStage::Schedule))
      return std::move(err);
    // The kernels' dynamic shared memory, known once their buffers are laid
    // out.
    auto recordOf = [&](StringRef name) -> KernelFunction * {
      if (artifact.info.attention.name == name)
        return &artifact.info.attention;
      for (KernelFunction &f : artifact.info.stages)
        if (f.name == name)
          return &f;
      return nullptr;
    };
    std::string unrecorded;
    module->walk([&](mlir::gpu::GPUFuncOp kernel) {
      auto bytes = kernel->getAttrOfType<mlir::IntegerAttr>(
          ir::tile::SattnTileDialect::kDynamicSharedBytesAttrName);
      if (!bytes)
        return;
      if (KernelFunction *f = recordOf(kernel.getName()))
        f->dynamicSharedBytes = bytes.getInt();
      else
        unrecorded = kernel.getName().str();
    });
    // A launch without its dynamic shared memory would write past the end.
    if (!unrecorded.empty())
      return createStringError("kernel '" + unrecorded +
                               "' needs dynamic shared memory but is not in "
                               "the kernel record");
    if (Error err =
            lowerKernelModule(*module, kind, target, LoweringStage::Binary,
                              LoweringStage::Kernels))
      return std::move(err);
    Expected<std::string> ptx = extractPtx(*module);
    if (!ptx)
      return ptx.takeError();
    entryPoints([](StringRef name) { return name.str(); });
    artifact.binary = std::move(*ptx);
    // A cubin from ptxas when a CUDA toolkit is installed; otherwise the
    // driver JIT compiles the PTX when the module is loaded.
    if (std::optional<CudaToolkit> toolkit = findCudaToolkit())
      if (!toolkit->ptxas.empty()) {
        Expected<std::string> cubin = assemblePtx(artifact.binary, target);
        if (cubin)
          artifact.binary = std::move(*cubin);
        else
          llvm::consumeError(cubin.takeError());
      }
    return artifact;
  }
  if (Error err = lowerKernelModule(*module, kind, "", LoweringStage::Lowered,
                                    LoweringStage::Schedule))
    return std::move(err);
  Expected<std::string> object =
      emitHostObject(*module, {artifact.info.attention.name});
  if (!object)
    return object.takeError();
  entryPoints([](StringRef name) { return packedEntryName(name); });
  artifact.binary = std::move(*object);
  return artifact;
}
