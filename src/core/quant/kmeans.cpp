// k-means (kmeans.h): k-means++ seeding on a bounded subsample, then Lloyd rounds whose
// assignment step is one Eigen matrix product per block of rows. Single-threaded, deterministic
// for a given seed and SIMD target; every buffer is made before the first round, and nothing
// is thrown past the API (allocation failures become over_budget).
#include "quiver/core/quant/kmeans.h"

#include "quiver/core/kernels.h"

#include <Eigen/Core>  // both builds put /usr/include/eigen3 on the system include path

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <queue>
#include <random>
#include <utility>
#include <vector>

namespace quiver::core::quant {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRowMap = Eigen::Map<const RowMatrix>;
using RowMap = Eigen::Map<RowMatrix>;

constexpr std::uint32_t unassigned = std::numeric_limits<std::uint32_t>::max();

// ---- sizes ----------------------------------------------------------------------------------

// Rows per assignment block: the block's (rows x k) product stays near 256 KB, so it is still
// in the L2 cache when the nearest centroids are picked out of it (measured: faster than 4 MB
// blocks for small and large dims alike), and memory stays bounded whatever n and k. 64 rows
// at least, so that Eigen's packing of the centroids is amortised.
constexpr std::size_t block_product_floats = std::size_t(1) << 16;
constexpr std::size_t min_block_rows = 64;
constexpr std::size_t max_block_rows = 4096;

std::size_t block_rows(std::size_t n, std::uint32_t k)
{
    const std::size_t rows = std::clamp(block_product_floats / k, min_block_rows, max_block_rows);
    return std::max<std::size_t>(1, std::min(rows, n));
}

// k-means++ adds one centroid at a time and must then update every candidate's distance, so it
// costs sample * k * dim multiply-adds in memory-bound matrix-vector steps, where a Lloyd round
// costs n * k * dim in a fast matrix product. Seeding on all rows would dominate training for
// large k, so it runs on a random subsample of 20 rows per centroid (plenty to find the dense
// regions; Lloyd refines the rest), cut further so seeding stays near 2^30 multiply-adds (about
// a quarter of a second). When even k rows cost more than that, the sample is exactly k rows
// and they become the centroids as they are (random seeding).
constexpr std::size_t seeding_rows_per_centroid = 20;
constexpr double seeding_work_cap = 1073741824.0;

std::size_t seeding_sample(std::size_t n, std::uint32_t dim, std::uint32_t k)
{
    std::size_t sample = std::min(n, std::size_t(k) * seeding_rows_per_centroid);
    const double affordable = seeding_work_cap / (double(k) * double(dim));
    if (double(sample) > affordable)
        sample = std::max<std::size_t>(k, static_cast<std::size_t>(affordable));
    return std::min(sample, n);
}

// Eigen packs panels of both operands for its product, sized by it to the caches: never more
// than the two operands, and in practice a few MB. Counted as the operands, at most 32 MB.
std::size_t gemm_scratch_bytes(std::size_t rows, std::uint32_t dim, std::uint32_t k)
{
    return std::min<std::size_t>((rows + k) * std::size_t(dim) * sizeof(float), 32u << 20);
}

// ---- helpers --------------------------------------------------------------------------------

// Its own uniform draws rather than std::uniform_real_distribution, whose algorithm is not
// fixed by the standard: the same seed gives the same centroids with any standard library.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : engine_(seed) {}
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1p-53; }  // [0, 1)
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(engine_() % n); }
    std::uint64_t bits() { return engine_(); }

private:
    std::mt19937_64 engine_;
};

bool stop_requested(const KMeansParams &params)
{
    return params.interrupted != nullptr && params.interrupted(params.interrupted_arg);
}

void normalise(float *v, std::uint32_t dim)
{
    const float norm = std::sqrt(kernels().norm_sq_f32(v, dim));
    if (norm > 0.0f)
        for (std::uint32_t j = 0; j < dim; ++j)
            v[j] /= norm;
}

const float *row_at(const float *rows, std::size_t i, std::uint32_t dim)
{
    return rows + i * dim;
}

// ---- fewer rows than centroids --------------------------------------------------------------

