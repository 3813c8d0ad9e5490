// DistanceComputer: every supported (representation, metric) pair against a plain double or
// in-order float reference at awkward dimensions, unsupported pairs refused, batch == single,
// code sizes. Runs under every SIMD target this machine supports.
#include "test_util.h"

#include "quiver/core/distance.h"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <vector>

using namespace quiver_test;
using quiver::core::DistanceComputer;
using quiver::core::make_distance_computer;
using quiver::core::Metric;
using quiver::core::Representation;

namespace {

const std::uint32_t dims[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 65, 100, 129, 384, 1000};

// Relative tolerance for float32 sums in another order than the double reference.
bool near(double got, double want, std::uint32_t n)
{
    return std::fabs(got - want) <= 1e-5 * n * (1.0 + std::fabs(want));
}

DistanceComputer computer(Representation r, Metric m, std::uint32_t dim)
{
    DistanceComputer dc{};
    BOOST_REQUIRE(make_distance_computer(r, m, dim, &dc));
    return dc;
}

double reference_dense(Metric metric, const std::vector<float> &a, const std::vector<float> &b)
{
    double sum = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double x = a[i], y = b[i];
        switch (metric) {
        case Metric::l2sq:
            sum += (x - y) * (x - y);
            break;
        case Metric::neg_dot:
            sum -= x * y;
            break;
        case Metric::l1:
            sum += std::fabs(x - y);
            break;
        default:
            BOOST_FAIL("not a dense metric");
        }
    }
    return sum;
}

std::vector<float> widen_all(const std::vector<std::uint16_t> &h)
{
    std::vector<float> f(h.size());
    for (std::size_t i = 0; i < h.size(); ++i)
        f[i] = quiver::core::half_to_float(h[i]);
    return f;
}

// A sparse code in the DistanceComputer layout from a dense vector (zeros left out).
std::vector<unsigned char> sparse_code(const std::vector<float> &dense)
{
    std::vector<std::int32_t> indices;
    std::vector<float> values;
    for (std::size_t i = 0; i < dense.size(); ++i)
        if (dense[i] != 0.0f) {
            indices.push_back(static_cast<std::int32_t>(i));
            values.push_back(dense[i]);
        }
    const std::int32_t header[3] = {static_cast<std::int32_t>(dense.size()),
                                    static_cast<std::int32_t>(indices.size()), 0};
    std::vector<unsigned char> code(12 + 8 * indices.size());
    std::memcpy(code.data(), header, 12);
    if (!indices.empty()) {
        std::memcpy(code.data() + 12, indices.data(), 4 * indices.size());
        std::memcpy(code.data() + 12 + 4 * indices.size(), values.data(), 4 * values.size());
    }
    return code;
}

// Dense vector with about one element in three non-zero.
std::vector<float> sparse_dense(std::uint32_t dim, std::uint32_t seed)
{
    std::vector<float> v = random_floats(dim, seed);
    std::vector<float> keep = random_floats(dim, seed + 1000, 0.0f, 1.0f);
    for (std::uint32_t i = 0; i < dim; ++i)
        if (keep[i] > 0.33f)
            v[i] = 0.0f;
    return v;
}

// The sparse reference in float32, visiting the dense index order: the computer must give the
// same bits (the SQL functions sum in index order too; zeros add exactly nothing).
float reference_sparse(Metric metric, const std::vector<float> &a, const std::vector<float> &b)
{
    float sum = 0.0f;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] == 0.0f && b[i] == 0.0f)
            continue;
        switch (metric) {
        case Metric::l2sq:
            sum += (a[i] - b[i]) * (a[i] - b[i]);
            break;
        case Metric::neg_dot:
            if (a[i] != 0.0f && b[i] != 0.0f)
                sum += a[i] * b[i];
            break;
        case Metric::l1:
            sum += std::fabs(a[i] - b[i]);
            break;
        default:
            BOOST_FAIL("not a sparse metric");
        }
    }
    return metric == Metric::neg_dot ? -sum : sum;
}

int bit_at(const std::vector<std::uint8_t> &v, std::uint32_t i)
{
    return (v[i / 8] >> (7 - i % 8)) & 1;
}

// Random bits with the padding bits past `bits` cleared, as PostgreSQL stores them.
std::vector<std::uint8_t> random_bits(std::uint32_t bits, std::uint32_t seed)
{
    std::vector<std::uint8_t> v = random_bytes((bits + 7) / 8, seed);
    if (bits % 8 != 0)
        v.back() &= static_cast<std::uint8_t>(0xff << (8 - bits % 8));
    return v;
}

