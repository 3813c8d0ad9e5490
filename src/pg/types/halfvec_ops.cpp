// Functions and operators on `halfvec`: distances (core float16 kernels, float32 sums),
// norms, element-wise arithmetic rounded back to binary16 with overflow errors, ||, subvector,
// binary_quantize, btree comparison and avg/sum support, with pgvector's names and results.
// The logic shared with vector is in dense_ops.h; distances never loop over elements here.
#include "quiver/pg/float_text.h"
#include "quiver/pg/types.h"
#include "dense_ops.h"

using namespace quiver::pg;

QUIVER_FUNCTION(halfvec_l2_distance)
{
    PG_RETURN_FLOAT8(std::sqrt(dense_l2sq(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1))));
}

QUIVER_FUNCTION(halfvec_l2_squared_distance)
{
    PG_RETURN_FLOAT8(dense_l2sq(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}

QUIVER_FUNCTION(halfvec_inner_product)
{
    PG_RETURN_FLOAT8(dense_dot(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}

QUIVER_FUNCTION(halfvec_negative_inner_product)
{
    PG_RETURN_FLOAT8(-dense_dot(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}

QUIVER_FUNCTION(halfvec_cosine_distance)
{
    PG_RETURN_FLOAT8(dense_cosine_distance(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}

QUIVER_FUNCTION(halfvec_spherical_distance)
{
    PG_RETURN_FLOAT8(dense_spherical_distance(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}

QUIVER_FUNCTION(halfvec_l1_distance)
{
    PG_RETURN_FLOAT8(dense_l1(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}

QUIVER_FUNCTION(halfvec_vector_dims)
{
    PG_RETURN_INT32(PG_GETARG_HALFVEC_P(0)->dim);
}

QUIVER_FUNCTION(halfvec_l2_norm)
{
    PG_RETURN_FLOAT8(dense_norm(PG_GETARG_HALFVEC_P(0)));
}

QUIVER_FUNCTION(halfvec_l2_normalize)
{
    PG_RETURN_HALFVEC_P(dense_normalize(PG_GETARG_HALFVEC_P(0)));
}

QUIVER_FUNCTION(halfvec_add)
{
    PG_RETURN_HALFVEC_P(dense_elementwise(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1), DenseOp::add));
}

QUIVER_FUNCTION(halfvec_sub)
{
    PG_RETURN_HALFVEC_P(dense_elementwise(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1), DenseOp::sub));
}

QUIVER_FUNCTION(halfvec_mul)
{
    PG_RETURN_HALFVEC_P(dense_elementwise(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1), DenseOp::mul));
}

QUIVER_FUNCTION(halfvec_concat)
{
    PG_RETURN_HALFVEC_P(dense_concat(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}

QUIVER_FUNCTION(halfvec_binary_quantize)
{
    PG_RETURN_VARBIT_P(dense_binary_quantize(PG_GETARG_HALFVEC_P(0)));
}

QUIVER_FUNCTION(halfvec_subvector)
{
    PG_RETURN_HALFVEC_P(dense_subvector(PG_GETARG_HALFVEC_P(0), PG_GETARG_INT32(1), PG_GETARG_INT32(2)));
}

QUIVER_FUNCTION(halfvec_lt)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) < 0);
}

QUIVER_FUNCTION(halfvec_le)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) <= 0);
}

QUIVER_FUNCTION(halfvec_eq)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) == 0);
}

QUIVER_FUNCTION(halfvec_ne)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) != 0);
}

QUIVER_FUNCTION(halfvec_ge)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) >= 0);
}

QUIVER_FUNCTION(halfvec_gt)
{
    PG_RETURN_BOOL(dense_compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) > 0);
}

QUIVER_FUNCTION(halfvec_cmp)
{
    PG_RETURN_INT32(dense_compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}

// avg(halfvec) transition: float8 sums like avg(vector); the combine step is vector_combine.
QUIVER_FUNCTION(halfvec_accum)
{
    PG_RETURN_ARRAYTYPE_P(
        dense_accum(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_HALFVEC_P(1), "halfvec_accum"));
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
        check_finite_element(quiver::core::half_to_float(result->x[i]), "halfvec");
    }
    PG_RETURN_HALFVEC_P(result);
}
