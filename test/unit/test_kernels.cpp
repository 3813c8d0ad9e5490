// Every compiled and CPU-supported SIMD target against the scalar reference kernels, at awkward
// dimensions and unaligned addresses. Small-integer inputs make every sum exact, so those must
// match bit for bit; real-valued inputs may differ only within a proven rounding bound.
#include "test_util.h"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace quiver_test;
using quiver::core::CosineParts;
using quiver::core::half_to_float;
using quiver::core::JaccardCounts;

namespace {

const std::size_t dims[] = {1,  2,  3,  7,   8,   15,  16,  17,  31,   33,
                            63, 64, 65, 100, 127, 129, 384, 784, 1536, 16000};

const KernelTable &scalar()
{
    return *quiver::core::kernels_for(SimdTarget::scalar);
}

// Targets other than scalar that this machine can run.
std::vector<const KernelTable *> simd_tables()
{
    std::vector<const KernelTable *> tables;
    for (const KernelTable *t : runnable_tables())
        if (t->target != SimdTarget::scalar)
            tables.push_back(t);
    return tables;
}

// Any summation order of n rounded terms lies within gamma_{n+1} * sum|terms| of the exact sum
// (Higham, Accuracy and Stability, 3.1); two such results lie within twice that of each other.
double rounding_bound(std::size_t n, double magnitude)
{
    const double u = std::ldexp(1.0, -24);
    const double k = static_cast<double>(n + 2);
    return 2.0 * (k * u / (1.0 - k * u)) * magnitude + 1e-30;
}

// Inputs copied one element past an aligned start, so every SIMD load is unaligned.
template <class T> struct Unaligned {
    std::vector<T> storage;
    explicit Unaligned(const std::vector<T> &values) : storage(values.size() + 1)
    {
        std::copy(values.begin(), values.end(), storage.begin() + 1);
    }
    const T *data() const { return storage.data() + 1; }
};

std::vector<float> small_integers(std::size_t n, std::uint32_t seed)
{
    std::vector<float> v = random_floats(n, seed, -8.0f, 8.0f);
    for (float &x : v)
        x = std::round(x);
    return v;
}

std::vector<std::uint16_t> to_halves(const std::vector<float> &f)
{
    std::vector<std::uint16_t> h(f.size());
    for (std::size_t i = 0; i < f.size(); ++i)
        h[i] = quiver::core::float_to_half(f[i]);
    return h;
}

std::vector<float> widen(const std::uint16_t *h, std::size_t n)
{
    std::vector<float> f(n);
    for (std::size_t i = 0; i < n; ++i)
        f[i] = half_to_float(h[i]);
    return f;
}

struct Magnitudes {
    double l2 = 0, dot = 0, l1 = 0, norm_a = 0, norm_b = 0;
};

Magnitudes magnitudes(const float *a, const float *b, std::size_t n)
{
    Magnitudes m;
    for (std::size_t i = 0; i < n; ++i) {
        double d = static_cast<double>(a[i]) - b[i];
        m.l2 += d * d;
        m.dot += std::fabs(static_cast<double>(a[i]) * b[i]);
        m.l1 += std::fabs(d);
        m.norm_a += static_cast<double>(a[i]) * a[i];
        m.norm_b += static_cast<double>(b[i]) * b[i];
    }
    return m;
}

void check_close(const char *what, const KernelTable &t, std::size_t n, float got, float want,
                 double magnitude)
{
    BOOST_TEST_CONTEXT(what << " target=" << t.name << " n=" << n)
    {
        BOOST_TEST(std::fabs(static_cast<double>(got) - want) <= rounding_bound(n, magnitude),
                   "got " << got << " want " << want);
    }
}

void check_exact(const char *what, const KernelTable &t, std::size_t n, float got, float want)
{
    BOOST_TEST_CONTEXT(what << " target=" << t.name << " n=" << n)
    {
        BOOST_TEST(got == want);
    }
}

// All float32 and float16 single-pair kernels of `t` against scalar on the same inputs.
// exact=true is for inputs whose every partial sum is representable.
void compare_float_kernels(const KernelTable &t, const std::vector<float> &av,
                           const std::vector<float> &bv, bool exact)
{
    const std::size_t n = av.size();
    const KernelTable &s = scalar();
    Unaligned<float> a(av), b(bv);
    std::vector<std::uint16_t> ah = to_halves(av), bh = to_halves(bv);
    Unaligned<std::uint16_t> a16(ah), b16(bh);
    std::vector<float> aw = widen(ah.data(), n), bw = widen(bh.data(), n);

    auto check = [&](const char *what, float got, float want, double magnitude) {
        if (exact)
            check_exact(what, t, n, got, want);
        else
            check_close(what, t, n, got, want, magnitude);
    };

    Magnitudes m = magnitudes(av.data(), bv.data(), n);
    check("l2sq_f32", t.l2sq_f32(a.data(), b.data(), n), s.l2sq_f32(a.data(), b.data(), n), m.l2);
    check("dot_f32", t.dot_f32(a.data(), b.data(), n), s.dot_f32(a.data(), b.data(), n), m.dot);
    check("l1_f32", t.l1_f32(a.data(), b.data(), n), s.l1_f32(a.data(), b.data(), n), m.l1);
    check("norm_sq_f32", t.norm_sq_f32(a.data(), n), s.norm_sq_f32(a.data(), n), m.norm_a);
    CosineParts got = t.cosine_f32(a.data(), b.data(), n);
    CosineParts want = s.cosine_f32(a.data(), b.data(), n);
    check("cosine_f32.dot", got.dot, want.dot, m.dot);
    check("cosine_f32.norm_a", got.norm_a, want.norm_a, m.norm_a);
    check("cosine_f32.norm_b", got.norm_b, want.norm_b, m.norm_b);

    Magnitudes mh = magnitudes(aw.data(), bw.data(), n);
    const std::uint16_t *x = a16.data(), *y = b16.data();
    check("l2sq_f16", t.l2sq_f16(x, y, n), s.l2sq_f16(x, y, n), mh.l2);
    check("dot_f16", t.dot_f16(x, y, n), s.dot_f16(x, y, n), mh.dot);
    check("l1_f16", t.l1_f16(x, y, n), s.l1_f16(x, y, n), mh.l1);
    check("norm_sq_f16", t.norm_sq_f16(x, n), s.norm_sq_f16(x, n), mh.norm_a);
    got = t.cosine_f16(x, y, n);
    want = s.cosine_f16(x, y, n);
    check("cosine_f16.dot", got.dot, want.dot, mh.dot);
    check("cosine_f16.norm_a", got.norm_a, want.norm_a, mh.norm_a);
    check("cosine_f16.norm_b", got.norm_b, want.norm_b, mh.norm_b);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels)

BOOST_AUTO_TEST_CASE(every_target_has_a_complete_table)
{
    for (const KernelTable *t : runnable_tables()) {
        BOOST_TEST_CONTEXT("target " << t->name)
        {
            BOOST_TEST(std::strcmp(t->name, quiver::core::target_name(t->target)) == 0);
            // The table is a plain struct of function pointers; any null slot is a bug.
            const unsigned char *first = reinterpret_cast<const unsigned char *>(&t->l2sq_f32);
            const unsigned char *end = reinterpret_cast<const unsigned char *>(t + 1);
            for (const unsigned char *p = first; p < end; p += sizeof(void *)) {
                void *slot;
                std::memcpy(&slot, p, sizeof slot);
                BOOST_TEST(slot != nullptr);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(exact_on_small_integers)
{
    for (const KernelTable *t : simd_tables())
        for (std::size_t n : dims)
            compare_float_kernels(*t, small_integers(n, 11 + n), small_integers(n, 97 + n), true);
}

BOOST_AUTO_TEST_CASE(within_rounding_bound_on_random_values)
{
    for (const KernelTable *t : simd_tables())
        for (std::size_t n : dims)
            compare_float_kernels(*t, random_floats(n, 3 + n), random_floats(n, 5 + n), false);
}

BOOST_AUTO_TEST_CASE(within_rounding_bound_on_mixed_magnitudes)
{
    // Values spread over many binades, where summation order matters most.
    for (const KernelTable *t : simd_tables()) {
        for (std::size_t n : dims) {
            std::vector<float> a = random_floats(n, 7 + n), b = random_floats(n, 13 + n);
            for (std::size_t i = 0; i < n; ++i) {
                a[i] = std::ldexp(a[i], static_cast<int>(i % 13) - 6);
                b[i] = std::ldexp(b[i], static_cast<int>(i % 7) - 3);
            }
            compare_float_kernels(*t, a, b, false);
        }
    }
}

BOOST_AUTO_TEST_CASE(batch_forms_match_single_forms)
{
    const std::size_t counts[] = {0, 1, 3, 4, 5, 8, 9};
    for (const KernelTable *t : runnable_tables()) {
        for (std::size_t n : dims) {
            if (n > 1536)
                continue;  // the batch loop structure does not change past a few blocks
            std::vector<float> q = random_floats(n, 17 + n);
            Unaligned<float> query(q);
            std::vector<std::uint16_t> qh = to_halves(q);
            Unaligned<std::uint16_t> query16(qh);

            // Nine candidates in one buffer at odd element offsets (none aligned).
            const std::size_t stride = n + 3;
            std::vector<float> pool = random_floats(9 * stride + 1, 19 + n);
            std::vector<std::uint16_t> pool16 = to_halves(pool);
            std::vector<const float *> xs;
            std::vector<const std::uint16_t *> xs16;
            for (std::size_t j = 0; j < 9; ++j) {
                xs.push_back(pool.data() + 1 + j * stride + (j % 3));
                xs16.push_back(pool16.data() + 1 + j * stride + (j % 3));
            }

            for (std::size_t count : counts) {
                std::vector<float> out(count + 1, -1.0f);
                auto check = [&](const char *what, std::size_t j, double magnitude, float single) {
                    check_close(what, *t, n, out[j], single, magnitude);
                };
                t->l2sq_f32_batch(query.data(), xs.data(), count, n, out.data());
                for (std::size_t j = 0; j < count; ++j)
                    check("l2sq_f32_batch", j, magnitudes(query.data(), xs[j], n).l2,
                          t->l2sq_f32(query.data(), xs[j], n));
                BOOST_TEST(out[count] == -1.0f);  // nothing written past count

                t->dot_f32_batch(query.data(), xs.data(), count, n, out.data());
                for (std::size_t j = 0; j < count; ++j)
                    check("dot_f32_batch", j, magnitudes(query.data(), xs[j], n).dot,
                          t->dot_f32(query.data(), xs[j], n));

                std::vector<float> qw = widen(query16.data(), n);
                t->l2sq_f16_batch(query16.data(), xs16.data(), count, n, out.data());
                for (std::size_t j = 0; j < count; ++j) {
                    std::vector<float> xw = widen(xs16[j], n);
                    check("l2sq_f16_batch", j, magnitudes(qw.data(), xw.data(), n).l2,
                          t->l2sq_f16(query16.data(), xs16[j], n));
                }
                t->dot_f16_batch(query16.data(), xs16.data(), count, n, out.data());
                for (std::size_t j = 0; j < count; ++j) {
                    std::vector<float> xw = widen(xs16[j], n);
                    check("dot_f16_batch", j, magnitudes(qw.data(), xw.data(), n).dot,
                          t->dot_f16(query16.data(), xs16[j], n));
                }
                BOOST_TEST(out[count] == -1.0f);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(batch_forms_exact_on_small_integers)
{
    const std::size_t n = 100;
    std::vector<float> q = small_integers(n, 23);
    std::vector<std::vector<float>> vectors;
    std::vector<const float *> xs;
    for (std::size_t j = 0; j < 7; ++j)
        vectors.push_back(small_integers(n, 29 + static_cast<std::uint32_t>(j)));
    for (const auto &v : vectors)
        xs.push_back(v.data());
    for (const KernelTable *t : simd_tables()) {
        float out[7];
        t->l2sq_f32_batch(q.data(), xs.data(), 7, n, out);
        for (std::size_t j = 0; j < 7; ++j)
            check_exact("l2sq_f32_batch", *t, n, out[j], scalar().l2sq_f32(q.data(), xs[j], n));
        t->dot_f32_batch(q.data(), xs.data(), 7, n, out);
        for (std::size_t j = 0; j < 7; ++j)
            check_exact("dot_f32_batch", *t, n, out[j], scalar().dot_f32(q.data(), xs[j], n));
    }
}

BOOST_AUTO_TEST_CASE(bit_kernels_count_exactly)
{
    const std::size_t sizes[] = {0,  1,   2,   3,   7,   8,   9,   15,  31,  33,  63,  64,
                                 65, 100, 127, 128, 129, 200, 255, 256, 257, 512, 513, 1000};
    for (const KernelTable *t : simd_tables()) {
        for (std::size_t nbytes : sizes) {
            BOOST_TEST_CONTEXT("target=" << t->name << " nbytes=" << nbytes)
            {
                Unaligned<std::uint8_t> a(random_bytes(nbytes, 31 + nbytes));
                Unaligned<std::uint8_t> b(random_bytes(nbytes, 37 + nbytes));
                BOOST_TEST(t->hamming_bits(a.data(), b.data(), nbytes) ==
                           scalar().hamming_bits(a.data(), b.data(), nbytes));
                JaccardCounts got = t->jaccard_bits(a.data(), b.data(), nbytes);
                JaccardCounts want = scalar().jaccard_bits(a.data(), b.data(), nbytes);
                BOOST_TEST(got.both == want.both);
                BOOST_TEST(got.a_count == want.a_count);
                BOOST_TEST(got.b_count == want.b_count);

                // All-ones against all-zeros counts every bit: catches a lost tail byte.
                std::vector<std::uint8_t> ones(nbytes, 0xff), zeros(nbytes, 0);
                BOOST_TEST(t->hamming_bits(ones.data(), zeros.data(), nbytes) == 8 * nbytes);
                BOOST_TEST(t->jaccard_bits(ones.data(), ones.data(), nbytes).both == 8 * nbytes);

                std::vector<std::uint8_t> pool = random_bytes(9 * (nbytes + 1) + 1, 41 + nbytes);
                std::vector<const std::uint8_t *> xs;
                for (std::size_t j = 0; j < 9; ++j)
                    xs.push_back(pool.data() + 1 + j * (nbytes + 1));
                for (std::size_t count : {0u, 1u, 4u, 5u, 9u}) {
                    std::vector<std::uint64_t> out(count + 1, 12345);
                    t->hamming_bits_batch(a.data(), xs.data(), count, nbytes, out.data());
                    for (std::size_t j = 0; j < count; ++j)
                        BOOST_TEST(out[j] == scalar().hamming_bits(a.data(), xs[j], nbytes));
                    BOOST_TEST(out[count] == 12345u);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(float16_kernels_widen_every_half_exactly)
{
    // x * 1.0 and |x - 0| are exact, so one-element kernels expose each target's widening.
    const std::uint16_t one = 0x3c00, zero = 0;
    for (const KernelTable *t : runnable_tables()) {
        std::size_t mismatches = 0;
        for (std::uint32_t h = 0; h <= 0xffffu; ++h) {
            std::uint16_t x = static_cast<std::uint16_t>(h);
            float want = half_to_float(x);
            float dot = t->dot_f16(&x, &one, 1);
            float l1 = t->l1_f16(&x, &zero, 1);
            if (std::isnan(want))
                mismatches += !std::isnan(dot) || !std::isnan(l1);
            else
                mismatches += dot != want || l1 != std::fabs(want);
        }
        BOOST_TEST(mismatches == 0u, "target " << t->name);
    }
}

BOOST_AUTO_TEST_CASE(scalar_bit_kernels_match_a_bit_by_bit_count)
{
    for (std::size_t nbytes : {0u, 1u, 5u, 8u, 13u, 64u, 77u}) {
        std::vector<std::uint8_t> a = random_bytes(nbytes, 43 + nbytes);
        std::vector<std::uint8_t> b = random_bytes(nbytes, 47 + nbytes);
        std::uint64_t differ = 0, both = 0, in_a = 0, in_b = 0;
        for (std::size_t bit = 0; bit < 8 * nbytes; ++bit) {
            bool x = (a[bit / 8] >> (bit % 8)) & 1u, y = (b[bit / 8] >> (bit % 8)) & 1u;
            differ += x != y;
            both += x && y;
            in_a += x;
            in_b += y;
        }
        BOOST_TEST(scalar().hamming_bits(a.data(), b.data(), nbytes) == differ);
        JaccardCounts c = scalar().jaccard_bits(a.data(), b.data(), nbytes);
        BOOST_TEST(c.both == both);
        BOOST_TEST(c.a_count == in_a);
        BOOST_TEST(c.b_count == in_b);
    }
}

BOOST_AUTO_TEST_CASE(zero_length_inputs_give_zero)
{
    float f = 1.0f;
    std::uint16_t h = 0x3c00;
    for (const KernelTable *t : runnable_tables()) {
        BOOST_TEST(t->l2sq_f32(&f, &f, 0) == 0.0f);
        BOOST_TEST(t->dot_f16(&h, &h, 0) == 0.0f);
        BOOST_TEST(t->cosine_f32(&f, &f, 0).norm_a == 0.0f);
        BOOST_TEST(t->norm_sq_f16(&h, 0) == 0.0f);
    }
}

// PQ tables (ksub 16 and 256, and an odd ksub for the tails): exact on small integers, within
// the rounding bound of a dsub-term sum on random values, for every target.
BOOST_AUTO_TEST_CASE(pq_tables_match_scalar)
{
    for (const KernelTable *t : simd_tables()) {
        for (std::size_t ksub : {std::size_t(16), std::size_t(256), std::size_t(21)}) {
            for (std::size_t dsub : {std::size_t(1), std::size_t(2), std::size_t(4), std::size_t(7), std::size_t(32)}) {
                for (bool exact : {true, false}) {
                    BOOST_TEST_CONTEXT("target " << t->name << " ksub " << ksub << " dsub " << dsub << (exact ? " integers" : " random"))
                    {
                        const std::uint32_t seed = static_cast<std::uint32_t>(ksub * 131 + dsub);
                        std::vector<float> x = exact ? small_integers(dsub, seed) : random_floats(dsub, seed);
                        std::vector<float> c = exact ? small_integers(dsub * ksub, seed + 7)
                                                     : random_floats(dsub * ksub, seed + 7);
                        Unaligned<float> ux(x), uc(c);
                        std::vector<float> want(ksub), got(ksub);
                        scalar().pq_table_l2(ux.data(), uc.data(), dsub, ksub, want.data());
                        t->pq_table_l2(ux.data(), uc.data(), dsub, ksub, got.data());
                        for (std::size_t k = 0; k < ksub; ++k) {
                            double magnitude = 0;
                            for (std::size_t j = 0; j < dsub; ++j) {
                                const double d = double(x[j]) - c[j * ksub + k];
                                magnitude += d * d;
                            }
                            if (exact)
                                BOOST_TEST(got[k] == want[k]);
                            else
                                BOOST_TEST(std::fabs(double(got[k]) - want[k]) <= rounding_bound(dsub, magnitude));
                        }
                        scalar().pq_table_neg_dot(ux.data(), uc.data(), dsub, ksub, want.data());
                        t->pq_table_neg_dot(ux.data(), uc.data(), dsub, ksub, got.data());
                        for (std::size_t k = 0; k < ksub; ++k) {
                            double magnitude = 0;
                            for (std::size_t j = 0; j < dsub; ++j)
                                magnitude += std::fabs(double(x[j]) * c[j * ksub + k]);
                            if (exact)
                                BOOST_TEST(got[k] == want[k]);
                            else
                                BOOST_TEST(std::fabs(double(got[k]) - want[k]) <= rounding_bound(dsub, magnitude));
                        }
                    }
                }
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
