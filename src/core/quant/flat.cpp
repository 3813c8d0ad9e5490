// FlatQuantizer (flat.h): float32 codes copied in and out, distances through the SIMD kernels.
// Codes arrive as bytes at any address; the kernels want floats, so unaligned codes are copied.
#include "quiver/core/quant/flat.h"

#include "quiver/core/kernels.h"

#include <cstring>
#include <new>
#include <vector>

namespace quiver::core::quant {
namespace {

class FlatDistance final : public CodeDistance {
public:
    FlatDistance(std::uint32_t dim, Metric metric)
        : CodeDistance(std::size_t(dim) * sizeof(float)), dim_(dim), metric_(metric),
          table_(&kernels()), query_(dim), scratch_(dim)
    {
    }

    void prepare(const float *query) noexcept override
    {
        std::memcpy(query_.data(), query, dim_ * sizeof(float));
    }

    float distance(const std::uint8_t *code) const noexcept override
    {
        const float *x = as_floats(code);
        return metric_ == Metric::l2sq ? table_->l2sq_f32(query_.data(), x, dim_)
                                       : -table_->dot_f32(query_.data(), x, dim_);
    }

private:
    const float *as_floats(const std::uint8_t *code) const
    {
        if (reinterpret_cast<std::uintptr_t>(code) % alignof(float) == 0)
            return reinterpret_cast<const float *>(code);
        std::memcpy(scratch_.data(), code, dim_ * sizeof(float));
        return scratch_.data();
    }

    std::uint32_t dim_;
    Metric metric_;
    const KernelTable *table_;  // captured once, so one scan uses one SIMD target
    std::vector<float> query_;
    mutable std::vector<float> scratch_;
};

}  // namespace

QuantStatus FlatQuantizer::create(std::uint32_t dim, std::unique_ptr<FlatQuantizer> *out) noexcept
{
    if (dim == 0 || dim > max_quantizer_dim)
        return QuantStatus::invalid;
    FlatQuantizer *q = new (std::nothrow) FlatQuantizer(dim);
    if (q == nullptr)
        return QuantStatus::over_budget;
    out->reset(q);
    return QuantStatus::ok;
}

void FlatQuantizer::encode(const float *x, std::uint8_t *code) const noexcept
{
    std::memcpy(code, x, code_size());
}

void FlatQuantizer::decode(const std::uint8_t *code, float *x) const noexcept
{
    std::memcpy(x, code, code_size());
}

QuantStatus FlatQuantizer::make_distance(Metric metric,
                                         std::unique_ptr<CodeDistance> *out) const noexcept
{
    return make_code_distance<FlatDistance>(metric, out, dim_, metric);
}

}  // namespace quiver::core::quant
