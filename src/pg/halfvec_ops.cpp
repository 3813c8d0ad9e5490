// Functions and operators on `halfvec`: distances (core float16 kernels, float32 sums),
// norms, element-wise arithmetic rounded back to binary16 with overflow errors, ||, subvector,
// binary_quantize, btree comparison and avg/sum support, with pgvector's names and results.
// Must not loop over elements for distances; kernels() does that.
#include "quiver/pg/float_text.h"
#include "quiver/pg/types.h"
#include "vector_common.h"

extern "C" {
#include "utils/float.h"
}

#include <cmath>
#include <cstring>

#include "quiver/core/half.h"
#include "quiver/core/kernels.h"

using namespace quiver::pg;
using quiver::core::half_to_float;

namespace {

const quiver::core::KernelTable &k()
{
    return quiver::core::kernels();
}

size_t len(const HalfVector *v)
{
    return static_cast<size_t>(v->dim);
}

void check_pair(const HalfVector *a, const HalfVector *b)
{
    check_same_dims(kHalfvecType, a->dim, b->dim);
}

bool half_is_inf(uint16 h)
{
    return (h & 0x7fff) == 0x7c00;
}
bool half_is_zero(uint16 h)
{
    return (h & 0x7fff) == 0;
}

float *widen(const HalfVector *v)
{
    auto *out = static_cast<float *>(palloc(sizeof(float) * v->dim));
    k().f16_to_f32(v->x, out, len(v));
    return out;
}

double norm_in_double(const HalfVector *v)
{
    // pgvector sums the squares in double.
    double sum = 0.0;
    for (int i = 0; i < v->dim; i++) {
        double x = half_to_float(v->x[i]);
        sum += x * x;
    }
    return std::sqrt(sum);
}

enum class Op { add, sub, mul };

// a op b in float32, rounded to binary16; overflow (and for *, underflow) raise pgvector's
// "value out of range" errors.
HalfVector *elementwise(const HalfVector *a, const HalfVector *b, Op op)
{
    check_pair(a, b);
    float *x = widen(a);
    float *y = widen(b);
    for (int i = 0; i < a->dim; i++)
        x[i] = op == Op::add ? x[i] + y[i] : op == Op::sub ? x[i] - y[i] : x[i] * y[i];
    HalfVector *result = new_halfvec(a->dim);
    k().f32_to_f16(x, result->x, len(a));
    for (int i = 0; i < a->dim; i++) {
        if (half_is_inf(result->x[i]))
            float_overflow_error();
        if (op == Op::mul && half_is_zero(result->x[i]) &&
            !(half_is_zero(a->x[i]) || half_is_zero(b->x[i])))
            float_underflow_error();
    }
    return result;
}

int compare_halfvecs(const HalfVector *a, const HalfVector *b)
{
    int common = Min(a->dim, b->dim);
    for (int i = 0; i < common; i++) {
        float x = half_to_float(a->x[i]);
        float y = half_to_float(b->x[i]);
        if (x < y)
            return -1;
        if (x > y)
            return 1;
    }
    return (a->dim > b->dim) - (a->dim < b->dim);
}

} // namespace

QUIVER_FUNCTION(halfvec_l2_distance)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    HalfVector *b = PG_GETARG_HALFVEC_P(1);
    check_pair(a, b);
    PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(k().l2sq_f16(a->x, b->x, len(a)))));
}

QUIVER_FUNCTION(halfvec_l2_squared_distance)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    HalfVector *b = PG_GETARG_HALFVEC_P(1);
    check_pair(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(k().l2sq_f16(a->x, b->x, len(a))));
}

QUIVER_FUNCTION(halfvec_inner_product)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    HalfVector *b = PG_GETARG_HALFVEC_P(1);
    check_pair(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(k().dot_f16(a->x, b->x, len(a))));
}

QUIVER_FUNCTION(halfvec_negative_inner_product)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    HalfVector *b = PG_GETARG_HALFVEC_P(1);
    check_pair(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(-k().dot_f16(a->x, b->x, len(a))));
}

QUIVER_FUNCTION(halfvec_cosine_distance)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    HalfVector *b = PG_GETARG_HALFVEC_P(1);
    check_pair(a, b);
    quiver::core::CosineParts p = k().cosine_f16(a->x, b->x, len(a));
    double similarity = static_cast<double>(p.dot) /
                        std::sqrt(static_cast<double>(p.norm_a) * static_cast<double>(p.norm_b));
    if (similarity > 1)
        similarity = 1;
    else if (similarity < -1)
        similarity = -1;
    PG_RETURN_FLOAT8(1 - similarity);
}

QUIVER_FUNCTION(halfvec_spherical_distance)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    HalfVector *b = PG_GETARG_HALFVEC_P(1);
    check_pair(a, b);
    double dot = static_cast<double>(k().dot_f16(a->x, b->x, len(a)));
    if (dot > 1)
        dot = 1;
    else if (dot < -1)
        dot = -1;
    PG_RETURN_FLOAT8(std::acos(dot) / M_PI);
}

