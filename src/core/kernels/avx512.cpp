// AVX-512 kernels (16 floats per batch; bit strings 512 bits at a time with VPOPCNTDQ).
// Compiled with -mavx512f/bw/dq/vl/vpopcntdq -mfma -mf16c; nothing here may run unless
// dispatch.cpp saw those in CPUID and ZMM/opmask state enabled in XCR0.
#if defined(__x86_64__)

#define QUIVER_SIMD_TARGET_TU
#include "simd_kernels.hpp"
#include "fold128.h"
#include "tables.h"

#include <immintrin.h>

namespace quiver::core::detail {
namespace {

// Masks for the first `count` lanes; count is below the lane count, so the shifts are defined.
__mmask16 first_lanes16(std::size_t count)
{
    return static_cast<__mmask16>((1u << count) - 1u);
}

__mmask64 first_bytes64(std::size_t count)
{
    return static_cast<__mmask64>((std::uint64_t{1} << count) - 1u);
}

// The unmasked F16C-512 intrinsics start from an "undefined" register, which GCC 12 reports as
// maybe-uninitialized; the zero-masked forms with a full mask compile to the same instruction.
constexpr __mmask16 all_lanes16 = 0xffff;

__m512 widen16(__m256i halves)
{
    return _mm512_maskz_cvtph_ps(all_lanes16, halves);
}

__m256i narrow16(__m512 floats)
{
    return _mm512_maskz_cvtps_ph(all_lanes16, floats, _MM_FROUND_TO_NEAREST_INT);
}

// GCC 12's _mm512_reduce_add_* and even its 512->256 casts trip the same warning; these are
// the same halving trees built from zero-masked extracts.
float sum_lanes(__m512 v)
{
    __m256 low = _mm512_maskz_extractf32x8_ps(0xff, v, 0);
    __m256 high = _mm512_maskz_extractf32x8_ps(0xff, v, 1);
    __m256 eight = _mm256_add_ps(low, high);
    __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
    __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    return _mm_cvtss_f32(_mm_add_ss(two, _mm_shuffle_ps(two, two, 1)));
}

std::uint64_t sum_lanes(__m512i v)
{
    __m256i low = _mm512_maskz_extracti64x4_epi64(0xf, v, 0);
    __m256i high = _mm512_maskz_extracti64x4_epi64(0xf, v, 1);
    __m256i four = _mm256_add_epi64(low, high);
    __m128i two = _mm_add_epi64(_mm256_castsi256_si128(four), _mm256_extracti128_si256(four, 1));
    return static_cast<std::uint64_t>(_mm_cvtsi128_si64(two)) +
           static_cast<std::uint64_t>(_mm_extract_epi64(two, 1));
}

struct Avx512Isa {
    using batch = xsimd::batch<float, xsimd::avx512bw>;

    static batch load_half(const half_bits *p)
    {
        return widen16(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
    }

    // Masked loads never touch the masked-off lanes, so reading past the vector's end is safe.
    static batch load_partial(const float *p, std::size_t count)
    {
        return _mm512_maskz_loadu_ps(first_lanes16(count), p);
    }

    static batch load_half_partial(const half_bits *p, std::size_t count)
    {
        return widen16(_mm256_maskz_loadu_epi16(first_lanes16(count), p));
    }

    static float reduce_add(batch v) { return sum_lanes(static_cast<__m512>(v)); }

    static void f32_to_f16(const float *in, half_bits *out, std::size_t n)
    {
        std::size_t i = 0;
        for (; i + 16 <= n; i += 16) {
            __m256i halves = narrow16(_mm512_loadu_ps(in + i));
            _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + i), halves);
        }
        if (i < n) {
            __mmask16 m = first_lanes16(n - i);
            __m256i halves = narrow16(_mm512_maskz_loadu_ps(m, in + i));
            _mm256_mask_storeu_epi16(out + i, m, halves);
        }
    }

    static void f16_to_f32(const half_bits *in, float *out, std::size_t n)
    {
        std::size_t i = 0;
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(out + i, load_half(in + i));
        if (i < n) {
            __mmask16 m = first_lanes16(n - i);
            _mm512_mask_storeu_ps(out + i, m, load_half_partial(in + i, n - i));
        }
    }
};

// Bit strings 64 bytes at a time: XOR/AND, VPOPCNTQ per 64-bit lane, lane-wise accumulation;
// the byte tail is a zero-masked load, which adds no bits.
struct Avx512Bits {
    static __m512i load(const std::uint8_t *p) { return _mm512_loadu_si512(p); }
    static __m512i load_tail(const std::uint8_t *p, std::size_t nbytes)
    {
        return _mm512_maskz_loadu_epi8(first_bytes64(nbytes), p);
    }
    static __m512i add_popcount(__m512i acc, __m512i v)
    {
        return _mm512_add_epi64(acc, _mm512_popcnt_epi64(v));
    }
    static std::uint64_t total(__m512i acc) { return sum_lanes(acc); }

