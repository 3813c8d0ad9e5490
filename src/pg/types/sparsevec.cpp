// sparsevec, pgvector's sparse vector type: text and binary I/O, typmod, and the casts between
// sparsevec and sparsevec(n) / vector / halfvec / arrays. Formats, limits, error texts and
// SQLSTATEs are pgvector's. No distance math here (sparsevec_ops.cpp); no C++ objects, only palloc.
#include "quiver/pg/glue.h"
#include "quiver/pg/types.h"
#include "quiver/pg/float_text.h"

extern "C" {
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

#include "quiver/core/half.h"
#include "quiver/core/kernels.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>

using quiver::pg::new_sparsevec;
using quiver::pg::sparsevec_values;

namespace {

// ---- Checks shared by input, receive and casts (pgvector's order and wording) ----

void check_dim(long dim)
{
    if (dim < 1)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("sparsevec must have at least 1 dimension")));
    if (dim > SPARSEVEC_MAX_DIM)
        ereport(ERROR,
                (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                 errmsg("sparsevec cannot have more than %d dimensions", SPARSEVEC_MAX_DIM)));
}

void check_expected_dim(int32 typmod, int dim)
{
    if (typmod != -1 && typmod != dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void raise_too_many_nonzeros()
{
    ereport(ERROR,
            (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
             errmsg("sparsevec cannot have more than %d non-zero elements", SPARSEVEC_MAX_NNZ)));
}

void check_nnz(int nnz, int dim)
{
    if (nnz < 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("sparsevec cannot have negative number of elements")));
    if (nnz > SPARSEVEC_MAX_NNZ)
        raise_too_many_nonzeros();
    if (nnz > dim)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("sparsevec cannot have more elements than dimensions")));
}

// indices[i] (0-based) must lie in [0, dim) and be strictly greater than indices[i - 1].
void check_index(const int32 *indices, int i, int dim)
{
    int32 index = indices[i];
    if (index < 0 || index >= dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec index out of bounds")));
    if (i > 0) {
        if (index < indices[i - 1])
            ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                            errmsg("sparsevec indices must be in ascending order")));
        if (index == indices[i - 1])
            ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                            errmsg("sparsevec indices must not contain duplicates")));
    }
}

void check_element(float value)
{
    quiver::pg::check_finite_element(value, "sparsevec");
}

// ---- Text input ----

struct SparseElement {
    int32 index; // 0-based
    float value;
};

char *skip_spaces(char *pt)
{
    while (quiver::pg::is_vector_space(*pt))
        ++pt;
    return pt;
}

void raise_syntax_error(const char *lit)
{
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type sparsevec: \"%s\"", lit)));
}

// Every element but the last is followed by a comma, so commas bound the element count; the
// limit is enforced on this bound before parsing, as pgvector does.
int max_elements(const char *lit)
{
    int count = 1;
    for (const char *p = lit; *p != '\0'; ++p)
        if (*p == ',')
            ++count;
    return count;
}

// Parses a base-10 integer at *pt (strtol rules) and clamps it into [lo, hi] so that the range
// errors raised later report the right problem.
long parse_clamped_long(char **pt, const char *lit, long lo, long hi)
{
    char *end;
    long value = std::strtol(*pt, &end, 10);
    if (end == *pt)
        raise_syntax_error(lit);
    *pt = end;
    if (value > hi)
        return hi;
    if (value < lo)
        return lo;
    return value;
}

// Unlike vector, pgvector's sparsevec also refuses a non-zero literal that underflows to zero
// (float4in's rule); parse_float_element has already refused overflow, NaN and infinity.
void check_no_underflow(const char *start, const char *end, float value)
{
    if (value != 0)
        return;
    errno = 0;
    (void)std::strtof(start, nullptr);
    if (errno == ERANGE)
        ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                        errmsg("\"%s\" is out of range for type sparsevec",
                               pnstrdup(start, static_cast<Size>(end - start)))));
}

