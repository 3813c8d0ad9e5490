// ivfflat scans: ORDER BY col <op> query, closest first among the probed lists. The lists are
// ranked by their centroid's distance; a batch probes the next `probes` of them, computes every
// entry's distance page by page (one batch kernel call per page) and keeps the closest in a
// bounded buffer, handed out in (distance, heap TID) order. When the buffer had to drop entries
// and the consumer wants more rows, the same lists are read again for what comes after the last
// row handed out, with a buffer four times larger, up to work_mem. The buffer starts small
// because the index is not told the LIMIT and most queries take a few rows: a full buffer
// rejects most entries with one comparison, where keeping every entry of the probed lists cost
// a third of the scan; memory stays bounded however long the lists are. With ivfflat.iterative_scan = relaxed_order,
// an exhausted batch moves on to the next lists (up to ivfflat.max_probes), so filtered queries
// still get their rows; the order is exact within a batch, relaxed across batches.
#include "quiver/pg/ivf.h"

extern "C" {
#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

#include <algorithm>
#include <cstring>

namespace quiver::pg {
namespace {

constexpr uint32 kInitialCapacity = 256;  // results kept by a scan's first pass over its lists

struct IvfResult {
    float distance;
    ItemPointerData tid;
};

// (distance, heap TID) order: a strict total order, so a re-read continues exactly after the
// last row handed out.
inline bool result_less(const IvfResult &a, const IvfResult &b)
{
    if (a.distance != b.distance)
        return a.distance < b.distance;
    return ItemPointerCompare(const_cast<ItemPointer>(&a.tid), const_cast<ItemPointer>(&b.tid)) < 0;
}
inline bool result_greater(const IvfResult &a, const IvfResult &b) { return result_less(b, a); }

struct IvfListRank {
    float distance;
    uint32 list;
};

struct IvfScanOpaqueData {
    MemoryContext ctx;  // everything of the current query; reset by rescan
    bool first;
    bool done;
    const IvfIndexInfo *info;
    const void *query;  // NULL: every distance is 0 (NULL query, zero vector under cosine)
    int probes;
    int max_probes;
    int mode;

    IvfListRank *ranked;  // lists by centroid distance
    uint32 next_list;     // first list of the next batch
    uint32 batch_first;   // lists [batch_first, next_list) form the current batch

    IvfResult *buf;       // min-heap (result_greater) of what is left to hand out
    uint32 count;
    uint32 capacity;      // of buf now
    uint32 max_capacity;  // work_mem's worth
    bool overflow;        // the batch had more entries than the buffer held
    bool have_last;
    IvfResult last;       // last row handed out (re-reads continue after it)

    AmBufferCache cache;     // buffer hints: entry pages are pinned without a hash lookup
    const void **code_ptrs;  // scratch: codes of one page
    ItemPointerData *page_tids;
    float *page_dist;
};
typedef IvfScanOpaqueData *IvfScanOpaque;

// Offers one entry to the bounded buffer (a max-heap by result_less while collecting).
inline void offer(IvfScanOpaque so, const IvfResult &r)
{
    if (so->have_last && !result_less(so->last, r))
        return;  // handed out already
    if (so->count < so->capacity) {
        so->buf[so->count++] = r;
        if (so->count == so->capacity)
            std::make_heap(so->buf, so->buf + so->count, result_less);
        return;
    }
    so->overflow = true;
    if (result_less(r, so->buf[0])) {
        std::pop_heap(so->buf, so->buf + so->count, result_less);
        so->buf[so->count - 1] = r;
        std::push_heap(so->buf, so->buf + so->count, result_less);
    }
}

void read_list(IndexScanDesc scan, IvfScanOpaque so, uint32 list)
{
    Relation index = scan->indexRelation;
    const IvfIndexInfo *info = so->info;
    BlockNumber dblk;
    uint32 slot;
    ivf_directory_slot(info, list, &dblk, &slot);
    Buffer dbuf = am_cache_pin(&so->cache, index, dblk);
    LockBuffer(dbuf, BUFFER_LOCK_SHARE);
    BlockNumber blkno = ivf_directory_entries(BufferGetPage(dbuf))[slot].start;
    UnlockReleaseBuffer(dbuf);

    while (blkno != InvalidBlockNumber) {
        Buffer buf = am_cache_pin(&so->cache, index, blkno);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        ivf_check_entry_page(index, page, list, blkno);
        OffsetNumber max = PageGetMaxOffsetNumber(page);
        int n = 0;
        // Last item first: PageAddItem fills a page from its end, so this reads memory upwards.
        for (OffsetNumber off = max; off >= FirstOffsetNumber; --off) {
            ItemId iid = PageGetItemId(page, off);
            if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) != offsetof(IvfEntryData, code) + info->code_len)
                continue;
            IvfEntry e = reinterpret_cast<IvfEntry>(PageGetItem(page, iid));
            so->code_ptrs[n] = e->code;
            so->page_tids[n] = e->heaptid;
            ++n;
        }
        if (so->query != nullptr)
            info->dc.batch(info->dc, so->query, so->code_ptrs, n, so->page_dist);
        else
            std::memset(so->page_dist, 0, sizeof(float) * n);
        blkno = IvfPageGetOpaque(page)->next;
        UnlockReleaseBuffer(buf);
        for (int i = 0; i < n; ++i)
            offer(so, IvfResult{so->page_dist[i], so->page_tids[i]});
        CHECK_FOR_INTERRUPTS();
    }
}

// Reads lists [batch_first, next_list) into the buffer and arranges it as a min-heap.
void read_batch(IndexScanDesc scan, IvfScanOpaque so)
{
    so->count = 0;
    so->overflow = false;
    for (uint32 i = so->batch_first; i < so->next_list; ++i)
        read_list(scan, so, so->ranked[i].list);
    std::make_heap(so->buf, so->buf + so->count, result_greater);
}

// The next batch of lists; false when the scan may not probe further.
bool next_batch(IndexScanDesc scan, IvfScanOpaque so)
{
    const uint32 lists = so->info->lists;
    uint32 limit = lists;
    if (so->mode != IVF_ITERATIVE_SCAN_OFF)
        limit = Min(lists, static_cast<uint32>(Max(so->max_probes, so->probes)));
    if (so->next_list >= limit || (so->mode == IVF_ITERATIVE_SCAN_OFF && so->next_list > 0))
        return false;
    so->batch_first = so->next_list;
    so->next_list = Min(limit, so->next_list + static_cast<uint32>(so->probes));
    so->have_last = false;
    read_batch(scan, so);
    return true;
}

void rank_lists(IndexScanDesc scan, IvfScanOpaque so)
{
    const IvfIndexInfo *info = so->info;
    auto *dist = static_cast<float *>(palloc(sizeof(float) * info->lists));
    if (so->query != nullptr)
        ivf_centroid_distances(scan->indexRelation, info, so->query, dist);
    else
        std::memset(dist, 0, sizeof(float) * info->lists);
    so->ranked = static_cast<IvfListRank *>(palloc(sizeof(IvfListRank) * info->lists));
    for (uint32 i = 0; i < info->lists; ++i)
        so->ranked[i] = IvfListRank{dist[i], i};
    // Only the lists a scan may probe need their order.
    uint32 need = Min(info->lists, static_cast<uint32>(Max(so->probes, so->mode != IVF_ITERATIVE_SCAN_OFF ? so->max_probes : 0)));
    auto by_distance = [](const IvfListRank &a, const IvfListRank &b) {
        return a.distance != b.distance ? a.distance < b.distance : a.list < b.list;
    };
    std::partial_sort(so->ranked, so->ranked + need, so->ranked + info->lists, by_distance);
    pfree(dist);
}

void prepare_query(IndexScanDesc scan, IvfScanOpaque so)
{
    so->query = nullptr;
    if (scan->orderByData->sk_flags & SK_ISNULL)
        return;
    Size code_len;
    uint32 dim;
    void *code = am_value_code(so->info->opclass, scan->orderByData->sk_argument, &code_len, &dim, true);
    if (code == nullptr)
        return;  // zero vector under cosine: no order, as pgvector
    am_check_dimensions(so->info->opclass, dim, so->info->dimensions);
    so->query = code;
}

// A re-read of the same lists gets a larger buffer (fewer re-reads for a consumer that wants
// many rows, e.g. under a selective filter).
void grow_buffer(IvfScanOpaque so)
{
    if (so->capacity >= so->max_capacity)
        return;
    so->capacity = Min(so->max_capacity, so->capacity * 4);
    so->buf = static_cast<IvfResult *>(repalloc(so->buf, sizeof(IvfResult) * so->capacity));
}

void start_scan(IndexScanDesc scan, IvfScanOpaque so)
{
    so->info = ivf_index_info(scan->indexRelation);
    so->probes = ivfflat_probes;
    so->max_probes = ivfflat_max_probes;
    so->mode = ivfflat_iterative_scan;
    prepare_query(scan, so);
    // The buffer: at most work_mem worth of results (at least a page's worth).
    Size cap = static_cast<Size>(work_mem) * 1024 / sizeof(IvfResult);
    so->max_capacity = static_cast<uint32>(Max(Min(cap, static_cast<Size>(MaxAllocSize / sizeof(IvfResult))),
                                               static_cast<Size>(MaxHeapTuplesPerPage)));
    so->capacity = Min(so->max_capacity, static_cast<uint32>(kInitialCapacity));
    so->buf = static_cast<IvfResult *>(palloc(sizeof(IvfResult) * so->capacity));
    am_cache_init(&so->cache, scan->indexRelation);
    so->code_ptrs = static_cast<const void **>(palloc(sizeof(void *) * MaxOffsetNumber));
    so->page_tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * MaxOffsetNumber));
    so->page_dist = static_cast<float *>(palloc(sizeof(float) * MaxOffsetNumber));
    rank_lists(scan, so);
    so->next_list = 0;
    if (!next_batch(scan, so))
        so->done = true;
}

}  // namespace