    static std::uint64_t hamming(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes)
    {
        __m512i c0 = _mm512_setzero_si512(), c1 = _mm512_setzero_si512();
        std::size_t i = 0;
        for (; i + 128 <= nbytes; i += 128) {
            c0 = add_popcount(c0, _mm512_xor_si512(load(a + i), load(b + i)));
            c1 = add_popcount(c1, _mm512_xor_si512(load(a + i + 64), load(b + i + 64)));
        }
        if (i + 64 <= nbytes) {
            c0 = add_popcount(c0, _mm512_xor_si512(load(a + i), load(b + i)));
            i += 64;
        }
        if (i < nbytes) {
            std::size_t rest = nbytes - i;
            c1 = add_popcount(c1, _mm512_xor_si512(load_tail(a + i, rest), load_tail(b + i, rest)));
        }
        return total(_mm512_add_epi64(c0, c1));
    }

    static JaccardCounts jaccard(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes)
    {
        __m512i both = _mm512_setzero_si512();
        __m512i in_a = _mm512_setzero_si512();
        __m512i in_b = _mm512_setzero_si512();
        for (std::size_t i = 0; i < nbytes; i += 64) {
            bool full = i + 64 <= nbytes;
            __m512i x = full ? load(a + i) : load_tail(a + i, nbytes - i);
            __m512i y = full ? load(b + i) : load_tail(b + i, nbytes - i);
            both = add_popcount(both, _mm512_and_si512(x, y));
            in_a = add_popcount(in_a, x);
            in_b = add_popcount(in_b, y);
        }
        return JaccardCounts{total(both), total(in_a), total(in_b)};
    }

    static void hamming_batch(const std::uint8_t *query, const std::uint8_t *const *xs,
                              std::size_t count, std::size_t nbytes, std::uint64_t *out)
    {
        std::size_t j = 0;
        for (; j + 4 <= count; j += 4) {
            const std::uint8_t *x0 = xs[j], *x1 = xs[j + 1], *x2 = xs[j + 2], *x3 = xs[j + 3];
            __m512i c0 = _mm512_setzero_si512(), c1 = _mm512_setzero_si512();
            __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
            for (std::size_t i = 0; i < nbytes; i += 64) {
                if (i + 64 <= nbytes) {
                    __m512i q = load(query + i);
                    c0 = add_popcount(c0, _mm512_xor_si512(q, load(x0 + i)));
                    c1 = add_popcount(c1, _mm512_xor_si512(q, load(x1 + i)));
                    c2 = add_popcount(c2, _mm512_xor_si512(q, load(x2 + i)));
                    c3 = add_popcount(c3, _mm512_xor_si512(q, load(x3 + i)));
                } else {
                    std::size_t rest = nbytes - i;
                    __m512i q = load_tail(query + i, rest);
                    c0 = add_popcount(c0, _mm512_xor_si512(q, load_tail(x0 + i, rest)));
                    c1 = add_popcount(c1, _mm512_xor_si512(q, load_tail(x1 + i, rest)));
                    c2 = add_popcount(c2, _mm512_xor_si512(q, load_tail(x2 + i, rest)));
                    c3 = add_popcount(c3, _mm512_xor_si512(q, load_tail(x3 + i, rest)));
                }
            }
            out[j] = total(c0);
            out[j + 1] = total(c1);
            out[j + 2] = total(c2);
            out[j + 3] = total(c3);
        }
        for (; j < count; ++j)
            out[j] = hamming(query, xs[j], nbytes);
    }
};

// 4-bit fast-scan, two sub-space pairs per step: VPSHUFB shuffles within each 128-bit lane, so
// lane i looks up sub-space 2p + i for 16 vectors per nibble. Byte entries are summed in
// 16-bit lanes (even bytes masked, odd bytes shifted down); an odd last pair takes one 256-bit
// step. The lanes are added together and interleaved back into vector order at the end.
struct Avx512Codes {
    struct Sums {  // per nibble (first: vectors 0-15, second: 16-31), even and odd bytes
        __m512i first_even, first_odd, second_even, second_odd;
    };
    struct Sums256 {
        __m256i first_even, first_odd, second_even, second_odd;
    };

