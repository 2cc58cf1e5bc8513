//===- sattn-compile.cpp - Patterns to IR, masks and pictures -------------===//
//
// sattn-compile PATTERN_FILE [--pattern NAME] [--set NAME=VALUE]...
//     --seq-len N [--kv-len M] [--batch B] [--heads H] [--kv-heads G]
//     [--head-dim D] [--q q.npy --k k.npy [--v v.npy]] [--key-score u.npy]
//     [--random-inputs SEED | --llm-inputs SEED [--rope-theta T]]
//     --emit=mlir|mlir-parsed|mask-npy|blocks-json|mask-png|mask-svg|
//            recall-json|attention-png|inputs-npy|ptx|cubin|ptx-info
//     [--stage NAME] [--dtype D] [--target T] [-o FILE]
//
// PATTERN_FILE is a .sattn file (docs/dsl.md) or a .mlir file.
//
//===----------------------------------------------------------------------===//

#include "tools/common/ToolCommon.h"

#include "codegen/KernelCompiler.h"
#include "sattn/AtomicFile.h"
#include "sattn/MaskPicture.h"
#include "sattn/PackedSequences.h"
#include "sattn/Recall.h"

#include "mlir/IR/Verifier.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

#include <chrono>

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
  RecallJson,
  AttentionPng,
  InputsNpy,
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

/// The pattern and shape attributes every JSON report starts with.
static void writeShapeAttributes(llvm::json::OStream &json,
                                 const PatternSpec &spec,
                                 const AttentionShape &shape) {
  json.attribute("pattern", spec.name);
  json.attribute("block", spec.block);
  json.attribute("batch", shape.batch);
  json.attribute("heads", shape.heads);
  json.attribute("kv_heads", shape.kvHeads);
  json.attribute("seq_q", shape.seqQ);
  json.attribute("seq_k", shape.seqK);
}

