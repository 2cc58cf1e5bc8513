//===- NpyTest.cpp - .npy reading, writing and header validation ----------===//

#include "sattn/Npy.h"
#include "sattn/Float16.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace sattn;

namespace {

class NpyTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("sattn-npy", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string path(llvm::StringRef name) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  std::string writeRaw(llvm::StringRef name, const std::string &bytes) {
    std::string p = path(name);
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    EXPECT_FALSE(ec);
    os << bytes;
    return p;
  }
  /// Reads `bytes` from a file and returns the error text ("" on success).
  std::string readError(const std::string &bytes) {
    std::string p = writeRaw("bad.npy", bytes);
    llvm::Expected<NpyArray> a = readNpy(p);
    if (a)
      return "";
    std::string msg = llvm::toString(a.takeError());
    EXPECT_NE(msg.find(p), std::string::npos) << "message must name the file";
    return msg;
  }

  llvm::SmallString<128> dir;
};

/// A version 1.0 file with the given dict text (padded to 64) and data.
std::string npyBytes(const std::string &dict, const std::string &data,
                     int major = 1, int minor = 0) {
  std::string header = dict;
  size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(major);
  out += char(minor);
  size_t len = header.size();
  out += char(len & 0xff);
  out += char((len >> 8) & 0xff);
  if (major != 1) {
    out += char(0);
    out += char(0);
  }
  return out + header + data;
}

const char *kF32Dict =
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

TEST_F(NpyTest, Float32RoundTripAndExactHeader) {
  std::vector<float> x = {1.5f, -2, 3, 0.25f, 1e-30f, 7};
  ASSERT_FALSE(
      bool(writeNpy(path("a.npy"), NpyDtype::Float32, {2, 3}, x.data())));
  auto buf = llvm::MemoryBuffer::getFile(path("a.npy"));
  ASSERT_TRUE(bool(buf));
  llvm::StringRef bytes = (*buf)->getBuffer();
  // What numpy itself writes: the 60-byte dict padded so that magic,
  // version, length and header fill 128 bytes, ending in '\n'.
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_TRUE(bytes.starts_with(llvm::StringRef("\x93NUMPY\x01\x00", 8)));
  EXPECT_EQ(uint8_t(bytes[8]), 118);
  EXPECT_EQ(uint8_t(bytes[9]), 0);
  EXPECT_EQ(bytes.substr(10, 118).rtrim(), kF32Dict);
  EXPECT_EQ(bytes[127], '\n');

  llvm::Expected<NpyArray> a = readNpy(path("a.npy"));
  ASSERT_TRUE(bool(a)) << llvm::toString(a.takeError());
  EXPECT_EQ(a->dtype, NpyDtype::Float32);
  EXPECT_EQ(a->shape, std::vector<int64_t>({2, 3}));
  EXPECT_EQ(a->numElements(), 6);
  EXPECT_EQ(a->toFloat32(), x);
  // No temporary file is left behind.
  std::error_code ec;
  int files = 0;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(NpyTest, IntegersForRunTimeInputs) {
  std::vector<int32_t> i32 = {0, -3, INT32_MAX, 7};
  ASSERT_FALSE(
      bool(writeNpy(path("i.npy"), NpyDtype::Int32, {2, 2}, i32.data())));
  llvm::Expected<NpyArray> ia = readNpy(path("i.npy"));
  ASSERT_TRUE(bool(ia)) << llvm::toString(ia.takeError());
  EXPECT_EQ(ia->dtype, NpyDtype::Int32);
  llvm::Expected<std::vector<int32_t>> back = ia->toInt32("i.npy");
  ASSERT_TRUE(bool(back));
  EXPECT_EQ(*back, i32);

  // NumPy's default int64 converts when every value fits.
  std::vector<int64_t> i64 = {5, -1, int64_t(INT32_MAX) + 1};
  ASSERT_FALSE(bool(writeNpy(path("l.npy"), NpyDtype::Int64, {2}, i64.data())));
  llvm::Expected<NpyArray> la = readNpy(path("l.npy"));
  ASSERT_TRUE(bool(la));
  llvm::Expected<std::vector<int32_t>> fits = la->toInt32("l.npy");
  ASSERT_TRUE(bool(fits));
  EXPECT_EQ(*fits, std::vector<int32_t>({5, -1}));
  ASSERT_FALSE(bool(writeNpy(path("l.npy"), NpyDtype::Int64, {3}, i64.data())));
  la = readNpy(path("l.npy"));
  ASSERT_TRUE(bool(la));
  llvm::Expected<std::vector<int32_t>> big = la->toInt32("l.npy");
  ASSERT_FALSE(bool(big));
  EXPECT_EQ(llvm::toString(big.takeError()),
            "l.npy: element 2 = 2147483648 does not fit in int32");

  std::vector<float> f = {1.0f};
  ASSERT_FALSE(bool(writeNpy(path("f.npy"), NpyDtype::Float32, {1}, f.data())));
  llvm::Expected<NpyArray> fa = readNpy(path("f.npy"));
  ASSERT_TRUE(bool(fa));
  llvm::Expected<std::vector<int32_t>> notInts = fa->toInt32("f.npy");
  ASSERT_FALSE(bool(notInts));
  EXPECT_EQ(llvm::toString(notInts.takeError()),
            "f.npy: must hold integers (int32, int64 or uint8), got float32");
}

TEST_F(NpyTest, OtherDtypesAndShapes) {
  std::vector<uint8_t> u = {0, 1, 255, 7, 9};
  ASSERT_FALSE(bool(writeNpy(path("u.npy"), NpyDtype::UInt8, {5}, u.data())));
  llvm::Expected<NpyArray> ua = readNpy(path("u.npy"));
  ASSERT_TRUE(bool(ua));
  EXPECT_EQ(ua->dtype, NpyDtype::UInt8);
  EXPECT_EQ(ua->shape, std::vector<int64_t>({5}));
  EXPECT_EQ(ua->data, u);
  EXPECT_EQ(ua->toFloat32(), std::vector<float>({0, 1, 255, 7, 9}));

  // float16 bits: 1.0, -2.0, 65504, smallest subnormal, +inf.
  std::vector<uint16_t> h = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x3555};
  ASSERT_FALSE(
      bool(writeNpy(path("h.npy"), NpyDtype::Float16, {3, 2}, h.data())));
  llvm::Expected<NpyArray> ha = readNpy(path("h.npy"));
  ASSERT_TRUE(bool(ha));
  EXPECT_EQ(ha->dtype, NpyDtype::Float16);
  std::vector<float> hf = ha->toFloat32();
  EXPECT_EQ(hf[0], 1.0f);
  EXPECT_EQ(hf[1], -2.0f);
  EXPECT_EQ(hf[2], 65504.0f);
  EXPECT_EQ(hf[3], std::ldexp(1.0f, -24));
  EXPECT_EQ(hf[4], std::numeric_limits<float>::infinity());
  EXPECT_EQ(hf[5], 0.333251953125f); // 0x3555

  std::vector<double> d = {3.25};
  ASSERT_FALSE(bool(writeNpy(path("d.npy"), NpyDtype::Float64, {}, d.data())));
  llvm::Expected<NpyArray> da = readNpy(path("d.npy"));
  ASSERT_TRUE(bool(da));
  EXPECT_TRUE(da->shape.empty());
  EXPECT_EQ(da->numElements(), 1);
  EXPECT_EQ(da->toFloat32(), std::vector<float>({3.25f}));

  // Zero-sized arrays.
  ASSERT_FALSE(
      bool(writeNpy(path("z.npy"), NpyDtype::Float32, {0, 3}, nullptr)));
  llvm::Expected<NpyArray> za = readNpy(path("z.npy"));
  ASSERT_TRUE(bool(za));
  EXPECT_EQ(za->shape, std::vector<int64_t>({0, 3}));
  EXPECT_EQ(za->numElements(), 0);
}

TEST_F(NpyTest, ReadsVersion2AndNumpyVariants) {
  // Version 2.0 header, double quotes, no trailing comma, extra spaces.
  std::string v2 = npyBytes(
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": ( 2 , )}",
      std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8), 2);
  llvm::Expected<NpyArray> a = parseNpy(v2, "v2.npy");
  ASSERT_TRUE(bool(a)) << llvm::toString(a.takeError());
  EXPECT_EQ(a->toFloat32(), std::vector<float>({1.0f, -2.0f}));
  // '<u1' is accepted like '|u1'.
  llvm::Expected<NpyArray> u = parseNpy(
      npyBytes("{'descr': '<u1', 'fortran_order': False, 'shape': (1,), }",
               "\x05"),
      "u.npy");
  ASSERT_TRUE(bool(u));
  EXPECT_EQ(u->data, std::vector<uint8_t>({5}));
}

