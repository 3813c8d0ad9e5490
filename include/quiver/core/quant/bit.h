// Binary quantizer: one bit per dimension, with a per-dimension centre and scale learned from the
// training sample. Bit i is 1 when x_i > mean_i; decode x_i = mean_i + scale_i when the bit is
// set, mean_i - scale_i when not. scale_i is the mean absolute deviation of x_i about mean_i,
// which for fixed signs is the scale that minimises the squared decode error.
// Pure C++; statuses, never exceptions.
//
// Codes: (dim + 7) / 8 bytes, bit i in byte i / 8 at bit i % 8 (least significant first); the
// unused high bits of the last byte are 0.
// Distances are asymmetric: the query stays in floats and is compared with decode(code) through
// one 256-entry table per code byte, t[g][b] = the distance contribution of the 8 dimensions of
// byte g when that byte is b; the distance of a code is sum_g t[g][code_g].
#pragma once
#include "quiver/core/pure.h"

#include "quiver/core/quant/quantizer.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace quiver::core::quant {

class BitQuantizer final : public Quantizer {
public:
    // Per-dimension mean and mean absolute deviation of n rows. invalid: dim 0 or
    // > max_quantizer_dim, n == 0, rows null or not finite.
    static QuantStatus train(std::uint32_t dim, const float *rows, std::size_t n,
                             std::unique_ptr<BitQuantizer> *out) noexcept;
    // Working memory train() needs: O(dim) whatever n is (0 for an invalid dim).
    static std::size_t train_memory(std::uint32_t dim) noexcept;

    // From explicit centres and scales (all finite, scale[i] >= 0).
    static QuantStatus create(std::uint32_t dim, const float *mean, const float *scale,
                              std::unique_ptr<BitQuantizer> *out) noexcept;

    // From a blob payload (load_quantizer() calls this after checking the header).
    static QuantStatus from_payload(std::uint32_t dim, const std::uint8_t *payload,
                                    std::size_t size, std::unique_ptr<Quantizer> *out) noexcept;

    QuantizerKind kind() const noexcept override { return QuantizerKind::bit; }
    std::uint32_t dim() const noexcept override { return dim_; }
    std::size_t code_size() const noexcept override { return (std::size_t(dim_) + 7) / 8; }
    void encode(const float *x, std::uint8_t *code) const noexcept override;
    void decode(const std::uint8_t *code, float *x) const noexcept override;
    QuantStatus make_distance(Metric metric,
                              std::unique_ptr<CodeDistance> *out) const noexcept override;

    const float *mean() const noexcept { return mean_.data(); }
    const float *scale() const noexcept { return scale_.data(); }

private:
    BitQuantizer(std::uint32_t dim, std::vector<float> mean, std::vector<float> scale) noexcept;

    std::size_t payload_size() const noexcept override { return std::size_t(dim_) * 8; }
    void write_payload(std::uint8_t *out) const noexcept override;

    std::uint32_t dim_;
    std::vector<float> mean_, scale_;
};

}  // namespace quiver::core::quant
