// hnsw index scans: ORDER BY col <op> query, closest first. One graph walk under the shared
// scan lock fills a batch of results (heap TIDs copied out), which gettuple then hands out
// without holding any lock or pin. Iterative scans resume the level-0 walk from the best
// candidates discarded so far when a batch runs out (hnsw.iterative_scan and its limits).
#include "quiver/pg/hnsw.h"

extern "C" {
#include "access/relscan.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/float.h"
#include "utils/snapmgr.h"
}

#include <cstring>

namespace quiver::pg {
namespace {

struct HnswScanOpaqueData {
    MemoryContext ctx;  // everything of the current query; reset by rescan
    bool first;
    bool empty;         // no entry point or nothing more to return
    const HnswIndexInfo *info;
    const void *query;  // NULL: every distance is 0 (NULL query, zero vector under cosine)
    HnswSearch *search;
    HnswHeap discarded;
    int ef;
    int mode;           // hnsw_iterative_scan at the first call
    Size max_memory;

    // Current batch: candidates closest first, their heap TIDs.
    HnswCandidate *batch;
    ItemPointerData *batch_tids;  // HNSW_HEAPTIDS per candidate
    uint8 *batch_tid_counts;
    int batch_count;
    int batch_pos;    // next candidate
    int tid_pos;      // next heap TID of candidate batch_pos - 1
    float last_distance;
};
typedef HnswScanOpaqueData *HnswScanOpaque;

// Copies the heap TIDs of the candidates into the batch (the elements may have changed since
// they were read: only the same, live occupant counts).
void materialize(HnswScanOpaque so, HnswCandidate *cands, int n)
{
    HnswSearch *s = so->search;
    if (so->batch != nullptr) {
        pfree(so->batch);
        pfree(so->batch_tids);
        pfree(so->batch_tid_counts);
    }
    so->batch = cands;
    so->batch_count = n;
    so->batch_pos = 0;
    so->tid_pos = 0;
    so->batch_tids = static_cast<ItemPointerData *>(
        palloc(sizeof(ItemPointerData) * HNSW_HEAPTIDS * (n > 0 ? n : 1)));
    so->batch_tid_counts = static_cast<uint8 *>(palloc0(n > 0 ? n : 1));
    for (int i = 0; i < n; ++i) {
        const HnswCandidate &c = cands[i];
        if (c.heaptid_count == 0)
            continue;
        Buffer buf = am_cache_pin(&s->cache, s->index, ItemPointerGetBlockNumber(&c.tid));
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        HnswElementTuple etup =
            hnsw_get_element(BufferGetPage(buf), ItemPointerGetOffsetNumber(&c.tid));
        if (etup != nullptr && !etup->deleted && etup->version == c.version) {
            int k = Min(etup->heaptid_count, HNSW_HEAPTIDS);
            std::memcpy(so->batch_tids + i * HNSW_HEAPTIDS, etup->heaptids,
                        sizeof(ItemPointerData) * k);
            so->batch_tid_counts[i] = static_cast<uint8>(k);
        }
        UnlockReleaseBuffer(buf);
    }
}

// The first walk: greedy descent, then level 0 with ef_search.
void first_batch(IndexScanDesc scan, HnswScanOpaque so)
{
    Relation index = scan->indexRelation;
    const HnswIndexInfo *info = so->info;

    // Shared: VACUUM waits for walks in flight before it lets slots be reused.
    LockPage(index, HNSW_SCAN_LOCK, ShareLock);

    ItemPointerData entry;
    int entry_level;
    hnsw_read_entry(index, &entry, &entry_level, nullptr);
    if (!ItemPointerIsValid(&entry)) {
        UnlockPage(index, HNSW_SCAN_LOCK, ShareLock);
        so->empty = true;
        return;
    }

    HnswSearch *s = static_cast<HnswSearch *>(palloc(sizeof(HnswSearch)));
    hnsw_search_init(s, index, info, so->query, so->ef);
    so->search = s;
    if (so->mode != HNSW_ITERATIVE_SCAN_OFF) {
        hnsw_heap_init(&so->discarded, so->ef * 4);
        s->discarded = &so->discarded;
    }

    auto *cands = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * (so->ef + 1)));
    int n = 0;
    if (hnsw_load_candidate(s, &entry, &cands[0])) {
        n = 1;
        for (int l = entry_level; l >= 1; --l) {
            HnswHeap *keep = s->discarded;
            s->discarded = nullptr;  // only level 0 feeds the iterative scan
            hnsw_search_layer(s, cands, n, 1, l, true);
            s->discarded = keep;
            n = hnsw_take_results(s, cands);
        }
        hnsw_search_layer(s, cands, n, so->ef, 0, true);
        n = hnsw_take_results(s, cands);
    }
    materialize(so, cands, n);
    hnsw_search_end(s);
    UnlockPage(index, HNSW_SCAN_LOCK, ShareLock);
}