// The rows themselves, then uniform points in their bounding box ([-1, 1] without rows).
void centroids_from_few_rows(const float *rows, std::size_t n, std::uint32_t dim,
                             const KMeansParams &params, float *centroids)
{
    std::vector<float> lo(dim, n == 0 ? -1.0f : std::numeric_limits<float>::max());
    std::vector<float> hi(dim, n == 0 ? 1.0f : std::numeric_limits<float>::lowest());
    for (std::size_t i = 0; i < n; ++i) {
        const float *row = row_at(rows, i, dim);
        for (std::uint32_t j = 0; j < dim; ++j) {
            lo[j] = std::min(lo[j], row[j]);
            hi[j] = std::max(hi[j], row[j]);
        }
    }
    if (n > 0)
        std::memcpy(centroids, rows, n * dim * sizeof(float));
    Rng rng(params.seed);
    for (std::size_t c = n; c < params.k; ++c) {
        float *centroid = centroids + c * dim;
        for (std::uint32_t j = 0; j < dim; ++j)
            centroid[j] = static_cast<float>(lo[j] + rng.uniform() * (double(hi[j]) - lo[j]));
    }
    if (params.spherical)
        for (std::size_t c = 0; c < params.k; ++c)
            normalise(centroids + c * dim, dim);
}

// ---- seeding --------------------------------------------------------------------------------

// Knuth's selection sampling (Algorithm S): `count` of n row indices, every subset equally
// likely, ascending, in one pass and O(count) memory.
std::vector<std::size_t> sample_rows(std::size_t n, std::size_t count, Rng &rng)
{
    count = std::min(count, n);
    std::vector<std::size_t> picked;
    picked.reserve(count);
    for (std::size_t i = 0; picked.size() < count; ++i) {
        const double still_needed = static_cast<double>(count - picked.size());
        if (count >= n || static_cast<double>(n - i) * rng.uniform() < still_needed)
            picked.push_back(i);
    }
    return picked;
}

// An index drawn with probability weight[i] / total. When every weight is zero (all sampled
// rows coincide with chosen centroids) any row will do: the duplicate centroid is split later.
std::size_t draw_weighted(const std::vector<float> &weight, double total, Rng &rng)
{
    if (!(total > 0.0))
        return rng.below(weight.size());
    const double target = rng.uniform() * total;
    double running = 0.0;
    std::size_t last_positive = 0;
    for (std::size_t i = 0; i < weight.size(); ++i) {
        if (weight[i] > 0.0f) {
            running += weight[i];
            last_positive = i;
            if (running > target)
                return i;
        }
    }
    return last_positive;  // rounding left `target` just past the running sum
}

// Squared distance for seeding. Short vectors (PQ sub-spaces: 4 values, a million pairs per
// sub-space) are summed inline: there the kernel's indirect call costs more than the sum.
float seeding_distance(const KernelTable &kt, const float *a, const float *b, std::uint32_t dim)
{
    if (dim > 16)
        return kt.l2sq_f32(a, b, dim);
    float sum = 0.0f;
    for (std::uint32_t j = 0; j < dim; ++j)
        sum += (a[j] - b[j]) * (a[j] - b[j]);
    return sum;
}

// k-means++ over the sampled rows; false when interrupted (polled before each centroid).
bool seed_plus_plus(const float *rows, std::uint32_t dim, const std::vector<std::size_t> &sample,
                    const KMeansParams &params, Rng &rng, float *centroids)
{
    const KernelTable &kt = kernels();
    std::vector<float> nearest(sample.size(), std::numeric_limits<float>::infinity());
    auto take = [&](std::uint32_t c, std::size_t i) {
        std::memcpy(centroids + std::size_t(c) * dim, row_at(rows, sample[i], dim),
                    dim * sizeof(float));
    };
    take(0, rng.below(sample.size()));
    for (std::uint32_t c = 1; c < params.k; ++c) {
        if (stop_requested(params))
            return false;
        const float *newest = centroids + std::size_t(c - 1) * dim;
        double total = 0.0;
        for (std::size_t i = 0; i < sample.size(); ++i) {
            nearest[i] = std::min(nearest[i],
                                  seeding_distance(kt, row_at(rows, sample[i], dim), newest, dim));
            total += nearest[i];
        }
        take(c, draw_weighted(nearest, total, rng));
    }
    return true;
}

