//===- DslApiTest.cpp - The .sattn front-end through its C++ API ----------===//

#include "patterns/PatternLoader.h"
#include "patterns/dsl/Frontend.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

using namespace mlir;
namespace ir = mlir::sattn;

namespace {

class DslApiTest : public ::testing::Test {
protected:
  DslApiTest() {
    // Keep diagnostics for assertions instead of printing them.
    handler = std::make_unique<ScopedDiagnosticHandler>(
        &context, [this](Diagnostic &diag) {
          if (diag.getSeverity() == DiagnosticSeverity::Error) {
            std::string text;
            if (auto loc = dyn_cast<FileLineColLoc>(diag.getLocation()))
              text = std::to_string(loc.getLine()) + ":" +
                     std::to_string(loc.getColumn()) + ": ";
            errors.push_back(text + diag.str());
          }
          return success();
        });
  }

  llvm::Expected<OwningOpRef<ModuleOp>> parse(llvm::StringRef source) {
    return ::sattn::dsl::parseSattnSource(source, "test.sattn", context);
  }

  MLIRContext context;
  std::unique_ptr<ScopedDiagnosticHandler> handler;
  std::vector<std::string> errors;
};

TEST_F(DslApiTest, OpsCarryTheirStatementLocations) {
  auto module = parse("# header\n"
                      "pattern p(w = 3) {\n"
                      "  causal\n"
                      "    window w blocks\n"
                      "  keep where qb == kb\n"
                      "}\n");
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  auto pattern = *(*module)->getOps<ir::PatternOp>().begin();
  auto fileLoc = [](Operation *op) {
    auto loc = cast<FileLineColLoc>(op->getLoc());
    return std::make_tuple(loc.getFilename().str(), loc.getLine(),
                           loc.getColumn());
  };
  EXPECT_EQ(fileLoc(pattern),
            std::make_tuple(std::string("test.sattn"), 2u, 1u));
  auto it = pattern.getBody().front().begin();
  EXPECT_EQ(fileLoc(&*it), std::make_tuple(std::string("test.sattn"), 4u, 5u));
  EXPECT_EQ(fileLoc(&*++it),
            std::make_tuple(std::string("test.sattn"), 5u, 3u));
  EXPECT_TRUE(pattern.getCausal());
  EXPECT_TRUE(errors.empty());
}

TEST_F(DslApiTest, ReportsEveryErrorAndCountsThem) {
  auto module = parse("pattern p {\n"
                      "  windw 3 blocks\n"
                      "  window 3\n"
                      "}\n"
                      "pattern q(widow = 1) { window window blocks }\n");
  ASSERT_FALSE(bool(module));
  EXPECT_EQ(llvm::toString(module.takeError()),
            "cannot compile pattern file 'test.sattn': 3 errors");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0],
            "2:3: unknown statement 'windw'; did you mean 'window'?");
  EXPECT_EQ(errors[1], "3:11: expected 'tokens', 'blocks' or 'fraction' after "
                       "the window size, got the end of the line");
  EXPECT_EQ(errors[2], "5:31: unknown parameter 'window'; did you mean "
                       "'widow'?");
}

TEST_F(DslApiTest, StopsAfterAFlood) {
  std::string source = "pattern p {\n";
  for (int i = 0; i < 100; ++i)
    source += "  bogus\n";
  source += "}\n";
  auto module = parse(source);
  ASSERT_FALSE(bool(module));
  std::string message = llvm::toString(module.takeError());
  EXPECT_NE(message.find("20 errors (stopped early)"), std::string::npos)
      << message;
  EXPECT_EQ(errors.size(), 20u);
}

