//===- KernelCacheBenchTest.cpp - Cold versus warm compile times ----------===//
//
// The cold "compile" is a real one: LLVM IR of a causal flash-attention style
// kernel, for several head dimensions, optimized at O3 and compiled to a host
// object file. Times are printed, never asserted on.
//
//===----------------------------------------------------------------------===//

#include "CacheTestUtil.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/AsmParser/Parser.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <chrono>

using namespace sattn;
using namespace sattn::test;

namespace {

/// One row-by-row online-softmax attention kernel for head dimension DIM,
/// written naively (allocas, no phis) and left to the optimizer.
constexpr const char *kKernelTemplate = R"(
define void @attn_DIM(ptr noalias %q, ptr noalias %k, ptr noalias %v,
                      ptr noalias %o, i64 %n) {
entry:
  %i = alloca i64
  %j = alloca i64
  %t = alloca i64
  %m = alloca float
  %l = alloca float
  %s = alloca float
  %obuf = alloca [DIM x float]
  store i64 0, ptr %i
  br label %iloop
iloop:
  %iv = load i64, ptr %i
  %icond = icmp slt i64 %iv, %n
  br i1 %icond, label %ibody, label %exit
ibody:
  store float 0xFFF0000000000000, ptr %m
  store float 0.0, ptr %l
  store i64 0, ptr %t
  br label %zloop
zloop:
  %tz = load i64, ptr %t
  %zc = icmp slt i64 %tz, DIM
  br i1 %zc, label %zbody, label %jinit
zbody:
  %zp = getelementptr [DIM x float], ptr %obuf, i64 0, i64 %tz
  store float 0.0, ptr %zp
  %tz1 = add i64 %tz, 1
  store i64 %tz1, ptr %t
  br label %zloop
jinit:
  store i64 0, ptr %j
  br label %jloop
jloop:
  %jv = load i64, ptr %j
  %jc = icmp sle i64 %jv, %iv
  br i1 %jc, label %jbody, label %finish
jbody:
  store float 0.0, ptr %s
  store i64 0, ptr %t
  br label %dloop
dloop:
  %td = load i64, ptr %t
  %dc = icmp slt i64 %td, DIM
  br i1 %dc, label %dbody, label %softmax
dbody:
  %qi = mul i64 %iv, DIM
  %qidx = add i64 %qi, %td
  %qp = getelementptr float, ptr %q, i64 %qidx
  %qv = load float, ptr %qp
  %kj = mul i64 %jv, DIM
  %kidx = add i64 %kj, %td
  %kp = getelementptr float, ptr %k, i64 %kidx
  %kv = load float, ptr %kp
  %prod = fmul fast float %qv, %kv
  %s0 = load float, ptr %s
  %s1 = fadd fast float %s0, %prod
  store float %s1, ptr %s
  %td1 = add i64 %td, 1
  store i64 %td1, ptr %t
  br label %dloop
softmax:
  %sv = load float, ptr %s
  %mo = load float, ptr %m
  %mn = call fast float @llvm.maxnum.f32(float %mo, float %sv)
  %d1 = fsub fast float %mo, %mn
  %corr = call fast float @llvm.exp.f32(float %d1)
  %d2 = fsub fast float %sv, %mn
  %p = call fast float @llvm.exp.f32(float %d2)
  %lo = load float, ptr %l
  %lc = fmul fast float %lo, %corr
  %ln = fadd fast float %lc, %p
  store float %ln, ptr %l
  store float %mn, ptr %m
  store i64 0, ptr %t
  br label %vloop
vloop:
  %tv = load i64, ptr %t
  %vc = icmp slt i64 %tv, DIM
  br i1 %vc, label %vbody, label %jnext
vbody:
  %vj = mul i64 %jv, DIM
  %vidx = add i64 %vj, %tv
  %vp = getelementptr float, ptr %v, i64 %vidx
  %vv = load float, ptr %vp
  %op = getelementptr [DIM x float], ptr %obuf, i64 0, i64 %tv
  %ov = load float, ptr %op
  %oc = fmul fast float %ov, %corr
  %pv = fmul fast float %p, %vv
  %on = fadd fast float %oc, %pv
  store float %on, ptr %op
  %tv1 = add i64 %tv, 1
  store i64 %tv1, ptr %t
  br label %vloop
jnext:
  %jv1 = add i64 %jv, 1
  store i64 %jv1, ptr %j
  br label %jloop
finish:
  %lf = load float, ptr %l
  store i64 0, ptr %t
  br label %floop
floop:
  %tf = load i64, ptr %t
  %fc = icmp slt i64 %tf, DIM
  br i1 %fc, label %fbody, label %inext
fbody:
  %fp = getelementptr [DIM x float], ptr %obuf, i64 0, i64 %tf
  %fv = load float, ptr %fp
  %fo = fdiv fast float %fv, %lf
  %oi = mul i64 %iv, DIM
  %oidx = add i64 %oi, %tf
  %opp = getelementptr float, ptr %o, i64 %oidx
  store float %fo, ptr %opp
  %tf1 = add i64 %tf, 1
  store i64 %tf1, ptr %t
  br label %floop
inext:
  %iv1 = add i64 %iv, 1
  store i64 %iv1, ptr %i
  br label %iloop
exit:
  ret void
}
)";

