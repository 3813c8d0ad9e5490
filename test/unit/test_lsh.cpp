// LSH hash families (lsh.h): each family's collision probability, measured over many drawn
// functions for pairs at known distances, matches the theory; keys and parameters are
// deterministic and survive an export/import; multi-probe sequences start at the home bucket,
// never repeat, go cheapest first and find near neighbours' buckets more often as they grow.
#include "test_util.h"

#include "quiver/core/lsh.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <set>
#include <vector>

using namespace quiver_test;
namespace lsh = quiver::core::lsh;
using lsh::Family;
using lsh::HashFamily;
using lsh::LshStatus;
using lsh::Params;

namespace {

constexpr double kPi = 3.14159265358979323846;

std::unique_ptr<HashFamily> make(Family family, std::uint32_t dim, std::uint32_t tables,
                                 std::uint32_t bits, std::uint64_t seed = 7, float width = 4.0f)
{
    Params p;
    p.family = family;
    p.dim = dim;
    p.tables = tables;
    p.bits = bits;
    p.width = width;
    p.seed = seed;
    std::unique_ptr<HashFamily> h;
    BOOST_REQUIRE(HashFamily::create(p, &h) == LshStatus::ok);
    return h;
}

// The fraction of all L x K functions that give x and y the same value.
double collision_rate(const HashFamily &h, const void *x, const void *y)
{
    const Params &p = h.params();
    std::vector<std::int32_t> vx(p.bits), vy(p.bits);
    std::size_t same = 0;
    for (std::uint32_t t = 0; t < p.tables; ++t) {
        h.values(x, t, vx.data());
        h.values(y, t, vy.data());
        for (std::uint32_t j = 0; j < p.bits; ++j)
            same += vx[j] == vy[j];
    }
    return double(same) / (double(p.tables) * p.bits);
}

std::vector<float> unit(std::vector<float> v)
{
    double n = 0;
    for (float x : v)
        n += double(x) * x;
    for (float &x : v)
        x = float(x / std::sqrt(n));
    return v;
}

// A unit vector at angle `theta` from unit vector x.
std::vector<float> at_angle(const std::vector<float> &x, double theta, std::uint32_t seed)
{
    std::vector<float> u = random_floats(x.size(), seed);
    double dot = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
        dot += double(u[i]) * x[i];
    for (std::size_t i = 0; i < x.size(); ++i)
        u[i] = float(u[i] - dot * x[i]);
    u = unit(u);
    std::vector<float> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        y[i] = float(std::cos(theta) * x[i] + std::sin(theta) * u[i]);
    return y;
}

void set_bit(std::vector<std::uint8_t> &b, std::uint32_t i) { b[i / 8] |= std::uint8_t(0x80 >> (i % 8)); }
void flip_bit(std::vector<std::uint8_t> &b, std::uint32_t i) { b[i / 8] ^= std::uint8_t(0x80 >> (i % 8)); }

// 2,048 functions: one pair's collision rate has a standard deviation of at most 0.011.
constexpr std::uint32_t kTables = 64, kBits = 32;
constexpr double kTolerance = 0.045;

}  // namespace

BOOST_AUTO_TEST_SUITE(lsh_families)

BOOST_AUTO_TEST_CASE(invalid_parameters_are_refused)
{
    std::unique_ptr<HashFamily> h;
    Params p;
    p.family = Family::simhash;
    p.dim = 8;
    p.tables = 4;
    p.bits = 8;
    BOOST_CHECK(HashFamily::create(p, &h) == LshStatus::ok);
    for (auto change : std::vector<void (*)(Params &)>{
             [](Params &q) { q.dim = 0; }, [](Params &q) { q.dim = 65536; },
             [](Params &q) { q.tables = 0; }, [](Params &q) { q.tables = 257; },
             [](Params &q) { q.bits = 0; }, [](Params &q) { q.bits = 65; },
             [](Params &q) { q.family = Family::pstable; q.width = 0; },
             [](Params &q) { q.family = Family::pstable; q.width = std::nanf(""); },
             [](Params &q) { q.family = static_cast<Family>(9); }}) {
        Params q = p;
        change(q);
        BOOST_CHECK(HashFamily::create(q, &h) == LshStatus::invalid);
        BOOST_CHECK_EQUAL(lsh::parameter_count(q), 0u);
    }
}

