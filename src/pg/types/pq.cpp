// The `pq` type: a product-quantized vector, stored as its codebook's id and the codes. The
// codebooks live in the extension's table quiver_pq_codebook (dumped by pg_dump), trained by
// quiver_pq_train() with the core's product quantizer. pq(N) is the type with codebook N as its
// typmod; a vector cast to it is encoded with that codebook. Distances to a vector are those of
// the decoded vector (what ADC computes), so they are exact for what the column holds.
//
// Value layout: varlena header, int32 codebook id, uint8 codes[] (the quantizer's code).
// Text form: "ID:HEX" (the codebook id, then the codes in hex), e.g. 3:0a1bff.
// Binary form: int32 id, int32 length, the code bytes.
// Input checks syntax and the typmod only, not the codebook: a dump restores the tables before
// the codebook rows. Every use (decode, distances, casts) checks the code against its codebook.
#include "quiver/pg/glue.h"
#include "quiver/pg/types.h"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
}

#include "quiver/core/kernels.h"
#include "quiver/core/quant/pq.h"
#include "quiver/core/quant/quantizer.h"

#include <cmath>
#include <cstring>
#include <memory>

namespace q = quiver::core::quant;

namespace {

struct PqValue {
    int32 vl_len_;
    int32 codebook;
    uint8 codes[FLEXIBLE_ARRAY_MEMBER];
};

#define PQ_HEADER offsetof(PqValue, codes)
#define DatumGetPq(x) (reinterpret_cast<PqValue *>(PG_DETOAST_DATUM(x)))

inline Size pq_code_len(const PqValue *v) { return VARSIZE(v) - PQ_HEADER; }

PqValue *new_pq(int32 codebook, Size code_len)
{
    auto *v = static_cast<PqValue *>(palloc0(PQ_HEADER + code_len));
    SET_VARSIZE(v, PQ_HEADER + code_len);
    v->codebook = codebook;
    return v;
}

void check_codebook_id(int64 id)
{
    if (id < 1 || id > PG_INT32_MAX)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("pq codebook id must be a positive integer, not %lld",
                               static_cast<long long>(id))));
}

// ---- codebooks -------------------------------------------------------------------------------------

// The codebook table, qualified by the schema the extension lives in: the calling function's.
char *codebook_table(FunctionCallInfo fcinfo)
{
    char *schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
    return quote_qualified_identifier(schema, "quiver_pq_codebook");
}

// A loaded codebook, cached per call site (fn_extra) for the statement; the C++ object is
// deleted when the function's memory context goes.
struct Codebook {
    int32 id;
    uint32 dim;
    q::ProductQuantizer *pq;
    MemoryContextCallback cb;
};

void delete_codebook(void *arg)
{
    auto *cb = static_cast<Codebook *>(arg);
    delete cb->pq;
    cb->pq = nullptr;
}

q::QuantStatus load_pq(const uint8 *blob, Size len, q::ProductQuantizer **out)
{
    std::unique_ptr<q::Quantizer> loaded;
    q::QuantStatus status = q::load_quantizer(blob, len, &loaded);
    if (status == q::QuantStatus::ok && loaded->kind() != q::QuantizerKind::pq)
        status = q::QuantStatus::corrupt;
    *out = status == q::QuantStatus::ok ? static_cast<q::ProductQuantizer *>(loaded.release()) : nullptr;
    return status;
}

