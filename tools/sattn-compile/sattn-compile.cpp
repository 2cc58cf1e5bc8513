//===- sattn-compile.cpp - Patterns to IR, masks and pictures -------------===//
//
// sattn-compile PATTERN_FILE [--pattern NAME] [--set NAME=VALUE]...
//     --seq-len N [--kv-len M] [--batch B] [--heads H] [--kv-heads G]
//     [--head-dim D] [--q q.npy --k k.npy] [--key-score u.npy]
//     --emit=mlir|mlir-parsed|mask-npy|blocks-json|mask-png|mask-svg|
//            ptx|cubin|ptx-info [--stage NAME] [--dtype D] [--target T]
//     [-o FILE]
//
// PATTERN_FILE is a .sattn file (docs/dsl.md) or a .mlir file.
//
//===----------------------------------------------------------------------===//

#include "tools/common/ToolCommon.h"

#include "codegen/KernelCompiler.h"
#include "sattn/MaskPicture.h"

#include "mlir/IR/Verifier.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace sattn;
using namespace sattn::tools;
namespace cl = llvm::cl;

namespace {
enum class EmitKind {
  Mlir,
  MlirParsed,
  MaskNpy,
  BlocksJson,
  MaskPng,
  MaskSvg,
  Ptx,
  Cubin,
  PtxInfo
};

constexpr const char *kTool = "sattn-compile";
/// Dense masks beyond this many bytes are refused: use blocks-json or a
/// picture instead.
constexpr int64_t kMaxMaskBytes = int64_t(1) << 31;
} // namespace

/// blocks-json refuses block maps beyond this many tiles per head.
constexpr int64_t kMaxJsonTiles = int64_t(1) << 26;

