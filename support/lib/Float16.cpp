//===- Float16.cpp - IEEE binary16 and bfloat16 conversions ---------------===//

#include "sattn/Float16.h"

#include <cmath>
#include <cstring>
#include <limits>

float sattn::halfToFloat(uint16_t h) {
  const float sign = (h & 0x8000) ? -1.0f : 1.0f;
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  if (exp == 0) // zero or subnormal: mant * 2^-24
    return sign * std::ldexp(float(mant), -24);
  if (exp == 31)
    return mant ? std::numeric_limits<float>::quiet_NaN()
                : sign * std::numeric_limits<float>::infinity();
  return sign * std::ldexp(float(1024 + mant), exp - 25);
}

uint16_t sattn::floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  const uint32_t a = x & 0x7fffffff;
  if (a >= 0x7f800000) // Inf or NaN (NaN stays quiet)
    return sign | (a > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (a >= 0x477ff000) // >= 65520 rounds to Inf
    return sign | 0x7c00;
  if (a < 0x38800000) { // below 2^-14: subnormal half; the scaling is exact
    float v;
    std::memcpy(&v, &a, 4);
    return sign | uint16_t(std::nearbyint(v * 16777216.0f));
  }
  uint32_t h = ((((a >> 23) - 127 + 15)) << 10) | ((a & 0x7fffff) >> 13);
  const uint32_t rem = a & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    ++h; // a carry into the exponent is the correct rounding
  return sign | uint16_t(h);
}

float sattn::bf16ToFloat(uint16_t bits) {
  uint32_t word = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &word, sizeof(value));
  return value;
}

uint16_t sattn::floatToBf16(float value) {
  uint32_t word;
  std::memcpy(&word, &value, sizeof(word));
  if (std::isnan(value))
    return uint16_t((word >> 16) | 0x40); // keep it a (quiet) NaN
  uint32_t roundingBias = 0x7fff + ((word >> 16) & 1);
  return uint16_t((word + roundingBias) >> 16);
}
