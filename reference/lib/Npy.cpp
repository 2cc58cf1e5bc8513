//===- Npy.cpp - Reading and writing NumPy .npy files ---------------------===//
//
// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format
// Magic "\x93NUMPY", major, minor, a little-endian header length (2 bytes in
// 1.0, 4 in 2.0), then a Python dict literal with 'descr', 'fortran_order'
// and 'shape', padded with spaces and ended by '\n'.
//
//===----------------------------------------------------------------------===//

#include "sattn/Npy.h"
#include "sattn/ReadFile.h"

#include "sattn/AtomicFile.h"
#include "sattn/Errors.h"
#include "sattn/Float16.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

using namespace sattn;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

uint32_t readLE(const uint8_t *p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= uint32_t(p[i]) << (8 * i);
  return v;
}

/// A cursor over the header dict. Only the literal forms NumPy writes are
/// accepted: quoted strings, True/False, and tuples of non-negative integers.
class HeaderParser {
public:
  explicit HeaderParser(llvm::StringRef text) : text(text) {}

  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                                 text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skipSpace();
    return pos < text.size() && text[pos] == c;
  }
  bool atEnd() {
    skipSpace();
    return pos == text.size();
  }
  std::optional<std::string> string() {
    skipSpace();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return std::nullopt;
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == llvm::StringRef::npos)
      return std::nullopt;
    std::string s = text.substr(pos, end - pos).str();
    pos = end + 1;
    return s;
  }
  std::optional<bool> boolean() {
    skipSpace();
    if (text.substr(pos).starts_with("True")) {
      pos += 4;
      return true;
    }
    if (text.substr(pos).starts_with("False")) {
      pos += 5;
      return false;
    }
    return std::nullopt;
  }
  /// A non-negative integer that fits in int64_t.
  std::optional<int64_t> integer() {
    skipSpace();
    size_t start = pos;
    uint64_t v = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      uint64_t digit = uint64_t(text[pos] - '0');
      // Check before multiplying: v * 10 can wrap past the int64 limit.
      if (v > (uint64_t(std::numeric_limits<int64_t>::max()) - digit) / 10)
        return std::nullopt;
      v = v * 10 + digit;
      ++pos;
    }
    if (pos == start)
      return std::nullopt;
    return int64_t(v);
  }
  /// "(a, b, ...)" with an optional trailing comma; "()" is a scalar.
  std::optional<std::vector<int64_t>> tuple() {
    if (!consume('('))
      return std::nullopt;
    std::vector<int64_t> dims;
    while (!consume(')')) {
      std::optional<int64_t> d = integer();
      if (!d)
        return std::nullopt;
      dims.push_back(*d);
      if (!consume(',') && !peek(')'))
        return std::nullopt;
    }
    return dims;
  }

private:
  llvm::StringRef text;
  size_t pos = 0;
};

std::optional<NpyDtype> dtypeFromDescr(llvm::StringRef d) {
  if (d == "<f4")
    return NpyDtype::Float32;
  if (d == "<f2")
    return NpyDtype::Float16;
  if (d == "<f8")
    return NpyDtype::Float64;
  if (d == "|u1" || d == "<u1")
    return NpyDtype::UInt8;
  if (d == "<i4")
    return NpyDtype::Int32;
  if (d == "<i8")
    return NpyDtype::Int64;
  return std::nullopt;
}

/// Product of dims times the element size, or nullopt on overflow.
std::optional<uint64_t> byteCount(llvm::ArrayRef<int64_t> shape,
                                  size_t itemSize) {
  const uint64_t limit = uint64_t(std::numeric_limits<int64_t>::max());
  uint64_t n = itemSize;
  for (int64_t d : shape) {
    if (d < 0)
      return std::nullopt;
    if (d != 0 && n > limit / uint64_t(d))
      return std::nullopt;
    n *= uint64_t(d);
  }
  return n;
}

} // namespace

size_t sattn::npyDtypeSize(NpyDtype dtype) {
  switch (dtype) {
  case NpyDtype::Float32:
    return 4;
  case NpyDtype::Float16:
    return 2;
  case NpyDtype::Float64:
    return 8;
  case NpyDtype::UInt8:
    return 1;
  case NpyDtype::Int32:
    return 4;
  case NpyDtype::Int64:
    return 8;
  }
  return 0;
}

llvm::StringRef sattn::npyDtypeDescr(NpyDtype dtype) {
  switch (dtype) {
  case NpyDtype::Float32:
    return "<f4";
  case NpyDtype::Float16:
    return "<f2";
  case NpyDtype::Float64:
    return "<f8";
  case NpyDtype::UInt8:
    return "|u1";
  case NpyDtype::Int32:
    return "<i4";
  case NpyDtype::Int64:
    return "<i8";
  }
  return "";
}

