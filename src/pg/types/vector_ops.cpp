// Functions and operators on `vector`: distances (through the core kernels), norms,
// element-wise arithmetic with overflow errors, ||, subvector, binary_quantize, btree
// comparison and the avg/sum aggregate support, with pgvector's names and results. The logic
// shared with halfvec is in dense_ops.h; distances never loop over elements here.
#include "quiver/pg/float_text.h"
#include "quiver/pg/types.h"
#include "dense_ops.h"

extern "C" {
#include "fmgr.h"
}

using namespace quiver::pg;

QUIVER_FUNCTION(l2_distance)
{
    PG_RETURN_FLOAT8(std::sqrt(dense_l2sq(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1))));
}

QUIVER_FUNCTION(vector_l2_squared_distance)
{
    PG_RETURN_FLOAT8(dense_l2sq(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}

QUIVER_FUNCTION(inner_product)
{
    PG_RETURN_FLOAT8(dense_dot(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}

QUIVER_FUNCTION(vector_negative_inner_product)
{
    PG_RETURN_FLOAT8(-dense_dot(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}

QUIVER_FUNCTION(cosine_distance)
{
    PG_RETURN_FLOAT8(dense_cosine_distance(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}

QUIVER_FUNCTION(vector_spherical_distance)
{
    PG_RETURN_FLOAT8(dense_spherical_distance(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}

QUIVER_FUNCTION(l1_distance)
{
    PG_RETURN_FLOAT8(dense_l1(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}

QUIVER_FUNCTION(vector_dims)
{
    PG_RETURN_INT32(PG_GETARG_VECTOR_P(0)->dim);
}

QUIVER_FUNCTION(vector_norm)
{
    PG_RETURN_FLOAT8(dense_norm(PG_GETARG_VECTOR_P(0)));
}

QUIVER_FUNCTION(l2_normalize)
{
    PG_RETURN_VECTOR_P(dense_normalize(PG_GETARG_VECTOR_P(0)));
}

QUIVER_FUNCTION(vector_add)
{
    PG_RETURN_VECTOR_P(dense_elementwise(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1), DenseOp::add));
}

QUIVER_FUNCTION(vector_sub)
{
    PG_RETURN_VECTOR_P(dense_elementwise(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1), DenseOp::sub));
}

QUIVER_FUNCTION(vector_mul)
{
    PG_RETURN_VECTOR_P(dense_elementwise(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1), DenseOp::mul));
}

QUIVER_FUNCTION(vector_concat)
{
    PG_RETURN_VECTOR_P(dense_concat(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}

QUIVER_FUNCTION(binary_quantize)
{
    PG_RETURN_VARBIT_P(dense_binary_quantize(PG_GETARG_VECTOR_P(0)));
}

QUIVER_FUNCTION(subvector)
{
    PG_RETURN_VECTOR_P(dense_subvector(PG_GETARG_VECTOR_P(0), PG_GETARG_INT32(1), PG_GETARG_INT32(2)));
}

QUIVER_FUNCTION(vector_lt)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) < 0);
}

QUIVER_FUNCTION(vector_le)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) <= 0);
}

QUIVER_FUNCTION(vector_eq)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) == 0);
}

QUIVER_FUNCTION(vector_ne)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) != 0);
}

QUIVER_FUNCTION(vector_ge)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) >= 0);
}

QUIVER_FUNCTION(vector_gt)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) > 0);
}

QUIVER_FUNCTION(vector_cmp)
{
    PG_RETURN_INT32(dense_compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}

QUIVER_FUNCTION(vector_accum)
{
    PG_RETURN_ARRAYTYPE_P(
        dense_accum(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_VECTOR_P(1), "vector_accum"));
}

// Combines two partial avg states (parallel aggregation); shared by avg(halfvec). As pgvector:
// a state that counted no rows contributes nothing, and the result keeps the other's sums,
// which must then be a vector's: called as a function, '{0}' with '{0}' fails ("at least 1
// dimension", as pgvector 0.8 says). Inside an aggregate both may be the initial state '{0}'
// (parallel workers that saw no rows, which pgvector 0.8 failed on and later fixed): the
// result is then '{0}' again, and avg() of no rows is NULL.
QUIVER_FUNCTION(vector_combine)
{
    AvgState s1 = read_avg_state(PG_GETARG_ARRAYTYPE_P(0), "vector_combine");
    AvgState s2 = read_avg_state(PG_GETARG_ARRAYTYPE_P(1), "vector_combine");
    const AvgState *only = s1.count == 0.0 ? &s2 : s2.count == 0.0 ? &s1 : nullptr;
    int dim;
    if (only != nullptr) {
        dim = only->dim;
        const bool no_rows_in_aggregate =
            only->count == 0.0 && dim == 0 && AggCheckCallContext(fcinfo, nullptr) != 0;
        if (!no_rows_in_aggregate)
            check_dim(kVectorType, dim);
    } else {
        dim = s1.dim;
        check_expected_dim(s1.dim, s2.dim);
    }

    auto *sums = static_cast<float8 *>(palloc(sizeof(float8) * (static_cast<Size>(dim) + 1)));
    for (int i = 0; i < dim; i++) {
        sums[i] = only != nullptr ? only->sums[i] : s1.sums[i] + s2.sums[i];
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
