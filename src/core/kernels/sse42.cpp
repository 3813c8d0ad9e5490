// SSE4.2 + POPCNT kernels (4 floats per batch). Compiled with -msse4.2 -mpopcnt only; nothing
// here may be called unless dispatch.cpp has seen SSE4.2 and POPCNT in CPUID.
// SSE has no half-precision instructions, so float16 is converted with integer bit tricks.
#if defined(__x86_64__)

#define QUIVER_SIMD_TARGET_TU
#include "simd_kernels.hpp"
#include "fold128.h"
#include "tables.h"

#include <nmmintrin.h>

namespace quiver::core::detail {
namespace {

__m128i splat(std::uint32_t v)
{
    return _mm_set1_epi32(static_cast<int>(v));
}

// Four binary16 values (one per 32-bit lane) to binary32, bit-identical to half_to_float().
// Normal values only need the exponent rebiased (+112); zero and subnormals are rebuilt as
// 2^-14 * (1 + m/1024) - 2^-14, an exact subtraction of two normal floats, so the result does
// not depend on the denormals-are-zero mode.
__m128 widen_half4(__m128i h)
{
    const __m128i em = _mm_and_si128(h, splat(0x7fffu));
    const __m128i sign = _mm_slli_epi32(_mm_and_si128(h, splat(0x8000u)), 16);
    __m128i bits = _mm_add_epi32(_mm_slli_epi32(em, 13), splat(112u << 23));

    const __m128i inf_or_nan = _mm_cmpgt_epi32(em, splat(0x7bffu));
    bits = _mm_add_epi32(bits, _mm_and_si128(inf_or_nan, splat(112u << 23)));
    const __m128i nan = _mm_cmpgt_epi32(em, splat(0x7c00u));
    bits = _mm_or_si128(bits, _mm_and_si128(nan, splat(0x00400000u)));  // quiet, like F16C

    const __m128i tiny = _mm_cmplt_epi32(em, splat(0x0400u));
    const __m128 rebuilt = _mm_sub_ps(_mm_castsi128_ps(_mm_add_epi32(bits, splat(1u << 23))),
                                      _mm_castsi128_ps(splat(113u << 23)));
    bits = _mm_blendv_epi8(bits, _mm_castps_si128(rebuilt), tiny);
    return _mm_castsi128_ps(_mm_or_si128(bits, sign));
}

// Four binary32 values to binary16 (one per 32-bit lane), bit-identical to float_to_half():
// round-to-nearest-even by integer rounding for normal results; for subnormal results the
// float adder does the rounding (x + 0.5 has exactly the half-subnormal spacing 2^-24 as ulp),
// which assumes the default MXCSR rounding mode that PostgreSQL and C++ never change.
__m128i narrow_float4(__m128 f)
{
    const __m128i u = _mm_castps_si128(f);
    const __m128i sign = _mm_srli_epi32(_mm_and_si128(u, splat(0x80000000u)), 16);
    const __m128i a = _mm_and_si128(u, splat(0x7fffffffu));

    const __m128i odd = _mm_and_si128(_mm_srli_epi32(a, 13), splat(1u));
    const __m128i rebias_and_round = splat(0xc8000fffu);  // -(112 << 23) + 0xfff
    const __m128i normal =
        _mm_srli_epi32(_mm_add_epi32(_mm_add_epi32(a, rebias_and_round), odd), 13);

    const __m128i half_as_bits = splat(126u << 23);  // 0.5f
    const __m128 shifted = _mm_add_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(half_as_bits));
    const __m128i subnormal = _mm_sub_epi32(_mm_castps_si128(shifted), half_as_bits);

    const __m128i nan_bits =
        _mm_or_si128(splat(0x7e00u), _mm_srli_epi32(_mm_and_si128(a, splat(0x7fffffu)), 13));

    __m128i r = _mm_blendv_epi8(normal, subnormal, _mm_cmplt_epi32(a, splat(0x38800000u)));
    r = _mm_blendv_epi8(r, splat(0x7c00u), _mm_cmpgt_epi32(a, splat(0x477fffffu)));
    r = _mm_blendv_epi8(r, nan_bits, _mm_cmpgt_epi32(a, splat(0x7f800000u)));
    return _mm_or_si128(r, sign);
}

struct Sse42Isa {
    using batch = xsimd::batch<float, xsimd::sse4_2>;

    static batch load_half(const half_bits *p)
    {
        __m128i four = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p));
        return widen_half4(_mm_cvtepu16_epi32(four));
    }

    static batch load_partial(const float *p, std::size_t count)
    {
        alignas(16) float lanes[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        std::memcpy(lanes, p, count * sizeof(float));
        return _mm_load_ps(lanes);
    }

    static batch load_half_partial(const half_bits *p, std::size_t count)
    {
        alignas(16) half_bits lanes[4] = {0, 0, 0, 0};
        std::memcpy(lanes, p, count * sizeof(half_bits));
        return load_half(lanes);
    }

    static float reduce_add(batch v)
    {
        __m128 x = v;
        __m128 pairs = _mm_add_ps(x, _mm_movehl_ps(x, x));
        return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
    }

    static void f32_to_f16(const float *in, half_bits *out, std::size_t n)
    {
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m128i lo = narrow_float4(_mm_loadu_ps(in + i));
            __m128i hi = narrow_float4(_mm_loadu_ps(in + i + 4));
            _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i), _mm_packus_epi32(lo, hi));
        }
        for (; i < n; ++i)
            out[i] = float_to_half(in[i]);
    }

    static void f16_to_f32(const half_bits *in, float *out, std::size_t n)
    {
        std::size_t i = 0;
        for (; i + 4 <= n; i += 4)
            _mm_storeu_ps(out + i, load_half(in + i));
        for (; i < n; ++i)
            out[i] = half_to_float(in[i]);
    }
};

