// DistanceComputer adapters: one small static function per (representation, metric) that turns
// two opaque codes into one float through the captured kernel table. No allocation, no state
// beyond the DistanceComputer itself, no PostgreSQL; sparse merges live here, not in kernels.
#include "quiver/core/distance.h"

#include <cmath>
#include <cstring>

namespace quiver::core {
namespace {

using PairFn = float (*)(const DistanceComputer &, const void *, const void *);
using BatchFn = void (*)(const DistanceComputer &, const void *, const void *const *, std::size_t,
                         float *);

// The batch kernels take `const T *const *`; the codes arrive as `const void *const *`. GCC and
// Clang put every object pointer type in one alias set, so reading the array through the typed
// view is well defined for them, and it saves copying the pointer list on every call.
template <class T> const T *const *typed(const void *const *codes)
{
    return reinterpret_cast<const T *const *>(codes);
}

// ---- float32 --------------------------------------------------------------------------------

float f32_l2sq(const DistanceComputer &dc, const void *a, const void *b)
{
    return dc.table->l2sq_f32(static_cast<const float *>(a), static_cast<const float *>(b), dc.dim);
}

float f32_neg_dot(const DistanceComputer &dc, const void *a, const void *b)
{
    return -dc.table->dot_f32(static_cast<const float *>(a), static_cast<const float *>(b), dc.dim);
}

float f32_l1(const DistanceComputer &dc, const void *a, const void *b)
{
    return dc.table->l1_f32(static_cast<const float *>(a), static_cast<const float *>(b), dc.dim);
}

void f32_l2sq_batch(const DistanceComputer &dc, const void *query, const void *const *codes,
                    std::size_t count, float *out)
{
    dc.table->l2sq_f32_batch(static_cast<const float *>(query), typed<float>(codes), count, dc.dim,
                             out);
}

void f32_neg_dot_batch(const DistanceComputer &dc, const void *query, const void *const *codes,
                       std::size_t count, float *out)
{
    dc.table->dot_f32_batch(static_cast<const float *>(query), typed<float>(codes), count, dc.dim,
                            out);
    for (std::size_t i = 0; i < count; ++i)
        out[i] = -out[i];
}

// ---- float16 --------------------------------------------------------------------------------

float f16_l2sq(const DistanceComputer &dc, const void *a, const void *b)
{
    return dc.table->l2sq_f16(static_cast<const half_bits *>(a), static_cast<const half_bits *>(b),
                              dc.dim);
}

float f16_neg_dot(const DistanceComputer &dc, const void *a, const void *b)
{
    return -dc.table->dot_f16(static_cast<const half_bits *>(a), static_cast<const half_bits *>(b),
                              dc.dim);
}

float f16_l1(const DistanceComputer &dc, const void *a, const void *b)
{
    return dc.table->l1_f16(static_cast<const half_bits *>(a), static_cast<const half_bits *>(b),
                            dc.dim);
}

void f16_l2sq_batch(const DistanceComputer &dc, const void *query, const void *const *codes,
                    std::size_t count, float *out)
{
    dc.table->l2sq_f16_batch(static_cast<const half_bits *>(query), typed<half_bits>(codes), count,
                             dc.dim, out);
}

void f16_neg_dot_batch(const DistanceComputer &dc, const void *query, const void *const *codes,
                       std::size_t count, float *out)
{
    dc.table->dot_f16_batch(static_cast<const half_bits *>(query), typed<half_bits>(codes), count,
                            dc.dim, out);
    for (std::size_t i = 0; i < count; ++i)
        out[i] = -out[i];
}

// ---- bits -----------------------------------------------------------------------------------

std::size_t bit_bytes(std::uint32_t bits) { return (static_cast<std::size_t>(bits) + 7) / 8; }

float bits_hamming(const DistanceComputer &dc, const void *a, const void *b)
{
    return static_cast<float>(dc.table->hamming_bits(static_cast<const std::uint8_t *>(a),
                                                     static_cast<const std::uint8_t *>(b),
                                                     bit_bytes(dc.dim)));
}

// Same definition as the SQL jaccard_distance (src/pg/types/bit.cpp): 1 when no bit is set in both.
float bits_jaccard(const DistanceComputer &dc, const void *a, const void *b)
{
    JaccardCounts c =
        dc.table->jaccard_bits(static_cast<const std::uint8_t *>(a),
                               static_cast<const std::uint8_t *>(b), bit_bytes(dc.dim));
    if (c.both == 0)
        return 1.0f;
    return static_cast<float>(1.0 - static_cast<double>(c.both) /
                                        static_cast<double>(c.a_count + c.b_count - c.both));
}

void bits_hamming_batch(const DistanceComputer &dc, const void *query, const void *const *codes,
                        std::size_t count, float *out)
{
    // Counts come back as integers; convert in chunks so no buffer scales with `count`.
    constexpr std::size_t chunk = 64;
    std::uint64_t counts[chunk];
    const std::size_t nbytes = bit_bytes(dc.dim);
    for (std::size_t start = 0; start < count; start += chunk) {
        const std::size_t n = count - start < chunk ? count - start : chunk;
        dc.table->hamming_bits_batch(static_cast<const std::uint8_t *>(query),
                                     typed<std::uint8_t>(codes + start), n, nbytes, counts);
        for (std::size_t i = 0; i < n; ++i)
            out[start + i] = static_cast<float>(counts[i]);
    }
}

// ---- sparse ---------------------------------------------------------------------------------

// A sparse code read in place. Fields are loaded with memcpy: codes may come from anywhere and
// the compiler turns each copy into one plain load.
struct SparseView {
    std::int32_t nnz;
    const unsigned char *indices;  // int32[nnz]
    const unsigned char *values;   // float[nnz]