const Codebook *get_codebook(FunctionCallInfo fcinfo, int32 id)
{
    auto *cached = static_cast<Codebook *>(fcinfo->flinfo->fn_extra);
    if (cached != nullptr && cached->id == id && cached->pq != nullptr)
        return cached;

    // Read the row with SPI into the function's context.
    MemoryContext fn_ctx = fcinfo->flinfo->fn_mcxt;
    bytea *blob = nullptr;
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "SPI_connect failed");
    char *sql = psprintf("SELECT blob FROM %s WHERE id = $1", codebook_table(fcinfo));
    Oid argtypes[1] = {INT4OID};
    Datum args[1] = {Int32GetDatum(id)};
    int rc = SPI_execute_with_args(sql, 1, argtypes, args, nullptr, true, 1);
    if (rc != SPI_OK_SELECT)
        elog(ERROR, "reading pq codebook %d failed", id);
    if (SPI_processed == 1) {
        bool isnull;
        Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
        if (!isnull) {
            MemoryContext old = MemoryContextSwitchTo(fn_ctx);
            blob = DatumGetByteaPCopy(d);
            MemoryContextSwitchTo(old);
        }
    }
    SPI_finish();
    if (blob == nullptr)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                        errmsg("pq codebook %d does not exist", id),
                        errhint("Train one with quiver_pq_train(table, column, m), or use the id of "
                                "a row of quiver_pq_codebook.")));

    if (cached == nullptr) {
        cached = static_cast<Codebook *>(MemoryContextAllocZero(fn_ctx, sizeof(Codebook)));
        cached->cb.func = delete_codebook;
        cached->cb.arg = cached;
        MemoryContextRegisterResetCallback(fn_ctx, &cached->cb);
        fcinfo->flinfo->fn_extra = cached;
    }
    delete cached->pq;
    cached->pq = nullptr;
    q::ProductQuantizer *pq = nullptr;
    q::QuantStatus status = load_pq(reinterpret_cast<const uint8 *>(VARDATA(blob)), VARSIZE(blob) - VARHDRSZ, &pq);
    pfree(blob);
    if (status != q::QuantStatus::ok)
        ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
                        errmsg("pq codebook %d is corrupted: %s", id, q::status_name(status))));
    cached->pq = pq;
    cached->id = id;
    cached->dim = pq->dim();
    return cached;
}

// The codebook of a value, after checking that its code is that codebook's.
const Codebook *codebook_of(FunctionCallInfo fcinfo, const PqValue *v)
{
    const Codebook *cb = get_codebook(fcinfo, v->codebook);
    if (pq_code_len(v) != cb->pq->code_size())
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("pq code of %zu bytes does not belong to codebook %d, whose codes have %zu",
                               static_cast<size_t>(pq_code_len(v)), v->codebook,
                               static_cast<size_t>(cb->pq->code_size()))));
    return cb;
}

PqValue *encode(FunctionCallInfo fcinfo, const Vector *x, int32 id)
{
    const Codebook *cb = get_codebook(fcinfo, id);
    if (static_cast<uint32>(x->dim) != cb->dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("expected %u dimensions for pq codebook %d, not %d", cb->dim, id, x->dim)));
    PqValue *v = new_pq(id, cb->pq->code_size());
    cb->pq->encode(x->x, v->codes);
    return v;
}

// The decoded vector (palloc'd floats) of a value, checked against a query's dimensions.
float *decoded(FunctionCallInfo fcinfo, const PqValue *v, int query_dim)
{
    const Codebook *cb = codebook_of(fcinfo, v);
    if (query_dim >= 0 && static_cast<uint32>(query_dim) != cb->dim)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different vector dimensions %u and %d", cb->dim, query_dim)));
    auto *x = static_cast<float *>(palloc(sizeof(float) * cb->dim));
    cb->pq->decode(v->codes, x);
    return x;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void check_typmod(int32 codebook, int32 typmod)
{
    if (typmod >= 0 && codebook != typmod)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("a pq code of codebook %d cannot be stored as pq(%d)", codebook, typmod),
                        errhint("Decode it with quiver_pq_decode() and encode it with codebook %d.", typmod)));
}

bool interrupted(void *) { return QueryCancelPending || ProcDiePending; }

q::QuantStatus train_pq(const q::QuantizerParams &params, const float *rows, Size n, q::Quantizer **out)
{
    std::unique_ptr<q::Quantizer> trained;
    q::QuantStatus status = q::train_quantizer(params, rows, n, &trained);
    *out = trained.release();
    return status;
}

void delete_quantizer(void *arg)
{
    auto **p = static_cast<q::Quantizer **>(arg);
    delete *p;
    *p = nullptr;
}

}  // namespace

// ---- I/O ---------------------------------------------------------------------------------------

