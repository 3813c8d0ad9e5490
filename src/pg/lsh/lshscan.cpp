// lsh scans: ORDER BY col <op> query. A round probes, in every table, the query's next buckets
// in multi-probe order (the first round: `probes` of them, lsh.probes or the index's option);
// the rows of those buckets not seen before are the round's candidates, ranked by exact
// distance on their entries (read page by page in block order) and handed out closest first.
// Without a filter and without lsh.iterative_scan, the first round is all there is. With
// lsh.iterative_scan = relaxed_order, and always with a filter, the scan goes on with rounds
// of twice the probes, up to lsh.max_probes per table; when the buckets run out (or the rows
// seen exceed work_mem, or a filtered scan has seen a tenth of the index under
// quiver.filter_strategy = auto), a last pass reads every entry not seen yet, in chunks of
// work_mem, so k rows come back whenever k rows match. The order is exact within a batch,
// relaxed across batches.
// Filters (scan keys on filter columns) are tested on each candidate's payload before its
// distance; a filtered scan's first batch keeps probing until it holds as many matching rows
// as its first round had candidates (see fill_filtered_batch), so selective filters keep the
// recall of `probes`. quiver.filter_strategy = exact skips the probes: one exact pass over the
// matching entries.
#include "quiver/pg/lsh.h"
#include "quiver/pg/filter_columns.h"

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

constexpr int64 kFilteredBatchRows = 100;  // matching rows a filtered first batch collects at least

struct LshResult {
    float distance;
    ItemPointerData tid;
};

// (distance, heap TID) order: a strict total order.
inline bool result_less(const LshResult &a, const LshResult &b)
{
    if (a.distance != b.distance)
        return a.distance < b.distance;
    const BlockNumber ab = ItemPointerGetBlockNumberNoCheck(&a.tid);
    const BlockNumber bb = ItemPointerGetBlockNumberNoCheck(&b.tid);
    if (ab != bb)
        return ab < bb;
    return ItemPointerGetOffsetNumberNoCheck(&a.tid) < ItemPointerGetOffsetNumberNoCheck(&b.tid);
}


struct ChainStep {
    BlockNumber block;
    OffsetNumber offset;
    uint16 tag;
    uint32 number;
};

enum Phase { PROBING, EXHAUSTIVE, FINISHED };

struct LshScanOpaqueData {
    MemoryContext ctx;  // everything of the current query; reset by rescan
    bool first;
    bool started;
    const LshIndexInfo *info;
    const void *query;  // the query's code; NULL: every distance is 0
    LshFamilyHandle *family;
    const void *hash_input;
    float *work;
    Phase phase;
    bool continue_rounds;  // past the first round (iterative or filtered)
    bool auto_switch;      // filtered, strategy auto: exhaustive after a tenth of the index
    uint32 probed;         // buckets per table probed so far
    uint32 round_probes;   // the next round's probes per table
    uint32 max_probes;
    double index_entries;  // pg_class.reltuples of the index (0: unknown)

    // Rows seen (entry refs), an open-addressing set: no row is ranked twice.
    uint64 *seen;
    Size seen_count;
    Size seen_mask;
    Size max_seen;
    bool seen_full;

    BlockNumber next_block;  // exhaustive pass: next block to read
    LshResult *results;  // the batch: [0, next) handed out, [next, sorted_end) in order
    Size count;
    Size next;
    Size sorted_end;
    Size capacity;

    AmFilter *filter;
    bool recheck;
    AmBufferCache cache;
    uint64 *sort_work;  // scratch of sort_by_block
    Size sort_work_len;
    const void **codes;
    ItemPointerData *tids;
    float *dist;

    int64 buckets;
    int64 candidates;  // entries read (before the filter)
    int64 ranked;      // entries whose distance was computed (EXPLAIN's "re-ranked")
    int64 returned;
};
typedef LshScanOpaqueData *LshScanOpaque;

// ---- the seen set ---------------------------------------------------------------------------------

inline Size hash_ref(uint64 r)
{
    r ^= r >> 33;
    r *= 0xFF51AFD7ED558CCDULL;
    r ^= r >> 33;
    return static_cast<Size>(r);
}

