//===- MaskPicture.cpp - Block maps as PNG and SVG pictures ---------------===//

#include "sattn/MaskPicture.h"
#include "sattn/Npy.h"

#include "sattn/AtomicFile.h"
#include "sattn/Errors.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <png.h>

#include <algorithm>
#include <cmath>

using namespace sattn;

namespace {

struct Rgb {
  uint8_t r, g, b;
};

// Indexed by BlockMap::State. Chosen to stay distinct in grey scale too.
constexpr Rgb kStateColour[3] = {
    {236, 236, 236}, // skipped: light grey
    {244, 165, 96},  // partial: orange
    {33, 79, 145},   // full: dark blue
};
constexpr const char *kStateName[3] = {"skipped", "partial", "full"};
constexpr Rgb kBackground = {255, 255, 255};
constexpr Rgb kInk = {0, 0, 0};

// 5x7 font for ASCII 32..126: five column bytes per glyph, bit 0 = top row.
constexpr uint8_t kFont[95][5] = {
    {0x00, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x5F, 0x00, 0x00},
    {0x00, 0x07, 0x00, 0x07, 0x00}, {0x14, 0x7F, 0x14, 0x7F, 0x14},
    {0x24, 0x2A, 0x7F, 0x2A, 0x12}, {0x23, 0x13, 0x08, 0x64, 0x62},
    {0x36, 0x49, 0x55, 0x22, 0x50}, {0x00, 0x05, 0x03, 0x00, 0x00},
    {0x00, 0x1C, 0x22, 0x41, 0x00}, {0x00, 0x41, 0x22, 0x1C, 0x00},
    {0x08, 0x2A, 0x1C, 0x2A, 0x08}, {0x08, 0x08, 0x3E, 0x08, 0x08},
    {0x00, 0x50, 0x30, 0x00, 0x00}, {0x08, 0x08, 0x08, 0x08, 0x08},
    {0x00, 0x60, 0x60, 0x00, 0x00}, {0x20, 0x10, 0x08, 0x04, 0x02},
    {0x3E, 0x51, 0x49, 0x45, 0x3E}, {0x00, 0x42, 0x7F, 0x40, 0x00},
    {0x42, 0x61, 0x51, 0x49, 0x46}, {0x21, 0x41, 0x45, 0x4B, 0x31},
    {0x18, 0x14, 0x12, 0x7F, 0x10}, {0x27, 0x45, 0x45, 0x45, 0x39},
    {0x3C, 0x4A, 0x49, 0x49, 0x30}, {0x01, 0x71, 0x09, 0x05, 0x03},
    {0x36, 0x49, 0x49, 0x49, 0x36}, {0x06, 0x49, 0x49, 0x29, 0x1E},
    {0x00, 0x36, 0x36, 0x00, 0x00}, {0x00, 0x56, 0x36, 0x00, 0x00},
    {0x08, 0x14, 0x22, 0x41, 0x00}, {0x14, 0x14, 0x14, 0x14, 0x14},
    {0x00, 0x41, 0x22, 0x14, 0x08}, {0x02, 0x01, 0x51, 0x09, 0x06},
    {0x32, 0x49, 0x79, 0x41, 0x3E}, {0x7E, 0x11, 0x11, 0x11, 0x7E},
    {0x7F, 0x49, 0x49, 0x49, 0x36}, {0x3E, 0x41, 0x41, 0x41, 0x22},
    {0x7F, 0x41, 0x41, 0x22, 0x1C}, {0x7F, 0x49, 0x49, 0x49, 0x41},
    {0x7F, 0x09, 0x09, 0x09, 0x01}, {0x3E, 0x41, 0x49, 0x49, 0x7A},
    {0x7F, 0x08, 0x08, 0x08, 0x7F}, {0x00, 0x41, 0x7F, 0x41, 0x00},
    {0x20, 0x40, 0x41, 0x3F, 0x01}, {0x7F, 0x08, 0x14, 0x22, 0x41},
    {0x7F, 0x40, 0x40, 0x40, 0x40}, {0x7F, 0x02, 0x0C, 0x02, 0x7F},
    {0x7F, 0x04, 0x08, 0x10, 0x7F}, {0x3E, 0x41, 0x41, 0x41, 0x3E},
    {0x7F, 0x09, 0x09, 0x09, 0x06}, {0x3E, 0x41, 0x51, 0x21, 0x5E},
    {0x7F, 0x09, 0x19, 0x29, 0x46}, {0x46, 0x49, 0x49, 0x49, 0x31},
    {0x01, 0x01, 0x7F, 0x01, 0x01}, {0x3F, 0x40, 0x40, 0x40, 0x3F},
    {0x1F, 0x20, 0x40, 0x20, 0x1F}, {0x3F, 0x40, 0x38, 0x40, 0x3F},
    {0x63, 0x14, 0x08, 0x14, 0x63}, {0x07, 0x08, 0x70, 0x08, 0x07},
    {0x61, 0x51, 0x49, 0x45, 0x43}, {0x00, 0x7F, 0x41, 0x41, 0x00},
    {0x02, 0x04, 0x08, 0x10, 0x20}, {0x00, 0x41, 0x41, 0x7F, 0x00},
    {0x04, 0x02, 0x01, 0x02, 0x04}, {0x40, 0x40, 0x40, 0x40, 0x40},
    {0x00, 0x01, 0x02, 0x04, 0x00}, {0x20, 0x54, 0x54, 0x54, 0x78},
    {0x7F, 0x48, 0x44, 0x44, 0x38}, {0x38, 0x44, 0x44, 0x44, 0x20},
    {0x38, 0x44, 0x44, 0x48, 0x7F}, {0x38, 0x54, 0x54, 0x54, 0x18},
    {0x08, 0x7E, 0x09, 0x01, 0x02}, {0x0C, 0x52, 0x52, 0x52, 0x3E},
    {0x7F, 0x08, 0x04, 0x04, 0x78}, {0x00, 0x44, 0x7D, 0x40, 0x00},
    {0x20, 0x40, 0x44, 0x3D, 0x00}, {0x7F, 0x10, 0x28, 0x44, 0x00},
    {0x00, 0x41, 0x7F, 0x40, 0x00}, {0x7C, 0x04, 0x18, 0x04, 0x78},
    {0x7C, 0x08, 0x04, 0x04, 0x78}, {0x38, 0x44, 0x44, 0x44, 0x38},
    {0x7C, 0x14, 0x14, 0x14, 0x08}, {0x08, 0x14, 0x14, 0x18, 0x7C},
    {0x7C, 0x08, 0x04, 0x04, 0x08}, {0x48, 0x54, 0x54, 0x54, 0x20},
    {0x04, 0x3F, 0x44, 0x40, 0x20}, {0x3C, 0x40, 0x40, 0x20, 0x7C},
    {0x1C, 0x20, 0x40, 0x20, 0x1C}, {0x3C, 0x40, 0x30, 0x40, 0x3C},
    {0x44, 0x28, 0x10, 0x28, 0x44}, {0x0C, 0x50, 0x50, 0x50, 0x3C},
    {0x44, 0x64, 0x54, 0x4C, 0x44}, {0x00, 0x08, 0x36, 0x41, 0x00},
    {0x00, 0x00, 0x7F, 0x00, 0x00}, {0x00, 0x41, 0x36, 0x08, 0x00},
    {0x08, 0x04, 0x08, 0x10, 0x08},
};

constexpr int kFontScale = 2;            // legend glyphs are 10x14 pixels
constexpr int kAdvance = 6 * kFontScale; // glyph plus one column of space
constexpr int kLineHeight = 10 * kFontScale;
constexpr int kMargin = 12;
constexpr int kSwatch = 7 * kFontScale;

std::string percent(double x) { return llvm::formatv("{0:F2}%", 100 * x); }

/// A simple RGB canvas.
struct Canvas {
  int width, height;
  std::vector<uint8_t> pixels;

