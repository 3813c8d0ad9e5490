// Little-endian byte helpers for quantizer blobs (quantizer.h has the format): whatever the host
// byte order, a blob written on one machine reads the same on another. Also the FNV-1a checksum.
// Used only by the quantizer files; nothing here allocates.
#pragma once
#include "quiver/core/pure.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace quiver::core::quant::blob {

inline void put_u16(std::uint8_t *p, std::uint16_t v) noexcept
{
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
}

inline void put_u32(std::uint8_t *p, std::uint32_t v) noexcept
{
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

inline std::uint16_t get_u16(const std::uint8_t *p) noexcept
{
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

inline std::uint32_t get_u32(const std::uint8_t *p) noexcept
{
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    return v;
}

// n floats as their IEEE-754 bit patterns, little-endian.
inline void put_floats(std::uint8_t *p, const float *values, std::size_t n) noexcept
{
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t bits;
        std::memcpy(&bits, &values[i], 4);
        put_u32(p + 4 * i, bits);
    }
}

inline void get_floats(const std::uint8_t *p, float *values, std::size_t n) noexcept
{
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t bits = get_u32(p + 4 * i);
        std::memcpy(&values[i], &bits, 4);
    }
}

// FNV-1a, 32 bits: catches torn or bit-flipped blobs; not meant to resist a forger.
constexpr std::uint32_t fnv_offset = 2166136261u;
inline std::uint32_t fnv1a(const std::uint8_t *p, std::size_t n,
                           std::uint32_t hash = fnv_offset) noexcept
{
    for (std::size_t i = 0; i < n; ++i)
        hash = (hash ^ p[i]) * 16777619u;
    return hash;
}

}  // namespace quiver::core::quant::blob