    explicit SparseView(const void *code)
    {
        const auto *bytes = static_cast<const unsigned char *>(code);
        std::memcpy(&nnz, bytes + 4, sizeof nnz);
        if (nnz < 0)
            nnz = 0;
        indices = bytes + 12;
        values = indices + 4 * static_cast<std::size_t>(nnz);
    }
    std::int32_t index(std::int32_t i) const
    {
        std::int32_t v;
        std::memcpy(&v, indices + 4 * static_cast<std::size_t>(i), sizeof v);
        return v;
    }
    float value(std::int32_t i) const
    {
        float v;
        std::memcpy(&v, values + 4 * static_cast<std::size_t>(i), sizeof v);
        return v;
    }
};

// Visits the union of both index lists in ascending order with the two values at each index
// (0 where absent): the same order, hence the same float32 sums, as the SQL functions.
template <class Visit> void merge_sparse(const void *a, const void *b, Visit visit)
{
    const SparseView x(a), y(b);
    std::int32_t i = 0, j = 0;
    while (i < x.nnz && j < y.nnz) {
        const std::int32_t xi = x.index(i), yj = y.index(j);
        if (xi == yj)
            visit(x.value(i++), y.value(j++));
        else if (xi < yj)
            visit(x.value(i++), 0.0f);
        else
            visit(0.0f, y.value(j++));
    }
    for (; i < x.nnz; ++i)
        visit(x.value(i), 0.0f);
    for (; j < y.nnz; ++j)
        visit(0.0f, y.value(j));
}

float sparse_l2sq(const DistanceComputer &, const void *a, const void *b)
{
    float sum = 0.0f;
    merge_sparse(a, b, [&sum](float x, float y) {
        const float d = x - y;
        sum += d * d;
    });
    return sum;
}

// Only indices present in both contribute to a dot product.
float sparse_neg_dot(const DistanceComputer &, const void *a, const void *b)
{
    const SparseView x(a), y(b);
    float sum = 0.0f;
    std::int32_t i = 0, j = 0;
    while (i < x.nnz && j < y.nnz) {
        const std::int32_t xi = x.index(i), yj = y.index(j);
        if (xi == yj)
            sum += x.value(i++) * y.value(j++);
        else if (xi < yj)
            ++i;
        else
            ++j;
    }
    return -sum;
}

float sparse_l1(const DistanceComputer &, const void *a, const void *b)
{
    float sum = 0.0f;
    merge_sparse(a, b, [&sum](float x, float y) { sum += std::fabs(x - y); });
    return sum;
}

// ---- generic batch --------------------------------------------------------------------------

// For pairs without a batch kernel: the batch is exactly the single form applied in turn.
void batch_by_pairs(const DistanceComputer &dc, const void *query, const void *const *codes,
                    std::size_t count, float *out)
{
    for (std::size_t i = 0; i < count; ++i)
        out[i] = dc.pair(dc, query, codes[i]);
}

struct Adapter {
    Representation representation;
    Metric metric;
    PairFn pair;
    BatchFn batch;
};

const Adapter adapters[] = {
    {Representation::f32, Metric::l2sq, f32_l2sq, f32_l2sq_batch},
    {Representation::f32, Metric::neg_dot, f32_neg_dot, f32_neg_dot_batch},
    {Representation::f32, Metric::l1, f32_l1, batch_by_pairs},
    {Representation::f16, Metric::l2sq, f16_l2sq, f16_l2sq_batch},
    {Representation::f16, Metric::neg_dot, f16_neg_dot, f16_neg_dot_batch},
    {Representation::f16, Metric::l1, f16_l1, batch_by_pairs},
    {Representation::bits, Metric::hamming, bits_hamming, bits_hamming_batch},
    {Representation::bits, Metric::jaccard, bits_jaccard, batch_by_pairs},
    {Representation::sparse, Metric::l2sq, sparse_l2sq, batch_by_pairs},
    {Representation::sparse, Metric::neg_dot, sparse_neg_dot, batch_by_pairs},
    {Representation::sparse, Metric::l1, sparse_l1, batch_by_pairs},
};

}  // namespace

bool make_distance_computer(Representation representation, Metric metric, std::uint32_t dim,
                            DistanceComputer *out) noexcept
{
    for (const Adapter &a : adapters) {
        if (a.representation == representation && a.metric == metric) {
            out->representation = representation;
            out->metric = metric;
            out->dim = dim;
            out->table = &kernels();
            out->pair = a.pair;
            out->batch = a.batch;
            return true;
        }
    }
    return false;
}

std::size_t code_size(Representation representation, std::uint32_t dim, const void *code) noexcept
{
    switch (representation) {
    case Representation::f32:
        return sizeof(float) * dim;
    case Representation::f16:
        return sizeof(half_bits) * dim;
    case Representation::bits:
        return bit_bytes(dim);
    case Representation::sparse:
        if (code == nullptr)
            return 0;
        return 12 + 8 * static_cast<std::size_t>(SparseView(code).nnz);
    }
    return 0;
}

}  // namespace quiver::core