  Canvas(int w, int h) : width(w), height(h), pixels(size_t(w) * h * 3) {
    fill(0, 0, w, h, kBackground);
  }
  void fill(int x, int y, int w, int h, Rgb c) {
    for (int yy = std::max(0, y); yy < std::min(height, y + h); ++yy)
      for (int xx = std::max(0, x); xx < std::min(width, x + w); ++xx) {
        uint8_t *p = &pixels[(size_t(yy) * width + xx) * 3];
        p[0] = c.r;
        p[1] = c.g;
        p[2] = c.b;
      }
  }
  void text(int x, int y, llvm::StringRef s) {
    for (char ch : s) {
      unsigned idx = (ch >= 32 && ch <= 126) ? unsigned(ch - 32) : '?' - 32;
      for (int col = 0; col < 5; ++col)
        for (int row = 0; row < 7; ++row)
          if (kFont[idx][col] & (1 << row))
            fill(x + col * kFontScale, y + row * kFontScale, kFontScale,
                 kFontScale, kInk);
      x += kAdvance;
    }
  }
};

/// Pixels per cell: small maps are magnified so that they stay visible.
int cellPixels(const BlockMap &m) {
  int64_t side = std::max(m.qBlocks, m.kBlocks);
  return int(std::clamp<int64_t>(512 / std::max<int64_t>(side, 1), 1, 32));
}

void pngWrite(png_structp png, png_bytep data, png_size_t len) {
  auto *out = static_cast<std::string *>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char *>(data), len);
}
void pngFlush(png_structp) {}

