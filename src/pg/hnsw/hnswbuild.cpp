// hnsw index builds. Two phases, as pgvector's:
//  1. In memory: table_index_build_scan feeds every row to the core graph
//     (quiver::core::hnsw::Graph) with maintenance_work_mem as its budget. When the whole table
//     fits, the graph is written to pages once at the end.
//  2. On disk: when the graph reports over_budget, what is built so far is written to pages,
//     a NOTICE says so, and the remaining rows are inserted one by one with the on-disk insert
//     path (the same as INSERT, without WAL).
// With max_parallel_maintenance_workers, workers scan parts of the heap and insert into one
// graph in dynamic shared memory (hnswparallel.cpp); the leader writes it.
// Pages are written through the buffer manager unlogged, then WAL-logged in one pass
// (log_newpage_range) when the relation needs WAL. The graph is a C++ object owned by the
// build's memory context (a reset callback deletes it), so an error anywhere frees it.
#include "quiver/pg/hnsw.h"
#include "quiver/pg/hnsw_build.h"

extern "C" {
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include "quiver/core/hnsw_graph.h"

#include <cstring>
#include <new>

namespace quiver::pg {
namespace {

using quiver::core::hnsw::Graph;


void delete_graph(void *arg)
{
    auto *bs = static_cast<HnswBuildState *>(arg);
    delete bs->graph;
    bs->graph = nullptr;
}

Graph *new_graph(const quiver::core::hnsw::BuildParams &params,
                 const quiver::core::DistanceComputer &dc)
{
    return run_guarded([&] { return new Graph(params, dc); });
}

inline uint64 tid_label(ItemPointer tid)
{
    return (static_cast<uint64>(ItemPointerGetBlockNumber(tid)) << 16) |
           ItemPointerGetOffsetNumber(tid);
}


void check_build_settings(HnswBuildState *bs)
{
    Form_pg_attribute attr = TupleDescAttr(bs->index->rd_att, 0);
    if (attr->atttypid == VARBITOID)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("type not supported for hnsw index")));
    if (attr->atttypmod < 0)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("column does not have dimensions")));
    if (attr->atttypmod > bs->opclass->max_dimensions)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("column cannot have more than %d dimensions for hnsw index",
                               bs->opclass->max_dimensions)));
    if (bs->ef_construction < 2 * bs->m)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("ef_construction must be greater than or equal to 2 * m")));
    bs->dimensions = static_cast<uint32>(attr->atttypmod);
}

}  // namespace

void hnsw_init_build_state(HnswBuildState *bs, Relation heap, Relation index, IndexInfo *index_info,
                           ForkNumber fork)
{
    std::memset(bs, 0, sizeof *bs);
    bs->heap = heap;
    bs->index = index;
    bs->index_info = index_info;
    bs->fork = fork;
    bs->opclass = hnsw_opclass_info(index);
    bs->m = hnsw_option_m(index);
    bs->ef_construction = hnsw_option_ef_construction(index);
    check_build_settings(bs);
    if (!quiver::core::make_distance_computer(bs->opclass->representation, bs->opclass->metric,
                                              bs->dimensions, &bs->dc))
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("no distance computer for this hnsw operator class")));
    bs->build_ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build", ALLOCSET_DEFAULT_SIZES);
    bs->tmp_ctx = AllocSetContextCreate(bs->build_ctx, "hnsw build tuple", ALLOCSET_DEFAULT_SIZES);
    bs->graph_cb.func = delete_graph;
    bs->graph_cb.arg = bs;
    MemoryContextRegisterResetCallback(bs->build_ctx, &bs->graph_cb);
}

namespace {

void write_metapage(HnswBuildState *bs)
{
    Buffer buf = hnsw_new_buffer(bs->index, bs->fork);
    if (BufferGetBlockNumber(buf) != HNSW_METAPAGE_BLKNO)
        elog(ERROR, "hnsw metapage is not block 0 of \"%s\"", RelationGetRelationName(bs->index));
    hnsw_fill_metapage(BufferGetPage(buf), bs->dimensions, bs->m, bs->ef_construction, bs->opclass);
    MarkBufferDirty(buf);
    UnlockReleaseBuffer(buf);
}

void switch_to_disk(HnswBuildState *bs)
{
    hnsw_report_full(static_cast<int64>(bs->indtuples));
    hnsw_flush_graph(bs);
    bs->flushed = true;
    delete bs->graph;
    bs->graph = nullptr;
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
}

void build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool, void *state)
{
    auto *bs = static_cast<HnswBuildState *>(state);
    MemoryContext old = MemoryContextSwitchTo(bs->tmp_ctx);
    Size code_len;
    void *code = hnsw_build_row_code(bs, values, isnull, &code_len);
    if (code != nullptr) {
        if (!bs->flushed && !hnsw_graph_add(bs, code, code_len, tid))
            switch_to_disk(bs);
        if (bs->flushed)
            hnsw_insert_code(index, code, code_len, tid, true);
        bs->indtuples += 1;
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(bs->indtuples));
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(bs->tmp_ctx);
}

