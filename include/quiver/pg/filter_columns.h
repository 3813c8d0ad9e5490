// Filter columns of quiver's vector indexes (issue 11): `CREATE INDEX ... USING hnsw (emb
// vector_l2_ops, tenant, tags)`. The first column is the vector; every further column is a
// filter column whose value is kept beside each entry as a payload (quiver/core/filter.h), and
// the WHERE clauses on those columns that the planner hands the index as scan keys become a
// Predicate the walk evaluates on each entry it meets. This file is the PostgreSQL side of
// that: which SQL types map to which payload values, rows to payloads, scan keys to clauses.
// Include after glue.h.
#pragma once

#include "quiver/pg/glue.h"

extern "C" {
#include "access/skey.h"
#include "utils/rel.h"
}

// Strategy numbers of the filter opclasses (sql/install/58_filter_opclasses.sql).
#define AM_FILTER_LT 1
#define AM_FILTER_LE 2
#define AM_FILTER_EQ 3
#define AM_FILTER_GE 4
#define AM_FILTER_GT 5
#define AM_FILTER_NE 6
#define AM_FILTER_OVERLAPS 7  // array && array
#define AM_FILTER_CONTAINS 8  // array @> array

// quiver.filter_strategy: how a scan with filter keys searches.
enum AmFilterStrategy {
    AM_FILTER_AUTO = 0,  // walk, switching to exact when the walk sees too few matches
    AM_FILTER_WALK = 1,  // graph walk that returns only matching entries
    AM_FILTER_EXACT = 2, // every entry of the index, distances only for matching ones
};
extern int quiver_filter_strategy;

namespace quiver::pg {

struct AmFilter;  // a compiled predicate (opaque)

void am_filter_init();  // GUCs; called from _PG_init

// Filter columns of an index: every column after the first.
inline int am_filter_column_count(Relation index) { return RelationGetNumberOfAttributes(index) - 1; }
// Errors unless every filter column has a supported type (named in the message); build time.
void am_check_filter_columns(Relation index, const char *am_name);
// The payload of a row (values/isnull of every index column, the vector first), palloc'd, or
// NULL with *len = 0 when the index has no filter columns.
uint8 *am_row_payload(Relation index, const Datum *values, const bool *isnull, Size *len);
// Whether a stored payload is well formed for this index's filter columns.
bool am_payload_valid(Relation index, const uint8 *payload, Size len);

// The predicate of a scan's keys, allocated in the current memory context (freed with it), or
// NULL when no key restricts anything. *recheck: a key the index cannot evaluate (left to the
// executor); *never: a key no row can satisfy (a comparison with NULL), so nothing matches.
AmFilter *am_filter_from_keys(Relation index, ScanKey keys, int nkeys, bool *recheck, bool *never);
bool am_filter_matches(const AmFilter *filter, const uint8 *payload, Size len);

}  // namespace quiver::pg
