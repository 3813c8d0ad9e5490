// Distance kernels of the core: one table of function pointers per SIMD target, one active
// table chosen at load time. Callers never name an instruction set; they call through kernels().
// Nothing here allocates, throws, or knows about PostgreSQL.
#pragma once
#include "quiver/core/pure.h"

#include <cstddef>
#include <cstdint>

namespace quiver::core {

// Ordered from least to most capable; a higher value may be forced down, never up.
enum class SimdTarget : int { scalar = 0, sse42 = 1, avx2 = 2, avx512 = 3 };

// Partial sums for cosine distance, so callers decide how to treat zero norms.
struct CosineParts {
    float dot;
    float norm_a;  // sum of a[i]^2
    float norm_b;  // sum of b[i]^2
};

// Bit-set counts for Jaccard distance.
struct JaccardCounts {
    std::uint64_t both;    // popcount(a & b)
    std::uint64_t a_count; // popcount(a)
    std::uint64_t b_count; // popcount(b)
};

// float16 values travel as their IEEE-754 binary16 bit patterns.
using half_bits = std::uint16_t;

struct KernelTable {
    SimdTarget target;
    const char *name;  // "scalar", "sse4.2", "avx2", "avx512"

    // float32, n elements each. Pointers need not be aligned.
    float (*l2sq_f32)(const float *a, const float *b, std::size_t n);
    float (*dot_f32)(const float *a, const float *b, std::size_t n);
    CosineParts (*cosine_f32)(const float *a, const float *b, std::size_t n);
    float (*l1_f32)(const float *a, const float *b, std::size_t n);
    float (*norm_sq_f32)(const float *a, std::size_t n);

    // float16 inputs, float32 accumulation.
    float (*l2sq_f16)(const half_bits *a, const half_bits *b, std::size_t n);
    float (*dot_f16)(const half_bits *a, const half_bits *b, std::size_t n);
    CosineParts (*cosine_f16)(const half_bits *a, const half_bits *b, std::size_t n);
    float (*l1_f16)(const half_bits *a, const half_bits *b, std::size_t n);
    float (*norm_sq_f16)(const half_bits *a, std::size_t n);

    // Bit strings of nbytes bytes.
    std::uint64_t (*hamming_bits)(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes);
    JaccardCounts (*jaccard_bits)(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes);

    // One query against `count` vectors of `n` elements; out[i] = metric(query, xs[i]).
    void (*l2sq_f32_batch)(const float *query, const float *const *xs, std::size_t count,
                           std::size_t n, float *out);
    void (*dot_f32_batch)(const float *query, const float *const *xs, std::size_t count,
                          std::size_t n, float *out);
    void (*l2sq_f16_batch)(const half_bits *query, const half_bits *const *xs, std::size_t count,
                           std::size_t n, float *out);
    void (*dot_f16_batch)(const half_bits *query, const half_bits *const *xs, std::size_t count,
                          std::size_t n, float *out);
    void (*hamming_bits_batch)(const std::uint8_t *query, const std::uint8_t *const *xs,
                               std::size_t count, std::size_t nbytes, std::uint64_t *out);

    // Bulk conversions (float16 <-> float32), round-to-nearest-even, overflow gives +-inf.
    void (*f32_to_f16)(const float *in, half_bits *out, std::size_t n);
    void (*f16_to_f32)(const half_bits *in, float *out, std::size_t n);

    // 4-bit PQ fast-scan (block and table layout in quiver/core/quant/fastscan.h): `nblocks`
    // blocks of 32 codes, each pairs * 32 bytes, against a quantized lookup table of
    // pairs * 32 bytes. out[32 * b + j] = sum of the table entries of vector j of block b over
    // all sub-spaces, in wrapping uint16 arithmetic, so every target gives the same bits.
    void (*pq4_fastscan_u16)(const std::uint8_t *blocks, std::size_t nblocks, std::size_t pairs,
                             const std::uint8_t *lut, std::uint16_t *out);
    // The fast-scan table of a probed list from its m float tables of 16 entries (per list, so
    // they matter): fastscan_ranges writes each table's least and largest entry to lo[i], hi[i];
    // fastscan_quantize writes lut[16 i + c] = min(255, nearbyint((t[i][c] - lo[i]) * scale))
    // (round half to even, scale > 0, t >= lo). Both give the same bits on every target.
    void (*fastscan_ranges)(const float *tables, std::size_t m, float *lo, float *hi);
    void (*fastscan_quantize)(const float *tables, const float *lo, std::size_t m, float scale,
                              std::uint8_t *lut);

    // One sub-space's PQ lookup table: t is its codebook transposed ([dsub][ksub] floats), x the
    // query's dsub values; out[c] = sum_j (x[j] - t[j][c])^2, or -sum_j x[j] t[j][c], summed in
    // j order (targets with FMA round each step once: within rounding of the scalar table).
    void (*pq_table_l2)(const float *x, const float *t, std::size_t dsub, std::size_t ksub,
                        float *out);
    void (*pq_table_neg_dot)(const float *x, const float *t, std::size_t dsub, std::size_t ksub,
                             float *out);
};

// The table in use. Chosen once on first use (best target the CPU and OS support).
const KernelTable &kernels() noexcept;

// The best target this CPU and OS can run (CPUID + XGETBV), and what this binary compiled.
SimdTarget best_supported_target() noexcept;
bool target_compiled(SimdTarget t) noexcept;

// Table for a given target, or nullptr when not compiled in or not supported by this CPU/OS.
const KernelTable *kernels_for(SimdTarget t) noexcept;

// Make `t` the active target. Returns false (and changes nothing) if unsupported.
bool select_target(SimdTarget t) noexcept;

const char *target_name(SimdTarget t) noexcept;
// Parses "scalar", "sse4.2"/"sse42", "avx2", "avx512"; returns false for anything else.
bool parse_target(const char *name, SimdTarget *out) noexcept;

}  // namespace quiver::core
