// What the SQL functions that show an index's pages (quiver_index_check, quiver_hnsw_metapage,
// quiver_ivf_metapage) share: their record result's descriptor, and the checks before they
// read: the relation is an index, the caller owns its table, and it is not another session's
// temporary index.
#include "quiver/pg/glue.h"
#include "quiver/pg/am.h"

extern "C" {
#include "access/genam.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

namespace quiver::pg {

TupleDesc am_record_result(FunctionCallInfo fcinfo)
{
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("function returning record called in context that cannot accept type record")));
    return tupdesc;
}

Relation am_open_index_to_inspect(Oid indexoid)
{
    Oid heapoid = IndexGetRelation(indexoid, true);
    if (!OidIsValid(heapoid))
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("\"%s\" is not an index", get_rel_name(indexoid) ? get_rel_name(indexoid) : "?")));
    if (!pg_class_ownercheck(heapoid, GetUserId()))
        aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_INDEX, get_rel_name(indexoid));
    Relation index = index_open(indexoid, AccessShareLock);
    if (RELATION_IS_OTHER_TEMP(index))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot access temporary tables of other sessions")));
    return index;
}

}  // namespace quiver::pg
