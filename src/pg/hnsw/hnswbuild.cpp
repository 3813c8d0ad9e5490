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
#include "quiver/pg/filter_columns.h"

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

// A quarter of maintenance_work_mem (the graph gets the rest): a few filter values per row
// take far less than a vector and its links.
Size payload_budget() { return static_cast<Size>(maintenance_work_mem) * 1024 / 4; }

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
    bs->filter_columns = am_filter_column_count(index);
    am_check_filter_columns(index, "hnsw");
    if (!quiver::core::make_distance_computer(bs->opclass->representation, bs->opclass->metric,
                                              bs->dimensions, &bs->dc))
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("no distance computer for this hnsw operator class")));
    bs->build_ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw build", ALLOCSET_DEFAULT_SIZES);
    bs->tmp_ctx = AllocSetContextCreate(bs->build_ctx, "hnsw build tuple", ALLOCSET_DEFAULT_SIZES);
    bs->graph_cb.func = delete_graph;
    bs->graph_cb.arg = bs;
    MemoryContextRegisterResetCallback(bs->build_ctx, &bs->graph_cb);
    if (bs->filter_columns > 0)
        bs->payloads = hnsw_payloads_create(bs->build_ctx, payload_budget());
}

// ---- payload store -------------------------------------------------------------------------------

namespace {

inline uint32 label_slot(uint64 label, uint32 mask)
{
    return static_cast<uint32>((label * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

Size store_bytes(uint32 slots, Size arena)
{
    return static_cast<Size>(slots) * (sizeof(uint64) + sizeof(Size) + sizeof(uint32)) + arena;
}

void alloc_slots(HnswPayloadStore *ps, uint32 slots)
{
    auto alloc = [&](Size bytes) {
        return MemoryContextAllocExtended(ps->ctx, bytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
    };
    ps->labels = static_cast<uint64 *>(alloc(sizeof(uint64) * slots));
    ps->offsets = static_cast<Size *>(alloc(sizeof(Size) * slots));
    ps->lengths = static_cast<uint32 *>(alloc(sizeof(uint32) * slots));
    ps->mask = slots - 1;
}

void insert_slot(HnswPayloadStore *ps, uint64 label, Size offset, uint32 len)
{
    uint32 i = label_slot(label, ps->mask);
    while (ps->labels[i] != 0 && ps->labels[i] != label)
        i = (i + 1) & ps->mask;
    if (ps->labels[i] == 0)
        ps->count++;
    ps->labels[i] = label;
    ps->offsets[i] = offset;
    ps->lengths[i] = len;
}

}  // namespace

HnswPayloadStore *hnsw_payloads_create(MemoryContext parent, Size limit)
{
    MemoryContext ctx = AllocSetContextCreate(parent, "hnsw build payloads", ALLOCSET_DEFAULT_SIZES);
    auto *ps = static_cast<HnswPayloadStore *>(MemoryContextAllocZero(ctx, sizeof(HnswPayloadStore)));
    ps->ctx = ctx;
    ps->limit = limit;
    alloc_slots(ps, 1024);
    ps->capacity = 64 * 1024;
    ps->bytes = static_cast<char *>(MemoryContextAllocHuge(ctx, ps->capacity));
    return ps;
}

bool hnsw_payloads_add(HnswPayloadStore *ps, uint64 label, const uint8 *payload, Size len)
{
    const uint32 slots = ps->mask + 1;
    Size arena = ps->capacity;
    while (ps->used + len > arena)
        arena *= 2;
    uint32 want = slots;
    if ((static_cast<uint64>(ps->count) + 1) * 2 > slots)
        want = slots * 2;
    if (store_bytes(want, arena) > ps->limit || want == 0)
        return false;
    if (arena != ps->capacity) {
        ps->bytes = static_cast<char *>(repalloc_huge(ps->bytes, arena));
        ps->capacity = arena;
    }
    if (want != slots) {
        uint64 *labels = ps->labels;
        Size *offsets = ps->offsets;
        uint32 *lengths = ps->lengths;
        alloc_slots(ps, want);
        ps->count = 0;
        for (uint32 i = 0; i < slots; ++i)
            if (labels[i] != 0)
                insert_slot(ps, labels[i], offsets[i], lengths[i]);
        pfree(labels);
        pfree(offsets);
        pfree(lengths);
    }
    std::memcpy(ps->bytes + ps->used, payload, len);
    insert_slot(ps, label, ps->used, static_cast<uint32>(len));
    ps->used += len;
    return true;
}

const uint8 *hnsw_payloads_get(const HnswPayloadStore *ps, uint64 label, Size *len)
{
    uint32 i = label_slot(label, ps->mask);
    while (ps->labels[i] != 0) {
        if (ps->labels[i] == label) {
            *len = ps->lengths[i];
            return reinterpret_cast<const uint8 *>(ps->bytes + ps->offsets[i]);
        }
        i = (i + 1) & ps->mask;
    }
    *len = 0;
    return nullptr;
}

namespace {

void write_metapage(HnswBuildState *bs)
{
    Buffer buf = hnsw_new_buffer(bs->index, bs->fork);
    if (BufferGetBlockNumber(buf) != HNSW_METAPAGE_BLKNO)
        elog(ERROR, "hnsw metapage is not block 0 of \"%s\"", RelationGetRelationName(bs->index));
    hnsw_fill_metapage(BufferGetPage(buf), bs->dimensions, bs->m, bs->ef_construction, bs->opclass,
                       1 + bs->filter_columns);
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
    if (bs->payloads != nullptr) {
        MemoryContextDelete(bs->payloads->ctx);
        bs->payloads = nullptr;
    }
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
}

void build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool, void *state)
{
    auto *bs = static_cast<HnswBuildState *>(state);
    MemoryContext old = MemoryContextSwitchTo(bs->tmp_ctx);
    Size code_len;
    void *code = hnsw_build_row_code(bs, values, isnull, &code_len);
    if (code != nullptr) {
        Size payload_len = 0;
        uint8 *payload = am_row_payload(index, values, isnull, &payload_len);
        if (!bs->flushed && bs->payloads != nullptr &&
            !hnsw_payloads_add(bs->payloads, tid_label(tid), payload, payload_len))
            switch_to_disk(bs);
        if (!bs->flushed && !hnsw_graph_add(bs, code, code_len, tid))
            switch_to_disk(bs);
        if (bs->flushed)
            hnsw_insert_code(index, code, code_len, payload, payload_len, tid, true);
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
    if (bs->filter_columns > 0)
        params.memory_budget -= payload_budget();
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
    hnsw_write_graph(bs->index, bs->fork, bs->graph, bs->m, bs->payloads);
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
    // Parallel builds share one graph in dynamic shared memory, which has no room for payloads:
    // an index with filter columns builds serially.
    const int workers = bs->filter_columns > 0 ? 0 : hnsw_parallel_workers(heap, index, MAIN_FORKNUM);
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
