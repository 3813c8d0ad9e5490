// k-means (quant/kmeans.h): determinism under a seed, recovery of well-separated clusters,
// empty-cluster re-seeding on duplicate rows, fewer rows than centroids, cancellation, the
// memory budget, invalid input, and kmeans_assign against brute force.
#include "test_util.h"

#include "quiver/core/quant/kmeans.h"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <vector>

namespace quiver::core::quant {
inline std::ostream &operator<<(std::ostream &os, KMeansStatus s)
{
    static const char *const names[] = {"ok", "cancelled", "over_budget", "invalid"};
    return os << names[static_cast<int>(s)];
}
}  // namespace quiver::core::quant

using namespace quiver_test;
using quiver::core::quant::kmeans;
using quiver::core::quant::kmeans_assign;
using quiver::core::quant::kmeans_memory;
using quiver::core::quant::KMeansParams;
using quiver::core::quant::KMeansStats;
using quiver::core::quant::KMeansStatus;

namespace {

struct Blobs {
    std::vector<float> rows, centres;
    std::vector<std::uint32_t> label;
};

// n rows around `clusters` centres drawn in [-spread, spread]^dim, Gaussian noise of sigma.
Blobs gaussian_blobs(std::size_t n, std::uint32_t dim, std::uint32_t clusters, float spread,
                     float sigma, std::uint32_t seed)
{
    Blobs b;
    b.centres = random_floats(std::size_t(clusters) * dim, seed, -spread, spread);
    std::mt19937 rng(seed + 1);
    std::normal_distribution<float> noise(0.0f, sigma);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t c = static_cast<std::uint32_t>(i % clusters);
        b.label.push_back(c);
        for (std::uint32_t j = 0; j < dim; ++j)
            b.rows.push_back(b.centres[c * dim + j] + noise(rng));
    }
    return b;
}

double l2sq(const float *a, const float *b, std::uint32_t dim)
{
    double s = 0.0;
    for (std::uint32_t j = 0; j < dim; ++j)
        s += (double(a[j]) - b[j]) * (double(a[j]) - b[j]);
    return s;
}

double dot(const float *a, const float *b, std::uint32_t dim)
{
    double s = 0.0;
    for (std::uint32_t j = 0; j < dim; ++j)
        s += double(a[j]) * b[j];
    return s;
}

// Sum over rows of the squared distance to the nearest of k centroids.
double objective_of(const std::vector<float> &rows, const std::vector<float> &centroids,
                    std::uint32_t dim)
{
    const std::size_t n = rows.size() / dim, k = centroids.size() / dim;
    double total = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        double best = std::numeric_limits<double>::max();
        for (std::size_t c = 0; c < k; ++c)
            best = std::min(best, l2sq(&rows[i * dim], &centroids[c * dim], dim));
        total += best;
    }
    return total;
}

bool all_finite(const std::vector<float> &v)
{
    for (float x : v)
        if (!std::isfinite(x))
            return false;
    return true;
}

KMeansParams params_for(std::uint32_t k, std::uint32_t iterations = 10)
{
    KMeansParams p;
    p.k = k;
    p.max_iterations = iterations;
    return p;
}

