// Product quantizer: dim splits into M sub-spaces of dim / M values; each sub-vector is replaced
// by the index of its nearest of 2^nbits centroids (k-means per sub-space). Queries compare
// with codes by asymmetric distance (ADC): per query an M x 2^nbits table of sub-distances,
// then one lookup per sub-space per code. Pure C++; statuses, never exceptions.
//
// Codes: nbits 8 -> M bytes, byte m = code of sub-space m. nbits 4 -> (M + 1) / 2 bytes,
// sub-space 2j in the low nibble of byte j and 2j + 1 in the high nibble (0 when M is odd).
// Tables: L2 t[m][c] = ||q_m - c||^2; inner product t[m][c] = -q_m . c; the distance of a code
// is sum_m t[m][code_m], which equals the exact distance between q and decode(code).
#pragma once
#include "quiver/core/pure.h"

#include "quiver/core/quant/quantizer.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace quiver::core::quant {

class ProductQuantizer final : public Quantizer {
public:
    // Trains on n rows; params.kind is ignored. invalid: dim 0 or > max_quantizer_dim,
    // dim % pq_m != 0, pq_nbits not 4 or 8, n == 0, rows null or not finite.
    static QuantStatus train(const QuantizerParams &params, const float *rows, std::size_t n,
                             std::unique_ptr<ProductQuantizer> *out) noexcept;
    static std::size_t train_memory(const QuantizerParams &params, std::size_t n) noexcept;

    // From a codebook: centroids[m][2^nbits][dim / m] floats, all finite.
    static QuantStatus create(std::uint32_t dim, std::uint32_t m, std::uint32_t nbits,
                              const float *centroids,
                              std::unique_ptr<ProductQuantizer> *out) noexcept;

    // From a blob payload (load_quantizer() calls this after checking the header).
    static QuantStatus from_payload(std::uint32_t dim, std::uint32_t m, std::uint32_t nbits,
                                    const std::uint8_t *payload, std::size_t size,
                                    std::unique_ptr<Quantizer> *out) noexcept;

    QuantizerKind kind() const noexcept override { return QuantizerKind::pq; }
    std::uint32_t dim() const noexcept override { return dim_; }
    std::size_t code_size() const noexcept override { return nbits_ == 8 ? m_ : (m_ + 1) / 2; }
    void encode(const float *x, std::uint8_t *code) const noexcept override;
    void decode(const std::uint8_t *code, float *x) const noexcept override;
    QuantStatus make_distance(Metric metric,
                              std::unique_ptr<CodeDistance> *out) const noexcept override;

    std::uint32_t m() const noexcept { return m_; }
    std::uint32_t nbits() const noexcept { return nbits_; }
    std::uint32_t ksub() const noexcept { return 1u << nbits_; }  // centroids per sub-space
    std::uint32_t dsub() const noexcept { return dim_ / m_; }     // values per sub-space
    const float *centroids() const noexcept { return centroids_.data(); }  // [m][ksub][dsub]

    // Code of sub-space `sub` in `code`.
    std::uint32_t code_at(const std::uint8_t *code, std::uint32_t sub) const noexcept;

    // The ADC tables of `query` (m() * ksub() floats, [m][c]) for Metric::l2sq or neg_dot;
    // false (tables untouched) for any other metric.
    bool compute_distance_tables(const float *query, Metric metric, float *tables) const noexcept;
    // sum_m tables[m][code_m], summed in sub-space order.
    float adc_distance(const float *tables, const std::uint8_t *code) const noexcept;

private:
    ProductQuantizer(std::uint32_t dim, std::uint32_t m, std::uint32_t nbits,
                     std::vector<float> centroids, std::vector<float> transposed) noexcept;
    static QuantStatus build(std::uint32_t dim, std::uint32_t m, std::uint32_t nbits,
                             std::vector<float> centroids,
                             std::unique_ptr<ProductQuantizer> *out) noexcept;

    std::uint32_t blob_param_a() const noexcept override { return m_; }
    std::uint32_t blob_param_b() const noexcept override { return nbits_; }
    std::size_t payload_size() const noexcept override { return centroids_.size() * 4; }
    void write_payload(std::uint8_t *out) const noexcept override;

    std::uint32_t dim_, m_, nbits_;
    std::vector<float> centroids_;   // [m][ksub][dsub]: decode and the blob
    std::vector<float> transposed_;  // [m][dsub][ksub]: encode and tables, over all c at once
};

// residual = x - centroid (dim floats): what an IVF list encodes. May write over x.
void compute_residual(const float *x, const float *centroid, std::uint32_t dim,
                      float *residual) noexcept;

}  // namespace quiver::core::quant
