// Filter columns (quiver/pg/filter_columns.h): SQL values to payload values, scan keys to the
// core's Predicate. PostgreSQL work (detoasting, deconstructing arrays, catalog lookups) happens
// first, into plain arrays; the core objects are then built under run_guarded, so an error
// raised by PostgreSQL never skips a C++ destructor.
#include "quiver/pg/filter_columns.h"

extern "C" {
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/pg_locale.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

#include "quiver/core/filter.h"

#include <cstring>
#include <new>

int quiver_filter_strategy = AM_FILTER_AUTO;

namespace quiver::pg {

using quiver::core::filter::Clause;
using quiver::core::filter::Op;
using quiver::core::filter::PayloadWriter;
using quiver::core::filter::Predicate;
using quiver::core::filter::ValueKind;

struct AmFilter {
    Predicate *predicate;
    MemoryContextCallback free_cb;
};

namespace {

const struct config_enum_entry filter_strategy_options[] = {
    {"auto", AM_FILTER_AUTO, false},
    {"walk", AM_FILTER_WALK, false},
    {"exact", AM_FILTER_EXACT, false},
    {nullptr, 0, false},
};

// The payload kind of a filter column's type; null for a type we do not support.
ValueKind kind_of_type(Oid typid)
{
    switch (typid) {
    case INT2OID:
    case INT4OID:
    case INT8OID:
    case DATEOID:
    case TIMESTAMPOID:
    case TIMESTAMPTZOID:
        return ValueKind::integer;
    case BOOLOID:
        return ValueKind::boolean;
    case TEXTOID:
    case VARCHAROID:
        return ValueKind::text;
    case INT4ARRAYOID:
    case INT8ARRAYOID:
        return ValueKind::int_array;
    case TEXTARRAYOID:
        return ValueKind::text_array;
    default:
        return ValueKind::null;
    }
}

// A scalar Datum of one of the integer types above as int64.
int64 integer_of(Datum d, Oid typid)
{
    switch (typid) {
    case INT2OID: return DatumGetInt16(d);
    case INT4OID: return DatumGetInt32(d);
    case DATEOID: return DatumGetDateADT(d);
    default: return DatumGetInt64(d);  // int8, timestamp, timestamptz
    }
}

// One value as plain data, read out of its Datum (detoasted, arrays deconstructed, NULL
// elements dropped); what the guarded part turns into payload or clause values.
struct PlainValue {
    ValueKind kind = ValueKind::null;
    int64 integer = 0;
    bool boolean = false;
    const char *text = nullptr;  // text: bytes (len); arrays of text: see texts
    Size len = 0;
    int64 *integers = nullptr;   // int arrays
    const char **texts = nullptr;  // text arrays
    Size *lengths = nullptr;
    Size count = 0;
    bool has_null = false;       // an array held a NULL element
};

void read_array(ArrayType *arr, bool text_elements, PlainValue *out)
{
    Oid elemtype = ARR_ELEMTYPE(arr);
    int16 typlen;
    bool byval;
    char align;
    get_typlenbyvalalign(elemtype, &typlen, &byval, &align);
    Datum *elems;
    bool *nulls;
    int n;
    deconstruct_array(arr, elemtype, typlen, byval, align, &elems, &nulls, &n);
    out->kind = text_elements ? ValueKind::text_array : ValueKind::int_array;
    if (text_elements) {
        out->texts = static_cast<const char **>(palloc(sizeof(char *) * (n + 1)));
        out->lengths = static_cast<Size *>(palloc(sizeof(Size) * (n + 1)));
    } else {
        out->integers = static_cast<int64 *>(palloc(sizeof(int64) * (n + 1)));
    }
    for (int i = 0; i < n; ++i) {
        if (nulls[i]) {
            out->has_null = true;
            continue;
        }
        if (text_elements) {
            text *t = DatumGetTextPP(elems[i]);
            out->texts[out->count] = VARDATA_ANY(t);
            out->lengths[out->count] = VARSIZE_ANY_EXHDR(t);
        } else {
            out->integers[out->count] = integer_of(elems[i], elemtype);
        }
        ++out->count;
    }
}

void read_scalar(Datum d, Oid typid, PlainValue *out)
{
    out->kind = kind_of_type(typid);
    switch (out->kind) {
    case ValueKind::integer:
        out->integer = integer_of(d, typid);
        break;
    case ValueKind::boolean:
        out->boolean = DatumGetBool(d);
        break;
    case ValueKind::text: {
        text *t = DatumGetTextPP(d);
        out->text = VARDATA_ANY(t);
        out->len = VARSIZE_ANY_EXHDR(t);
        break;
    }
    case ValueKind::int_array:
        read_array(DatumGetArrayTypeP(d), false, out);
        break;
    case ValueKind::text_array:
        read_array(DatumGetArrayTypeP(d), true, out);
        break;
    case ValueKind::null:
        break;
    }
}

Oid column_type(Relation index, int attno)  // attno 1-based
{
    return TupleDescAttr(RelationGetDescr(index), attno - 1)->atttypid;
}

void free_predicate(void *arg)
{
    auto *f = static_cast<AmFilter *>(arg);
    delete f->predicate;
    f->predicate = nullptr;
}

// A scan key as a plain clause, or false when the index cannot evaluate it.
struct PlainClause {
    int column;  // payload column (0 = the index's second column)
    Op op;
    PlainValue value;
};

bool text_key_evaluable(Relation index, int attno, int strategy)
{
    Oid coll = index->rd_indcollation[attno - 1];
    if (!OidIsValid(coll))
        return true;
    // Payloads compare bytes: equality is SQL's under a deterministic collation, order only
    // under C.
    if (strategy == AM_FILTER_EQ || strategy == AM_FILTER_NE)
        return coll == DEFAULT_COLLATION_OID || get_collation_isdeterministic(coll);
    return lc_collate_is_c(coll);
}

bool plain_clause(Relation index, ScanKey key, PlainClause *out)
{
    const int attno = key->sk_attno;
    const Oid coltype = column_type(index, attno);
    const ValueKind colkind = kind_of_type(coltype);
    out->column = attno - 2;
    if (key->sk_flags & SK_SEARCHNULL) {
        out->op = Op::is_null;
        return true;
    }
    if (key->sk_flags & SK_SEARCHNOTNULL) {
        out->op = Op::is_not_null;
        return true;
    }
    const int strategy = key->sk_strategy;
    const Oid argtype = OidIsValid(key->sk_subtype) ? key->sk_subtype : coltype;
    if (colkind == ValueKind::text && !text_key_evaluable(index, attno, strategy))
        return false;
    if (colkind == ValueKind::text_array) {
        Oid coll = index->rd_indcollation[attno - 1];
        if (OidIsValid(coll) && coll != DEFAULT_COLLATION_OID && !get_collation_isdeterministic(coll))
            return false;
    }

    if (key->sk_flags & SK_SEARCHARRAY) {
        // column = ANY(array); other operators with ANY are left to the executor.
        if (strategy != AM_FILTER_EQ)
            return false;
        out->op = Op::any_eq;
        read_array(DatumGetArrayTypeP(key->sk_argument), colkind == ValueKind::text, &out->value);
        return true;
    }
    switch (strategy) {
    case AM_FILTER_LT: out->op = Op::lt; break;
    case AM_FILTER_LE: out->op = Op::le; break;
    case AM_FILTER_EQ: out->op = Op::eq; break;
    case AM_FILTER_GE: out->op = Op::ge; break;
    case AM_FILTER_GT: out->op = Op::gt; break;
    case AM_FILTER_NE: out->op = Op::ne; break;
    case AM_FILTER_OVERLAPS: out->op = Op::overlaps; break;
    case AM_FILTER_CONTAINS: out->op = Op::contains; break;
    default: return false;
    }
    if (colkind == ValueKind::int_array || colkind == ValueKind::text_array) {
        if (out->op != Op::overlaps && out->op != Op::contains)
            return false;
        read_array(DatumGetArrayTypeP(key->sk_argument), colkind == ValueKind::text_array,
                   &out->value);
        return true;
    }
    if (out->op == Op::overlaps || out->op == Op::contains)
        return false;
    read_scalar(key->sk_argument, argtype, &out->value);
    return out->value.kind == colkind;
}

Clause to_clause(const PlainClause &p)
{
    Clause c;
    c.column = static_cast<std::uint16_t>(p.column);
    c.op = p.op;
    const PlainValue &v = p.value;
    c.kind = v.kind;
    c.has_null = v.has_null;
    switch (v.kind) {
    case ValueKind::integer: c.integer = v.integer; break;
    case ValueKind::boolean: c.boolean = v.boolean; break;
    case ValueKind::text: c.texts.emplace_back(v.text, v.len); break;
    case ValueKind::int_array: c.integers.assign(v.integers, v.integers + v.count); break;
    case ValueKind::text_array:
        for (Size i = 0; i < v.count; ++i)
            c.texts.emplace_back(v.texts[i], v.lengths[i]);
        break;
    case ValueKind::null: break;
    }
    return c;
}

}  // namespace

void am_filter_init()
{
    DefineCustomEnumVariable("quiver.filter_strategy",
                             "Sets how index scans with filter columns search",
                             "auto picks per query; walk and exact force one strategy.",
                             &quiver_filter_strategy, AM_FILTER_AUTO, filter_strategy_options,
                             PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

void am_check_filter_columns(Relation index, const char *am_name)
{
    for (int attno = 2; attno <= RelationGetNumberOfAttributes(index); ++attno) {
        Oid typid = column_type(index, attno);
        if (kind_of_type(typid) == ValueKind::null)
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("column %d of %s index \"%s\" has type %s, which is not supported as a "
                            "filter column",
                            attno, am_name, RelationGetRelationName(index), format_type_be(typid)),
                     errhint("Filter columns can be int2, int4, int8, bool, text, varchar, date, "
                             "timestamp, timestamptz, int4[], int8[] or text[]; the vector must "
                             "be the first column.")));
        Oid coll = index->rd_indcollation[attno - 1];
        ValueKind kind = kind_of_type(typid);
        if ((kind == ValueKind::text || kind == ValueKind::text_array) && OidIsValid(coll) &&
            coll != DEFAULT_COLLATION_OID && !get_collation_isdeterministic(coll))
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("nondeterministic collations are not supported for filter columns of "
                            "%s indexes",
                            am_name)));
    }
}

