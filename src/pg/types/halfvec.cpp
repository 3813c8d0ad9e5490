// The `halfvec` type (IEEE binary16 elements): text, binary and typmod I/O and its casts to and
// from arrays and vector, as pgvector defines them. Functions and aggregates: halfvec_ops.cpp.
// Must not compute distances itself; every stored element is finite.
#include "quiver/pg/float_text.h"
#include "quiver/pg/types.h"
#include "vector_common.h"

extern "C" {
#include "libpq/pqformat.h"
}

#include <cstring>

#include "quiver/core/half.h"
#include "quiver/core/kernels.h"

using namespace quiver::pg;
using quiver::core::half_to_float;

namespace {

void check_finite_half(uint16 h)
{
    check_finite_element(half_to_float(h), "halfvec");
}

} // namespace

QUIVER_FUNCTION(halfvec_in)
{
    char *literal = PG_GETARG_CSTRING(0);
    int32 typmod = PG_GETARG_INT32(2);
    auto *values = static_cast<uint16 *>(palloc(sizeof(uint16) * HALFVEC_MAX_DIM));
    int dim = parse_dense_literal(literal, kHalfvecType, values, parse_half_element);
    check_dim(kHalfvecType, dim);
    check_expected_dim(typmod, dim);

    HalfVector *result = new_halfvec(dim);
    std::memcpy(result->x, values, sizeof(uint16) * dim);
    pfree(values);
    PG_RETURN_HALFVEC_P(result);
}

// Elements print as the shortest text that round-trips their float32 value, as pgvector does.
QUIVER_FUNCTION(halfvec_out)
{
    HalfVector *v = PG_GETARG_HALFVEC_P(0);
    StringInfoData buf;
    initStringInfo(&buf);
    appendStringInfoChar(&buf, '[');
    for (int i = 0; i < v->dim; i++) {
        if (i > 0)
            appendStringInfoChar(&buf, ',');
        append_float(&buf, half_to_float(v->x[i]));
    }
    appendStringInfoChar(&buf, ']');
    PG_RETURN_CSTRING(buf.data);
}

QUIVER_FUNCTION(halfvec_typmod_in)
{
    PG_RETURN_INT32(parse_dims_typmod(PG_GETARG_ARRAYTYPE_P(0), kHalfvecType));
}

// Binary form: int16 dim, int16 unused (0), then dim binary16 bit patterns, all big-endian.
QUIVER_FUNCTION(halfvec_recv)
{
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    int32 typmod = PG_GETARG_INT32(2);
    int dim = read_dense_binary_header(buf, kHalfvecType, typmod);

    HalfVector *result = new_halfvec(dim);
    for (int i = 0; i < dim; i++) {
        result->x[i] = static_cast<uint16>(pq_getmsgint(buf, sizeof(uint16)));
        check_finite_half(result->x[i]);
    }
    PG_RETURN_HALFVEC_P(result);
}

QUIVER_FUNCTION(halfvec_send)
{
    HalfVector *v = PG_GETARG_HALFVEC_P(0);
    StringInfoData buf;
    pq_begintypsend(&buf);
    pq_sendint16(&buf, static_cast<uint16>(v->dim));
    pq_sendint16(&buf, static_cast<uint16>(v->unused));
    for (int i = 0; i < v->dim; i++)
        pq_sendint16(&buf, v->x[i]);
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// halfvec(halfvec, typmod, explicit): the length coercion that enforces halfvec(n).
QUIVER_FUNCTION(halfvec)
{
    HalfVector *v = PG_GETARG_HALFVEC_P(0);
    check_expected_dim(PG_GETARG_INT32(1), v->dim);
    PG_RETURN_HALFVEC_P(v);
}

QUIVER_FUNCTION(array_to_halfvec)
{
    float *values = nullptr;
    int dim = array_to_floats(PG_GETARG_ARRAYTYPE_P(0), kHalfvecType, PG_GETARG_INT32(1), &values);
    HalfVector *result = new_halfvec(dim);
    // Range errors first (pgvector converts everything, then checks for NaN/inf).
    for (int i = 0; i < dim; i++)
        result->x[i] = float_to_half_checked(values[i]);
    for (int i = 0; i < dim; i++)
        check_finite_half(result->x[i]);
    PG_RETURN_HALFVEC_P(result);
}

QUIVER_FUNCTION(halfvec_to_float4)
{
    HalfVector *v = PG_GETARG_HALFVEC_P(0);
    auto *values = static_cast<float *>(palloc(sizeof(float) * v->dim));
    quiver::core::kernels().f16_to_f32(v->x, values, static_cast<size_t>(v->dim));
    PG_RETURN_ARRAYTYPE_P(floats_to_real_array(values, v->dim));
}

QUIVER_FUNCTION(vector_to_halfvec)
{
    Vector *v = PG_GETARG_VECTOR_P(0);
    int32 typmod = PG_GETARG_INT32(1);
    check_dim(kHalfvecType, v->dim);
    check_expected_dim(typmod, v->dim);
    HalfVector *result = new_halfvec(v->dim);
    quiver::core::kernels().f32_to_f16(v->x, result->x, static_cast<size_t>(v->dim));
    check_half_conversion(v->x, result->x, v->dim);
    PG_RETURN_HALFVEC_P(result);
}