QUIVER_FUNCTION(halfvec_l1_distance)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    HalfVector *b = PG_GETARG_HALFVEC_P(1);
    check_pair(a, b);
    PG_RETURN_FLOAT8(static_cast<double>(k().l1_f16(a->x, b->x, len(a))));
}

QUIVER_FUNCTION(halfvec_vector_dims)
{
    PG_RETURN_INT32(PG_GETARG_HALFVEC_P(0)->dim);
}

QUIVER_FUNCTION(halfvec_l2_norm)
{
    PG_RETURN_FLOAT8(norm_in_double(PG_GETARG_HALFVEC_P(0)));
}

QUIVER_FUNCTION(halfvec_l2_normalize)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    HalfVector *result = new_halfvec(a->dim);
    double norm = norm_in_double(a);
    if (norm > 0) {
        for (int i = 0; i < a->dim; i++)
            result->x[i] =
                quiver::core::float_to_half(static_cast<float>(half_to_float(a->x[i]) / norm));
        for (int i = 0; i < a->dim; i++)
            if (half_is_inf(result->x[i]))
                float_overflow_error();
    }
    PG_RETURN_HALFVEC_P(result);
}

QUIVER_FUNCTION(halfvec_add)
{
    PG_RETURN_HALFVEC_P(elementwise(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1), Op::add));
}

QUIVER_FUNCTION(halfvec_sub)
{
    PG_RETURN_HALFVEC_P(elementwise(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1), Op::sub));
}

QUIVER_FUNCTION(halfvec_mul)
{
    PG_RETURN_HALFVEC_P(elementwise(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1), Op::mul));
}

QUIVER_FUNCTION(halfvec_concat)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    HalfVector *b = PG_GETARG_HALFVEC_P(1);
    int dim = a->dim + b->dim;
    check_dim(kHalfvecType, dim);
    HalfVector *result = new_halfvec(dim);
    std::memcpy(result->x, a->x, sizeof(uint16) * a->dim);
    std::memcpy(result->x + a->dim, b->x, sizeof(uint16) * b->dim);
    PG_RETURN_HALFVEC_P(result);
}

QUIVER_FUNCTION(halfvec_binary_quantize)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    VarBit *result = new_bit_string(a->dim);
    unsigned char *bits = VARBITS(result);
    for (int i = 0; i < a->dim; i++)
        if (half_to_float(a->x[i]) > 0)
            bits[i / 8] |= static_cast<unsigned char>(1u << (7 - (i % 8)));
    PG_RETURN_VARBIT_P(result);
}

QUIVER_FUNCTION(halfvec_subvector)
{
    HalfVector *a = PG_GETARG_HALFVEC_P(0);
    int first = 0;
    int length = 0;
    subvector_range(kHalfvecType, a->dim, PG_GETARG_INT32(1), PG_GETARG_INT32(2), &first, &length);
    HalfVector *result = new_halfvec(length);
    std::memcpy(result->x, a->x + first, sizeof(uint16) * length);
    PG_RETURN_HALFVEC_P(result);
}

QUIVER_FUNCTION(halfvec_lt)
{
    PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) < 0);
}

QUIVER_FUNCTION(halfvec_le)
{
    PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) <= 0);
}

QUIVER_FUNCTION(halfvec_eq)
{
    PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) == 0);
}

QUIVER_FUNCTION(halfvec_ne)
{
    PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) != 0);
}

QUIVER_FUNCTION(halfvec_ge)
{
    PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) >= 0);
}

QUIVER_FUNCTION(halfvec_gt)
{
    PG_RETURN_BOOL(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) > 0);
}

QUIVER_FUNCTION(halfvec_cmp)
{
    PG_RETURN_INT32(compare_halfvecs(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}

// avg(halfvec) transition: float8 sums like avg(vector); the combine step is vector_combine.
QUIVER_FUNCTION(halfvec_accum)
{
    AvgState state = read_avg_state(PG_GETARG_ARRAYTYPE_P(0), "halfvec_accum");
    HalfVector *row = PG_GETARG_HALFVEC_P(1);
    int dim = state.dim == 0 ? row->dim : state.dim;
    if (state.dim != 0)
        check_expected_dim(state.dim, row->dim);

    auto *sums = static_cast<float8 *>(palloc(sizeof(float8) * dim));
    for (int i = 0; i < dim; i++) {
        double x = half_to_float(row->x[i]);
        sums[i] = state.dim == 0 ? x : state.sums[i] + x;
        if (std::isinf(sums[i]))
            float_overflow_error();
    }
    PG_RETURN_ARRAYTYPE_P(build_avg_state(state.count + 1.0, sums, dim));
}

QUIVER_FUNCTION(halfvec_avg)
{
    AvgState state = read_avg_state(PG_GETARG_ARRAYTYPE_P(0), "halfvec_avg");
    if (state.count == 0.0)
        PG_RETURN_NULL();
    check_dim(kHalfvecType, state.dim);
    HalfVector *result = new_halfvec(state.dim);
    for (int i = 0; i < state.dim; i++) {
        result->x[i] = float_to_half_checked(static_cast<float>(state.sums[i] / state.count));
        check_finite_element(half_to_float(result->x[i]), "halfvec");
    }
    PG_RETURN_HALFVEC_P(result);
}
