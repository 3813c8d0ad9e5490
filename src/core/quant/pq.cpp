// ProductQuantizer (pq.h): training by k-means per sub-space, encoding, decoding and the ADC
// tables. Encoding and the L2 tables share one loop over a transposed codebook ([dsub][ksub]),
// so the nearest centroid chosen by encode() is exactly the smallest entry of its L2 table.
#include "quiver/core/quant/pq.h"

#include "quiver/core/quant/blob.h"
#include "quiver/core/quant/kmeans.h"
#include "quiver/core/kernels.h"

#include <cmath>
#include <cstring>
#include <new>
#include <utility>

namespace quiver::core::quant {
namespace {

bool valid_shape(std::uint32_t dim, std::uint32_t m, std::uint32_t nbits)
{
    return dim > 0 && dim <= max_quantizer_dim && m > 0 && dim % m == 0 &&
           (nbits == 4 || nbits == 8);
}

// Different, well-mixed seeds per sub-space from one seed (splitmix64's finaliser).
std::uint64_t subspace_seed(std::uint64_t seed, std::uint32_t sub)
{
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (std::uint64_t(sub) + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// out[c] = ||x - centroid c||^2 for the K centroids of one sub-space, from the transposed
// codebook t[j][c]. Summed in j order for each c; the loops over c vectorise (into a local
// array, which the compiler knows aliases nothing).
template <std::uint32_t K>
void subspace_l2(const float *x, const float *t, std::uint32_t dsub, float *out)
{
    float sum[K] = {};
    for (std::uint32_t j = 0; j < dsub; ++j, t += K) {
        const float v = x[j];
        for (std::uint32_t c = 0; c < K; ++c) {
            const float d = v - t[c];
            sum[c] += d * d;
        }
    }
    std::memcpy(out, sum, sizeof sum);
}

// Lowest index on ties.
template <std::uint32_t K> std::uint32_t nearest_centroid(const float *x, const float *t,
                                                          std::uint32_t dsub)
{
    float distance[K];
    subspace_l2<K>(x, t, dsub, distance);
    return argmin(distance, K);
}

// ADC sums, specialised by code width so that nothing is decided per lookup. Every form adds
// the sub-spaces in order 0..M-1, so all of them give the same float for the same code.
template <std::uint32_t Nbits> struct Adc {
    static constexpr std::uint32_t ksub = 1u << Nbits;

    static std::uint32_t code_of(const std::uint8_t *code, std::uint32_t sub)
    {
        if constexpr (Nbits == 8)
            return code[sub];
        else
            return (code[sub / 2] >> (4 * (sub % 2))) & 0x0fu;
    }

    static float one(const float *t, std::uint32_t m, const std::uint8_t *code)
    {
        float sum = 0.0f;
        for (std::uint32_t sub = 0; sub < m; ++sub, t += ksub)
            sum += t[code_of(code, sub)];
        return sum;
    }

    // Four codes at once: independent sums keep four lookups in flight.
    static void four(const float *t, std::uint32_t m, const std::uint8_t *c0,
                     const std::uint8_t *c1, const std::uint8_t *c2, const std::uint8_t *c3,
                     float *out)
    {
        float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
        for (std::uint32_t sub = 0; sub < m; ++sub, t += ksub) {
            s0 += t[code_of(c0, sub)];
            s1 += t[code_of(c1, sub)];
            s2 += t[code_of(c2, sub)];
            s3 += t[code_of(c3, sub)];
        }
        out[0] = s0;
        out[1] = s1;
        out[2] = s2;
        out[3] = s3;
    }

    // Codes reached through `code(i)`: back to back or through pointers.
    template <class CodeAt>
    static void many(const float *t, std::uint32_t m, std::size_t count, CodeAt code, float *out)
    {
        std::size_t i = 0;
        for (; i + 4 <= count; i += 4)
            four(t, m, code(i), code(i + 1), code(i + 2), code(i + 3), out + i);
        for (; i < count; ++i)
            out[i] = one(t, m, code(i));
    }
};

class PqDistance final : public CodeDistance {
public:
    PqDistance(const ProductQuantizer &pq, Metric metric)
        : CodeDistance(pq.code_size()), pq_(pq), metric_(metric),
          tables_(std::size_t(pq.m()) * pq.ksub())
    {
    }

    void prepare(const float *query) noexcept override
    {
        pq_.compute_distance_tables(query, metric_, tables_.data());
    }

    float distance(const std::uint8_t *code) const noexcept override
    {
        return pq_.adc_distance(tables_.data(), code);
    }

    void distances(const std::uint8_t *codes, std::size_t count, float *out) const noexcept override
    {
        const std::size_t bytes = code_size();
        auto at = [codes, bytes](std::size_t i) { return codes + i * bytes; };
        if (pq_.nbits() == 8)
            Adc<8>::many(tables_.data(), pq_.m(), count, at, out);
        else
            Adc<4>::many(tables_.data(), pq_.m(), count, at, out);
    }

    void distances(const std::uint8_t *const *codes, std::size_t count,
                   float *out) const noexcept override
    {
        auto at = [codes](std::size_t i) { return codes[i]; };
        if (pq_.nbits() == 8)
            Adc<8>::many(tables_.data(), pq_.m(), count, at, out);
        else
            Adc<4>::many(tables_.data(), pq_.m(), count, at, out);
    }

private:
    const ProductQuantizer &pq_;
    Metric metric_;
    std::vector<float> tables_;
};

}  // namespace

ProductQuantizer::ProductQuantizer(std::uint32_t dim, std::uint32_t m, std::uint32_t nbits,
                                   std::vector<float> centroids,
                                   std::vector<float> transposed) noexcept
    : dim_(dim), m_(m), nbits_(nbits), centroids_(std::move(centroids)),
      transposed_(std::move(transposed))
{
}

QuantStatus ProductQuantizer::build(std::uint32_t dim, std::uint32_t m, std::uint32_t nbits,
                                    std::vector<float> centroids,
                                    std::unique_ptr<ProductQuantizer> *out) noexcept
{
    const std::uint32_t ksub = 1u << nbits, dsub = dim / m;
    try {
        std::vector<float> transposed(centroids.size());
        for (std::uint32_t sub = 0; sub < m; ++sub) {
            const float *from = centroids.data() + std::size_t(sub) * ksub * dsub;
            float *to = transposed.data() + std::size_t(sub) * ksub * dsub;
            for (std::uint32_t c = 0; c < ksub; ++c)
                for (std::uint32_t j = 0; j < dsub; ++j)
                    to[std::size_t(j) * ksub + c] = from[std::size_t(c) * dsub + j];
        }
        out->reset(new ProductQuantizer(dim, m, nbits, std::move(centroids),
                                        std::move(transposed)));
    } catch (...) {
        return QuantStatus::over_budget;
    }
    return QuantStatus::ok;
}

std::size_t ProductQuantizer::train_memory(const QuantizerParams &params, std::size_t n) noexcept
{
    if (!valid_shape(params.dim, params.pq_m, params.pq_nbits))
        return 0;
    const std::uint32_t dsub = params.dim / params.pq_m, ksub = 1u << params.pq_nbits;
    const std::size_t codebook = std::size_t(ksub) * params.dim * sizeof(float);
    return n * dsub * sizeof(float)     // one sub-space of the rows, gathered
           + 2 * codebook                // the codebook and its transposed copy
           + kmeans_memory(n, dsub, ksub);
}

QuantStatus ProductQuantizer::train(const QuantizerParams &params, const float *rows,
                                    std::size_t n, std::unique_ptr<ProductQuantizer> *out) noexcept
{
    const std::uint32_t dim = params.dim, m = params.pq_m, nbits = params.pq_nbits;
    if (!valid_shape(dim, m, nbits) || n == 0 || rows == nullptr || !all_finite(rows, n * dim))
        return QuantStatus::invalid;
    if (params.memory_budget != 0 && train_memory(params, n) > params.memory_budget)
        return QuantStatus::over_budget;
    const std::uint32_t dsub = dim / m, ksub = 1u << nbits;
    KMeansParams kp;
    kp.k = ksub;
    kp.max_iterations = params.max_iterations;
    kp.interrupted = params.interrupted;
    kp.interrupted_arg = params.interrupted_arg;
    try {
        std::vector<float> centroids(std::size_t(ksub) * dim);
        std::vector<float> sub_rows(n * dsub);
        for (std::uint32_t sub = 0; sub < m; ++sub) {
            for (std::size_t i = 0; i < n; ++i)
                std::memcpy(sub_rows.data() + i * dsub, rows + i * dim + std::size_t(sub) * dsub,
                            dsub * sizeof(float));
            kp.seed = subspace_seed(params.seed, sub);
            const KMeansStatus s = kmeans(sub_rows.data(), n, dsub, kp,
                                          centroids.data() + std::size_t(sub) * ksub * dsub);
            if (s == KMeansStatus::cancelled)
                return QuantStatus::cancelled;
            if (s != KMeansStatus::ok)
                return QuantStatus::over_budget;  // the only other outcome with valid inputs
        }
        return build(dim, m, nbits, std::move(centroids), out);
    } catch (...) {
        return QuantStatus::over_budget;
    }
}

QuantStatus ProductQuantizer::create(std::uint32_t dim, std::uint32_t m, std::uint32_t nbits,
                                     const float *centroids,
                                     std::unique_ptr<ProductQuantizer> *out) noexcept
{
    if (!valid_shape(dim, m, nbits) || centroids == nullptr)
        return QuantStatus::invalid;
    const std::size_t count = (std::size_t(1) << nbits) * dim;
    if (!all_finite(centroids, count))
        return QuantStatus::invalid;
    try {
        return build(dim, m, nbits, std::vector<float>(centroids, centroids + count), out);
    } catch (...) {
        return QuantStatus::over_budget;
    }
}

QuantStatus ProductQuantizer::from_payload(std::uint32_t dim, std::uint32_t m, std::uint32_t nbits,
                                           const std::uint8_t *payload, std::size_t size,
                                           std::unique_ptr<Quantizer> *out) noexcept
{
    if (!valid_shape(dim, m, nbits) || size != (std::size_t(1) << nbits) * dim * sizeof(float))
        return QuantStatus::corrupt;
    try {
        std::vector<float> centroids(size / sizeof(float));
        blob::get_floats(payload, centroids.data(), centroids.size());
        if (!all_finite(centroids.data(), centroids.size()))
            return QuantStatus::corrupt;
        std::unique_ptr<ProductQuantizer> pq;
        QuantStatus s = build(dim, m, nbits, std::move(centroids), &pq);
        if (s == QuantStatus::ok)
            *out = std::move(pq);
        return s;
    } catch (...) {
        return QuantStatus::over_budget;
    }
}

void ProductQuantizer::write_payload(std::uint8_t *out) const noexcept
{
    blob::put_floats(out, centroids_.data(), centroids_.size());
}

std::uint32_t ProductQuantizer::code_at(const std::uint8_t *code, std::uint32_t sub) const noexcept
{
    return nbits_ == 8 ? Adc<8>::code_of(code, sub) : Adc<4>::code_of(code, sub);
}

void ProductQuantizer::encode(const float *x, std::uint8_t *code) const noexcept
{
    const std::uint32_t ds = dsub(), ks = ksub();
    if (nbits_ == 4)
        std::memset(code, 0, code_size());
    for (std::uint32_t sub = 0; sub < m_; ++sub) {
        const float *xs = x + std::size_t(sub) * ds;
        const float *t = transposed_.data() + std::size_t(sub) * ks * ds;
        if (nbits_ == 8)
            code[sub] = static_cast<std::uint8_t>(nearest_centroid<256>(xs, t, ds));
        else
            code[sub / 2] |= static_cast<std::uint8_t>(nearest_centroid<16>(xs, t, ds)
                                                       << (4 * (sub % 2)));
    }
}

void ProductQuantizer::decode(const std::uint8_t *code, float *x) const noexcept
{
    const std::uint32_t ds = dsub(), ks = ksub();
    for (std::uint32_t sub = 0; sub < m_; ++sub) {
        const float *centroid =
            centroids_.data() + (std::size_t(sub) * ks + code_at(code, sub)) * ds;
        std::memcpy(x + std::size_t(sub) * ds, centroid, ds * sizeof(float));
    }
}

bool ProductQuantizer::compute_distance_tables(const float *query, Metric metric,
                                               float *tables) const noexcept
{
    if (metric != Metric::l2sq && metric != Metric::neg_dot)
        return false;
    // Through the dispatched kernels: an ivf scan builds these once per probed list, and the
    // scalar build of this file vectorises them four floats at a time at best. (Encoding keeps
    // the portable subspace_l2 above, so codes never depend on the CPU.)
    const std::uint32_t ds = dsub(), ks = ksub();
    const auto table = metric == Metric::l2sq ? kernels().pq_table_l2 : kernels().pq_table_neg_dot;
    for (std::uint32_t sub = 0; sub < m_; ++sub)
        table(query + std::size_t(sub) * ds, transposed_.data() + std::size_t(sub) * ks * ds, ds, ks,
              tables + std::size_t(sub) * ks);
    return true;
}

float ProductQuantizer::adc_distance(const float *tables, const std::uint8_t *code) const noexcept
{
    return nbits_ == 8 ? Adc<8>::one(tables, m_, code) : Adc<4>::one(tables, m_, code);
}

QuantStatus ProductQuantizer::make_distance(Metric metric,
                                            std::unique_ptr<CodeDistance> *out) const noexcept
{
    return make_code_distance<PqDistance>(metric, out, *this, metric);
}

void compute_residual(const float *x, const float *centroid, std::uint32_t dim,
                      float *residual) noexcept
{
    for (std::uint32_t j = 0; j < dim; ++j)
        residual[j] = x[j] - centroid[j];
}

}  // namespace quiver::core::quant