// Checks batch == single for `codes` (exact: the batch kernels are the single ones, or are
// tested equal on exact inputs in test_kernels; here a tolerance covers real inputs).
void check_batch(const DistanceComputer &dc, const void *query,
                 const std::vector<const void *> &codes, bool exact)
{
    std::vector<float> out(codes.size());
    dc.batch(dc, query, codes.data(), codes.size(), out.data());
    for (std::size_t i = 0; i < codes.size(); ++i) {
        const float single = dc(query, codes[i]);
        if (exact)
            BOOST_TEST(out[i] == single);
        else
            BOOST_TEST(near(out[i], single, dc.dim));
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(distance)

BOOST_AUTO_TEST_CASE(dense_float32_and_float16_match_reference_on_every_target)
{
    ActiveTargetRestorer restore;
    for (const KernelTable *table : runnable_tables()) {
        quiver::core::select_target(table->target);
        for (std::uint32_t dim : dims) {
            for (Metric metric : {Metric::l2sq, Metric::neg_dot, Metric::l1}) {
                BOOST_TEST_CONTEXT(table->name << " dim " << dim << " metric " << int(metric))
                {
                    std::vector<float> a = random_floats(dim, dim * 7 + 1);
                    std::vector<float> b = random_floats(dim, dim * 7 + 2);
                    DistanceComputer f32 = computer(Representation::f32, metric, dim);
                    BOOST_TEST(f32.table == table);
                    BOOST_TEST(near(f32(a.data(), b.data()), reference_dense(metric, a, b), dim));

                    std::vector<std::uint16_t> ha = random_halves(dim, dim * 7 + 3);
                    std::vector<std::uint16_t> hb = random_halves(dim, dim * 7 + 4);
                    DistanceComputer f16 = computer(Representation::f16, metric, dim);
                    BOOST_TEST(near(f16(ha.data(), hb.data()),
                                    reference_dense(metric, widen_all(ha), widen_all(hb)), dim));
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(bits_hamming_and_jaccard_match_reference)
{
    ActiveTargetRestorer restore;
    for (const KernelTable *table : runnable_tables()) {
        quiver::core::select_target(table->target);
        for (std::uint32_t bits : {1u, 7u, 8u, 9u, 63u, 64u, 65u, 100u, 129u, 1000u, 1024u}) {
            BOOST_TEST_CONTEXT(table->name << " bits " << bits)
            {
                std::vector<std::uint8_t> a = random_bits(bits, bits + 11);
                std::vector<std::uint8_t> b = random_bits(bits, bits + 12);
                std::uint64_t differ = 0, both = 0, any = 0;
                for (std::uint32_t i = 0; i < bits; ++i) {
                    differ += bit_at(a, i) != bit_at(b, i);
                    both += bit_at(a, i) & bit_at(b, i);
                    any += bit_at(a, i) | bit_at(b, i);
                }
                DistanceComputer hamming = computer(Representation::bits, Metric::hamming, bits);
                BOOST_TEST(hamming(a.data(), b.data()) == static_cast<float>(differ));
                DistanceComputer jaccard = computer(Representation::bits, Metric::jaccard, bits);
                const double want = both == 0 ? 1.0 : 1.0 - double(both) / double(any);
                BOOST_TEST(jaccard(a.data(), b.data()) == static_cast<float>(want));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(jaccard_of_empty_sets_is_one_and_of_equal_sets_zero)
{
    std::vector<std::uint8_t> zeros(3, 0), ones(3, 0xff);
    DistanceComputer jaccard = computer(Representation::bits, Metric::jaccard, 24);
    BOOST_TEST(jaccard(zeros.data(), zeros.data()) == 1.0f);
    BOOST_TEST(jaccard(zeros.data(), ones.data()) == 1.0f);
    BOOST_TEST(jaccard(ones.data(), ones.data()) == 0.0f);
}

BOOST_AUTO_TEST_CASE(sparse_matches_in_order_reference_exactly)
{
    for (std::uint32_t dim : dims) {
        for (Metric metric : {Metric::l2sq, Metric::neg_dot, Metric::l1}) {
            BOOST_TEST_CONTEXT("dim " << dim << " metric " << int(metric))
            {
                std::vector<float> a = sparse_dense(dim, dim * 3 + 1);
                std::vector<float> b = sparse_dense(dim, dim * 3 + 2);
                std::vector<unsigned char> ca = sparse_code(a), cb = sparse_code(b);
                DistanceComputer dc = computer(Representation::sparse, metric, dim);
                BOOST_TEST(dc(ca.data(), cb.data()) == reference_sparse(metric, a, b));
                BOOST_TEST(dc(cb.data(), ca.data()) == reference_sparse(metric, b, a));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(sparse_with_no_nonzeros)
{
    std::vector<float> empty(10, 0.0f), some = sparse_dense(10, 5);
    some[3] = 2.0f;
    std::vector<unsigned char> ce = sparse_code(empty), cs = sparse_code(some);
    BOOST_TEST(computer(Representation::sparse, Metric::l2sq, 10)(ce.data(), ce.data()) == 0.0f);
    BOOST_TEST(computer(Representation::sparse, Metric::neg_dot, 10)(ce.data(), cs.data()) == 0.0f);
    BOOST_TEST(computer(Representation::sparse, Metric::l1, 10)(ce.data(), cs.data()) ==
               reference_sparse(Metric::l1, empty, some));
}

BOOST_AUTO_TEST_CASE(unsupported_pairs_are_refused)
{
    const Representation reps[] = {Representation::f32, Representation::f16, Representation::bits,
                                   Representation::sparse};
    const Metric metrics[] = {Metric::l2sq, Metric::neg_dot, Metric::l1, Metric::hamming,
                              Metric::jaccard};
    for (Representation r : reps)
        for (Metric m : metrics) {
            const bool bits = r == Representation::bits;
            const bool bit_metric = m == Metric::hamming || m == Metric::jaccard;
            DistanceComputer dc{};
            BOOST_TEST(make_distance_computer(r, m, 8, &dc) == (bits == bit_metric),
                       "rep " << int(r) << " metric " << int(m));
        }
    DistanceComputer dc{};
    BOOST_TEST(!make_distance_computer(static_cast<Representation>(0), Metric::l2sq, 8, &dc));
    BOOST_TEST(!make_distance_computer(Representation::f32, static_cast<Metric>(0), 8, &dc));
    BOOST_TEST(!make_distance_computer(Representation::f32, static_cast<Metric>(99), 8, &dc));
}

BOOST_AUTO_TEST_CASE(batch_equals_single_for_every_pair)
{
    ActiveTargetRestorer restore;
    const std::size_t count = 23;  // not a multiple of the 4-wide batch kernels
    for (const KernelTable *table : runnable_tables()) {
        quiver::core::select_target(table->target);
        for (std::uint32_t dim : {1u, 17u, 100u, 129u}) {
            BOOST_TEST_CONTEXT(table->name << " dim " << dim)
            {
                std::vector<std::vector<float>> f(count + 1);
                std::vector<std::vector<std::uint16_t>> h(count + 1);
                std::vector<std::vector<std::uint8_t>> b(count + 1);
                std::vector<std::vector<unsigned char>> s(count + 1);
                for (std::size_t i = 0; i <= count; ++i) {
                    f[i] = random_floats(dim, 100 + i);
                    for (float &x : f[i])  // small integers: every sum is exact in float32
                        x = std::round(x * 8.0f);
                    h[i] = random_halves(dim, 200 + i);
                    b[i] = random_bits(dim, 300 + i);
                    s[i] = sparse_code(sparse_dense(dim, 400 + i));
                }
                auto pointers = [&](const auto &rows) {
                    std::vector<const void *> p;
                    for (std::size_t i = 1; i <= count; ++i)
                        p.push_back(rows[i].data());
                    return p;
                };
                for (Metric m : {Metric::l2sq, Metric::neg_dot, Metric::l1}) {
                    check_batch(computer(Representation::f32, m, dim), f[0].data(), pointers(f),
                                true);
                    check_batch(computer(Representation::f16, m, dim), h[0].data(), pointers(h),
                                false);
                    check_batch(computer(Representation::sparse, m, dim), s[0].data(), pointers(s),
                                true);
                }
                for (Metric m : {Metric::hamming, Metric::jaccard})
                    check_batch(computer(Representation::bits, m, dim), b[0].data(), pointers(b),
                                true);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(code_sizes)
{
    using quiver::core::code_size;
    BOOST_TEST(code_size(Representation::f32, 100, nullptr) == 400u);
    BOOST_TEST(code_size(Representation::f16, 101, nullptr) == 202u);
    BOOST_TEST(code_size(Representation::bits, 1, nullptr) == 1u);
    BOOST_TEST(code_size(Representation::bits, 8, nullptr) == 1u);
    BOOST_TEST(code_size(Representation::bits, 9, nullptr) == 2u);
    std::vector<float> dense(50, 0.0f);
    dense[2] = 1.0f;
    dense[40] = -3.0f;
    std::vector<unsigned char> code = sparse_code(dense);
    BOOST_TEST(code_size(Representation::sparse, 50, code.data()) == 12u + 16u);
    BOOST_TEST(code_size(Representation::sparse, 50, code.data()) == code.size());
}

BOOST_AUTO_TEST_SUITE_END()
