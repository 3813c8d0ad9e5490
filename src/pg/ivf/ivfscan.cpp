// ivfflat scans: ORDER BY col <op> query, closest first among the probed lists. The lists are
// ranked by their centroid's distance; a batch probes the next `probes` of them, computes every
// entry's distance page by page (one batch kernel call per page; with 4-bit PQ codes in
// fast-scan blocks, one kernel call per block of 32 against the list's byte tables) and keeps the closest in a
// bounded buffer, handed out in (distance, heap TID) order. When the buffer had to drop entries
// and the consumer wants more rows, the same lists are read again for what comes after the last
// row handed out, with a buffer four times larger, up to work_mem. The buffer starts small
// because the index is not told the LIMIT and most queries take a few rows: a full buffer
// rejects most entries with one comparison, where keeping every entry of the probed lists cost
// a third of the scan; memory stays bounded however long the lists are. With ivfflat.iterative_scan = relaxed_order,
// an exhausted batch moves on to the next lists (up to ivfflat.max_probes), so filtered queries
// still get their rows; the order is exact within a batch, relaxed across batches.
//
// Filter columns: the scan keys on them become a predicate tested on each entry's payload
// before its distance is computed; entries that fail it are skipped. A filtered batch reads
// further lists (nearest first) beyond `probes` until it holds as many matching entries as its
// first `probes` lists held entries (and at least kFilteredBatchRows): the matches it ranks then
// reach as far out among the rows that match as an unfiltered scan reaches among all rows, so
// recall stays that of `probes` whatever the selectivity s (about probes / s lists are read,
// skipping the entries that fail at the cost of a payload test); a LIMIT up to the batch comes
// out of it in exact order. A filtered scan moves on to the next lists whenever its batch runs
// out, whatever ivfflat.iterative_scan says, so it returns k rows whenever k rows match
// (relaxed order across batches).
#include "quiver/pg/ivf.h"
#include "quiver/pg/filter_columns.h"
#include "quiver/pg/types.h"