uint8 *am_row_payload(Relation index, const Datum *values, const bool *isnull, Size *len)
{
    const int columns = am_filter_column_count(index);
    *len = 0;
    if (columns <= 0)
        return nullptr;
    auto *plain = static_cast<PlainValue *>(palloc0(sizeof(PlainValue) * columns));
    for (int i = 0; i < columns; ++i) {
        new (&plain[i]) PlainValue();
        if (!isnull[i + 1])
            read_scalar(values[i + 1], column_type(index, i + 2), &plain[i]);
    }
    // Two steps so that palloc (which may raise an error) runs outside the guarded part.
    auto *bytes = run_guarded([&] {
        auto *w = new PayloadWriter();
        try {
        for (int i = 0; i < columns; ++i) {
            const PlainValue &v = plain[i];
            switch (v.kind) {
            case ValueKind::null: w->add_null(); break;
            case ValueKind::integer: w->add_integer(v.integer); break;
            case ValueKind::boolean: w->add_boolean(v.boolean); break;
            case ValueKind::text: w->add_text(v.text, v.len); break;
            case ValueKind::int_array:
                w->add_int_array(reinterpret_cast<const std::int64_t *>(v.integers), v.count);
                break;
            case ValueKind::text_array:
                w->add_text_array(v.texts, reinterpret_cast<const std::size_t *>(v.lengths), v.count);
                break;
            }
        }
        } catch (...) {
            delete w;
            throw;
        }
        return w;
    });
    const Size size = bytes->bytes().size();
    auto *out = static_cast<uint8 *>(palloc_extended(size > 0 ? size : 1, MCXT_ALLOC_NO_OOM));
    if (out != nullptr)
        std::memcpy(out, bytes->bytes().data(), size);
    delete bytes;
    if (out == nullptr)
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
    *len = size;
    return out;
}