/// Writes the block lists of every (batch, head) as JSON.
static void emitBlocksJson(llvm::raw_ostream &os, const MaskOracle &oracle,
                           const PatternSpec &spec) {
  const AttentionShape &shape = oracle.shape();
  llvm::json::OStream json(os); // compact: block lists get long
  json.object([&] {
    json.attribute("pattern", spec.name);
    json.attribute("block", spec.block);
    json.attribute("batch", shape.batch);
    json.attribute("heads", shape.heads);
    json.attribute("kv_heads", shape.kvHeads);
    json.attribute("seq_q", shape.seqQ);
    json.attribute("seq_k", shape.seqK);
    int64_t attended = 0;
    json.attributeArray("heads_detail", [&] {
      for (int64_t b = 0; b < shape.batch; ++b)
        for (int64_t h = 0; h < shape.heads; ++h) {
          BlockMap map = computeBlockMap(oracle, b, h, spec.block);
          attended += map.attendedPairs;
          json.object([&] {
            json.attribute("batch", b);
            json.attribute("head", h);
            json.attribute("density", map.density);
            json.attribute("causal_density", map.causalDensity);
            json.attributeArray("rows", [&] {
              for (int64_t r = 0; r < map.qBlocks; ++r)
                json.object([&] {
                  json.attribute("q_block", map.firstQBlock + r);
                  auto list = [&](BlockMap::State state) {
                    for (int64_t c = 0; c < map.kBlocks; ++c)
                      if (map.at(r, c) == state)
                        json.value(c);
                  };
                  json.attributeArray("full", [&] { list(BlockMap::Full); });
                  json.attributeArray("partial",
                                      [&] { list(BlockMap::Partial); });
                });
            });
          });
        }
    });
    double pairs = double(shape.batch) * shape.heads * shape.seqQ * shape.seqK;
    json.attribute("density", attended / pairs);
  });
  os << "\n";
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  PatternOptions patternOptions;
  cl::opt<int64_t> seqLen("seq-len", cl::desc("Query length Sq"),
                          cl::value_desc("N"));
  cl::opt<int64_t> kvLen("kv-len", cl::desc("Key length Sk (default: Sq)"),
                         cl::value_desc("M"));
  cl::opt<int64_t> batch("batch", cl::desc("Batch size"), cl::init(1));
  cl::opt<int64_t> heads("heads", cl::desc("Query heads Hq"), cl::init(1));
  cl::opt<int64_t> kvHeads("kv-heads",
                           cl::desc("Key/value heads Hkv (default: Hq)"));
  cl::opt<int64_t> headDim("head-dim", cl::desc("Head dim D"), cl::init(64));
  cl::opt<std::string> qFile("q", cl::desc("Queries, float32 [B, Hq, Sq, D]"),
                             cl::value_desc("q.npy"));
  cl::opt<std::string> kFile("k", cl::desc("Keys, float32 [B, Hkv, Sk, D]"),
                             cl::value_desc("k.npy"));
  cl::opt<std::string> scoreFile(
      "key-score", cl::desc("Key scores for top-k, float32 [B, Hkv, Sk]"),
      cl::value_desc("u.npy"));
  cl::opt<std::string> weightFile(
      "weights", cl::desc("Linear score weights, float32 [Hkv, D]"),
      cl::value_desc("w.npy"));
  cl::opt<EmitKind> emit(
      "emit", cl::desc("What to produce"), cl::Required,
      cl::values(
          clEnumValN(EmitKind::Mlir, "mlir", "the bound, verified pattern IR"),
          clEnumValN(EmitKind::MlirParsed, "mlir-parsed",
                     "the file's patterns as parsed: parameters stay "
                     "references, --pattern and --set are ignored"),
          clEnumValN(EmitKind::MaskNpy, "mask-npy",
                     "token mask uint8 [B, Hq, Sq, Sk] (1 = attends)"),
          clEnumValN(EmitKind::BlocksJson, "blocks-json",
                     "per (batch, head, query block) full/partial key blocks"),
          clEnumValN(EmitKind::MaskPng, "mask-png",
                     "picture of one head's block pattern (PNG)"),
          clEnumValN(EmitKind::Ptx, "ptx", "the GPU kernels as PTX"),
          clEnumValN(EmitKind::Cubin, "cubin",
                     "the GPU kernels assembled by ptxas"),
          clEnumValN(EmitKind::PtxInfo, "ptx-info",
                     "ptxas's register, spill and shared-memory report"),
          clEnumValN(EmitKind::MaskSvg, "mask-svg",
                     "picture of one head's block pattern (SVG)")));
  cl::opt<uint64_t> randomInputs(
      "random-inputs",
      cl::desc("Draw the run-time inputs a dynamic pattern needs and the "
               "files do not give (q, k, key scores, linear weights) from a "
               "standard normal with this seed"),
      cl::value_desc("seed"));
  cl::opt<int64_t> pictureHead("picture-head",
                               cl::desc("Query head drawn by mask-png/svg"),
                               cl::init(0));
  cl::opt<int64_t> pictureBatch(
      "picture-batch", cl::desc("Batch drawn by mask-png/svg"), cl::init(0));
  cl::opt<std::string> stage(
      "stage",
      cl::desc("With --emit=mlir: print the kernel IR after this lowering "
               "stage (request|schedule|selection|tile|pipelined|kernels|llvm|binary)"),
      cl::init(""));
  cl::opt<std::string> dtypeName(
      "dtype", cl::desc("Kernel dtype: f32, f16 or bf16"), cl::init("f32"));
  cl::opt<std::string> targetName(
      "target",
      cl::desc("Code generator: cpu, sm_80 or sm_90a (default: cpu for "
               "--stage, sm_90a for ptx/cubin/ptx-info)"),
      cl::init(""));
  cl::opt<std::string> output("o", cl::desc("Output file ('-' = stdout)"),
                              cl::value_desc("file"), cl::init("-"));
  parseToolCommandLine(
      argc, argv,
      "sattn-compile: show what a sparse attention pattern does\n\n"
      "Loads a pattern, binds its parameters, and emits its IR, its exact\n"
      "token mask, its key-block lists or a picture of its block pattern.\n");

  LoadedPattern loaded;
  if (emit == EmitKind::MlirParsed) {
    // What the front-end built, before any binding: shows how a .sattn file
    // maps to the dialect.
    if (llvm::Error e = loadParsedModule(patternOptions, loaded))
      exitOnError(kTool, std::move(e));
    std::error_code ec;
    llvm::ToolOutputFile out(output, ec, llvm::sys::fs::OF_Text);
    if (ec)
      exitOnError(kTool, llvm::createStringError("cannot write '" + output +
                                                 "': " + ec.message()));
    loaded.module->print(out.os());
    out.os() << "\n";
    out.keep();
    return 0;
  }
  if (llvm::Error e = loadPattern(patternOptions, loaded))
    exitOnError(kTool, std::move(e));

  bool binaryOutput = emit == EmitKind::MaskNpy || emit == EmitKind::MaskPng ||
                      emit == EmitKind::MaskSvg;
  if (binaryOutput && output == "-")
    exitOnError(kTool,
                llvm::createStringError(
                    "-o FILE is required for mask-npy, mask-png and mask-svg"));

  if ((emit == EmitKind::Mlir && !stage.empty()) || emit == EmitKind::Ptx ||
      emit == EmitKind::Cubin || emit == EmitKind::PtxInfo) {
    if (dtypeName != "f32" && dtypeName != "f16" && dtypeName != "bf16")
      exitOnError(kTool, llvm::createStringError(
                             "--dtype must be f32, f16 or bf16, got '" +
                             dtypeName + "'"));
    bool gpuEmit = emit != EmitKind::Mlir;
    std::string target = targetName.empty() ? (gpuEmit ? "sm_90a" : "cpu")
                                            : std::string(targetName);
    if (target != "cpu" && target != "sm_80" && target != "sm_90a")
      exitOnError(kTool, llvm::createStringError(
                             "--target must be cpu, sm_80 or sm_90a, got '" +
                             target + "'"));
    if (gpuEmit && target == "cpu")
      exitOnError(kTool, llvm::createStringError(
                             "--emit=ptx, cubin and ptx-info need a GPU "
                             "--target (sm_80 or sm_90a)"));
    LoweringStage stopAt = LoweringStage::Binary;
    if (!gpuEmit) {
      std::optional<LoweringStage> parsed = parseLoweringStage(stage);
      if (!parsed)
        exitOnError(kTool, llvm::createStringError("--stage must be one of " +
                                                   loweringStageNames() +
                                                   ", got '" + stage + "'"));
      stopAt = *parsed;
      if (stopAt == LoweringStage::Binary && target == "cpu")
        stopAt = LoweringStage::Lowered;
    }
    mlir::DialectRegistry registry;
    registerCodegenDialects(registry);
    loaded.context.appendDialectRegistry(registry);
    loaded.context.loadAllAvailableDialects();
    mlir::sattn::KernelShape shape;
    shape.heads = heads;
    shape.kvHeads = kvHeads ? int64_t(kvHeads) : int64_t(heads);
    shape.headDim = headDim;
    mlir::sattn::KernelTarget codegen = target == "cpu"
                                            ? mlir::sattn::KernelTarget::cpu
                                            : mlir::sattn::KernelTarget::gpu;
    mlir::OwningOpRef<mlir::ModuleOp> module =
        buildKernelRequest(llvm::cast<mlir::sattn::PatternOp>(loaded.bound),
                           shape, dtypeName, codegen);
    if (mlir::failed(mlir::verify(*module)))
      exitOnError(kTool, llvm::createStringError("invalid kernel request"));
    if (llvm::Error e = lowerKernelModule(*module, codegen, target, stopAt))
      exitOnError(kTool, std::move(e));
    std::error_code ec;
    llvm::ToolOutputFile out(output, ec,
                             emit == EmitKind::Cubin ? llvm::sys::fs::OF_None
                                                     : llvm::sys::fs::OF_Text);
    if (ec)
      exitOnError(kTool, llvm::createStringError("cannot write '" + output +
                                                 "': " + ec.message()));
    if (emit == EmitKind::Mlir) {
      module->print(out.os());
      out.os() << "\n";
    } else {
      auto ptx = extractPtx(*module);
      if (!ptx)
        exitOnError(kTool, ptx.takeError());
      if (emit == EmitKind::Ptx) {
        out.os() << *ptx;
      } else {
        std::string report;
        auto cubin = assemblePtx(*ptx, target, &report);
        if (!cubin)
          exitOnError(kTool, cubin.takeError());
        if (emit == EmitKind::Cubin)
          out.os() << *cubin;
        else
          out.os() << report;
      }
    }
    out.keep();
    return 0;
  }

  if (emit == EmitKind::Mlir) {
    std::error_code ec;
    llvm::ToolOutputFile out(output, ec, llvm::sys::fs::OF_Text);
    if (ec)
      exitOnError(kTool, llvm::createStringError("cannot write '" + output +
                                                 "': " + ec.message()));
    loaded.bound->print(out.os(), mlir::OpPrintingFlags().assumeVerified());
    out.os() << "\n";
    out.keep();
    return 0;
  }

  InputFiles files{qFile, kFile, "", scoreFile, weightFile};
  bool random = randomInputs.getNumOccurrences() > 0;
  if (!random)
    if (llvm::Error e = checkRequiredInputs(loaded.spec, files))
      exitOnError(kTool, std::move(e));
  auto inputs = loadInputs(files);
  if (!inputs)
    exitOnError(kTool, inputs.takeError());
  AttentionShape shape;
  shape.batch = batch;
  shape.heads = heads;
  shape.kvHeads = kvHeads;
  shape.seqQ = seqLen;
  shape.seqK = kvLen;
  shape.headDim = headDim;
  if (llvm::Error e = reconcileShape(
          *inputs, shape, seqLen.getNumOccurrences() > 0,
          kvLen.getNumOccurrences() > 0, batch.getNumOccurrences() > 0,
          heads.getNumOccurrences() > 0, kvHeads.getNumOccurrences() > 0,
          headDim.getNumOccurrences() > 0))
    exitOnError(kTool, std::move(e));
  if (random)
    fillRandomInputs(loaded.spec, shape, randomInputs, *inputs);
  auto oracle = MaskOracle::create(loaded.spec, shape, inputs->view());
  if (!oracle)
    exitOnError(kTool, oracle.takeError());

  switch (emit) {
  case EmitKind::Mlir:
  case EmitKind::MlirParsed:
    break;
  case EmitKind::MaskNpy: {
    int64_t bytes = 1;
    for (int64_t dim : {shape.batch, shape.heads, shape.seqQ, shape.seqK})
      if (__builtin_mul_overflow(bytes, dim, &bytes) || bytes > kMaxMaskBytes)
        exitOnError(kTool, llvm::createStringError(
                               "a dense mask of more than " +
                               std::to_string(kMaxMaskBytes >> 20) +
                               " MiB is too large; use --emit=blocks-json or "
                               "mask-png"));
    std::vector<uint8_t> mask(bytes, 0);
    std::vector<KeyInterval> row;
    for (int64_t b = 0; b < shape.batch; ++b)
      for (int64_t h = 0; h < shape.heads; ++h)
        for (int64_t i = 0; i < shape.seqQ; ++i) {
          oracle->rowIntervals(b, h, i, row);
          uint8_t *dst = mask.data() +
                         ((b * shape.heads + h) * shape.seqQ + i) * shape.seqK;
          for (auto [begin, end] : row)
            std::fill(dst + begin, dst + end, 1);
        }
    if (llvm::Error e = writeNpy(
            output, NpyDtype::UInt8,
            {shape.batch, shape.heads, shape.seqQ, shape.seqK}, mask.data()))
      exitOnError(kTool, std::move(e));
    return 0;
  }
  case EmitKind::BlocksJson: {
    auto [firstQBlock, qBlocks, kBlocks] = blockGrid(shape, loaded.spec.block);
    if (qBlocks * kBlocks > kMaxJsonTiles)
      exitOnError(
          kTool, llvm::createStringError(
                     std::to_string(qBlocks) + " x " + std::to_string(kBlocks) +
                     " blocks per head are too many for blocks-json; use a "
                     "larger block (--set) or --emit=mask-png"));
    std::error_code ec;
    llvm::ToolOutputFile out(output, ec, llvm::sys::fs::OF_Text);
    if (ec)
      exitOnError(kTool, llvm::createStringError("cannot write '" + output +
                                                 "': " + ec.message()));
    emitBlocksJson(out.os(), *oracle, loaded.spec);
    out.keep();
    return 0;
  }
  case EmitKind::MaskPng:
  case EmitKind::MaskSvg: {
    if (pictureBatch < 0 || pictureBatch >= shape.batch || pictureHead < 0 ||
        pictureHead >= shape.heads)
      exitOnError(kTool, llvm::createStringError(
                             "--picture-batch/--picture-head out of range"));
    // Draw at the cell size the picture will have, so that the block map of
    // a long sequence with small blocks is never held at full resolution.
    BlockMap map = computeBlockMap(
        *oracle, pictureBatch, pictureHead,
        loaded.spec.block *
            blockGridFactor(shape, loaded.spec.block, kPictureCells));
    PictureLegend legend{loaded.spec.name, loaded.spec.block};
    llvm::Error e = emit == EmitKind::MaskPng
                        ? writeMaskPng(output, map, legend)
                        : writeMaskSvg(output, map, legend);
    if (e)
      exitOnError(kTool, std::move(e));
    return 0;
  }
  }
  return 0;
}
