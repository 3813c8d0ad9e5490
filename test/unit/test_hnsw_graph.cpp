// The in-memory HNSW graph: recall against brute force (real GloVe data when present, else a
// synthetic clustered set), every representation, determinism, duplicates, the memory budget,
// structural invariants, empty and one-node graphs. Data: $QUIVER_DATA_DIR, else the copy
// bundled in QUIVER_SOURCE_DIR/test/data (compile definition set by CMake), else test/data
// relative to the working directory or its parents.
#include "test_data.h"
#include "test_util.h"

#include "quiver/core/hnsw_graph.h"
#include "quiver/core/visited.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

// Lets Boost.Test print a Status in failure messages.
namespace quiver::core::hnsw {
std::ostream &operator<<(std::ostream &os, Status s)
{
    return os << (s == Status::ok ? "ok" : s == Status::duplicate ? "duplicate" : "over_budget");
}
}  // namespace quiver::core::hnsw

using namespace quiver_test;
using quiver::core::DistanceComputer;
using quiver::core::Metric;
using quiver::core::Representation;
namespace hnsw = quiver::core::hnsw;

namespace {

// ---- helpers --------------------------------------------------------------------------------

DistanceComputer computer(Representation r, Metric m, std::uint32_t dim)
{
    DistanceComputer dc{};
    BOOST_REQUIRE(make_distance_computer(r, m, dim, &dc));
    return dc;
}

hnsw::BuildParams params(int m = 16, int ef_construction = 64)
{
    hnsw::BuildParams p;
    p.m = m;
    p.ef_construction = ef_construction;
    return p;
}

// Codes as byte strings, so every representation goes through the same helpers.
using Codes = std::vector<std::vector<unsigned char>>;

template <class T> std::vector<unsigned char> bytes_of(const T *p, std::size_t n)
{
    std::vector<unsigned char> b(n * sizeof(T));
    std::memcpy(b.data(), p, b.size());
    return b;
}

void build(hnsw::Graph &g, const Codes &codes)
{
    for (std::size_t i = 0; i < codes.size(); ++i) {
        std::uint32_t id = 0;
        BOOST_REQUIRE(g.add(codes[i].data(), codes[i].size(), i, &id) == hnsw::Status::ok);
        BOOST_REQUIRE(id == i);
    }
}

// Recall@k that forgives ties: a result counts when it is no farther than the true k-th.
// (On glove-100-small this is a little above id-based recall against gt.ivecs.)
double recall_at(const hnsw::Graph &g, const DistanceComputer &dc, const Codes &base,
                 const Codes &queries, std::size_t k, std::size_t ef)
{
    std::size_t hits = 0;
    std::vector<float> exact(base.size());
    for (const auto &q : queries) {
        for (std::size_t i = 0; i < base.size(); ++i)
            exact[i] = dc(q.data(), base[i].data());
        std::nth_element(exact.begin(), exact.begin() + (k - 1), exact.end());
        // The graph's batch kernels may round the last bit differently from the single one.
        const float kth = exact[k - 1] + 1e-5f * std::max(1.0f, std::fabs(exact[k - 1]));
        for (const hnsw::Neighbor &n : g.search(q.data(), k, ef))
            hits += n.distance <= kth;
    }
    return double(hits) / double(queries.size() * k);
}

// Structural invariants every graph must keep.
void check_invariants(const hnsw::Graph &g)
{
    const std::size_t m = static_cast<std::size_t>(g.params().m);
    int highest = -1;
    for (std::uint32_t id = 0; id < g.size(); ++id) {
        BOOST_REQUIRE(g.level(id) >= 0);
        highest = std::max(highest, g.level(id));
        for (int level = 0; level <= g.level(id); ++level) {
            auto [links, n] = g.neighbors(id, level);
            BOOST_REQUIRE(n <= (level == 0 ? 2 * m : m));
            std::vector<std::uint32_t> seen(links, links + n);
            std::sort(seen.begin(), seen.end());
            BOOST_REQUIRE(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
            for (std::size_t i = 0; i < n; ++i) {
                BOOST_REQUIRE(links[i] != id);
                BOOST_REQUIRE(links[i] < g.size());
                BOOST_REQUIRE(g.level(links[i]) >= level);
            }
        }
        BOOST_REQUIRE(g.neighbors(id, g.level(id) + 1).second == 0u);
        BOOST_REQUIRE(g.labels(id).second >= 1u);
    }
    BOOST_REQUIRE(g.max_level() == highest);
    if (g.size() > 0)
        BOOST_REQUIRE(g.level(g.entry_point()) == g.max_level());
    BOOST_REQUIRE(g.memory_used() <= g.params().memory_budget);
}

// Everything observable about a graph, to compare two graphs or one graph before and after.
std::vector<std::uint64_t> fingerprint(const hnsw::Graph &g)
{
    std::vector<std::uint64_t> f{g.size(), std::uint64_t(g.max_level() + 1), g.entry_point()};
    for (std::uint32_t id = 0; id < g.size(); ++id) {
        f.push_back(std::uint64_t(g.level(id)));
        for (int level = 0; level <= g.level(id); ++level) {
            auto [links, n] = g.neighbors(id, level);
            f.push_back(n);
            f.insert(f.end(), links, links + n);
        }
        auto [labels, n] = g.labels(id);
        f.insert(f.end(), labels, labels + n);
        const auto *c = static_cast<const unsigned char *>(g.code(id));
        f.insert(f.end(), c, c + g.code_bytes(id));
    }
    return f;
}

Codes f32_codes(const float *rows, std::size_t n, std::size_t dim)
{
    Codes c(n);
    for (std::size_t i = 0; i < n; ++i)
        c[i] = bytes_of(rows + i * dim, dim);
    return c;
}

std::vector<unsigned char> sparse_code(std::uint32_t dim, const std::vector<std::int32_t> &indices,
                                       const std::vector<float> &values)
{
    const std::int32_t header[3] = {static_cast<std::int32_t>(dim),
                                    static_cast<std::int32_t>(indices.size()), 0};
    std::vector<unsigned char> code(12 + 8 * indices.size());
    std::memcpy(code.data(), header, 12);
    if (!indices.empty()) {  // memcpy from an empty vector's null data() is undefined
        std::memcpy(code.data() + 12, indices.data(), 4 * indices.size());
        std::memcpy(code.data() + 12 + 4 * indices.size(), values.data(), 4 * values.size());
    }
    return code;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hnsw_graph)

BOOST_AUTO_TEST_CASE(visited_marks_survive_epoch_wraparound)
{
    quiver::core::VisitedMarks marks;
    marks.reserve(4);
    marks.resize(4);
    marks.start_search();
    marks.mark(2);  // tagged with epoch 1; it must not count as visited when epoch 1 returns
    for (int search = 0; search < 70000; ++search) {
        marks.start_search();
        BOOST_REQUIRE(!marks.visited(2));
        BOOST_REQUIRE(marks.first_visit(1));
        BOOST_REQUIRE(!marks.first_visit(1));
    }
}

BOOST_AUTO_TEST_CASE(empty_graph)
{
    hnsw::Graph g(params(), computer(Representation::f32, Metric::l2sq, 4));
    const float q[4] = {1, 2, 3, 4};
    BOOST_TEST(g.size() == 0u);
    BOOST_TEST(g.max_level() == -1);
    BOOST_TEST(g.search(q, 10, 40).empty());
    check_invariants(g);
}

BOOST_AUTO_TEST_CASE(one_node_graph)
{
    hnsw::Graph g(params(), computer(Representation::f32, Metric::l2sq, 4));
    const float v[4] = {1, 2, 3, 4}, q[4] = {0, 0, 0, 0};
    std::uint32_t id = 99;
    BOOST_TEST(g.add(v, sizeof v, 7, &id) == hnsw::Status::ok);
    BOOST_TEST(id == 0u);
    BOOST_TEST(g.size() == 1u);
    BOOST_TEST(g.entry_point() == 0u);
    BOOST_TEST(g.neighbors(0, 0).second == 0u);
    BOOST_TEST(g.labels(0).second == 1u);
    BOOST_TEST(g.labels(0).first[0] == 7u);
    BOOST_TEST(std::memcmp(g.code(0), v, sizeof v) == 0);
    std::vector<hnsw::Neighbor> r = g.search(q, 5, 10);
    BOOST_REQUIRE(r.size() == 1u);
    BOOST_TEST(r[0].id == 0u);
    BOOST_TEST(r[0].distance == 30.0f);
    BOOST_TEST(g.search(q, 0, 10).empty());
    check_invariants(g);
}

BOOST_AUTO_TEST_CASE(random_level_is_seeded_capped_and_geometric)
{
    std::uint64_t a = 1, b = 1;
    std::size_t above_zero = 0;
    const int draws = 100000;
    for (int i = 0; i < draws; ++i) {
        const int la = hnsw::random_level(&a, 16);
        BOOST_REQUIRE(la == hnsw::random_level(&b, 16));
        BOOST_REQUIRE(la >= 0);
        BOOST_REQUIRE(la <= hnsw::max_level_for(16));
        above_zero += la > 0;
    }
    // P(level > 0) = 1/m.
    BOOST_TEST(std::fabs(double(above_zero) / draws - 1.0 / 16) < 0.005);
    BOOST_TEST(hnsw::max_level_for(16) == 82);  // pgvector's HnswGetMaxLevel(16)
    BOOST_TEST(hnsw::max_level_for(2) == 255);
    BOOST_TEST(hnsw::max_level_for(100) == 11);
}

BOOST_AUTO_TEST_CASE(l2_recall_on_glove_or_clusters)
{
    const Dataset &d = glove_or_synthetic();
    const auto dim = static_cast<std::uint32_t>(d.dim);
    DistanceComputer dc = computer(Representation::f32, Metric::l2sq, dim);
    hnsw::Graph g(params(16, 64), dc);
    Codes base = f32_codes(d.base.data(), d.rows(), d.dim);
    Codes queries = f32_codes(d.queries.data(), d.query_rows(), d.dim);
    build(g, base);
    check_invariants(g);
    const double recall = recall_at(g, dc, base, queries, 10, 64);
    BOOST_TEST_MESSAGE("hnsw l2 f32 recall@10 (ef 64): " << recall);
    BOOST_TEST(recall >= 0.95);
}

BOOST_AUTO_TEST_CASE(l2_recall_on_float16)
{
    const Dataset &d = glove_or_synthetic();
    const std::size_t rows = 3000, nq = 100;
    const auto dim = static_cast<std::uint32_t>(d.dim);
    auto halves = [&](const float *p) {
        std::vector<std::uint16_t> h(d.dim);
        for (std::size_t j = 0; j < d.dim; ++j)
            h[j] = quiver::core::float_to_half(p[j]);
        return bytes_of(h.data(), h.size());
    };
    Codes base(rows), queries(nq);
    for (std::size_t i = 0; i < rows; ++i)
        base[i] = halves(d.row(i));
    for (std::size_t i = 0; i < nq; ++i)
        queries[i] = halves(d.query(i));
    DistanceComputer dc = computer(Representation::f16, Metric::l2sq, dim);
    hnsw::Graph g(params(), dc);
    build(g, base);
    check_invariants(g);
    const double recall = recall_at(g, dc, base, queries, 10, 64);
    BOOST_TEST_MESSAGE("hnsw l2 f16 recall@10 (ef 64): " << recall);
    BOOST_TEST(recall >= 0.95);
}

BOOST_AUTO_TEST_CASE(cosine_as_neg_dot_on_normalised_vectors)
{
    const Dataset &d = glove_or_synthetic();
    const std::size_t rows = 3000, nq = 100;
    auto normalised = [&](const float *p) {
        double norm = 0;
        for (std::size_t j = 0; j < d.dim; ++j)
            norm += double(p[j]) * p[j];
        std::vector<float> v(p, p + d.dim);
        for (float &x : v)
            x = static_cast<float>(x / std::sqrt(norm));
        return bytes_of(v.data(), v.size());
    };
    Codes base(rows), queries(nq);
    for (std::size_t i = 0; i < rows; ++i)
        base[i] = normalised(d.row(i));
    for (std::size_t i = 0; i < nq; ++i)
        queries[i] = normalised(d.query(i));
    DistanceComputer dc = computer(Representation::f32, Metric::neg_dot, std::uint32_t(d.dim));
    hnsw::Graph g(params(), dc);
    build(g, base);
    check_invariants(g);
    const double recall = recall_at(g, dc, base, queries, 10, 64);
    BOOST_TEST_MESSAGE("hnsw cosine (neg_dot) recall@10 (ef 64): " << recall);
    BOOST_TEST(recall >= 0.95);
}

BOOST_AUTO_TEST_CASE(hamming_on_clustered_binary_codes)
{
    const std::uint32_t bits = 256;
    const std::size_t rows = 3000, nq = 100, clusters = 30;
    std::mt19937 rng(7);
    std::vector<std::vector<std::uint8_t>> centres;
    for (std::size_t c = 0; c < clusters; ++c)
        centres.push_back(random_bytes(bits / 8, 1000 + std::uint32_t(c)));
    auto draw = [&] {
        std::vector<std::uint8_t> v = centres[rng() % clusters];
        for (int flips = 0; flips < 100; ++flips) {
            const std::uint32_t bit = rng() % bits;
            v[bit / 8] ^= std::uint8_t(1u << (bit % 8));
        }
        return bytes_of(v.data(), v.size());
    };
    Codes base(rows), queries(nq);
    for (auto &c : base)
        c = draw();
    for (auto &c : queries)
        c = draw();
    DistanceComputer dc = computer(Representation::bits, Metric::hamming, bits);
    hnsw::Graph g(params(), dc);
    for (std::size_t i = 0; i < rows; ++i) {
        std::uint32_t id;
        BOOST_REQUIRE(g.add(base[i].data(), base[i].size(), i, &id) != hnsw::Status::over_budget);
    }
    check_invariants(g);
    const double recall = recall_at(g, dc, base, queries, 10, 64);
    BOOST_TEST_MESSAGE("hnsw hamming recall@10 (ef 64): " << recall);
    BOOST_TEST(recall >= 0.95);
}

BOOST_AUTO_TEST_CASE(sparse_l2_on_clustered_sparse_vectors)
{
    const std::uint32_t dim = 5000;
    const std::size_t rows = 2000, nq = 100, clusters = 25, support = 40;
    std::mt19937 rng(11);
    std::vector<std::vector<std::int32_t>> supports(clusters);
    for (auto &s : supports) {
        while (s.size() < support) {
            s.push_back(std::int32_t(rng() % dim));
            std::sort(s.begin(), s.end());
            s.erase(std::unique(s.begin(), s.end()), s.end());
        }
    }
    std::normal_distribution<float> value(1.0f, 0.5f);
    auto draw = [&] {
        const auto &s = supports[rng() % clusters];
        std::vector<std::int32_t> indices;
        std::vector<float> values;
        for (std::int32_t i : s)
            if (rng() % 2 != 0) {  // each point keeps about half its cluster's support
                indices.push_back(i);
                values.push_back(value(rng));
            }
        return sparse_code(dim, indices, values);
    };
    Codes base(rows), queries(nq);
    for (auto &c : base)
        c = draw();
    for (auto &c : queries)
        c = draw();
    DistanceComputer dc = computer(Representation::sparse, Metric::l2sq, dim);
    hnsw::Graph g(params(), dc);
    build(g, base);
    check_invariants(g);
    for (std::uint32_t id = 0; id < g.size(); ++id) {
        BOOST_REQUIRE(g.code_bytes(id) == base[id].size());
        BOOST_REQUIRE(std::memcmp(g.code(id), base[id].data(), base[id].size()) == 0);
    }
    const double recall = recall_at(g, dc, base, queries, 10, 64);
    BOOST_TEST_MESSAGE("hnsw sparse l2 recall@10 (ef 64): " << recall);
    BOOST_TEST(recall >= 0.95);
}

BOOST_AUTO_TEST_CASE(same_input_and_seed_give_the_same_graph)
{
    Dataset d = synthetic_clusters(2000, 0, 24, 3);
    Codes base = f32_codes(d.base.data(), d.rows(), d.dim);
    DistanceComputer dc = computer(Representation::f32, Metric::l2sq, 24);
    hnsw::Graph a(params(8, 40), dc), b(params(8, 40), dc);
    build(a, base);
    build(b, base);
    BOOST_TEST((fingerprint(a) == fingerprint(b)));
    BOOST_TEST(a.max_level() >= 1);  // the test would be weak on a single level

    hnsw::BuildParams other = params(8, 40);
    other.seed = 12345;
    hnsw::Graph c(other, dc);
    build(c, base);
    BOOST_TEST((fingerprint(a) != fingerprint(c)));
}

BOOST_AUTO_TEST_CASE(duplicates_share_a_node)
{
    Dataset d = synthetic_clusters(500, 0, 16, 5);
    for (Metric metric : {Metric::l2sq, Metric::neg_dot, Metric::l1}) {
        BOOST_TEST_CONTEXT("metric " << int(metric))
        {
            DistanceComputer dc = computer(Representation::f32, metric, 16);
            hnsw::Graph g(params(8, 32), dc);
            Codes base = f32_codes(d.base.data(), d.rows(), d.dim);
            build(g, base);
            // Re-insert every 10th row twice with new labels.
            for (std::size_t i = 0; i < base.size(); i += 10) {
                for (std::uint64_t copy = 1; copy <= 2; ++copy) {
                    std::uint32_t id = 0;
                    const std::uint64_t label = 1000000 * copy + i;
                    BOOST_REQUIRE(g.add(base[i].data(), base[i].size(), label, &id) ==
                                  hnsw::Status::duplicate);
                    BOOST_REQUIRE(id == i);
                }
                auto [labels, n] = g.labels(std::uint32_t(i));
                BOOST_REQUIRE(n == 3u);
                BOOST_TEST(labels[0] == i);
                BOOST_TEST(labels[1] == 1000000 + i);
                BOOST_TEST(labels[2] == 2000000 + i);
            }
            BOOST_TEST(g.size() == base.size());
            check_invariants(g);
            // A vector one ulp away is not a duplicate.
            std::vector<float> near(d.row(3), d.row(3) + 16);
            near[0] = std::nextafter(near[0], 10.0f);
            std::uint32_t id;
            BOOST_TEST(g.add(near.data(), 64, 77, &id) == hnsw::Status::ok);
            BOOST_TEST(id == base.size());
        }
    }
}

BOOST_AUTO_TEST_CASE(duplicates_from_the_start)
{
    // Many copies of few vectors: the graph must stay small and searchable.
    DistanceComputer dc = computer(Representation::f32, Metric::l2sq, 3);
    hnsw::Graph g(params(4, 16), dc);
    for (std::uint64_t i = 0; i < 300; ++i) {
        const float v[3] = {float(i % 3), 0.0f, 1.0f};
        std::uint32_t id;
        const hnsw::Status s = g.add(v, sizeof v, i, &id);
        BOOST_REQUIRE(s == (i < 3 ? hnsw::Status::ok : hnsw::Status::duplicate));
        BOOST_REQUIRE(id == i % 3);
    }
    BOOST_TEST(g.size() == 3u);
    BOOST_TEST(g.labels(1).second == 100u);
    check_invariants(g);
}

BOOST_AUTO_TEST_CASE(a_full_node_sends_twins_to_a_new_node)
{
    DistanceComputer dc = computer(Representation::f32, Metric::l2sq, 4);
    hnsw::BuildParams p = params(4, 16);
    p.max_labels_per_node = 3;
    hnsw::Graph g(p, dc);
    const float other[4] = {9, 9, 9, 9}, twin[4] = {1, 2, 3, 4};
    std::uint32_t id;
    BOOST_REQUIRE(g.add(other, sizeof other, 100, &id) == hnsw::Status::ok);
    const hnsw::Status want[] = {hnsw::Status::ok, hnsw::Status::duplicate, hnsw::Status::duplicate,
                                 hnsw::Status::ok, hnsw::Status::duplicate, hnsw::Status::duplicate,
                                 hnsw::Status::ok};
    const std::uint32_t want_id[] = {1, 1, 1, 2, 2, 2, 3};
    for (std::uint64_t i = 0; i < 7; ++i) {
        BOOST_TEST(g.add(twin, sizeof twin, i, &id) == want[i]);
        BOOST_TEST(id == want_id[i]);
    }
    BOOST_TEST(g.labels(1).second == 3u);
    BOOST_TEST(g.labels(2).second == 3u);
    BOOST_TEST(g.labels(3).second == 1u);
    BOOST_TEST(g.labels(3).first[0] == 6u);
    // The twin index is rebuilt as the graph grows; the newest twin must stay the one found.
    Dataset d = synthetic_clusters(300, 0, 4, 1);
    for (std::size_t i = 0; i < d.rows(); ++i)
        BOOST_REQUIRE(g.add(d.row(i), 16, 1000 + i, &id) == hnsw::Status::ok);
    BOOST_TEST(g.add(twin, sizeof twin, 7, &id) == hnsw::Status::duplicate);
    BOOST_TEST(id == 3u);
    check_invariants(g);
}

BOOST_AUTO_TEST_CASE(duplicates_in_bits_and_sparse)
{
    // Jaccard between two empty sets is 1, not 0: duplicates are found by bytes, not by zero.
    DistanceComputer jaccard = computer(Representation::bits, Metric::jaccard, 64);
    hnsw::Graph g(params(4, 16), jaccard);
    std::vector<std::uint8_t> zero(8, 0);
    std::uint32_t id;
    for (std::uint32_t seed = 0; seed < 50; ++seed) {
        std::vector<std::uint8_t> v = random_bytes(8, seed);
        BOOST_REQUIRE(g.add(v.data(), 8, seed, &id) == hnsw::Status::ok);
    }
    BOOST_TEST(g.add(zero.data(), 8, 100, &id) == hnsw::Status::ok);
    BOOST_TEST(g.add(zero.data(), 8, 101, &id) == hnsw::Status::duplicate);
    BOOST_TEST(id == 50u);
    std::vector<std::uint8_t> again = random_bytes(8, 7);
    BOOST_TEST(g.add(again.data(), 8, 102, &id) == hnsw::Status::duplicate);
    BOOST_TEST(id == 7u);
    check_invariants(g);

    DistanceComputer sparse = computer(Representation::sparse, Metric::neg_dot, 100);
    hnsw::Graph s(params(4, 16), sparse);
    const std::vector<unsigned char> a = sparse_code(100, {1, 5, 9}, {1.0f, 2.0f, 3.0f});
    const std::vector<unsigned char> b = sparse_code(100, {1, 5}, {1.0f, 2.0f});
    const std::vector<unsigned char> empty = sparse_code(100, {}, {});
    BOOST_TEST(s.add(a.data(), a.size(), 1, &id) == hnsw::Status::ok);
    BOOST_TEST(s.add(b.data(), b.size(), 2, &id) == hnsw::Status::ok);
    BOOST_TEST(s.add(empty.data(), empty.size(), 3, &id) == hnsw::Status::ok);
    BOOST_TEST(s.add(b.data(), b.size(), 4, &id) == hnsw::Status::duplicate);
    BOOST_TEST(id == 1u);
    BOOST_TEST(s.add(empty.data(), empty.size(), 5, &id) == hnsw::Status::duplicate);
    BOOST_TEST(id == 2u);
    BOOST_TEST(s.code_bytes(2) == 12u);
    check_invariants(s);
}

BOOST_AUTO_TEST_CASE(smallest_parameters)
{
    Dataset d = synthetic_clusters(800, 20, 8, 31);
    DistanceComputer dc = computer(Representation::f32, Metric::l2sq, 8);
    for (int ef_construction : {1, 2, 8}) {
        hnsw::Graph g(params(2, ef_construction), dc);
        build(g, f32_codes(d.base.data(), d.rows(), d.dim));
        check_invariants(g);
        BOOST_TEST(g.search(d.query(0), 5, 1).size() == 5u);
    }
}

BOOST_AUTO_TEST_CASE(over_budget_changes_nothing_and_the_graph_stays_usable)
{
    Dataset d = synthetic_clusters(3000, 20, 32, 9);
    Codes base = f32_codes(d.base.data(), d.rows(), d.dim);
    DistanceComputer dc = computer(Representation::f32, Metric::l2sq, 32);
    hnsw::BuildParams p = params(8, 32);
    p.memory_budget = 200 * 1024;
    hnsw::Graph g(p, dc);
    std::size_t added = 0;
    std::uint32_t id = 0;
    while (added < base.size() &&
           g.add(base[added].data(), base[added].size(), added, &id) == hnsw::Status::ok)
        ++added;
    BOOST_REQUIRE(added > 100u);
    BOOST_REQUIRE(added < base.size());
    BOOST_TEST_MESSAGE("hnsw: " << added << " nodes fit in 200 KiB, " << g.memory_used()
                                << " bytes used");
    check_invariants(g);

    const std::vector<std::uint64_t> before = fingerprint(g);
    for (std::size_t i = added; i < added + 20; ++i)
        BOOST_TEST((g.add(base[i].data(), base[i].size(), i, &id) == hnsw::Status::over_budget));
    BOOST_TEST((fingerprint(g) == before));
    BOOST_TEST(g.memory_used() <= p.memory_budget);
    check_invariants(g);

    Codes nodes(base.begin(), base.begin() + std::ptrdiff_t(added));
    Codes queries = f32_codes(d.queries.data(), d.query_rows(), d.dim);
    BOOST_TEST(recall_at(g, dc, nodes, queries, 10, 64) >= 0.95);
}

BOOST_AUTO_TEST_CASE(duplicate_labels_count_against_the_budget)
{
    DistanceComputer dc = computer(Representation::f32, Metric::l2sq, 4);
    hnsw::BuildParams p = params(4, 16);
    p.memory_budget = 64 * 1024;
    hnsw::Graph g(p, dc);
    const float a[4] = {1, 2, 3, 4}, b[4] = {4, 3, 2, 1};
    std::uint32_t id;
    BOOST_REQUIRE(g.add(a, sizeof a, 0, &id) == hnsw::Status::ok);
    BOOST_REQUIRE(g.add(b, sizeof b, 1, &id) == hnsw::Status::ok);
    std::uint64_t label = 2;
    while (g.add(label % 2 ? b : a, sizeof a, label, &id) == hnsw::Status::duplicate)
        ++label;
    BOOST_TEST(label > 1000u);
    BOOST_TEST(g.memory_used() <= p.memory_budget);
    const std::vector<std::uint64_t> before = fingerprint(g);
    const float *refused = label % 2 ? b : a;  // its label list was the one that could not grow
    BOOST_TEST(g.add(refused, sizeof a, label, &id) == hnsw::Status::over_budget);
    BOOST_TEST((fingerprint(g) == before));
    BOOST_TEST(g.labels(0).second + g.labels(1).second == label);
}

BOOST_AUTO_TEST_CASE(a_budget_too_small_for_one_node)
{
    DistanceComputer dc = computer(Representation::f32, Metric::l2sq, 8);
    hnsw::BuildParams p = params();
    p.memory_budget = 100;
    hnsw::Graph g(p, dc);
    const float v[8] = {};
    std::uint32_t id;
    BOOST_TEST((g.add(v, sizeof v, 1, &id) == hnsw::Status::over_budget));
    BOOST_TEST(g.size() == 0u);
    BOOST_TEST(g.memory_used() <= 100u);
}

BOOST_AUTO_TEST_CASE(memory_used_counts_the_graph)
{
    const std::uint32_t dim = 64;
    Dataset d = synthetic_clusters(1000, 0, dim, 13);
    hnsw::Graph g(params(), computer(Representation::f32, Metric::l2sq, dim));
    build(g, f32_codes(d.base.data(), d.rows(), d.dim));
    // At least codes, labels and level-0 links.
    const std::size_t floor = 1000 * (dim * 4 + 8 + 4 * (1 + 32));
    BOOST_TEST(g.memory_used() >= floor);
    BOOST_TEST(g.memory_used() <= 3 * floor);
}

BOOST_AUTO_TEST_CASE(neighbour_lists_are_closest_first)
{
    Dataset d = synthetic_clusters(1500, 0, 20, 17);
    DistanceComputer dc = computer(Representation::f32, Metric::l2sq, 20);
    hnsw::Graph g(params(6, 30), dc);
    build(g, f32_codes(d.base.data(), d.rows(), d.dim));
    for (std::uint32_t id = 0; id < g.size(); ++id)
        for (int level = 0; level <= g.level(id); ++level) {
            auto [links, n] = g.neighbors(id, level);
            for (std::size_t i = 1; i < n; ++i)
                BOOST_REQUIRE(dc(g.code(id), g.code(links[i - 1])) <=
                              dc(g.code(id), g.code(links[i])));
        }
}

BOOST_AUTO_TEST_CASE(search_returns_k_sorted_and_exact_on_small_graphs)
{
    Dataset d = synthetic_clusters(200, 10, 8, 21);
    DistanceComputer dc = computer(Representation::f32, Metric::l2sq, 8);
    hnsw::Graph g(params(), dc);
    Codes base = f32_codes(d.base.data(), d.rows(), d.dim);
    build(g, base);
    for (std::size_t q = 0; q < d.query_rows(); ++q) {
        std::vector<hnsw::Neighbor> r = g.search(d.query(q), 10, 200);  // ef >= size: exact
        BOOST_REQUIRE(r.size() == 10u);
        for (std::size_t i = 1; i < r.size(); ++i)
            BOOST_REQUIRE(r[i - 1].distance <= r[i].distance);
        std::vector<float> all;
        for (const auto &c : base)
            all.push_back(dc(d.query(q), c.data()));
        std::sort(all.begin(), all.end());
        for (std::size_t i = 0; i < r.size(); ++i)
            BOOST_TEST(r[i].distance == all[i]);
    }
    BOOST_TEST(g.search(d.query(0), 500, 10).size() == 200u);
}

BOOST_AUTO_TEST_SUITE_END()