bool am_payload_valid(Relation index, const uint8 *payload, Size len)
{
    return quiver::core::filter::payload_valid(payload, len,
                                               static_cast<size_t>(am_filter_column_count(index)));
}

AmFilter *am_filter_from_keys(Relation index, ScanKey keys, int nkeys, bool *recheck, bool *never)
{
    *recheck = false;
    *never = false;
    if (nkeys <= 0)
        return nullptr;
    auto *plain = static_cast<PlainClause *>(palloc0(sizeof(PlainClause) * nkeys));
    int n = 0;
    for (int i = 0; i < nkeys; ++i) {
        ScanKey key = &keys[i];
        if (key->sk_attno < 2) {
            // The vector column: only IS [NOT] NULL can reach it; NULL vectors are not indexed.
            if (key->sk_flags & SK_SEARCHNULL)
                *never = true;
            continue;
        }
        if ((key->sk_flags & SK_ISNULL) && !(key->sk_flags & (SK_SEARCHNULL | SK_SEARCHNOTNULL))) {
            *never = true;  // column <op> NULL is never true
            continue;
        }
        new (&plain[n]) PlainClause();
        if (plain_clause(index, key, &plain[n]))
            ++n;
        else
            *recheck = true;
    }
    if (n == 0)
        return nullptr;
    auto *f = static_cast<AmFilter *>(palloc0(sizeof(AmFilter)));
    f->predicate = run_guarded([&] {
        auto *p = new Predicate();
        try {
            for (int i = 0; i < n; ++i)
                p->add(to_clause(plain[i]));
        } catch (...) {
            delete p;
            throw;
        }
        return p;
    });
    f->free_cb.func = free_predicate;
    f->free_cb.arg = f;
    MemoryContextRegisterResetCallback(CurrentMemoryContext, &f->free_cb);
    return f;
}

bool am_filter_matches(const AmFilter *filter, const uint8 *payload, Size len)
{
    return filter == nullptr || filter->predicate->matches(payload, len);
}

}  // namespace quiver::pg