// Next batch of an iterative scan; false when there is nothing left.
bool next_batch(IndexScanDesc scan, HnswScanOpaque so)
{
    HnswSearch *s = so->search;
    if (s == nullptr || so->discarded.count == 0)
        return false;
    Relation index = scan->indexRelation;

    bool limited = s->visited_tuples >= hnsw_max_scan_tuples ||
                   MemoryContextMemAllocated(so->ctx, true) > so->max_memory;

    LockPage(index, HNSW_SCAN_LOCK, ShareLock);
    HnswCandidate *cands;
    int n;
    if (limited) {
        // No more walking: hand out what was already seen, closest first, one at a time.
        cands = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate)));
        cands[0] = hnsw_minheap_pop(&so->discarded);
        n = 1;
    } else {
        int ef = so->ef;
        auto *eps = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * ef));
        int neps = 0;
        while (neps < ef && so->discarded.count > 0)
            eps[neps++] = hnsw_minheap_pop(&so->discarded);
        hnsw_search_layer(s, eps, neps, ef, 0, false);
        pfree(eps);
        cands = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * (ef + 1)));
        n = hnsw_take_results(s, cands);
    }
    materialize(so, cands, n);
    hnsw_search_end(s);
    UnlockPage(index, HNSW_SCAN_LOCK, ShareLock);
    return true;
}

void prepare_query(IndexScanDesc scan, HnswScanOpaque so)
{
    so->query = nullptr;
    ScanKey key = scan->orderByData;
    if (key->sk_flags & SK_ISNULL)
        return;
    Size code_len;
    uint32 dim;
    void *code = am_value_code(so->info->opclass, key->sk_argument, &code_len, &dim, true);
    if (code == nullptr)
        return;  // zero vector under cosine: every distance is 0, as pgvector
    if (dim != so->info->dimensions) {
        // Only an error when there is something to compare with (pgvector raises it from the
        // distance function, which an empty index never calls).
        ItemPointerData entry;
        int entry_level;
        hnsw_read_entry(scan->indexRelation, &entry, &entry_level, nullptr);
        if (ItemPointerIsValid(&entry))
            am_check_dimensions(so->info->opclass, dim, so->info->dimensions);
        so->empty = true;
        return;
    }
    so->query = code;
}

}  // namespace

IndexScanDesc hnswbeginscan(Relation index, int nkeys, int norderbys)
{
    IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
    auto so = static_cast<HnswScanOpaque>(palloc0(sizeof(HnswScanOpaqueData)));
    so->ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw scan", ALLOCSET_DEFAULT_SIZES);
    so->first = true;
    so->info = nullptr;  // read at the first gettuple, into the per-query context
    scan->opaque = so;
    return scan;
}

void hnswrescan(IndexScanDesc scan, ScanKey keys, int, ScanKey orderbys, int)
{
    auto so = static_cast<HnswScanOpaque>(scan->opaque);
    MemoryContextReset(so->ctx);
    so->first = true;
    so->empty = false;
    so->search = nullptr;
    so->batch = nullptr;
    so->batch_count = 0;
    so->batch_pos = 0;
    so->discarded.count = 0;
    if (keys && scan->numberOfKeys > 0)
        std::memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
    if (orderbys && scan->numberOfOrderBys > 0)
        std::memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
}

bool hnswgettuple(IndexScanDesc scan, ScanDirection)
{
    auto so = static_cast<HnswScanOpaque>(scan->opaque);
    MemoryContext old = MemoryContextSwitchTo(so->ctx);

    if (so->first) {
        pgstat_count_index_scan(scan->indexRelation);
        if (scan->orderByData == nullptr)
            elog(ERROR, "cannot scan hnsw index without order");
        // Heap TIDs are handed out after the page locks are gone: only an MVCC snapshot
        // makes that safe (see the index-locking chapter of the PostgreSQL docs).
        if (!IsMVCCSnapshot(scan->xs_snapshot))
            elog(ERROR, "non-MVCC snapshots are not supported with hnsw");
        so->first = false;
        so->info = hnsw_index_info(scan->indexRelation);
        so->ef = hnsw_ef_search;
        so->mode = hnsw_iterative_scan;
        so->max_memory = static_cast<Size>(work_mem * hnsw_scan_mem_multiplier * 1024.0);
        so->last_distance = -get_float4_infinity();
        prepare_query(scan, so);
        if (!so->empty)
            first_batch(scan, so);
    }

    while (!so->empty) {
        // More heap TIDs of the current candidate?
        if (so->batch_pos > 0) {
            int i = so->batch_pos - 1;
            if (so->tid_pos < so->batch_tid_counts[i]) {
                scan->xs_heaptid = so->batch_tids[i * HNSW_HEAPTIDS + so->tid_pos++];
                scan->xs_recheck = false;
                scan->xs_recheckorderby = false;
                MemoryContextSwitchTo(old);
                return true;
            }
        }
        if (so->batch_pos < so->batch_count) {
            const HnswCandidate &c = so->batch[so->batch_pos++];
            so->tid_pos = 0;
            if (so->mode == HNSW_ITERATIVE_SCAN_STRICT && so->batch_tid_counts[so->batch_pos - 1] > 0) {
                if (c.distance < so->last_distance) {
                    so->batch_tid_counts[so->batch_pos - 1] = 0;  // out of order: dropped
                    continue;
                }
                so->last_distance = c.distance;
            }
            continue;
        }
        if (so->mode == HNSW_ITERATIVE_SCAN_OFF || !next_batch(scan, so))
            so->empty = true;
    }
    MemoryContextSwitchTo(old);
    return false;
}

void hnswendscan(IndexScanDesc scan)
{
    auto so = static_cast<HnswScanOpaque>(scan->opaque);
    MemoryContextDelete(so->ctx);
    pfree(so);
    scan->opaque = nullptr;
}

}  // namespace quiver::pg