/// Encodes the canvas; libpng reports failure by longjmp, which is safe here
/// because no C++ object with a destructor is created after setjmp.
bool encodePng(const Canvas &c, std::string &out) {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (!png)
    return false;
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, &out, pngWrite, pngFlush);
  png_set_IHDR(png, info, c.width, c.height, 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < c.height; ++y)
    png_write_row(png,
                  const_cast<png_bytep>(&c.pixels[size_t(y) * c.width * 3]));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

/// Colour of an attention mass: log10 from -4 (white) to 0 (dark blue).
Rgb massColour(double mass) {
  double t =
      mass > 0 ? std::clamp((std::log10(mass) + 4.0) / 4.0, 0.0, 1.0) : 0.0;
  auto mix = [&](uint8_t from, uint8_t to) {
    return uint8_t(std::lround(from + t * (double(to) - double(from))));
  };
  return {mix(255, 8), mix(255, 29), mix(255, 88)};
}

std::string xmlEscape(llvm::StringRef s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    default:
      out += ch;
    }
  }
  return out;
}

std::string hex(Rgb c) {
  return llvm::formatv("#{0:x-2}{1:x-2}{2:x-2}", c.r, c.g, c.b);
}

} // namespace

std::vector<std::string> sattn::legendLines(const BlockMap &map,
                                            const PictureLegend &legend) {
  std::vector<std::string> lines;
  lines.push_back("pattern: " + legend.pattern);
  std::string shape = llvm::formatv("Sq={0} Sk={1}", map.seqQ, map.seqK).str();
  if (legend.block > 0)
    shape += llvm::formatv(" B={0}", legend.block).str();
  shape += llvm::formatv("  cell={0} tokens", map.blockSize).str();
  lines.push_back(shape);
  lines.push_back("density " + percent(map.density) + " of all pairs, " +
                  percent(map.causalDensity) + " of causal pairs");
  lines.push_back("rows: query blocks, columns: key blocks");
  return lines;
}

