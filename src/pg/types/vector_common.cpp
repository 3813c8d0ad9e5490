// Shared checks and state handling for the dense vector types; see vector_common.h.
// Must not define SQL-callable functions (those live in the per-type files).
#include "vector_common.h"

#include "quiver/pg/float_text.h"

extern "C" {
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

#include <cmath>

#include "quiver/core/half.h"

namespace {

// Element of a PostgreSQL array as float, for the array casts.
float array_element_as_float(Oid element_type, Datum d)
{
    switch (element_type) {
    case INT4OID:
        return static_cast<float>(DatumGetInt32(d));
    case FLOAT8OID:
        return static_cast<float>(DatumGetFloat8(d));
    case FLOAT4OID:
        return DatumGetFloat4(d);
    case NUMERICOID:
        return DatumGetFloat4(DirectFunctionCall1(numeric_float4, d));
    default:
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("unsupported array type")));
    }
    pg_unreachable();
}

} // namespace

namespace quiver::pg {

int array_to_floats(ArrayType *array, const DenseTypeName &type, int32 typmod, float **out)
{
    if (ARR_NDIM(array) > 1)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be 1-D")));
    if (ARR_HASNULL(array) && array_contains_nulls(array))
        ereport(ERROR,
                (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls")));

    Oid element_type = ARR_ELEMTYPE(array);
    int16 typlen;
    bool typbyval;
    char typalign;
    get_typlenbyvalalign(element_type, &typlen, &typbyval, &typalign);
    Datum *elements;
    int count;
    deconstruct_array(array, element_type, typlen, typbyval, typalign, &elements, nullptr, &count);

    check_dim(type, count);
    check_expected_dim(typmod, count);

    auto *values = static_cast<float *>(palloc(sizeof(float) * count));
    for (int i = 0; i < count; i++)
        values[i] = array_element_as_float(element_type, elements[i]);
    pfree(elements);
    *out = values;
    return count;
}

ArrayType *floats_to_real_array(const float *values, int count)
{
    auto *datums = static_cast<Datum *>(palloc(sizeof(Datum) * count));
    for (int i = 0; i < count; i++)
        datums[i] = Float4GetDatum(values[i]);
    ArrayType *result =
        construct_array(datums, count, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
    pfree(datums);
    return result;
}

void raise_bad_dense_literal(const DenseTypeName &type, const char *literal, const char *detail)
{
    if (detail == nullptr)
        ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                        errmsg("invalid input syntax for type %s: \"%s\"", type.name, literal)));
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type %s: \"%s\"", type.name, literal),
                    errdetail("%s", detail)));
}

char *skip_vector_space(char *pt)
{
    while (is_vector_space(*pt))
        pt++;
    return pt;
}

void check_dim(const DenseTypeName &type, int dim)
{
    if (dim < 1)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("%s must have at least 1 dimension", type.name)));
    if (dim > type.max_dim)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("%s cannot have more than %d dimensions", type.name, type.max_dim)));
}

void check_expected_dim(int32 typmod, int dim)
{
    if (typmod != -1 && typmod != dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void check_same_dims(const DenseTypeName &type, int a, int b)
{
    if (a != b)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different %s dimensions %d and %d", type.name, a, b)));
}

int read_dense_binary_header(StringInfo buf, const DenseTypeName &type, int32 typmod)
{
    int16 dim = static_cast<int16>(pq_getmsgint(buf, sizeof(int16)));
    int16 unused = static_cast<int16>(pq_getmsgint(buf, sizeof(int16)));
    check_dim(type, dim);
    check_expected_dim(typmod, dim);
    if (unused != 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("expected unused to be 0, not %d", unused)));
    return dim;
}

int32 parse_dims_typmod(ArrayType *typmods, const DenseTypeName &type)
{
    int n = 0;
    int32 *values = ArrayGetIntegerTypmods(typmods, &n);
    if (n != 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier")));
    if (values[0] < 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("dimensions for type %s must be at least 1", type.name)));
    if (values[0] > type.max_dim)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("dimensions for type %s cannot exceed %d", type.name, type.max_dim)));
    return values[0];
}

void subvector_range(const DenseTypeName &type, int dim, int32 start, int32 count, int *first,
                     int *length)
{
    // Like substring: 1-based, a start before 1 eats into the count, the end is clipped.
    if (count < 1)
        check_dim(type, 0);
    // dim - count cannot overflow (both positive); start + count could.
    int32 end = (start > dim - count) ? dim + 1 : start + count;
    if (start < 1)
        start = 1;
    else if (start > dim)
        check_dim(type, 0);
    check_dim(type, end - start);
    *first = start - 1;
    *length = end - start;
}

AvgState read_avg_state(ArrayType *state, const char *caller)
{
    if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 || ARR_HASNULL(state) ||
        ARR_ELEMTYPE(state) != FLOAT8OID)
        elog(ERROR, "%s: expected state array", caller);
    const float8 *values = reinterpret_cast<const float8 *>(ARR_DATA_PTR(state));
    return AvgState{values[0], ARR_DIMS(state)[0] - 1, values + 1};
}

ArrayType *build_avg_state(float8 count, const float8 *sums, int dim)
{
    auto *datums = static_cast<Datum *>(palloc(sizeof(Datum) * (static_cast<Size>(dim) + 1)));
    datums[0] = Float8GetDatum(count);
    for (int i = 0; i < dim; i++)
        datums[i + 1] = Float8GetDatum(sums[i]);
    ArrayType *result = construct_array(datums, dim + 1, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
                                        TYPALIGN_DOUBLE);
    pfree(datums);
    return result;
}

static void raise_half_out_of_range(float value)
{
    char text[FLOAT_SHORTEST_DECIMAL_LEN];
    float_to_shortest_decimal_buf(value, text);
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("\"%s\" is out of range for type halfvec", text)));
}

uint16 float_to_half_checked(float value)
{
    uint16 h = core::float_to_half(value);
    if ((h & 0x7fff) == 0x7c00 && !std::isinf(value))
        raise_half_out_of_range(value);
    return h;
}

void check_half_conversion(const float *in, const uint16 *out, int n)
{
    for (int i = 0; i < n; i++)
        if ((out[i] & 0x7fff) == 0x7c00 && !std::isinf(in[i]))
            raise_half_out_of_range(in[i]);
}

VarBit *new_bit_string(int bits)
{
    Size size = VARBITTOTALLEN(bits);
    auto *result = static_cast<VarBit *>(palloc0(size));
    SET_VARSIZE(result, size);
    VARBITLEN(result) = bits;
    return result;
}

} // namespace quiver::pg
