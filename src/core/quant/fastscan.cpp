// 4-bit fast-scan (fastscan.h): packing PQ codes into 32-vector blocks, reading one back, and
// quantizing the float ADC tables to bytes. The summing kernel is per SIMD target
// (KernelTable::pq4_fastscan_u16); everything here is plain loops run once per list or query.
#include "quiver/core/quant/fastscan.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace quiver::core::quant {
namespace {

// Sub-space `sub` of a 4-bit PQ code (low nibble first); the phantom sub-space of an odd M is 0.
std::uint8_t nibble(const std::uint8_t *code, std::uint32_t m, std::uint32_t sub)
{
    if (sub >= m)
        return 0;
    return static_cast<std::uint8_t>((code[sub / 2] >> (4 * (sub % 2))) & 0x0f);
}

// Largest sum of 16-bit lanes we allow: every quantized entry is at most 255 and their total
// over the sub-spaces stays at or below this, so no sum ever wraps.
constexpr double max_total = 65535.0;

}  // namespace

void fastscan_pack(const std::uint8_t *codes, std::size_t n, std::uint32_t m,
                   std::uint8_t *blocks) noexcept
{
    const std::size_t code_bytes = (std::size_t(m) + 1) / 2;
    const std::size_t pairs = fastscan_pairs(m);
    std::memset(blocks, 0, fastscan_packed_bytes(n, m));
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t *code = codes + i * code_bytes;
        std::uint8_t *block = blocks + (i / 32) * pairs * 32;
        const std::size_t lane = i % 16;
        const unsigned shift = (i % 32) < 16 ? 0 : 4;
        for (std::uint32_t sub = 0; sub < 2 * pairs; ++sub)
            block[16 * sub + lane] |= static_cast<std::uint8_t>(nibble(code, m, sub) << shift);
    }
}

void fastscan_unpack(const std::uint8_t *blocks, std::uint32_t m, std::size_t index,
                     std::uint8_t *code) noexcept
{
    const std::size_t pairs = fastscan_pairs(m);
    const std::uint8_t *block = blocks + (index / 32) * pairs * 32;
    const std::size_t lane = index % 16;
    const unsigned shift = (index % 32) < 16 ? 0 : 4;
    std::memset(code, 0, (std::size_t(m) + 1) / 2);
    for (std::uint32_t sub = 0; sub < m; ++sub) {
        const std::uint8_t value = (block[16 * sub + lane] >> shift) & 0x0f;
        code[sub / 2] |= static_cast<std::uint8_t>(value << (4 * (sub % 2)));
    }
}

void fastscan_store(std::uint8_t *block, std::uint32_t m, std::size_t slot,
                    const std::uint8_t *code) noexcept
{
    const std::size_t pairs = fastscan_pairs(m);
    const std::size_t lane = slot % 16;
    const unsigned shift = (slot % 32) < 16 ? 0 : 4;
    const auto keep = static_cast<std::uint8_t>(0xf0 >> shift);  // the other vector's nibble
    for (std::uint32_t sub = 0; sub < 2 * pairs; ++sub) {
        std::uint8_t &byte = block[16 * sub + lane];
        byte = static_cast<std::uint8_t>((byte & keep) | (nibble(code, m, sub) << shift));
    }
}

// One scale for all sub-spaces (a per-sub-space scale could not be undone after summing): the
// largest that keeps every entry within 255 and the largest possible total within 65535.
// The total bound subtracts half a unit per sub-space for the rounding up of each entry.
FastScanScale fastscan_quantize_lut(const float *tables, std::uint32_t m, std::uint8_t *lut,
                                    const KernelTable &table) noexcept
{
    // Runs once per probed list: the tables' ranges, then the bytes, through the kernels. The
    // least entries are kept on the stack for the second pass; only an M past what that holds
    // (more than any index's fast-scan block allows) measures its tables a second time.
    constexpr std::size_t chunk = 512;
    float lo[chunk], hi[chunk];
    std::memset(lut, 0, fastscan_lut_bytes(m));
    double bias = 0.0, total_range = 0.0;
    float widest = 0.0f;
    for (std::size_t first = 0; first < m; first += chunk) {
        const std::size_t n = std::min<std::size_t>(chunk, m - first);
        table.fastscan_ranges(tables + 16 * first, n, lo, hi);
        for (std::size_t i = 0; i < n; ++i) {
            bias += lo[i];
            widest = std::max(widest, hi[i] - lo[i]);
            total_range += double(hi[i]) - lo[i];
        }
    }
    double scale = 1.0;  // all tables flat: every sum is 0, any scale is exact
    if (widest > 0.0f)
        scale = std::min(255.0 / widest, std::max(max_total - 0.5 * m, 1.0) / total_range);
    float fscale = static_cast<float>(scale);
    if (double(fscale) > scale)  // rounded up: the bounds above would no longer hold
        fscale = std::nextafter(fscale, 0.0f);
    for (std::size_t first = 0; first < m; first += chunk) {
        const std::size_t n = std::min<std::size_t>(chunk, m - first);
        if (m > chunk)  // lo holds the last chunk's minima, not this one's
            table.fastscan_ranges(tables + 16 * first, n, lo, hi);
        table.fastscan_quantize(tables + 16 * first, lo, n, fscale, lut + 16 * first);
    }
    return FastScanScale{static_cast<float>(bias), fscale};
}

void fastscan_scan(const std::uint8_t *blocks, std::size_t nblocks, std::uint32_t m,
                   const std::uint8_t *lut, std::uint16_t *out, const KernelTable &table) noexcept
{
    table.pq4_fastscan_u16(blocks, nblocks, fastscan_pairs(m), lut, out);
}

}  // namespace quiver::core::quant