llvm::Error sattn::writeMaskPng(llvm::StringRef path, const BlockMap &input,
                                const PictureLegend &legend, int64_t maxCells) {
  const BlockMap map =
      downsampleBlockMap(input, std::max<int64_t>(1, maxCells));
  const int px = cellPixels(map);
  std::vector<std::string> lines = legendLines(map, legend);
  // The last legend line holds the three colour swatches.
  const std::string swatchLine = "  full    partial    skipped";
  size_t textCols = swatchLine.size();
  for (const std::string &l : lines)
    textCols = std::max(textCols, l.size());
  const int mapW = int(map.kBlocks) * px, mapH = int(map.qBlocks) * px;
  const int width = std::max(mapW, int(textCols) * kAdvance) + 2 * kMargin;
  const int height =
      mapH + 2 * kMargin + int(lines.size() + 1) * kLineHeight + kMargin;

  Canvas c(width, height);
  for (int64_t r = 0; r < map.qBlocks; ++r)
    for (int64_t k = 0; k < map.kBlocks; ++k)
      c.fill(kMargin + int(k) * px, kMargin + int(r) * px, px, px,
             kStateColour[map.at(r, k)]);
  int y = mapH + 2 * kMargin;
  for (const std::string &l : lines) {
    c.text(kMargin, y, l);
    y += kLineHeight;
  }
  // Swatch + label for each state.
  int x = kMargin;
  for (int s : {BlockMap::Full, BlockMap::Partial, BlockMap::Skipped}) {
    c.fill(x, y, kSwatch, kSwatch, kInk);
    c.fill(x + 1, y + 1, kSwatch - 2, kSwatch - 2, kStateColour[s]);
    c.text(x + kSwatch + kAdvance / 2, y, kStateName[s]);
    x += kSwatch + kAdvance * (2 + int(llvm::StringRef(kStateName[s]).size()));
  }

  std::string bytes;
  if (!encodePng(c, bytes))
    return makeError(llvm::formatv("{0}: PNG encoding failed", path).str());
  return writeFileAtomically(path, bytes);
}

llvm::Error sattn::writeMaskSvg(llvm::StringRef path, const BlockMap &input,
                                const PictureLegend &legend, int64_t maxCells) {
  const BlockMap map =
      downsampleBlockMap(input, std::max<int64_t>(1, maxCells));
  const int px = cellPixels(map);
  std::vector<std::string> lines = legendLines(map, legend);
  const int fontPx = 14, lineH = 20;
  const int mapW = int(map.kBlocks) * px, mapH = int(map.qBlocks) * px;
  const int width = std::max(mapW + 2 * kMargin, 560);
  const int height =
      mapH + 2 * kMargin + int(lines.size() + 1) * lineH + kMargin;

  std::string svg;
  llvm::raw_string_ostream os(svg);
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
     << llvm::formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
                      "height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                      "shape-rendering=\"crispEdges\">\n",
                      width, height)
     << "<title>" << xmlEscape(lines[0]) << "</title>\n"
     << llvm::formatv("<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
                      width, height)
     // Skipped is the map's background; only other runs are drawn.
     << llvm::formatv("<rect x=\"{0}\" y=\"{0}\" width=\"{1}\" height=\"{2}\" "
                      "fill=\"{3}\"/>\n",
                      kMargin, mapW, mapH, hex(kStateColour[0]));
  for (int64_t r = 0; r < map.qBlocks; ++r) {
    for (int64_t k = 0; k < map.kBlocks;) {
      uint8_t s = map.at(r, k);
      int64_t e = k + 1;
      while (e < map.kBlocks && map.at(r, e) == s)
        ++e;
      if (s != BlockMap::Skipped)
        os << llvm::formatv("<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" "
                            "height=\"{3}\" fill=\"{4}\"/>\n",
                            kMargin + k * px, kMargin + r * px, (e - k) * px,
                            px, hex(kStateColour[s]));
      k = e;
    }
  }
  int y = mapH + 2 * kMargin;
  os << llvm::formatv("<g font-family=\"monospace\" font-size=\"{0}\" "
                      "fill=\"#000000\">\n",
                      fontPx);
  for (const std::string &l : lines) {
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">", kMargin, y + fontPx)
       << xmlEscape(l) << "</text>\n";
    y += lineH;
  }
  int x = kMargin;
  for (int s : {BlockMap::Full, BlockMap::Partial, BlockMap::Skipped}) {
    os << llvm::formatv(
              "<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{2}\" "
              "fill=\"{3}\" stroke=\"#000000\"/>\n",
              x, y + 2, fontPx, hex(kStateColour[s]))
       << llvm::formatv("<text x=\"{0}\" y=\"{1}\">{2}</text>\n",
                        x + fontPx + 6, y + fontPx, kStateName[s]);
    x += 130;
  }
  os << "</g>\n</svg>\n";
  return writeFileAtomically(path, svg);
}

