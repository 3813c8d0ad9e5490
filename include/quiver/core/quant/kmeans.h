// k-means for the IVF lists (coarse quantizer) and the PQ sub-quantizers. Eigen does the
// assignment step as one matrix product per block of rows (||x||^2 - 2 x.c + ||c||^2).
// Deterministic under a seed; k-means++ seeding; empty clusters are re-seeded by splitting the
// largest; the spherical variant (cosine / inner product) re-normalises centroids each round.
#pragma once
#include "quiver/core/pure.h"

#include <cstddef>
#include <cstdint>

namespace quiver::core::quant {

enum class KMeansStatus : std::uint8_t {
    ok = 0,
    cancelled = 1,    // the interrupted() callback said so (checked between iterations)
    over_budget = 2,  // the working memory would exceed memory_budget
    invalid = 3,      // k == 0, dim == 0, null pointers
};

struct KMeansParams {
    std::uint32_t k = 0;
    std::uint32_t max_iterations = 10;
    std::uint64_t seed = 0x5175697665724b4dULL;
    bool spherical = false;            // unit-length centroids (rows are expected unit-length too)
    std::size_t memory_budget = 0;     // bytes of working memory on top of rows/centroids; 0 = none
    // Polled between iterations (and between blocks of long seeding steps); true stops the run
    // with KMeansStatus::cancelled. May be null. Must not throw or longjmp.
    bool (*interrupted)(void *arg) = nullptr;
    void *interrupted_arg = nullptr;
};

struct KMeansStats {
    std::uint32_t iterations = 0;
    double objective = 0;            // sum of squared distances to the assigned centroid
    std::uint32_t empty_reseeded = 0;
};

// Trains k centroids on n rows (row-major float[n * dim]) into centroids (float[k * dim]).
// n may be smaller than k (also 0): the rows become centroids and the rest are pseudo-random
// points (seeded) spread over the rows' bounding box (unit-length when spherical), so every
// index still gets k lists. Rows are not modified.
KMeansStatus kmeans(const float *rows, std::size_t n, std::uint32_t dim, const KMeansParams &params,
                    float *centroids, KMeansStats *stats = nullptr) noexcept;

// Working memory kmeans() needs beyond its inputs and outputs, for planning a sample size.
std::size_t kmeans_memory(std::size_t n, std::uint32_t dim, std::uint32_t k) noexcept;

// Index of the nearest centroid by squared L2 (spherical: largest dot product) for each of n
// rows; out[i] in [0, k). Scalar-exact tie rule: the lowest index wins.
void kmeans_assign(const float *rows, std::size_t n, std::uint32_t dim, const float *centroids,
                   std::uint32_t k, bool spherical, std::uint32_t *out) noexcept;

// Index of the smallest of values[0, n) (n >= 1), the lowest on ties, exactly as a plain
// left-to-right scan with `<` (so 0 when values[0] is NaN, and NaN never wins otherwise).
// The inner loop of the assignment above and of PQ encoding, hence vectorised.
std::uint32_t argmin(const float *values, std::uint32_t n) noexcept;

}  // namespace quiver::core::quant
