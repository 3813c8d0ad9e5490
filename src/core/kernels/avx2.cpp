// AVX2 + FMA + F16C + POPCNT kernels (8 floats per batch). Compiled with exactly those flags;
// nothing here may run unless dispatch.cpp saw them in CPUID and YMM state enabled in XCR0.
// float16 is widened and narrowed by F16C, whose round-to-nearest-even matches float_to_half().
#if defined(__x86_64__)

#define QUIVER_SIMD_TARGET_TU
#include "simd_kernels.hpp"
#include "fold128.h"
#include "tables.h"

#include <immintrin.h>

namespace quiver::core::detail {
namespace {

struct Avx2Isa {
    using batch = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;

    static batch load_half(const half_bits *p)
    {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
    }

    // maskload never touches the masked-off lanes, so reading past the vector's end is safe.
    static batch load_partial(const float *p, std::size_t count)
    {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), lane);
        return _mm256_maskload_ps(p, mask);
    }

    static batch load_half_partial(const half_bits *p, std::size_t count)
    {
        alignas(16) half_bits lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        std::memcpy(lanes, p, count * sizeof(half_bits));
        return load_half(lanes);
    }

    static float reduce_add(batch v)
    {
        __m256 x = v;
        __m128 quad = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
        __m128 pairs = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
        return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
    }

    static void f32_to_f16(const float *in, half_bits *out, std::size_t n)
    {
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m128i halves = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
            _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i), halves);
        }
        for (; i < n; ++i)
            out[i] = float_to_half(in[i]);
    }

    static void f16_to_f32(const half_bits *in, float *out, std::size_t n)
    {
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(out + i, load_half(in + i));
        for (; i < n; ++i)
            out[i] = half_to_float(in[i]);
    }
};

// Bit strings 32 bytes at a time with the nibble-lookup popcount (VPSHUFB on each half-byte,
// VPSADBW to sum bytes into 64-bit lanes): faster than scalar POPCNT from about 128 bytes on,
// since it spreads over the vector ports. Tails under 32 bytes use POPCNT on words.
struct Avx2Bits {
    static __m256i load(const std::uint8_t *p)
    {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
    }

    static __m256i byte_popcounts(__m256i v)
    {
        const __m256i bits_in_nibble =
            _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3,
                             1, 2, 2, 3, 2, 3, 3, 4);
        const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
        __m256i low = _mm256_and_si256(v, low_nibbles);
        __m256i high = _mm256_and_si256(_mm256_srli_epi16(v, 4), low_nibbles);
        return _mm256_add_epi8(_mm256_shuffle_epi8(bits_in_nibble, low),
                               _mm256_shuffle_epi8(bits_in_nibble, high));
    }

    // Byte counts are at most 8 (16 for a sum of two), so summing them never overflows a byte.
    static __m256i add_byte_counts(__m256i acc, __m256i byte_counts)
    {
        return _mm256_add_epi64(acc, _mm256_sad_epu8(byte_counts, _mm256_setzero_si256()));
    }

    static std::uint64_t total(__m256i acc)
    {
        __m128i two = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        return static_cast<std::uint64_t>(_mm_cvtsi128_si64(two)) +
               static_cast<std::uint64_t>(_mm_extract_epi64(two, 1));
    }

    static std::uint64_t hamming(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes)
    {
        __m256i acc = _mm256_setzero_si256();
        std::size_t i = 0;
        for (; i + 64 <= nbytes; i += 64) {
            __m256i x0 = _mm256_xor_si256(load(a + i), load(b + i));
            __m256i x1 = _mm256_xor_si256(load(a + i + 32), load(b + i + 32));
            acc = add_byte_counts(acc, _mm256_add_epi8(byte_popcounts(x0), byte_popcounts(x1)));
        }
        if (i + 32 <= nbytes) {
            acc = add_byte_counts(acc, byte_popcounts(_mm256_xor_si256(load(a + i), load(b + i))));
            i += 32;
        }
        return total(acc) + hamming_popcnt64(a + i, b + i, nbytes - i);
    }

    static JaccardCounts jaccard(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes)
    {
        __m256i both = _mm256_setzero_si256();
        __m256i in_a = _mm256_setzero_si256();
        __m256i in_b = _mm256_setzero_si256();
        std::size_t i = 0;
        for (; i + 32 <= nbytes; i += 32) {
            __m256i x = load(a + i), y = load(b + i);
            both = add_byte_counts(both, byte_popcounts(_mm256_and_si256(x, y)));
            in_a = add_byte_counts(in_a, byte_popcounts(x));
            in_b = add_byte_counts(in_b, byte_popcounts(y));
        }
        JaccardCounts tail = jaccard_popcnt64(a + i, b + i, nbytes - i);
        return JaccardCounts{total(both) + tail.both, total(in_a) + tail.a_count,
                             total(in_b) + tail.b_count};
    }

    static void hamming_batch(const std::uint8_t *query, const std::uint8_t *const *xs,
                              std::size_t count, std::size_t nbytes, std::uint64_t *out)
    {
        std::size_t j = 0;
        for (; j + 4 <= count; j += 4) {
            const std::uint8_t *x0 = xs[j], *x1 = xs[j + 1], *x2 = xs[j + 2], *x3 = xs[j + 3];
            __m256i c0 = _mm256_setzero_si256(), c1 = _mm256_setzero_si256();
            __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
            std::size_t i = 0;
            for (; i + 32 <= nbytes; i += 32) {
                __m256i q = load(query + i);
                c0 = add_byte_counts(c0, byte_popcounts(_mm256_xor_si256(q, load(x0 + i))));
                c1 = add_byte_counts(c1, byte_popcounts(_mm256_xor_si256(q, load(x1 + i))));
                c2 = add_byte_counts(c2, byte_popcounts(_mm256_xor_si256(q, load(x2 + i))));
                c3 = add_byte_counts(c3, byte_popcounts(_mm256_xor_si256(q, load(x3 + i))));
            }
            std::size_t rest = nbytes - i;
            out[j] = total(c0) + hamming_popcnt64(query + i, x0 + i, rest);
            out[j + 1] = total(c1) + hamming_popcnt64(query + i, x1 + i, rest);
            out[j + 2] = total(c2) + hamming_popcnt64(query + i, x2 + i, rest);
            out[j + 3] = total(c3) + hamming_popcnt64(query + i, x3 + i, rest);
        }
        for (; j < count; ++j)
            out[j] = hamming(query, xs[j], nbytes);
    }
};