llvm::Error sattn::writeAttentionPng(llvm::StringRef path,
                                     const std::vector<AttentionPanel> &panels,
                                     const std::vector<std::string> &legend) {
  if (panels.empty())
    return makeError(llvm::formatv("{0}: no attention panels", path).str());
  constexpr int kPerRow = 4;
  size_t side = 1, titleCols = 0;
  for (const AttentionPanel &p : panels) {
    side = std::max({side, p.mass.size(),
                     p.mass.empty() ? size_t(0) : p.mass.front().size()});
    titleCols = std::max(titleCols, p.title.size());
  }
  const int px = int(std::clamp<size_t>(384 / side, 1, 16));
  const int panelW = std::max(int(side) * px, int(titleCols) * kAdvance);
  const int panelH = int(side) * px + kLineHeight;
  const int columns = std::min<int>(kPerRow, int(panels.size()));
  const int rows = int((panels.size() + kPerRow - 1) / kPerRow);
  size_t legendCols = 0;
  for (const std::string &l : legend)
    legendCols = std::max(legendCols, l.size());
  const int width = std::max(columns * (panelW + kMargin) + kMargin,
                             int(legendCols) * kAdvance + 2 * kMargin);
  const int height = rows * (panelH + kMargin) + kMargin +
                     int(legend.size() + 1) * kLineHeight + kMargin;
  Canvas c(width, height);
  for (size_t n = 0; n < panels.size(); ++n) {
    const int x0 = kMargin + int(n % kPerRow) * (panelW + kMargin);
    const int y0 = kMargin + int(n / kPerRow) * (panelH + kMargin);
    c.text(x0, y0, panels[n].title);
    const auto &mass = panels[n].mass;
    for (size_t r = 0; r < mass.size(); ++r)
      for (size_t k = 0; k < mass[r].size(); ++k)
        c.fill(x0 + int(k) * px, y0 + kLineHeight + int(r) * px, px, px,
               massColour(mass[r][k]));
  }
  int y = rows * (panelH + kMargin) + kMargin;
  for (const std::string &l : legend) {
    c.text(kMargin, y, l);
    y += kLineHeight;
  }
  // The colour scale: 1e-4 ... 1, one swatch per decade.
  int x = kMargin;
  for (int decade = -4; decade <= 0; ++decade) {
    c.fill(x, y, kSwatch, kSwatch, kInk);
    c.fill(x + 1, y + 1, kSwatch - 2, kSwatch - 2,
           massColour(std::pow(10.0, decade)));
    std::string label = decade == 0 ? "1" : "1e" + std::to_string(decade);
    c.text(x + kSwatch + kAdvance / 2, y, label);
    x += kSwatch + kAdvance * (2 + int(label.size()));
  }
  std::string bytes;
  if (!encodePng(c, bytes))
    return makeError(llvm::formatv("{0}: PNG encoding failed", path).str());
  return writeFileAtomically(path, bytes);
}

llvm::Error sattn::writePatternPicture(llvm::StringRef path,
                                       PictureFormat format,
                                       const MaskOracle &oracle, int64_t batch,
                                       int64_t head) {
  const AttentionShape &shape = oracle.shape();
  if (batch < 0 || batch >= shape.batch || head < 0 || head >= shape.heads)
    return makeArgumentError(
        "the picture's batch " + llvm::Twine(batch) + " and head " +
        llvm::Twine(head) + " must lie within batch " +
        llvm::Twine(shape.batch) + " and heads " + llvm::Twine(shape.heads));
  const PatternSpec &spec = oracle.spec();
  BlockMap map = computeBlockMap(
      oracle, batch, head,
      spec.block * blockGridFactor(shape, spec.block, kPictureCells));
  PictureLegend legend{spec.name, spec.block};
  return format == PictureFormat::Svg ? writeMaskSvg(path, map, legend)
                                      : writeMaskPng(path, map, legend);
}
