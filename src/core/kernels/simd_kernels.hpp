// Distance kernels written once over xsimd batches and compiled once per SIMD target: each
// target .cpp defines an `Isa` policy (loads, reduction, conversions) and instantiates these.
// Must only be included by those target files, and must keep everything in an anonymous
// namespace: a shared inline symbol compiled for AVX-512 could otherwise be picked by the
// linker for a narrower target and crash older CPUs.
#pragma once
#if !defined(QUIVER_SIMD_TARGET_TU)
#error "simd_kernels.hpp is only for the per-target kernel translation units"
#endif

#include "quiver/core/half.h"
#include "quiver/core/kernels.h"

#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace quiver::core::detail {
namespace {

// Per-element accumulation steps shared by the single and batch forms.
struct L2Step {
    template <class B> static B step(B acc, B x, B y)
    {
        B d = x - y;
        return xsimd::fma(d, d, acc);
    }
    static float scalar(float acc, float x, float y) { return std::fma(x - y, x - y, acc); }
};

struct DotStep {
    template <class B> static B step(B acc, B x, B y) { return xsimd::fma(x, y, acc); }
};

struct NegDotStep {
    template <class B> static B step(B acc, B x, B y) { return xsimd::fnma(x, y, acc); }
    static float scalar(float acc, float x, float y) { return std::fma(-x, y, acc); }
};

struct L1Step {
    template <class B> static B step(B acc, B x, B y) { return acc + xsimd::abs(x - y); }
};

// Isa must provide:
//   using batch = xsimd::batch<float, Arch>;
//   static batch load_half(const half_bits *p);                       // batch::size halves
//   static batch load_partial(const float *p, std::size_t count);     // count < size, rest 0
//   static batch load_half_partial(const half_bits *p, std::size_t count);
//   static float reduce_add(batch v);
//   static void f32_to_f16(const float *in, half_bits *out, std::size_t n);
//   static void f16_to_f32(const half_bits *in, float *out, std::size_t n);
template <class Isa> struct SimdKernels {
    using B = typename Isa::batch;
    static constexpr std::size_t W = B::size;

    static B load(const float *p) { return B::load_unaligned(p); }
    static B load(const half_bits *p) { return Isa::load_half(p); }
    static B load_partial(const float *p, std::size_t count) { return Isa::load_partial(p, count); }
    static B load_partial(const half_bits *p, std::size_t count)
    {
        return Isa::load_half_partial(p, count);
    }

    // Four independent accumulators hide the FMA/add latency; the zero-filled partial load
    // finishes the tail without a scalar loop (zeros add nothing to any of these metrics).
    template <class Step, class T> static float reduce_pair(const T *a, const T *b, std::size_t n)
    {
        B acc0(0.0f), acc1(0.0f), acc2(0.0f), acc3(0.0f);
        std::size_t i = 0;
        for (; i + 4 * W <= n; i += 4 * W) {
            acc0 = Step::step(acc0, load(a + i), load(b + i));
            acc1 = Step::step(acc1, load(a + i + W), load(b + i + W));
            acc2 = Step::step(acc2, load(a + i + 2 * W), load(b + i + 2 * W));
            acc3 = Step::step(acc3, load(a + i + 3 * W), load(b + i + 3 * W));
        }
        for (; i + W <= n; i += W)
            acc0 = Step::step(acc0, load(a + i), load(b + i));
        if (i < n)
            acc1 = Step::step(acc1, load_partial(a + i, n - i), load_partial(b + i, n - i));
        return Isa::reduce_add((acc0 + acc1) + (acc2 + acc3));
    }

    // Its own loop rather than dot(a, a): each block is loaded (and converted) only once.
    template <class T> static float norm_sq(const T *a, std::size_t n)
    {
        B acc0(0.0f), acc1(0.0f), acc2(0.0f), acc3(0.0f);
        std::size_t i = 0;
        for (; i + 4 * W <= n; i += 4 * W) {
            B x0 = load(a + i), x1 = load(a + i + W), x2 = load(a + i + 2 * W),
              x3 = load(a + i + 3 * W);
            acc0 = xsimd::fma(x0, x0, acc0);
            acc1 = xsimd::fma(x1, x1, acc1);
            acc2 = xsimd::fma(x2, x2, acc2);
            acc3 = xsimd::fma(x3, x3, acc3);
        }
        for (; i < n; i += W) {
            B x = i + W <= n ? load(a + i) : load_partial(a + i, n - i);
            acc0 = xsimd::fma(x, x, acc0);
        }
        return Isa::reduce_add((acc0 + acc1) + (acc2 + acc3));
    }

    template <class T> static CosineParts cosine(const T *a, const T *b, std::size_t n)
    {
        B dot0(0.0f), dot1(0.0f), na0(0.0f), na1(0.0f), nb0(0.0f), nb1(0.0f);
        std::size_t i = 0;
        for (; i + 2 * W <= n; i += 2 * W) {
            B x0 = load(a + i), y0 = load(b + i);
            B x1 = load(a + i + W), y1 = load(b + i + W);
            dot0 = xsimd::fma(x0, y0, dot0);
            na0 = xsimd::fma(x0, x0, na0);
            nb0 = xsimd::fma(y0, y0, nb0);
            dot1 = xsimd::fma(x1, y1, dot1);
            na1 = xsimd::fma(x1, x1, na1);
            nb1 = xsimd::fma(y1, y1, nb1);
        }
        for (; i < n; i += W) {
            bool full = i + W <= n;
            B x = full ? load(a + i) : load_partial(a + i, n - i);
            B y = full ? load(b + i) : load_partial(b + i, n - i);
            dot0 = xsimd::fma(x, y, dot0);
            na0 = xsimd::fma(x, x, na0);
            nb0 = xsimd::fma(y, y, nb0);
        }
        return CosineParts{Isa::reduce_add(dot0 + dot1), Isa::reduce_add(na0 + na1),
                           Isa::reduce_add(nb0 + nb1)};
    }

    // Four vectors at a time: each query block is loaded (and for float16 converted) once and
    // used four times, which is what makes the batch cheaper than four single calls.
    template <class Step, class T>
    static void batch4(const T *q, const T *x0, const T *x1, const T *x2, const T *x3,
                       std::size_t n, float *out)
    {
        B a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
        B b0(0.0f), b1(0.0f), b2(0.0f), b3(0.0f);
        std::size_t i = 0;
        for (; i + 2 * W <= n; i += 2 * W) {
            B qa = load(q + i), qb = load(q + i + W);
            a0 = Step::step(a0, qa, load(x0 + i));
            a1 = Step::step(a1, qa, load(x1 + i));
            a2 = Step::step(a2, qa, load(x2 + i));
            a3 = Step::step(a3, qa, load(x3 + i));
            b0 = Step::step(b0, qb, load(x0 + i + W));
            b1 = Step::step(b1, qb, load(x1 + i + W));
            b2 = Step::step(b2, qb, load(x2 + i + W));
            b3 = Step::step(b3, qb, load(x3 + i + W));
        }
        for (; i < n; i += W) {
            if (i + W <= n) {
                B qa = load(q + i);
                a0 = Step::step(a0, qa, load(x0 + i));
                a1 = Step::step(a1, qa, load(x1 + i));
                a2 = Step::step(a2, qa, load(x2 + i));
                a3 = Step::step(a3, qa, load(x3 + i));
            } else {
                std::size_t rest = n - i;
                B qa = load_partial(q + i, rest);
                a0 = Step::step(a0, qa, load_partial(x0 + i, rest));
                a1 = Step::step(a1, qa, load_partial(x1 + i, rest));
                a2 = Step::step(a2, qa, load_partial(x2 + i, rest));
                a3 = Step::step(a3, qa, load_partial(x3 + i, rest));
            }
        }
        out[0] = Isa::reduce_add(a0 + b0);
        out[1] = Isa::reduce_add(a1 + b1);
        out[2] = Isa::reduce_add(a2 + b2);
        out[3] = Isa::reduce_add(a3 + b3);
    }

    template <class Step, class T>
    static void batch(const T *query, const T *const *xs, std::size_t count, std::size_t n,
                      float *out)
    {
        std::size_t j = 0;
        for (; j + 4 <= count; j += 4)
            batch4<Step>(query, xs[j], xs[j + 1], xs[j + 2], xs[j + 3], n, out + j);
        for (; j < count; ++j)
            out[j] = reduce_pair<Step>(query, xs[j], n);
    }

    // Entry points with the exact signatures of KernelTable.
    static float l2sq_f32(const float *a, const float *b, std::size_t n)
    {
        return reduce_pair<L2Step>(a, b, n);
    }
    static float dot_f32(const float *a, const float *b, std::size_t n)
    {
        return reduce_pair<DotStep>(a, b, n);
    }
    static CosineParts cosine_f32(const float *a, const float *b, std::size_t n)
    {
        return cosine(a, b, n);
    }
    static float l1_f32(const float *a, const float *b, std::size_t n)
    {
        return reduce_pair<L1Step>(a, b, n);
    }
    static float norm_sq_f32(const float *a, std::size_t n) { return norm_sq(a, n); }

    static float l2sq_f16(const half_bits *a, const half_bits *b, std::size_t n)
    {
        return reduce_pair<L2Step>(a, b, n);
    }
    static float dot_f16(const half_bits *a, const half_bits *b, std::size_t n)
    {
        return reduce_pair<DotStep>(a, b, n);
    }
    static CosineParts cosine_f16(const half_bits *a, const half_bits *b, std::size_t n)
    {
        return cosine(a, b, n);
    }
    static float l1_f16(const half_bits *a, const half_bits *b, std::size_t n)
    {
        return reduce_pair<L1Step>(a, b, n);
    }
    static float norm_sq_f16(const half_bits *a, std::size_t n) { return norm_sq(a, n); }

    static void l2sq_f32_batch(const float *q, const float *const *xs, std::size_t count,
                               std::size_t n, float *out)
    {
        batch<L2Step>(q, xs, count, n, out);
    }
    static void dot_f32_batch(const float *q, const float *const *xs, std::size_t count,
                              std::size_t n, float *out)
    {
        batch<DotStep>(q, xs, count, n, out);
    }
    static void l2sq_f16_batch(const half_bits *q, const half_bits *const *xs, std::size_t count,
                               std::size_t n, float *out)
    {
        batch<L2Step>(q, xs, count, n, out);
    }
    static void dot_f16_batch(const half_bits *q, const half_bits *const *xs, std::size_t count,
                              std::size_t n, float *out)
    {
        batch<DotStep>(q, xs, count, n, out);
    }

    // PQ tables, vectorised over the centroids c (W at a time), summed over j in order.
    template <class Step>
    static void pq_table(const float *x, const float *t, std::size_t dsub, std::size_t ksub,
                         float *out)
    {
        std::size_t c = 0;
        for (; c + W <= ksub; c += W) {
            B acc(0.0f);
            for (std::size_t j = 0; j < dsub; ++j)
                acc = Step::step(acc, B(x[j]), load(t + j * ksub + c));
            acc.store_unaligned(out + c);
        }
        for (; c < ksub; ++c) {
            float acc = 0.0f;
            for (std::size_t j = 0; j < dsub; ++j)
                acc = Step::scalar(acc, x[j], t[j * ksub + c]);
            out[c] = acc;
        }
    }
    static void pq_table_l2(const float *x, const float *t, std::size_t dsub, std::size_t ksub,
                            float *out)
    {
        pq_table<L2Step>(x, t, dsub, ksub, out);
    }
    static void pq_table_neg_dot(const float *x, const float *t, std::size_t dsub,
                                 std::size_t ksub, float *out)
    {
        pq_table<NegDotStep>(x, t, dsub, ksub, out);
    }
};

// Bit kernels on 64-bit words with the scalar POPCNT instruction, for the targets without a
// vector popcount (SSE4.2, AVX2). Unaligned words are read with memcpy; the byte tail is
// zero-padded into one last word, which leaves every count unchanged.
inline std::uint64_t load_word(const std::uint8_t *p)
{
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

inline std::uint64_t load_word_tail(const std::uint8_t *p, std::size_t nbytes)
{
    std::uint64_t w = 0;
    std::memcpy(&w, p, nbytes);
    return w;
}

inline std::uint64_t popcount64(std::uint64_t w)
{
    return static_cast<std::uint64_t>(__builtin_popcountll(w));
}

inline std::uint64_t hamming_popcnt64(const std::uint8_t *a, const std::uint8_t *b,
                                      std::size_t nbytes)
{
    std::uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    std::size_t i = 0;
    for (; i + 32 <= nbytes; i += 32) {
        c0 += popcount64(load_word(a + i) ^ load_word(b + i));
        c1 += popcount64(load_word(a + i + 8) ^ load_word(b + i + 8));
        c2 += popcount64(load_word(a + i + 16) ^ load_word(b + i + 16));
        c3 += popcount64(load_word(a + i + 24) ^ load_word(b + i + 24));
    }
    for (; i + 8 <= nbytes; i += 8)
        c0 += popcount64(load_word(a + i) ^ load_word(b + i));
    if (i < nbytes)
        c1 += popcount64(load_word_tail(a + i, nbytes - i) ^ load_word_tail(b + i, nbytes - i));
    return (c0 + c1) + (c2 + c3);
}

inline JaccardCounts jaccard_popcnt64(const std::uint8_t *a, const std::uint8_t *b,
                                      std::size_t nbytes)
{
    JaccardCounts c{0, 0, 0};
    std::size_t i = 0;
    for (; i + 8 <= nbytes; i += 8) {
        std::uint64_t x = load_word(a + i), y = load_word(b + i);
        c.both += popcount64(x & y);
        c.a_count += popcount64(x);
        c.b_count += popcount64(y);
    }
    if (i < nbytes) {
        std::uint64_t x = load_word_tail(a + i, nbytes - i);
        std::uint64_t y = load_word_tail(b + i, nbytes - i);
        c.both += popcount64(x & y);
        c.a_count += popcount64(x);
        c.b_count += popcount64(y);
    }
    return c;
}

inline void hamming_popcnt64_batch(const std::uint8_t *query, const std::uint8_t *const *xs,
                                   std::size_t count, std::size_t nbytes, std::uint64_t *out)
{
    std::size_t j = 0;
    for (; j + 4 <= count; j += 4) {
        const std::uint8_t *x0 = xs[j], *x1 = xs[j + 1], *x2 = xs[j + 2], *x3 = xs[j + 3];
        std::uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        std::size_t i = 0;
        for (; i + 8 <= nbytes; i += 8) {
            std::uint64_t q = load_word(query + i);
            c0 += popcount64(q ^ load_word(x0 + i));
            c1 += popcount64(q ^ load_word(x1 + i));
            c2 += popcount64(q ^ load_word(x2 + i));
            c3 += popcount64(q ^ load_word(x3 + i));
        }
        if (i < nbytes) {
            std::size_t rest = nbytes - i;
            std::uint64_t q = load_word_tail(query + i, rest);
            c0 += popcount64(q ^ load_word_tail(x0 + i, rest));
            c1 += popcount64(q ^ load_word_tail(x1 + i, rest));
            c2 += popcount64(q ^ load_word_tail(x2 + i, rest));
            c3 += popcount64(q ^ load_word_tail(x3 + i, rest));
        }
        out[j] = c0;
        out[j + 1] = c1;
        out[j + 2] = c2;
        out[j + 3] = c3;
    }
    for (; j < count; ++j)
        out[j] = hamming_popcnt64(query, xs[j], nbytes);
}

struct Popcnt64Bits {
    static std::uint64_t hamming(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes)
    {
        return hamming_popcnt64(a, b, nbytes);
    }
    static JaccardCounts jaccard(const std::uint8_t *a, const std::uint8_t *b, std::size_t nbytes)
    {
        return jaccard_popcnt64(a, b, nbytes);
    }
    static void hamming_batch(const std::uint8_t *query, const std::uint8_t *const *xs,
                              std::size_t count, std::size_t nbytes, std::uint64_t *out)
    {
        hamming_popcnt64_batch(query, xs, count, nbytes, out);
    }
};

// Builds a target's table from its float kernels, its own bit kernels and its own 4-bit
// fast-scan kernels (Codes::pq4_fastscan_u16, fastscan_ranges, fastscan_quantize).
template <class Isa, class Bits, class Codes>
constexpr KernelTable make_table(SimdTarget target, const char *name)
{
    using K = SimdKernels<Isa>;
    return KernelTable{
        target,
        name,
        K::l2sq_f32,
        K::dot_f32,
        K::cosine_f32,
        K::l1_f32,
        K::norm_sq_f32,
        K::l2sq_f16,
        K::dot_f16,
        K::cosine_f16,
        K::l1_f16,
        K::norm_sq_f16,
        Bits::hamming,
        Bits::jaccard,
        K::l2sq_f32_batch,
        K::dot_f32_batch,
        K::l2sq_f16_batch,
        K::dot_f16_batch,
        Bits::hamming_batch,
        Isa::f32_to_f16,
        Isa::f16_to_f32,
        Codes::pq4_fastscan_u16,
        Codes::fastscan_ranges,
        Codes::fastscan_quantize,
        K::pq_table_l2,
        K::pq_table_neg_dot,
    };
}

}  // namespace
}  // namespace quiver::core::detail