// 4-bit fast-scan with PSHUFB: one 16-byte shuffle looks up one sub-space's entries for 16
// vectors at once (low nibbles: vectors 0-15, high nibbles: 16-31). Byte entries are summed in
// 16-bit lanes, even-indexed bytes masked and odd-indexed bytes shifted down, then interleaved
// back into vector order at the end.
struct Sse42Codes {
    static __m128i load(const std::uint8_t *p)
    {
        return _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    }

    static void store_sums(std::uint16_t *out, __m128i even, __m128i odd)
    {
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out), _mm_unpacklo_epi16(even, odd));
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out + 8), _mm_unpackhi_epi16(even, odd));
    }

    static void pq4_fastscan_u16(const std::uint8_t *blocks, std::size_t nblocks,
                                 std::size_t pairs, const std::uint8_t *lut, std::uint16_t *out)
    {
        const __m128i nibble = _mm_set1_epi8(0x0f);
        const __m128i low_byte = _mm_set1_epi16(0x00ff);
        const std::size_t subspaces = 2 * pairs;  // 16 code bytes and 16 table bytes each
        for (std::size_t b = 0; b < nblocks; ++b) {
            const std::uint8_t *codes = blocks + b * pairs * 32;
            __m128i first_even = _mm_setzero_si128(), first_odd = _mm_setzero_si128();
            __m128i second_even = _mm_setzero_si128(), second_odd = _mm_setzero_si128();
            for (std::size_t s = 0; s < subspaces; ++s) {
                const __m128i c = load(codes + 16 * s);
                const __m128i table = load(lut + 16 * s);
                const __m128i first = _mm_shuffle_epi8(table, _mm_and_si128(c, nibble));
                const __m128i second =
                    _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(c, 4), nibble));
                first_even = _mm_add_epi16(first_even, _mm_and_si128(first, low_byte));
                first_odd = _mm_add_epi16(first_odd, _mm_srli_epi16(first, 8));
                second_even = _mm_add_epi16(second_even, _mm_and_si128(second, low_byte));
                second_odd = _mm_add_epi16(second_odd, _mm_srli_epi16(second, 8));
            }
            store_sums(out + 32 * b, first_even, first_odd);
            store_sums(out + 32 * b + 16, second_even, second_odd);
        }
    }

    // A table's 16 floats in four registers; min / max folded across lanes.
    static void fastscan_ranges(const float *tables, std::size_t m, float *lo, float *hi)
    {
        for (std::size_t i = 0; i < m; ++i) {
            const float *t = tables + 16 * i;
            const __m128 a = _mm_loadu_ps(t), b = _mm_loadu_ps(t + 4), c = _mm_loadu_ps(t + 8),
                         d = _mm_loadu_ps(t + 12);
            const __m128 mn = _mm_min_ps(_mm_min_ps(a, b), _mm_min_ps(c, d));
            const __m128 mx = _mm_max_ps(_mm_max_ps(a, b), _mm_max_ps(c, d));
            fold_min_max(mn, mx, &lo[i], &hi[i]);
        }
    }

    // CVTPS2DQ rounds half to even (the default MXCSR mode, as nearbyint); the unsigned
    // saturating packs clamp to 0..255 and keep entry order.
    static void fastscan_quantize(const float *tables, const float *lo, std::size_t m,
                                  float scale, std::uint8_t *lut)
    {
        const __m128 s = _mm_set1_ps(scale);
        for (std::size_t i = 0; i < m; ++i) {
            const float *t = tables + 16 * i;
            const __m128 l = _mm_set1_ps(lo[i]);
            __m128i q[4];
            for (int j = 0; j < 4; ++j)
                q[j] = _mm_cvtps_epi32(_mm_mul_ps(_mm_sub_ps(_mm_loadu_ps(t + 4 * j), l), s));
            const __m128i words =
                _mm_packus_epi16(_mm_packus_epi32(q[0], q[1]), _mm_packus_epi32(q[2], q[3]));
            _mm_storeu_si128(reinterpret_cast<__m128i *>(lut + 16 * i), words);
        }
    }
};

constexpr KernelTable table =
    make_table<Sse42Isa, Popcnt64Bits, Sse42Codes>(SimdTarget::sse42, "sse4.2");

}  // namespace

const KernelTable &sse42_table()
{
    return table;
}

}  // namespace quiver::core::detail

#endif  // __x86_64__
