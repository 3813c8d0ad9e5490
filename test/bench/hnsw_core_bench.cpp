// Times the core in-memory HNSW graph alone (no PostgreSQL): build seconds, memory, then recall@10
// and QPS over an ef sweep, one thread. Compare with FAISS IndexHNSWFlat on the same data and
// parameters (see --help). A benchmark, never a pass/fail test.
#include "quiver/core/hnsw_graph.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace hnsw = quiver::core::hnsw;
using Clock = std::chrono::steady_clock;

namespace {

// *.fvecs / *.ivecs: per row int32 d, then d 4-byte values.
template <class T> bool read_vecs(const std::string &path, std::size_t *dim, std::vector<T> *out)
{
    std::ifstream in(path, std::ios::binary);
    std::int32_t d = 0;
    while (in.read(reinterpret_cast<char *>(&d), 4)) {
        *dim = static_cast<std::size_t>(d);
        const std::size_t start = out->size();
        out->resize(start + *dim);
        if (!in.read(reinterpret_cast<char *>(out->data() + start), 4 * d))
            return false;
    }
    return !out->empty();
}

double seconds_since(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

void usage()
{
    std::puts(
        "hnsw_core_bench DIR [m=16] [ef_construction=64] [metric=l2|cosine] [simd target]\n"
        "  DIR holds base.fvecs, query.fvecs, gt.ivecs (gt_cos.ivecs for cosine if present).\n"
        "FAISS counterpart (one thread):\n"
        "  /usr/bin/python3 -c 'import faiss,time,numpy as np; ...IndexHNSWFlat(d, m)'");
}

}  // namespace

int main(int argc, char **argv)
{
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    const std::string dir = argv[1];
    const int m = argc > 2 ? std::atoi(argv[2]) : 16;
    const int efc = argc > 3 ? std::atoi(argv[3]) : 64;
    const bool cosine = argc > 4 && std::strcmp(argv[4], "cosine") == 0;
    quiver::core::SimdTarget target;
    if (argc > 5 && quiver::core::parse_target(argv[5], &target))
        quiver::core::select_target(target);

    std::size_t dim = 0, qdim = 0, gdim = 0;
    std::vector<float> base, queries;
    std::vector<std::int32_t> gt;
    if (!read_vecs(dir + "/base.fvecs", &dim, &base) ||
        !read_vecs(dir + "/query.fvecs", &qdim, &queries) ||
        !((cosine && read_vecs(dir + "/gt_cos.ivecs", &gdim, &gt)) ||
          read_vecs(dir + "/gt.ivecs", &gdim, &gt))) {
        std::fprintf(stderr, "cannot read %s\n", dir.c_str());
        return 1;
    }
    auto normalise = [dim](std::vector<float> &rows) {
        for (std::size_t r = 0; r < rows.size() / dim; ++r) {
            double s = 0;
            for (std::size_t j = 0; j < dim; ++j)
                s += double(rows[r * dim + j]) * rows[r * dim + j];
            for (std::size_t j = 0; j < dim; ++j)
                rows[r * dim + j] = float(rows[r * dim + j] / std::sqrt(s));
        }
    };
    if (cosine) {
        normalise(base);
        normalise(queries);
    }
    const std::size_t n = base.size() / dim, nq = queries.size() / dim;

    quiver::core::DistanceComputer dc{};
    const auto metric = cosine ? quiver::core::Metric::neg_dot : quiver::core::Metric::l2sq;
    quiver::core::make_distance_computer(quiver::core::Representation::f32, metric,
                                         std::uint32_t(dim), &dc);
    hnsw::BuildParams p;
    p.m = m;
    p.ef_construction = efc;
    p.memory_budget = std::size_t(8) << 30;
    hnsw::Graph g(p, dc);
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t id;
        g.add(base.data() + i * dim, dim * sizeof(float), i, &id);
    }
    const double build = seconds_since(t0);
    std::printf("quiver core hnsw (%s): n=%zu d=%zu m=%d efc=%d build %.3f s, %zu nodes, "
                "%.1f MiB, max level %d\n",
                quiver::core::kernels().name, n, dim, m, efc, build, g.size(),
                g.memory_used() / 1048576.0, g.max_level());

    for (std::size_t ef : {10, 20, 40, 64, 100, 200}) {
        std::size_t hits = 0;
        const auto t = Clock::now();
        for (std::size_t q = 0; q < nq; ++q) {
            std::vector<hnsw::Neighbor> r = g.search(queries.data() + q * dim, 10, ef);
            const std::int32_t *truth = gt.data() + q * gdim;
            for (const auto &x : r)
                hits += std::find(truth, truth + 10, std::int32_t(x.id)) != truth + 10;
        }
        const double s = seconds_since(t);
        std::printf("  ef %3zu  recall@10 %.4f  %8.0f QPS\n", ef, double(hits) / (10.0 * nq),
                    nq / s);
    }
    return 0;
}
