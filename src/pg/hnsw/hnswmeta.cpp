// quiver_hnsw_metapage(regclass): the metapage of an hnsw index as a row (like pageinspect's
// bt_metap for btree): what the index was built with, its entry point, the insert hint and the
// counts of the last build or VACUUM. For the index's owner, as quiver_index_check.
#include "quiver/pg/glue.h"
#include "quiver/pg/hnsw.h"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/rel.h"
}

QUIVER_FUNCTION(quiver_hnsw_metapage)
{
    Oid indexoid = PG_GETARG_OID(0);
    TupleDesc tupdesc = quiver::pg::am_record_result(fcinfo);

    Relation index = quiver::pg::am_open_index_to_inspect(indexoid);
    if (index->rd_indam == nullptr || index->rd_indam->ambuild != quiver::pg::hnswbuild ||
        index->rd_rel->relkind != RELKIND_INDEX)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("index \"%s\" is not an hnsw index", RelationGetRelationName(index))));

    Buffer buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    HnswMetaPageData meta = *HnswPageGetMeta(page);
    bool ours = HnswPageGetOpaque(page)->page_id == HNSW_PAGE_ID && meta.magic == HNSW_MAGIC;
    UnlockReleaseBuffer(buf);
    if (!ours)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" has no hnsw metapage", RelationGetRelationName(index))));
    index_close(index, AccessShareLock);

    Datum values[9];
    bool nulls[9] = {false};
    values[0] = Int32GetDatum(static_cast<int32>(meta.version));
    values[1] = Int32GetDatum(static_cast<int32>(meta.dimensions));
    values[2] = Int32GetDatum(meta.m);
    values[3] = Int32GetDatum(meta.ef_construction);
    if (ItemPointerIsValid(&meta.entry)) {
        auto *tid = static_cast<ItemPointer>(palloc(sizeof(ItemPointerData)));
        *tid = meta.entry;
        values[4] = PointerGetDatum(tid);
    } else {
        nulls[4] = true;
    }
    values[5] = Int32GetDatum(meta.entry_level);
    values[6] = Int64GetDatum(static_cast<int64>(meta.insert_page));
    values[7] = Int64GetDatum(static_cast<int64>(meta.element_count));
    values[8] = Int64GetDatum(static_cast<int64>(meta.deleted_count));
    HeapTuple tuple = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
    PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}
