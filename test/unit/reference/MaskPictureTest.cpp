//===- MaskPictureTest.cpp - PNG and SVG mask pictures --------------------===//

#include "sattn/MaskPicture.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <png.h>

#include <cstring>

using namespace sattn;

namespace {

class MaskPictureTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("sattn-pic", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }
  std::string path(llvm::StringRef name) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  llvm::SmallString<128> dir;
};

/// A 2 x 3 map: row 0 = full, partial, skipped; row 1 = skipped x 3.
BlockMap smallMap() {
  BlockMap m;
  m.blockSize = 64;
  m.qBlocks = 2;
  m.kBlocks = 3;
  m.seqQ = 128;
  m.seqK = 192;
  m.state = {BlockMap::Full,    BlockMap::Partial, BlockMap::Skipped,
             BlockMap::Skipped, BlockMap::Skipped, BlockMap::Skipped};
  m.attendedPairs = 64 * 64 + 100;
  m.density = double(m.attendedPairs) / (128.0 * 192);
  m.causalDensity = 0.5;
  return m;
}

struct Decoded {
  png_uint_32 width = 0, height = 0;
  std::vector<uint8_t> rgb;
  const uint8_t *at(int x, int y) const {
    return &rgb[(size_t(y) * width + x) * 3];
  }
};

bool decodePng(const std::string &file, Decoded &out) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, file.c_str()))
    return false;
  img.format = PNG_FORMAT_RGB;
  out.width = img.width;
  out.height = img.height;
  out.rgb.resize(PNG_IMAGE_SIZE(img));
  bool ok = png_image_finish_read(&img, nullptr, out.rgb.data(), 0, nullptr);
  png_image_free(&img);
  return ok;
}

TEST_F(MaskPictureTest, LegendLines) {
  std::vector<std::string> lines = legendLines(smallMap(), {"power", 256});
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "pattern: power");
  EXPECT_EQ(lines[1], "Sq=128 Sk=192 B=256  cell=64 tokens");
  // 4196 / 24576 = 17.07%.
  EXPECT_EQ(lines[2], "density 17.07% of all pairs, 50.00% of causal pairs");
}

TEST_F(MaskPictureTest, PngIsValidAndColoured) {
  std::string file = path("m.png");
  ASSERT_FALSE(bool(writeMaskPng(file, smallMap(), {"power", 256})));
  auto buf = llvm::MemoryBuffer::getFile(file);
  ASSERT_TRUE(bool(buf));
  EXPECT_TRUE((*buf)->getBuffer().starts_with("\x89PNG\r\n\x1a\n"));
  Decoded img;
  ASSERT_TRUE(decodePng(file, img));
  EXPECT_GT(img.width, 3u * 8);
  EXPECT_GT(img.height, 2u * 8);
  // Small maps are magnified to at most 32 px a cell, after a 12 px margin:
  // sample the middle of each cell of row 0; three distinct colours.
  const int px = 32, margin = 12;
  const uint8_t *full = img.at(margin + px / 2, margin + px / 2);
  const uint8_t *partial = img.at(margin + px + px / 2, margin + px / 2);
  const uint8_t *skipped = img.at(margin + 2 * px + px / 2, margin + px / 2);
  const uint8_t *skipped2 = img.at(margin + px / 2, margin + px + px / 2);
  EXPECT_NE(std::memcmp(full, partial, 3), 0);
  EXPECT_NE(std::memcmp(full, skipped, 3), 0);
  EXPECT_NE(std::memcmp(partial, skipped, 3), 0);
  EXPECT_EQ(std::memcmp(skipped, skipped2, 3), 0);
  // The legend below the map has black text pixels.
  bool ink = false;
  for (png_uint_32 y = margin + 2 * px; y < img.height && !ink; ++y)
    for (png_uint_32 x = 0; x < img.width && !ink; ++x)
      ink =
          img.at(x, y)[0] == 0 && img.at(x, y)[1] == 0 && img.at(x, y)[2] == 0;
  EXPECT_TRUE(ink);
}