QUIVER_FUNCTION(pq_in)
{
    const char *s = PG_GETARG_CSTRING(0);
    int32 typmod = PG_GETARG_INT32(2);
    char *end;
    errno = 0;
    long long id = std::strtoll(s, &end, 10);
    if (end == s || *end != ':' || errno != 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                        errmsg("invalid input syntax for type pq: \"%s\"", s),
                        errdetail("A pq value is written as CODEBOOK:HEX, e.g. 3:0a1bff.")));
    check_codebook_id(id);
    const char *hex = end + 1;
    Size len = std::strlen(hex);
    if (len == 0 || len % 2 != 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                        errmsg("invalid input syntax for type pq: \"%s\"", s),
                        errdetail("The code must be a non-empty even number of hex digits.")));
    PqValue *v = new_pq(static_cast<int32>(id), len / 2);
    for (Size i = 0; i < len / 2; ++i) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                            errmsg("invalid input syntax for type pq: \"%s\"", s),
                            errdetail("\"%c%c\" is not a hex byte.", hex[2 * i], hex[2 * i + 1])));
        v->codes[i] = static_cast<uint8>(hi * 16 + lo);
    }
    check_typmod(v->codebook, typmod);
    PG_RETURN_POINTER(v);
}

QUIVER_FUNCTION(pq_out)
{
    PqValue *v = DatumGetPq(PG_GETARG_DATUM(0));
    StringInfoData buf;
    initStringInfo(&buf);
    appendStringInfo(&buf, "%d:", v->codebook);
    static const char digits[] = "0123456789abcdef";
    for (Size i = 0; i < pq_code_len(v); ++i) {
        appendStringInfoChar(&buf, digits[v->codes[i] >> 4]);
        appendStringInfoChar(&buf, digits[v->codes[i] & 15]);
    }
    PG_RETURN_CSTRING(buf.data);
}

QUIVER_FUNCTION(pq_typmod_in)
{
    ArrayType *arr = PG_GETARG_ARRAYTYPE_P(0);
    int n;
    int32 *mods = ArrayGetIntegerTypmods(arr, &n);
    if (n != 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("invalid type modifier"),
                        errdetail("pq takes one modifier: the codebook id, as in pq(3).")));
    check_codebook_id(mods[0]);
    PG_RETURN_INT32(mods[0]);
}

QUIVER_FUNCTION(pq_typmod_out)
{
    int32 typmod = PG_GETARG_INT32(0);
    PG_RETURN_CSTRING(typmod >= 0 ? psprintf("(%d)", typmod) : pstrdup(""));
}

QUIVER_FUNCTION(pq_recv)
{
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    int32 typmod = PG_GETARG_INT32(2);
    int32 id = pq_getmsgint(buf, 4);
    int32 len = pq_getmsgint(buf, 4);
    check_codebook_id(id);
    if (len < 1 || len > buf->len - buf->cursor)
        ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                        errmsg("invalid pq code length %d", len)));
    PqValue *v = new_pq(id, static_cast<Size>(len));
    pq_copymsgbytes(buf, reinterpret_cast<char *>(v->codes), len);
    check_typmod(id, typmod);
    PG_RETURN_POINTER(v);
}

QUIVER_FUNCTION(pq_send)
{
    PqValue *v = DatumGetPq(PG_GETARG_DATUM(0));
    StringInfoData buf;
    pq_begintypsend(&buf);
    pq_sendint32(&buf, v->codebook);
    pq_sendint32(&buf, static_cast<int32>(pq_code_len(v)));
    pq_sendbytes(&buf, reinterpret_cast<const char *>(v->codes), static_cast<int>(pq_code_len(v)));
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// pq(N) -> pq(M): only the same codebook.
QUIVER_FUNCTION(pq_typmod_cast)
{
    PqValue *v = DatumGetPq(PG_GETARG_DATUM(0));
    check_typmod(v->codebook, PG_GETARG_INT32(1));
    PG_RETURN_POINTER(v);
}

// ---- encode / decode ----------------------------------------------------------------------------

QUIVER_FUNCTION(quiver_pq_encode)
{
    Vector *x = PG_GETARG_VECTOR_P(0);
    int32 id = PG_GETARG_INT32(1);
    check_codebook_id(id);
    PG_RETURN_POINTER(encode(fcinfo, x, id));
}

// The assignment cast vector -> pq(N).
QUIVER_FUNCTION(vector_to_pq)
{
    Vector *x = PG_GETARG_VECTOR_P(0);
    int32 typmod = PG_GETARG_INT32(1);
    if (typmod < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("a vector can only be cast to pq with a codebook, as in pq(3)"),
                        errhint("Declare the column as pq(ID), or call quiver_pq_encode(vector, ID).")));
    PG_RETURN_POINTER(encode(fcinfo, x, typmod));
}