// Random rows as they are, when k-means++ is unaffordable (see seeding_sample).
void seed_with_rows(const float *rows, std::uint32_t dim, const std::vector<std::size_t> &sample,
                    float *centroids)
{
    for (std::size_t c = 0; c < sample.size(); ++c)
        std::memcpy(centroids + c * dim, row_at(rows, sample[c], dim), dim * sizeof(float));
}

// Index of the smallest offsets[i] + values[i] (values[i] alone without offsets), the lowest
// on ties, exactly as a left-to-right scan with `<`. Four SSE2 lanes (SSE2 is part of x86-64
// itself) each keep their own running minimum, so the comparisons do not wait on each other;
// lane l sees l, l + 4, ... and keeps its first minimum; the lanes are merged by value, then
// index, and the remainder is scanned as usual: the plain scan's answer.
std::uint32_t argmin_plus(const float *values, const float *offsets, std::uint32_t n)
{
    auto value = [&](std::uint32_t i) { return offsets ? offsets[i] + values[i] : values[i]; };
    std::uint32_t best = 0, i = 1;
    float best_value = value(0);
#if defined(__SSE2__)
    if (n >= 8) {
        __m128 lane_value = _mm_set1_ps(std::numeric_limits<float>::infinity());
        __m128i lane_index = _mm_setzero_si128();
        __m128i index = _mm_setr_epi32(0, 1, 2, 3);
        const __m128i four = _mm_set1_epi32(4);
        for (i = 0; i + 4 <= n; i += 4) {
            __m128 v = _mm_loadu_ps(values + i);
            if (offsets)
                v = _mm_add_ps(_mm_loadu_ps(offsets + i), v);
            const __m128 less = _mm_cmplt_ps(v, lane_value);
            lane_value = _mm_or_ps(_mm_and_ps(less, v), _mm_andnot_ps(less, lane_value));
            const __m128i take = _mm_castps_si128(less);
            lane_index =
                _mm_or_si128(_mm_and_si128(take, index), _mm_andnot_si128(take, lane_index));
            index = _mm_add_epi32(index, four);
        }
        alignas(16) float lane_values[4];
        alignas(16) std::int32_t lane_indexes[4];
        _mm_store_ps(lane_values, lane_value);
        _mm_store_si128(reinterpret_cast<__m128i *>(lane_indexes), lane_index);
        for (int l = 0; l < 4; ++l) {
            const auto at = static_cast<std::uint32_t>(lane_indexes[l]);
            if (lane_values[l] < best_value || (lane_values[l] == best_value && at < best)) {
                best_value = lane_values[l];
                best = at;
            }
        }
    }
#endif
    for (; i < n; ++i) {
        if (value(i) < best_value) {
            best_value = value(i);
            best = i;
        }
    }
    return best;
}

// ---- assignment -----------------------------------------------------------------------------

// Nearest centroids for blocks of rows: ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, with the x.c
// of a whole block as one matrix product. Buffers are sized once for the largest block.
class Assigner {
public:
    Assigner(std::uint32_t dim, std::uint32_t k, bool spherical, std::size_t max_rows)
        : dim_(dim), k_(k), spherical_(spherical), centroid_norms_(k),
          scores_(max_rows * std::size_t(k))
    {
    }

    void set_centroids(const float *centroids)
    {
        centroids_ = centroids;
        const KernelTable &kt = kernels();
        for (std::uint32_t c = 0; c < k_; ++c)
            centroid_norms_[c] = kt.norm_sq_f32(centroids + std::size_t(c) * dim_, dim_);
    }