// 4-bit fast-scan, one sub-space pair per step: VPSHUFB shuffles within each 128-bit lane, so
// the low lane looks up the pair's first sub-space and the high lane its second, for 16 vectors
// per nibble. Byte entries are summed in 16-bit lanes (even bytes masked, odd bytes shifted
// down); the two halves are added and interleaved back into vector order at the end.
struct Avx2Codes {
    static __m256i load(const std::uint8_t *p)
    {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
    }

    static __m128i fold(__m256i v)
    {
        return _mm_add_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    }

    static void store_sums(std::uint16_t *out, __m128i even, __m128i odd)
    {
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out), _mm_unpacklo_epi16(even, odd));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out + 8), _mm_unpackhi_epi16(even, odd));
    }

    static void pq4_fastscan_u16(const std::uint8_t *blocks, std::size_t nblocks,
                                 std::size_t pairs, const std::uint8_t *lut, std::uint16_t *out)
    {
        const __m256i nibble = _mm256_set1_epi8(0x0f);
        const __m256i low_byte = _mm256_set1_epi16(0x00ff);
        for (std::size_t b = 0; b < nblocks; ++b) {
            const std::uint8_t *codes = blocks + b * pairs * 32;
            __m256i first_even = _mm256_setzero_si256(), first_odd = _mm256_setzero_si256();
            __m256i second_even = _mm256_setzero_si256(), second_odd = _mm256_setzero_si256();
            for (std::size_t p = 0; p < pairs; ++p) {
                const __m256i c = load(codes + 32 * p);
                const __m256i table = load(lut + 32 * p);
                const __m256i first = _mm256_shuffle_epi8(table, _mm256_and_si256(c, nibble));
                const __m256i second =
                    _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(c, 4), nibble));
                first_even = _mm256_add_epi16(first_even, _mm256_and_si256(first, low_byte));
                first_odd = _mm256_add_epi16(first_odd, _mm256_srli_epi16(first, 8));
                second_even = _mm256_add_epi16(second_even, _mm256_and_si256(second, low_byte));
                second_odd = _mm256_add_epi16(second_odd, _mm256_srli_epi16(second, 8));
            }
            store_sums(out + 32 * b, fold(first_even), fold(first_odd));
            store_sums(out + 32 * b + 16, fold(second_even), fold(second_odd));
        }
    }

    // A table's 16 floats in two registers; min / max folded across lanes.
    static void fastscan_ranges(const float *tables, std::size_t m, float *lo, float *hi)
    {
        for (std::size_t i = 0; i < m; ++i) {
            const __m256 a = _mm256_loadu_ps(tables + 16 * i), b = _mm256_loadu_ps(tables + 16 * i + 8);
            const __m256 mn8 = _mm256_min_ps(a, b), mx8 = _mm256_max_ps(a, b);
            const __m128 mn = _mm_min_ps(_mm256_castps256_ps128(mn8), _mm256_extractf128_ps(mn8, 1));
            const __m128 mx = _mm_max_ps(_mm256_castps256_ps128(mx8), _mm256_extractf128_ps(mx8, 1));
            fold_min_max(mn, mx, &lo[i], &hi[i]);
        }
    }

    // VCVTPS2DQ rounds half to even (the default MXCSR mode, as nearbyint); the unsigned
    // saturating packs, done on 128-bit halves to keep entry order, clamp to 0..255.
    static void fastscan_quantize(const float *tables, const float *lo, std::size_t m,
                                  float scale, std::uint8_t *lut)
    {
        const __m256 s = _mm256_set1_ps(scale);
        for (std::size_t i = 0; i < m; ++i) {
            const __m256 l = _mm256_set1_ps(lo[i]);
            const __m256i a = _mm256_cvtps_epi32(
                _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(tables + 16 * i), l), s));
            const __m256i b = _mm256_cvtps_epi32(
                _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(tables + 16 * i + 8), l), s));
            const __m128i first = _mm_packus_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
            const __m128i second = _mm_packus_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
            _mm_storeu_si128(reinterpret_cast<__m128i *>(lut + 16 * i), _mm_packus_epi16(first, second));
        }
    }
};

constexpr KernelTable table = make_table<Avx2Isa, Avx2Bits, Avx2Codes>(SimdTarget::avx2, "avx2");

}  // namespace

const KernelTable &avx2_table()
{
    return table;
}

}  // namespace quiver::core::detail

#endif  // __x86_64__
