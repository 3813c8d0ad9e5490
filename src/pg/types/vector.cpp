// The `vector` type's I/O (text, binary, typmod) and its casts to and from arrays and halfvec,
// all as pgvector defines them. Arithmetic, distances and aggregates are in vector_ops.cpp.
// Must not compute distances itself; values are always finite once they are a vector.
#include "quiver/pg/float_text.h"
#include "quiver/pg/types.h"
#include "vector_common.h"

extern "C" {
#include "libpq/pqformat.h"
}

#include <cstring>

#include "quiver/core/kernels.h"

using namespace quiver::pg;

namespace {

float parse_vector_element(char **pt, const char *literal)
{
    return parse_float_element(pt, "vector", literal);
}

} // namespace

QUIVER_FUNCTION(vector_in)
{
    char *literal = PG_GETARG_CSTRING(0);
    int32 typmod = PG_GETARG_INT32(2);
    auto *values = static_cast<float *>(palloc(sizeof(float) * VECTOR_MAX_DIM));
    int dim = parse_dense_literal(literal, kVectorType, values, parse_vector_element);
    check_dim(kVectorType, dim);
    check_expected_dim(typmod, dim);

    Vector *result = new_vector(dim);
    std::memcpy(result->x, values, sizeof(float) * dim);
    pfree(values);
    PG_RETURN_VECTOR_P(result);
}

QUIVER_FUNCTION(vector_out)
{
    Vector *v = PG_GETARG_VECTOR_P(0);
    StringInfoData buf;
    initStringInfo(&buf);
    appendStringInfoChar(&buf, '[');
    for (int i = 0; i < v->dim; i++) {
        if (i > 0)
            appendStringInfoChar(&buf, ',');
        append_float(&buf, v->x[i]);
    }
    appendStringInfoChar(&buf, ']');
    PG_RETURN_CSTRING(buf.data);
}

QUIVER_FUNCTION(vector_typmod_in)
{
    PG_RETURN_INT32(parse_dims_typmod(PG_GETARG_ARRAYTYPE_P(0), kVectorType));
}

// Binary form: int16 dim, int16 unused (0), then dim float4, all big-endian.
QUIVER_FUNCTION(vector_recv)
{
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    int32 typmod = PG_GETARG_INT32(2);
    int dim = read_dense_binary_header(buf, kVectorType, typmod);

    Vector *result = new_vector(dim);
    for (int i = 0; i < dim; i++) {
        result->x[i] = pq_getmsgfloat4(buf);
        check_finite_element(result->x[i], "vector");
    }
    PG_RETURN_VECTOR_P(result);
}

QUIVER_FUNCTION(vector_send)
{
    Vector *v = PG_GETARG_VECTOR_P(0);
    StringInfoData buf;
    pq_begintypsend(&buf);
    pq_sendint16(&buf, static_cast<uint16>(v->dim));
    pq_sendint16(&buf, static_cast<uint16>(v->unused));
    for (int i = 0; i < v->dim; i++)
        pq_sendfloat4(&buf, v->x[i]);
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// vector(vector, typmod, explicit): the length coercion that enforces vector(n).
QUIVER_FUNCTION(vector)
{
    Vector *v = PG_GETARG_VECTOR_P(0);
    check_expected_dim(PG_GETARG_INT32(1), v->dim);
    PG_RETURN_VECTOR_P(v);
}

QUIVER_FUNCTION(array_to_vector)
{
    float *values = nullptr;
    int dim = array_to_floats(PG_GETARG_ARRAYTYPE_P(0), kVectorType, PG_GETARG_INT32(1), &values);
    Vector *result = new_vector(dim);
    std::memcpy(result->x, values, sizeof(float) * dim);
    for (int i = 0; i < dim; i++)
        check_finite_element(result->x[i], "vector");
    PG_RETURN_VECTOR_P(result);
}

QUIVER_FUNCTION(vector_to_float4)
{
    Vector *v = PG_GETARG_VECTOR_P(0);
    PG_RETURN_ARRAYTYPE_P(floats_to_real_array(v->x, v->dim));
}

QUIVER_FUNCTION(halfvec_to_vector)
{
    HalfVector *h = PG_GETARG_HALFVEC_P(0);
    int32 typmod = PG_GETARG_INT32(1);
    check_dim(kVectorType, h->dim);
    check_expected_dim(typmod, h->dim);
    Vector *result = new_vector(h->dim);
    quiver::core::kernels().f16_to_f32(h->x, result->x, static_cast<size_t>(h->dim));
    PG_RETURN_VECTOR_P(result);
}