BOOST_AUTO_TEST_CASE(simhash_collides_with_probability_one_minus_angle_over_pi)
{
    auto h = make(Family::simhash, 32, kTables, kBits);
    std::vector<float> x = unit(random_floats(32, 1));
    for (double theta : {0.0, 0.2, 0.6, 1.0, 1.5, 2.5, kPi}) {
        std::vector<float> y = at_angle(x, theta, 2);
        const double expected = h->collision_probability(theta);
        BOOST_CHECK_CLOSE_FRACTION(expected, 1.0 - theta / kPi, 1e-12);
        BOOST_TEST_CONTEXT("angle " << theta)
        BOOST_CHECK_SMALL(collision_rate(*h, x.data(), y.data()) - expected, kTolerance);
    }
}

BOOST_AUTO_TEST_CASE(pstable_collides_as_datar_et_al_derive)
{
    const float w = 4.0f;
    auto h = make(Family::pstable, 16, kTables, kBits, 11, w);
    std::vector<float> x = random_floats(16, 3, -5.0f, 5.0f);
    std::vector<float> u = unit(random_floats(16, 4));
    double previous = 1.0;
    for (double c : {0.5, 1.0, 2.0, 4.0, 8.0, 16.0}) {
        std::vector<float> y(16);
        for (int i = 0; i < 16; ++i)
            y[i] = float(x[i] + c * u[i]);
        const double expected = h->collision_probability(c);
        BOOST_CHECK(expected < previous);  // farther pairs collide less
        previous = expected;
        BOOST_TEST_CONTEXT("distance " << c << ", expected " << expected)
        BOOST_CHECK_SMALL(collision_rate(*h, x.data(), y.data()) - expected, kTolerance);
    }
    // Values at two points of the formula (r = w / c): r = 1 gives 0.3687, r = 4 gives 0.8006.
    BOOST_CHECK_SMALL(h->collision_probability(4.0) - 0.3687, 1e-3);
    BOOST_CHECK_SMALL(h->collision_probability(1.0) - 0.8006, 1e-3);
    BOOST_CHECK_EQUAL(h->collision_probability(0.0), 1.0);
}

BOOST_AUTO_TEST_CASE(bit_sampling_collides_with_probability_one_minus_hamming_over_dim)
{
    auto h = make(Family::bit_sampling, 256, kTables, kBits);
    std::vector<std::uint8_t> x = random_bytes(32, 5);
    for (std::uint32_t d : {0u, 8u, 32u, 64u, 128u, 200u}) {
        std::vector<std::uint8_t> y = x;
        for (std::uint32_t i = 0; i < d; ++i)
            flip_bit(y, (i * 37) % 256);  // 37 is prime to 256: d distinct bits
        BOOST_TEST_CONTEXT("hamming " << d)
        BOOST_CHECK_SMALL(collision_rate(*h, x.data(), y.data()) - h->collision_probability(d), kTolerance);
    }
}

BOOST_AUTO_TEST_CASE(minhash_collides_with_probability_jaccard)
{
    auto h = make(Family::minhash, 512, kTables, kBits);
    // x = A + C, y = B + C with disjoint A, B, C: J = |C| / (|A| + |B| + |C|).
    for (auto [a, b, c] : std::vector<std::array<std::uint32_t, 3>>{
             {0, 0, 60}, {20, 20, 60}, {50, 50, 50}, {100, 60, 20}, {90, 90, 0}}) {
        std::vector<std::uint8_t> x(64, 0), y(64, 0);
        std::uint32_t pos = 3;
        for (std::uint32_t i = 0; i < a; ++i, pos += 1)
            set_bit(x, pos);
        for (std::uint32_t i = 0; i < b; ++i, pos += 1)
            set_bit(y, pos);
        for (std::uint32_t i = 0; i < c; ++i, pos += 1) {
            set_bit(x, pos);
            set_bit(y, pos);
        }
        const double j = double(c) / double(a + b + c);
        BOOST_TEST_CONTEXT("jaccard " << j)
        BOOST_CHECK_SMALL(collision_rate(*h, x.data(), y.data()) - h->collision_probability(j), kTolerance);
    }
    // The empty set hashes to the same value everywhere, and never to a non-empty set's.
    std::vector<std::uint8_t> empty(64, 0), one(64, 0);
    set_bit(one, 500);
    BOOST_CHECK_EQUAL(collision_rate(*h, empty.data(), empty.data()), 1.0);
    BOOST_CHECK_EQUAL(collision_rate(*h, empty.data(), one.data()), 0.0);
}

