//===- ParserFuzzTest.cpp - Mutated pattern files never crash -------------===//
//
// Feeds thousands of mutations of the stock patterns (and of a file holding
// every primitive) to the parser and verifier. Each must either parse and
// verify or be rejected with a diagnostic; a crash or assertion fails the
// test binary. Deterministic: the seed is fixed.
//
//===----------------------------------------------------------------------===//

#include "dialect/SattnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstdio>
#include <gtest/gtest.h>
#include <random>

using namespace mlir;

namespace {

constexpr const char *kEveryPrimitive = R"mlir(
sattn.pattern @all(w = 4, f = 0.5, n = 8) block = 16 causal {
  sattn.sink #sattn.param<"n">
  sattn.window #sattn.param<"w"> blocks
  sattn.window 0.25 fraction
  sattn.window 32 tokens
  sattn.strides pow2
  sattn.strides every 3
  sattn.strides [4, 1, 8]
  sattn.columns [0, 2]
  sattn.diagonals [-1, 5]
  sattn.keep {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
    %w = sattn.param "w"
    %d = arith.subi %qb, %kb : i64
    %lt = arith.cmpi slt, %d, %w : i64
    %p = sattn.is_pow2 %d
    %r = arith.ori %lt, %p : i1
    sattn.yield %r : i1
  }
  sattn.stripes segments = 8, rows = 64, cover = 0.95, window_frac = #sattn.param<"f">
  sattn.tree_search block_q = 64, block_k = 2, k = 512, q_stride = 2, sink = 16, window = 256
  sattn.topk k = 8 blocks by pooled_qk
  sattn.topk cover = 0.5 tokens by linear
  sattn.permute segment = 256, probe = 128, block = 128, cover = 0.9
}
func.func @f(%q: tensor<1x4x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %w: tensor<2x64xf32>)
    -> (tensor<1x4x?x64xbf16>, tensor<1x4x?xf32>) {
  %o, %l = sattn.attention @all(%q, %k, %k) weights(%w : tensor<2x64xf32>)
      : (tensor<1x4x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>)
      -> (tensor<1x4x?x64xbf16>, tensor<1x4x?xf32>)
  return %o, %l : tensor<1x4x?x64xbf16>, tensor<1x4x?xf32>
}
)mlir";

std::vector<std::string> seedFiles() {
  std::vector<std::string> seeds{kEveryPrimitive};
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(SATTN_PATTERN_LIBRARY, ec), end;
       it != end && !ec; it.increment(ec)) {
    if (llvm::sys::path::extension(it->path()) != ".mlir")
      continue;
    auto buffer = llvm::MemoryBuffer::getFile(it->path());
    if (buffer)
      seeds.push_back((*buffer)->getBuffer().str());
  }
  return seeds;
}

/// One random edit of `text`: delete, duplicate or replace a span, swap in a
/// token that matters to the grammar, or perturb a number.
std::string mutate(std::string text, std::mt19937 &rng) {
  static const char *const kTokens[] = {"0",
                                        "-1",
                                        "1.5",
                                        "9999999999999999999",
                                        "#sattn.param<\"x\">",
                                        "{",
                                        "}",
                                        "(",
                                        ")",
                                        ",",
                                        "=",
                                        "blocks",
                                        "tokens",
                                        "fraction",
                                        "pow2",
                                        "every",
                                        "[",
                                        "]",
                                        "causal",
                                        "k",
                                        "cover",
                                        ":",
                                        "i1",
                                        "f32",
                                        "%q",
                                        "^bb0",
                                        "sattn.yield",
                                        "sattn.sink 1",
                                        "\"",
                                        "@power"};
  auto pick = [&](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n ? n - 1 : 0)(rng);
  };
  int edits = 1 + pick(3);
  for (int e = 0; e < edits && !text.empty(); ++e) {
    size_t at = pick(text.size());
    size_t len = 1 + pick(std::min<size_t>(12, text.size() - at));
    switch (pick(5)) {
    case 0:
      text.erase(at, len);
      break;
    case 1:
      text.insert(at, text.substr(at, len));
      break;
    case 2:
      text.replace(at, len, kTokens[pick(std::size(kTokens))]);
      break;
    case 3:
      text.insert(at,
                  std::string(" ") + kTokens[pick(std::size(kTokens))] + " ");
      break;
    case 4:
      if (auto digit = text.find_first_of("0123456789", at);
          digit != std::string::npos)
        text[digit] = "0123456789-"[pick(11)];
      break;
    }
  }
  return text;
}

TEST(ParserFuzzTest, MutatedPatternsNeverCrash) {
  MLIRContext context;
  context.loadDialect<sattn::SattnDialect, arith::ArithDialect,
                      func::FuncDialect>();
  unsigned diagnostics = 0;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &) {
    ++diagnostics;
    return success();
  });
  std::vector<std::string> seeds = seedFiles();
  ASSERT_GE(seeds.size(), 7u)
      << "stock patterns not found in " << SATTN_PATTERN_LIBRARY;
  std::mt19937 rng(20261122);
  unsigned parsed = 0, rejected = 0;
  constexpr unsigned kCases = 4000;
  for (unsigned i = 0; i < kCases; ++i) {
    std::string text = mutate(seeds[i % seeds.size()], rng);
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
    if (!module) {
      ++rejected;
      continue;
    }
    ++parsed;
    // Survivors also go through canonicalization, which must keep them valid.
    PassManager pm(&context);
    pm.addPass(createCanonicalizerPass());
    if (succeeded(pm.run(*module))) {
      EXPECT_TRUE(succeeded(verify(*module))) << text;
    }
  }
  std::printf("fuzz: %u cases, %u parsed and verified, %u rejected\n", kCases,
              parsed, rejected);
  // Both outcomes must occur, or the mutations are not exercising anything.
  EXPECT_GT(parsed, kCases / 50);
  EXPECT_GT(rejected, kCases / 2);
  EXPECT_GE(diagnostics, rejected);
}

} // namespace
