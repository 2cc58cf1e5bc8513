//===- KernelInfoTest.cpp - Size expressions and kernel records -----------===//

#include "sattn/KernelInfo.h"
#include "sattn/SizeExpr.h"

#include <gtest/gtest.h>

using namespace sattn;

namespace {

int64_t eval(const SizeExpr &e, int64_t b, int64_t sq, int64_t sk) {
  llvm::Expected<int64_t> v = e.evaluate({b, sq, sk});
  if (!v) {
    ADD_FAILURE() << llvm::toString(v.takeError());
    return -1;
  }
  return *v;
}

TEST(SizeExpr, FoldsConstantsAndIdentities) {
  SizeExpr b = SizeExpr::batch();
  EXPECT_TRUE((SizeExpr(3) * 4 + 1).isConstant());
  EXPECT_EQ((SizeExpr(3) * 4 + 1).constant(), 13);
  EXPECT_EQ((b * 1 + 0).str(), "B");
  EXPECT_EQ((b * 0).constant(), 0);
  EXPECT_EQ(floorDiv(b, 1).str(), "B");
}

TEST(SizeExpr, EvaluatesWithFloorAndCeilDivisionOfNegatives) {
  SizeExpr offset = SizeExpr::seqK() - SizeExpr::seqQ();
  // Sq > Sk makes the offset negative: floor and ceil round apart.
  EXPECT_EQ(eval(floorDiv(offset, 64), 1, 100, 10), -2);
  EXPECT_EQ(eval(ceilDiv(offset, 64), 1, 100, 10), -1);
  EXPECT_EQ(eval(ceilDiv(SizeExpr::seqK(), 128), 1, 1, 129), 2);
  EXPECT_EQ(eval(min(SizeExpr::seqQ(), 7) * max(SizeExpr::batch(), 2), 3, 5, 0),
            15);
}

TEST(SizeExpr, OverflowAndDivisionByZeroAreErrors) {
  SizeExpr huge = SizeExpr::batch() * SizeExpr::seqK() * SizeExpr::seqK();
  llvm::Expected<int64_t> v = huge.evaluate({1 << 20, 1, int64_t(1) << 30});
  ASSERT_FALSE(bool(v));
  EXPECT_NE(llvm::toString(v.takeError()).find("overflows"), std::string::npos);
  llvm::Expected<int64_t> z =
      floorDiv(SizeExpr(5), SizeExpr::seqQ()).evaluate({1, 0, 1});
  EXPECT_FALSE(bool(z));
  llvm::consumeError(z.takeError());
}

TEST(SizeExpr, JsonRoundTrip) {
  SizeExpr e = SizeExpr::batch() * 32 *
               (floorDiv(SizeExpr::seqK() - 1, 64) -
                floorDiv(SizeExpr::seqK() - SizeExpr::seqQ(), 64) + 1);
  llvm::Expected<SizeExpr> back = SizeExpr::fromJSON(e.toJSON());
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_TRUE(*back == e);
  EXPECT_EQ(back->str(), e.str());
  EXPECT_EQ(eval(*back, 2, 100, 300), eval(e, 2, 100, 300));
}

TEST(SizeExpr, JsonErrorsNameTheProblem) {
  for (const char *text : {R"("Sz")", R"(["pow", 1, 2])", R"(["+", 1])",
                           R"({"a": 1})", R"(1.5)"}) {
    llvm::Expected<llvm::json::Value> json = llvm::json::parse(text);
    ASSERT_TRUE(bool(json));
    llvm::Expected<SizeExpr> e = SizeExpr::fromJSON(*json);
    EXPECT_FALSE(bool(e)) << text;
    llvm::consumeError(e.takeError());
  }
}

KernelInfo sampleInfo() {
  KernelInfo info;
  info.pattern = "power";
  info.target = "sm_90a";
  info.elementType = "bf16";
  info.heads = 32;
  info.kvHeads = 8;
  info.headDim = 128;
  info.scale = 0.125;
  KernelFunction stage;
  stage.name = "sattn_select_x_1";
  stage.entry = stage.name;
  stage.items = SizeExpr::batch() * 32;
  stage.threads = 128;
  info.stages.push_back(stage);
  info.attention.name = info.attention.entry = "sattn_attention";
  info.attention.items = SizeExpr::batch() * ceilDiv(SizeExpr::seqQ(), 64);
  info.attention.threads = 128;
  info.workspace[unsigned(WorkspaceSlot::HeadFloats)] = SizeExpr::seqK() + 1;
  info.workspace[unsigned(WorkspaceSlot::ListCount)] = SizeExpr::batch() * 3;
  info.readsKeyScores = true;
  return info;
}

TEST(KernelInfo, RecordAndArtifactRoundTrip) {
  KernelInfo info = sampleInfo();
  KernelInput doc;
  doc.name = "doc";
  doc.dims = {SizeExpr::batch(), SizeExpr::seqK()};
  doc.dimNames = {"b", "s"};
  doc.indexedBy = {kIndexedByBatch, kIndexedByQuery | kIndexedByKey};
  info.inputs.push_back(doc);
  info.workspace[unsigned(WorkspaceSlot::Inputs)] = doc.elements();
  std::string binary("\0\x01ptx text", 10);
  llvm::Expected<KernelArtifact> back =
      decodeKernelArtifact(encodeKernelArtifact(info, binary));
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->binary, binary);
  EXPECT_EQ(back->info.toJSON(), info.toJSON());
  EXPECT_EQ(back->info.stages.size(), 1u);
  EXPECT_EQ(back->info.attention.threads, 128);
  EXPECT_TRUE(back->info.readsKeyScores);
  EXPECT_FALSE(back->info.readsWeights);
  ASSERT_EQ(back->info.inputs.size(), 1u);
  const KernelInput &read = back->info.inputs[0];
  EXPECT_EQ(read.name, "doc");
  EXPECT_EQ(read.dimNames, (std::vector<std::string>{"b", "s"}));
  EXPECT_EQ(read.indexedBy,
            (std::vector<unsigned>{kIndexedByBatch,
                                   kIndexedByQuery | kIndexedByKey}));
  llvm::Expected<int64_t> elements = read.elements().evaluate({3, 5, 7});
  ASSERT_TRUE(bool(elements));
  EXPECT_EQ(*elements, 21);
}