/// Writes the block lists of every (batch, head) as JSON.
static void emitBlocksJson(llvm::raw_ostream &os, const MaskOracle &oracle,
                           const PatternSpec &spec) {
  const AttentionShape &shape = oracle.shape();
  llvm::json::OStream json(os); // compact: block lists get long
  json.object([&] {
    writeShapeAttributes(json, spec, shape);
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

/// Writes the recall of every (batch, head) as JSON (docs/patterns.md,
/// "Attention recall"), with the means over heads.
static void emitRecallJson(llvm::raw_ostream &os, const MaskOracle &oracle,
                           const PatternSpec &spec,
                           const PreparedInputs &prepared,
                           const RecallOptions &options,
                           const std::vector<HeadRecall> &heads) {
  const AttentionShape &shape = oracle.shape();
  llvm::json::OStream json(os, 1);
  auto optional = [&](llvm::StringRef key, std::optional<double> value) {
    if (value)
      json.attribute(key, *value);
    else
      json.attribute(key, nullptr);
  };
  json.object([&] {
    writeShapeAttributes(json, spec, shape);
    json.attribute("head_dim", shape.headDim);
    json.attribute("inputs", prepared.source);
    if (prepared.source != "files")
      json.attribute("seed", int64_t(prepared.seed));
    if (prepared.source == "llm")
      json.attribute("rope_theta", prepared.ropeTheta);
    json.attribute("rows_total", shape.seqQ);
    json.attribute("rows_sampled",
                   int64_t(recallRows(shape.seqQ, options).size()));
    json.attribute("cover_block", options.coverBlock);
    json.attribute("cover_mass", options.coverMass);
    double sums[5] = {0, 0, 0, 0, 0};
    bool haveError = !heads.empty();
    json.attributeArray("heads_detail", [&] {
      for (const HeadRecall &hr : heads) {
        json.object([&] {
          json.attribute("batch", hr.batch);
          json.attribute("head", hr.head);
          const auto &kinds = prepared.inputs.llmHeadKinds;
          if (!kinds.empty())
            json.attribute("head_kind", llmHeadKindName(kinds[hr.head]));
          json.attribute("rows", hr.rowsEvaluated);
          json.attribute("recall_mean", hr.recallMean);
          json.attribute("recall_p5", hr.recallP5);
          json.attribute("recall_min", hr.recallMin);
          json.attribute("density", hr.density);
          optional("out_rel_err", hr.outRelErr);
          json.attribute("dense_cover", hr.denseCover);
        });
        sums[0] += hr.recallMean;
        sums[1] += hr.recallP5;
        sums[2] += hr.recallMin;
        sums[3] += hr.density;
        haveError &= hr.outRelErr.has_value();
        sums[4] += hr.outRelErr.value_or(0);
      }
    });
    const double n = double(std::max<size_t>(heads.size(), 1));
    json.attributeObject("mean_over_heads", [&] {
      json.attribute("recall_mean", sums[0] / n);
      json.attribute("recall_p5", sums[1] / n);
      json.attribute("recall_min", sums[2] / n);
      json.attribute("density", sums[3] / n);
      optional("out_rel_err",
               haveError ? std::optional<double>(sums[4] / n) : std::nullopt);
    });
  });
  os << "\n";
}

/// The dense attention of the query heads of one batch entry, one panel per
/// head, in cells of about Sk / 128 tokens.
static llvm::Error emitAttentionPng(llvm::StringRef path,
                                    const PreparedInputs &prepared,
                                    int64_t batch) {
  const AttentionShape &shape = prepared.shape;
  const LoadedInputs &inputs = prepared.inputs;
  constexpr int64_t kMaxPanels = 8, kRowsPerCell = 8;
  if (shape.heads > kMaxPanels)
    return llvm::createStringError(
        "--emit=attention-png draws every query head, at most " +
        std::to_string(kMaxPanels) + "; got --heads " +
        std::to_string(shape.heads));
  int64_t cell = 16;
  while (cell * 128 < shape.seqK)
    cell *= 2;
  std::vector<AttentionPanel> panels;
  for (int64_t h = 0; h < shape.heads; ++h) {
    auto mass =
        denseBlockMass(shape, inputs.view(), batch, h, cell, kRowsPerCell);
    if (!mass)
      return mass.takeError();
    std::string title = "head " + std::to_string(h);
    if (!inputs.llmHeadKinds.empty())
      title += ": " + llmHeadKindName(inputs.llmHeadKinds[h]).str();
    panels.push_back({title, std::move(*mass)});
  }
  std::string inputsLine = "inputs: " + prepared.source;
  if (prepared.source != "files")
    inputsLine += " seed " + std::to_string(prepared.seed);
  if (prepared.source == "llm")
    llvm::raw_string_ostream(inputsLine)
        << " rope theta " << llvm::format("%g", prepared.ropeTheta);
  return writeAttentionPng(
      path, panels,
      {"dense causal attention: mean softmax mass of each key cell",
       llvm::formatv("Sq={0} Sk={1} D={2}, cells of {3} tokens, {4} rows "
                     "per query cell",
                     shape.seqQ, shape.seqK, shape.headDim, cell, kRowsPerCell)
           .str(),
       inputsLine});
}

/// Writes the inputs as q.npy, k.npy, v.npy, key_score.npy and weights.npy
/// (float32) into the folder `dir`, created if needed, with inputs.json
/// saying how they were made (and, for --llm-inputs, each head's kind).
static llvm::Error emitInputsNpy(llvm::StringRef dir,
                                 const PreparedInputs &prepared) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError("cannot create '" + dir +
                                   "': " + ec.message());
  const AttentionShape &shape = prepared.shape;
  const LoadedInputs &inputs = prepared.inputs;
  const int64_t B = shape.batch, D = shape.headDim;
  struct File {
    const char *name;
    const std::vector<float> &values;
    std::vector<int64_t> dims;
  } files[] = {
      {"q.npy", inputs.q, {B, shape.heads, shape.seqQ, D}},
      {"k.npy", inputs.k, {B, shape.kvHeads, shape.seqK, D}},
      {"v.npy", inputs.v, {B, shape.kvHeads, shape.seqK, D}},
      {"key_score.npy", inputs.keyScores, {B, shape.kvHeads, shape.seqK}},
      {"weights.npy", inputs.weights, {shape.kvHeads, D}},
  };
  auto inDir = [&](llvm::StringRef name) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, name);
    return std::string(path);
  };
  for (const File &file : files)
    if (llvm::Error e = writeNpy(inDir(file.name), NpyDtype::Float32, file.dims,
                                 file.values.data()))
      return e;
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::json::OStream json(os, 1);
  json.object([&] {
    json.attribute("inputs", prepared.source);
    json.attribute("seed", int64_t(prepared.seed));
    if (prepared.source == "llm")
      json.attribute("rope_theta", prepared.ropeTheta);
    json.attribute("batch", shape.batch);
    json.attribute("heads", shape.heads);
    json.attribute("kv_heads", shape.kvHeads);
    json.attribute("seq_q", shape.seqQ);
    json.attribute("seq_k", shape.seqK);
    json.attribute("head_dim", shape.headDim);
    if (!inputs.llmHeadKinds.empty())
      json.attributeArray("head_kinds", [&] {
        for (LlmHeadKind kind : inputs.llmHeadKinds)
          json.value(llmHeadKindName(kind));
      });
  });
  os << "\n";
  return writeFileAtomically(inDir("inputs.json"), text);
}