extern "C" {
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

#include "quiver/core/kernels.h"
#include "quiver/core/quant/fastscan.h"
#include "quiver/core/quant/pq.h"
#include "quiver/core/quant/quantizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace quiver::pg {
namespace {

constexpr uint32 kInitialCapacity = 256;  // results kept by a scan's first pass over its lists
constexpr int64 kFilteredBatchRows = 100;  // matching entries a filtered batch reads lists for

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
    IvfResult last;       // re-reads of the batch's lists take only what comes after this
    IvfResult group_max;  // the largest entry the buffer kept (by the lists' distances)

    // ivf with sq8 / pq: distances on the codes, then the best `rerank` re-ranked exactly.
    IvfQuantizer *quantizer;
    const void *query_code;  // the query as the opclass codes values (exact distances)
    float *query_floats;
    float *work;             // scratch: dimensions floats (residual query, centroid)
    float list_offset;       // added to every code distance of the list being read
    uint32 rerank;           // 0: hand out in code-distance order

    // Fast-scan layout: the float ADC tables of the current list and their byte quantization.
    const quiver::core::quant::ProductQuantizer *pq;  // NULL unless the lists hold blocks
    float *fs_tables;
    uint8 *fs_lut;
    quiver::core::quant::FastScanScale fs_scale;

    AmBufferCache cache;     // buffer hints: entry pages are pinned without a hash lookup
    const void **code_ptrs;  // scratch: codes of one page
    ItemPointerData *page_tids;
    float *page_dist;

    // Filter keys.
    AmFilter *filter;   // NULL: no key restricts the scan
    bool recheck;       // some key is left to the executor
    bool started;       // the scan has run (for EXPLAIN's report)
    int64 examined;     // entries read
    int64 matched;      // entries of the current batch that passed the filter
    int64 returned;     // heap TIDs handed out
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

// The fast-scan tables for query (or residual query) x: float ADC tables, then bytes.
void prepare_fastscan(IvfScanOpaque so, const float *x)
{
    so->pq->compute_distance_tables(x, ivf_code_metric(so->info), so->fs_tables);
    so->fs_scale = quiver::core::quant::fastscan_quantize_lut(so->fs_tables, so->pq->m(), so->fs_lut);
}

// Offers the entries of a page of fast-scan blocks, with their approximate code distances (0
// without a query). Under the page's share lock: most entries are turned away by one comparison
// with the buffer's largest once it is full, so nothing is copied out first.
void read_block_page(IndexScanDesc scan, IvfScanOpaque so, Page page, BlockNumber blkno)
{
    const IvfIndexInfo *info = so->info;
    uint16 sums[IVF_BLOCK_ENTRIES];
    const float inv_scale = 1.0f / so->fs_scale.scale;
    const float base = so->fs_scale.bias + so->list_offset;
    const OffsetNumber max = PageGetMaxOffsetNumber(page);
    for (OffsetNumber off = max; off >= FirstOffsetNumber; --off) {
        IvfBlock block = ivf_page_block(scan->indexRelation, info, page, blkno, off);
        so->examined += block->count;
        if (so->query == nullptr) {
            for (int i = 0; i < block->count; ++i)
                offer(so, IvfResult{0.0f, block->heaptids[i]});
            continue;
        }
        quiver::core::quant::fastscan_scan(block->codes, 1, info->pq_m, so->fs_lut, sums);
        for (int i = 0; i < block->count; ++i) {
            const float d = base + static_cast<float>(sums[i]) * inv_scale;
            // Farther than everything a full buffer holds: what offer() would decide, sooner.
            // (The buffer only holds entries after the last one handed out, so this one is
            // not handed out yet and the buffer overflows.)
            if (so->count == so->capacity && d > so->buf[0].distance) {
                so->overflow = true;
                continue;
            }
            offer(so, IvfResult{d, block->heaptids[i]});
        }
    }
}

// pq, bit: the code distances of a list are relative to its centroid c (codes hold residuals):
// L2 (and cosine, see ivf_code_metric) prepares q - c; inner product prepares q once, adds -q.c.
void prepare_list(IndexScanDesc scan, IvfScanOpaque so, uint32 list)
{
    const IvfIndexInfo *info = so->info;
    so->list_offset = 0;
    if (so->quantizer == nullptr || so->query == nullptr || !ivf_codes_residual(info->quantizer))
        return;
    ivf_read_centroid(scan->indexRelation, info, list, so->work);
    if (ivf_code_metric(info) == quiver::core::Metric::l2sq) {
        for (uint32 i = 0; i < info->dimensions; ++i)
            so->work[i] = so->query_floats[i] - so->work[i];
        if (so->pq != nullptr)
            prepare_fastscan(so, so->work);
        else
            so->quantizer->dist->prepare(so->work);
    } else {
        so->list_offset = -quiver::core::kernels().dot_f32(so->query_floats, so->work, info->dimensions);
    }
}

void read_list(IndexScanDesc scan, IvfScanOpaque so, uint32 list)
{
    prepare_list(scan, so, list);
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
        if (info->entry_layout == IVF_LAYOUT_FASTSCAN) {
            read_block_page(scan, so, page, blkno);
            blkno = IvfPageGetOpaque(page)->next;
            UnlockReleaseBuffer(buf);
            CHECK_FOR_INTERRUPTS();
            continue;
        }
        OffsetNumber max = PageGetMaxOffsetNumber(page);
        int n = 0;
        const Size fixed = offsetof(IvfEntryData, code) + info->code_len;
        // Last item first: PageAddItem fills a page from its end, so this reads memory upwards.
        for (OffsetNumber off = max; off >= FirstOffsetNumber; --off) {
            ItemId iid = PageGetItemId(page, off);
            if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) < fixed)
                continue;
            IvfEntry e = reinterpret_cast<IvfEntry>(PageGetItem(page, iid));
            so->examined++;
            if (so->filter != nullptr) {
                Size payload_len;
                const uint8 *payload = ivf_entry_payload(info, e, ItemIdGetLength(iid), &payload_len);
                if (!am_filter_matches(so->filter, payload, payload_len))
                    continue;
            }
            so->matched++;
            so->code_ptrs[n] = e->code;
            so->page_tids[n] = e->heaptid;
            ++n;
        }
        if (so->query == nullptr) {
            std::memset(so->page_dist, 0, sizeof(float) * n);
        } else if (so->quantizer == nullptr) {
            info->dc.batch(info->dc, so->query, so->code_ptrs, n, so->page_dist);
        } else {
            so->quantizer->dist->distances(reinterpret_cast<const uint8 *const *>(so->code_ptrs), n,
                                           so->page_dist);
            if (so->list_offset != 0)
                for (int i = 0; i < n; ++i)
                    so->page_dist[i] += so->list_offset;
        }
        blkno = IvfPageGetOpaque(page)->next;
        UnlockReleaseBuffer(buf);
        for (int i = 0; i < n; ++i)
            offer(so, IvfResult{so->page_dist[i], so->page_tids[i]});
        CHECK_FOR_INTERRUPTS();
    }
}

