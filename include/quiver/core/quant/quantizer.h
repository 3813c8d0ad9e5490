// The Quantizer seam: one interface for the vector compressions an index may store (flat
// float32, SQ8, PQ, one bit per dimension), so IVF lists, graphs and the `pq` type never know
// which one they hold. A quantizer is trained on a float sample, saved as a versioned blob of
// plain bytes (for an index page or a table) and loaded back; queries are compared with codes
// through a CodeDistance made once per scan. Pure C++: statuses, never exceptions, across the API.
//
// Blob format (little-endian, 32-byte header, then the kind's payload):
//   0  u32 magic "QVQZ"     4  u16 version (1)    6  u8 kind     7  u8 zero
//   8  u32 dim             12  u32 param_a        16  u32 param_b
//  20  u32 zero            24  u32 payload bytes  28  u32 FNV-1a of bytes 0-27 and the payload
// Payloads: flat none; sq8 float vmin[dim], float vmax[dim]; pq (param_a = M, param_b = nbits)
// float centroids[M][2^nbits][dim / M]; bit float mean[dim], float scale[dim].
#pragma once
#include "quiver/core/pure.h"

#include "quiver/core/distance.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace quiver::core::quant {

enum class QuantStatus : std::uint8_t {
    ok = 0,
    invalid = 1,      // bad parameters: dim 0 or too large, pq dim % M != 0, nbits not 4 or 8,
                      // no training rows, non-finite training values, unsupported metric
    corrupt = 2,      // a blob that fails a size, magic, checksum or value check
    unsupported = 3,  // a well-formed blob of a format version this build does not know
    over_budget = 4,  // training would exceed memory_budget, or an allocation failed
    cancelled = 5,    // interrupted() said so
};

const char *status_name(QuantStatus status) noexcept;

enum class QuantizerKind : std::uint8_t { flat = 1, sq8 = 2, pq = 3, bit = 4 };

// pgvector's limit; also what keeps every size computation far from overflow.
constexpr std::uint32_t max_quantizer_dim = 16000;

struct QuantizerParams {
    QuantizerKind kind = QuantizerKind::flat;
    std::uint32_t dim = 0;
    std::uint32_t pq_m = 0;              // pq: sub-spaces; dim % pq_m must be 0
    std::uint32_t pq_nbits = 8;          // pq: bits per sub-space code, 4 or 8
    std::uint32_t max_iterations = 20;   // pq: k-means rounds per sub-space
    std::uint64_t seed = 0x5175616e74697a65ULL;
    std::size_t memory_budget = 0;       // bytes of working memory for training; 0 = none
    bool (*interrupted)(void *arg) = nullptr;  // polled while training; must not throw/longjmp
    void *interrupted_arg = nullptr;
};

// Distances from one query to many codes of one quantizer under one metric (l2sq or neg_dot).
// Made once per scan, when it allocates its tables; prepare() fills them for each query;
// distance() and distances() never allocate. Not thread-safe; the quantizer must outlive it.
class CodeDistance {
public:
    virtual ~CodeDistance() = default;

    // query: dim floats. Must be called before the first distance().
    virtual void prepare(const float *query) noexcept = 0;
    virtual float distance(const std::uint8_t *code) const noexcept = 0;
    // out[i] = distance(codes + i * code_size): codes stored back to back (a list page).
    virtual void distances(const std::uint8_t *codes, std::size_t count,
                           float *out) const noexcept;
    // out[i] = distance(codes[i]): scattered codes (graph neighbours).
    virtual void distances(const std::uint8_t *const *codes, std::size_t count,
                           float *out) const noexcept;

    std::size_t code_size() const noexcept { return code_size_; }

protected:
    explicit CodeDistance(std::size_t code_size) noexcept : code_size_(code_size) {}

private:
    std::size_t code_size_;
};

// What a quantizer's make_distance() does when one CodeDistance type D serves both metrics:
// invalid for any metric but l2sq and neg_dot, over_budget when the allocation fails.
template <class D, class... Args>
QuantStatus make_code_distance(Metric metric, std::unique_ptr<CodeDistance> *out,
                               Args &&...args) noexcept
{
    if (metric != Metric::l2sq && metric != Metric::neg_dot)
        return QuantStatus::invalid;
    try {
        *out = std::make_unique<D>(std::forward<Args>(args)...);
    } catch (...) {
        return QuantStatus::over_budget;
    }
    return QuantStatus::ok;
}

class Quantizer {
public:
    virtual ~Quantizer() = default;

    virtual QuantizerKind kind() const noexcept = 0;
    virtual std::uint32_t dim() const noexcept = 0;
    virtual std::size_t code_size() const noexcept = 0;  // bytes of one code

    // x: dim floats -> code: code_size() bytes, and back (decode is lossy except for flat).
    virtual void encode(const float *x, std::uint8_t *code) const noexcept = 0;
    virtual void decode(const std::uint8_t *code, float *x) const noexcept = 0;
    // n rows (row-major) into n codes back to back; the same bytes as n encode() calls.
    virtual void encode_batch(const float *rows, std::size_t n, std::uint8_t *codes) const noexcept;

    // metric: Metric::l2sq or Metric::neg_dot, else invalid; over_budget when out of memory.
    virtual QuantStatus make_distance(Metric metric,
                                      std::unique_ptr<CodeDistance> *out) const noexcept = 0;

    // Serialisation: blob_size() bytes written by write_blob() into the caller's buffer (e.g. a
    // palloc'd one), or save() into a vector.
    std::size_t blob_size() const noexcept;
    void write_blob(std::uint8_t *out) const noexcept;
    QuantStatus save(std::vector<std::uint8_t> *out) const noexcept;

protected:
    // What the blob header and payload hold for this kind (see the format above).
    virtual std::uint32_t blob_param_a() const noexcept { return 0; }
    virtual std::uint32_t blob_param_b() const noexcept { return 0; }
    virtual std::size_t payload_size() const noexcept = 0;
    virtual void write_payload(std::uint8_t *out) const noexcept = 0;
};

// Trains a quantizer of params.kind on n rows (row-major float[n * params.dim]). flat needs no
// rows; sq8, pq and bit need n >= 1 (pq with n < 2^nbits still works: see kmeans()).
QuantStatus train_quantizer(const QuantizerParams &params, const float *rows, std::size_t n,
                            std::unique_ptr<Quantizer> *out) noexcept;

// Working memory train_quantizer() needs for n rows (0 for invalid parameters), so the caller
// can size its sample to the budget.
std::size_t train_quantizer_memory(const QuantizerParams &params, std::size_t n) noexcept;

// Reads a blob written by write_blob(); every size, the checksum and every value is checked
// before anything is allocated from it.
QuantStatus load_quantizer(const std::uint8_t *blob, std::size_t size,
                           std::unique_ptr<Quantizer> *out) noexcept;

// True when none of the values is NaN or infinite (training samples, stored codebooks).
bool all_finite(const float *values, std::size_t count) noexcept;

}  // namespace quiver::core::quant
