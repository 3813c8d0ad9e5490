// sparsevec functions and operators: distances (a merge over the two sorted index lists, summed
// in index order in float32 like pgvector), norms, l2_normalize and the btree comparison.
// No type I/O here (sparsevec.cpp); no C++ objects, only palloc'd plain structs.
#include "quiver/pg/glue.h"
#include "quiver/pg/types.h"

extern "C" {
#include "utils/float.h"
}

#include "quiver/core/kernels.h"

#include <cmath>

using quiver::pg::new_sparsevec;
using quiver::pg::sparsevec_values;

namespace {

void check_same_dims(const SparseVector *a, const SparseVector *b)
{
    if (a->dim != b->dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different sparsevec dimensions %d and %d", a->dim, b->dim)));
}

// Walks the union of the two index lists in ascending order and calls visit(x, y) with the two
// values at each index present in either (0 for the side where it is absent).
template <typename Visit>
void merge_indices(const SparseVector *a, const SparseVector *b, Visit visit)
{
    const float *ax = sparsevec_values(a);
    const float *bx = sparsevec_values(b);
    int i = 0;
    int j = 0;
    while (i < a->nnz && j < b->nnz) {
        if (a->indices[i] == b->indices[j])
            visit(ax[i++], bx[j++]);
        else if (a->indices[i] < b->indices[j])
            visit(ax[i++], 0.0f);
        else
            visit(0.0f, bx[j++]);
    }
    for (; i < a->nnz; ++i)
        visit(ax[i], 0.0f);
    for (; j < b->nnz; ++j)
        visit(0.0f, bx[j]);
}

float l2_squared(const SparseVector *a, const SparseVector *b)
{
    float sum = 0.0f;
    merge_indices(a, b, [&sum](float x, float y) {
        float d = x - y;
        sum += d * d;
    });
    return sum;
}

// Only indices present in both contribute.
float inner_product(const SparseVector *a, const SparseVector *b)
{
    const float *ax = sparsevec_values(a);
    const float *bx = sparsevec_values(b);
    float sum = 0.0f;
    int i = 0;
    int j = 0;
    while (i < a->nnz && j < b->nnz) {
        if (a->indices[i] == b->indices[j])
            sum += ax[i++] * bx[j++];
        else if (a->indices[i] < b->indices[j])
            ++i;
        else
            ++j;
    }
    return sum;
}

float l1(const SparseVector *a, const SparseVector *b)
{
    float sum = 0.0f;
    merge_indices(a, b, [&sum](float x, float y) { sum += std::fabs(x - y); });
    return sum;
}

float norm_squared_f32(const SparseVector *v)
{
    return quiver::core::kernels().norm_sq_f32(sparsevec_values(v),
                                               static_cast<std::size_t>(v->nnz));
}

// The Euclidean norm accumulated in double, so that large finite values do not overflow.
double norm_f64(const SparseVector *v)
{
    const float *x = sparsevec_values(v);
    double sum = 0.0;
    for (int i = 0; i < v->nnz; ++i)
        sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    return std::sqrt(sum);
}

} // namespace

QUIVER_FUNCTION(sparsevec_l2_distance)
{
    SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
    SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
    check_same_dims(a, b);
    PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(l2_squared(a, b))));
}

QUIVER_FUNCTION(sparsevec_l2_squared_distance)
{
    SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
    SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
    check_same_dims(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(l2_squared(a, b)));
}

QUIVER_FUNCTION(sparsevec_inner_product)
{
    SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
    SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
    check_same_dims(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(inner_product(a, b)));
}

QUIVER_FUNCTION(sparsevec_negative_inner_product)
{
    SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
    SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
    check_same_dims(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(-inner_product(a, b)));
}

// 1 - dot / sqrt(|a|^2 |b|^2), similarity clamped to [-1, 1]; NaN when either vector is zero.
QUIVER_FUNCTION(sparsevec_cosine_distance)
{
    SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
    SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
    check_same_dims(a, b);

    double similarity = inner_product(a, b);
    float norm_a = norm_squared_f32(a);
    float norm_b = norm_squared_f32(b);
    similarity /= std::sqrt(static_cast<double>(norm_a) * static_cast<double>(norm_b));
    if (similarity > 1)
        similarity = 1.0;
    else if (similarity < -1)
        similarity = -1.0;
    PG_RETURN_FLOAT8(1.0 - similarity);
}

