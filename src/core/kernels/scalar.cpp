// Scalar reference kernels: plain loops in element order, float32 accumulation, compiled for
// the base ISA. Every SIMD target is tested against these; they also run on non-x86 machines.
#include "quiver/core/half.h"
#include "quiver/core/kernels.h"
#include "tables.h"

#include <cmath>
#include <cstring>

namespace quiver::core::detail {
namespace {

float l2sq_f32(const float *a, const float *b, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        float d = a[i] - b[i];
        sum += d * d;
    }
    return sum;
}

float dot_f32(const float *a, const float *b, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i)
        sum += a[i] * b[i];
    return sum;
}

CosineParts cosine_f32(const float *a, const float *b, std::size_t n)
{
    CosineParts p{0.0f, 0.0f, 0.0f};
    for (std::size_t i = 0; i < n; ++i) {
        p.dot += a[i] * b[i];
        p.norm_a += a[i] * a[i];
        p.norm_b += b[i] * b[i];
    }
    return p;
}

float l1_f32(const float *a, const float *b, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i)
        sum += std::fabs(a[i] - b[i]);
    return sum;
}

float norm_sq_f32(const float *a, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i)
        sum += a[i] * a[i];
    return sum;
}

// The value of a half for the kernels: bit-identical to half_to_float(), but inlinable and
// without its normalisation loop. Shifted into float position first so every operation stays
// 32-bit: GCC turns 16-bit masks into instructions with 16-bit immediates, which stall x86
// decoders (length-changing prefixes) and made this loop slower than the out-of-line call.
inline float widen(half_bits h)
{
    const std::uint32_t shifted = static_cast<std::uint32_t>(h) << 13;
    const std::uint32_t magnitude = shifted & 0x0fffe000u;  // exponent and mantissa
    const std::uint32_t sign = (shifted & 0x10000000u) << 3;
    if (magnitude >= 0x0f800000u)
        return half_to_float(h);  // inf or NaN
    std::uint32_t bits;
    if (magnitude < 0x00800000u) {
        // zero or subnormal: mantissa * 2^-24, exact in float
        float value = static_cast<float>(magnitude >> 13) * 0x1p-24f;
        std::memcpy(&bits, &value, sizeof bits);
    } else {
        bits = magnitude + (112u << 23);  // rebias the exponent 15 -> 127
    }
    bits |= sign;  // OR-ed, not branched on: signs are random and would mispredict
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

float l2sq_f16(const half_bits *a, const half_bits *b, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        float d = widen(a[i]) - widen(b[i]);
        sum += d * d;
    }
    return sum;
}

float dot_f16(const half_bits *a, const half_bits *b, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i)
        sum += widen(a[i]) * widen(b[i]);
    return sum;
}

CosineParts cosine_f16(const half_bits *a, const half_bits *b, std::size_t n)
{
    CosineParts p{0.0f, 0.0f, 0.0f};
    for (std::size_t i = 0; i < n; ++i) {
        float x = widen(a[i]);
        float y = widen(b[i]);
        p.dot += x * y;
        p.norm_a += x * x;
        p.norm_b += y * y;
    }
    return p;
}

float l1_f16(const half_bits *a, const half_bits *b, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i)
        sum += std::fabs(widen(a[i]) - widen(b[i]));
    return sum;
}

float norm_sq_f16(const half_bits *a, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        float x = widen(a[i]);
        sum += x * x;
    }
    return sum;
}