// The exact distance from the query to a row's value as the index ranks values; false when the
// index would not hold the value (a zero vector under cosine, other dimensions). A vector is
// read in place (under cosine its norm divides the inner product with the unit query); other
// types, and norms a float cannot hold, go through the opclass's code.
bool exact_distance(const IvfScanOpaque so, Datum value, float *out)
{
    const IvfIndexInfo *info = so->info;
    if (info->representation == quiver::core::Representation::f32) {
        Vector *v = DatumGetVector(value);
        if (static_cast<uint32>(v->dim) != info->dimensions)
            return false;
        if (!info->opclass->normalize) {
            *out = info->exact(so->query_code, v->x);
            return true;
        }
        const auto &k = quiver::core::kernels();
        const float norm_sq = k.norm_sq_f32(v->x, info->dimensions);
        if (norm_sq > 0 && std::isfinite(norm_sq)) {
            *out = -k.dot_f32(static_cast<const float *>(so->query_code), v->x, info->dimensions) /
                   std::sqrt(norm_sq);
            return true;
        }
    }
    Size len;
    uint32 dim;
    void *code = am_value_code(info->opclass, value, &len, &dim, true);
    if (code == nullptr || dim != info->dimensions)
        return false;
    *out = info->exact(so->query_code, code);
    return true;
}

// The exact distance of each buffered entry, from its row in the table: rows no longer
// visible to the scan's snapshot are dropped (the executor would drop them too).
void rerank_buffer(IndexScanDesc scan, IvfScanOpaque so)
{
    Relation index = scan->indexRelation;
    Relation heap = scan->heapRelation;
    MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "ivf rerank", ALLOCSET_SMALL_SIZES);
    IndexFetchTableData *fetch = table_index_fetch_begin(heap);
    TupleTableSlot *slot = table_slot_create(heap, nullptr);
    AttrNumber attnum = index->rd_index->indkey.values[0];
    IndexInfo *ii = nullptr;
    EState *estate = nullptr;
    if (attnum == 0) {  // an expression index: evaluate the expression on the row
        ii = BuildIndexInfo(index);
        estate = CreateExecutorState();
        GetPerTupleExprContext(estate)->ecxt_scantuple = slot;
    }
    uint32 kept = 0;
    for (uint32 i = 0; i < so->count; ++i) {
        ItemPointerData tid = so->buf[i].tid;
        bool call_again = false, all_dead = false;
        if (!table_index_fetch_tuple(fetch, &tid, scan->xs_snapshot, slot, &call_again, &all_dead))
            continue;
        MemoryContext old = MemoryContextSwitchTo(tmp);
        Datum value;
        bool isnull;
        if (attnum != 0) {
            value = slot_getattr(slot, attnum, &isnull);
        } else {
            Datum values[INDEX_MAX_KEYS];
            bool nulls[INDEX_MAX_KEYS];
            FormIndexDatum(ii, slot, estate, values, nulls);
            value = values[0];
            isnull = nulls[0];
        }
        float distance;
        if (!isnull && exact_distance(so, value, &distance))
            so->buf[kept++] = IvfResult{distance, so->buf[i].tid};
        MemoryContextSwitchTo(old);
        MemoryContextReset(tmp);
        if (estate != nullptr)
            ResetExprContext(GetPerTupleExprContext(estate));
        ExecClearTuple(slot);
    }
    so->count = kept;
    if (estate != nullptr)
        FreeExecutorState(estate);
    ExecDropSingleTupleTableSlot(slot);
    table_index_fetch_end(fetch);
    MemoryContextDelete(tmp);
}

