// hnsw index scans: ORDER BY col <op> query, closest first. One graph walk under the shared
// scan lock fills a batch of results (heap TIDs copied out), which gettuple then hands out
// without holding any lock or pin. Iterative scans resume the level-0 walk from the best
// candidates discarded so far when a batch runs out (hnsw.iterative_scan and its limits).
//
// Filter columns: the scan keys on them become a predicate (quiver/pg/filter_columns.h) that
// every element's payload is tested against. Two strategies (quiver.filter_strategy):
//   walk   the graph walk as above, but on level 0 an element the filter rejects is walked
//          through and never enters the result set, so the walk keeps going until it holds
//          ef_search matching elements (or has seen the whole graph), and the non-matching
//          elements keep the walk connected however few match, with no extra links. A filtered
//          scan goes on as an iterative scan (relaxed order) when the executor wants more rows
//          than a walk holds, whatever hnsw.iterative_scan says: k rows come back whenever k
//          rows match;
//   exact  every element page read in order, distances only for matching elements, the
//          closest kept in a bounded heap (hnswexact.cpp); exact results, used when few match.
// auto walks a probe's worth first (probe_size), then estimates from the share of matching
// elements it met how much more walking would take, and turns to exact when reading every
// page in order is predicted cheaper (exact_is_cheaper); also when a walk reaches its memory
// bound without ef_search matching elements.
#include "quiver/pg/hnsw.h"
#include "quiver/pg/filter_columns.h"

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

    // Filter keys.
    AmFilter *filter;   // NULL: no key restricts the scan
    bool recheck;       // some key is left to the executor
    bool exact;         // the exact strategy serves this scan
    bool exact_done;    // ... and has returned its last batch
    HnswExactHit last_hit;  // the last hit of the previous exact batch
    bool have_last_hit;
    int64 examined;     // elements read by exact batches
    int64 walked;       // elements the walks computed distances for, batches done
    int64 returned;     // heap TIDs handed out
    bool started;       // the scan has run (for EXPLAIN's report)

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

// Replaces the batch by `cands` (n candidates, closest first) with room for their heap TIDs,
// none copied yet.
void new_batch(HnswScanOpaque so, HnswCandidate *cands, int n)
{
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
        palloc(sizeof(ItemPointerData) * HNSW_HEAPTIDS * Max(n, 1)));
    so->batch_tid_counts = static_cast<uint8 *>(palloc0(Max(n, 1)));
}

// Copies the heap TIDs of the candidates into the batch (the elements may have changed since
// they were read: only the same, live occupant counts).
void materialize(HnswScanOpaque so, HnswCandidate *cands, int n)
{
    HnswSearch *s = so->search;
    new_batch(so, cands, n);
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

// Filtered walks: candidates the filter rejected and the walk did not expand would be lost
// when it stops; an iterative scan keeps them so the next batch can walk on from them too.
void keep_rejected(HnswSearch *s)
{
    if (s->filter == nullptr || s->discarded == nullptr)
        return;
    for (int i = 0; i < s->candidates.count; ++i)
        if (s->candidates.items[i].filtered_out)
            hnsw_minheap_push(s->discarded, s->candidates.items[i]);
    s->candidates.count = 0;
}

// auto: a filtered walk first visits this many elements (a probe), then estimates the share of
// matching elements around the query from what it saw.
uint32 probe_size(int ef) { return static_cast<uint32>(Max(2000, 50 * ef)); }

// Whether the exact strategy is cheaper than finishing the walk. The probe saw matching
// elements at rate r among the elements it visited near the query; the walk still needs
// ef - |W| of them, about (ef - |W|) / r more visits, and in all, with the visits it takes to
// converge, about 4.5 times that (measured on GloVe-100 at s = 1 % and 0.1 %, 200,000 rows).
// The exact strategy's cost goes with the index's pages (0.8 us a page of GloVe-100's ten
// elements, 0.44 us a page of Fashion-MNIST's two); a visit, a random page access, costs about
// twice a page of the exact pass (1 to 1.7 us).
bool exact_is_cheaper(const HnswSearch *s, int ef, BlockNumber pages)
{
    const double rate = (static_cast<double>(s->matched) + 1) / (static_cast<double>(s->visited_tuples) + 1);
    const double missing = Max(0, ef - s->results.count);
    const double walk_visits = 4.5 * missing / rate;
    return walk_visits * 2.0 > static_cast<double>(pages);
}

// Resumes a level-0 walk stopped by s->max_visited from its state (W and C).
void resume_walk(HnswSearch *s, int ef)
{
    const int n = s->results.count + s->candidates.count;
    auto *eps = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * Max(n, 1)));
    std::memcpy(eps, s->results.items, sizeof(HnswCandidate) * s->results.count);
    std::memcpy(eps + s->results.count, s->candidates.items,
                sizeof(HnswCandidate) * s->candidates.count);
    hnsw_search_layer(s, eps, n, ef, 0, false);
    pfree(eps);
}