/// The bytes of a dense [B, H, Sq, Sk] mask; exits when they are too many.
static int64_t checkedMaskBytes(const AttentionShape &shape) {
  int64_t bytes = 1;
  for (int64_t dim : {shape.batch, shape.heads, shape.seqQ, shape.seqK})
    if (__builtin_mul_overflow(bytes, dim, &bytes) || bytes > kMaxMaskBytes)
      exitOnError(kTool, llvm::createStringError(
                             "a dense mask of more than " +
                             std::to_string(kMaxMaskBytes >> 20) +
                             " MiB is too large; use --emit=blocks-json or "
                             "mask-png"));
  return bytes;
}

/// The token mask of packed sequences: each sequence's own mask (its
/// oracle on its own rows and keys, local indices) on the diagonal, nothing
/// across sequences. The call is checked and split as the kernels split it.
static llvm::Error
writePackedTokenMask(const PatternSpec &spec, const AttentionShape &shape,
                     const LoadedInputs &inputs, llvm::ArrayRef<int32_t> cuQ,
                     llvm::ArrayRef<int32_t> cuK, std::vector<uint8_t> &mask) {
  const int64_t D = shape.headDim;
  auto view = [](const std::vector<float> &data,
                 llvm::ArrayRef<int64_t> sizes) {
    return TensorView::contiguous(const_cast<float *>(data.data()), DType::F32,
                                  sizes);
  };
  // A static pattern reads no input: zeros stand in for the views that the
  // checks and the split go through.
  std::vector<float> unusedOut(size_t(shape.heads * shape.seqQ * D)), noQueries,
      noKeys;
  if (inputs.q.empty())
    noQueries.assign(unusedOut.size(), 0.0f);
  if (inputs.k.empty())
    noKeys.assign(size_t(shape.kvHeads * shape.seqK * D), 0.0f);
  const std::vector<float> &queries = inputs.q.empty() ? noQueries : inputs.q;
  const std::vector<float> &keys = inputs.k.empty() ? noKeys : inputs.k;
  const std::vector<float> &values = inputs.v.empty() ? keys : inputs.v;
  AttentionArgs args{view(queries, {shape.batch, shape.heads, shape.seqQ, D}),
                     view(keys, {shape.batch, shape.kvHeads, shape.seqK, D}),
                     view(values, {shape.batch, shape.kvHeads, shape.seqK, D}),
                     view(unusedOut, {shape.batch, shape.heads, shape.seqQ, D}),
                     TensorView(),
                     std::nullopt,
                     std::nullopt,
                     cuQ,
                     cuK};
  if (!inputs.keyScores.empty())
    args.keyScores =
        view(inputs.keyScores, {shape.batch, shape.kvHeads, shape.seqK});
  AttentionConfig config{shape.heads, shape.kvHeads, D, DType::F32,
                         shape.scale};
  auto gather = [](const TensorView &part) {
    std::vector<float> out;
    const int64_t rows = part.sizes[2];
    const int64_t width = part.rank() == 4 ? part.sizes[3] : 1;
    for (int64_t h = 0; h < part.sizes[1]; ++h)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t d = 0; d < width; ++d)
          out.push_back(part.rank() == 4 ? part.load({0, h, i, d})
                                         : part.load({0, h, i}));
    return out;
  };
  return forEachPackedSequence(
      config, args, [&](size_t s, const AttentionArgs &one) -> llvm::Error {
        AttentionShape local = shape;
        local.seqQ = one.q.sizes[2];
        local.seqK = one.k.sizes[2];
        std::vector<float> q = gather(one.q), k = gather(one.k), scores;
        if (one.keyScores)
          scores = gather(*one.keyScores);
        OracleInputs in{
            q.data(), k.data(), scores.empty() ? nullptr : scores.data(),
            inputs.weights.empty() ? nullptr : inputs.weights.data()};
        auto oracle = MaskOracle::create(spec, local, in);
        if (!oracle)
          return oracle.takeError();
        std::vector<uint8_t> part(
            size_t(local.heads * local.seqQ * local.seqK));
        writeTokenMask(*oracle, part.data());
        for (int64_t h = 0; h < local.heads; ++h)
          for (int64_t i = 0; i < local.seqQ; ++i)
            std::copy_n(
                &part[(h * local.seqQ + i) * local.seqK], local.seqK,
                &mask[(h * shape.seqQ + cuQ[s] + i) * shape.seqK + cuK[s]]);
        return llvm::Error::success();
      });
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  PatternOptions patternOptions;
  ShapeOptions shapeOptions;
  InputOptions inputOptions;
  PackedOptions packedOptions;
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
          clEnumValN(EmitKind::RecallJson, "recall-json",
                     "per (batch, head): recall of the dense attention, "
                     "density, output error (with v), dense cover"),
          clEnumValN(EmitKind::AttentionPng, "attention-png",
                     "picture of the dense attention of every query head "
                     "(PNG)"),
          clEnumValN(EmitKind::InputsNpy, "inputs-npy",
                     "the generated inputs as .npy files in the folder -o"),
          clEnumValN(EmitKind::Ptx, "ptx", "the GPU kernels as PTX"),
          clEnumValN(EmitKind::Cubin, "cubin",
                     "the GPU kernels assembled by ptxas"),
          clEnumValN(EmitKind::PtxInfo, "ptx-info",
                     "ptxas's register, spill and shared-memory report"),
          clEnumValN(EmitKind::MaskSvg, "mask-svg",
                     "picture of one head's block pattern (SVG)")));
  cl::opt<int64_t> pictureHead("picture-head",
                               cl::desc("Query head drawn by mask-png/svg"),
                               cl::init(0));
  cl::opt<int64_t> pictureBatch(
      "picture-batch",
      cl::desc("Batch drawn by mask-png/svg and attention-png"), cl::init(0));
  cl::opt<int64_t> recallSampleRows(
      "recall-rows",
      cl::desc("recall-json: rows sampled per head above 8192 query rows "
               "(every row up to 8192)"),
      cl::init(1024));
  cl::opt<std::string> stage(
      "stage",
      cl::desc("With --emit=mlir: print the kernel IR after this lowering "
               "stage (request|schedule|selection|tile|pipelined|kernels|llvm|"
               "binary; default: none, the pattern IR)"),
      cl::init(""));
  cl::opt<std::string> dtypeName(
      "dtype", cl::desc("Kernel dtype: f32, f16 or bf16"), cl::init("f32"));
  cl::opt<std::string> targetName(
      "target",
      cl::desc("Code generator: cpu, sm_80 or sm_90a (default: cpu for "
               "--stage, sm_90a for ptx/cubin/ptx-info)"),
      cl::init(""));
  cl::opt<bool> alignedKv(
      "aligned-kv",
      cl::desc("GPU: build the kernel for 16-byte aligned K and V rows only "
               "(no element-wise copy path; the runtime builds the general "
               "form)"),
      cl::init(false));
  cl::opt<bool> timing(
      "timing",
      cl::desc("Print where the compile goes: every pass (MLIR's timing "
               "report), then ptxas"),
      cl::init(false));
  cl::opt<std::string> output("o", cl::desc("Output file ('-' = stdout)"),
                              cl::value_desc("file"), cl::init("-"));
  parseToolCommandLine(
      argc, argv,
      "sattn-compile: show what a sparse attention pattern does\n\n"
      "Loads a pattern, binds its parameters, and emits its IR, its exact\n"
      "token mask, its key-block lists, a picture of its block pattern, or\n"
      "how much of the dense attention it keeps (recall-json).\n");

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
                      emit == EmitKind::MaskSvg ||
                      emit == EmitKind::AttentionPng ||
                      emit == EmitKind::InputsNpy;
  if (binaryOutput && output == "-")
    exitOnError(kTool, llvm::createStringError(
                           "-o FILE is required for mask-npy, mask-png, "
                           "mask-svg and attention-png, -o FOLDER for "
                           "inputs-npy"));

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
    shape.heads = shapeOptions.heads;
    shape.kvHeads = shapeOptions.kvHeads ? int64_t(shapeOptions.kvHeads)
                                         : int64_t(shapeOptions.heads);
    shape.headDim = shapeOptions.headDim;
    mlir::sattn::KernelTarget codegen = target == "cpu"
                                            ? mlir::sattn::KernelTarget::cpu
                                            : mlir::sattn::KernelTarget::gpu;
    mlir::OwningOpRef<mlir::ModuleOp> module = buildKernelRequest(
        llvm::cast<mlir::sattn::PatternOp>(loaded.bound), shape, dtypeName,
        codegen, codegen == mlir::sattn::KernelTarget::gpu && alignedKv);
    if (mlir::failed(mlir::verify(*module)))
      exitOnError(kTool, llvm::createStringError("invalid kernel request"));
    {
      SlowStep step(kTool, "compiling for " + target);
      if (llvm::Error e = lowerKernelModule(*module, codegen, target, stopAt,
                                            LoweringStage::Request, timing))
        exitOnError(kTool, std::move(e));
    }
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
        auto ptxasStart = std::chrono::steady_clock::now();
        auto cubin = assemblePtx(*ptx, target, &report);
        if (!cubin)
          exitOnError(kTool, cubin.takeError());
        if (timing)
          llvm::errs() << llvm::formatv(
              "ptxas: {0:F4} seconds\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            ptxasStart)
                  .count());
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

  // Recall and the attention picture compare with dense attention, which
  // reads q and k whatever the pattern; the output error reads v.
  InputNeeds needs;
  switch (emit) {
  case EmitKind::RecallJson:
    needs = {true,
             true,
             inputOptions.llm() || inputOptions.random() ||
                 !inputOptions.v.empty(),
             false,
             false,
             "--emit=recall-json"};
    break;
  case EmitKind::AttentionPng:
    needs = {true, true, false, false, false, "--emit=attention-png"};
    break;
  case EmitKind::InputsNpy:
    if (!inputOptions.llm() && !inputOptions.random())
      exitOnError(kTool, llvm::createStringError(
                             "--emit=inputs-npy writes generated inputs: pass "
                             "--random-inputs SEED or --llm-inputs SEED"));
    needs = {true, true, true, true, true, "--emit=inputs-npy"};
    break;
  default:
    needs.who = "sattn-compile";
    break;
  }
  std::optional<SlowStep> step;
  step.emplace(kTool, "reading or generating the inputs");
  auto prepared = prepareInputs(inputOptions, shapeOptions, loaded.spec, needs);
  if (!prepared)
    exitOnError(kTool, prepared.takeError());
  const AttentionShape &shape = prepared->shape;
  const LoadedInputs &inputs = prepared->inputs;
  if (packedOptions.given()) {
    if (emit != EmitKind::MaskNpy)
      exitOnError(kTool, llvm::createStringError(
                             "--cu-seqlens-q/-k go with --emit=mask-npy here "
                             "(sattn-run takes them too)"));
    std::vector<int32_t> cuQ, cuK;
    if (llvm::Error e = packedOptions.parse(cuQ, cuK))
      exitOnError(kTool, std::move(e));
    std::vector<uint8_t> mask(checkedMaskBytes(shape));
    step.emplace(kTool, "selecting keys with the oracle, sequence by sequence");
    if (llvm::Error e =
            writePackedTokenMask(loaded.spec, shape, inputs, cuQ, cuK, mask))
      exitOnError(kTool, std::move(e));
    step.reset();
    if (llvm::Error e = writeNpy(
            output, NpyDtype::UInt8,
            {shape.batch, shape.heads, shape.seqQ, shape.seqK}, mask.data()))
      exitOnError(kTool, std::move(e));
    return 0;
  }
  step.emplace(kTool, "selecting keys with the oracle");
  auto oracle = MaskOracle::create(loaded.spec, shape, inputs.view());
  if (!oracle)
    exitOnError(kTool, oracle.takeError());
  // What each --emit computes below can take minutes at 128K tokens.
  step.emplace(kTool, "computing what --emit asks for (" +
                          std::to_string(shape.seqQ) + " queries, " +
                          std::to_string(shape.seqK) + " keys)");

  switch (emit) {
  case EmitKind::Mlir:
  case EmitKind::MlirParsed:
  case EmitKind::Ptx:
  case EmitKind::Cubin:
  case EmitKind::PtxInfo:
    break;
  case EmitKind::RecallJson: {
    RecallOptions options;
    if (recallSampleRows < 1)
      exitOnError(kTool, llvm::createStringError(
                             "--recall-rows must be at least 1, got " +
                             std::to_string(recallSampleRows)));
    options.sampleRows = recallSampleRows;
    auto recall =
        computeRecall(*oracle, inputs.view(),
                      inputs.v.empty() ? nullptr : inputs.v.data(), options);
    if (!recall)
      exitOnError(kTool, recall.takeError());
    std::error_code ec;
    llvm::ToolOutputFile out(output, ec, llvm::sys::fs::OF_Text);
    if (ec)
      exitOnError(kTool, llvm::createStringError("cannot write '" + output +
                                                 "': " + ec.message()));
    emitRecallJson(out.os(), *oracle, loaded.spec, *prepared, options, *recall);
    out.keep();
    return 0;
  }
  case EmitKind::AttentionPng:
    if (pictureBatch < 0 || pictureBatch >= shape.batch)
      exitOnError(kTool,
                  llvm::createStringError("--picture-batch out of range"));
    if (llvm::Error e = emitAttentionPng(output, *prepared, pictureBatch))
      exitOnError(kTool, std::move(e));
    return 0;
  case EmitKind::InputsNpy:
    if (llvm::Error e = emitInputsNpy(output, *prepared))
      exitOnError(kTool, std::move(e));
    return 0;
  case EmitKind::MaskNpy: {
    std::vector<uint8_t> mask(checkedMaskBytes(shape));
    writeTokenMask(*oracle, mask.data());
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
    // The format follows --emit whatever the file's extension.
    llvm::Error e = writePatternPicture(
        output,
        emit == EmitKind::MaskPng ? PictureFormat::Png : PictureFormat::Svg,
        *oracle, pictureBatch, pictureHead);
    if (e)
      exitOnError(kTool, std::move(e));
    return 0;
  }
  }
  return 0;
}
