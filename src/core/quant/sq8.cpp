// Sq8Quantizer (sq8.h): per-dimension byte codes. Distances to a code are computed from per-query
// vectors prepared once, so no code is ever decoded into a temporary array.
#include "quiver/core/quant/sq8.h"

#include "quiver/core/quant/blob.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <utility>

namespace quiver::core::quant {
namespace {

constexpr float cells = 256.0f;

// L2: with a_i = q_i - vmin_i - step_i / 2, the decoded difference is q_i - x_i = a_i - c_i step_i.
class Sq8L2Distance final : public CodeDistance {
public:
    explicit Sq8L2Distance(const Sq8Quantizer &q)
        : CodeDistance(q.code_size()), q_(q), offset_(q.dim())
    {
    }

    void prepare(const float *query) noexcept override
    {
        const float *vmin = q_.vmin(), *step = q_.step();
        for (std::size_t i = 0; i < offset_.size(); ++i)
            offset_[i] = query[i] - vmin[i] - 0.5f * step[i];
    }

    float distance(const std::uint8_t *code) const noexcept override
    {
        const float *step = q_.step();
        float sum = 0.0f;
        for (std::size_t i = 0; i < offset_.size(); ++i) {
            const float d = offset_[i] - static_cast<float>(code[i]) * step[i];
            sum += d * d;
        }
        return sum;
    }

private:
    const Sq8Quantizer &q_;
    std::vector<float> offset_;
};

// Inner product: q . x = sum q_i (vmin_i + step_i / 2) + sum (q_i step_i) c_i; the first sum
// and the weights q_i step_i depend on the query only.
class Sq8DotDistance final : public CodeDistance {
public:
    explicit Sq8DotDistance(const Sq8Quantizer &q)
        : CodeDistance(q.code_size()), q_(q), weight_(q.dim())
    {
    }

    void prepare(const float *query) noexcept override
    {
        const float *vmin = q_.vmin(), *step = q_.step();
        base_ = 0.0f;
        for (std::size_t i = 0; i < weight_.size(); ++i) {
            base_ += query[i] * (vmin[i] + 0.5f * step[i]);
            weight_[i] = query[i] * step[i];
        }
    }