// Portable popcount of a 64-bit word (no POPCNT instruction on the base ISA): pairs, nibbles,
// bytes, then one multiply adds the eight byte counts into the top byte.
std::uint64_t popcount64(std::uint64_t w)
{
    w = w - ((w >> 1) & 0x5555555555555555ull);
    w = (w & 0x3333333333333333ull) + ((w >> 2) & 0x3333333333333333ull);
    w = (w + (w >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (w * 0x0101010101010101ull) >> 56;
}

// Bytes i..i+7 as one word (any byte order works for counting); the tail is zero-padded.
std::uint64_t load_word(const std::uint8_t *p, std::size_t nbytes)
{
    std::uint64_t w = 0;
    std::memcpy(&w, p, nbytes < 8 ? nbytes : 8);
    return w;
}

std::uint64_t hamming_bits(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes)
{
    std::uint64_t count = 0;
    for (std::size_t i = 0; i < nbytes; i += 8)
        count += popcount64(load_word(a + i, nbytes - i) ^ load_word(b + i, nbytes - i));
    return count;
}

JaccardCounts jaccard_bits(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes)
{
    JaccardCounts c{0, 0, 0};
    for (std::size_t i = 0; i < nbytes; i += 8) {
        std::uint64_t x = load_word(a + i, nbytes - i);
        std::uint64_t y = load_word(b + i, nbytes - i);
        c.both += popcount64(x & y);
        c.a_count += popcount64(x);
        c.b_count += popcount64(y);
    }
    return c;
}

template <typename T, float (*Kernel)(const T *, const T *, std::size_t)>
void batch(const T *query, const T *const *xs, std::size_t count, std::size_t n, float *out)
{
    for (std::size_t i = 0; i < count; ++i)
        out[i] = Kernel(query, xs[i], n);
}

void hamming_bits_batch(const std::uint8_t *query, const std::uint8_t *const *xs,
                        std::size_t count, std::size_t nbytes, std::uint64_t *out)
{
    for (std::size_t i = 0; i < count; ++i)
        out[i] = hamming_bits(query, xs[i], nbytes);
}

void f32_to_f16(const float *in, half_bits *out, std::size_t n)
{
    for (std::size_t i = 0; i < n; ++i)
        out[i] = float_to_half(in[i]);
}

void f16_to_f32(const half_bits *in, float *out, std::size_t n)
{
    for (std::size_t i = 0; i < n; ++i)
        out[i] = half_to_float(in[i]);
}

// Reference 4-bit fast-scan: byte j of a sub-space's 16 bytes holds vector j's code in its low
// nibble and vector j + 16's in its high nibble (see quant/fastscan.h). The sums wrap modulo
// 2^16 on purpose, exactly like the 16-bit SIMD lanes, so every target matches bit for bit.
void pq4_fastscan_u16(const std::uint8_t *blocks, std::size_t nblocks, std::size_t pairs,
                      const std::uint8_t *lut, std::uint16_t *out)
{
    for (std::size_t b = 0; b < nblocks; ++b) {
        const std::uint8_t *codes = blocks + b * pairs * 32;
        std::uint16_t sums[32] = {};
        for (std::size_t p = 0; p < pairs; ++p) {
            const std::uint8_t *even = codes + p * 32, *odd = even + 16;
            const std::uint8_t *even_lut = lut + p * 32, *odd_lut = even_lut + 16;
            for (std::size_t j = 0; j < 16; ++j) {
                sums[j] = static_cast<std::uint16_t>(sums[j] + even_lut[even[j] & 15] +
                                                     odd_lut[odd[j] & 15]);
                sums[j + 16] = static_cast<std::uint16_t>(sums[j + 16] + even_lut[even[j] >> 4] +
                                                          odd_lut[odd[j] >> 4]);
            }
        }
        std::memcpy(out + b * 32, sums, sizeof sums);
    }
}

// Reference fast-scan table ranges and quantization (kernels.h).
void fastscan_ranges(const float *tables, std::size_t m, float *lo, float *hi)
{
    for (std::size_t i = 0; i < m; ++i) {
        const float *t = tables + 16 * i;
        float a = t[0], b = t[0];
        for (int c = 1; c < 16; ++c) {
            a = t[c] < a ? t[c] : a;
            b = t[c] > b ? t[c] : b;
        }
        lo[i] = a;
        hi[i] = b;
    }
}

void fastscan_quantize(const float *tables, const float *lo, std::size_t m, float scale,
                       std::uint8_t *lut)
{
    for (std::size_t i = 0; i < m; ++i)
        for (int c = 0; c < 16; ++c) {
            const float q = std::nearbyint((tables[16 * i + c] - lo[i]) * scale);
            lut[16 * i + c] = q >= 255.0f ? 255 : static_cast<std::uint8_t>(q);
        }
}

// Reference PQ tables: for each c, sum over j in order, one rounding per operation.
void pq_table_l2(const float *x, const float *t, std::size_t dsub, std::size_t ksub, float *out)
{
    for (std::size_t c = 0; c < ksub; ++c)
        out[c] = 0.0f;
    for (std::size_t j = 0; j < dsub; ++j, t += ksub)
        for (std::size_t c = 0; c < ksub; ++c) {
            const float d = x[j] - t[c];
            out[c] += d * d;
        }
}

void pq_table_neg_dot(const float *x, const float *t, std::size_t dsub, std::size_t ksub,
                      float *out)
{
    for (std::size_t c = 0; c < ksub; ++c)
        out[c] = 0.0f;
    for (std::size_t j = 0; j < dsub; ++j, t += ksub)
        for (std::size_t c = 0; c < ksub; ++c)
            out[c] -= x[j] * t[c];
}

const KernelTable table = {
    SimdTarget::scalar,
    "scalar",
    l2sq_f32,
    dot_f32,
    cosine_f32,
    l1_f32,
    norm_sq_f32,
    l2sq_f16,
    dot_f16,
    cosine_f16,
    l1_f16,
    norm_sq_f16,
    hamming_bits,
    jaccard_bits,
    batch<float, l2sq_f32>,
    batch<float, dot_f32>,
    batch<half_bits, l2sq_f16>,
    batch<half_bits, dot_f16>,
    hamming_bits_batch,
    f32_to_f16,
    f16_to_f32,
    pq4_fastscan_u16,
    fastscan_ranges,
    fastscan_quantize,
    pq_table_l2,
    pq_table_neg_dot,
};

}  // namespace

const KernelTable &scalar_table() { return table; }

}  // namespace quiver::core::detail