QUIVER_FUNCTION(quiver_pq_decode)
{
    PqValue *v = DatumGetPq(PG_GETARG_DATUM(0));
    const Codebook *cb = codebook_of(fcinfo, v);
    Vector *x = quiver::pg::new_vector(static_cast<int>(cb->dim));
    cb->pq->decode(v->codes, x->x);
    PG_RETURN_POINTER(x);
}

QUIVER_FUNCTION(quiver_pq_codebook_of)
{
    PG_RETURN_INT32(DatumGetPq(PG_GETARG_DATUM(0))->codebook);
}

// ---- distances to a vector (of the decoded vector) -----------------------------------------------

QUIVER_FUNCTION(pq_l2_distance)
{
    PqValue *v = DatumGetPq(PG_GETARG_DATUM(0));
    Vector *y = PG_GETARG_VECTOR_P(1);
    float *x = decoded(fcinfo, v, y->dim);
    double s = 0;
    for (int i = 0; i < y->dim; ++i) {
        double d = static_cast<double>(x[i]) - y->x[i];
        s += d * d;
    }
    PG_RETURN_FLOAT8(std::sqrt(s));
}

QUIVER_FUNCTION(pq_negative_inner_product)
{
    PqValue *v = DatumGetPq(PG_GETARG_DATUM(0));
    Vector *y = PG_GETARG_VECTOR_P(1);
    float *x = decoded(fcinfo, v, y->dim);
    double s = 0;
    for (int i = 0; i < y->dim; ++i)
        s += static_cast<double>(x[i]) * y->x[i];
    PG_RETURN_FLOAT8(-s);
}

QUIVER_FUNCTION(pq_cosine_distance)
{
    PqValue *v = DatumGetPq(PG_GETARG_DATUM(0));
    Vector *y = PG_GETARG_VECTOR_P(1);
    float *x = decoded(fcinfo, v, y->dim);
    double dot = 0, nx = 0, ny = 0;
    for (int i = 0; i < y->dim; ++i) {
        dot += static_cast<double>(x[i]) * y->x[i];
        nx += static_cast<double>(x[i]) * x[i];
        ny += static_cast<double>(y->x[i]) * y->x[i];
    }
    double sim = dot / std::sqrt(nx * ny);
    if (std::isnan(sim))
        PG_RETURN_FLOAT8(get_float8_nan());
    sim = sim > 1 ? 1 : (sim < -1 ? -1 : sim);
    PG_RETURN_FLOAT8(1 - sim);
}

// ---- training -----------------------------------------------------------------------------------