IndexScanDesc ivfflatbeginscan(Relation index, int nkeys, int norderbys)
{
    IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
    auto so = static_cast<IvfScanOpaque>(palloc0(sizeof(IvfScanOpaqueData)));
    so->ctx = AllocSetContextCreate(CurrentMemoryContext, "ivfflat scan", ALLOCSET_DEFAULT_SIZES);
    so->first = true;
    scan->opaque = so;
    return scan;
}

void ivfflatrescan(IndexScanDesc scan, ScanKey keys, int, ScanKey orderbys, int)
{
    auto so = static_cast<IvfScanOpaque>(scan->opaque);
    MemoryContextReset(so->ctx);
    MemoryContext ctx = so->ctx;
    std::memset(so, 0, sizeof *so);
    so->ctx = ctx;
    so->first = true;
    if (keys && scan->numberOfKeys > 0)
        std::memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
    if (orderbys && scan->numberOfOrderBys > 0)
        std::memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

bool ivfflatgettuple(IndexScanDesc scan, ScanDirection)
{
    auto so = static_cast<IvfScanOpaque>(scan->opaque);
    MemoryContext old = MemoryContextSwitchTo(so->ctx);
    if (so->first) {
        pgstat_count_index_scan(scan->indexRelation);
        if (scan->orderByData == nullptr)
            elog(ERROR, "cannot scan ivfflat index without order");
        if (!IsMVCCSnapshot(scan->xs_snapshot))
            elog(ERROR, "non-MVCC snapshots are not supported with ivfflat");
        so->first = false;
        start_scan(scan, so);
    }
    while (!so->done) {
        if (so->count > 0) {
            std::pop_heap(so->buf, so->buf + so->count, result_greater);
            const IvfResult r = so->buf[--so->count];
            so->last = r;
            so->have_last = true;
            scan->xs_heaptid = r.tid;
            scan->xs_recheck = false;
            scan->xs_recheckorderby = false;
            MemoryContextSwitchTo(old);
            return true;
        }
        if (so->overflow) {
            grow_buffer(so);
            read_batch(scan, so);  // the same lists, after the last row handed out
            continue;
        }
        if (!next_batch(scan, so))
            so->done = true;
    }
    MemoryContextSwitchTo(old);
    return false;
}

void ivfflatendscan(IndexScanDesc scan)
{
    auto so = static_cast<IvfScanOpaque>(scan->opaque);
    MemoryContextDelete(so->ctx);
    pfree(so);
    scan->opaque = nullptr;
}

}  // namespace quiver::pg