    static void add_entries(Sums *s, __m512i codes, __m512i table)
    {
        const __m512i nibble = _mm512_set1_epi8(0x0f);
        const __m512i low_byte = _mm512_set1_epi16(0x00ff);
        const __m512i first = _mm512_shuffle_epi8(table, _mm512_and_si512(codes, nibble));
        const __m512i second =
            _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(codes, 4), nibble));
        s->first_even = _mm512_add_epi16(s->first_even, _mm512_and_si512(first, low_byte));
        s->first_odd = _mm512_add_epi16(s->first_odd, _mm512_srli_epi16(first, 8));
        s->second_even = _mm512_add_epi16(s->second_even, _mm512_and_si512(second, low_byte));
        s->second_odd = _mm512_add_epi16(s->second_odd, _mm512_srli_epi16(second, 8));
    }

    static void add_entries(Sums256 *s, __m256i codes, __m256i table)
    {
        const __m256i nibble = _mm256_set1_epi8(0x0f);
        const __m256i low_byte = _mm256_set1_epi16(0x00ff);
        const __m256i first = _mm256_shuffle_epi8(table, _mm256_and_si256(codes, nibble));
        const __m256i second =
            _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(codes, 4), nibble));
        s->first_even = _mm256_add_epi16(s->first_even, _mm256_and_si256(first, low_byte));
        s->first_odd = _mm256_add_epi16(s->first_odd, _mm256_srli_epi16(first, 8));
        s->second_even = _mm256_add_epi16(s->second_even, _mm256_and_si256(second, low_byte));
        s->second_odd = _mm256_add_epi16(s->second_odd, _mm256_srli_epi16(second, 8));
    }

    // All four 128-bit lanes of v and both of w added together (zero-masked extracts, as above).
    static __m128i fold(__m512i v, __m256i w)
    {
        __m256i halves = _mm256_add_epi16(_mm512_maskz_extracti64x4_epi64(0xf, v, 0),
                                          _mm512_maskz_extracti64x4_epi64(0xf, v, 1));
        halves = _mm256_add_epi16(halves, w);
        return _mm_add_epi16(_mm256_castsi256_si128(halves), _mm256_extracti128_si256(halves, 1));
    }

    static void store_sums(std::uint16_t *out, __m128i even, __m128i odd)
    {
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out), _mm_unpacklo_epi16(even, odd));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out + 8), _mm_unpackhi_epi16(even, odd));
    }

    static void pq4_fastscan_u16(const std::uint8_t *blocks, std::size_t nblocks,
                                 std::size_t pairs, const std::uint8_t *lut, std::uint16_t *out)
    {
        for (std::size_t b = 0; b < nblocks; ++b) {
            const std::uint8_t *codes = blocks + b * pairs * 32;
            Sums s{_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                   _mm512_setzero_si512()};
            Sums256 tail{_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                         _mm256_setzero_si256()};
            std::size_t p = 0;
            for (; p + 2 <= pairs; p += 2)
                add_entries(&s, _mm512_loadu_si512(codes + 32 * p),
                            _mm512_loadu_si512(lut + 32 * p));
            if (p < pairs)
                add_entries(&tail,
                            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(codes + 32 * p)),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(lut + 32 * p)));
            store_sums(out + 32 * b, fold(s.first_even, tail.first_even),
                       fold(s.first_odd, tail.first_odd));
            store_sums(out + 32 * b + 16, fold(s.second_even, tail.second_even),
                       fold(s.second_odd, tail.second_odd));
        }
    }

    // One table per register, folded with zero-masked extracts (see sum_lanes).
    static void fastscan_ranges(const float *tables, std::size_t m, float *lo, float *hi)
    {
        for (std::size_t i = 0; i < m; ++i) {
            const __m512 t = _mm512_loadu_ps(tables + 16 * i);
            const __m256 low = _mm512_maskz_extractf32x8_ps(0xff, t, 0);
            const __m256 high = _mm512_maskz_extractf32x8_ps(0xff, t, 1);
            const __m256 mn8 = _mm256_min_ps(low, high), mx8 = _mm256_max_ps(low, high);
            const __m128 mn = _mm_min_ps(_mm256_castps256_ps128(mn8), _mm256_extractf128_ps(mn8, 1));
            const __m128 mx = _mm_max_ps(_mm256_castps256_ps128(mx8), _mm256_extractf128_ps(mx8, 1));
            fold_min_max(mn, mx, &lo[i], &hi[i]);
        }
    }

    // VCVTPS2DQ rounds half to even (the default MXCSR mode, as nearbyint); the unsigned
    // saturating narrow clamps to 0..255.
    static void fastscan_quantize(const float *tables, const float *lo, std::size_t m,
                                  float scale, std::uint8_t *lut)
    {
        const __m512 s = _mm512_set1_ps(scale);
        for (std::size_t i = 0; i < m; ++i) {
            const __m512 q = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(tables + 16 * i),
                                                         _mm512_set1_ps(lo[i])), s);
            _mm_storeu_si128(reinterpret_cast<__m128i *>(lut + 16 * i),
                             _mm512_maskz_cvtusepi32_epi8(all_lanes16,
                                                          _mm512_maskz_cvtps_epi32(all_lanes16, q)));
        }
    }
};

constexpr KernelTable table =
    make_table<Avx512Isa, Avx512Bits, Avx512Codes>(SimdTarget::avx512, "avx512");

}  // namespace

const KernelTable &avx512_table()
{
    return table;
}

}  // namespace quiver::core::detail

#endif  // __x86_64__