struct PollCounter {
    int calls = 0;
    int cancel_at = -1;  // the call that says "stop"; -1 never
    static bool poll(void *arg)
    {
        auto *self = static_cast<PollCounter *>(arg);
        return ++self->calls == self->cancel_at;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(quant_kmeans)

BOOST_AUTO_TEST_CASE(same_seed_same_centroids)
{
    const std::uint32_t dim = 24, k = 40;
    const std::vector<float> rows = random_floats(5000 * dim, 7);
    KMeansParams p = params_for(k);
    std::vector<float> a(k * dim), b(k * dim), c(k * dim);
    KMeansStats sa, sb;
    BOOST_TEST(kmeans(rows.data(), 5000, dim, p, a.data(), &sa) == KMeansStatus::ok);
    BOOST_TEST(kmeans(rows.data(), 5000, dim, p, b.data(), &sb) == KMeansStatus::ok);
    BOOST_TEST(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    BOOST_TEST(sa.objective == sb.objective);
    BOOST_TEST(sa.iterations == sb.iterations);
    p.seed += 1;
    BOOST_TEST(kmeans(rows.data(), 5000, dim, p, c.data()) == KMeansStatus::ok);
    BOOST_TEST(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)) != 0);
}

BOOST_AUTO_TEST_CASE(recovers_well_separated_clusters)
{
    const std::uint32_t dim = 12, k = 16;
    const std::size_t n = 4000;
    const Blobs blobs = gaussian_blobs(n, dim, k, 20.0f, 0.25f, 11);
    std::vector<float> centroids(k * dim);
    KMeansStats stats;
    BOOST_REQUIRE(kmeans(blobs.rows.data(), n, dim, params_for(k, 20), centroids.data(), &stats) ==
                  KMeansStatus::ok);
    // Every true centre has a centroid on top of it (the mean of ~250 points: within noise).
    for (std::uint32_t c = 0; c < k; ++c) {
        double nearest = std::numeric_limits<double>::max();
        for (std::uint32_t j = 0; j < k; ++j)
            nearest = std::min(nearest, l2sq(&blobs.centres[c * dim], &centroids[j * dim], dim));
        BOOST_TEST(std::sqrt(nearest) < 0.2,
                   "centre " << c << " is " << std::sqrt(nearest) << " away");
    }
    // The objective is the optimum's up to noise (the true centres give an upper bound on it),
    // and the reported objective is the objective of the returned centroids.
    const double with_true_centres = objective_of(blobs.rows, blobs.centres, dim);
    BOOST_TEST(stats.objective <= with_true_centres * 1.001);
    BOOST_TEST(stats.objective == objective_of(blobs.rows, centroids, dim),
               boost::test_tools::tolerance(1e-4));
    BOOST_TEST_MESSAGE("separated clusters: objective " << stats.objective << " (true centres "
                       << with_true_centres << "), " << stats.iterations << " iterations");
}

BOOST_AUTO_TEST_CASE(more_iterations_never_worsen_the_objective)
{
    const std::uint32_t dim = 8, k = 30;
    const std::vector<float> rows = random_floats(3000 * dim, 5);
    double previous = std::numeric_limits<double>::max();
    for (std::uint32_t iterations : {0u, 1u, 3u, 10u, 30u}) {
        std::vector<float> centroids(k * dim);
        KMeansStats stats;
        BOOST_REQUIRE(kmeans(rows.data(), 3000, dim, params_for(k, iterations), centroids.data(),
                             &stats) == KMeansStatus::ok);
        BOOST_TEST(stats.iterations <= iterations);
        BOOST_TEST(stats.objective <= previous * (1 + 1e-6));
        previous = stats.objective;
    }
}

BOOST_AUTO_TEST_CASE(duplicate_rows_reseed_empty_clusters)
{
    // 5 distinct rows, each 20 times, 12 centroids: at least 7 are always empty.
    const std::uint32_t dim = 6, k = 12;
    const std::vector<float> distinct = random_floats(5 * dim, 3, -5.0f, 5.0f);
    std::vector<float> rows;
    for (int copy = 0; copy < 20; ++copy)
        rows.insert(rows.end(), distinct.begin(), distinct.end());
    std::vector<float> centroids(k * dim);
    KMeansStats stats;
    BOOST_REQUIRE(kmeans(rows.data(), 100, dim, params_for(k, 5), centroids.data(), &stats) ==
                  KMeansStatus::ok);
    BOOST_TEST(stats.empty_reseeded >= 7u);
    BOOST_TEST(stats.objective <= 1e-6);
    BOOST_TEST(all_finite(centroids));
    // Every distinct row is (nearly exactly) one of the centroids.
    for (int r = 0; r < 5; ++r) {
        double nearest = std::numeric_limits<double>::max();
        for (std::uint32_t c = 0; c < k; ++c)
            nearest = std::min(nearest, l2sq(&distinct[r * dim], &centroids[c * dim], dim));
        BOOST_TEST(nearest <= 1e-8);
    }
}

BOOST_AUTO_TEST_CASE(fewer_rows_than_centroids)
{
    const std::uint32_t dim = 5, k = 10;
    const std::vector<float> rows = random_floats(3 * dim, 9, 2.0f, 3.0f);
    std::vector<float> centroids(k * dim);
    KMeansStats stats;
    BOOST_REQUIRE(kmeans(rows.data(), 3, dim, params_for(k), centroids.data(), &stats) ==
                  KMeansStatus::ok);
    BOOST_TEST(std::memcmp(centroids.data(), rows.data(), rows.size() * sizeof(float)) == 0);
    for (std::size_t c = 3; c < k; ++c)
        for (std::uint32_t j = 0; j < dim; ++j) {
            float lo = std::min({rows[j], rows[dim + j], rows[2 * dim + j]});
            float hi = std::max({rows[j], rows[dim + j], rows[2 * dim + j]});
            BOOST_TEST((centroids[c * dim + j] >= lo && centroids[c * dim + j] <= hi));
        }
    BOOST_TEST(stats.objective == 0.0);

    // No rows at all: points in [-1, 1]; spherical: unit length.
    BOOST_REQUIRE(kmeans(nullptr, 0, dim, params_for(k), centroids.data()) == KMeansStatus::ok);
    for (float x : centroids)
        BOOST_TEST((x >= -1.0f && x <= 1.0f));
    KMeansParams spherical = params_for(k);
    spherical.spherical = true;
    BOOST_REQUIRE(kmeans(rows.data(), 3, dim, spherical, centroids.data()) == KMeansStatus::ok);
    for (std::size_t c = 0; c < k; ++c)
        BOOST_TEST(dot(&centroids[c * dim], &centroids[c * dim], dim) == 1.0,
                   boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(spherical_centroids_are_unit_length)
{
    const std::uint32_t dim = 16, k = 12;
    std::vector<float> rows = random_floats(2000 * dim, 21);
    for (std::size_t i = 0; i < 2000; ++i) {
        const float norm = static_cast<float>(std::sqrt(dot(&rows[i * dim], &rows[i * dim], dim)));
        for (std::uint32_t j = 0; j < dim; ++j)
            rows[i * dim + j] /= norm;
    }
    KMeansParams p = params_for(k);
    p.spherical = true;
    std::vector<float> centroids(k * dim);
    BOOST_REQUIRE(kmeans(rows.data(), 2000, dim, p, centroids.data()) == KMeansStatus::ok);
    for (std::size_t c = 0; c < k; ++c)
        BOOST_TEST(dot(&centroids[c * dim], &centroids[c * dim], dim) == 1.0,
                   boost::test_tools::tolerance(1e-5));
    // Spherical assignment is the largest dot product.
    std::vector<std::uint32_t> assigned(2000);
    kmeans_assign(rows.data(), 2000, dim, centroids.data(), k, true, assigned.data());
    for (std::size_t i = 0; i < 2000; ++i) {
        double best = -std::numeric_limits<double>::max();
        for (std::size_t c = 0; c < k; ++c)
            best = std::max(best, dot(&rows[i * dim], &centroids[c * dim], dim));
        BOOST_TEST(dot(&rows[i * dim], &centroids[assigned[i] * dim], dim) >= best - 1e-5);
    }
}

BOOST_AUTO_TEST_CASE(cancellation_stops_seeding_and_iterations)
{
    const std::uint32_t dim = 8, k = 20;
    const std::vector<float> rows = random_floats(3000 * dim, 13);
    std::vector<float> centroids(k * dim);
    KMeansParams p = params_for(k, 5);
    p.interrupted = PollCounter::poll;

    PollCounter count_only;
    p.interrupted_arg = &count_only;
    BOOST_REQUIRE(kmeans(rows.data(), 3000, dim, p, centroids.data()) == KMeansStatus::ok);
    BOOST_TEST(count_only.calls > static_cast<int>(k));  // seeding polls once per centroid too

    const int kk = static_cast<int>(k);
    for (int at : {1, 2, kk / 2, kk + 1, count_only.calls}) {
        PollCounter cancel;
        cancel.cancel_at = at;
        p.interrupted_arg = &cancel;
        BOOST_TEST(kmeans(rows.data(), 3000, dim, p, centroids.data()) == KMeansStatus::cancelled,
                   "cancel at poll " << at);
        BOOST_TEST(cancel.calls == at);  // stops at once
    }
}

BOOST_AUTO_TEST_CASE(memory_budget_is_checked_up_front)
{
    const std::uint32_t dim = 10, k = 50;
    const std::size_t n = 5000;
    const std::vector<float> rows = random_floats(n * dim, 17);
    std::vector<float> centroids(k * dim);
    KMeansParams p = params_for(k, 3);
    const std::size_t need = kmeans_memory(n, dim, k);
    BOOST_TEST(need > n * sizeof(std::uint32_t));
    p.memory_budget = need - 1;
    BOOST_TEST(kmeans(rows.data(), n, dim, p, centroids.data()) == KMeansStatus::over_budget);
    p.memory_budget = 1;
    BOOST_TEST(kmeans(rows.data(), n, dim, p, centroids.data()) == KMeansStatus::over_budget);
    p.memory_budget = need;
    BOOST_TEST(kmeans(rows.data(), n, dim, p, centroids.data()) == KMeansStatus::ok);
    // Bounded blocks: k = 32768 on a million rows plans far less than n * k floats.
    BOOST_TEST(kmeans_memory(1000000, 100, 32768) < std::size_t(256) << 20);
}

BOOST_AUTO_TEST_CASE(invalid_input)
{
    std::vector<float> rows = random_floats(40, 1), centroids(40);
    BOOST_TEST(kmeans(rows.data(), 10, 4, params_for(0), centroids.data()) ==
               KMeansStatus::invalid);
    BOOST_TEST(kmeans(rows.data(), 10, 0, params_for(2), centroids.data()) ==
               KMeansStatus::invalid);
    BOOST_TEST(kmeans(rows.data(), 10, 4, params_for(2), nullptr) == KMeansStatus::invalid);
    BOOST_TEST(kmeans(nullptr, 10, 4, params_for(2), centroids.data()) == KMeansStatus::invalid);
}

BOOST_AUTO_TEST_CASE(assign_matches_brute_force)
{
    // Small integers: every product and sum is exact, so the choice must match exactly,
    // ties (duplicate centroids) included: the lowest index wins.
    const std::uint32_t dim = 7, k = 23;
    std::vector<float> rows = random_floats(1000 * dim, 31, -6.0f, 6.0f);
    std::vector<float> centroids = random_floats(k * dim, 32, -6.0f, 6.0f);
    for (float &x : rows)
        x = std::round(x);
    for (float &x : centroids)
        x = std::round(x);
    std::copy(centroids.begin(), centroids.begin() + dim, centroids.begin() + 5 * dim);
    std::vector<std::uint32_t> assigned(1000);
    kmeans_assign(rows.data(), 1000, dim, centroids.data(), k, false, assigned.data());
    for (std::size_t i = 0; i < 1000; ++i) {
        std::uint32_t best = 0;
        for (std::uint32_t c = 1; c < k; ++c)
            if (l2sq(&rows[i * dim], &centroids[c * dim], dim) <
                l2sq(&rows[i * dim], &centroids[best * dim], dim))
                best = c;
        BOOST_TEST(assigned[i] == best, "row " << i);
    }

    // Real values, more rows than one block: the chosen centroid is nearest up to rounding.
    const std::uint32_t d2 = 33, k2 = 300;
    const std::size_t n2 = 9000;
    rows = random_floats(n2 * d2, 41);
    centroids = random_floats(std::size_t(k2) * d2, 42);
    assigned.resize(n2);
    kmeans_assign(rows.data(), n2, d2, centroids.data(), k2, false, assigned.data());
    std::size_t exact = 0;
    for (std::size_t i = 0; i < n2; ++i) {
        double best = std::numeric_limits<double>::max();
        std::uint32_t best_c = 0;
        for (std::uint32_t c = 0; c < k2; ++c) {
            double d = l2sq(&rows[i * d2], &centroids[c * d2], d2);
            if (d < best) {
                best = d;
                best_c = c;
            }
        }
        BOOST_TEST(l2sq(&rows[i * d2], &centroids[assigned[i] * d2], d2) <= best + 1e-4);
        exact += assigned[i] == best_c;
    }
    BOOST_TEST(exact >= n2 - 5);
}

BOOST_AUTO_TEST_CASE(trains_k100_n10000_d100_quickly)
{
    const std::uint32_t dim = 100, k = 100;
    const std::size_t n = 10000;
    const Blobs blobs = gaussian_blobs(n, dim, 200, 1.0f, 0.3f, 77);
    std::vector<float> centroids(k * dim);
    KMeansStats stats;
    const auto start = std::chrono::steady_clock::now();
    BOOST_REQUIRE(kmeans(blobs.rows.data(), n, dim, params_for(k, 10), centroids.data(), &stats) ==
                  KMeansStatus::ok);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST_MESSAGE("k-means k=100 n=10000 dim=100, 10 iterations: " << seconds << " s ("
                       << stats.iterations << " iterations, " << stats.empty_reseeded
                       << " re-seeded)");
    BOOST_TEST(all_finite(centroids));
}

BOOST_AUTO_TEST_SUITE_END()
