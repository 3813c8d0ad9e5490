// Parallel hnsw builds (max_parallel_maintenance_workers), as pgvector does them: the graph lives
// in dynamic shared memory (the core's shared arena, see quiver/core/hnsw_graph.h), the leader
// and its workers each scan a part of the heap (a parallel table scan) and insert into that one
// graph at once, and the leader writes it to pages at the end, as a serial build does.
//
// When the shared graph is full, whoever notices says so (flushing); every participant stops
// inserting into it and waits; the leader waits for the insertions in flight, reports pgvector's
// NOTICE, writes the graph to pages, and says flushed; from then on every participant inserts
// its remaining rows on disk (the on-disk insert path, which is safe for concurrent inserts; the
// heavyweight page locks it takes conflict within a parallel group as well). The coordination is
// a spinlock-protected struct with a condition variable in the same segment.
//
// Each process has its own core Graph attached to the segment (scratch and visited marks are per
// process); the leader's is deleted before the segment goes away.
#include "quiver/pg/hnsw.h"
#include "quiver/pg/hnsw_build.h"

extern "C" {
#include "access/parallel.h"
#include "access/tableam.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "storage/shm_toc.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/wait_event.h"

PGDLLEXPORT void quiver_hnsw_parallel_build_main(dsm_segment *seg, shm_toc *toc);
}

#include <cstring>
#include <new>

