//===- Npy.h - Reading and writing NumPy .npy files ----------------------===//
//
// Little-endian, C-order .npy files (format versions 1.0 and 2.0) holding
// float32, float16, float64 or uint8. Headers are validated fully so that a
// malformed input is reported, naming the file, instead of being misread.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_NPY_H
#define SATTN_NPY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace sattn {

enum class NpyDtype { Float32, Float16, Float64, UInt8, Int32, Int64 };

/// Bytes per element.
size_t npyDtypeSize(NpyDtype dtype);
/// The NumPy descr string: "<f4", "<f2", "<f8", "|u1", "<i4", "<i8".
llvm::StringRef npyDtypeDescr(NpyDtype dtype);
/// A readable name: "float32", "float16", "float64", "uint8", "int32",
/// "int64".
llvm::StringRef npyDtypeName(NpyDtype dtype);

struct NpyArray {
  NpyDtype dtype = NpyDtype::Float32;
  std::vector<int64_t> shape; // empty for a scalar
  std::vector<uint8_t> data;  // little-endian, C order

  int64_t numElements() const;
  /// The elements converted to float32 (float16 and float64 are converted,
  /// uint8 is widened).
  std::vector<float> toFloat32() const;
  /// The elements as int32: int32 as is, int64 and uint8 when every value
  /// fits; floats are an error. Errors name `name`.
  llvm::Expected<std::vector<int32_t>> toInt32(llvm::StringRef name) const;
};

/// .npy files larger than this are refused (and anything but a regular
/// file: a FIFO or a device).
constexpr uint64_t kMaxNpyBytes = uint64_t(64) << 30;

/// Reads a .npy file; every error message names `path`.
llvm::Expected<NpyArray> readNpy(llvm::StringRef path);

/// Parses the bytes of a .npy file; errors name `nameForErrors`.
llvm::Expected<NpyArray> parseNpy(llvm::StringRef bytes,
                                  llvm::StringRef nameForErrors);

/// Serialises an array as .npy bytes (version 1.0 unless the header needs
/// 2.0), the header padded to a multiple of 64 bytes.
llvm::Expected<std::vector<uint8_t>>
encodeNpy(NpyDtype dtype, llvm::ArrayRef<int64_t> shape, const void *data);

/// Writes a .npy file through a temporary file renamed into place, so readers
/// never see a partial file.
llvm::Error writeNpy(llvm::StringRef path, NpyDtype dtype,
                     llvm::ArrayRef<int64_t> shape, const void *data);

} // namespace sattn

#endif // SATTN_NPY_H