    // Rows [0, count) of `rows` into out[]; adds the number of rows whose centroid changed to
    // *changed.
    void assign_block(const float *rows, std::size_t count, std::uint32_t *out,
                      std::size_t *changed)
    {
        const Eigen::Index rows_n = static_cast<Eigen::Index>(count);
        const Eigen::Index k = static_cast<Eigen::Index>(k_), dim = static_cast<Eigen::Index>(dim_);
        ConstRowMap x(rows, rows_n, dim);
        ConstRowMap c(centroids_, k, dim);
        RowMap scores(scores_.data(), rows_n, k);
        // Minimised: ||c||^2 + (-2 x.c), or -x.c when spherical. Scaling x by -2 or -1 is
        // exact, so these are the rounded dot products scaled; the norms are added in argmin.
        scores.noalias() = (spherical_ ? -1.0f : -2.0f) * x * c.transpose();
        const float *offsets = spherical_ ? nullptr : centroid_norms_.data();
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint32_t best = argmin_plus(scores_.data() + i * k_, offsets, k_);
            if (out[i] != best) {
                out[i] = best;
                ++*changed;
            }
        }
    }

private:
    std::uint32_t dim_, k_;
    bool spherical_;
    const float *centroids_ = nullptr;
    std::vector<float> centroid_norms_;
    std::vector<float> scores_;
};

// Fallback of kmeans_assign() when its buffers cannot be allocated: one pair at a time.
void assign_brute_force(const float *rows, std::size_t n, std::uint32_t dim,
                        const float *centroids, std::uint32_t k, bool spherical,
                        std::uint32_t *out)
{
    const KernelTable &kt = kernels();
    for (std::size_t i = 0; i < n; ++i) {
        const float *row = row_at(rows, i, dim);
        std::uint32_t best = 0;
        float best_value = 0.0f;
        for (std::uint32_t c = 0; c < k; ++c) {
            const float *centroid = centroids + std::size_t(c) * dim;
            const float value =
                spherical ? -kt.dot_f32(row, centroid, dim) : kt.l2sq_f32(row, centroid, dim);
            if (c == 0 || value < best_value) {
                best_value = value;
                best = c;
            }
        }
        out[i] = best;
    }
}

// ---- update ---------------------------------------------------------------------------------

// New centroids as the means of their rows, summed in double. Rows are grouped by centroid with
// a counting sort, so the sums need one dim-long accumulator instead of k * dim of them.
class Updater {
public:
    Updater(std::size_t n, std::uint32_t dim, std::uint32_t k)
        : counts_(k), starts_(k), order_(n), sum_(dim)
    {
    }

    // Means of the assigned rows; centroids with no rows keep their value (counts() is 0).
    void update(const float *rows, const std::uint32_t *assignment, std::uint32_t dim,
                float *centroids)
    {
        group_rows(assignment);
        std::size_t begin = 0;
        for (std::size_t c = 0; c < counts_.size(); ++c) {
            const std::size_t end = begin + counts_[c];
            if (end > begin) {
                std::fill(sum_.begin(), sum_.end(), 0.0);
                for (std::size_t r = begin; r < end; ++r) {
                    const float *row = row_at(rows, order_[r], dim);
                    for (std::uint32_t j = 0; j < dim; ++j)
                        sum_[j] += row[j];
                }
                float *centroid = centroids + c * dim;
                const double count = static_cast<double>(end - begin);
                for (std::uint32_t j = 0; j < dim; ++j)
                    centroid[j] = static_cast<float>(sum_[j] / count);
            }
            begin = end;
        }
    }

    std::vector<std::size_t> &counts() { return counts_; }

private:
    void group_rows(const std::uint32_t *assignment)
    {
        std::fill(counts_.begin(), counts_.end(), 0);
        for (std::size_t i = 0; i < order_.size(); ++i)
            ++counts_[assignment[i]];
        std::size_t start = 0;
        for (std::size_t c = 0; c < counts_.size(); ++c) {
            starts_[c] = start;
            start += counts_[c];
        }
        for (std::size_t i = 0; i < order_.size(); ++i)
            order_[starts_[assignment[i]]++] = i;
    }

    std::vector<std::size_t> counts_, starts_, order_;
    std::vector<double> sum_;
};

