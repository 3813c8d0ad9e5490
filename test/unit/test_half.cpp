// binary16 <-> binary32 conversion: the scalar reference against hand-picked corner cases, an
// independent computation in double precision and (when the CPU has it) F16C; then every
// target's bulk conversion bit for bit against the scalar reference.
#include "test_util.h"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace quiver_test;
using quiver::core::float_to_half;
using quiver::core::half_to_float;

namespace {

std::uint32_t bits_of(float f)
{
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

float float_from_bits(std::uint32_t u)
{
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

bool is_half_nan(std::uint16_t h)
{
    return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
}

// Value of a finite half computed from the definition, not by bit shuffling.
double half_value(std::uint16_t h)
{
    int exponent = (h >> 10) & 0x1f;
    int mantissa = h & 0x3ff;
    double magnitude =
        exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(1024 + mantissa, exponent - 25);
    return (h & 0x8000u) ? -magnitude : magnitude;
}

// Nearest half to a finite float by binary search over the ordered positive halves in double
// precision; ties go to the even bit pattern; beyond max + half an ulp (65520) it is inf.
std::uint16_t reference_float_to_half(float f)
{
    std::uint16_t sign = std::signbit(f) ? 0x8000u : 0u;
    double x = std::fabs(static_cast<double>(f));
    if (x >= 65520.0)
        return sign | 0x7c00u;
    std::uint16_t lo = 0, hi = 0x7bff;  // half_value(lo) <= x < half_value(hi + 1)
    while (lo < hi) {
        std::uint16_t mid = static_cast<std::uint16_t>((lo + hi + 1) / 2);
        if (half_value(mid) <= x)
            lo = mid;
        else
            hi = static_cast<std::uint16_t>(mid - 1);
    }
    if (lo == 0x7bff)
        return sign | lo;  // between 65504 and 65520: rounds down
    double below = x - half_value(lo), above = half_value(lo + 1) - x;
    std::uint16_t nearest = lo;
    if (above < below || (above == below && (lo & 1u)))
        nearest = static_cast<std::uint16_t>(lo + 1);
    return sign | nearest;
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) std::uint16_t f16c_float_to_half(float f)
{
    return static_cast<std::uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float f16c_half_to_float(std::uint16_t h)
{
    return _cvtsh_ss(h);
}
// libgcc checks the OS-enabled YMM state for AVX-family features, as F16C needs.
bool have_f16c()
{
    return __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
}
#endif

// Floats that stress rounding: every half value, the midpoints between neighbours and one
// float ulp either side of each midpoint, plus specials.
std::vector<float> rounding_probes()
{
    std::vector<float> probes;
    for (std::uint32_t h = 0; h < 0x7c00u; ++h) {
        double v = half_value(static_cast<std::uint16_t>(h));
        double next = h + 1 < 0x7c00u ? half_value(static_cast<std::uint16_t>(h + 1)) : 65536.0;
        float mid = static_cast<float>((v + next) / 2);  // exact: halves have 11 bits
        for (float f :
             {static_cast<float>(v), mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e30f)}) {
            probes.push_back(f);
            probes.push_back(-f);
        }
    }
    const float specials[] = {0.0f,
                              -0.0f,
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::quiet_NaN(),
                              float_from_bits(0x7f800001u),  // signalling NaN
                              float_from_bits(0xffa00000u),
                              std::numeric_limits<float>::denorm_min(),
                              std::numeric_limits<float>::min(),
                              std::numeric_limits<float>::max(),
                              1e-10f,
                              65536.0f,
                              1e10f};
    for (float f : specials)
        probes.push_back(f);
    return probes;
}

std::vector<float> random_bit_patterns(std::size_t n, std::uint32_t seed)
{
    std::mt19937 rng(seed);
    std::vector<float> v(n);
    for (float &f : v)
        f = float_from_bits(static_cast<std::uint32_t>(rng()));
    return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(half_conversion)

BOOST_AUTO_TEST_CASE(corner_cases)
{
    BOOST_TEST(float_to_half(0.0f) == 0x0000u);
    BOOST_TEST(float_to_half(-0.0f) == 0x8000u);
    BOOST_TEST(bits_of(half_to_float(0x8000u)) == 0x80000000u);
    BOOST_TEST(float_to_half(1.0f) == 0x3c00u);
    BOOST_TEST(float_to_half(-2.0f) == 0xc000u);

    // Subnormals: smallest 2^-24, largest 1023 * 2^-24, and the rounding around them.
    BOOST_TEST(half_to_float(0x0001u) == std::ldexp(1.0f, -24));
    BOOST_TEST(float_to_half(std::ldexp(1.0f, -24)) == 0x0001u);
    BOOST_TEST(half_to_float(0x03ffu) == std::ldexp(1023.0f, -24));
    BOOST_TEST(float_to_half(std::ldexp(1023.0f, -24)) == 0x03ffu);
    BOOST_TEST(float_to_half(std::ldexp(1.0f, -25)) == 0x0000u);  // tie to even (zero)
    BOOST_TEST(float_to_half(std::ldexp(1.5f, -25)) == 0x0001u);
    BOOST_TEST(float_to_half(std::ldexp(3.0f, -25)) == 0x0002u);     // 1.5 * 2^-24: tie to even
    BOOST_TEST(float_to_half(std::ldexp(1023.5f, -24)) == 0x0400u);  // rounds into normals
    BOOST_TEST(half_to_float(0x0400u) == std::ldexp(1.0f, -14));

    // Top of the range.
    BOOST_TEST(half_to_float(0x7bffu) == 65504.0f);
    BOOST_TEST(float_to_half(65504.0f) == 0x7bffu);
    BOOST_TEST(float_to_half(65519.99f) == 0x7bffu);
    BOOST_TEST(float_to_half(65520.0f) == 0x7c00u);
    BOOST_TEST(float_to_half(-65520.0f) == 0xfc00u);
    BOOST_TEST(float_to_half(1e30f) == 0x7c00u);
    BOOST_TEST(float_to_half(std::numeric_limits<float>::infinity()) == 0x7c00u);
    BOOST_TEST(std::isinf(half_to_float(0xfc00u)));

    // Ties to even: 2049 lies between 2048 and 2050 (ulp 2 there).
    BOOST_TEST(float_to_half(2049.0f) == float_to_half(2048.0f));
    BOOST_TEST(half_to_float(float_to_half(2049.0f)) == 2048.0f);
    BOOST_TEST(half_to_float(float_to_half(2051.0f)) == 2052.0f);
    BOOST_TEST(half_to_float(float_to_half(2050.0f)) == 2050.0f);
    BOOST_TEST(half_to_float(float_to_half(1.0f + std::ldexp(1.0f, -11))) == 1.0f);

    // NaN stays NaN (quiet), with its sign.
    BOOST_TEST(is_half_nan(float_to_half(std::numeric_limits<float>::quiet_NaN())));
    BOOST_TEST(is_half_nan(float_to_half(float_from_bits(0x7f800001u))));
    BOOST_TEST(float_to_half(float_from_bits(0xffc00000u)) == 0xfe00u);
    BOOST_TEST(std::isnan(half_to_float(0x7c01u)));
    BOOST_TEST(bits_of(half_to_float(0x7c01u)) == 0x7fc02000u);  // signalling comes back quiet
    BOOST_TEST(bits_of(half_to_float(0xfe00u)) == 0xffc00000u);
}

BOOST_AUTO_TEST_CASE(all_half_patterns_round_trip)
{
    for (std::uint32_t h = 0; h <= 0xffffu; ++h) {
        std::uint16_t half = static_cast<std::uint16_t>(h);
        float f = half_to_float(half);
        std::uint16_t back = float_to_half(f);
        if (is_half_nan(half)) {
            BOOST_TEST(std::isnan(f));
            BOOST_TEST(is_half_nan(back));
            BOOST_TEST((back & 0x8000u) == (half & 0x8000u));
        } else if ((half & 0x7fffu) == 0x7c00u) {
            BOOST_TEST(back == half);
        } else {
            BOOST_TEST(back == half);
            BOOST_TEST(static_cast<double>(f) == half_value(half));
        }
    }
}

BOOST_AUTO_TEST_CASE(float_to_half_matches_independent_reference)
{
    std::vector<float> inputs = rounding_probes();
    std::vector<float> random = random_bit_patterns(200000, 2024);
    std::vector<float> in_range = random_floats(200000, 2025, -70000.0f, 70000.0f);
    inputs.insert(inputs.end(), random.begin(), random.end());
    inputs.insert(inputs.end(), in_range.begin(), in_range.end());
    std::size_t mismatches = 0;
    for (float f : inputs) {
        std::uint16_t got = float_to_half(f);
        if (std::isnan(f)) {
            mismatches += !is_half_nan(got);
            continue;
        }
        if (got != reference_float_to_half(f) && ++mismatches <= 10)
            BOOST_TEST_MESSAGE("mismatch for float bits " << std::hex << bits_of(f));
    }
    BOOST_TEST(mismatches == 0u);
}

#if defined(__x86_64__)
BOOST_AUTO_TEST_CASE(scalar_matches_f16c_hardware)
{
    if (!have_f16c()) {
        BOOST_TEST_MESSAGE("CPU without F16C: hardware comparison skipped");
        return;
    }
    std::vector<float> inputs = rounding_probes();
    std::vector<float> random = random_bit_patterns(200000, 7);
    inputs.insert(inputs.end(), random.begin(), random.end());
    std::size_t mismatches = 0;
    for (float f : inputs)
        mismatches += float_to_half(f) != f16c_float_to_half(f);  // NaN payloads included
    BOOST_TEST(mismatches == 0u);

    mismatches = 0;
    for (std::uint32_t h = 0; h <= 0xffffu; ++h) {
        std::uint16_t half = static_cast<std::uint16_t>(h);
        mismatches += bits_of(half_to_float(half)) != bits_of(f16c_half_to_float(half));
    }
    BOOST_TEST(mismatches == 0u);
}
#endif

BOOST_AUTO_TEST_CASE(bulk_conversions_match_scalar_bit_for_bit)
{
    std::vector<float> floats = rounding_probes();
    std::vector<float> random = random_bit_patterns(100003, 99);
    floats.insert(floats.end(), random.begin(), random.end());
    std::vector<std::uint16_t> all_halves(0x10000);
    for (std::uint32_t h = 0; h <= 0xffffu; ++h)
        all_halves[h] = static_cast<std::uint16_t>(h);

    for (const KernelTable *t : runnable_tables()) {
        BOOST_TEST_CONTEXT("target " << t->name)
        {
            // Start one element in and cut lengths to odd sizes so every tail path runs.
            for (std::size_t n :
                 {std::size_t{1}, std::size_t{7}, std::size_t{17}, floats.size() - 1}) {
                std::vector<std::uint16_t> out(n + 2, 0xabcd);
                t->f32_to_f16(floats.data() + 1, out.data() + 1, n);
                std::size_t mismatches = 0;
                for (std::size_t i = 0; i < n; ++i)
                    mismatches += out[i + 1] != float_to_half(floats[i + 1]);
                BOOST_TEST(mismatches == 0u);
                BOOST_TEST(out[0] == 0xabcdu);
                BOOST_TEST(out[n + 1] == 0xabcdu);
            }
            for (std::size_t n :
                 {std::size_t{1}, std::size_t{5}, std::size_t{15}, all_halves.size() - 1}) {
                std::vector<float> out(n + 2, 42.0f);
                t->f16_to_f32(all_halves.data() + 1, out.data() + 1, n);
                std::size_t mismatches = 0;
                for (std::size_t i = 0; i < n; ++i)
                    mismatches += bits_of(out[i + 1]) != bits_of(half_to_float(all_halves[i + 1]));
                BOOST_TEST(mismatches == 0u);
                BOOST_TEST(out[0] == 42.0f);
                BOOST_TEST(out[n + 1] == 42.0f);
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