llvm::StringRef sattn::npyDtypeName(NpyDtype dtype) {
  switch (dtype) {
  case NpyDtype::Float32:
    return "float32";
  case NpyDtype::Float16:
    return "float16";
  case NpyDtype::Float64:
    return "float64";
  case NpyDtype::UInt8:
    return "uint8";
  case NpyDtype::Int32:
    return "int32";
  case NpyDtype::Int64:
    return "int64";
  }
  return "";
}

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::vector<float> NpyArray::toFloat32() const {
  const int64_t n = numElements();
  std::vector<float> out(n);
  const uint8_t *p = data.data();
  for (int64_t i = 0; i < n; ++i) {
    switch (dtype) {
    case NpyDtype::Float32: {
      uint32_t bits = readLE(p + 4 * i, 4);
      std::memcpy(&out[i], &bits, 4);
      break;
    }
    case NpyDtype::Float16:
      out[i] = halfToFloat(uint16_t(readLE(p + 2 * i, 2)));
      break;
    case NpyDtype::Float64: {
      uint64_t bits = uint64_t(readLE(p + 8 * i, 4)) |
                      (uint64_t(readLE(p + 8 * i + 4, 4)) << 32);
      double d;
      std::memcpy(&d, &bits, 8);
      out[i] = float(d);
      break;
    }
    case NpyDtype::UInt8:
      out[i] = float(p[i]);
      break;
    case NpyDtype::Int32:
      out[i] = float(int32_t(readLE(p + 4 * i, 4)));
      break;
    case NpyDtype::Int64:
      out[i] = float(int64_t(uint64_t(readLE(p + 8 * i, 4)) |
                             (uint64_t(readLE(p + 8 * i + 4, 4)) << 32)));
      break;
    }
  }
  return out;
}

llvm::Expected<std::vector<int32_t>>
NpyArray::toInt32(llvm::StringRef name) const {
  const int64_t n = numElements();
  std::vector<int32_t> out(n);
  const uint8_t *p = data.data();
  for (int64_t i = 0; i < n; ++i) {
    int64_t value = 0;
    switch (dtype) {
    case NpyDtype::UInt8:
      value = p[i];
      break;
    case NpyDtype::Int32:
      value = int32_t(readLE(p + 4 * i, 4));
      break;
    case NpyDtype::Int64:
      value = int64_t(uint64_t(readLE(p + 8 * i, 4)) |
                      (uint64_t(readLE(p + 8 * i + 4, 4)) << 32));
      break;
    default:
      return makeError(llvm::formatv("{0}: must hold integers (int32, int64 "
                                     "or uint8), got {1}",
                                     name, npyDtypeName(dtype))
                           .str());
    }
    if (value < INT32_MIN || value > INT32_MAX)
      return makeError(llvm::formatv("{0}: element {1} = {2} does not fit in "
                                     "int32",
                                     name, i, value)
                           .str());
    out[i] = int32_t(value);
  }
  return out;
}

