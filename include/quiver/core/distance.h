// The DistanceComputer seam: one small value type that knows how to compare two stored codes of
// one representation (float32, float16, bits, sparse) under one metric. Graph code (the
// in-memory HNSW build and the on-disk scan in the glue) only ever calls through it, so every
// representation shares the same graph code. Trivially copyable, no destructor, no allocation:
// safe to keep in palloc'd glue structs.
#pragma once
#include "quiver/core/pure.h"

#include "quiver/core/kernels.h"

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace quiver::core {

// How a vector is laid out in memory ("code"):
//   f32    float[dim]
//   f16    half_bits[dim]
//   bits   uint8_t[(dim + 7) / 8], dim = number of bits
//   sparse int32 dim, int32 nnz, int32 unused, int32 indices[nnz] (ascending, 0-based),
//          float values[nnz]  -- pgvector's sparsevec without its varlena header
enum class Representation : std::uint8_t { f32 = 1, f16 = 2, bits = 3, sparse = 4 };

// Smaller is closer for every metric. Cosine is not here: indexes normalise vectors and use
// neg_dot, as pgvector's cosine opclasses do.
enum class Metric : std::uint8_t { l2sq = 1, neg_dot = 2, l1 = 3, hamming = 4, jaccard = 5 };

struct DistanceComputer {
    Representation representation;
    Metric metric;
    std::uint32_t dim;
    const KernelTable *table;  // captured at creation, so one scan uses one SIMD target
    float (*pair)(const DistanceComputer &dc, const void *a, const void *b);
    // out[i] = distance(query, codes[i]) for i < count.
    void (*batch)(const DistanceComputer &dc, const void *query, const void *const *codes,
                  std::size_t count, float *out);

    float operator()(const void *a, const void *b) const noexcept { return pair(*this, a, b); }
};
// Glue code keeps computers in palloc'd structs and relcache entries (rd_amcache), copied
// with memcpy.
static_assert(std::is_trivially_copyable_v<DistanceComputer>, "DistanceComputer is copied bytewise");

// Fills *out for (representation, metric, dim) using the active kernel table. Returns false
// when the pair is not supported (e.g. hamming on f32, l2sq on bits). Supported: f32 and f16
// with l2sq / neg_dot / l1; bits with hamming / jaccard (1 when no bit is set in both, like
// the SQL function); sparse with l2sq / neg_dot / l1 (float32 sums in index order). batch gives
// the same values as pair up to float rounding (f32/f16 l2sq and neg_dot, bits hamming use the
// batch kernels; the other pairs loop over pair and are identical).
bool make_distance_computer(Representation representation, Metric metric, std::uint32_t dim,
                            DistanceComputer *out) noexcept;

// Bytes of one code; for sparse, the size of this particular code (reads its nnz field; 0 when
// code is null). `code` may be null for the fixed-size representations.
std::size_t code_size(Representation representation, std::uint32_t dim, const void *code) noexcept;

}  // namespace quiver::core