// Parses "index:value" pairs up to and including the closing '}'. Zero values are dropped
// (their index is not validated, as in pgvector). Returns the number kept.
int parse_elements(char **ptp, const char *lit, SparseElement *elements)
{
    char *pt = skip_spaces(*ptp);
    int nnz = 0;
    if (*pt == '}') {
        *ptp = pt + 1;
        return 0;
    }
    for (;;) {
        pt = skip_spaces(pt);
        if (*pt == '\0')
            raise_syntax_error(lit);
        long index = parse_clamped_long(&pt, lit, static_cast<long>(INT_MIN) + 1, INT_MAX);
        pt = skip_spaces(pt);
        if (*pt != ':')
            raise_syntax_error(lit);
        pt = skip_spaces(pt + 1);
        char *value_start = pt;
        float value = quiver::pg::parse_float_element(&pt, "sparsevec", lit);
        check_no_underflow(value_start, pt, value);
        if (value != 0) {
            elements[nnz].index = static_cast<int32>(index - 1); // SQL is 1-based, storage 0-based
            elements[nnz].value = value;
            ++nnz;
        }
        pt = skip_spaces(pt);
        if (*pt == ',') {
            ++pt;
        } else if (*pt == '}') {
            *ptp = pt + 1;
            return nnz;
        } else {
            raise_syntax_error(lit);
        }
    }
}

// Parses "/dim" and checks that only whitespace follows.
long parse_dimension(char *pt, const char *lit)
{
    pt = skip_spaces(pt);
    if (*pt != '/')
        ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                        errmsg("invalid input syntax for type sparsevec: \"%s\"", lit),
                        errdetail("Unexpected end of input.")));
    pt = skip_spaces(pt + 1);
    long dim = parse_clamped_long(&pt, lit, INT_MIN, INT_MAX);
    pt = skip_spaces(pt);
    if (*pt != '\0')
        ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                        errmsg("invalid input syntax for type sparsevec: \"%s\"", lit),
                        errdetail("Junk after closing.")));
    return dim;
}

extern "C" int compare_element_indices(const void *a, const void *b)
{
    int32 ia = static_cast<const SparseElement *>(a)->index;
    int32 ib = static_cast<const SparseElement *>(b)->index;
    return (ia > ib) - (ia < ib);
}

// Sorts the elements by index and copies them into a new sparsevec, rejecting indices out of
// range and duplicates.
SparseVector *build_from_elements(SparseElement *elements, int nnz, int dim)
{
    qsort(elements, nnz, sizeof(SparseElement), compare_element_indices);
    SparseVector *result = new_sparsevec(dim, nnz);
    float *values = sparsevec_values(result);
    for (int i = 0; i < nnz; ++i) {
        result->indices[i] = elements[i].index;
        values[i] = elements[i].value;
        check_index(result->indices, i, dim);
    }
    return result;
}

} // namespace

QUIVER_FUNCTION(sparsevec_in)
{
    char *lit = PG_GETARG_CSTRING(0);
    int32 typmod = PG_GETARG_INT32(2);

    int capacity = max_elements(lit);
    if (capacity > SPARSEVEC_MAX_NNZ)
        raise_too_many_nonzeros();
    auto *elements = static_cast<SparseElement *>(palloc(sizeof(SparseElement) * capacity));

    char *pt = skip_spaces(lit);
    if (*pt != '{')
        ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                        errmsg("invalid input syntax for type sparsevec: \"%s\"", lit),
                        errdetail("Vector contents must start with \"{\".")));
    ++pt;
    int nnz = parse_elements(&pt, lit, elements);
    long dim = parse_dimension(pt, lit);

    check_dim(dim);
    check_expected_dim(typmod, static_cast<int>(dim));
    SparseVector *result = build_from_elements(elements, nnz, static_cast<int>(dim));
    pfree(elements);
    PG_RETURN_SPARSEVEC_P(result);
}

// ---- Text output: {i:v,...}/dim with 1-based indices and shortest round-trip floats ----

QUIVER_FUNCTION(sparsevec_out)
{
    SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
    const float *values = sparsevec_values(svec);
    StringInfoData buf;

    initStringInfo(&buf);
    appendStringInfoChar(&buf, '{');
    for (int i = 0; i < svec->nnz; ++i) {
        if (i > 0)
            appendStringInfoChar(&buf, ',');
        appendStringInfo(&buf, "%d:", svec->indices[i] + 1);
        quiver::pg::append_float(&buf, values[i]);
    }
    appendStringInfo(&buf, "}/%d", svec->dim);
    PG_FREE_IF_COPY(svec, 0);
    PG_RETURN_CSTRING(buf.data);
}