// Adds r; false when it was there already. Keys are never 0 (offsets start at 1).
bool seen_add(LshScanOpaque so, uint64 r)
{
    Size i = hash_ref(r) & so->seen_mask;
    while (so->seen[i] != 0) {
        if (so->seen[i] == r)
            return false;
        i = (i + 1) & so->seen_mask;
    }
    so->seen[i] = r;
    so->seen_count++;
    return true;
}

bool seen_has(const LshScanOpaque so, uint64 r)
{
    if (so->seen == nullptr)
        return false;
    Size i = hash_ref(r) & so->seen_mask;
    while (so->seen[i] != 0) {
        if (so->seen[i] == r)
            return true;
        i = (i + 1) & so->seen_mask;
    }
    return false;
}

// Room for `more` rows at a load of at most a half; false when work_mem does not allow it.
bool seen_reserve(LshScanOpaque so, Size more)
{
    Size need = so->seen_count + more;
    if (need > so->max_seen)
        return false;
    if (so->seen != nullptr && need * 2 <= so->seen_mask + 1)
        return true;
    Size size = 1024;
    while (size < need * 2)
        size *= 2;
    uint64 *old = so->seen;
    const Size old_size = old != nullptr ? so->seen_mask + 1 : 0;
    so->seen = static_cast<uint64 *>(MemoryContextAllocHuge(so->ctx, sizeof(uint64) * size));
    std::memset(so->seen, 0, sizeof(uint64) * size);
    so->seen_mask = size - 1;
    so->seen_count = 0;
    for (Size i = 0; i < old_size; ++i)
        if (old[i] != 0)
            seen_add(so, old[i]);
    if (old != nullptr)
        pfree(old);
    return true;
}

// ---- ranking entries ----------------------------------------------------------------------------

void add_result(LshScanOpaque so, float distance, ItemPointerData tid)
{
    if (so->count == so->capacity) {
        so->capacity *= 2;
        so->results = static_cast<LshResult *>(repalloc_huge(so->results, sizeof(LshResult) * so->capacity));
    }
    so->results[so->count++] = LshResult{distance, tid};
}

// Ranks the entries at `offsets` of entry page `blkno` (the ones that pass the filter).
void rank_page(IndexScanDesc scan, LshScanOpaque so, BlockNumber blkno, const OffsetNumber *offsets, int n,
               Page page)
{
    const LshIndexInfo *info = so->info;
    const OffsetNumber max = PageGetMaxOffsetNumber(page);
    int m = 0;
    for (int i = 0; i < n; ++i) {
        const OffsetNumber off = offsets[i];
        if (off < FirstOffsetNumber || off > max)
            continue;  // removed by VACUUM since the posting was read
        ItemId iid = PageGetItemId(page, off);
        if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) < offsetof(LshEntryData, code) + info->code_len)
            continue;
        auto *e = reinterpret_cast<LshEntry>(PageGetItem(page, iid));
        so->candidates++;
        if (so->filter != nullptr) {
            Size payload_len;
            const uint8 *payload = lsh_entry_payload(info, e, ItemIdGetLength(iid), &payload_len);
            if (!am_filter_matches(so->filter, payload, payload_len))
                continue;
        }
        so->codes[m] = e->code;
        so->tids[m] = e->heaptid;
        ++m;
    }
    (void) scan;
    (void) blkno;
    if (m == 0)
        return;
    so->ranked += m;
    if (so->query != nullptr)
        info->exact.batch(info->exact, so->query, so->codes, static_cast<std::size_t>(m), so->dist);
    else
        std::memset(so->dist, 0, sizeof(float) * m);
    for (int i = 0; i < m; ++i)
        add_result(so, so->dist[i], so->tids[i]);
}

