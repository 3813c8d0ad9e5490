// Data sets shared by the core unit tests: glove-100-small from the bundled test/data (found
// through QUIVER_DATA_DIR, the source tree, or the working directory's parents), and seeded
// Gaussian clusters that stand in for it when it is absent. No assertions live here.
#pragma once
#include "test_util.h"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace quiver_test {

struct Dataset {
    bool glove = false;  // else the synthetic stand-in
    std::size_t dim = 0;
    std::vector<float> base, queries;  // row-major
    std::size_t rows() const { return base.size() / dim; }
    std::size_t query_rows() const { return queries.size() / dim; }
    const float *row(std::size_t i) const { return base.data() + i * dim; }
    const float *query(std::size_t i) const { return queries.data() + i * dim; }
};

// *.fvecs: per row int32 d, then d float32 (little endian, as written on x86).
inline bool read_fvecs(const std::string &path, std::size_t *dim, std::vector<float> *out)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return false;
    std::int32_t d = 0;
    while (in.read(reinterpret_cast<char *>(&d), 4)) {
        if (d <= 0 || (*dim != 0 && static_cast<std::size_t>(d) != *dim))
            return false;
        *dim = static_cast<std::size_t>(d);
        const std::size_t start = out->size();
        out->resize(start + *dim);
        if (!in.read(reinterpret_cast<char *>(out->data() + start), 4 * d))
            return false;
    }
    return !out->empty();
}

inline std::string data_dir()
{
    if (const char *env = std::getenv("QUIVER_DATA_DIR"))
        return env;
#ifdef QUIVER_SOURCE_DIR
    {
        std::string dir = std::string(QUIVER_SOURCE_DIR) + "/test/data";
        if (std::ifstream(dir + "/glove-100-small/base.fvecs"))
            return dir;
    }
#endif
    std::string up = "test/data";
    for (int depth = 0; depth < 5; ++depth, up = "../" + up)
        if (std::ifstream(up + "/glove-100-small/base.fvecs"))
            return up;
    return "";
}

// Gaussian blobs: hard enough that a broken index shows, easy enough to need no real data.
inline Dataset synthetic_clusters(std::size_t rows, std::size_t queries, std::size_t dim,
                                  std::uint32_t seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.0f, 0.35f);
    const std::size_t clusters = 40;
    std::vector<float> centres = random_floats(clusters * dim, seed + 1, -2.0f, 2.0f);
    Dataset d;
    d.dim = dim;
    auto draw = [&](std::vector<float> *out, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t c = rng() % clusters;
            for (std::size_t j = 0; j < dim; ++j)
                out->push_back(centres[c * dim + j] + noise(rng));
        }
    };
    draw(&d.base, rows);
    draw(&d.queries, queries);
    return d;
}

// glove-100-small (7,500 x 100 base, 500 queries) when found, else clusters of the same shape.
inline const Dataset &glove_or_synthetic()
{
    static const Dataset data = [] {
        Dataset d;
        const std::string dir = data_dir();
        if (!dir.empty() && read_fvecs(dir + "/glove-100-small/base.fvecs", &d.dim, &d.base) &&
            read_fvecs(dir + "/glove-100-small/query.fvecs", &d.dim, &d.queries)) {
            BOOST_TEST_MESSAGE("glove-100-small from " << dir);
            d.glove = true;
            return d;
        }
        BOOST_TEST_MESSAGE("glove-100-small not found, synthetic clusters");
        return synthetic_clusters(7500, 500, 100, 42);
    }();
    return data;
}

}  // namespace quiver_test