// Puts `to` next to `from`, a relative 1/1024 away in a random direction per dimension: the
// plane between the two halves `from`'s cluster, so the next assignment divides its rows.
// `from` stays at its mean, so a split never worsens the objective (identical rows, which
// cannot be divided, simply all stay with `from`).
void split_centroid(const float *from, float *to, std::uint32_t dim, Rng &rng)
{
    constexpr float relative = 1.0f / 1024.0f;
    const float rms = std::sqrt(kernels().norm_sq_f32(from, dim) / static_cast<float>(dim));
    const float fallback = rms > 0.0f ? rms : 1.0f;  // for coordinates that are exactly zero
    std::uint64_t signs = 0;
    for (std::uint32_t j = 0; j < dim; ++j) {
        if (j % 64 == 0)
            signs = rng.bits();
        const float magnitude = from[j] != 0.0f ? std::fabs(from[j]) : fallback;
        to[j] = from[j] + ((signs >> (j % 64) & 1u) ? relative : -relative) * magnitude;
    }
}

// Every empty cluster takes half of the currently largest one (by estimated row count, so
// several empties split several clusters). Returns how many were re-seeded.
std::uint32_t reseed_empty(std::vector<std::size_t> &counts, std::uint32_t dim, float *centroids,
                           Rng &rng)
{
    std::vector<std::uint32_t> empty;
    for (std::size_t c = 0; c < counts.size(); ++c)
        if (counts[c] == 0)
            empty.push_back(static_cast<std::uint32_t>(c));
    if (empty.empty())
        return 0;
    std::priority_queue<std::pair<std::size_t, std::uint32_t>> largest;
    for (std::size_t c = 0; c < counts.size(); ++c)
        if (counts[c] > 0)
            largest.emplace(counts[c], static_cast<std::uint32_t>(c));
    for (std::uint32_t e : empty) {
        const auto [count, big] = largest.top();
        largest.pop();
        split_centroid(centroids + std::size_t(big) * dim, centroids + std::size_t(e) * dim, dim,
                       rng);
        counts[e] = count / 2;
        counts[big] = count - count / 2;
        largest.emplace(counts[big], big);
        largest.emplace(counts[e], e);
    }
    return static_cast<std::uint32_t>(empty.size());
}

// ---- the whole run --------------------------------------------------------------------------

// One pass over all rows in blocks; false when interrupted between blocks.
bool assign_all(Assigner &assigner, const float *rows, std::size_t n, std::uint32_t dim,
                std::size_t block, const KMeansParams &params, std::uint32_t *assignment,
                std::size_t *changed)
{
    *changed = 0;
    for (std::size_t start = 0; start < n; start += block) {
        if (start > 0 && stop_requested(params))
            return false;
        const std::size_t count = std::min(block, n - start);
        assigner.assign_block(row_at(rows, start, dim), count, assignment + start, changed);
    }
    return true;
}

// Sum of squared distances to the assigned centroids, measured directly: the expanded form
// used for assigning cancels badly when a row sits on its centroid.
double objective_of(const float *rows, std::size_t n, std::uint32_t dim,
                    const std::uint32_t *assignment, const float *centroids)
{
    const KernelTable &kt = kernels();
    double total = 0.0;
    for (std::size_t i = 0; i < n; ++i)
        total +=
            kt.l2sq_f32(row_at(rows, i, dim), centroids + std::size_t(assignment[i]) * dim, dim);
    return total;
}

KMeansStatus seed(const float *rows, std::size_t n, std::uint32_t dim, const KMeansParams &params,
                  Rng &rng, float *centroids)
{
    const std::vector<std::size_t> sample =
        sample_rows(n, seeding_sample(n, dim, params.k), rng);
    if (sample.size() == params.k)
        seed_with_rows(rows, dim, sample, centroids);
    else if (!seed_plus_plus(rows, dim, sample, params, rng, centroids))
        return KMeansStatus::cancelled;
    if (params.spherical)
        for (std::uint32_t c = 0; c < params.k; ++c)
            normalise(centroids + std::size_t(c) * dim, dim);
    return KMeansStatus::ok;
}

