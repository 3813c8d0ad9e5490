// The identity "quantizer": codes are the float32 values themselves (dim * 4 bytes, host byte
// order), so an index can treat uncompressed vectors like any other quantizer. Distances go
// through the active SIMD kernels. Pure C++; statuses, never exceptions.
#pragma once
#include "quiver/core/pure.h"

#include "quiver/core/quant/quantizer.h"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace quiver::core::quant {

class FlatQuantizer final : public Quantizer {
public:
    // invalid: dim 0 or > max_quantizer_dim.
    static QuantStatus create(std::uint32_t dim, std::unique_ptr<FlatQuantizer> *out) noexcept;

    QuantizerKind kind() const noexcept override { return QuantizerKind::flat; }
    std::uint32_t dim() const noexcept override { return dim_; }
    std::size_t code_size() const noexcept override { return std::size_t(dim_) * 4; }
    void encode(const float *x, std::uint8_t *code) const noexcept override;
    void decode(const std::uint8_t *code, float *x) const noexcept override;
    // Codes need no alignment; unaligned ones are copied to an aligned scratch vector first.
    QuantStatus make_distance(Metric metric,
                              std::unique_ptr<CodeDistance> *out) const noexcept override;

private:
    explicit FlatQuantizer(std::uint32_t dim) noexcept : dim_(dim) {}

    std::size_t payload_size() const noexcept override { return 0; }
    void write_payload(std::uint8_t *) const noexcept override {}

    std::uint32_t dim_;
};

}  // namespace quiver::core::quant