TEST_F(MaskPictureTest, LargeMapsAreDownsampled) {
  BlockMap m;
  m.blockSize = 16;
  m.qBlocks = m.kBlocks = 3000;
  m.seqQ = m.seqK = 48000;
  m.state.assign(3000 * 3000, BlockMap::Skipped);
  for (int64_t r = 0; r < 3000; ++r)
    m.state[r * 3000 + r] = BlockMap::Full;
  std::string file = path("big.png");
  ASSERT_FALSE(bool(writeMaskPng(file, m, {"diag", 16}, 1024)));
  Decoded img;
  ASSERT_TRUE(decodePng(file, img));
  // 3000 blocks -> factor 3 -> 1000 cells at 1 px, plus margins.
  EXPECT_EQ(img.width, 1000u + 24);
  EXPECT_LT(img.height, 1200u);
}

TEST_F(MaskPictureTest, SvgHasMapAndLegend) {
  std::string file = path("m.svg");
  ASSERT_FALSE(bool(writeMaskSvg(file, smallMap(), {"a<b", 128})));
  auto buf = llvm::MemoryBuffer::getFile(file);
  ASSERT_TRUE(bool(buf));
  llvm::StringRef svg = (*buf)->getBuffer();
  EXPECT_TRUE(svg.starts_with("<?xml"));
  EXPECT_TRUE(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_TRUE(svg.rtrim().ends_with("</svg>"));
  EXPECT_TRUE(svg.contains("pattern: a&lt;b")); // escaped
  EXPECT_TRUE(svg.contains("Sq=128 Sk=192 B=128"));
  EXPECT_TRUE(svg.contains("density 17.07%"));
  EXPECT_TRUE(svg.contains(">full<"));
  EXPECT_TRUE(svg.contains(">partial<"));
  EXPECT_TRUE(svg.contains(">skipped<"));
  // One run each for the full and the partial cell, at 32 px per cell.
  EXPECT_TRUE(svg.contains("<rect x=\"12\" y=\"12\" width=\"32\" "
                           "height=\"32\" fill=\"#214f91\"/>"));
  EXPECT_TRUE(svg.contains("<rect x=\"44\" y=\"12\" width=\"32\" "
                           "height=\"32\" fill=\"#f4a560\"/>"));
}

TEST_F(MaskPictureTest, AttentionPanelsShadeByMass) {
  // Two 2 x 2 panels; cells are 16 px (at most 384 px a panel side), below a
  // title line of 20 px, after a 12 px margin; panels are 32 px wide plus
  // the margin between them.
  std::string file = path("a.png");
  std::vector<AttentionPanel> panels = {{"a", {{1.0, 0.0}, {1e-2, 1e-5}}},
                                        {"b", {{1e-3, 1.0}, {0.0, 0.0}}}};
  ASSERT_FALSE(bool(writeAttentionPng(file, panels, {"legend"})));
  Decoded img;
  ASSERT_TRUE(decodePng(file, img));
  auto brightness = [&](int panel, int r, int c) {
    const uint8_t *p =
        img.at(12 + panel * (32 + 12) + c * 16 + 8, 12 + 20 + r * 16 + 8);
    return int(p[0]) + p[1] + p[2];
  };
  EXPECT_EQ(brightness(0, 0, 1), 3 * 255) << "no mass is white";
  EXPECT_EQ(brightness(0, 1, 1), 3 * 255) << "below 1e-4 is white";
  EXPECT_LT(brightness(0, 0, 0), brightness(0, 1, 0));
  EXPECT_LT(brightness(0, 1, 0), brightness(1, 0, 0));
  EXPECT_LT(brightness(1, 0, 0), 3 * 255);
  EXPECT_EQ(brightness(1, 0, 1), brightness(0, 0, 0)) << "same mass, colour";
  llvm::Error none = writeAttentionPng(path("none.png"), {}, {});
  ASSERT_TRUE(bool(none));
  EXPECT_NE(llvm::toString(std::move(none)).find("no attention panels"),
            std::string::npos);
}

TEST_F(MaskPictureTest, ErrorsNameTheFile) {
  std::string bad = path("missing-dir/m.png");
  llvm::Error e = writeMaskPng(bad, smallMap(), {"p", 1});
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find(bad), std::string::npos);
  std::string badSvg = path("missing-dir/m.svg");
  llvm::Error e2 = writeMaskSvg(badSvg, smallMap(), {"p", 1});
  ASSERT_TRUE(bool(e2));
  EXPECT_NE(llvm::toString(std::move(e2)).find(badSvg), std::string::npos);
}

} // namespace