QUIVER_FUNCTION(sparsevec_l1_distance)
{
    SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
    SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
    check_same_dims(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(l1(a, b)));
}

QUIVER_FUNCTION(sparsevec_l2_norm)
{
    SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
    PG_RETURN_FLOAT8(norm_f64(a));
}

namespace {

// Copies v without the entries whose value is zero (values that underflowed when scaled).
SparseVector *without_zeros(const SparseVector *v)
{
    const float *x = sparsevec_values(v);
    int nnz = 0;
    for (int i = 0; i < v->nnz; ++i)
        if (x[i] != 0)
            ++nnz;
    SparseVector *result = new_sparsevec(v->dim, nnz);
    float *rx = sparsevec_values(result);
    int j = 0;
    for (int i = 0; i < v->nnz; ++i) {
        if (x[i] != 0) {
            result->indices[j] = v->indices[i];
            rx[j] = x[i];
            ++j;
        }
    }
    return result;
}

} // namespace

// a / |a| (the zero vector stays zero); entries that underflow to zero are dropped.
QUIVER_FUNCTION(sparsevec_l2_normalize)
{
    SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
    const float *ax = sparsevec_values(a);
    double norm = norm_f64(a);
    if (!(norm > 0))
        PG_RETURN_SPARSEVEC_P(new_sparsevec(a->dim, 0));

    SparseVector *result = new_sparsevec(a->dim, a->nnz);
    float *rx = sparsevec_values(result);
    bool has_zero = false;
    for (int i = 0; i < a->nnz; ++i) {
        result->indices[i] = a->indices[i];
        rx[i] = static_cast<float>(ax[i] / norm);
        if (std::isinf(rx[i]))
            float_overflow_error();
        has_zero = has_zero || rx[i] == 0;
    }
    if (has_zero) {
        SparseVector *compact = without_zeros(result);
        pfree(result);
        result = compact;
    }
    PG_RETURN_SPARSEVEC_P(result);
}

namespace {

// pgvector's order: like the dense vectors, compare element by element (absent = 0) up to the
// shorter dimension, then the dimension.
int compare_sparsevecs(const SparseVector *a, const SparseVector *b)
{
    const float *ax = sparsevec_values(a);
    const float *bx = sparsevec_values(b);
    int nnz = a->nnz < b->nnz ? a->nnz : b->nnz;

    for (int i = 0; i < nnz; ++i) {
        if (a->indices[i] < b->indices[i])
            return ax[i] < 0 ? -1 : 1;
        if (a->indices[i] > b->indices[i])
            return bx[i] < 0 ? 1 : -1;
        if (ax[i] < bx[i])
            return -1;
        if (ax[i] > bx[i])
            return 1;
    }
    if (a->nnz < b->nnz && b->indices[nnz] < a->dim)
        return bx[nnz] < 0 ? 1 : -1;
    if (a->nnz > b->nnz && a->indices[nnz] < b->dim)
        return ax[nnz] < 0 ? -1 : 1;
    if (a->dim < b->dim)
        return -1;
    if (a->dim > b->dim)
        return 1;
    return 0;
}

int compare_args(FunctionCallInfo fcinfo)
{
    SparseVector *a = PG_GETARG_SPARSEVEC_P(0);
    SparseVector *b = PG_GETARG_SPARSEVEC_P(1);
    return compare_sparsevecs(a, b);
}

} // namespace

QUIVER_FUNCTION(sparsevec_lt)
{
    PG_RETURN_BOOL(compare_args(fcinfo) < 0);
}
QUIVER_FUNCTION(sparsevec_le)
{
    PG_RETURN_BOOL(compare_args(fcinfo) <= 0);
}
QUIVER_FUNCTION(sparsevec_eq)
{
    PG_RETURN_BOOL(compare_args(fcinfo) == 0);
}
QUIVER_FUNCTION(sparsevec_ne)
{
    PG_RETURN_BOOL(compare_args(fcinfo) != 0);
}
QUIVER_FUNCTION(sparsevec_ge)
{
    PG_RETURN_BOOL(compare_args(fcinfo) >= 0);
}
QUIVER_FUNCTION(sparsevec_gt)
{
    PG_RETURN_BOOL(compare_args(fcinfo) > 0);
}
QUIVER_FUNCTION(sparsevec_cmp)
{
    PG_RETURN_INT32(compare_args(fcinfo));
}
