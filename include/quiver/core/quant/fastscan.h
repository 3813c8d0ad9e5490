// 4-bit PQ fast-scan: codes of 32 vectors interleaved so that one 16-lane byte shuffle looks up
// 32 table entries at once, against a per-query table quantized to bytes and summed in 16-bit
// lanes. It ranks; it does not measure: callers re-rank the best candidates exactly.
// Pure C++; the kernel itself is pq4_fastscan_u16 in the kernel table (one per SIMD target).
//
// Layout. M sub-spaces of 16 centroids, taken in P = ceil(M / 2) pairs (2p, 2p + 1); when M is
// odd the last pair's second sub-space is a phantom with code 0 and an all-zero table.
//   block (32 vectors, P * 32 bytes): for each pair p, 32 bytes
//     byte      j (j < 16): code(j, 2p)     | code(j + 16, 2p)     << 4
//     byte 16 + j (j < 16): code(j, 2p + 1) | code(j + 16, 2p + 1) << 4
//   lut (P * 32 bytes): for each pair p, 16 bytes of sub-space 2p's table, then 16 of 2p + 1's.
// So the 16 bytes of a sub-space and its 16 table bytes line up: the low nibbles index the
// table for vectors 0-15 and the high nibbles for vectors 16-31. Vectors past n in the last
// block have all codes 0 (their sums are meaningless and must be ignored).
//
// Distances. The float ADC table t[m][c] (ProductQuantizer::compute_distance_tables) becomes
// q[m][c] = round((t[m][c] - min_c t[m][c]) * scale) (half to even), with one scale for all
// sub-spaces chosen so that every entry fits a byte and the largest possible sum fits 16 bits
// (no wrap-around). Then distance ~= bias + sum / scale with bias = sum_m min_c t[m][c], and
// the error of each entry is at most 0.5 / scale, so |approximation - ADC distance| <=
// M * 0.5 / scale (plus float rounding of the ADC sum itself): fastscan_error_bound().
#pragma once
#include "quiver/core/pure.h"

#include "quiver/core/kernels.h"

#include <cstddef>
#include <cstdint>

namespace quiver::core::quant {

constexpr std::size_t fastscan_block_vectors = 32;

// Sub-space pairs for M sub-spaces, and the bytes of one block of 32 vectors.
constexpr std::size_t fastscan_pairs(std::uint32_t m) noexcept { return (std::size_t(m) + 1) / 2; }
constexpr std::size_t fastscan_block_bytes(std::uint32_t m) noexcept
{
    return fastscan_pairs(m) * 32;
}
constexpr std::size_t fastscan_blocks(std::size_t n) noexcept { return (n + 31) / 32; }
// Bytes for n vectors (whole blocks), and of the quantized table.
constexpr std::size_t fastscan_packed_bytes(std::size_t n, std::uint32_t m) noexcept
{
    return fastscan_blocks(n) * fastscan_block_bytes(m);
}
constexpr std::size_t fastscan_lut_bytes(std::uint32_t m) noexcept
{
    return fastscan_pairs(m) * 32;
}

// Packs n 4-bit PQ codes (ProductQuantizer layout: (m + 1) / 2 bytes each, sub-space 2j in the
// low nibble of byte j) into fastscan_packed_bytes(n, m) bytes of blocks.
void fastscan_pack(const std::uint8_t *codes, std::size_t n, std::uint32_t m,
                   std::uint8_t *blocks) noexcept;

// The PQ code of vector `index` read back out of packed blocks ((m + 1) / 2 bytes).
void fastscan_unpack(const std::uint8_t *blocks, std::uint32_t m, std::size_t index,
                     std::uint8_t *code) noexcept;

// Writes the PQ code of vector `slot` (0..31) of one block, replacing the codes it had (an
// index's lists fill a block one insert at a time and VACUUM moves vectors between slots).
void fastscan_store(std::uint8_t *block, std::uint32_t m, std::size_t slot,
                    const std::uint8_t *code) noexcept;

// How to turn a 16-bit sum back into a distance.
struct FastScanScale {
    float bias;   // sum over sub-spaces of each table's minimum
    float scale;  // table units per distance unit (> 0)
};

// Quantizes float ADC tables (m x 16 floats, finite) into fastscan_lut_bytes(m) bytes, with
// the given kernel table (the active one by default; every target gives the same bytes).
FastScanScale fastscan_quantize_lut(const float *tables, std::uint32_t m, std::uint8_t *lut,
                                    const KernelTable &table = kernels()) noexcept;

inline float fastscan_distance(std::uint16_t sum, const FastScanScale &s) noexcept
{
    return s.bias + static_cast<float>(sum) / s.scale;
}

// Largest |fastscan_distance - float ADC distance| the table rounding can cause.
inline float fastscan_error_bound(const FastScanScale &s, std::uint32_t m) noexcept
{
    return 0.5f * static_cast<float>(m) / s.scale;
}

// The 16-bit sums of nblocks blocks (out: nblocks * 32) with the given kernel table (the active
// one by default): the one call per list or page that the scan makes.
void fastscan_scan(const std::uint8_t *blocks, std::size_t nblocks, std::uint32_t m,
                   const std::uint8_t *lut, std::uint16_t *out,
                   const KernelTable &table = kernels()) noexcept;

}  // namespace quiver::core::quant