// Ranks the candidates (entry refs, sorted): one page at a time.
void rank_candidates(IndexScanDesc scan, LshScanOpaque so, const uint64 *cands, Size n)
{
    auto *offsets = static_cast<OffsetNumber *>(palloc(sizeof(OffsetNumber) * MaxOffsetNumber));
    Size i = 0;
    while (i < n) {
        const BlockNumber blkno = static_cast<BlockNumber>(cands[i] >> 16);
        int m = 0;
        while (i < n && static_cast<BlockNumber>(cands[i] >> 16) == blkno) {
            if (m < MaxOffsetNumber)
                offsets[m++] = static_cast<OffsetNumber>(cands[i] & 0xFFFF);
            ++i;
        }
        Buffer buf = am_cache_pin(&so->cache, scan->indexRelation, blkno);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        lsh_check_page(scan->indexRelation, page, blkno, LSH_PAGE_ENTRY);
        rank_page(scan, so, blkno, offsets, m, page);
        UnlockReleaseBuffer(buf);
        CHECK_FOR_INTERRUPTS();
    }
    pfree(offsets);
}

// The batch is handed out in order without sorting all of it: its next kSortedRun best are
// selected (nth_element, linear) and sorted when the consumer reaches them, so a LIMIT 10
// query pays for one selection and a sort of kSortedRun results, not for ordering thousands
// of candidates.
constexpr Size kSortedRun = 32;

void sort_results(LshScanOpaque so)
{
    so->next = 0;
    so->sorted_end = 0;
}

// Orders the next run of results if the consumer has reached the end of the sorted ones.
void sort_next_run(LshScanOpaque so)
{
    if (so->next < so->sorted_end)
        return;
    LshResult *first = so->results + so->next;
    LshResult *last = so->results + so->count;
    LshResult *run_end = last - first > static_cast<std::ptrdiff_t>(kSortedRun) ? first + kSortedRun : last;
    auto less = [](const LshResult &a, const LshResult &b) { return result_less(a, b); };  // inlined
    if (run_end != last)
        std::nth_element(first, run_end, last, less);
    std::sort(first, run_end, less);
    so->sorted_end = static_cast<Size>(run_end - so->results);
}

// Puts entry refs in block order (offsets within a block stay as they come): a counting sort
// by block when the refs span few blocks, which they do (an index of N rows has about N / 100
// entry pages), else a plain sort.
void sort_by_block(uint64 *refs, Size n, uint64 **work, Size *work_len)
{
    if (n < 64) {
        std::sort(refs, refs + n);
        return;
    }
    BlockNumber lo = InvalidBlockNumber, hi = 0;
    for (Size i = 0; i < n; ++i) {
        const BlockNumber b = static_cast<BlockNumber>(refs[i] >> 16);
        lo = std::min(lo, b);
        hi = std::max(hi, b);
    }
    const Size span = static_cast<Size>(hi - lo) + 1;
    if (span > 4 * n) {
        std::sort(refs, refs + n);
        return;
    }
    if (*work_len < n) {
        if (*work != nullptr)
            pfree(*work);
        *work = static_cast<uint64 *>(MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * n));
        *work_len = n;
    }
    auto *start = static_cast<uint32 *>(palloc0(sizeof(uint32) * (span + 1)));
    for (Size i = 0; i < n; ++i)
        start[(refs[i] >> 16) - lo + 1]++;
    for (Size b = 0; b < span; ++b)
        start[b + 1] += start[b];
    for (Size i = 0; i < n; ++i)
        (*work)[start[(refs[i] >> 16) - lo]++] = refs[i];
    std::memcpy(refs, *work, sizeof(uint64) * n);
    pfree(start);
}

// ---- probing ---------------------------------------------------------------------------------------