namespace quiver::pg {
namespace {

using quiver::core::hnsw::Graph;

constexpr uint64 kSharedKey = UINT64CONST(0xA000000000000001);
constexpr uint64 kScanKey = UINT64CONST(0xA000000000000002);
constexpr uint64 kGraphKey = UINT64CONST(0xA000000000000003);
constexpr uint64 kQueryKey = UINT64CONST(0xA000000000000004);

// Tuples a participant adds before it reports them to the shared progress count.
constexpr int64 kProgressBatch = 64;

Graph *attach_graph(void *region, const quiver::core::DistanceComputer &dc, uint64 salt)
{
    Graph *g = run_guarded([&] { return new Graph(region, dc, salt); });
    if (!g->is_shared()) {
        delete g;
        elog(ERROR, "could not attach to the shared hnsw build graph");
    }
    return g;
}

// The leader writes the shared graph to pages once no insertion into it is in flight.
void leader_flush(HnswBuildState *bs)
{
    HnswParallelShared *sh = bs->shared;
    ConditionVariablePrepareToSleep(&sh->cv);
    for (;;) {
        SpinLockAcquire(&sh->mutex);
        const bool idle = sh->inflight == 0;
        SpinLockRelease(&sh->mutex);
        if (idle)
            break;
        ConditionVariableSleep(&sh->cv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
    }
    ConditionVariableCancelSleep();
    SpinLockAcquire(&sh->mutex);
    const int64 in_memory = sh->in_memory;
    SpinLockRelease(&sh->mutex);
    hnsw_report_full(in_memory);
    hnsw_flush_graph(bs);
    SpinLockAcquire(&sh->mutex);
    sh->flushed = true;
    SpinLockRelease(&sh->mutex);
    ConditionVariableBroadcast(&sh->cv);
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
}

// A participant that met a full graph: the leader flushes it, a worker waits until it has.
void await_flush(HnswBuildState *bs)
{
    if (!IsParallelWorker()) {
        leader_flush(bs);
        return;
    }
    HnswParallelShared *sh = bs->shared;
    ConditionVariablePrepareToSleep(&sh->cv);
    for (;;) {
        SpinLockAcquire(&sh->mutex);
        const bool done = sh->flushed;
        SpinLockRelease(&sh->mutex);
        if (done)
            break;
        ConditionVariableSleep(&sh->cv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
    }
    ConditionVariableCancelSleep();
}

// One row into the shared graph, or on disk once the graph has been written out.
void add_row(HnswBuildState *bs, const void *code, Size code_len, ItemPointer tid)
{
    HnswParallelShared *sh = bs->shared;
    for (;;) {
        SpinLockAcquire(&sh->mutex);
        const bool flushed = sh->flushed;
        const bool flushing = sh->flushing;
        if (!flushed && !flushing)
            sh->inflight++;
        SpinLockRelease(&sh->mutex);
        if (flushed) {
            hnsw_insert_code(bs->index, code, code_len, nullptr, 0, tid, true);
            return;
        }
        if (flushing) {
            await_flush(bs);
            continue;
        }
        const bool added = hnsw_graph_add(bs, code, code_len, tid);
        SpinLockAcquire(&sh->mutex);
        sh->inflight--;
        if (added)
            sh->in_memory++;
        else if (!sh->flushing && !sh->flushed)
            sh->flushing = true;
        const bool wake = sh->flushing && sh->inflight == 0;
        SpinLockRelease(&sh->mutex);
        if (wake)
            ConditionVariableBroadcast(&sh->cv);
        if (added)
            return;
    }
}

void report_progress(HnswBuildState *bs, bool force)
{
    HnswParallelShared *sh = bs->shared;
    if (bs->progress_unreported < kProgressBatch && !force)
        return;
    SpinLockAcquire(&sh->mutex);
    sh->progress += bs->progress_unreported;
    const int64 total = sh->progress;
    SpinLockRelease(&sh->mutex);
    bs->progress_unreported = 0;
    if (!IsParallelWorker())
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, total);
}

void parallel_callback(Relation, ItemPointer tid, Datum *values, bool *isnull, bool, void *state)
{
    auto *bs = static_cast<HnswBuildState *>(state);
    MemoryContext old = MemoryContextSwitchTo(bs->tmp_ctx);
    Size code_len;
    void *code = hnsw_build_row_code(bs, values, isnull, &code_len);
    if (code != nullptr) {
        add_row(bs, code, code_len, tid);
        bs->indtuples += 1;
        bs->progress_unreported += 1;
        report_progress(bs, false);
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(bs->tmp_ctx);
}

// This participant's part of the heap.
void scan_part(HnswBuildState *bs, ParallelTableScanDesc pscan, bool progress)
{
    TableScanDesc scan = table_beginscan_parallel(bs->heap, pscan);
    bs->reltuples += table_index_build_scan(bs->heap, bs->index, bs->index_info, true, progress,
                                            parallel_callback, bs, scan);
    report_progress(bs, true);
}

// The leader, its own part done: flushes when asked, until every worker has finished.
void leader_wait(HnswBuildState *bs, int workers)
{
    HnswParallelShared *sh = bs->shared;
    ConditionVariablePrepareToSleep(&sh->cv);
    for (;;) {
        SpinLockAcquire(&sh->mutex);
        const bool flush = sh->flushing && !sh->flushed;
        const bool done = sh->workers_done >= workers;
        SpinLockRelease(&sh->mutex);
        if (flush) {
            ConditionVariableCancelSleep();
            leader_flush(bs);
            ConditionVariablePrepareToSleep(&sh->cv);
            continue;
        }
        if (done)
            break;
        ConditionVariableSleep(&sh->cv, WAIT_EVENT_PARALLEL_CREATE_INDEX_SCAN);
    }
    ConditionVariableCancelSleep();
}

// Bytes for the shared graph: maintenance_work_mem, or less when the table is known to be small
// (a segment is reserved in full, and /dev/shm may be small): four times what its rows need as
// of the last ANALYZE, so that statistics somewhat behind do not send the build to disk.
Size graph_region_bytes(HnswBuildState *bs)
{
    const Size budget = static_cast<Size>(maintenance_work_mem) * 1024;
    const double rows = bs->heap->rd_rel->reltuples;
    if (rows <= 0)
        return budget;
    // Per row: a node record with its level-0 list and code, its share of upper lists and of
    // the exact-code table; sparse codes counted at their largest.
    const Size code = bs->opclass->representation == quiver::core::Representation::sparse
                          ? 12 + 8 * static_cast<Size>(bs->opclass->max_nnz)
                          : quiver::core::code_size(bs->opclass->representation, bs->dimensions, nullptr);
    const Size m0 = 2 * static_cast<Size>(bs->m);
    const Size per_row = 48 + 9 * m0 + code + (4 + 9 * static_cast<Size>(bs->m)) / 4 + 32;
    const double want = rows * 4 * static_cast<double>(per_row) + (1 << 20);
    return want < static_cast<double>(budget) ? static_cast<Size>(want) : budget;
}

}  // namespace

int hnsw_parallel_workers(Relation heap, Relation index, ForkNumber fork)
{
    if (heap == nullptr || fork != MAIN_FORKNUM || !IsNormalProcessingMode() ||
        max_parallel_maintenance_workers <= 0 || RelationUsesLocalBuffers(heap))
        return 0;
    return plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
}

bool hnsw_build_parallel(HnswBuildState *bs, int workers)
{
    const Size graph_bytes = graph_region_bytes(bs);
    if (graph_bytes < Graph::shared_minimum(hnsw_build_params(bs), bs->dc))
        return false;

    AmParallelBuild pb;
    am_parallel_begin(&pb, "quiver_hnsw_parallel_build_main", workers, bs->heap, bs->index_info);
    ParallelContext *pcxt = pb.pcxt;
    shm_toc_estimate_chunk(&pcxt->estimator, sizeof(HnswParallelShared));
    shm_toc_estimate_chunk(&pcxt->estimator, graph_bytes);
    shm_toc_estimate_keys(&pcxt->estimator, 2);
    if (!am_parallel_initialize(&pb))
        return false;  // no segment: build serially

    auto *sh = static_cast<HnswParallelShared *>(shm_toc_allocate(pcxt->toc, sizeof(HnswParallelShared)));
    std::memset(sh, 0, sizeof *sh);
    SpinLockInit(&sh->mutex);
    ConditionVariableInit(&sh->cv);
    ParallelTableScanDesc pscan = am_parallel_place_scan(&pb, &sh->rels, bs->heap, bs->index,
                                                         bs->index_info, kScanKey, kQueryKey);
    void *region = shm_toc_allocate(pcxt->toc, graph_bytes);
    if (!Graph::format_shared(region, graph_bytes, hnsw_build_params(bs), bs->dc))
        elog(ERROR, "could not set up the shared hnsw build graph");
    shm_toc_insert(pcxt->toc, kSharedKey, sh);
    shm_toc_insert(pcxt->toc, kGraphKey, region);

    LaunchParallelWorkers(pcxt);
    const int launched = pcxt->nworkers_launched;
    ereport(DEBUG1, (errmsg("using %d parallel workers", launched)));
    if (launched > 0)
        WaitForParallelWorkersToAttach(pcxt);

    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
    if (bs->heap->rd_rel->reltuples > 0)
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
                                     static_cast<int64>(bs->heap->rd_rel->reltuples));
    bs->shared = sh;
    bs->graph = attach_graph(region, bs->dc, 0);
    if (parallel_leader_participation || launched == 0)
        scan_part(bs, pscan, true);
    leader_wait(bs, launched);
    WaitForParallelWorkersToFinish(pcxt);

    SpinLockAcquire(&sh->mutex);
    bs->reltuples += sh->reltuples;
    bs->indtuples += sh->indtuples;
    const bool flushed = sh->flushed;
    SpinLockRelease(&sh->mutex);
    if (!flushed)
        hnsw_flush_graph(bs);
    delete bs->graph;  // before its region goes away
    bs->graph = nullptr;
    bs->shared = nullptr;
    am_parallel_end(&pb);
    return true;
}

}  // namespace quiver::pg

// Entry point of a parallel build worker (the name is given to CreateParallelContext).
void quiver_hnsw_parallel_build_main(dsm_segment *, shm_toc *toc)
{
    using namespace quiver::pg;
    auto *sh = static_cast<HnswParallelShared *>(shm_toc_lookup(toc, kSharedKey, false));
    auto pscan = static_cast<ParallelTableScanDesc>(shm_toc_lookup(toc, kScanKey, false));
    void *region = shm_toc_lookup(toc, kGraphKey, false);
    Relation heap, index;
    IndexInfo *index_info;
    am_parallel_worker_open(toc, kQueryKey, &sh->rels, &heap, &index, &index_info);

    auto *bs = static_cast<HnswBuildState *>(palloc(sizeof(HnswBuildState)));
    hnsw_init_build_state(bs, heap, index, index_info, MAIN_FORKNUM);
    bs->shared = sh;
    {
        MemoryContext old = MemoryContextSwitchTo(bs->build_ctx);
        bs->graph = attach_graph(region, bs->dc, static_cast<uint64>(ParallelWorkerNumber) + 1);
        MemoryContextSwitchTo(old);
    }
    scan_part(bs, pscan, false);

    SpinLockAcquire(&sh->mutex);
    sh->reltuples += bs->reltuples;
    sh->indtuples += bs->indtuples;
    sh->workers_done++;
    SpinLockRelease(&sh->mutex);
    ConditionVariableBroadcast(&sh->cv);

    MemoryContextDelete(bs->build_ctx);  // deletes the Graph (graph_cb)
    pfree(bs);
    am_parallel_worker_close(&sh->rels, heap, index);
}
