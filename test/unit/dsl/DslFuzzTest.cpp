//===- DslFuzzTest.cpp - Mutated and random .sattn files never crash ------===//
//
// Feeds thousands of mutations of the stock, example and test .sattn files,
// files of random tokens and patterns of random statements to the front-end.
// Each must either compile, with no error emitted (its patterns then bind and
// import), or fail with at least one error diagnostic and a counted error; a
// crash, an assertion or a hang fails the binary. Deterministic: seeds are
// fixed.
//
//===----------------------------------------------------------------------===//

#include "patterns/PatternLoader.h"
#include "patterns/dsl/Frontend.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"

#include <chrono>
#include <gtest/gtest.h>
#include <random>

using namespace mlir;

namespace {

/// Words and symbols the language is made of, plus a few it is not.
const char *const kVocabulary[] = {"pattern",
                                   "causal",
                                   "block",
                                   "sink",
                                   "window",
                                   "strides",
                                   "columns",
                                   "diagonals",
                                   "keep",
                                   "where",
                                   "stripes",
                                   "tree_search",
                                   "topk",
                                   "permute",
                                   "tokens",
                                   "blocks",
                                   "fraction",
                                   "pow2",
                                   "every",
                                   "list",
                                   "by",
                                   "key_score",
                                   "linear",
                                   "pooled_qk",
                                   "segments",
                                   "rows",
                                   "cover",
                                   "window_frac",
                                   "block_q",
                                   "block_k",
                                   "k",
                                   "q_stride",
                                   "segment",
                                   "probe",
                                   "q",
                                   "qb",
                                   "kb",
                                   "h",
                                   "B",
                                   "Sq",
                                   "Sk",
                                   "and",
                                   "or",
                                   "not",
                                   "true",
                                   "false",
                                   "min",
                                   "max",
                                   "is_pow2",
                                   "w",
                                   "alpha",
                                   "x",
                                   "0",
                                   "1",
                                   "2",
                                   "3",
                                   "64",
                                   "-1",
                                   "0.5",
                                   "1e300",
                                   "1e-300",
                                   "9223372036854775807",
                                   "99999999999999999999",
                                   "(",
                                   ")",
                                   "{",
                                   "}",
                                   "[",
                                   "]",
                                   ",",
                                   "=",
                                   "+",
                                   "-",
                                   "*",
                                   "/",
                                   "%",
                                   "&",
                                   "|",
                                   "^",
                                   "<<",
                                   ">>",
                                   "==",
                                   "!=",
                                   "<",
                                   "<=",
                                   ">",
                                   ">=",
                                   "\n",
                                   "\n",
                                   "\n",
                                   "# c\n",
                                   ";",
                                   "!",
                                   "&&",
                                   ".",
                                   "@",
                                   "\t",
                                   "\xff",
                                   "\xc3\xa9"};

std::string readFile(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return "";
  return (*buffer)->getBuffer().str();
}

std::vector<std::string> seedFiles() {
  std::string root = SATTN_SOURCE_DIR;
  std::vector<std::string> seeds;
  for (const char *name :
       {"power", "streaming", "sample", "hip", "sparsek", "pbs"})
    seeds.push_back(readFile(root + "/patterns/library/" + name + ".sattn"));
  for (const char *name : {"dilated", "documents", "pow2_topk"})
    seeds.push_back(readFile(root + "/examples/patterns/" + name + ".sattn"));
  for (const char *name : {"statements", "keep", "params"})
    seeds.push_back(readFile(root + "/test/dsl/" + name + ".sattn"));
  return seeds;
}

/// One random edit of `text`: delete, insert or replace a span, duplicate a
/// line, or splice in a vocabulary word.
std::string mutate(std::string text, std::mt19937_64 &rng) {
  auto pick = [&](size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  int edits = 1 + pick(4);
  for (int e = 0; e < edits; ++e) {
    size_t at = pick(text.size() + 1);
    size_t len = 1 + pick(8);
    std::string word = kVocabulary[pick(std::size(kVocabulary))];
    switch (pick(6)) {
    case 0:
      text.erase(at, len);
      break;
    case 1:
      text.insert(at, " " + word + " ");
      break;
    case 2:
      text.replace(at, std::min(len, text.size() - at), word);
      break;
    case 3: {
      size_t end = text.find('\n', at);
      text.insert(at,
                  text.substr(at, end == std::string::npos ? std::string::npos
                                                           : end - at + 1));
      break;
    }
    case 4:
      text.insert(at, 1, static_cast<char>(pick(256)));
      break;
    default:
      text = text.substr(0, at);
      break;
    }
  }
  return text;
}

/// A file of random vocabulary words, often shaped like a pattern.
std::string randomFile(std::mt19937_64 &rng) {
  auto pick = [&](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  std::string text = pick(2) ? "pattern p(w = 4, alpha = 0.5) {\n" : "";
  size_t words = pick(60);
  for (size_t i = 0; i < words; ++i) {
    text += kVocabulary[pick(std::size(kVocabulary))];
    text += ' ';
  }
  if (pick(2))
    text += "\n}\n";
  return text;
}

/// A pattern of random statements from templates with random numbers: mostly
/// well-formed, so that the verifiers and binding see many values.
std::string randomStatements(std::mt19937_64 &rng) {
  static const char *const kTemplates[] = {
      "causal",
      "block N",
      "sink N tokens",
      "sink w",
      "window N tokens",
      "window N blocks",
      "window F fraction",
      "window w blocks",
      "strides pow2",
      "strides every N",
      "strides [N, N]",
      "columns [N]",
      "diagonals [N, N]",
      "keep where qb - kb < N and is_pow2(kb + N)",
      "keep where q / N == k / N or k % N == w",
      "keep where not (h ^ N) > w",
      "stripes segments = N rows = N cover = F window_frac = F",
      "stripes cover = alpha",
      "tree_search block_q = N, block_k = N, k = N",
      "topk k = N tokens by key_score",
      "topk cover = F blocks by pooled_qk",
      "topk k = w blocks by linear",
      "permute segment = N, block = N",
      "permute cover = alpha probe = N"};
  static const char *const kInts[] = {"0",  "1",  "2",  "3",   "4",
                                      "16", "64", "-1", "255", "1 << 40"};
  static const char *const kFloats[] = {"0.0", "0.05", "0.5", "1.0",
                                        "1.5", "-0.1", "1",   "alpha"};
  auto pick = [&](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  std::string text = "pattern p(w = " + std::string(kInts[pick(10)]) +
                     ", alpha = " + kFloats[pick(6)] + ") {\n";
  size_t statements = 1 + pick(6);
  for (size_t i = 0; i < statements; ++i) {
    std::string statement = kTemplates[pick(std::size(kTemplates))];
    std::string filled;
    for (char c : statement) {
      if (c == 'N')
        filled += kInts[pick(std::size(kInts))];
      else if (c == 'F')
        filled += kFloats[pick(std::size(kFloats))];
      else
        filled += c;
    }
    text += "  " + filled + "\n";
  }
  return text + "}\n";
}

class DslFuzzTest : public ::testing::Test {
protected:
  /// Compiles one input; checks the contract and returns false on a breach.
  void check(const std::string &source, const std::string &what) {
    unsigned errorDiags = 0;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      errorDiags += diag.getSeverity() == DiagnosticSeverity::Error;
      return success();
    });
    auto start = std::chrono::steady_clock::now();
    auto module = ::sattn::dsl::parseSattnSource(source, "fuzz.sattn", context);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    slowest = std::max(slowest, seconds);
    ASSERT_LT(seconds, 2.0) << "slow input (" << what << "):\n" << source;
    if (module) {
      ++compiled;
      ASSERT_EQ(errorDiags, 0u) << what << ":\n" << source;
      // What compiles must also bind with its defaults and import.
      // bindPattern inserts the bound clone after each: collect first.
      llvm::SmallVector<mlir::sattn::PatternOp> patterns(
          (*module)->getOps<mlir::sattn::PatternOp>());
      for (mlir::sattn::PatternOp pattern : patterns) {
        auto bound = ::sattn::bindPattern(pattern, {});
        if (bound) {
          auto spec = ::sattn::importPattern(*bound);
          if (!spec)
            llvm::consumeError(spec.takeError());
        } else {
          llvm::consumeError(bound.takeError());
        }
      }
      return;
    }
    ++rejected;
    std::string message = llvm::toString(module.takeError());
    ASSERT_GE(errorDiags, 1u)
        << "error without a diagnostic (" << what << "): " << message << "\n"
        << source;
    ASSERT_NE(message.find("fuzz.sattn"), std::string::npos) << message;
  }

  MLIRContext context;
  unsigned compiled = 0, rejected = 0;
  double slowest = 0.0;
};

TEST_F(DslFuzzTest, MutatedFilesNeverCrash) {
  std::vector<std::string> seeds = seedFiles();
  ASSERT_EQ(seeds.size(), 12u);
  for (const std::string &seed : seeds)
    ASSERT_FALSE(seed.empty());
  std::mt19937_64 rng(20240611);
  constexpr int kCases = 6000;
  for (int i = 0; i < kCases; ++i) {
    const std::string &seed = seeds[i % seeds.size()];
    std::string source = mutate(seed, rng);
    check(source, "mutation " + std::to_string(i));
    if (HasFatalFailure())
      return;
  }
  // Both outcomes must occur, or the mutations are not exploring anything.
  EXPECT_GT(compiled, 500u);
  EXPECT_GT(rejected, 500u);
  std::printf("%d mutated files: %u compiled, %u rejected, slowest %.4f s\n",
              kCases, compiled, rejected, slowest);
}

TEST_F(DslFuzzTest, RandomFilesNeverCrash) {
  std::mt19937_64 rng(7);
  constexpr int kCases = 2000;
  for (int i = 0; i < kCases; ++i) {
    check(randomFile(rng), "random file " + std::to_string(i));
    if (HasFatalFailure())
      return;
  }
  EXPECT_GT(rejected, 1000u);
  std::printf("%d random files: %u compiled, %u rejected, slowest %.4f s\n",
              kCases, compiled, rejected, slowest);
}

TEST_F(DslFuzzTest, RandomStatementsNeverCrash) {
  std::mt19937_64 rng(99);
  constexpr int kCases = 3000;
  for (int i = 0; i < kCases; ++i) {
    check(randomStatements(rng), "random statements " + std::to_string(i));
    if (HasFatalFailure())
      return;
  }
  EXPECT_GT(compiled, 300u);
  EXPECT_GT(rejected, 300u);
  std::printf("%d random patterns: %u compiled, %u rejected, slowest %.4f s\n",
              kCases, compiled, rejected, slowest);
}

} // namespace
