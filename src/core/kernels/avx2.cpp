// AVX2 + FMA + F16C + POPCNT kernels (8 floats per batch). Compiled with exactly those flags;
// nothing here may run unless dispatch.cpp saw them in CPUID and YMM state enabled in XCR0.
// float16 is widened and narrowed by F16C, whose round-to-nearest-even matches float_to_half().
#if defined(__x86_64__)

#define QUIVER_SIMD_TARGET_TU
#include "simd_kernels.hpp"
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

constexpr KernelTable table = make_table<Avx2Isa, Popcnt64Bits>(SimdTarget::avx2, "avx2");

}  // namespace

const KernelTable &avx2_table() { return table; }

}  // namespace quiver::core::detail

#endif  // __x86_64__