// The buckets of probes [probed, probed + round) in every table: their rows not seen yet become
// candidates, ranked into results. False when no table had a bucket left to probe.
bool probe_round(IndexScanDesc scan, LshScanOpaque so, bool append)
{
    const LshIndexInfo *info = so->info;
    const uint32 lo = so->probed;
    // A round's bookkeeping stays within a quarter of work_mem: a chain step per probed bucket
    // (rounds get no larger), and the multi-probe generator's heap of about two 32-byte sets per
    // probe of a table (probing goes no deeper; past that the exhaustive pass takes over).
    const Size budget = static_cast<Size>(work_mem) * 1024 / 4;
    const uint32 round_cap = static_cast<uint32>(std::max<Size>(1, budget / (sizeof(ChainStep) * info->params.tables)));
    const uint32 depth_cap = static_cast<uint32>(std::max<Size>(1, budget / 64));
    const uint32 hi = Min(Min(so->max_probes, depth_cap), lo + Min(so->round_probes, round_cap));
    if (lo >= hi)
        return false;
    auto *keys = static_cast<uint64 *>(palloc(sizeof(uint64) * hi));
    auto *steps = static_cast<ChainStep *>(palloc(sizeof(ChainStep) * static_cast<Size>(hi - lo) * info->params.tables));
    Size nsteps = 0;
    bool any = false;
    for (uint32 t = 0; t < info->params.tables; ++t) {
        const std::size_t got = so->family->family->probes(so->hash_input, t, hi, keys);
        for (std::size_t p = lo; p < got; ++p) {
            const uint64 number = (static_cast<uint64>(t) << info->slot_bits) + lsh_key_slot(info, keys[p]);
            steps[nsteps++] = ChainStep{InvalidBlockNumber, 0, lsh_key_tag(info, keys[p]), static_cast<uint32>(number)};
            any = true;
        }
    }
    pfree(keys);
    so->probed = hi;
    so->round_probes = std::min<uint32>(so->max_probes, so->round_probes * 2);
    if (!any)
        return false;
    so->buckets += static_cast<int64>(nsteps);

    // Directory: the heads of the probed slots, page by page.
    std::sort(steps, steps + nsteps, [](const ChainStep &a, const ChainStep &b) {
        return a.number != b.number ? a.number < b.number : a.tag < b.tag;
    });
    Buffer dir_buf = InvalidBuffer;
    BlockNumber dir_blkno = InvalidBlockNumber;
    Size live = 0;
    for (Size i = 0; i < nsteps; ++i) {
        if (i > 0 && steps[i].number == steps[i - 1].number && steps[i].tag == steps[i - 1].tag)
            continue;  // the same bucket from two probes
        BlockNumber blkno;
        uint32 slot;
        lsh_directory_slot(info, steps[i].number, &blkno, &slot);
        if (blkno != dir_blkno) {
            if (dir_buf != InvalidBuffer)
                UnlockReleaseBuffer(dir_buf);
            dir_buf = am_cache_pin(&so->cache, scan->indexRelation, blkno);
            LockBuffer(dir_buf, BUFFER_LOCK_SHARE);
            lsh_check_page(scan->indexRelation, BufferGetPage(dir_buf), blkno, LSH_PAGE_DIRECTORY);
            dir_blkno = blkno;
        }
        const LshSlotData head = lsh_directory_entries(BufferGetPage(dir_buf))[slot];
        if (head.block == InvalidBlockNumber)
            continue;
        steps[live] = steps[i];
        steps[live].block = head.block;
        steps[live].offset = head.offset;
        ++live;
    }
    if (dir_buf != InvalidBuffer)
        UnlockReleaseBuffer(dir_buf);

    // Chains: every segment page once per step of the walk, in block order.
    Size cap = 1024, ncands = 0;
    auto *cands = static_cast<uint64 *>(MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * cap));
    auto *next = static_cast<ChainStep *>(palloc(sizeof(ChainStep) * std::max<Size>(live, 1)));
    while (live > 0) {
        // A built index writes its segments in slot order, so the heads of slots taken in slot
        // order mostly come in block order already.
        auto by_place = [](const ChainStep &a, const ChainStep &b) {
            return a.block != b.block ? a.block < b.block : a.offset < b.offset;
        };
        if (!std::is_sorted(steps, steps + live, by_place))
            std::sort(steps, steps + live, by_place);
        Size nnext = 0;
        Size i = 0;
        while (i < live) {
            const BlockNumber blkno = steps[i].block;
            Buffer buf = am_cache_pin(&so->cache, scan->indexRelation, blkno);
            LockBuffer(buf, BUFFER_LOCK_SHARE);
            Page page = BufferGetPage(buf);
            lsh_check_page(scan->indexRelation, page, blkno, LSH_PAGE_BUCKET);
            const OffsetNumber max = PageGetMaxOffsetNumber(page);
            for (; i < live && steps[i].block == blkno; ++i) {
                const ChainStep &s = steps[i];
                ItemId iid = s.offset >= FirstOffsetNumber && s.offset <= max ? PageGetItemId(page, s.offset) : nullptr;
                if (iid == nullptr || !ItemIdIsNormal(iid))
                    lsh_corrupted(scan->indexRelation, "a bucket chain points to a missing segment");
                auto *seg = reinterpret_cast<LshSegment>(PageGetItem(page, iid));
                if (seg->slot != s.number ||
                    ItemIdGetLength(iid) < offsetof(LshSegmentData, postings) + sizeof(LshPosting) * seg->count)
                    lsh_corrupted(scan->indexRelation, "a bucket chain points to another slot's segment");
                if (ncands + seg->count > cap) {
                    if (ncands + seg->count > so->max_seen) {
                        // More postings than work_mem holds (a bucket of many equal rows):
                        // the rest of this round is left to the exhaustive pass.
                        so->seen_full = true;
                        break;
                    }
                    while (ncands + seg->count > cap)
                        cap *= 2;
                    cands = static_cast<uint64 *>(repalloc_huge(cands, sizeof(uint64) * cap));
                }
                for (uint16 j = 0; j < seg->count; ++j)
                    if (seg->postings[j].tag == s.tag)
                        cands[ncands++] = lsh_ref(seg->postings[j].block, seg->postings[j].offset);
                if (seg->next_block != InvalidBlockNumber)
                    next[nnext++] = ChainStep{seg->next_block, seg->next_offset, s.tag, s.number};
            }
            UnlockReleaseBuffer(buf);
            CHECK_FOR_INTERRUPTS();
            if (so->seen_full)
                break;
        }
        std::swap(steps, next);
        live = so->seen_full ? 0 : nnext;
    }
    pfree(next);
    pfree(steps);

    // The candidates not seen before (the seen set drops the duplicates of several tables),
    // within what work_mem lets the scan remember, in block order.
    Size fresh = 0;
    if (seen_reserve(so, ncands)) {
        for (Size i = 0; i < ncands; ++i)
            if (seen_add(so, cands[i]))
                cands[fresh++] = cands[i];
    } else {
        // Too many rows to remember: rank the ones there is room for, then read the rest in
        // the exhaustive pass.
        // (ncands counts a row once per table that holds it: the room may well suffice.)
        const Size room = so->max_seen > so->seen_count ? so->max_seen - so->seen_count : 0;
        Size i = 0;
        if (room > 0 && seen_reserve(so, room))
            for (; i < ncands && fresh < room; ++i)
                if (seen_add(so, cands[i]))
                    cands[fresh++] = cands[i];
        so->seen_full = i < ncands;
    }
    sort_by_block(cands, fresh, &so->sort_work, &so->sort_work_len);
    if (!append)
        so->count = 0;
    rank_candidates(scan, so, cands, fresh);
    pfree(cands);
    return true;
}

