// The in-memory HNSW graph in a shared region, built by several writers at once (parallel index
// builds use processes; threads stand in for them here, each with its own Graph attached to the
// region, which is all a process would share).
#include "quiver/core/hnsw_graph.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

using quiver::core::DistanceComputer;
using quiver::core::Metric;
using quiver::core::Representation;
namespace hnsw = quiver::core::hnsw;

namespace {

DistanceComputer l2(std::uint32_t dim)
{
    DistanceComputer dc{};
    BOOST_REQUIRE(quiver::core::make_distance_computer(Representation::f32, Metric::l2sq, dim, &dc));
    return dc;
}

// Uniform random rows in [0, 1)^dim, fixed seed.
std::vector<float> uniform_rows(std::size_t rows, std::size_t dim, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> x(0.0f, 1.0f);
    std::vector<float> out(rows * dim);
    for (float &v : out)
        v = x(rng);
    return out;
}

struct Region {
    std::vector<std::uint64_t> words;  // 8-aligned storage
    explicit Region(std::size_t bytes) : words((bytes + 7) / 8) {}
    void *data() { return words.data(); }
    std::size_t bytes() const { return words.size() * 8; }
};

// Adds rows [0, n) of `data` from `writers` threads (row i by thread i % writers), label = i.
void build_in_parallel(Region &region, const DistanceComputer &dc, const std::vector<float> &data,
                       std::size_t dim, std::size_t n, int writers, std::vector<hnsw::Status> *status)
{
    status->assign(n, hnsw::Status::over_budget);
    std::vector<std::thread> threads;
    for (int t = 0; t < writers; ++t)
        threads.emplace_back([&, t] {
            hnsw::Graph g(region.data(), dc, static_cast<std::uint64_t>(t) + 1);
            for (std::size_t i = static_cast<std::size_t>(t); i < n; i += static_cast<std::size_t>(writers)) {
                std::uint32_t id;
                (*status)[i] = g.add(&data[i * dim], sizeof(float) * dim, i, &id);
            }
        });
    for (auto &th : threads)
        th.join();
}

// The region formatted for `p` and `dc`, then filled by build_in_parallel.
void format_and_build(Region &region, const hnsw::BuildParams &p, const DistanceComputer &dc,
                      const std::vector<float> &data, std::size_t dim, std::size_t n, int writers,
                      std::vector<hnsw::Status> *status)
{
    BOOST_REQUIRE(hnsw::Graph::format_shared(region.data(), region.bytes(), p, dc));
    build_in_parallel(region, dc, data, dim, n, writers, status);
}

// Every node reachable on level 0 from the entry point.
std::size_t reachable(const hnsw::Graph &g)
{
    std::vector<bool> seen(g.size());
    std::vector<std::uint32_t> queue{g.entry_point()};
    seen[g.entry_point()] = true;
    for (std::size_t head = 0; head < queue.size(); ++head) {
        auto [links, n] = g.neighbors(queue[head], 0);
        for (std::size_t i = 0; i < n; ++i)
            if (!seen[links[i]]) {
                seen[links[i]] = true;
                queue.push_back(links[i]);
            }
    }
    return queue.size();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hnsw_shared_graph)

BOOST_AUTO_TEST_CASE(four_writers_build_one_good_graph)
{
    const std::size_t dim = 8, n = 6000;
    const std::vector<float> data = uniform_rows(n, dim, 7);
    const DistanceComputer dc = l2(dim);
    hnsw::BuildParams p;
    p.m = 8;
    p.ef_construction = 48;
    Region region(std::size_t(8) << 20);
    std::vector<hnsw::Status> status;
    format_and_build(region, p, dc, data, dim, n, 4, &status);
    BOOST_TEST(std::count(status.begin(), status.end(), hnsw::Status::ok) == static_cast<long>(n));

    hnsw::Graph g(region.data(), dc, 99);
    BOOST_REQUIRE(g.is_shared());
    BOOST_REQUIRE(g.size() == n);
    std::vector<int> label_seen(n, 0);
    int highest = -1;
    for (std::uint32_t id = 0; id < g.size(); ++id) {
        auto [labels, nl] = g.labels(id);
        BOOST_REQUIRE(nl == 1u);
        BOOST_REQUIRE(labels[0] < n);
        label_seen[labels[0]]++;
        BOOST_REQUIRE(std::memcmp(g.code(id), &data[labels[0] * dim], sizeof(float) * dim) == 0);
        highest = std::max(highest, g.level(id));
        for (int level = 0; level <= g.level(id); ++level) {
            auto [links, nn] = g.neighbors(id, level);
            BOOST_REQUIRE(nn <= std::size_t(level == 0 ? 16 : 8));
            for (std::size_t i = 0; i < nn; ++i) {
                BOOST_REQUIRE(links[i] != id);
                BOOST_REQUIRE(links[i] < g.size());
                BOOST_REQUIRE(g.level(links[i]) >= level);
            }
        }
    }
    BOOST_TEST(std::all_of(label_seen.begin(), label_seen.end(), [](int c) { return c == 1; }));
    BOOST_TEST(g.max_level() == highest);
    BOOST_TEST(g.level(g.entry_point()) == g.max_level());
    // Later links can take a node's in-links away again; the writer of the pages repairs the few
    // left out (hnswwrite.cpp), as for a graph built by one process.
    BOOST_TEST(reachable(g) >= n - n / 200);

    // Recall@10 at ef 64 against brute force, 50 queries drawn from the same clusters.
    const std::vector<float> queries = uniform_rows(50, dim, 8);
    std::size_t hits = 0;
    std::vector<float> exact(n);
    for (std::size_t q = 0; q < 50; ++q) {
        const float *qv = &queries[q * dim];
        for (std::size_t i = 0; i < n; ++i)
            exact[i] = dc(qv, &data[i * dim]);
        std::nth_element(exact.begin(), exact.begin() + 9, exact.end());
        const float kth = exact[9] * (1 + 1e-5f);
        for (const hnsw::Neighbor &r : g.search(qv, 10, 64))
            hits += r.distance <= kth;
    }
    BOOST_TEST(double(hits) / 500.0 >= 0.95);
}

BOOST_AUTO_TEST_CASE(duplicates_from_several_writers_share_nodes)
{
    const std::size_t dim = 8, distinct = 40, copies = 25;
    const std::vector<float> base = uniform_rows(distinct, dim, 3);
    std::vector<float> data;
    for (std::size_t c = 0; c < copies; ++c)
        data.insert(data.end(), base.begin(), base.end());
    const std::size_t n = distinct * copies;
    const DistanceComputer dc = l2(dim);
    hnsw::BuildParams p;
    p.m = 4;
    p.ef_construction = 16;
    Region region(std::size_t(2) << 20);
    std::vector<hnsw::Status> status;
    format_and_build(region, p, dc, data, dim, n, 3, &status);
    hnsw::Graph g(region.data(), dc, 5);
    // Every row's label is somewhere, once; nodes hold only rows with their own code.
    std::map<std::uint64_t, int> where;
    for (std::uint32_t id = 0; id < g.size(); ++id) {
        auto [labels, nl] = g.labels(id);
        for (std::size_t i = 0; i < nl; ++i) {
            where[labels[i]]++;
            BOOST_REQUIRE(std::memcmp(g.code(id), &data[labels[i] * dim], sizeof(float) * dim) == 0);
        }
    }
    BOOST_TEST(where.size() == n);
    BOOST_TEST(std::all_of(where.begin(), where.end(), [](const auto &e) { return e.second == 1; }));
    // Two writers may both make a node for one code at the same moment, rarely more.
    BOOST_TEST(g.size() >= distinct);
    BOOST_TEST(g.size() <= 3 * distinct);
    BOOST_TEST(reachable(g) >= g.size() - g.size() / 20);
}

BOOST_AUTO_TEST_CASE(a_full_region_refuses_more_and_stays_usable)
{
    const std::size_t dim = 32, n = 4000;
    const std::vector<float> data = uniform_rows(n, dim, 11);
    const DistanceComputer dc = l2(dim);
    hnsw::BuildParams p;
    p.m = 8;
    p.ef_construction = 32;
    Region region(256 * 1024);
    std::vector<hnsw::Status> status;
    format_and_build(region, p, dc, data, dim, n, 2, &status);
    const auto ok = static_cast<std::size_t>(std::count(status.begin(), status.end(), hnsw::Status::ok));
    BOOST_TEST_MESSAGE("shared hnsw: " << ok << " of " << n << " nodes fit in 256 KiB");
    BOOST_TEST(ok > 100u);
    BOOST_TEST(ok < n);
    hnsw::Graph g(region.data(), dc, 3);
    BOOST_TEST(g.size() == ok);
    BOOST_TEST(reachable(g) >= ok - ok / 20);
    BOOST_TEST(g.search(&data[0], 5, 20).size() == 5u);
}

BOOST_AUTO_TEST_CASE(a_handle_for_another_computer_or_region_has_no_room)
{
    const DistanceComputer dc8 = l2(8), dc4 = l2(4);
    hnsw::BuildParams p;
    Region region(1 << 20);
    BOOST_REQUIRE(hnsw::Graph::format_shared(region.data(), region.bytes(), p, dc8));
    hnsw::Graph wrong(region.data(), dc4, 1);
    BOOST_TEST(!wrong.is_shared());
    const float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    std::uint32_t id;
    BOOST_TEST((wrong.add(v, sizeof v, 1, &id) == hnsw::Status::over_budget));
    Region blank(1 << 16);
    hnsw::Graph none(blank.data(), dc8, 1);
    BOOST_TEST((none.add(v, sizeof v, 1, &id) == hnsw::Status::over_budget));
    BOOST_TEST(!hnsw::Graph::format_shared(blank.data(), 64, p, dc8));
    BOOST_TEST(hnsw::Graph::shared_minimum(p, dc8) > 64u);
}

BOOST_AUTO_TEST_SUITE_END()