TEST(KernelInfo, DamagedRecordsAreErrors) {
  std::string good = encodeKernelArtifact(sampleInfo(), "bin");
  EXPECT_FALSE(bool(decodeKernelArtifact("not an artifact")));
  llvm::consumeError(decodeKernelArtifact("not an artifact").takeError());
  // A record cut short, and one whose length runs past the end.
  std::string cut = good.substr(0, good.size() / 2);
  llvm::Expected<KernelArtifact> a = decodeKernelArtifact(cut);
  EXPECT_FALSE(bool(a));
  llvm::consumeError(a.takeError());
  std::string info = sampleInfo().toJSON();
  std::string wrongVersion = info;
  std::string format =
      "\"format\": " + std::to_string(KernelInfo::kFormatVersion);
  wrongVersion.replace(wrongVersion.find(format), format.size(),
                       "\"format\": 99");
  llvm::Expected<KernelInfo> v = KernelInfo::fromJSON(wrongVersion);
  ASSERT_FALSE(bool(v));
  EXPECT_NE(llvm::toString(v.takeError()).find("format 99"), std::string::npos);
}

TEST(KernelInfo, WorkspaceLayoutPlacesSlotsAndAlignsTheIntPart) {
  KernelInfo info = sampleInfo();
  llvm::Expected<WorkspaceLayout> layout = layoutWorkspace(info, {2, 10, 9});
  ASSERT_TRUE(bool(layout)) << llvm::toString(layout.takeError());
  // Floats: head_floats = Sk + 1 = 10 elements, padded to 12.
  EXPECT_EQ(layout->sizes[unsigned(WorkspaceSlot::HeadFloats)], 10);
  EXPECT_EQ(layout->floatElements, 12);
  // Ints: list_count = 3 B = 6 at offset 0 of the int part.
  EXPECT_EQ(layout->offsets[unsigned(WorkspaceSlot::ListCount)], 0);
  EXPECT_EQ(layout->intElements, 6);
  EXPECT_EQ(layout->bytes(), size_t(18 * 4));
}

TEST(KernelInfo, WorkspaceTooLargeIsAnError) {
  KernelInfo info = sampleInfo();
  info.workspace[unsigned(WorkspaceSlot::HeadInts)] =
      SizeExpr::seqK() * SizeExpr::seqK();
  llvm::Expected<WorkspaceLayout> layout =
      layoutWorkspace(info, {1, 1, int64_t(1) << 40});
  EXPECT_FALSE(bool(layout));
  llvm::consumeError(layout.takeError());
  info.workspace[unsigned(WorkspaceSlot::HeadInts)] = SizeExpr::seqK() - 10;
  layout = layoutWorkspace(info, {1, 1, 5});
  ASSERT_FALSE(bool(layout));
  EXPECT_NE(llvm::toString(layout.takeError()).find("negative"),
            std::string::npos);
}

} // namespace