// ---- the exhaustive pass --------------------------------------------------------------------------

// Reads entry pages from next_block until a chunk of results is full (or the index ends);
// false when it read no page (the index ended, or an appended-to chunk is full).
bool exhaustive_chunk(IndexScanDesc scan, LshScanOpaque so, bool append)
{
    Relation index = scan->indexRelation;
    const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    if (so->next_block >= nblocks)
        return false;
    auto *offsets = static_cast<OffsetNumber *>(palloc(sizeof(OffsetNumber) * MaxOffsetNumber));
    BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
    if (!append)
        so->count = 0;
    const Size chunk = std::max<Size>(static_cast<Size>(work_mem) * 1024 / sizeof(LshResult), MaxOffsetNumber);
    const BlockNumber first = so->next_block;
    while (so->next_block < nblocks && so->count + MaxOffsetNumber <= chunk) {
        const BlockNumber blkno = so->next_block++;
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        if (lsh_page_is(page, LSH_PAGE_ENTRY)) {
            int m = 0;
            const OffsetNumber max = PageGetMaxOffsetNumber(page);
            for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off)
                if (!seen_has(so, lsh_ref(blkno, off)))
                    offsets[m++] = off;
            rank_page(scan, so, blkno, offsets, m, page);
        }
        UnlockReleaseBuffer(buf);
        CHECK_FOR_INTERRUPTS();
    }
    FreeAccessStrategy(strategy);
    pfree(offsets);
    return so->next_block > first;
}

