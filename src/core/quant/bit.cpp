// BitQuantizer (bit.h): training, one-bit codes, and the per-byte ADC tables. A query is compared
// with a code through one table lookup per code byte, so a distance costs dim / 8 additions.
#include "quiver/core/quant/bit.h"

#include "quiver/core/quant/blob.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <utility>

namespace quiver::core::quant {
namespace {

constexpr std::size_t byte_values = 256;

bool valid_dim(std::uint32_t dim)
{
    return dim > 0 && dim <= max_quantizer_dim;
}

// What one dimension adds to the distance when its bit is 0 and when it is 1. The decoded
// values are formed in float exactly as decode() forms them, so the tables describe decode(code)
// itself; the rest is double, so a table entry carries only its final rounding to float.
struct BitTerms {
    double zero, one;
};

BitTerms bit_terms(Metric metric, float query, float mean, float scale)
{
    const float lo_f = mean - scale, hi_f = mean + scale;
    const double lo = lo_f, hi = hi_f, q = query;
    if (metric == Metric::l2sq)
        return BitTerms{(q - lo) * (q - lo), (q - hi) * (q - hi)};
    return BitTerms{-q * lo, -q * hi};
}

// The table of code byte g: table[b] = sum over the dimensions of the byte of the term their
// bit in b selects. Each entry extends the one with its lowest set bit cleared by that bit's
// change, so a table costs 256 additions instead of 256 * 8. Bits past dim change nothing.
void fill_table(Metric metric, const BitQuantizer &q, const float *query, std::size_t g,
                float *table)
{
    const std::uint32_t first = static_cast<std::uint32_t>(g * 8);
    const std::uint32_t count = std::min<std::uint32_t>(8, q.dim() - first);
    double delta[8] = {}, partial[byte_values];
    partial[0] = 0.0;
    for (std::uint32_t j = 0; j < count; ++j) {
        const std::uint32_t i = first + j;
        const BitTerms t = bit_terms(metric, query[i], q.mean()[i], q.scale()[i]);
        partial[0] += t.zero;
        delta[j] = t.one - t.zero;
    }
    table[0] = static_cast<float>(partial[0]);
    for (std::size_t b = 1; b < byte_values; ++b) {
        partial[b] = partial[b & (b - 1)] + delta[__builtin_ctz(static_cast<unsigned>(b))];
        table[b] = static_cast<float>(partial[b]);
    }
}

// L2 and inner product differ only in their tables; the sum over code bytes is shared.
class BitDistance final : public CodeDistance {
public:
    BitDistance(const BitQuantizer &q, Metric metric)
        : CodeDistance(q.code_size()), q_(q), metric_(metric),
          tables_(q.code_size() * byte_values)
    {
    }

    void prepare(const float *query) noexcept override
    {
        for (std::size_t g = 0; g < code_size(); ++g)
            fill_table(metric_, q_, query, g, tables_.data() + g * byte_values);
    }

    float distance(const std::uint8_t *code) const noexcept override { return sum(code); }

    void distances(const std::uint8_t *codes, std::size_t count, float *out) const noexcept override
    {
        const std::size_t bytes = code_size();
        for (std::size_t i = 0; i < count; ++i)
            out[i] = sum(codes + i * bytes);
    }

    void distances(const std::uint8_t *const *codes, std::size_t count,
                   float *out) const noexcept override
    {
        for (std::size_t i = 0; i < count; ++i)
            out[i] = sum(codes[i]);
    }

private:
    // Summed in byte order by every form, so all of them give the same float for a code.
    float sum(const std::uint8_t *code) const noexcept
    {
        const float *t = tables_.data();
        float total = 0.0f;
        for (std::size_t g = 0; g < code_size(); ++g, t += byte_values)
            total += t[code[g]];
        return total;
    }

