// Functions and operators on `vector`: distances (through the core kernels), norms,
// element-wise arithmetic with overflow errors, ||, subvector, binary_quantize, btree
// comparison and the avg/sum aggregate support, with pgvector's names and results.
// Must not loop over elements for distances; kernels() does that (and picks the SIMD target).
#include "quiver/pg/float_text.h"
#include "quiver/pg/types.h"
#include "vector_common.h"

extern "C" {
#include "utils/float.h"
}

#include <cmath>
#include <cstring>

#include "quiver/core/kernels.h"

using namespace quiver::pg;

namespace {

const quiver::core::KernelTable &k()
{
    return quiver::core::kernels();
}

size_t len(const Vector *v)
{
    return static_cast<size_t>(v->dim);
}

void check_pair(const Vector *a, const Vector *b)
{
    check_same_dims(kVectorType, a->dim, b->dim);
}

// Cosine similarity as pgvector computes it: float partial sums, then in double
// dot / sqrt(|a|^2 |b|^2). NaN when either vector is zero.
double cosine_similarity(const Vector *a, const Vector *b)
{
    quiver::core::CosineParts p = k().cosine_f32(a->x, b->x, len(a));
    return static_cast<double>(p.dot) /
           std::sqrt(static_cast<double>(p.norm_a) * static_cast<double>(p.norm_b));
}

// Sum of squares in double, as pgvector's vector_norm and l2_normalize accumulate it (a float
// kernel would round differently on long vectors).
double norm_in_double(const Vector *v)
{
    double sum = 0.0;
    for (int i = 0; i < v->dim; i++)
        sum += static_cast<double>(v->x[i]) * static_cast<double>(v->x[i]);
    return std::sqrt(sum);
}

void check_no_overflow(const Vector *v)
{
    for (int i = 0; i < v->dim; i++)
        if (std::isinf(v->x[i]))
            float_overflow_error();
}

int compare_vectors(const Vector *a, const Vector *b)
{
    // Elements first, then length, like PostgreSQL arrays.
    int common = Min(a->dim, b->dim);
    for (int i = 0; i < common; i++) {
        if (a->x[i] < b->x[i])
            return -1;
        if (a->x[i] > b->x[i])
            return 1;
    }
    return (a->dim > b->dim) - (a->dim < b->dim);
}

} // namespace

QUIVER_FUNCTION(l2_distance)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    check_pair(a, b);
    PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(k().l2sq_f32(a->x, b->x, len(a)))));
}

QUIVER_FUNCTION(vector_l2_squared_distance)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    check_pair(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(k().l2sq_f32(a->x, b->x, len(a))));
}

QUIVER_FUNCTION(inner_product)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    check_pair(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(k().dot_f32(a->x, b->x, len(a))));
}

QUIVER_FUNCTION(vector_negative_inner_product)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    check_pair(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(-k().dot_f32(a->x, b->x, len(a))));
}

QUIVER_FUNCTION(cosine_distance)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    check_pair(a, b);
    double similarity = cosine_similarity(a, b);
    // Rounding can push |similarity| past 1; NaN (a zero vector) passes through.
    if (similarity > 1)
        similarity = 1.0;
    else if (similarity < -1)
        similarity = -1.0;
    PG_RETURN_FLOAT8(1.0 - similarity);
}

// Angular distance for spherical k-means; assumes unit vectors.
QUIVER_FUNCTION(vector_spherical_distance)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    check_pair(a, b);
    double dot = static_cast<double>(k().dot_f32(a->x, b->x, len(a)));
    if (dot > 1)
        dot = 1;
    else if (dot < -1)
        dot = -1;
    PG_RETURN_FLOAT8(std::acos(dot) / M_PI);
}

QUIVER_FUNCTION(l1_distance)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    check_pair(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(k().l1_f32(a->x, b->x, len(a))));
}

QUIVER_FUNCTION(vector_dims)
{
    PG_RETURN_INT32(PG_GETARG_VECTOR_P(0)->dim);
}

QUIVER_FUNCTION(vector_norm)
{
    PG_RETURN_FLOAT8(norm_in_double(PG_GETARG_VECTOR_P(0)));
}

QUIVER_FUNCTION(l2_normalize)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *result = new_vector(a->dim);
    double norm = norm_in_double(a);
    // A zero vector stays zero.
    if (norm > 0) {
        for (int i = 0; i < a->dim; i++)
            result->x[i] = static_cast<float>(a->x[i] / norm);
        check_no_overflow(result);
    }
    PG_RETURN_VECTOR_P(result);
}

QUIVER_FUNCTION(vector_add)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    check_pair(a, b);
    Vector *result = new_vector(a->dim);
    for (int i = 0; i < a->dim; i++)
        result->x[i] = a->x[i] + b->x[i];
    check_no_overflow(result);
    PG_RETURN_VECTOR_P(result);
}

QUIVER_FUNCTION(vector_sub)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    check_pair(a, b);
    Vector *result = new_vector(a->dim);
    for (int i = 0; i < a->dim; i++)
        result->x[i] = a->x[i] - b->x[i];
    check_no_overflow(result);
    PG_RETURN_VECTOR_P(result);
}