// Reads lists [batch_first, next_list) into the buffer (re-ranked when asked) and arranges it
// as a min-heap.
void read_batch(IndexScanDesc scan, IvfScanOpaque so)
{
    so->count = 0;
    so->overflow = false;
    so->matched = 0;
    const int64 examined_before = so->examined;
    for (uint32 i = so->batch_first; i < so->next_list; ++i)
        read_list(scan, so, so->ranked[i].list);
    // A filtered batch's first read takes in further lists until it holds enough matches (a
    // re-read of the batch covers the same lists).
    if (so->filter != nullptr && !so->have_last) {
        const int64 target = Max(kFilteredBatchRows, so->examined - examined_before);
        while (so->matched < target && so->next_list < so->info->lists)
            read_list(scan, so, so->ranked[so->next_list++].list);
    }
    if (so->overflow)  // a full buffer is a max-heap: its top is what a re-read continues after
        so->group_max = so->buf[0];
    if (so->rerank > 0 && so->query != nullptr)
        rerank_buffer(scan, so);
    std::make_heap(so->buf, so->buf + so->count, result_greater);
}

// The next batch of lists; false when the scan may not probe further.
bool next_batch(IndexScanDesc scan, IvfScanOpaque so)
{
    const uint32 lists = so->info->lists;
    uint32 limit = lists;
    if (so->mode != IVF_ITERATIVE_SCAN_OFF && so->filter == nullptr)
        limit = Min(lists, static_cast<uint32>(Max(so->max_probes, so->probes)));
    if (so->next_list >= limit ||
        (so->mode == IVF_ITERATIVE_SCAN_OFF && so->filter == nullptr && so->next_list > 0))
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
    uint32 need = so->filter != nullptr
                      ? info->lists
                      : Min(info->lists, static_cast<uint32>(Max(so->probes, so->mode != IVF_ITERATIVE_SCAN_OFF ? so->max_probes : 0)));
    auto by_distance = [](const IvfListRank &a, const IvfListRank &b) {
        return a.distance != b.distance ? a.distance < b.distance : a.list < b.list;
    };
    std::partial_sort(so->ranked, so->ranked + need, so->ranked + info->lists, by_distance);
    pfree(dist);
}

