//===- Float16.h - IEEE binary16 and bfloat16 conversions -------*- C++ -*-===//
//
// The one implementation of sattn's 16-bit float conversions, used by tensor
// views, .npy files and the tools. Both round to nearest even and keep NaN
// and Inf.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_FLOAT16_H
#define SATTN_FLOAT16_H

#include <cstdint>

namespace sattn {

/// IEEE binary16.
float halfToFloat(uint16_t bits);
uint16_t floatToHalf(float value);

/// bfloat16 (the high half of an f32).
float bf16ToFloat(uint16_t bits);
uint16_t floatToBf16(float value);

} // namespace sattn

#endif // SATTN_FLOAT16_H
