//===- sattn-run.cpp - Run sparse attention on .npy inputs ----------------===//
//
// sattn-run PATTERN_FILE [--pattern NAME] [--set NAME=VALUE]...
//     --q q.npy --k k.npy --v v.npy [--key-score u.npy] [--weights w.npy]
//     [--backend reference] [--scale S] -o out.npy [--lse lse.npy]
//
//===----------------------------------------------------------------------===//

#include "tools/common/ToolCommon.h"

#include "llvm/Support/InitLLVM.h"

#include <cmath>

using namespace sattn;
using namespace sattn::tools;
namespace cl = llvm::cl;

namespace {
enum class Backend { Reference };
constexpr const char *kTool = "sattn-run";
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  PatternOptions patternOptions;
  cl::opt<std::string> qFile("q", cl::desc("Queries [B, Hq, Sq, D]"),
                             cl::value_desc("q.npy"), cl::Required);
  cl::opt<std::string> kFile("k", cl::desc("Keys [B, Hkv, Sk, D]"),
                             cl::value_desc("k.npy"), cl::Required);
  cl::opt<std::string> vFile("v", cl::desc("Values [B, Hkv, Sk, D]"),
                             cl::value_desc("v.npy"), cl::Required);
  cl::opt<std::string> scoreFile("key-score",
                                 cl::desc("Key scores for top-k [B, Hkv, Sk]"),
                                 cl::value_desc("u.npy"));
  cl::opt<std::string> weightFile("weights",
                                  cl::desc("Linear score weights [Hkv, D]"),
                                  cl::value_desc("w.npy"));
  cl::opt<Backend> backend(
      "backend", cl::desc("Where to compute"), cl::init(Backend::Reference),
      cl::values(clEnumValN(Backend::Reference, "reference",
                            "the float64 reference oracle")));
  cl::opt<double> scale("scale", cl::desc("Softmax scale (default 1/sqrt(D))"),
                        cl::init(0.0));
  cl::opt<std::string> output("o", cl::desc("Output, float32 [B, Hq, Sq, D]"),
                              cl::value_desc("out.npy"), cl::Required);
  cl::opt<std::string> lseOutput(
      "lse", cl::desc("Log-sum-exp, float32 [B, Hq, Sq] (natural log)"),
      cl::value_desc("lse.npy"));
  cl::ParseCommandLineOptions(
      argc, argv,
      "sattn-run: compute sparse attention on .npy inputs\n\n"
      "Inputs are float32, float16 or float64 .npy arrays; results are\n"
      "written as float32.\n");

  LoadedPattern loaded;
  if (llvm::Error e = loadPattern(patternOptions, loaded))
    exitOnError(kTool, std::move(e));
  InputFiles files{qFile, kFile, vFile, scoreFile, weightFile};
  if (llvm::Error e = checkRequiredInputs(loaded.spec, files))
    exitOnError(kTool, std::move(e));
  auto inputs = loadInputs(files);
  if (!inputs)
    exitOnError(kTool, inputs.takeError());
  if (scale.getNumOccurrences() && !(scale > 0.0))
    exitOnError(kTool, llvm::createStringError("--scale must be positive"));
  AttentionShape shape;
  shape.scale = scale;
  if (llvm::Error e = reconcileShape(*inputs, shape, false, false, false, false,
                                     false, false))
    exitOnError(kTool, std::move(e));

  size_t outCount = shape.batch * shape.heads * shape.seqQ * shape.headDim;
  size_t lseCount = shape.batch * shape.heads * shape.seqQ;
  std::vector<double> out(outCount), lse(lseCount);
  switch (backend) {
  case Backend::Reference:
    if (llvm::Error e =
            referenceAttention(loaded.spec, shape, inputs->view(),
                               inputs->v.data(), out.data(), lse.data()))
      exitOnError(kTool, std::move(e));
    break;
  }

  std::vector<float> out32(out.begin(), out.end());
  if (llvm::Error e = writeNpy(
          output, NpyDtype::Float32,
          {shape.batch, shape.heads, shape.seqQ, shape.headDim}, out32.data()))
    exitOnError(kTool, std::move(e));
  if (!lseOutput.empty()) {
    std::vector<float> lse32(lse.begin(), lse.end());
    if (llvm::Error e =
            writeNpy(lseOutput, NpyDtype::Float32,
                     {shape.batch, shape.heads, shape.seqQ}, lse32.data()))
      exitOnError(kTool, std::move(e));
  }
  return 0;
}
