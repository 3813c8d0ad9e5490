// Parallel ivfflat / ivf builds (max_parallel_maintenance_workers), as pgvector does them: the
// leader samples and trains serially (phases 1-2), then the leader and its workers each assign
// a part of the heap (a parallel table scan) to the lists and sort their share of (list, heap
// TID, code) into one parallel tuplesort; the leader merges the sorted runs and writes the
// lists (phase 4) as a serial build does, so a parallel build lays out the same lists.
//
// Workers get the centroid codes and the quantizer blob through the segment, not from the
// index pages, which the leader has written but not yet WAL-logged or flushed.
#include "quiver/pg/am_parallel.h"
#include "quiver/pg/ivf.h"
#include "quiver/pg/ivf_build.h"

extern "C" {
#include "access/parallel.h"
#include "access/tableam.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "storage/shm_toc.h"
#include "storage/spin.h"
#include "utils/memutils.h"
#include "utils/rel.h"

PGDLLEXPORT void quiver_ivf_parallel_build_main(dsm_segment *seg, shm_toc *toc);
}

#include <cstring>

namespace quiver::pg {
namespace {

constexpr uint64 kSharedKey = UINT64CONST(0xA000000000000101);
constexpr uint64 kScanKey = UINT64CONST(0xA000000000000102);
constexpr uint64 kSortKey = UINT64CONST(0xA000000000000103);
constexpr uint64 kCentroidKey = UINT64CONST(0xA000000000000104);
constexpr uint64 kBlobKey = UINT64CONST(0xA000000000000105);
constexpr uint64 kQueryKey = UINT64CONST(0xA000000000000106);

struct IvfParallelShared {
    AmParallelRelations rels;
    int sort_mem;          // kB of each participant's share of maintenance_work_mem
    Size centroid_bytes;
    Size blob_bytes;       // 0 without a quantizer
    slock_t mutex;         // guards what follows
    double indtuples;      // rows the workers sorted
};

// One participant's part of phase 3: its rows, sorted, as a run of the shared sort.
void assign_part(IvfBuildState *bs, ParallelTableScanDesc pscan, Sharedsort *sharedsort,
                 int sort_mem, bool progress)
{
    SortCoordinateData coordinate;
    coordinate.isWorker = true;
    coordinate.nParticipants = -1;
    coordinate.sharedsort = sharedsort;
    ivf_build_begin_sort(bs, sort_mem, &coordinate);
    TableScanDesc scan = table_beginscan_parallel(bs->heap, pscan);
    // The heap tuple count is the sampling scan's (phase 1), as in a serial build.
    table_index_build_scan(bs->heap, bs->index, bs->index_info, true, progress,
                           ivf_build_assign_callback, bs, scan);
    tuplesort_performsort(bs->sort);
    ivf_build_end_sort(bs);
}

}  // namespace

int ivf_parallel_workers(Relation heap, Relation index, ForkNumber fork)
{
    if (heap == nullptr || fork != MAIN_FORKNUM || !IsNormalProcessingMode() ||
        max_parallel_maintenance_workers <= 0 || RelationUsesLocalBuffers(heap))
        return 0;
    return plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
}

bool ivf_build_parallel(IvfBuildState *bs, int workers, void (*load)(IvfBuildState *, void *),
                        void *load_arg)
{
    const int planned = workers + (parallel_leader_participation ? 1 : 0);
    const Size centroid_bytes = static_cast<Size>(bs->lists) * bs->centroid_len;
    const Size blob_bytes = bs->quant != nullptr ? bs->quant->blob_size() : 0;

    AmParallelBuild pb;
    am_parallel_begin(&pb, "quiver_ivf_parallel_build_main", workers, bs->heap, bs->index_info);
    ParallelContext *pcxt = pb.pcxt;
    const Size sort_bytes = tuplesort_estimate_shared(planned);
    shm_toc_estimate_chunk(&pcxt->estimator, sizeof(IvfParallelShared));
    shm_toc_estimate_chunk(&pcxt->estimator, sort_bytes);
    shm_toc_estimate_chunk(&pcxt->estimator, centroid_bytes);
    if (blob_bytes > 0)
        shm_toc_estimate_chunk(&pcxt->estimator, blob_bytes);
    shm_toc_estimate_keys(&pcxt->estimator, blob_bytes > 0 ? 4 : 3);
    if (!am_parallel_initialize(&pb))
        return false;  // no segment: build serially

    auto *sh = static_cast<IvfParallelShared *>(shm_toc_allocate(pcxt->toc, sizeof(IvfParallelShared)));
    std::memset(sh, 0, sizeof *sh);
    sh->sort_mem = Max(maintenance_work_mem / planned, 64);
    sh->centroid_bytes = centroid_bytes;
    sh->blob_bytes = blob_bytes;
    SpinLockInit(&sh->mutex);
    ParallelTableScanDesc pscan = am_parallel_place_scan(&pb, &sh->rels, bs->heap, bs->index,
                                                         bs->index_info, kScanKey, kQueryKey);
    auto *sharedsort = static_cast<Sharedsort *>(shm_toc_allocate(pcxt->toc, sort_bytes));
    tuplesort_initialize_shared(sharedsort, planned, pcxt->seg);
    char *centroids = static_cast<char *>(shm_toc_allocate(pcxt->toc, centroid_bytes));
    std::memcpy(centroids, bs->centroids, centroid_bytes);
    shm_toc_insert(pcxt->toc, kSharedKey, sh);
    shm_toc_insert(pcxt->toc, kSortKey, sharedsort);
    shm_toc_insert(pcxt->toc, kCentroidKey, centroids);
    if (blob_bytes > 0) {
        auto *blob = static_cast<uint8 *>(shm_toc_allocate(pcxt->toc, blob_bytes));
        bs->quant->write_blob(blob);
        shm_toc_insert(pcxt->toc, kBlobKey, blob);
    }

    LaunchParallelWorkers(pcxt);
    const int launched = pcxt->nworkers_launched;
    ereport(DEBUG1, (errmsg("using %d parallel workers", launched)));
    const bool leader_sorts = parallel_leader_participation || launched == 0;
    if (leader_sorts)
        assign_part(bs, pscan, sharedsort, sh->sort_mem, true);
    WaitForParallelWorkersToFinish(pcxt);
    SpinLockAcquire(&sh->mutex);
    bs->indtuples += sh->indtuples;
    SpinLockRelease(&sh->mutex);

    // The leader merges every participant's run (the workers' live on in the segment's files).
    SortCoordinateData coordinate;
    coordinate.isWorker = false;
    coordinate.nParticipants = launched + (leader_sorts ? 1 : 0);
    coordinate.sharedsort = sharedsort;
    ivf_build_begin_sort(bs, maintenance_work_mem, &coordinate);
    tuplesort_performsort(bs->sort);
    load(bs, load_arg);
    ivf_build_end_sort(bs);
    am_parallel_end(&pb);
    return true;
}

}  // namespace quiver::pg