QUIVER_FUNCTION(sparsevec_typmod_in)
{
    ArrayType *ta = PG_GETARG_ARRAYTYPE_P(0);
    int n;
    int32 *tl = ArrayGetIntegerTypmods(ta, &n);

    if (n != 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier")));
    if (*tl < 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("dimensions for type sparsevec must be at least 1")));
    if (*tl > SPARSEVEC_MAX_DIM)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                 errmsg("dimensions for type sparsevec cannot exceed %d", SPARSEVEC_MAX_DIM)));
    PG_RETURN_INT32(*tl);
}

// ---- Binary: int32 dim, int32 nnz, int32 unused (0), int32 indices[nnz] (0-based, ascending),
// float4 values[nnz] (non-zero, finite); all big-endian ----

QUIVER_FUNCTION(sparsevec_recv)
{
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    int32 typmod = PG_GETARG_INT32(2);

    int32 dim = static_cast<int32>(pq_getmsgint(buf, sizeof(int32)));
    int32 nnz = static_cast<int32>(pq_getmsgint(buf, sizeof(int32)));
    int32 unused = static_cast<int32>(pq_getmsgint(buf, sizeof(int32)));

    check_dim(dim);
    check_nnz(nnz, dim);
    check_expected_dim(typmod, dim);
    if (unused != 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("expected unused to be 0, not %d", unused)));

    SparseVector *result = new_sparsevec(dim, nnz);
    float *values = sparsevec_values(result);
    for (int i = 0; i < nnz; ++i) {
        result->indices[i] = static_cast<int32>(pq_getmsgint(buf, sizeof(int32)));
        check_index(result->indices, i, dim);
    }
    for (int i = 0; i < nnz; ++i) {
        values[i] = pq_getmsgfloat4(buf);
        check_element(values[i]);
        if (values[i] == 0)
            ereport(ERROR,
                    (errcode(ERRCODE_DATA_EXCEPTION),
                     errmsg("binary representation of sparsevec cannot contain zero values")));
    }
    PG_RETURN_SPARSEVEC_P(result);
}

QUIVER_FUNCTION(sparsevec_send)
{
    SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
    const float *values = sparsevec_values(svec);
    StringInfoData buf;

    pq_begintypsend(&buf);
    pq_sendint32(&buf, svec->dim);
    pq_sendint32(&buf, svec->nnz);
    pq_sendint32(&buf, svec->unused);
    for (int i = 0; i < svec->nnz; ++i)
        pq_sendint32(&buf, svec->indices[i]);
    for (int i = 0; i < svec->nnz; ++i)
        pq_sendfloat4(&buf, values[i]);
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// ---- Casts ----

// sparsevec -> sparsevec(n): only checks the type modifier.
QUIVER_FUNCTION(sparsevec)
{
    SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
    int32 typmod = PG_GETARG_INT32(1);
    check_expected_dim(typmod, svec->dim);
    PG_RETURN_SPARSEVEC_P(svec);
}

namespace {

// Keeps the non-zero entries of dense float values (-0 counts as zero).
SparseVector *sparsevec_from_dense(const float *x, int dim)
{
    int nnz = 0;
    for (int i = 0; i < dim; ++i)
        if (x[i] != 0)
            ++nnz;
    SparseVector *result = new_sparsevec(dim, nnz);
    float *values = sparsevec_values(result);
    int j = 0;
    for (int i = 0; i < dim; ++i) {
        if (x[i] != 0) {
            result->indices[j] = i;
            values[j] = x[i];
            ++j;
        }
    }
    return result;
}

float *palloc_floats(int n)
{
    return static_cast<float *>(palloc(sizeof(float) * n));
}

} // namespace

QUIVER_FUNCTION(vector_to_sparsevec)
{
    Vector *vec = PG_GETARG_VECTOR_P(0);
    int32 typmod = PG_GETARG_INT32(1);
    check_dim(vec->dim);
    check_expected_dim(typmod, vec->dim);
    PG_RETURN_SPARSEVEC_P(sparsevec_from_dense(vec->x, vec->dim));
}

QUIVER_FUNCTION(halfvec_to_sparsevec)
{
    HalfVector *vec = PG_GETARG_HALFVEC_P(0);
    int32 typmod = PG_GETARG_INT32(1);
    check_dim(vec->dim);
    check_expected_dim(typmod, vec->dim);

    float *dense = palloc_floats(vec->dim);
    quiver::core::kernels().f16_to_f32(vec->x, dense, static_cast<std::size_t>(vec->dim));
    SparseVector *result = sparsevec_from_dense(dense, vec->dim);
    pfree(dense);
    PG_RETURN_SPARSEVEC_P(result);
}

namespace {

// The dimension limits of the dense types, with their own type names in the messages.
void check_dense_dim(int dim, const char *type_name, int max_dim)
{
    if (dim < 1)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("%s must have at least 1 dimension", type_name)));
    if (dim > max_dim)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("%s cannot have more than %d dimensions", type_name, max_dim)));
}