TEST_F(NpyTest, LargeHeaderUsesVersion2) {
  // 25000 dims of size 1: the header no longer fits in 16 bits.
  std::vector<int64_t> shape(25000, 1);
  float x = 4;
  ASSERT_FALSE(bool(writeNpy(path("big.npy"), NpyDtype::Float32, shape, &x)));
  auto buf = llvm::MemoryBuffer::getFile(path("big.npy"));
  ASSERT_TRUE(bool(buf));
  EXPECT_EQ((*buf)->getBuffer()[6], 2);
  EXPECT_EQ(((*buf)->getBufferSize() - 4) % 64, 0u);
  llvm::Expected<NpyArray> a = readNpy(path("big.npy"));
  ASSERT_TRUE(bool(a));
  EXPECT_EQ(a->shape.size(), 25000u);
  EXPECT_EQ(a->toFloat32(), std::vector<float>({4}));
}

TEST_F(NpyTest, HeaderErrors) {
  const std::string data(24, '\0');
  auto has = [](const std::string &msg, const char *what) {
    return msg.find(what) != std::string::npos;
  };
  // Control: the valid file reads.
  EXPECT_EQ(readError(npyBytes(kF32Dict, data)), "");

  std::string badMagic = npyBytes(kF32Dict, data);
  badMagic[1] = 'X';
  EXPECT_TRUE(has(readError(badMagic), "bad magic"));
  EXPECT_TRUE(has(readError("\x93NUM"), "bad magic"));
  EXPECT_TRUE(has(readError(npyBytes(kF32Dict, data, 3)), "version 3.0"));
  EXPECT_TRUE(has(readError(npyBytes(kF32Dict, data, 1, 1)), "version 1.1"));
  EXPECT_TRUE(has(
      readError(npyBytes(
          "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data)),
      "big-endian"));
  EXPECT_TRUE(has(
      readError(npyBytes(
          "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }", data)),
      "unsupported dtype '<i2'"));
  EXPECT_TRUE(has(
      readError(npyBytes(
          "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data)),
      "Fortran"));
  // Malformed dicts.
  for (const char *dict :
       {"'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ",
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}",
        "{'descr': '<f4', 'fortran_order': Nope, 'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }",
        "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
        "'shape': (2, 3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x"})
    EXPECT_TRUE(has(readError(npyBytes(dict, data)), "malformed header"))
        << dict;
  // Shape product overflow (also with huge single dimensions).
  EXPECT_TRUE(has(readError(npyBytes("{'descr': '<f4', 'fortran_order': "
                                     "False, 'shape': (4294967296, "
                                     "4294967296), }",
                                     "")),
                  "overflow"));
  EXPECT_TRUE(has(readError(npyBytes("{'descr': '<f4', 'fortran_order': "
                                     "False, 'shape': "
                                     "(99999999999999999999,), }",
                                     "")),
                  "malformed header"));
  // Data size.
  EXPECT_TRUE(has(readError(npyBytes(kF32Dict, data.substr(0, 20))),
                  "truncated data: expected 24 bytes, found 20"));
  EXPECT_TRUE(
      has(readError(npyBytes(kF32Dict, data + "xy")), "2 unexpected bytes"));
  // Header length pointing past the end, and no final newline.
  std::string cut = npyBytes(kF32Dict, "").substr(0, 40);
  EXPECT_TRUE(has(readError(cut), "truncated header"));
  std::string noNewline = npyBytes(kF32Dict, data);
  noNewline[noNewline.rfind('\n')] = ' ';
  EXPECT_TRUE(has(readError(noNewline), "newline"));
}

TEST_F(NpyTest, FileErrorsNameTheFile) {
  std::string missing = path("missing.npy");
  llvm::Expected<NpyArray> a = readNpy(missing);
  ASSERT_FALSE(bool(a));
  EXPECT_NE(llvm::toString(a.takeError()).find(missing), std::string::npos);
  std::string nodir = path("no/such/dir/x.npy");
  float x = 1;
  llvm::Error e = writeNpy(nodir, NpyDtype::Float32, {1}, &x);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find(nodir), std::string::npos);
}

TEST(NpyHalf, Conversions) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00); // rounds to infinity
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -26)), 0x0000); // below half-ulp
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400); // smallest normal
  // Ties to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
  EXPECT_EQ(halfToFloat(0x8000), 0.0f);
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
  EXPECT_EQ(halfToFloat(0x03FF), std::ldexp(1023.0f, -24));
  for (uint32_t bits = 0; bits < 0x7C00; ++bits)
    ASSERT_EQ(floatToHalf(halfToFloat(uint16_t(bits))), bits);
}

} // namespace
