// Portable binary16 <-> binary32 conversion by bit manipulation. This is the reference that the
// F16C paths are tested against, so it favours obvious correctness over speed.
#include "quiver/core/half.h"

#include <cstring>

namespace quiver::core {

float half_to_float(std::uint16_t h) noexcept
{
    std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    std::uint32_t exponent = (h >> 10) & 0x1fu;
    std::uint32_t mantissa = h & 0x3ffu;
    std::uint32_t bits;

    if (exponent == 0x1f) {
        // inf, or NaN with its payload kept. A signalling NaN comes back quiet, as IEEE-754
        // widening and F16C's vcvtph2ps do, so every target gives the same bits.
        bits = sign | 0x7f800000u | (mantissa << 13);
        if (mantissa != 0)
            bits |= 0x00400000u;
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);  // 112 = 127 - 15
    } else if (mantissa == 0) {
        bits = sign;  // +-0
    } else {
        // Subnormal half: normalise into a float32 normal.
        int shift = 0;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            ++shift;
        }
        mantissa &= 0x3ffu;
        bits = sign | (static_cast<std::uint32_t>(113 - shift) << 23) | (mantissa << 13);
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

std::uint16_t float_to_half(float f) noexcept
{
    std::uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    std::uint32_t exponent = (bits >> 23) & 0xffu;
    std::uint32_t mantissa = bits & 0x7fffffu;

    if (exponent == 0xff) {
        if (mantissa == 0)
            return sign | 0x7c00u;
        // NaN: keep the top payload bits, force quiet so it stays a NaN.
        return static_cast<std::uint16_t>(sign | 0x7e00u | (mantissa >> 13));
    }

    int e = static_cast<int>(exponent) - 127 + 15;
    if (e >= 0x1f)
        return sign | 0x7c00u;  // overflow to inf

    if (e <= 0) {
        // Result is subnormal or zero: shift the full significand (with hidden bit) right.
        if (e < -10)
            return sign;  // below half the smallest subnormal: rounds to zero
        std::uint32_t significand = mantissa | 0x800000u;
        int shift = 14 - e;  // 13 bits of mantissa difference, plus 1 - e
        std::uint32_t result = significand >> shift;
        std::uint32_t remainder = significand & ((1u << shift) - 1);
        std::uint32_t halfway = 1u << (shift - 1);
        if (remainder > halfway || (remainder == halfway && (result & 1u)))
            ++result;  // may carry into the smallest normal, which is the right answer
        return static_cast<std::uint16_t>(sign | result);
    }

    std::uint32_t result = (static_cast<std::uint32_t>(e) << 10) | (mantissa >> 13);
    std::uint32_t remainder = mantissa & 0x1fffu;
    if (remainder > 0x1000u || (remainder == 0x1000u && (result & 1u)))
        ++result;  // a carry out of the mantissa bumps the exponent; into 0x7c00 = inf
    return static_cast<std::uint16_t>(sign | result);
}

}  // namespace quiver::core
