// SQ8: each dimension scaled to one byte between the minimum and maximum of the training sample.
// Step s_i = (vmax_i - vmin_i) / 256; code c_i = floor((x_i - vmin_i) / s_i) clamped to [0, 255];
// decode x_i = vmin_i + (c_i + 0.5) * s_i, the middle of the cell. Within [vmin_i, vmax_i] the
// decode error is at most s_i / 2 (plus float rounding); outside it the value is clamped.
// Pure C++; statuses, never exceptions.
#pragma once
#include "quiver/core/pure.h"

#include "quiver/core/quant/quantizer.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace quiver::core::quant {

class Sq8Quantizer final : public Quantizer {
public:
    // Per-dimension range of n rows. invalid: dim 0 or > max_quantizer_dim, n == 0, rows null
    // or not finite.
    static QuantStatus train(std::uint32_t dim, const float *rows, std::size_t n,
                             std::unique_ptr<Sq8Quantizer> *out) noexcept;

    // From explicit ranges (vmin[i] <= vmax[i], finite).
    static QuantStatus create(std::uint32_t dim, const float *vmin, const float *vmax,
                              std::unique_ptr<Sq8Quantizer> *out) noexcept;

    static QuantStatus from_payload(std::uint32_t dim, const std::uint8_t *payload,
                                    std::size_t size, std::unique_ptr<Quantizer> *out) noexcept;

    QuantizerKind kind() const noexcept override { return QuantizerKind::sq8; }
    std::uint32_t dim() const noexcept override { return dim_; }
    std::size_t code_size() const noexcept override { return dim_; }
    void encode(const float *x, std::uint8_t *code) const noexcept override;
    void decode(const std::uint8_t *code, float *x) const noexcept override;
    QuantStatus make_distance(Metric metric,
                              std::unique_ptr<CodeDistance> *out) const noexcept override;

    const float *vmin() const noexcept { return vmin_.data(); }
    const float *vmax() const noexcept { return vmax_.data(); }
    const float *step() const noexcept { return step_.data(); }

private:
    Sq8Quantizer(std::uint32_t dim, std::vector<float> vmin, std::vector<float> vmax,
                 std::vector<float> step, std::vector<float> inv_step) noexcept;
    static QuantStatus build(std::uint32_t dim, const float *vmin, const float *vmax,
                             std::unique_ptr<Sq8Quantizer> *out) noexcept;

    std::size_t payload_size() const noexcept override { return std::size_t(dim_) * 8; }
    void write_payload(std::uint8_t *out) const noexcept override;

    std::uint32_t dim_;
    std::vector<float> vmin_, vmax_, step_, inv_step_;  // inv_step 0 where the range is empty
};

}  // namespace quiver::core::quant
