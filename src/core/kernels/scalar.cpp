// Scalar reference kernels: plain loops in element order, float32 accumulation, compiled for
// the base ISA. Every SIMD target is tested against these; they also run on non-x86 machines.
#include "quiver/core/half.h"
#include "quiver/core/kernels.h"
#include "tables.h"

#include <cmath>

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

float l2sq_f16(const half_bits *a, const half_bits *b, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        float d = half_to_float(a[i]) - half_to_float(b[i]);
        sum += d * d;
    }
    return sum;
}

float dot_f16(const half_bits *a, const half_bits *b, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i)
        sum += half_to_float(a[i]) * half_to_float(b[i]);
    return sum;
}

CosineParts cosine_f16(const half_bits *a, const half_bits *b, std::size_t n)
{
    CosineParts p{0.0f, 0.0f, 0.0f};
    for (std::size_t i = 0; i < n; ++i) {
        float x = half_to_float(a[i]);
        float y = half_to_float(b[i]);
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
        sum += std::fabs(half_to_float(a[i]) - half_to_float(b[i]));
    return sum;
}

float norm_sq_f16(const half_bits *a, std::size_t n)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        float x = half_to_float(a[i]);
        sum += x * x;
    }
    return sum;
}

std::uint64_t hamming_bits(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes)
{
    std::uint64_t count = 0;
    for (std::size_t i = 0; i < nbytes; ++i)
        count += static_cast<std::uint64_t>(__builtin_popcount(a[i] ^ b[i]));
    return count;
}

JaccardCounts jaccard_bits(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes)
{
    JaccardCounts c{0, 0, 0};
    for (std::size_t i = 0; i < nbytes; ++i) {
        c.both += static_cast<std::uint64_t>(__builtin_popcount(a[i] & b[i]));
        c.a_count += static_cast<std::uint64_t>(__builtin_popcount(a[i]));
        c.b_count += static_cast<std::uint64_t>(__builtin_popcount(b[i]));
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
};

}  // namespace

const KernelTable &scalar_table() { return table; }

}  // namespace quiver::core::detail
