// What every quantizer shares: the blob header (quantizer.h has the format), loading a blob into
// the right kind, training by kind, and the default batch loops. Kinds live in their own files.
#include "quiver/core/quant/quantizer.h"

#include "quiver/core/quant/bit.h"
#include "quiver/core/quant/blob.h"
#include "quiver/core/quant/flat.h"
#include "quiver/core/quant/pq.h"
#include "quiver/core/quant/sq8.h"

#include <cmath>
#include <new>

namespace quiver::core::quant {
namespace {

constexpr std::uint32_t blob_magic = 0x5a515651u;  // "QVQZ" as little-endian bytes
constexpr std::uint16_t blob_version = 1;
constexpr std::size_t header_size = 32;
constexpr std::size_t checksum_offset = 28;

struct Header {
    std::uint16_t version;
    std::uint8_t kind;
    std::uint32_t dim, param_a, param_b, payload_size, checksum;
};

Header read_header(const std::uint8_t *p)
{
    return Header{blob::get_u16(p + 4), p[6],
                  blob::get_u32(p + 8), blob::get_u32(p + 12),
                  blob::get_u32(p + 16), blob::get_u32(p + 24),
                  blob::get_u32(p + checksum_offset)};
}

}  // namespace

bool all_finite(const float *values, std::size_t count) noexcept
{
    for (std::size_t i = 0; i < count; ++i)
        if (!std::isfinite(values[i]))
            return false;
    return true;
}

const char *status_name(QuantStatus status) noexcept
{
    switch (status) {
    case QuantStatus::ok: return "ok";
    case QuantStatus::invalid: return "invalid";
    case QuantStatus::corrupt: return "corrupt";
    case QuantStatus::unsupported: return "unsupported";
    case QuantStatus::over_budget: return "over_budget";
    case QuantStatus::cancelled: return "cancelled";
    }
    return "unknown";
}

// ---- CodeDistance ---------------------------------------------------------------------------

void CodeDistance::distances(const std::uint8_t *codes, std::size_t count,
                             float *out) const noexcept
{
    for (std::size_t i = 0; i < count; ++i)
        out[i] = distance(codes + i * code_size_);
}

void CodeDistance::distances(const std::uint8_t *const *codes, std::size_t count,
                             float *out) const noexcept
{
    for (std::size_t i = 0; i < count; ++i)
        out[i] = distance(codes[i]);
}

// ---- Quantizer ------------------------------------------------------------------------------

void Quantizer::encode_batch(const float *rows, std::size_t n, std::uint8_t *codes) const noexcept
{
    const std::size_t d = dim(), bytes = code_size();
    for (std::size_t i = 0; i < n; ++i)
        encode(rows + i * d, codes + i * bytes);
}

std::size_t Quantizer::blob_size() const noexcept
{
    return header_size + payload_size();
}

void Quantizer::write_blob(std::uint8_t *out) const noexcept
{
    const std::size_t payload = payload_size();
    blob::put_u32(out, blob_magic);
    blob::put_u16(out + 4, blob_version);
    out[6] = static_cast<std::uint8_t>(kind());
    out[7] = 0;
    blob::put_u32(out + 8, dim());
    blob::put_u32(out + 12, blob_param_a());
    blob::put_u32(out + 16, blob_param_b());
    blob::put_u32(out + 20, 0);
    blob::put_u32(out + 24, static_cast<std::uint32_t>(payload));
    write_payload(out + header_size);
    const std::uint32_t sum =
        blob::fnv1a(out + header_size, payload, blob::fnv1a(out, checksum_offset));
    blob::put_u32(out + checksum_offset, sum);
}

QuantStatus Quantizer::save(std::vector<std::uint8_t> *out) const noexcept
{
    try {
        out->resize(blob_size());
    } catch (...) {
        return QuantStatus::over_budget;
    }
    write_blob(out->data());
    return QuantStatus::ok;
}

// ---- training and loading -------------------------------------------------------------------

QuantStatus train_quantizer(const QuantizerParams &params, const float *rows, std::size_t n,
                            std::unique_ptr<Quantizer> *out) noexcept
{
    if (params.kind == QuantizerKind::flat) {
        std::unique_ptr<FlatQuantizer> flat;
        QuantStatus s = FlatQuantizer::create(params.dim, &flat);
        if (s == QuantStatus::ok)
            *out = std::move(flat);
        return s;
    }
    // Each kind checks its own parameters and rows.
    if (params.memory_budget != 0 && train_quantizer_memory(params, n) > params.memory_budget)
        return QuantStatus::over_budget;
    if (params.kind == QuantizerKind::sq8) {
        std::unique_ptr<Sq8Quantizer> sq8;
        QuantStatus s = Sq8Quantizer::train(params.dim, rows, n, &sq8);
        if (s == QuantStatus::ok)
            *out = std::move(sq8);
        return s;
    }
    if (params.kind == QuantizerKind::pq) {
        std::unique_ptr<ProductQuantizer> pq;
        QuantStatus s = ProductQuantizer::train(params, rows, n, &pq);
        if (s == QuantStatus::ok)
            *out = std::move(pq);
        return s;
    }
    if (params.kind == QuantizerKind::bit) {
        std::unique_ptr<BitQuantizer> bit;
        QuantStatus s = BitQuantizer::train(params.dim, rows, n, &bit);
        if (s == QuantStatus::ok)
            *out = std::move(bit);
        return s;
    }
    return QuantStatus::invalid;
}

std::size_t train_quantizer_memory(const QuantizerParams &params, std::size_t n) noexcept
{
    switch (params.kind) {
    case QuantizerKind::flat: return 0;
    case QuantizerKind::sq8: return std::size_t(params.dim) * 6 * sizeof(float);  // 4 + 2 copies
    case QuantizerKind::pq: return ProductQuantizer::train_memory(params, n);
    case QuantizerKind::bit: return BitQuantizer::train_memory(params.dim);  // O(dim), any n
    }
    return 0;
}

QuantStatus load_quantizer(const std::uint8_t *data, std::size_t size,
                           std::unique_ptr<Quantizer> *out) noexcept
{
    if (data == nullptr || size < header_size || blob::get_u32(data) != blob_magic)
        return QuantStatus::corrupt;
    const Header h = read_header(data);
    if (h.version > blob_version)
        return QuantStatus::unsupported;
    if (h.version != blob_version || data[7] != 0 || blob::get_u32(data + 20) != 0 ||
        size != header_size + std::size_t(h.payload_size) ||
        h.checksum != blob::fnv1a(data + header_size, h.payload_size,
                                  blob::fnv1a(data, checksum_offset)))
        return QuantStatus::corrupt;
    if (h.dim == 0 || h.dim > max_quantizer_dim)
        return QuantStatus::corrupt;

    const std::uint8_t *payload = data + header_size;
    switch (static_cast<QuantizerKind>(h.kind)) {
    case QuantizerKind::flat: {
        if (h.param_a != 0 || h.param_b != 0 || h.payload_size != 0)
            return QuantStatus::corrupt;
        std::unique_ptr<FlatQuantizer> flat;
        QuantStatus s = FlatQuantizer::create(h.dim, &flat);
        if (s == QuantStatus::ok)
            *out = std::move(flat);
        return s == QuantStatus::invalid ? QuantStatus::corrupt : s;
    }
    case QuantizerKind::sq8:
        if (h.param_a != 0 || h.param_b != 0)
            return QuantStatus::corrupt;
        return Sq8Quantizer::from_payload(h.dim, payload, h.payload_size, out);
    case QuantizerKind::pq:
        return ProductQuantizer::from_payload(h.dim, h.param_a, h.param_b, payload,
                                              h.payload_size, out);
    case QuantizerKind::bit:
        if (h.param_a != 0 || h.param_b != 0)
            return QuantStatus::corrupt;
        return BitQuantizer::from_payload(h.dim, payload, h.payload_size, out);
    }
    return QuantStatus::corrupt;
}

}  // namespace quiver::core::quant