llvm::Expected<NpyArray> sattn::parseNpy(llvm::StringRef bytes,
                                         llvm::StringRef name) {
  auto fail = [&](const std::string &what) {
    return makeError(llvm::formatv("{0}: {1}", name, what).str());
  };
  const auto *u = reinterpret_cast<const uint8_t *>(bytes.data());
  if (bytes.size() < kMagicLen + 2 ||
      !bytes.starts_with(llvm::StringRef(kMagic, kMagicLen)))
    return fail("not a .npy file (bad magic)");
  const unsigned major = u[kMagicLen], minor = u[kMagicLen + 1];
  if ((major != 1 && major != 2) || minor != 0)
    return fail(llvm::formatv("unsupported .npy format version {0}.{1} "
                              "(supported: 1.0, 2.0)",
                              major, minor));
  const size_t lenBytes = major == 1 ? 2 : 4;
  const size_t prefix = kMagicLen + 2 + lenBytes;
  if (bytes.size() < prefix)
    return fail("truncated header");
  const uint64_t headerLen = readLE(u + kMagicLen + 2, lenBytes);
  if (bytes.size() - prefix < headerLen)
    return fail(llvm::formatv("truncated header: {0} bytes declared, {1} "
                              "present",
                              headerLen, bytes.size() - prefix));
  llvm::StringRef header = bytes.substr(prefix, headerLen);
  if (!header.ends_with("\n"))
    return fail("malformed header: it does not end with a newline");

  HeaderParser hp(header);
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<std::vector<int64_t>> shape;
  if (!hp.consume('{'))
    return fail("malformed header: expected '{'");
  while (!hp.consume('}')) {
    std::optional<std::string> key = hp.string();
    if (!key || !hp.consume(':'))
      return fail("malformed header: expected a quoted key and ':'");
    if (*key == "descr") {
      if (descr || !(descr = hp.string()))
        return fail("malformed header: bad or repeated 'descr'");
    } else if (*key == "fortran_order") {
      if (fortran || !(fortran = hp.boolean()))
        return fail("malformed header: bad or repeated 'fortran_order'");
    } else if (*key == "shape") {
      if (shape || !(shape = hp.tuple()))
        return fail("malformed header: bad or repeated 'shape'");
    } else {
      return fail("malformed header: unknown key '" + *key + "'");
    }
    if (!hp.consume(',') && !hp.peek('}'))
      return fail("malformed header: expected ',' or '}'");
  }
  if (!hp.atEnd())
    return fail("malformed header: text after the dict");
  if (!descr || !fortran || !shape)
    return fail("malformed header: 'descr', 'fortran_order' and 'shape' are "
                "all required");

  std::optional<NpyDtype> dtype = dtypeFromDescr(*descr);
  if (!dtype) {
    if (!descr->empty() && (*descr)[0] == '>')
      return fail("big-endian dtype '" + *descr + "' is not supported");
    return fail("unsupported dtype '" + *descr +
                "' (supported: <f4, <f2, <f8, |u1)");
  }
  if (*fortran)
    return fail("Fortran-order arrays are not supported");
  std::optional<uint64_t> dataBytes = byteCount(*shape, npyDtypeSize(*dtype));
  if (!dataBytes)
    return fail("shape product overflows");
  const uint64_t present = bytes.size() - prefix - headerLen;
  if (present < *dataBytes)
    return fail(llvm::formatv("truncated data: expected {0} bytes, found {1}",
                              *dataBytes, present));
  if (present > *dataBytes)
    return fail(llvm::formatv("{0} unexpected bytes after the data",
                              present - *dataBytes));

  NpyArray a;
  a.dtype = *dtype;
  a.shape = std::move(*shape);
  const char *begin = bytes.data() + prefix + headerLen;
  a.data.assign(begin, begin + *dataBytes);
  return a;
}

llvm::Expected<NpyArray> sattn::readNpy(llvm::StringRef path) {
  // Regular files only, at most kMaxNpyBytes: a FIFO as --q blocked
  // forever and /dev/zero grew memory without end (issue 21 D6).
  llvm::SmallString<0> bytes;
  if (llvm::Error e = readRegularFile(path, kMaxNpyBytes, bytes)) {
    std::string why = llvm::toString(std::move(e));
    return makeError(llvm::formatv("{0}: cannot read: {1}", path, why));
  }
  return parseNpy(bytes.str(), path);
}

llvm::Expected<std::vector<uint8_t>>
sattn::encodeNpy(NpyDtype dtype, llvm::ArrayRef<int64_t> shape,
                 const void *data) {
  std::optional<uint64_t> dataBytes = byteCount(shape, npyDtypeSize(dtype));
  if (!dataBytes)
    return makeError("cannot encode .npy: negative dimension or shape "
                     "product overflows");
  if (*dataBytes > 0 && !data)
    return makeError("cannot encode .npy: no data");
  std::string dict = "{'descr': '" + npyDtypeDescr(dtype).str() +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += std::to_string(shape[i]) + (i + 1 < shape.size() ? ", " : "");
  dict += shape.size() == 1 ? ",), }" : "), }";

  // Version 1.0 unless the header length does not fit in 16 bits.
  unsigned major = 1;
  size_t prefix = kMagicLen + 4;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = kMagicLen + 6;
    total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  }
  const size_t headerLen = total - prefix;
  dict.append(headerLen - dict.size() - 1, ' ');
  dict += '\n';

  std::vector<uint8_t> out(kMagic, kMagic + kMagicLen);
  out.push_back(uint8_t(major));
  out.push_back(0);
  for (size_t i = 0; i < prefix - kMagicLen - 2; ++i)
    out.push_back(uint8_t(headerLen >> (8 * i)));
  out.insert(out.end(), dict.begin(), dict.end());
  const auto *d = static_cast<const uint8_t *>(data);
  out.insert(out.end(), d, d + *dataBytes);
  return out;
}

llvm::Error sattn::writeNpy(llvm::StringRef path, NpyDtype dtype,
                            llvm::ArrayRef<int64_t> shape, const void *data) {
  llvm::Expected<std::vector<uint8_t>> bytes = encodeNpy(dtype, shape, data);
  if (!bytes)
    return makeError(
        llvm::formatv("{0}: {1}", path, llvm::toString(bytes.takeError())));
  return writeFileAtomically(
      path, llvm::StringRef(reinterpret_cast<const char *>(bytes->data()),
                            bytes->size()));
}