void log_pages(HnswBuildState *bs)
{
    if (RelationNeedsWAL(bs->index) || bs->fork == INIT_FORKNUM)
        log_newpage_range(bs->index, bs->fork, 0,
                          RelationGetNumberOfBlocksInFork(bs->index, bs->fork), true);
}

void build_index(HnswBuildState *bs)
{
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
    if (bs->heap != nullptr && bs->heap->rd_rel->reltuples > 0)
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
                                     static_cast<int64>(bs->heap->rd_rel->reltuples));

    bs->graph = new_graph(hnsw_build_params(bs), bs->dc);
    if (bs->heap != nullptr)
        bs->reltuples = table_index_build_scan(bs->heap, bs->index, bs->index_info, true, true,
                                               build_callback, bs, nullptr);
    if (!bs->flushed)
        hnsw_flush_graph(bs);
    log_pages(bs);
}

}  // namespace

quiver::core::hnsw::BuildParams hnsw_build_params(const HnswBuildState *bs)
{
    quiver::core::hnsw::BuildParams params;
    params.m = bs->m;
    params.ef_construction = bs->ef_construction;
    params.memory_budget = static_cast<size_t>(maintenance_work_mem) * 1024;
    return params;
}

void *hnsw_build_row_code(HnswBuildState *bs, Datum *values, bool *isnull, Size *code_len)
{
    if (isnull[0])
        return nullptr;
    uint32 dim;
    void *code = am_value_code(bs->opclass, values[0], code_len, &dim, false);
    if (code != nullptr)
        am_check_dimensions(bs->opclass, dim, bs->dimensions);
    return code;
}

// The core promises not to throw; should it anyway, the exception ends here and becomes an
// error after the catch.
bool hnsw_graph_add(HnswBuildState *bs, const void *code, Size code_len, ItemPointer tid)
{
    return run_guarded([&] {
        try {
            uint32 id;
            return bs->graph->add(code, code_len, tid_label(tid), &id) !=
                   quiver::core::hnsw::Status::over_budget;
        } catch (const std::bad_alloc &) {
            return false;  // out of memory is what over_budget means
        }
    });
}

void hnsw_flush_graph(HnswBuildState *bs)
{
    write_metapage(bs);
    hnsw_write_graph(bs->index, bs->fork, bs->graph, bs->m);
}

void hnsw_report_full(int64 tuples)
{
    ereport(NOTICE,
            (errmsg("hnsw graph no longer fits into maintenance_work_mem after " INT64_FORMAT " tuples",
                    tuples),
             errdetail("Building will take significantly more time."),
             errhint("Increase maintenance_work_mem to speed up builds.")));
}

IndexBuildResult *hnswbuild(Relation heap, Relation index, IndexInfo *index_info)
{
    if (RelationGetNumberOfBlocks(index) != 0)
        elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
    auto *bs = static_cast<HnswBuildState *>(palloc(sizeof(HnswBuildState)));
    hnsw_init_build_state(bs, heap, index, index_info, MAIN_FORKNUM);
    const int workers = hnsw_parallel_workers(heap, index, MAIN_FORKNUM);
    if (workers > 0 && hnsw_build_parallel(bs, workers))
        log_pages(bs);
    else
        build_index(bs);
    auto *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
    result->heap_tuples = bs->reltuples;
    result->index_tuples = bs->indtuples;
    MemoryContextDelete(bs->build_ctx);
    pfree(bs);
    return result;
}

void hnswbuildempty(Relation index)
{
    auto *bs = static_cast<HnswBuildState *>(palloc(sizeof(HnswBuildState)));
    hnsw_init_build_state(bs, nullptr, index, BuildIndexInfo(index), INIT_FORKNUM);
    build_index(bs);
    MemoryContextDelete(bs->build_ctx);
    pfree(bs);
}

}  // namespace quiver::pg