// quiver_pq_train(table, column, m, nbits, sample): trains on up to `sample` random rows of the
// column (vector, or anything that casts to vector) and stores the codebook; returns its id.
QUIVER_FUNCTION(quiver_pq_train)
{
    Oid table = PG_GETARG_OID(0);
    Name column = PG_GETARG_NAME(1);
    int32 m = PG_GETARG_INT32(2);
    int32 nbits = PG_GETARG_INT32(3);
    int32 sample = PG_GETARG_INT32(4);
    if (nbits != 4 && nbits != 8)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("nbits must be 4 or 8, not %d", nbits)));
    if (m < 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("m must be at least 1, not %d", m)));
    if (sample < 1)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("sample must be at least 1, not %d", sample)));
    const char *rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(table)),
                                                 get_rel_name(table));
    if (get_rel_name(table) == nullptr)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", table)));
    if (get_attnum(table, NameStr(*column)) == InvalidAttrNumber)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                        errmsg("column \"%s\" of relation %s does not exist", NameStr(*column), rel)));
    const Size budget = static_cast<Size>(maintenance_work_mem) * 1024;

    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "SPI_connect failed");
    char *sql = psprintf("SELECT (%s)::vector FROM %s WHERE %s IS NOT NULL ORDER BY random() LIMIT %d",
                         quote_identifier(NameStr(*column)), rel, quote_identifier(NameStr(*column)), sample);
    if (SPI_execute(sql, true, 0) != SPI_OK_SELECT)
        elog(ERROR, "sampling %s failed", rel);
    Size n = SPI_processed;
    if (n == 0)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("column \"%s\" of %s has no rows to train on", NameStr(*column), rel)));
    int dim = -1;
    float *rows = nullptr;
    for (Size i = 0; i < n; ++i) {
        bool isnull;
        Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
        Vector *v = DatumGetVector(d);
        if (dim < 0) {
            dim = v->dim;
            if (n * sizeof(float) * dim > budget)
                ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                                errmsg("a sample of %zu rows of %d dimensions does not fit into "
                                       "maintenance_work_mem (%d kB)", static_cast<size_t>(n), dim,
                                       maintenance_work_mem),
                                errhint("Use a smaller sample or raise maintenance_work_mem.")));
            rows = static_cast<float *>(MemoryContextAllocHuge(CurrentMemoryContext, n * sizeof(float) * dim));
        }
        if (v->dim != dim)
            ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                            errmsg("different vector dimensions %d and %d in column \"%s\"", dim,
                                   v->dim, NameStr(*column))));
        std::memcpy(rows + i * dim, v->x, sizeof(float) * dim);
    }
    if (dim % m != 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("m must divide the dimensions: %d does not divide %d", m, dim)));

    q::QuantizerParams params;
    params.kind = q::QuantizerKind::pq;
    params.dim = static_cast<uint32>(dim);
    params.pq_m = static_cast<uint32>(m);
    params.pq_nbits = static_cast<uint32>(nbits);
    params.memory_budget = budget;
    params.interrupted = interrupted;
    // Owned by the function's context until the blob is written.
    auto **trained = static_cast<q::Quantizer **>(palloc0(sizeof(q::Quantizer *)));
    auto *cb = static_cast<MemoryContextCallback *>(palloc0(sizeof(MemoryContextCallback)));
    cb->func = delete_quantizer;
    cb->arg = trained;
    MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
    q::QuantStatus status = train_pq(params, rows, n, trained);
    if (status == q::QuantStatus::cancelled) {
        CHECK_FOR_INTERRUPTS();
        ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling statement due to user request")));
    }
    if (status == q::QuantStatus::over_budget)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("training does not fit into maintenance_work_mem (%d kB)", maintenance_work_mem)));
    if (status != q::QuantStatus::ok)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("cannot train the product quantizer: %s", q::status_name(status))));
    Size blob_len = (*trained)->blob_size();
    auto *blob = static_cast<bytea *>(palloc(VARHDRSZ + blob_len));
    SET_VARSIZE(blob, VARHDRSZ + blob_len);
    (*trained)->write_blob(reinterpret_cast<uint8 *>(VARDATA(blob)));

    char *insert = psprintf("INSERT INTO %s (dimensions, m, nbits, source, trained_rows, blob) "
                            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                            codebook_table(fcinfo));
    Oid types[6] = {INT4OID, INT4OID, INT4OID, TEXTOID, INT4OID, BYTEAOID};
    Datum values[6] = {Int32GetDatum(dim), Int32GetDatum(m), Int32GetDatum(nbits),
                       CStringGetTextDatum(psprintf("%s.%s", rel, quote_identifier(NameStr(*column)))),
                       Int32GetDatum(static_cast<int32>(n)), PointerGetDatum(blob)};
    if (SPI_execute_with_args(insert, 6, types, values, nullptr, false, 1) != SPI_OK_INSERT_RETURNING ||
        SPI_processed != 1)
        elog(ERROR, "storing the pq codebook failed");
    bool isnull;
    int32 id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    SPI_finish();
    PG_RETURN_INT32(id);
}