std::string kernelIR() {
  std::string ir = "declare float @llvm.maxnum.f32(float, float)\n"
                   "declare float @llvm.exp.f32(float)\n";
  for (llvm::StringRef dim : {"32", "64", "80", "96", "128", "256"}) {
    std::string fn = kKernelTemplate;
    for (size_t pos; (pos = fn.find("DIM")) != std::string::npos;)
      fn.replace(pos, 3, dim.str());
    ir += fn;
  }
  return ir;
}

/// Optimizes `ir` at O3 for the host and returns the object file bytes.
llvm::Expected<std::string> compileToObject(const std::string &ir) {
  auto fail = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::LLVMContext context;
  llvm::SMDiagnostic diag;
  std::unique_ptr<llvm::Module> module =
      llvm::parseAssemblyString(ir, diag, context);
  if (!module)
    return fail("kernel IR: " + diag.getMessage());
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return fail(error);
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, "x86-64-v3", "", llvm::TargetOptions(), std::nullopt));
  if (!machine)
    return fail("no target machine");
  module->setTargetTriple(triple);
  module->setDataLayout(machine->createDataLayout());

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder builder(machine.get());
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3)
      .run(*module, mam);

  llvm::SmallString<0> object;
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager codegen;
  if (machine->addPassesToEmitFile(codegen, os, nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
    return fail("the target cannot emit object files");
  codegen.run(*module);
  return std::string(object);
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

TEST(KernelCacheBenchTest, ColdVersusWarm) {
  if (!llvm::StringRef(llvm::sys::getDefaultTargetTriple())
           .starts_with("x86_64"))
    GTEST_SKIP() << "the benchmark kernel targets x86-64";
  TempDir dir;
  const std::string ir = kernelIR();
  CacheKey key;
  key.patternIR = ir;
  key.staticShape = "head_dim=32|64|80|96|128|256";
  key.dtype = "f32";
  key.backend = "cpu";
  key.arch = "x86_64";
  key.options = "O3,cpu=x86-64-v3";

  // Cold: compile and store.
  KernelCache cold(optionsFor(dir.str()));
  auto start = std::chrono::steady_clock::now();
  auto built = cold.getOrCreate(key, [&] { return compileToObject(ir); });
  double coldMs = msSince(start);
  ASSERT_TRUE(bool(built)) << llvm::toString(built.takeError());
  ASSERT_EQ(cold.stats().builds, 1u);
  const std::string object = (*built)->artifact;
  ASSERT_TRUE(llvm::StringRef(object).starts_with("\x7f"
                                                  "ELF"));

  // Warm from disk: a fresh cache, as in a new process.
  constexpr int kRepeats = 20;
  double diskMs = 0;
  for (int r = 0; r < kRepeats; ++r) {
    KernelCache warm(optionsFor(dir.str()));
    start = std::chrono::steady_clock::now();
    auto loaded = warm.getOrCreate(key, []() -> llvm::Expected<std::string> {
      ADD_FAILURE() << "warm lookup compiled";
      return std::string();
    });
    diskMs += msSince(start);
    ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
    ASSERT_EQ((*loaded)->artifact, object);
    ASSERT_EQ(warm.stats().diskHits, 1u);
  }
  diskMs /= kRepeats;

  // Warm from memory (includes hashing the key, i.e. the whole IR text).
  constexpr int kMemoryRepeats = 1000;
  start = std::chrono::steady_clock::now();
  for (int r = 0; r < kMemoryRepeats; ++r) {
    auto hit = cold.getOrCreate(key, []() -> llvm::Expected<std::string> {
      ADD_FAILURE() << "memory lookup compiled";
      return std::string();
    });
    ASSERT_TRUE(bool(hit));
  }
  double memoryUs = msSince(start) * 1000.0 / kMemoryRepeats;

  std::printf("[ cache    ] cold (O3 compile of %zu-byte IR + store): %.1f ms; "
              "warm from disk (fresh cache): %.3f ms; warm from memory: "
              "%.2f us; object %zu bytes; speed-up %.0fx (disk), %.0fx "
              "(memory)\n",
              ir.size(), coldMs, diskMs, memoryUs, object.size(),
              coldMs / diskMs, coldMs * 1000.0 / memoryUs);
}

} // namespace
