//===- PatternApiTest.cpp - Building, verifying and binding patterns ------===//

#include "dialect/SattnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::sattn;

namespace {

class PatternApiTest : public ::testing::Test {
protected:
  PatternApiTest() {
    context.loadDialect<SattnDialect, arith::ArithDialect>();
    // Keep diagnostics for assertions instead of printing them.
    handler = std::make_unique<ScopedDiagnosticHandler>(
        &context, [this](Diagnostic &diag) {
          messages.push_back(diag.str());
          return success();
        });
  }

  OwningOpRef<ModuleOp> parse(StringRef text) {
    return parseSourceString<ModuleOp>(text, &context);
  }

  MLIRContext context;
  std::unique_ptr<ScopedDiagnosticHandler> handler;
  std::vector<std::string> messages;
};

constexpr const char *kPower = R"mlir(
  sattn.pattern @power(block = 256, window = 5, sink = 256)
      block = #sattn.param<"block"> causal {
    sattn.sink #sattn.param<"sink">
    sattn.window #sattn.param<"window"> blocks
    sattn.strides pow2
  }
)mlir";

TEST_F(PatternApiTest, BuildsPatternWithBuilders) {
  OpBuilder builder(&context);
  Location loc = builder.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  builder.setInsertionPointToEnd(module->getBody());
  auto pattern = PatternOp::create(
      builder, loc, "streaming",
      builder.getDictionaryAttr(
          {builder.getNamedAttr("window", builder.getI64IntegerAttr(64))}),
      builder.getI64IntegerAttr(16), /*causal=*/true);
  Block *body = builder.createBlock(&pattern.getBody());
  builder.setInsertionPointToEnd(body);
  SinkOp::create(builder, loc, builder.getI64IntegerAttr(4));
  WindowOp::create(builder, loc, ParamAttr::get(&context, "window"),
                   WindowUnitAttr::get(&context, WindowUnit::tokens));
  ASSERT_TRUE(succeeded(verify(*module))) << messages.size();
  EXPECT_EQ(pattern.getBlockSize(), 16);
  EXPECT_EQ(pattern.resolveInt(ParamAttr::get(&context, "window")), 64);
}

TEST_F(PatternApiTest, SpecializeBindsDefaultsAndOverrides) {
  OwningOpRef<ModuleOp> module = parse(kPower);
  ASSERT_TRUE(module);
  auto pattern = *module->getOps<PatternOp>().begin();
  FailureOr<PatternOp> bound =
      specializePattern(pattern, {{"window", "3"}, {"block", "64"}});
  ASSERT_TRUE(succeeded(bound));
  EXPECT_EQ(bound->getBlockSize(), 64);
  auto window = *bound->getBody().getOps<WindowOp>().begin();
  auto size = dyn_cast<IntegerAttr>(window.getSize());
  ASSERT_TRUE(size);
  EXPECT_EQ(size.getInt(), 3);
  auto sink = *bound->getBody().getOps<SinkOp>().begin();
  EXPECT_EQ(cast<IntegerAttr>(sink.getTokens()).getInt(), 256);
  // The original keeps its references.
  EXPECT_TRUE(isa<ParamAttr>(
      (*pattern.getBody().getOps<WindowOp>().begin()).getSize()));
  bound->erase();
}

TEST_F(PatternApiTest, SpecializeRejectsUnknownParameterWithHint) {
  OwningOpRef<ModuleOp> module = parse(kPower);
  auto pattern = *module->getOps<PatternOp>().begin();
  EXPECT_TRUE(failed(specializePattern(pattern, {{"widow", "3"}})));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("did you mean 'window'"), std::string::npos)
      << messages[0];
  // The failed attempt leaves no clone behind.
  EXPECT_EQ(llvm::range_size(module->getOps<PatternOp>()), 1u);
}

TEST_F(PatternApiTest, SpecializeReportsOutOfRangeOverride) {
  OwningOpRef<ModuleOp> module = parse(kPower);
  auto pattern = *module->getOps<PatternOp>().begin();
  EXPECT_TRUE(failed(specializePattern(pattern, {{"window", "0"}})));
  ASSERT_FALSE(messages.empty());
  EXPECT_NE(messages[0].find("'size' (parameter 'window') must be >= 1, got 0"),
            std::string::npos)
      << messages[0];
  EXPECT_EQ(llvm::range_size(module->getOps<PatternOp>()), 1u);
}

TEST_F(PatternApiTest, SpecializeRejectsWrongValueKind) {
  OwningOpRef<ModuleOp> module = parse(kPower);
  auto pattern = *module->getOps<PatternOp>().begin();
  EXPECT_TRUE(failed(specializePattern(pattern, {{"window", "2.5"}})));
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("needs an integer, got '2.5'"), std::string::npos)
      << messages[0];
}

TEST_F(PatternApiTest, ParseOverride) {
  std::string error;
  auto parsed = parseOverride("window = 7", error);
  ASSERT_TRUE(succeeded(parsed));
  EXPECT_EQ(parsed->first, "window");
  EXPECT_EQ(parsed->second, "7");
  EXPECT_TRUE(failed(parseOverride("window", error)));
  EXPECT_NE(error.find("expected NAME=VALUE"), std::string::npos);
  EXPECT_TRUE(failed(parseOverride("=3", error)));
}

TEST_F(PatternApiTest, KeepPredicateLevel) {
  OwningOpRef<ModuleOp> module = parse(R"mlir(
    sattn.pattern @p() block = 64 {
      sattn.keep {
      ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
        %d = arith.subi %qb, %kb : i64
        %p = sattn.is_pow2 %d
        sattn.yield %p : i1
      }
      sattn.keep {
      ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64, %h: i64, %B: i64, %Sq: i64, %Sk: i64):
        %c = arith.cmpi sle, %k, %q : i64
        sattn.yield %c : i1
      }
    }
  )mlir");
  ASSERT_TRUE(module) << (messages.empty() ? "" : messages[0]);
  auto keeps = llvm::to_vector(
      (*module->getOps<PatternOp>().begin()).getBody().getOps<KeepOp>());
  ASSERT_EQ(keeps.size(), 2u);
  EXPECT_TRUE(keeps[0].isBlockLevel());
  EXPECT_FALSE(keeps[1].isBlockLevel());
}

} // namespace