QUIVER_FUNCTION(vector_mul)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    check_pair(a, b);
    Vector *result = new_vector(a->dim);
    for (int i = 0; i < a->dim; i++)
        result->x[i] = a->x[i] * b->x[i];
    for (int i = 0; i < a->dim; i++) {
        if (std::isinf(result->x[i]))
            float_overflow_error();
        if (result->x[i] == 0 && !(a->x[i] == 0 || b->x[i] == 0))
            float_underflow_error();
    }
    PG_RETURN_VECTOR_P(result);
}

QUIVER_FUNCTION(vector_concat)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    Vector *b = PG_GETARG_VECTOR_P(1);
    int dim = a->dim + b->dim;
    check_dim(kVectorType, dim);
    Vector *result = new_vector(dim);
    std::memcpy(result->x, a->x, sizeof(float) * a->dim);
    std::memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);
    PG_RETURN_VECTOR_P(result);
}

// One bit per element, set when the element is > 0; first element in the high bit.
QUIVER_FUNCTION(binary_quantize)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    VarBit *result = new_bit_string(a->dim);
    unsigned char *bits = VARBITS(result);
    for (int i = 0; i < a->dim; i++)
        if (a->x[i] > 0)
            bits[i / 8] |= static_cast<unsigned char>(1u << (7 - (i % 8)));
    PG_RETURN_VARBIT_P(result);
}

QUIVER_FUNCTION(subvector)
{
    Vector *a = PG_GETARG_VECTOR_P(0);
    int first = 0;
    int length = 0;
    subvector_range(kVectorType, a->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2), &first, &length);
    Vector *result = new_vector(length);
    std::memcpy(result->x, a->x + first, sizeof(float) * length);
    PG_RETURN_VECTOR_P(result);
}

QUIVER_FUNCTION(vector_lt)
{
    PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) < 0);
}

QUIVER_FUNCTION(vector_le)
{
    PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) <= 0);
}

QUIVER_FUNCTION(vector_eq)
{
    PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) == 0);
}

QUIVER_FUNCTION(vector_ne)
{
    PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) != 0);
}

QUIVER_FUNCTION(vector_ge)
{
    PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) >= 0);
}

QUIVER_FUNCTION(vector_gt)
{
    PG_RETURN_BOOL(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) > 0);
}

QUIVER_FUNCTION(vector_cmp)
{
    PG_RETURN_INT32(compare_vectors(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}

// avg(vector) transition: adds the row to float8 sums (like float4_accum).
QUIVER_FUNCTION(vector_accum)
{
    AvgState state = read_avg_state(PG_GETARG_ARRAYTYPE_P(0), "vector_accum");
    Vector *row = PG_GETARG_VECTOR_P(1);
    int dim = state.dim == 0 ? row->dim : state.dim;
    if (state.dim != 0)
        check_expected_dim(state.dim, row->dim);

    auto *sums = static_cast<float8 *>(palloc(sizeof(float8) * dim));
    for (int i = 0; i < dim; i++) {
        sums[i] = state.dim == 0 ? static_cast<double>(row->x[i]) : state.sums[i] + row->x[i];
        if (std::isinf(sums[i]))
            float_overflow_error();
    }
    PG_RETURN_ARRAYTYPE_P(build_avg_state(state.count + 1.0, sums, dim));
}

// Combines two partial avg states (parallel aggregation); shared by avg(halfvec).
QUIVER_FUNCTION(vector_combine)
{
    AvgState s1 = read_avg_state(PG_GETARG_ARRAYTYPE_P(0), "vector_combine");
    AvgState s2 = read_avg_state(PG_GETARG_ARRAYTYPE_P(1), "vector_combine");
    int dim = s1.dim == 0 ? s2.dim : s1.dim;
    if (dim != 0)
        check_dim(kVectorType, dim);
    if (s1.dim != 0 && s2.dim != 0)
        check_expected_dim(s1.dim, s2.dim);

    auto *sums = static_cast<float8 *>(palloc(sizeof(float8) * (static_cast<Size>(dim) + 1)));
    for (int i = 0; i < dim; i++) {
        if (s1.dim == 0)
            sums[i] = s2.sums[i];
        else if (s2.dim == 0)
            sums[i] = s1.sums[i];
        else
            sums[i] = s1.sums[i] + s2.sums[i];
        if (std::isinf(sums[i]))
            float_overflow_error();
    }
    PG_RETURN_ARRAYTYPE_P(build_avg_state(s1.count + s2.count, sums, dim));
}

QUIVER_FUNCTION(vector_avg)
{
    AvgState state = read_avg_state(PG_GETARG_ARRAYTYPE_P(0), "vector_avg");
    // SQL's avg of no rows is NULL.
    if (state.count == 0.0)
        PG_RETURN_NULL();
    check_dim(kVectorType, state.dim);
    Vector *result = new_vector(state.dim);
    for (int i = 0; i < state.dim; i++) {
        result->x[i] = static_cast<float>(state.sums[i] / state.count);
        check_finite_element(result->x[i], "vector");
    }
    PG_RETURN_VECTOR_P(result);
}