// float -> binary16, refusing finite values that only fit as infinity (pgvector's halfvec rule).
uint16 float_to_half_checked(float value)
{
    uint16 h = quiver::core::float_to_half(value);
    bool half_is_inf = (h & 0x7fff) == 0x7c00;
    if (half_is_inf && !std::isinf(value)) {
        StringInfoData text;
        initStringInfo(&text);
        quiver::pg::append_float(&text, value);
        ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                        errmsg("\"%s\" is out of range for type halfvec", text.data)));
    }
    return h;
}

} // namespace

QUIVER_FUNCTION(sparsevec_to_vector)
{
    SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
    int32 typmod = PG_GETARG_INT32(1);
    const float *values = sparsevec_values(svec);

    check_dense_dim(svec->dim, "vector", VECTOR_MAX_DIM);
    check_expected_dim(typmod, svec->dim);
    Vector *result = quiver::pg::new_vector(svec->dim);
    for (int i = 0; i < svec->nnz; ++i)
        result->x[svec->indices[i]] = values[i];
    PG_RETURN_VECTOR_P(result);
}

QUIVER_FUNCTION(sparsevec_to_halfvec)
{
    SparseVector *svec = PG_GETARG_SPARSEVEC_P(0);
    int32 typmod = PG_GETARG_INT32(1);
    const float *values = sparsevec_values(svec);

    check_dense_dim(svec->dim, "halfvec", HALFVEC_MAX_DIM);
    check_expected_dim(typmod, svec->dim);
    HalfVector *result = quiver::pg::new_halfvec(svec->dim);
    for (int i = 0; i < svec->nnz; ++i)
        result->x[svec->indices[i]] = float_to_half_checked(values[i]);
    PG_RETURN_HALFVEC_P(result);
}

namespace {

float element_as_float(Oid element_type, Datum element)
{
    switch (element_type) {
    case INT4OID:
        return static_cast<float>(DatumGetInt32(element));
    case FLOAT8OID:
        return static_cast<float>(DatumGetFloat8(element));
    case FLOAT4OID:
        return DatumGetFloat4(element);
    case NUMERICOID:
        return DatumGetFloat4(DirectFunctionCall1(numeric_float4, element));
    }
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("unsupported array type")));
    pg_unreachable();
}

// The elements of a one-dimensional, NULL-free array of int4/float4/float8/numeric as float4.
float *array_as_floats(ArrayType *array, int *count)
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
    Datum *elements;
    int n;
    get_typlenbyvalalign(element_type, &typlen, &typbyval, &typalign);
    deconstruct_array(array, element_type, typlen, typbyval, typalign, &elements, nullptr, &n);

    float *values = palloc_floats(n > 0 ? n : 1);
    for (int i = 0; i < n; ++i)
        values[i] = element_as_float(element_type, elements[i]);
    pfree(elements);
    *count = n;
    return values;
}

int count_nonzero(const float *x, int n)
{
    int nnz = 0;
    for (int i = 0; i < n; ++i)
        if (x[i] != 0)
            ++nnz;
    return nnz;
}

} // namespace

// int4[] / float4[] / float8[] / numeric[] -> sparsevec: the array is the dense vector.
QUIVER_FUNCTION(array_to_sparsevec)
{
    ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
    int32 typmod = PG_GETARG_INT32(1);
    int dim;
    float *dense = array_as_floats(array, &dim);

    check_dim(dim);
    check_expected_dim(typmod, dim);
    check_nnz(count_nonzero(dense, dim), dim);
    SparseVector *result = sparsevec_from_dense(dense, dim);
    pfree(dense);

    const float *values = sparsevec_values(result);
    for (int i = 0; i < result->nnz; ++i)
        check_element(values[i]);
    PG_RETURN_SPARSEVEC_P(result);
}