// Whether the scan should stop probing and read the entries no probe found: it cannot remember
// more rows, or (filtered, strategy auto) it has seen a tenth of the index already.
// Whatever the strategy, probing stops once the scan has seen every entry, or has probed as
// many buckets as the index has entries (a bucket costs more than an entry read in page
// order): past that, with many tables or bits and few rows, rounds of doubling probes would go
// on to lsh.max_probes per table for nothing (1.2 s for a 7,500-row index of 32 tables).
bool time_to_read_all(const LshScanOpaque so)
{
    const double entries = so->index_entries;
    return so->seen_full || (so->auto_switch && so->seen_count > entries / 10) ||
           static_cast<double>(so->seen_count) >= entries || static_cast<double>(so->buckets) >= entries;
}

// A filtered scan's first batch goes on probing until it holds as many matching rows as its
// first round read candidates (and kFilteredBatchRows at least), as ivf's lists do: the matches
// it ranks then reach about as far out among the rows that match as an unfiltered round among
// all rows, so recall stays that of `probes` whatever the selectivity. A selective filter
// runs out of buckets or passes a tenth of the index first, and the batch is completed by the
// exhaustive pass, which makes it exact.
void fill_filtered_batch(IndexScanDesc scan, LshScanOpaque so)
{
    const Size target = static_cast<Size>(std::max<int64>(kFilteredBatchRows, so->candidates));
    while (so->count < target) {
        // At the match rate seen so far, how many rows the probes would have to rank: past a
        // tenth of the index, reading it all is cheaper (its entry pages in order, not buckets).
        const double needed = static_cast<double>(target) * so->candidates / std::max<Size>(so->count, 1);
        const bool hopeless = so->auto_switch && needed > so->index_entries / 10;
        if (!hopeless && !time_to_read_all(so) && probe_round(scan, so, true))
            continue;
        so->phase = EXHAUSTIVE;
        while (so->count < target && exhaustive_chunk(scan, so, true)) {
        }
        break;
    }
}

// The next batch of results; false when the scan is over.
bool next_batch(IndexScanDesc scan, LshScanOpaque so)
{
    while (so->phase != FINISHED) {
        if (so->phase == PROBING) {
            const bool first_round = so->probed == 0;
            if (!first_round && !so->continue_rounds) {
                so->phase = FINISHED;
                break;
            }
            if (time_to_read_all(so) || !probe_round(scan, so, false)) {
                so->phase = so->continue_rounds ? EXHAUSTIVE : FINISHED;
                continue;
            }
            if (so->filter != nullptr && first_round)
                fill_filtered_batch(scan, so);
        } else if (!exhaustive_chunk(scan, so, false)) {
            so->phase = FINISHED;
            break;
        }
        sort_results(so);
        if (so->count > 0)
            return true;
    }
    return false;
}