    const BitQuantizer &q_;
    Metric metric_;
    std::vector<float> tables_;  // [code byte][256]
};

}  // namespace

BitQuantizer::BitQuantizer(std::uint32_t dim, std::vector<float> mean,
                           std::vector<float> scale) noexcept
    : dim_(dim), mean_(std::move(mean)), scale_(std::move(scale))
{
}

// One double accumulator per dimension (reused for both passes) and the two float results.
std::size_t BitQuantizer::train_memory(std::uint32_t dim) noexcept
{
    return valid_dim(dim) ? std::size_t(dim) * (sizeof(double) + 2 * sizeof(float)) : 0;
}

// Two passes: the means first, then the deviations about the float means that encode() and
// decode() will use, so the scale is the best one for the signs the codes will actually hold.
QuantStatus BitQuantizer::train(std::uint32_t dim, const float *rows, std::size_t n,
                                std::unique_ptr<BitQuantizer> *out) noexcept
{
    if (!valid_dim(dim) || n == 0 || rows == nullptr || !all_finite(rows, n * dim))
        return QuantStatus::invalid;
    try {
        std::vector<double> sum(dim, 0.0);
        for (std::size_t r = 0; r < n; ++r) {
            const float *row = rows + r * dim;
            for (std::uint32_t i = 0; i < dim; ++i)
                sum[i] += row[i];
        }
        std::vector<float> mean(dim), scale(dim);
        for (std::uint32_t i = 0; i < dim; ++i)
            mean[i] = static_cast<float>(sum[i] / double(n));
        std::fill(sum.begin(), sum.end(), 0.0);
        for (std::size_t r = 0; r < n; ++r) {
            const float *row = rows + r * dim;
            for (std::uint32_t i = 0; i < dim; ++i)
                sum[i] += std::fabs(double(row[i]) - double(mean[i]));
        }
        // The mean deviation is at most half the range, so it fits a float; the clamp only
        // keeps the rounding of the mean from tipping a range of +-FLT_MAX into infinity.
        const double largest = std::numeric_limits<float>::max();
        for (std::uint32_t i = 0; i < dim; ++i)
            scale[i] = static_cast<float>(std::min(sum[i] / double(n), largest));
        out->reset(new BitQuantizer(dim, std::move(mean), std::move(scale)));
    } catch (...) {
        return QuantStatus::over_budget;
    }
    return QuantStatus::ok;
}

QuantStatus BitQuantizer::create(std::uint32_t dim, const float *mean, const float *scale,
                                 std::unique_ptr<BitQuantizer> *out) noexcept
{
    if (!valid_dim(dim) || mean == nullptr || scale == nullptr || !all_finite(mean, dim) ||
        !all_finite(scale, dim))
        return QuantStatus::invalid;
    for (std::uint32_t i = 0; i < dim; ++i)
        if (scale[i] < 0.0f)
            return QuantStatus::invalid;
    try {
        out->reset(new BitQuantizer(dim, std::vector<float>(mean, mean + dim),
                                    std::vector<float>(scale, scale + dim)));
    } catch (...) {
        return QuantStatus::over_budget;
    }
    return QuantStatus::ok;
}

QuantStatus BitQuantizer::from_payload(std::uint32_t dim, const std::uint8_t *payload,
                                       std::size_t size, std::unique_ptr<Quantizer> *out) noexcept
{
    if (!valid_dim(dim) || size != std::size_t(dim) * 8)
        return QuantStatus::corrupt;
    try {
        std::vector<float> mean(dim), scale(dim);
        blob::get_floats(payload, mean.data(), dim);
        blob::get_floats(payload + std::size_t(dim) * 4, scale.data(), dim);
        std::unique_ptr<BitQuantizer> q;
        QuantStatus s = create(dim, mean.data(), scale.data(), &q);
        if (s == QuantStatus::invalid)
            return QuantStatus::corrupt;  // a NaN, an infinity or a negative scale
        if (s == QuantStatus::ok)
            *out = std::move(q);
        return s;
    } catch (...) {
        return QuantStatus::over_budget;
    }
}

void BitQuantizer::write_payload(std::uint8_t *out) const noexcept
{
    blob::put_floats(out, mean_.data(), dim_);
    blob::put_floats(out + std::size_t(dim_) * 4, scale_.data(), dim_);
}

// Each byte is built whole, so the padding bits of the last one are 0 whatever the buffer held.
// A NaN compares false and gets bit 0, like a value at the mean.
void BitQuantizer::encode(const float *x, std::uint8_t *code) const noexcept
{
    for (std::uint32_t first = 0; first < dim_; first += 8) {
        const std::uint32_t count = std::min<std::uint32_t>(8, dim_ - first);
        std::uint8_t byte = 0;
        for (std::uint32_t j = 0; j < count; ++j)
            if (x[first + j] > mean_[first + j])
                byte = static_cast<std::uint8_t>(byte | (1u << j));
        code[first / 8] = byte;
    }
}

void BitQuantizer::decode(const std::uint8_t *code, float *x) const noexcept
{
    for (std::uint32_t i = 0; i < dim_; ++i) {
        const bool set = (code[i / 8] >> (i % 8)) & 1u;
        x[i] = set ? mean_[i] + scale_[i] : mean_[i] - scale_[i];
    }
}

QuantStatus BitQuantizer::make_distance(Metric metric,
                                        std::unique_ptr<CodeDistance> *out) const noexcept
{
    return make_code_distance<BitDistance>(metric, out, *this, metric);
}

}  // namespace quiver::core::quant
