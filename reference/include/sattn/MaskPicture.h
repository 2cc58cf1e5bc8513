//===- MaskPicture.h - Block maps as PNG and SVG pictures ----------------===//
//
// Query blocks run down, key blocks across; full, partial and skipped tiles
// get three distinct colours. A legend gives the pattern name, the shape and
// the density. Maps larger than `maxCells` a side are downsampled first, so
// pictures of 128K-token masks stay small. Attention pictures draw where the
// softmax mass lies instead, block by block, on a log scale.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_MASKPICTURE_H
#define SATTN_MASKPICTURE_H

#include "sattn/Oracle.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sattn {

/// Pictures have at most this many cells a side by default.
constexpr int64_t kPictureCells = 1024;

/// What the legend says besides the map's own numbers.
struct PictureLegend {
  std::string pattern; // pattern name
  int64_t block = 0;   // the pattern's block size B (0: not shown)
};

/// The legend as lines of text (shared by both formats; useful in tests).
std::vector<std::string> legendLines(const BlockMap &map,
                                     const PictureLegend &legend);

/// Writes a PNG (8-bit RGB). Errors name the file.
llvm::Error writeMaskPng(llvm::StringRef path, const BlockMap &map,
                         const PictureLegend &legend,
                         int64_t maxCells = kPictureCells);

/// Writes an SVG (runs of equal cells merged into one rectangle). Errors name
/// the file.
llvm::Error writeMaskSvg(llvm::StringRef path, const BlockMap &map,
                         const PictureLegend &legend,
                         int64_t maxCells = kPictureCells);

enum class PictureFormat { Png, Svg };

/// Draws the key blocks that query head `head` of batch `batch` attends to,
/// computed at the cell size the picture will have (so that a 128K-token
/// map with small blocks is never held at full resolution). Errors name an
/// out-of-range batch or head.
llvm::Error writePatternPicture(llvm::StringRef path, PictureFormat format,
                                const MaskOracle &oracle, int64_t batch,
                                int64_t head);

/// One panel of an attention picture: mass[r][c] in [0, 1] for query block
/// r and key block c (rows of equal length).
struct AttentionPanel {
  std::string title;
  std::vector<std::vector<double>> mass;
};

/// Writes the panels side by side, four to a row, as a PNG: mass on a log
/// scale from 1e-4 (white) to 1 (dark), a title over each panel, the
/// `legend` lines and a colour scale below. Errors name the file.
llvm::Error writeAttentionPng(llvm::StringRef path,
                              const std::vector<AttentionPanel> &panels,
                              const std::vector<std::string> &legend);

} // namespace sattn

#endif // SATTN_MASKPICTURE_H