/// Issue 21 D9: errors inside one statement were not capped (3M duplicate
/// columns printed 3M lines). The first kMaxErrors are shown, the rest
/// counted in the summary.
TEST_F(DslApiTest, ErrorsInOneListAreCapped) {
  std::string source = "pattern p {\n  columns [0";
  for (int i = 0; i < 1000; ++i)
    source += ", 0";
  source += "]\n}\n";
  auto module = parse(source);
  ASSERT_FALSE(bool(module));
  std::string message = llvm::toString(module.takeError());
  EXPECT_NE(message.find("1000 errors (the first 20 shown, and 980 more)"),
            std::string::npos)
      << message;
  EXPECT_EQ(errors.size(), 20u);
}

TEST_F(DslApiTest, DeepNestingIsAnErrorNotACrash) {
  std::string source = "pattern p { keep where " + std::string(100000, '(') +
                       "qb" + std::string(100000, ')') + " == kb }\n";
  auto module = parse(source);
  ASSERT_FALSE(bool(module));
  llvm::consumeError(module.takeError());
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find("nested more than"), std::string::npos);
  errors.clear();
  module =
      parse("pattern p { window " + std::string(100000, '-') + "1 blocks }");
  ASSERT_FALSE(bool(module));
  llvm::consumeError(module.takeError());
  EXPECT_FALSE(errors.empty());
}

TEST_F(DslApiTest, LoaderDispatchesOnTheExtension) {
  auto fromDsl = ::sattn::loadPatternSource(
      "pattern s(w = 8) { causal window w tokens }", "x.sattn", context);
  ASSERT_TRUE(bool(fromDsl)) << llvm::toString(fromDsl.takeError());
  auto fromMlir = ::sattn::loadPatternSource(
      "sattn.pattern @s(w = 8) block = 128 causal {\n"
      "  sattn.window #sattn.param<\"w\"> tokens\n}\n",
      "x.mlir", context);
  ASSERT_TRUE(bool(fromMlir)) << llvm::toString(fromMlir.takeError());
  std::string a, b;
  llvm::raw_string_ostream(a) << **fromDsl;
  llvm::raw_string_ostream(b) << **fromMlir;
  EXPECT_EQ(a, b);
  // The same source read as MLIR is not valid MLIR.
  auto wrong = ::sattn::loadPatternSource(
      "pattern s(w = 8) { causal window w tokens }", "x.mlir", context);
  EXPECT_FALSE(bool(wrong));
  llvm::consumeError(wrong.takeError());
}

TEST_F(DslApiTest, KeepPredicatesBindAndImport) {
  auto module = ::sattn::loadPatternSource(
      "pattern doc(doc = 100) { causal keep where q / doc == k / doc "
      "and not is_pow2(qb - kb) or k % doc < 2 }",
      "doc.sattn", context);
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  auto pattern = ::sattn::findPattern(**module, "doc");
  ASSERT_TRUE(bool(pattern)) << llvm::toString(pattern.takeError());
  auto bound = ::sattn::bindPattern(*pattern, {{"doc", "64"}});
  ASSERT_TRUE(bool(bound)) << llvm::toString(bound.takeError());
  auto spec = ::sattn::importPattern(*bound);
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  ASSERT_EQ(spec->primitives.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<::sattn::KeepPrim>(spec->primitives[0]));
  EXPECT_TRUE(errors.empty());
}

TEST_F(DslApiTest, StockLibraryMatchesItsMlirTwins) {
  for (const char *name :
       {"power", "streaming", "sample", "hip", "sparsek", "pbs"}) {
    std::string base =
        std::string(SATTN_SOURCE_DIR) + "/patterns/library/" + name;
    auto dsl = ::sattn::loadPatternFile(base + ".sattn", context);
    auto mlir = ::sattn::loadPatternFile(base + ".mlir", context);
    ASSERT_TRUE(bool(dsl)) << name << ": " << llvm::toString(dsl.takeError());
    ASSERT_TRUE(bool(mlir)) << name << ": " << llvm::toString(mlir.takeError());
    std::string a, b;
    llvm::raw_string_ostream(a) << **dsl;
    llvm::raw_string_ostream(b) << **mlir;
    EXPECT_EQ(a, b) << name;
  }
}

} // namespace
