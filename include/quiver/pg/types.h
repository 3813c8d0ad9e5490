// On-disk layouts of quiver's SQL types. They are pgvector's layouts exactly, so data dumped
// from pgvector restores byte for byte. Include after glue.h (postgres.h first).
#pragma once

#include "quiver/pg/glue.h"

#include <cstdint>

// Limits, as pgvector.
#define VECTOR_MAX_DIM 16000
#define HALFVEC_MAX_DIM 16000
#define SPARSEVEC_MAX_DIM 1000000000
#define SPARSEVEC_MAX_NNZ 16000

// vector: varlena header, int16 dim, int16 unused (always 0), float4 x[dim].
struct Vector {
    int32 vl_len_;
    int16 dim;
    int16 unused;
    float x[FLEXIBLE_ARRAY_MEMBER];
};

// halfvec: same header, then IEEE binary16 values as raw bits.
struct HalfVector {
    int32 vl_len_;
    int16 dim;
    int16 unused;
    uint16 x[FLEXIBLE_ARRAY_MEMBER];
};

// sparsevec: int32 dim, int32 nnz, int32 unused, int32 indices[nnz] (0-based, ascending),
// then float4 values[nnz] directly after the indices.
struct SparseVector {
    int32 vl_len_;
    int32 dim;
    int32 nnz;
    int32 unused;
    int32 indices[FLEXIBLE_ARRAY_MEMBER];
};

#define VECTOR_SIZE(dim) (offsetof(Vector, x) + sizeof(float) * (dim))
#define HALFVEC_SIZE(dim) (offsetof(HalfVector, x) + sizeof(uint16) * (dim))
#define SPARSEVEC_SIZE(nnz) (offsetof(SparseVector, indices) + (sizeof(int32) + sizeof(float)) * (nnz))

#define DatumGetVector(x) ((Vector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_VECTOR_P(n) DatumGetVector(PG_GETARG_DATUM(n))
#define PG_RETURN_VECTOR_P(x) PG_RETURN_POINTER(x)
#define DatumGetHalfVector(x) ((HalfVector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_HALFVEC_P(n) DatumGetHalfVector(PG_GETARG_DATUM(n))
#define PG_RETURN_HALFVEC_P(x) PG_RETURN_POINTER(x)
#define DatumGetSparseVector(x) ((SparseVector *) PG_DETOAST_DATUM(x))
#define PG_GETARG_SPARSEVEC_P(n) DatumGetSparseVector(PG_GETARG_DATUM(n))
#define PG_RETURN_SPARSEVEC_P(x) PG_RETURN_POINTER(x)

namespace quiver::pg {

// palloc0'd values with header set; dimension checks are the caller's job.
Vector *new_vector(int dim);
HalfVector *new_halfvec(int dim);
SparseVector *new_sparsevec(int dim, int nnz);

inline float *sparsevec_values(SparseVector *v) { return reinterpret_cast<float *>(v->indices + v->nnz); }
inline const float *sparsevec_values(const SparseVector *v)
{
    return reinterpret_cast<const float *>(v->indices + v->nnz);
}

}  // namespace quiver::pg