    float distance(const std::uint8_t *code) const noexcept override
    {
        float sum = 0.0f;
        for (std::size_t i = 0; i < weight_.size(); ++i)
            sum += weight_[i] * static_cast<float>(code[i]);
        return -(base_ + sum);
    }

private:
    const Sq8Quantizer &q_;
    std::vector<float> weight_;
    float base_ = 0.0f;
};

}  // namespace

Sq8Quantizer::Sq8Quantizer(std::uint32_t dim, std::vector<float> vmin, std::vector<float> vmax,
                           std::vector<float> step, std::vector<float> inv_step) noexcept
    : dim_(dim), vmin_(std::move(vmin)), vmax_(std::move(vmax)), step_(std::move(step)),
      inv_step_(std::move(inv_step))
{
}

// The step comes from the range in double: vmax - vmin may overflow a float, its 256th never.
QuantStatus Sq8Quantizer::build(std::uint32_t dim, const float *vmin, const float *vmax,
                                std::unique_ptr<Sq8Quantizer> *out) noexcept
{
    try {
        std::vector<float> step(dim), inv_step(dim);
        for (std::uint32_t i = 0; i < dim; ++i) {
            const double range = double(vmax[i]) - double(vmin[i]);
            step[i] = static_cast<float>(range / cells);
            inv_step[i] = range > 0.0 ? static_cast<float>(cells / range) : 0.0f;
        }
        out->reset(new Sq8Quantizer(dim, std::vector<float>(vmin, vmin + dim),
                                    std::vector<float>(vmax, vmax + dim), std::move(step),
                                    std::move(inv_step)));
    } catch (...) {
        return QuantStatus::over_budget;
    }
    return QuantStatus::ok;
}

QuantStatus Sq8Quantizer::train(std::uint32_t dim, const float *rows, std::size_t n,
                                std::unique_ptr<Sq8Quantizer> *out) noexcept
{
    if (dim == 0 || dim > max_quantizer_dim || n == 0 || rows == nullptr ||
        !all_finite(rows, n * dim))
        return QuantStatus::invalid;
    try {
        std::vector<float> vmin(rows, rows + dim), vmax(rows, rows + dim);
        for (std::size_t r = 1; r < n; ++r) {
            const float *row = rows + r * dim;
            for (std::uint32_t i = 0; i < dim; ++i) {
                vmin[i] = std::min(vmin[i], row[i]);
                vmax[i] = std::max(vmax[i], row[i]);
            }
        }
        return build(dim, vmin.data(), vmax.data(), out);
    } catch (...) {
        return QuantStatus::over_budget;
    }
}

QuantStatus Sq8Quantizer::create(std::uint32_t dim, const float *vmin, const float *vmax,
                                 std::unique_ptr<Sq8Quantizer> *out) noexcept
{
    if (dim == 0 || dim > max_quantizer_dim || vmin == nullptr || vmax == nullptr ||
        !all_finite(vmin, dim) || !all_finite(vmax, dim))
        return QuantStatus::invalid;
    for (std::uint32_t i = 0; i < dim; ++i)
        if (vmin[i] > vmax[i])
            return QuantStatus::invalid;
    return build(dim, vmin, vmax, out);
}

QuantStatus Sq8Quantizer::from_payload(std::uint32_t dim, const std::uint8_t *payload,
                                       std::size_t size, std::unique_ptr<Quantizer> *out) noexcept
{
    if (dim == 0 || dim > max_quantizer_dim || size != std::size_t(dim) * 8)
        return QuantStatus::corrupt;
    try {
        std::vector<float> vmin(dim), vmax(dim);
        blob::get_floats(payload, vmin.data(), dim);
        blob::get_floats(payload + std::size_t(dim) * 4, vmax.data(), dim);
        std::unique_ptr<Sq8Quantizer> q;
        QuantStatus s = create(dim, vmin.data(), vmax.data(), &q);
        if (s == QuantStatus::invalid)
            return QuantStatus::corrupt;
        if (s == QuantStatus::ok)
            *out = std::move(q);
        return s;
    } catch (...) {
        return QuantStatus::over_budget;
    }
}

void Sq8Quantizer::write_payload(std::uint8_t *out) const noexcept
{
    blob::put_floats(out, vmin_.data(), dim_);
    blob::put_floats(out + std::size_t(dim_) * 4, vmax_.data(), dim_);
}

// The negated comparison sends NaN to cell 0 along with values below the range.
void Sq8Quantizer::encode(const float *x, std::uint8_t *code) const noexcept
{
    for (std::uint32_t i = 0; i < dim_; ++i) {
        const float cell = (x[i] - vmin_[i]) * inv_step_[i];
        code[i] = !(cell > 0.0f) ? 0 : cell >= 255.0f ? 255 : static_cast<std::uint8_t>(cell);
    }
}

void Sq8Quantizer::decode(const std::uint8_t *code, float *x) const noexcept
{
    for (std::uint32_t i = 0; i < dim_; ++i)
        x[i] = vmin_[i] + (static_cast<float>(code[i]) + 0.5f) * step_[i];
}

QuantStatus Sq8Quantizer::make_distance(Metric metric,
                                        std::unique_ptr<CodeDistance> *out) const noexcept
{
    try {
        if (metric == Metric::l2sq)
            *out = std::make_unique<Sq8L2Distance>(*this);
        else if (metric == Metric::neg_dot)
            *out = std::make_unique<Sq8DotDistance>(*this);
        else
            return QuantStatus::invalid;
    } catch (...) {
        return QuantStatus::over_budget;
    }
    return QuantStatus::ok;
}

}  // namespace quiver::core::quant