BOOST_AUTO_TEST_CASE(parameters_and_keys_are_deterministic_and_round_trip)
{
    for (Family f : {Family::bit_sampling, Family::simhash, Family::pstable, Family::minhash}) {
        const std::uint32_t dim = 64;
        auto a = make(f, dim, 8, 16, 42);
        auto b = make(f, dim, 8, 16, 42);
        auto c = make(f, dim, 8, 16, 43);
        BOOST_CHECK_EQUAL(a->parameters().size(), lsh::parameter_count(a->params()));
        BOOST_CHECK(a->parameters() == b->parameters());
        BOOST_CHECK(a->parameters() != c->parameters());

        std::unique_ptr<HashFamily> back;
        BOOST_REQUIRE(HashFamily::from_parameters(a->params(), a->parameters().data(),
                                                  a->parameters().size(), &back) == LshStatus::ok);
        BOOST_CHECK(HashFamily::from_parameters(a->params(), a->parameters().data(),
                                                a->parameters().size() - 1, &back) == LshStatus::invalid);
        std::vector<float> bad = a->parameters();
        bad[0] = std::nanf("");
        BOOST_CHECK(HashFamily::from_parameters(a->params(), bad.data(), bad.size(), &back) == LshStatus::invalid);
        BOOST_REQUIRE(HashFamily::from_parameters(a->params(), a->parameters().data(),
                                                  a->parameters().size(), &back) == LshStatus::ok);

        const bool bits = f == Family::bit_sampling || f == Family::minhash;
        std::vector<float> fv = random_floats(dim, 9);
        std::vector<std::uint8_t> bv = random_bytes(dim / 8, 9);
        const void *x = bits ? static_cast<const void *>(bv.data()) : static_cast<const void *>(fv.data());
        std::vector<std::uint64_t> ka(8), kb(8);
        a->keys(x, ka.data());
        back->keys(x, kb.data());
        BOOST_CHECK(ka == kb);
        if (f == Family::bit_sampling || f == Family::simhash) {
            // The key's bit j is function j's value.
            std::vector<std::int32_t> v(16);
            for (std::uint32_t t = 0; t < 8; ++t) {
                a->values(x, t, v.data());
                for (std::uint32_t j = 0; j < 16; ++j)
                    BOOST_CHECK_EQUAL((ka[t] >> j) & 1, std::uint64_t(v[j]));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(probes_start_home_never_repeat_and_go_cheapest_first)
{
    // bit_sampling: every bit costs the same, so the K = 10 one-bit changes come first, then
    // the 45 two-bit ones, then three-bit ones.
    {
        auto h = make(Family::bit_sampling, 128, 4, 10);
        std::vector<std::uint8_t> x = random_bytes(16, 6);
        std::vector<std::uint64_t> keys(4), out(100);
        h->keys(x.data(), keys.data());
        const std::size_t n = h->probes(x.data(), 2, 100, out.data());
        BOOST_REQUIRE_EQUAL(n, 100u);
        BOOST_CHECK_EQUAL(out[0], keys[2]);
        std::set<std::uint64_t> seen(out.begin(), out.begin() + n);
        BOOST_CHECK_EQUAL(seen.size(), n);
        for (std::size_t i = 1; i < n; ++i)
            BOOST_CHECK_EQUAL(__builtin_popcountll(out[i] ^ out[0]), i <= 10 ? 1 : i <= 55 ? 2 : 3);
    }
    // simhash with K = 6: all 64 buckets, each once, the first flip on the smallest margin.
    {
        auto h = make(Family::simhash, 16, 2, 6);
        std::vector<float> x = random_floats(16, 8);
        std::vector<std::uint64_t> out(100);
        const std::size_t n = h->probes(x.data(), 1, 100, out.data());
        BOOST_CHECK_EQUAL(n, 64u);
        BOOST_CHECK_EQUAL(std::set<std::uint64_t>(out.begin(), out.begin() + n).size(), 64u);
        // Moving x a little across its nearest hyperplane lands it in the second bucket.
        const std::vector<float> &dirs = h->parameters();
        int nearest = -1;
        double best = 1e300, best_dot = 0;
        for (int j = 0; j < 6; ++j) {
            const float *a = dirs.data() + (6 + j) * 16;
            double dot = 0, norm = 0;
            for (int i = 0; i < 16; ++i) {
                dot += double(a[i]) * x[i];
                norm += double(a[i]) * a[i];
            }
            if (std::fabs(dot) / std::sqrt(norm) < best) {
                best = std::fabs(dot) / std::sqrt(norm);
                nearest = j;
                best_dot = dot / norm;
            }
        }
        std::vector<float> y = x;
        const float *a = dirs.data() + (6 + nearest) * 16;
        for (int i = 0; i < 16; ++i)
            y[i] = float(x[i] - 1.001 * best_dot * a[i]);
        std::vector<std::uint64_t> ky(2);
        h->keys(y.data(), ky.data());
        BOOST_CHECK_EQUAL(__builtin_popcountll(ky[1] ^ out[0]), 1);
        BOOST_CHECK_EQUAL(ky[1] ^ out[0], std::uint64_t(1) << nearest);
    }
    // minhash probes its own bucket only.
    {
        auto h = make(Family::minhash, 64, 2, 4);
        std::vector<std::uint8_t> x = random_bytes(8, 10);
        std::vector<std::uint64_t> out(5);
        BOOST_CHECK_EQUAL(h->probes(x.data(), 0, 5, out.data()), 1u);
        BOOST_CHECK_EQUAL(h->probes(x.data(), 0, 0, out.data()), 0u);
    }
}

BOOST_AUTO_TEST_CASE(more_probes_find_near_neighbours_more_often)
{
    // For pairs at a small angle (simhash) or distance (pstable), the share of tables where y's
    // bucket is among x's first T probes grows with T; T = 1 is the plain key collision.
    for (Family f : {Family::simhash, Family::pstable}) {
        const std::uint32_t dim = 24, tables = 8, bits = 12;
        auto h = make(f, dim, tables, bits, 5, 2.0f);
        const int pairs = 150;
        std::vector<double> share(3, 0.0);
        const std::size_t ts[3] = {1, 8, 64};
        std::vector<std::uint64_t> ky(tables), out(64);
        for (int p = 0; p < pairs; ++p) {
            std::vector<float> x = unit(random_floats(dim, 100 + p));
            std::vector<float> y = at_angle(x, 0.25, 1000 + p);  // unit vectors: distance 0.249
            h->keys(y.data(), ky.data());
            for (std::uint32_t t = 0; t < tables; ++t) {
                const std::size_t n = h->probes(x.data(), t, 64, out.data());
                for (int s = 0; s < 3; ++s)
                    share[s] += std::find(out.begin(), out.begin() + std::min(n, ts[s]), ky[t]) !=
                                out.begin() + std::min(n, ts[s]);
            }
        }
        for (double &s : share)
            s /= double(pairs) * tables;
        BOOST_TEST_MESSAGE("family " << int(f) << ": T=1 " << share[0] << ", T=8 " << share[1]
                                     << ", T=64 " << share[2]);
        BOOST_CHECK(share[1] > share[0] + 0.1);
        BOOST_CHECK(share[2] > share[1]);
        BOOST_CHECK(share[2] > 0.8);
    }
}

BOOST_AUTO_TEST_SUITE_END()