// Seeding, then rounds of (assign, update) until max_iterations updates or until an assignment
// changes nothing. The loop ends on an assignment, so the objective is that of the centroids
// returned.
KMeansStatus lloyd(const float *rows, std::size_t n, std::uint32_t dim, const KMeansParams &params,
                   float *centroids, KMeansStats *stats)
{
    Rng rng(params.seed);
    const std::size_t block = block_rows(n, params.k);
    Assigner assigner(dim, params.k, params.spherical, block);
    Updater updater(n, dim, params.k);
    std::vector<std::uint32_t> assignment(n, unassigned);

    if (KMeansStatus s = seed(rows, n, dim, params, rng, centroids); s != KMeansStatus::ok)
        return s;
    for (std::uint32_t round = 0;; ++round) {
        if (stop_requested(params))
            return KMeansStatus::cancelled;
        assigner.set_centroids(centroids);
        std::size_t changed = 0;
        if (!assign_all(assigner, rows, n, dim, block, params, assignment.data(), &changed))
            return KMeansStatus::cancelled;
        if (round == params.max_iterations || (round > 0 && changed == 0))
            break;
        updater.update(rows, assignment.data(), dim, centroids);
        stats->empty_reseeded += reseed_empty(updater.counts(), dim, centroids, rng);
        if (params.spherical)
            for (std::uint32_t c = 0; c < params.k; ++c)
                normalise(centroids + std::size_t(c) * dim, dim);
        ++stats->iterations;
    }
    stats->objective = objective_of(rows, n, dim, assignment.data(), centroids);
    return KMeansStatus::ok;
}

}  // namespace

std::uint32_t argmin(const float *values, std::uint32_t n) noexcept
{
    return argmin_plus(values, nullptr, n);
}

std::size_t kmeans_memory(std::size_t n, std::uint32_t dim, std::uint32_t k) noexcept
{
    if (k == 0 || dim == 0)
        return 0;
    if (n < k)
        return 2 * std::size_t(dim) * sizeof(float);  // the bounding box
    const std::size_t block = block_rows(n, k);
    const std::size_t sample = seeding_sample(n, dim, k);
    const std::size_t per_row = sizeof(std::uint32_t)        // assignment
                                + sizeof(std::size_t);       // grouped order
    const std::size_t per_centroid = sizeof(float)           // norm
                                     + 2 * sizeof(std::size_t)  // count, start
                                     + 2 * sizeof(std::size_t)  // split heap entry
                                     + block * sizeof(float);   // product row
    const std::size_t per_sample = sizeof(std::size_t) + sizeof(float);  // index, distance
    return n * per_row + std::size_t(k) * per_centroid + sample * per_sample +
           std::size_t(dim) * sizeof(double) + gemm_scratch_bytes(block, dim, k);
}

KMeansStatus kmeans(const float *rows, std::size_t n, std::uint32_t dim, const KMeansParams &params,
                    float *centroids, KMeansStats *stats) noexcept
{
    if (params.k == 0 || dim == 0 || centroids == nullptr || (n > 0 && rows == nullptr))
        return KMeansStatus::invalid;
    if (params.memory_budget != 0 && kmeans_memory(n, dim, params.k) > params.memory_budget)
        return KMeansStatus::over_budget;
    KMeansStats local;
    KMeansStatus status = KMeansStatus::ok;
    try {
        if (n < params.k)
            centroids_from_few_rows(rows, n, dim, params, centroids);
        else
            status = lloyd(rows, n, dim, params, centroids, &local);
    } catch (...) {  // std::bad_alloc from a container or from Eigen: nothing else throws
        return KMeansStatus::over_budget;
    }
    if (stats != nullptr && status == KMeansStatus::ok)
        *stats = local;
    return status;
}

void kmeans_assign(const float *rows, std::size_t n, std::uint32_t dim, const float *centroids,
                   std::uint32_t k, bool spherical, std::uint32_t *out) noexcept
{
    if (rows == nullptr || centroids == nullptr || out == nullptr || k == 0 || dim == 0 || n == 0)
        return;
    try {
        const std::size_t block = block_rows(n, k);
        Assigner assigner(dim, k, spherical, block);
        assigner.set_centroids(centroids);
        std::fill(out, out + n, unassigned);
        std::size_t changed = 0;
        for (std::size_t start = 0; start < n; start += block)
            assigner.assign_block(row_at(rows, start, dim), std::min(block, n - start),
                                  out + start, &changed);
    } catch (...) {
        assign_brute_force(rows, n, dim, centroids, k, spherical, out);
    }
}

}  // namespace quiver::core::quant