// Entry point of a parallel build worker (the name is given to CreateParallelContext).
void quiver_ivf_parallel_build_main(dsm_segment *seg, shm_toc *toc)
{
    using namespace quiver::pg;
    auto *sh = static_cast<IvfParallelShared *>(shm_toc_lookup(toc, kSharedKey, false));
    auto pscan = static_cast<ParallelTableScanDesc>(shm_toc_lookup(toc, kScanKey, false));
    auto *sharedsort = static_cast<Sharedsort *>(shm_toc_lookup(toc, kSortKey, false));
    auto *centroids = static_cast<char *>(shm_toc_lookup(toc, kCentroidKey, false));
    auto *blob = static_cast<const uint8 *>(shm_toc_lookup(toc, kBlobKey, sh->blob_bytes == 0));
    tuplesort_attach_shared(sharedsort, seg);
    Relation heap, index;
    IndexInfo *index_info;
    am_parallel_worker_open(toc, kQueryKey, &sh->rels, &heap, &index, &index_info);

    MemoryContext build_ctx = AllocSetContextCreate(CurrentMemoryContext, "ivf parallel build",
                                                    ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(build_ctx);
    auto *bs = static_cast<IvfBuildState *>(palloc(sizeof(IvfBuildState)));
    ivf_init_build_state(bs, heap, index, index_info, MAIN_FORKNUM);
    if (static_cast<Size>(bs->lists) * bs->centroid_len != sh->centroid_bytes)
        elog(ERROR, "%s parallel build: the leader's centroids do not match the index", bs->am_name);
    ivf_build_set_centroids(bs, centroids);
    if (blob != nullptr)
        ivf_build_load_quantizer(bs, blob, sh->blob_bytes);
    assign_part(bs, pscan, sharedsort, sh->sort_mem, false);

    SpinLockAcquire(&sh->mutex);
    sh->indtuples += bs->indtuples;
    SpinLockRelease(&sh->mutex);
    MemoryContextSwitchTo(old);
    MemoryContextDelete(build_ctx);  // deletes the quantizer
    am_parallel_worker_close(&sh->rels, heap, index);
}
