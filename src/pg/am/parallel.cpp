// Parallel index builds: the parts every access method shares (see quiver/pg/am_parallel.h).
#include "quiver/pg/am_parallel.h"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "pgstat.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
}

#include <cstring>

namespace quiver::pg {

namespace {

LOCKMODE heap_lock(const AmParallelRelations *rels)
{
    return rels->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
}

}  // namespace

void am_parallel_begin(AmParallelBuild *pb, const char *entry, int workers, Relation heap,
                       IndexInfo *index_info)
{
    EnterParallelMode();
    pb->pcxt = CreateParallelContext("quiver", entry, workers);
    pb->snapshot = index_info->ii_Concurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
    pb->scan_bytes = table_parallelscan_estimate(heap, pb->snapshot);
    pb->query_bytes = debug_query_string != nullptr ? strlen(debug_query_string) + 1 : 0;
    shm_toc_estimate_chunk(&pb->pcxt->estimator, pb->scan_bytes);
    if (pb->query_bytes > 0)
        shm_toc_estimate_chunk(&pb->pcxt->estimator, pb->query_bytes);
    shm_toc_estimate_keys(&pb->pcxt->estimator, 2);
}

bool am_parallel_initialize(AmParallelBuild *pb)
{
    InitializeParallelDSM(pb->pcxt);
    if (pb->pcxt->seg != nullptr)
        return true;
    am_parallel_end(pb);
    return false;
}

ParallelTableScanDesc am_parallel_place_scan(AmParallelBuild *pb, AmParallelRelations *rels,
                                             Relation heap, Relation index, IndexInfo *index_info,
                                             uint64 scan_key, uint64 query_key)
{
    rels->heaprelid = RelationGetRelid(heap);
    rels->indexrelid = RelationGetRelid(index);
    rels->isconcurrent = index_info->ii_Concurrent;
    auto pscan = static_cast<ParallelTableScanDesc>(shm_toc_allocate(pb->pcxt->toc, pb->scan_bytes));
    table_parallelscan_initialize(heap, pscan, pb->snapshot);
    shm_toc_insert(pb->pcxt->toc, scan_key, pscan);
    if (pb->query_bytes > 0) {
        char *query = static_cast<char *>(shm_toc_allocate(pb->pcxt->toc, pb->query_bytes));
        std::memcpy(query, debug_query_string, pb->query_bytes);
        shm_toc_insert(pb->pcxt->toc, query_key, query);
    }
    return pscan;
}

void am_parallel_end(AmParallelBuild *pb)
{
    if (IsMVCCSnapshot(pb->snapshot))
        UnregisterSnapshot(pb->snapshot);
    DestroyParallelContext(pb->pcxt);
    ExitParallelMode();
}

void am_parallel_worker_open(shm_toc *toc, uint64 query_key, const AmParallelRelations *rels,
                             Relation *heap, Relation *index, IndexInfo **index_info)
{
    const char *query = static_cast<const char *>(shm_toc_lookup(toc, query_key, true));
    if (query != nullptr) {
        debug_query_string = query;
        pgstat_report_activity(STATE_RUNNING, query);
    }
    *heap = table_open(rels->heaprelid, heap_lock(rels));
    *index = index_open(rels->indexrelid, RowExclusiveLock);
    *index_info = BuildIndexInfo(*index);
    (*index_info)->ii_Concurrent = rels->isconcurrent;
}

void am_parallel_worker_close(const AmParallelRelations *rels, Relation heap, Relation index)
{
    index_close(index, RowExclusiveLock);
    table_close(heap, heap_lock(rels));
}

}  // namespace quiver::pg