// Elements a walk may visit before its memory (visited set, candidate heap: about 40 bytes
// each) would pass work_mem * hnsw.scan_mem_multiplier.
uint32 memory_walk_limit(HnswScanOpaque so)
{
    return static_cast<uint32>(Min(static_cast<double>(so->max_memory) / 40.0, 1e9));
}

// Next exact batch: the hits after the last one returned; false when there are none.
bool exact_batch(IndexScanDesc scan, HnswScanOpaque so)
{
    if (so->exact_done)
        return false;
    const int cap = Max(so->ef, static_cast<int>(Min(static_cast<Size>(10000),
                                                     so->max_memory / sizeof(HnswExactHit) / 2)));
    auto *hits = static_cast<HnswExactHit *>(palloc(sizeof(HnswExactHit) * cap));
    int n = hnsw_exact_search(scan->indexRelation, so->info, so->query, so->filter,
                              so->have_last_hit ? &so->last_hit : nullptr, cap, hits,
                              &so->examined);
    if (n < cap)
        so->exact_done = true;
    if (n > 0) {
        so->last_hit = hits[n - 1];
        so->have_last_hit = true;
    }
    new_batch(so, static_cast<HnswCandidate *>(palloc0(sizeof(HnswCandidate) * Max(n, 1))), n);
    for (int i = 0; i < n; ++i) {
        so->batch[i].distance = hits[i].distance;
        so->batch[i].tid = hits[i].tid;
        so->batch[i].heaptid_count = hits[i].heaptid_count;
        std::memcpy(so->batch_tids + i * HNSW_HEAPTIDS, hits[i].heaptids,
                    sizeof(ItemPointerData) * hits[i].heaptid_count);
        so->batch_tid_counts[i] = hits[i].heaptid_count;
    }
    pfree(hits);
    return n > 0;
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
    bool may_switch = false;  // auto: the exact strategy may take over
    bool to_exact = false;
    uint32 walk_limit = 0;
    if (so->filter != nullptr) {
        s->filter = so->filter;
        walk_limit = memory_walk_limit(so);
        s->max_visited = walk_limit;
        if (quiver_filter_strategy == AM_FILTER_AUTO) {
            s->max_visited = Min(walk_limit, probe_size(so->ef));
            may_switch = true;
        }
        // A filtered walk visits many times ef * m elements: size the visited set for that
        // from the start rather than rehashing it again and again.
        pfree(s->visited.slots);
        hnsw_visited_init(&s->visited, Min(s->max_visited, static_cast<uint32>(16384)));
    }
    if (so->mode != HNSW_ITERATIVE_SCAN_OFF || so->filter != nullptr) {
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
        auto stopped = [&] { return s->max_visited != 0 && s->visited.count >= s->max_visited; };
        if (may_switch && stopped() && s->max_visited < walk_limit) {
            // The probe ended: walk on, or leave the query to the exact strategy.
            if (s->results.count < so->ef &&
                exact_is_cheaper(s, so->ef, RelationGetNumberOfBlocks(index))) {
                to_exact = true;
            } else {
                s->max_visited = walk_limit;
                resume_walk(s, so->ef);
            }
        }
        // A walk that reached its memory bound without ef matching elements: exact as well.
        if (may_switch && !to_exact && stopped() && s->results.count < so->ef)
            to_exact = true;
        keep_rejected(s);
        n = hnsw_take_results(s, cands);
    }
    so->walked = s->visited_tuples;
    if (to_exact) {
        // Too few matches for the walk: the exact strategy answers instead (nothing has been
        // returned yet).
        hnsw_search_end(s);
        UnlockPage(index, HNSW_SCAN_LOCK, ShareLock);
        so->search = nullptr;
        so->exact = true;
        if (!exact_batch(scan, so))
            so->empty = true;
        return;
    }
    if (so->filter != nullptr)
        s->max_visited = 0;  // later batches are bounded like any iterative scan's
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
        keep_rejected(s);
        so->walked = s->visited_tuples;
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

// EXPLAIN ANALYZE's counts for this scan (once per run: at rescan or end).
void report(IndexScanDesc scan, HnswScanOpaque so)
{
    if (!so->started)
        return;
    so->started = false;
    const char *strategy = so->filter == nullptr ? "graph"
                           : !so->exact          ? "walk"
                           : so->walked > 0      ? "walk+exact"
                                                 : "exact";
    am_report_scan(scan->indexRelation, "hnsw", strategy, so->walked + so->examined, so->returned);
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
    report(scan, so);
    so->walked = 0;
    so->returned = 0;
    MemoryContextReset(so->ctx);
    so->first = true;
    so->empty = false;
    so->search = nullptr;
    so->batch = nullptr;
    so->batch_count = 0;
    so->batch_pos = 0;
    so->discarded.count = 0;
    so->filter = nullptr;
    so->recheck = false;
    so->exact = false;
    so->exact_done = false;
    so->have_last_hit = false;
    so->examined = 0;
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
        so->started = true;
        so->info = hnsw_index_info(scan->indexRelation);
        so->ef = hnsw_ef_search;
        so->mode = hnsw_iterative_scan;
        so->max_memory = static_cast<Size>(work_mem * hnsw_scan_mem_multiplier * 1024.0);
        so->last_distance = -get_float4_infinity();
        prepare_query(scan, so);
        bool never = false;
        so->filter = am_filter_from_keys(scan->indexRelation, scan->keyData, scan->numberOfKeys,
                                         &so->recheck, &never);
        if (never)
            so->empty = true;
        if (!so->empty) {
            if (so->filter != nullptr && quiver_filter_strategy == AM_FILTER_EXACT) {
                so->exact = true;
                if (!exact_batch(scan, so))
                    so->empty = true;
            } else {
                first_batch(scan, so);
            }
        }
    }

    while (!so->empty) {
        // More heap TIDs of the current candidate?
        if (so->batch_pos > 0) {
            int i = so->batch_pos - 1;
            if (so->tid_pos < so->batch_tid_counts[i]) {
                scan->xs_heaptid = so->batch_tids[i * HNSW_HEAPTIDS + so->tid_pos++];
                scan->xs_recheck = so->recheck;
                so->returned++;
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
        if (so->exact) {
            if (!exact_batch(scan, so))
                so->empty = true;
        } else if ((so->mode == HNSW_ITERATIVE_SCAN_OFF && so->filter == nullptr) ||
                   !next_batch(scan, so)) {
            so->empty = true;
        }
    }
    MemoryContextSwitchTo(old);
    return false;
}

void hnswendscan(IndexScanDesc scan)
{
    auto so = static_cast<HnswScanOpaque>(scan->opaque);
    report(scan, so);
    MemoryContextDelete(so->ctx);
    pfree(so);
    scan->opaque = nullptr;
}

}  // namespace quiver::pg