void prepare_query(IndexScanDesc scan, IvfScanOpaque so)
{
    const IvfIndexInfo *info = so->info;
    so->query = nullptr;
    if (scan->orderByData->sk_flags & SK_ISNULL)
        return;
    Size code_len;
    uint32 dim;
    void *code = am_value_code(info->opclass, scan->orderByData->sk_argument, &code_len, &dim, true);
    if (code == nullptr)
        return;  // zero vector under cosine: no order, as pgvector
    am_check_dimensions(info->opclass, dim, info->dimensions);
    so->query_code = code;
    if (info->quantizer == IVF_QUANTIZER_FLAT) {
        so->query = code;
        return;
    }
    // Quantized: centroids and codes are compared with the query as floats.
    so->query_floats = static_cast<float *>(palloc(sizeof(float) * info->dimensions));
    so->work = static_cast<float *>(palloc(sizeof(float) * info->dimensions));
    ivf_value_floats(info, code, so->query_floats);
    so->query = so->query_floats;
    so->quantizer = ivf_open_quantizer(scan->indexRelation, info);
    if (info->entry_layout == IVF_LAYOUT_FASTSCAN) {
        so->pq = static_cast<const quiver::core::quant::ProductQuantizer *>(so->quantizer->quant);
        so->fs_tables = static_cast<float *>(palloc(sizeof(float) * 16 * info->pq_m));
        so->fs_lut = static_cast<uint8 *>(palloc(quiver::core::quant::fastscan_lut_bytes(info->pq_m)));
        if (ivf_code_metric(info) != quiver::core::Metric::l2sq)
            prepare_fastscan(so, so->query_floats);  // inner product: one table for all lists
        return;
    }
    so->quantizer->dist->prepare(so->query_floats);  // sq8, and pq under inner product
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
    const bool ivf = ivf_is_quantized_am(scan->indexRelation);
    so->probes = ivf ? ivf_probes : ivfflat_probes;
    so->max_probes = ivf ? ivf_max_probes : ivfflat_max_probes;
    so->mode = ivf ? ivf_iterative_scan : ivfflat_iterative_scan;
    so->rerank = 0;
    bool never = false;
    so->filter = am_filter_from_keys(scan->indexRelation, scan->keyData, scan->numberOfKeys,
                                     &so->recheck, &never);
    if (never) {
        so->done = true;
        return;
    }
    if (so->info->quantizer != IVF_QUANTIZER_FLAT)
        so->rerank = static_cast<uint32>(ivf_rerank >= 0 ? ivf_rerank : static_cast<int>(so->info->rerank));
    prepare_query(scan, so);
    // The buffer: at most work_mem worth of results (at least a page's worth).
    Size cap = static_cast<Size>(work_mem) * 1024 / sizeof(IvfResult);
    so->max_capacity = static_cast<uint32>(Max(Min(cap, static_cast<Size>(MaxAllocSize / sizeof(IvfResult))),
                                               static_cast<Size>(MaxHeapTuplesPerPage)));
    // Re-ranking keeps exactly `rerank` entries a round (fewer when work_mem holds fewer).
    so->capacity = Min(so->max_capacity, so->rerank > 0 ? so->rerank : static_cast<uint32>(kInitialCapacity));
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

// EXPLAIN ANALYZE's counts for this scan (once per run: at rescan or end).
void report(IndexScanDesc scan, IvfScanOpaque so)
{
    if (!so->started)
        return;
    so->started = false;
    am_report_scan(scan->indexRelation, ivf_is_quantized_am(scan->indexRelation) ? "ivf" : "ivfflat",
                   so->filter != nullptr ? "lists+filter" : "lists", so->examined, so->returned);
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
    report(scan, so);
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
        so->started = true;
        start_scan(scan, so);
    }
    while (!so->done) {
        if (so->count > 0) {
            std::pop_heap(so->buf, so->buf + so->count, result_greater);
            const IvfResult r = so->buf[--so->count];
            scan->xs_heaptid = r.tid;
            scan->xs_recheck = so->recheck;
            so->returned++;
            scan->xs_recheckorderby = false;
            MemoryContextSwitchTo(old);
            return true;
        }
        if (so->overflow) {
            // The same lists again, for what comes after the entries handed out.
            so->last = so->group_max;
            so->have_last = true;
            if (so->rerank == 0)
                grow_buffer(so);
            read_batch(scan, so);
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
    report(scan, so);
    MemoryContextDelete(so->ctx);
    pfree(so);
    scan->opaque = nullptr;
}

}  // namespace quiver::pg