void start_scan(IndexScanDesc scan, LshScanOpaque so)
{
    Relation index = scan->indexRelation;
    so->info = lsh_index_info(index);
    const LshIndexInfo *info = so->info;
    bool never = false;
    so->filter = am_filter_from_keys(index, scan->keyData, scan->numberOfKeys, &so->recheck, &never);
    if (never) {
        so->phase = FINISHED;
        return;
    }
    so->capacity = 1024;
    so->results = static_cast<LshResult *>(palloc(sizeof(LshResult) * so->capacity));
    // A row the scan remembers costs about 48 bytes: its slot in the seen set (kept at most
    // half full), its candidate ref and its result; together they stay within work_mem.
    so->max_seen = std::max<Size>(static_cast<Size>(work_mem) * 1024 / 48, 1024);
    am_cache_init(&so->cache, index);
    so->codes = static_cast<const void **>(palloc(sizeof(void *) * MaxOffsetNumber));
    so->tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * MaxOffsetNumber));
    so->dist = static_cast<float *>(palloc(sizeof(float) * MaxOffsetNumber));
    so->next_block = info->directory_start;
    // The index's entries as of its last VACUUM or build; an index built empty (reltuples 0
    // or -1) is taken to hold up to 50 entries a page.
    so->index_entries = Max(static_cast<double>(index->rd_rel->reltuples),
                            50.0 * RelationGetNumberOfBlocks(index));
    so->continue_rounds = lsh_iterative_scan != LSH_ITERATIVE_SCAN_OFF || so->filter != nullptr;
    so->auto_switch = so->filter != nullptr && quiver_filter_strategy == AM_FILTER_AUTO;
    so->round_probes = static_cast<uint32>(lsh_probes > 0 ? lsh_probes : static_cast<int>(info->probes));
    so->max_probes = static_cast<uint32>(Max(lsh_max_probes, static_cast<int>(so->round_probes)));
    so->phase = PROBING;

    so->query = nullptr;
    if (!(scan->orderByData->sk_flags & SK_ISNULL)) {
        Size code_len;
        uint32 dim;
        so->query = am_value_code(info->opclass, scan->orderByData->sk_argument, &code_len, &dim, true);
        if (so->query != nullptr)
            am_check_dimensions(info->opclass, dim, info->params.dim);
    }
    // No query to hash (NULL, or the zero vector under cosine): every row at distance 0, as
    // pgvector; a filter forced to the exact strategy: no buckets either.
    if (so->query == nullptr || (so->filter != nullptr && quiver_filter_strategy == AM_FILTER_EXACT)) {
        so->continue_rounds = true;
        so->phase = EXHAUSTIVE;
        return;
    }
    so->family = lsh_open_family(index, info);
    so->work = static_cast<float *>(palloc(sizeof(float) * info->params.dim));
    so->hash_input = lsh_hash_input(info, so->query, so->work);
}

void report(IndexScanDesc scan, LshScanOpaque so)
{
    if (!so->started)
        return;
    so->started = false;
    const char *strategy = so->filter == nullptr ? (so->next_block > so->info->directory_start ? "probe+exact" : "probe")
                                                 : (so->next_block > so->info->directory_start ? "probe+filter+exact" : "probe+filter");
    if (so->buckets == 0 && so->next_block > so->info->directory_start)
        strategy = so->filter == nullptr ? "exact" : "exact+filter";
    am_report_scan(scan->indexRelation, "lsh", strategy, so->ranked, so->returned, so->buckets);
}

}  // namespace

IndexScanDesc lshbeginscan(Relation index, int nkeys, int norderbys)
{
    IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
    auto so = static_cast<LshScanOpaque>(palloc0(sizeof(LshScanOpaqueData)));
    so->ctx = AllocSetContextCreate(CurrentMemoryContext, "lsh scan", ALLOCSET_DEFAULT_SIZES);
    so->first = true;
    scan->opaque = so;
    return scan;
}

void lshrescan(IndexScanDesc scan, ScanKey keys, int, ScanKey orderbys, int)
{
    auto so = static_cast<LshScanOpaque>(scan->opaque);
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

bool lshgettuple(IndexScanDesc scan, ScanDirection)
{
    auto so = static_cast<LshScanOpaque>(scan->opaque);
    MemoryContext old = MemoryContextSwitchTo(so->ctx);
    if (so->first) {
        pgstat_count_index_scan(scan->indexRelation);
        if (scan->orderByData == nullptr)
            elog(ERROR, "cannot scan lsh index without order");
        if (!IsMVCCSnapshot(scan->xs_snapshot))
            elog(ERROR, "non-MVCC snapshots are not supported with lsh");
        so->first = false;
        so->started = true;
        start_scan(scan, so);
    }
    for (;;) {
        if (so->next < so->count) {
            sort_next_run(so);
            const LshResult r = so->results[so->next++];
            scan->xs_heaptid = r.tid;
            scan->xs_recheck = so->recheck;
            scan->xs_recheckorderby = false;
            so->returned++;
            MemoryContextSwitchTo(old);
            return true;
        }
        if (!next_batch(scan, so))
            break;
    }
    MemoryContextSwitchTo(old);
    return false;
}

void lshendscan(IndexScanDesc scan)
{
    auto so = static_cast<LshScanOpaque>(scan->opaque);
    report(scan, so);
    MemoryContextDelete(so->ctx);
    pfree(so);
    scan->opaque = nullptr;
}

}  // namespace quiver::pg
