// hnsw VACUUM: remove dead heap TIDs, repair the links that pointed at elements left without
// any, move the entry point off them, then mark them deleted so inserts reuse their slots.
// The phases and the locks they take are described at the top of hnsw.h. Readers are blocked
// only for the instant VACUUM holds the scan lock to wait for walks in flight.
#include "quiver/pg/hnsw.h"
#include "quiver/pg/pause.h"

extern "C" {
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "postmaster/autovacuum.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include <cstring>

namespace quiver::pg {
namespace {

struct HnswVacuumState {
    Relation index;
    IndexBulkDeleteResult *stats;
    IndexBulkDeleteCallback callback;
    void *callback_state;
    BufferAccessStrategy strategy;
    const HnswIndexInfo *info;
    int m;
    HnswVisited dying;        // elements left without heap TIDs, this batch
    uint32 dying_cap;         // most elements one batch holds (see hnswbulkdelete)
    bool dying_overflow;      // more dying elements than the batch holds: another batch follows
    Size budget;              // bytes: maintenance_work_mem (autovacuum_work_mem for autovacuum)
    BlockNumber first_free;   // first page with reusable slots, InvalidBlockNumber if none
    MemoryContext vac_ctx;    // everything this VACUUM of the index allocates
    Size peak_memory;         // most vac_ctx held at the points it is sampled (DEBUG1 report)
    int batches;
    uint64 live_elements;
    uint64 deleted_elements;  // deleted slots (old and new)
    HnswSearch *search;       // repair walks
    MemoryContext tmp_ctx;    // reset per repaired element
};

// Phase 1: drop dead heap TIDs; collect the elements left without any.
void remove_heap_tids(HnswVacuumState *vs)
{
    Relation index = vs->index;
    BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    for (BlockNumber blk = HNSW_FIRST_ELEMENT_BLKNO; blk < nblocks; ++blk) {
        vacuum_delay_point();
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, vs->strategy);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        if (PageIsNew(BufferGetPage(buf)) ||
            HnswPageGetOpaque(BufferGetPage(buf))->page_type != HNSW_PAGE_ELEMENT) {
            UnlockReleaseBuffer(buf);
            continue;
        }
        if ((HnswPageGetOpaque(BufferGetPage(buf))->flags & HNSW_PAGE_HAS_DELETED) && blk < vs->first_free)
            vs->first_free = blk;
        AmPageEdit edit;
        am_edit_start(&edit, index, true);
        Page page = am_edit_page(&edit, buf, false);
        bool changed = false;
        OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
        for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off)) {
            HnswElementTuple etup = hnsw_get_element(page, off);
            if (etup == nullptr)
                continue;
            if (etup->deleted) {
                vs->deleted_elements++;
                continue;
            }
            int kept = 0;
            for (int i = 0; i < etup->heaptid_count; ++i) {
                if (vs->callback(&etup->heaptids[i], vs->callback_state)) {
                    vs->stats->tuples_removed += 1;
                    continue;
                }
                etup->heaptids[kept++] = etup->heaptids[i];
            }
            if (kept != etup->heaptid_count) {
                for (int i = kept; i < HNSW_HEAPTIDS; ++i)
                    ItemPointerSetInvalid(&etup->heaptids[i]);
                etup->heaptid_count = static_cast<uint8>(kept);
                changed = true;
            }
            ItemPointerData tid;
            ItemPointerSet(&tid, blk, off);
            if (kept == 0) {
                if (vs->dying.count < vs->dying_cap)
                    hnsw_visited_add(&vs->dying, &tid);
                else
                    vs->dying_overflow = true;  // a later batch takes it
                continue;
            }
            vs->stats->num_index_tuples += kept;
            vs->live_elements++;
        }
        if (changed)
            am_edit_finish(&edit);
        else
            am_edit_abort(&edit);
        UnlockReleaseBuffer(buf);
        pause_point("hnsw_vacuum_tids_page");  // this page's heap TIDs are gone
    }
}

// Samples the memory this VACUUM holds, at its largest moments (after the dying set is built,
// after each reachability walk).
void sample_memory(HnswVacuumState *vs)
{
    Size held = MemoryContextMemAllocated(vs->vac_ctx, true);
    if (held > vs->peak_memory)
        vs->peak_memory = held;
}

bool is_dying(HnswVacuumState *vs, ItemPointer tid) { return hnsw_visited_contains(&vs->dying, tid); }

// Reads every element page under a share lock, one page at a time, and calls
// visit(blk, off, etup, page) for each element tuple, until it returns false.
template <class Visit> void sweep_elements(HnswVacuumState *vs, Visit visit)
{
    BlockNumber nblocks = RelationGetNumberOfBlocks(vs->index);
    bool more = true;
    for (BlockNumber blk = HNSW_FIRST_ELEMENT_BLKNO; blk < nblocks && more; ++blk) {
        vacuum_delay_point();
        Buffer buf = ReadBufferExtended(vs->index, MAIN_FORKNUM, blk, RBM_NORMAL, vs->strategy);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        if (!PageIsNew(page) && HnswPageGetOpaque(page)->page_type == HNSW_PAGE_ELEMENT) {
            OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
            for (OffsetNumber off = FirstOffsetNumber; off <= maxoff && more; off = OffsetNumberNext(off)) {
                HnswElementTuple etup = hnsw_get_element(page, off);
                if (etup != nullptr)
                    more = visit(blk, off, etup, page);
            }
        }
        UnlockReleaseBuffer(buf);
    }
}

// The next batch of dying elements (no heap TIDs, not yet deleted) when the first did not hold
// them all: read from the pages again, up to the batch's capacity.
void collect_dying(HnswVacuumState *vs)
{
    hnsw_visited_clear(&vs->dying);
    vs->dying_overflow = false;
    sweep_elements(vs, [vs](BlockNumber blk, OffsetNumber off, HnswElementTuple etup, Page) {
        if (etup->deleted || etup->heaptid_count != 0)
            return true;
        if (vs->dying.count >= vs->dying_cap) {
            vs->dying_overflow = true;
            return false;
        }
        ItemPointerData tid;
        ItemPointerSet(&tid, blk, off);
        hnsw_visited_add(&vs->dying, &tid);
        return true;
    });
}

// Adds tid to the pool unless it is e itself, dying, or already there.
void pool_add(HnswVacuumState *vs, HnswVisited *seen, ItemPointer tid, const HnswCandidate &e,
              ItemPointerData *pool, int *n, int cap)
{
    if (*n >= cap || ItemPointerEquals(tid, const_cast<ItemPointer>(&e.tid)) || is_dying(vs, tid))
        return;
    if (hnsw_visited_add(seen, tid))
        pool[(*n)++] = *tid;
}

// Rebuilds e's list on `level` without dying elements: its live members stay (one may be
// reachable only through e, and nothing gives it another link first), and the slots of the
// dying ones go to the heuristic's choice among the live neighbours of the dying ones, or
// among the results of a fresh search when that pool is too small.
void repair_level(HnswVacuumState *vs, const HnswCandidate &e, const void *e_code, int level,
                  ItemPointer entry, int entry_level)
{
    HnswSearch *s = vs->search;
    const int m = vs->m;
    const int lm = hnsw_level_slot_count(level, m);
    auto *old = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 2 * m));
    auto *links = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 2 * m));
    const int cap = lm * (lm + 1) + vs->info->ef_construction;
    auto *pool = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * cap));
    HnswVisited seen;
    hnsw_visited_init(&seen, static_cast<uint32>(cap));

    for (int attempt = 0; attempt < 3; ++attempt) {
        int k = hnsw_read_links(s, e, level, old);
        bool needs = false;
        for (int i = 0; i < k && !needs; ++i)
            needs = is_dying(vs, &old[i]);
        if (!needs)
            return;

        hnsw_visited_clear(&seen);
        int n = 0;
        for (int i = 0; i < k; ++i) {
            if (!is_dying(vs, &old[i])) {
                pool_add(vs, &seen, &old[i], e, pool, &n, cap);
                continue;
            }
            HnswCandidate d;
            if (!hnsw_load_candidate(s, &old[i], &d))
                continue;
            int nl = hnsw_read_links(s, d, level, links);
            for (int j = 0; j < nl; ++j)
                pool_add(vs, &seen, &links[j], e, pool, &n, cap);
        }
        if (n < lm && ItemPointerIsValid(entry) && entry_level >= level) {
            auto **found = static_cast<HnswCandidate **>(palloc(sizeof(HnswCandidate *) * (level + 1)));
            auto *found_count = static_cast<int *>(palloc(sizeof(int) * (level + 1)));
            hnsw_find_neighbors(s, entry, entry_level, level, vs->info->ef_construction, found,
                                found_count);
            for (int i = 0; i < found_count[level]; ++i)
                if (found[level][i].heaptid_count > 0)
                    pool_add(vs, &seen, &found[level][i].tid, e, pool, &n, cap);
        }

        // Distances to e, codes, closest first, heuristic.
        auto *cands = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * (n + 1)));
        int nc = 0;
        for (int i = 0; i < n; ++i)
            if (hnsw_load_candidate(s, &pool[i], &cands[nc]) && cands[nc].heaptid_count > 0 &&
                cands[nc].level >= level)
                ++nc;
        for (int i = 1; i < nc; ++i) {
            HnswCandidate c = cands[i];
            int j = i - 1;
            while (j >= 0 && cands[j].distance > c.distance) {
                cands[j + 1] = cands[j];
                --j;
            }
            cands[j + 1] = c;
        }
        auto **codes = static_cast<void **>(palloc(sizeof(void *) * (nc + 1)));
        hnsw_load_codes(s, cands, nc, codes);
        auto *keep = static_cast<int *>(palloc(sizeof(int) * (nc + 1)));
        const int picked = hnsw_select_neighbors(vs->info, cands, codes, nc, nc, keep);
        // The live members first, then the heuristic's picks, then the closest others (topped
        // up, as inserts do) while slots last; written closest first.
        bool *member = static_cast<bool *>(palloc0(nc + 1));
        bool *in = static_cast<bool *>(palloc0(nc + 1));
        int slots = lm;
        for (int i = 0; i < nc; ++i) {
            for (int j = 0; j < k && !member[i]; ++j)
                member[i] = ItemPointerEquals(&old[j], &cands[i].tid);
            if (member[i]) {
                in[i] = true;
                --slots;
            }
        }
        for (int i = 0; i < picked && slots > 0; ++i)
            if (!in[keep[i]]) {
                in[keep[i]] = true;
                --slots;
            }
        for (int i = 0; i < nc && slots > 0; ++i)
            if (!in[i] && codes[i] != nullptr) {
                in[i] = true;
                --slots;
            }
        int kept = 0;
        for (int i = 0; i < nc; ++i)
            if (in[i])
                links[kept++] = cands[i].tid;
        if (!hnsw_replace_links(vs->index, e, level, m, old, k, links, kept, false))
            continue;
        // New neighbours link back to e, so e keeps in-links when its old ones die.
        for (int i = 0; i < nc; ++i) {
            const HnswCandidate &nb = cands[i];
            if (in[i] && !member[i]) {
                HnswCandidate self = e;
                self.distance = nb.distance;
                hnsw_add_link(s, nb, self, e_code, level,
                              level == 0 ? HnswLink::relink : HnswLink::prune, false);
            }
        }
        return;
    }
}

// Aims the VACUUM's walk at element e's own vector: its code as the query, e itself never a
// result. Returns the code (palloc'd), or NULL when e is no longer there; end with unaim().
void *aim_at(HnswSearch *s, const HnswCandidate &e)
{
    void *code = nullptr;
    hnsw_load_codes(s, &e, 1, &code);
    if (code != nullptr) {
        s->query = code;
        s->skip = e.tid;
    }
    return code;
}

void unaim(HnswSearch *s)
{
    s->query = nullptr;
    ItemPointerSetInvalid(&s->skip);
}

// Repairs every level of e that links to a dying element.
void repair_element(HnswVacuumState *vs, const HnswCandidate &e, ItemPointer entry, int entry_level)
{
    void *e_code = aim_at(vs->search, e);
    if (e_code == nullptr)
        return;
    // Every level: an element inserted while VACUUM ran may sit above the entry level it read.
    for (int level = e.level; level >= 0; --level)
        repair_level(vs, e, e_code, level, entry, entry_level);
    unaim(vs->search);
}

// A live element with the highest level, read from every page (the caller holds the exclusive
// update lock, so no insert adds one meanwhile); false when there is none.
bool find_highest_live(HnswVacuumState *vs, HnswCandidate *out)
{
    bool found = false;
    sweep_elements(vs, [&](BlockNumber blk, OffsetNumber off, HnswElementTuple etup, Page page) {
        if (!etup->deleted && etup->heaptid_count > 0 && (!found || etup->level > out->level)) {
            hnsw_fill_candidate(out, 0, blk, off, etup, page);
            found = true;
        }
        return true;
    });
    return found;
}

// Phase 2a: a dying entry point is replaced by the highest live element (under the exclusive
// update lock, so that no insert adds one meanwhile).
void replace_entry_point(HnswVacuumState *vs)
{
    Relation index = vs->index;
    ItemPointerData entry;
    int entry_level;
    hnsw_read_entry(index, &entry, &entry_level, nullptr);
    if (!ItemPointerIsValid(&entry) || !is_dying(vs, &entry))
        return;

    LockPage(index, HNSW_UPDATE_LOCK, ExclusiveLock);
    hnsw_read_entry(index, &entry, &entry_level, nullptr);
    if (ItemPointerIsValid(&entry) && is_dying(vs, &entry)) {
        // Read now, not during phase 1: inserts may have added elements since, on pages it had
        // read already or past its end, of any level. With the highest one seen then, a later
        // one could be left above the entry level, or (none seen) unreachable.
        HnswCandidate highest;
        bool have = find_highest_live(vs, &highest);
        if (have) {
            // Give it links that avoid dying elements before it becomes the way in.
            MemoryContext old = MemoryContextSwitchTo(vs->tmp_ctx);
            repair_element(vs, highest, &entry, entry_level);
            MemoryContextSwitchTo(old);
            MemoryContextReset(vs->tmp_ctx);
        }
        Buffer mbuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
        LockBuffer(mbuf, BUFFER_LOCK_EXCLUSIVE);
        AmPageEdit edit;
        am_edit_start(&edit, index, true);
        HnswMetaPage meta = HnswPageGetMeta(am_edit_page(&edit, mbuf, false));
        if (have) {
            meta->entry = highest.tid;
            meta->entry_level = highest.level;
        } else {
            ItemPointerSetInvalid(&meta->entry);
            meta->entry_level = -1;
        }
        am_edit_finish(&edit);
        UnlockReleaseBuffer(mbuf);
    }
    UnlockPage(index, HNSW_UPDATE_LOCK, ExclusiveLock);
}

// Copies the live elements (with heap TIDs) of page blk as candidates into out (room for
// MaxOffsetNumber), so the caller can work on them without holding the page's lock.
int copy_live_elements(HnswVacuumState *vs, BlockNumber blk, HnswCandidate *out)
{
    Buffer buf = ReadBufferExtended(vs->index, MAIN_FORKNUM, blk, RBM_NORMAL, vs->strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    int n = 0;
    if (!PageIsNew(page) && HnswPageGetOpaque(page)->page_type == HNSW_PAGE_ELEMENT) {
        OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
        for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off)) {
            HnswElementTuple etup = hnsw_get_element(page, off);
            if (etup == nullptr || etup->deleted || etup->heaptid_count == 0)
                continue;
            hnsw_fill_candidate(&out[n++], 0, blk, off, etup, page);
        }
    }
    UnlockReleaseBuffer(buf);
    return n;
}

// Phase 2d (run after 2c, defined below): repair the lists of live elements that point at dying
// ones.
void repair_graph(HnswVacuumState *vs)
{
    Relation index = vs->index;
    ItemPointerData entry;
    int entry_level;
    hnsw_read_entry(index, &entry, &entry_level, nullptr);
    if (!ItemPointerIsValid(&entry))
        return;

    BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    auto *elems = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * MaxOffsetNumber));
    for (BlockNumber blk = HNSW_FIRST_ELEMENT_BLKNO; blk < nblocks; ++blk) {
        vacuum_delay_point();
        int n = copy_live_elements(vs, blk, elems);

        for (int i = 0; i < n; ++i) {
            MemoryContext old = MemoryContextSwitchTo(vs->tmp_ctx);
            repair_element(vs, elems[i], &entry, entry_level);
            MemoryContextSwitchTo(old);
            MemoryContextReset(vs->tmp_ctx);
        }
        hnsw_search_end(vs->search);
    }
    pfree(elems);
}

// Phase 2c: every live element must stay reachable on level 0 once the dying ones are gone.
//
// A breadth-first walk from the entry point (not through dying elements) marks what is reachable
// in a bitmap with one bit per possible line pointer of each page (how many fit a page follows
// from the smallest tuple this index can have); the walk's queue holds element TIDs and is
// bounded: what does not fit waits in a second bitmap, swept page by page once the queue runs
// dry. Every live element left unmarked then gets in-links from its nearest reachable elements
// (forced into the closest one's list if the heuristic declines them all). Only elements
// reachable at the start of the round lend their lists, so no element waiting for its own
// in-link ends up holding another one's only way in; rounds repeat (at most three) until the
// walk reaches everything. Memory: the two bitmaps and the queue, within `budget` bytes; an
// index whose bitmaps alone do not fit is left as it is, with a LOG message.
struct Reach {
    BlockNumber nblocks;
    uint32 words;          // uint64 words per page in each bitmap
    uint64 *reached;
    uint64 *pending;       // reached, not yet expanded (the queue was full)
    ItemPointerData *queue;
    uint32 capacity, head, count;
    bool any_pending;
};

bool reach_test(const Reach *r, ItemPointer tid)
{
    BlockNumber b = ItemPointerGetBlockNumber(tid);
    OffsetNumber o = ItemPointerGetOffsetNumber(tid);
    if (b >= r->nblocks || o >= r->words * 64)
        return true;  // not where an element can be: treat as seen
    return (r->reached[static_cast<Size>(b) * r->words + o / 64] >> (o % 64)) & 1;
}

bool reach_usable(void *arg, ItemPointer tid) { return reach_test(static_cast<Reach *>(arg), tid); }

// Marks tid reached and queues it (or leaves it pending); false if it was reached already.
bool reach_push(Reach *r, ItemPointer tid)
{
    if (reach_test(r, tid))
        return false;
    Size w = static_cast<Size>(ItemPointerGetBlockNumber(tid)) * r->words + ItemPointerGetOffsetNumber(tid) / 64;
    uint64 bit = UINT64CONST(1) << (ItemPointerGetOffsetNumber(tid) % 64);
    r->reached[w] |= bit;
    if (r->count < r->capacity) {
        r->queue[(r->head + r->count++) % r->capacity] = *tid;
    } else {
        r->pending[w] |= bit;
        r->any_pending = true;
    }
    return true;
}

// Refills the queue from the pending bitmap; false when nothing is pending.
bool reach_refill(Reach *r)
{
    if (!r->any_pending)
        return false;
    r->any_pending = false;
    for (BlockNumber b = 0; b < r->nblocks; ++b)
        for (uint32 k = 0; k < r->words; ++k) {
            uint64 &w = r->pending[static_cast<Size>(b) * r->words + k];
            while (w != 0) {
                if (r->count == r->capacity) {
                    r->any_pending = true;
                    return true;
                }
                int bit = __builtin_ctzll(w);
                w &= w - 1;
                ItemPointerData tid;
                ItemPointerSet(&tid, b, static_cast<OffsetNumber>(k * 64 + bit));
                r->queue[(r->head + r->count++) % r->capacity] = tid;
            }
        }
    return r->count > 0;
}

// Line pointers a page of this index can hold at most: page room over the smallest tuple.
uint32 max_items_per_page(const HnswIndexInfo *info)
{
    const Size room = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData));
    const Size code = info->code_len > 0 ? info->code_len : 3 * sizeof(int32);
    const Size smallest = Min(hnsw_element_tuple_size(0, code), hnsw_neighbor_tuple_size(0, info->m));
    return static_cast<uint32>(room / (smallest + sizeof(ItemIdData))) + 1;
}

// The walk: marks everything reachable from the entry point without passing dying elements.
void reach_walk(HnswVacuumState *vs, Reach *r, ItemPointer entry)
{
    HnswSearch *s = vs->search;
    auto *links = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 2 * vs->m));
    reach_push(r, entry);
    uint64 steps = 0;
    while (r->count > 0 || reach_refill(r)) {
        if ((++steps & 1023) == 0)
            vacuum_delay_point();
        ItemPointerData tid = r->queue[r->head];
        r->head = (r->head + 1) % r->capacity;
        r->count--;
        HnswCandidate c;
        if (!hnsw_load_candidate(s, &tid, &c) || c.heaptid_count == 0)
            continue;  // dying elements are dead ends after this VACUUM
        int n = hnsw_read_links(s, c, 0, links);
        for (int i = 0; i < n; ++i)
            reach_push(r, &links[i]);
    }
    pfree(links);
    hnsw_search_end(s);
}

// Gives live element x in-links from its nearest reachable elements.
void reconnect_element(HnswVacuumState *vs, const HnswCandidate &x, ItemPointer entry, int entry_level)
{
    HnswSearch *s = vs->search;
    void *x_code = aim_at(s, x);
    if (x_code == nullptr)
        return;
    HnswCandidate *found[1];
    int found_count[1];
    hnsw_find_neighbors(s, entry, entry_level, 0, vs->info->ef_construction, found, found_count);
    int nf = 0;
    for (int k = 0; k < found_count[0]; ++k)
        if (found[0][k].heaptid_count > 0 && !is_dying(vs, &found[0][k].tid) &&
            s->usable(s->usable_arg, &found[0][k].tid))
            found[0][nf++] = found[0][k];
    bool linked = false;
    for (int k = 0; k < nf && k < vs->m && !linked; ++k) {
        HnswCandidate self = x;
        self.distance = found[0][k].distance;
        linked = hnsw_add_link(s, found[0][k], self, x_code, 0, HnswLink::relink, false);
    }
    if (!linked)
        hnsw_link_forcibly(s, x, x_code, found[0], Min(nf, vs->m), false);
    unaim(s);
}

void reconnect_unreachable(HnswVacuumState *vs, Size budget)
{
    Relation index = vs->index;
    HnswSearch *s = vs->search;
    ItemPointerData entry;
    int entry_level;
    hnsw_read_entry(index, &entry, &entry_level, nullptr);
    if (!ItemPointerIsValid(&entry))
        return;

    Reach r;
    r.nblocks = RelationGetNumberOfBlocks(index);
    r.words = (max_items_per_page(vs->info) + 1 + 63) / 64;
    const Size bitmap = sizeof(uint64) * r.words * static_cast<Size>(r.nblocks);
    if (2 * bitmap + 1024 * sizeof(ItemPointerData) > budget) {
        ereport(LOG, (errmsg("hnsw index \"%s\": not checking that every element is still reachable",
                             RelationGetRelationName(index)),
                      errdetail("That needs %zu kB of memory, more than maintenance_work_mem allows.",
                                (2 * bitmap + 1024 * sizeof(ItemPointerData)) / 1024)));
        return;
    }
    r.reached = static_cast<uint64 *>(palloc_extended(bitmap, MCXT_ALLOC_HUGE));
    r.pending = static_cast<uint64 *>(palloc_extended(bitmap, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
    // The queue: what the budget leaves, up to 64k TIDs (the pending bitmap is swept in memory,
    // so a longer queue would save little).
    r.capacity = static_cast<uint32>(
        Max(static_cast<Size>(1024), Min((budget - 2 * bitmap) / sizeof(ItemPointerData),
                                          static_cast<Size>(1) << 16)));
    r.queue = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * r.capacity));
    s->usable = reach_usable;
    s->usable_arg = &r;

    auto *elems = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * MaxOffsetNumber));
    for (int round = 0; round < 3; ++round) {
        std::memset(r.reached, 0, bitmap);
        r.head = r.count = 0;
        r.any_pending = false;
        reach_walk(vs, &r, &entry);
        sample_memory(vs);
        int64 left = 0;
        for (BlockNumber blk = HNSW_FIRST_ELEMENT_BLKNO; blk < r.nblocks; ++blk) {
            vacuum_delay_point();
            int live = copy_live_elements(vs, blk, elems);
            for (int i = 0; i < live; ++i) {
                if (reach_test(&r, &elems[i].tid))
                    continue;
                ++left;
                MemoryContext old = MemoryContextSwitchTo(vs->tmp_ctx);
                reconnect_element(vs, elems[i], &entry, entry_level);
                MemoryContextSwitchTo(old);
                MemoryContextReset(vs->tmp_ctx);
            }
            hnsw_search_end(s);
        }
        if (left == 0)
            break;
    }
    s->usable = nullptr;
    s->usable_arg = nullptr;
    pfree(elems);
    pfree(r.queue);
    pfree(r.pending);
    pfree(r.reached);
}

// Marks a dying element deleted (version bumped) and empties its neighbour tuple (NULL when it
// is missing); both pages are registered in the caller's edit.
void mark_slot_deleted(HnswElementTuple etup, Page epage, HnswNeighborTuple ntup)
{
    etup->deleted = 1;
    etup->version = static_cast<uint8>(etup->version + 1);
    if (ntup != nullptr) {
        ntup->version = etup->version;
        for (int i = 0; i < ntup->count; ++i)
            ItemPointerSetInvalid(&ntup->tids[i]);
    }
    HnswPageGetOpaque(epage)->flags |= HNSW_PAGE_HAS_DELETED;
}

// The dying element at (blk, off) of the locked page, or NULL (gone, reused, revived).
HnswElementTuple dying_element(HnswVacuumState *vs, Page page, BlockNumber blk, OffsetNumber off)
{
    HnswElementTuple etup = hnsw_get_element(page, off);
    if (etup == nullptr || etup->deleted || etup->heaptid_count != 0)
        return nullptr;
    ItemPointerData tid;
    ItemPointerSet(&tid, blk, off);
    // Emptied after our first pass: the next VACUUM takes it.
    return is_dying(vs, &tid) ? etup : nullptr;
}

// Phase 3: dying elements become deleted, reusable slots. An element and its neighbour tuple
// change in one WAL record under both page locks: an insert that reuses the slot (it sees the
// deleted flag) must find the neighbour tuple emptied already, or VACUUM would later empty the
// list the insert wrote there.
void mark_deleted(HnswVacuumState *vs)
{
    Relation index = vs->index;
    BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    auto *later = static_cast<OffsetNumber *>(palloc(sizeof(OffsetNumber) * MaxOffsetNumber));
    for (BlockNumber blk = HNSW_FIRST_ELEMENT_BLKNO; blk < nblocks; ++blk) {
        vacuum_delay_point();
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, vs->strategy);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        if (PageIsNew(BufferGetPage(buf)) ||
            HnswPageGetOpaque(BufferGetPage(buf))->page_type != HNSW_PAGE_ELEMENT) {
            UnlockReleaseBuffer(buf);
            continue;
        }

        // Elements whose neighbour tuple is on this page: one record for all of them.
        AmPageEdit edit;
        am_edit_start(&edit, index, true);
        Page page = am_edit_page(&edit, buf, false);
        int nlater = 0;
        int marked = 0;
        OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
        for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off)) {
            HnswElementTuple etup = dying_element(vs, page, blk, off);
            if (etup == nullptr)
                continue;
            if (ItemPointerGetBlockNumber(&etup->neighbortid) != blk) {
                later[nlater++] = off;
                continue;
            }
            mark_slot_deleted(etup, page,
                              hnsw_get_neighbors(page, ItemPointerGetOffsetNumber(&etup->neighbortid)));
            ++marked;
        }
        if (marked > 0)
            am_edit_finish(&edit);
        else
            am_edit_abort(&edit);

        // Elements whose neighbour tuple is on a later page: both pages in one record, this
        // page still locked (ascending block order, as every writer locks).
        for (int i = 0; i < nlater; ++i) {
            HnswElementTuple etup = dying_element(vs, BufferGetPage(buf), blk, later[i]);
            if (etup == nullptr)
                continue;
            BlockNumber nblk = ItemPointerGetBlockNumber(&etup->neighbortid);
            OffsetNumber noff = ItemPointerGetOffsetNumber(&etup->neighbortid);
            if (nblk < blk || nblk >= nblocks)
                continue;  // not where the format puts it; quiver_index_check reports it
            Buffer nbuf = ReadBufferExtended(index, MAIN_FORKNUM, nblk, RBM_NORMAL, vs->strategy);
            LockBuffer(nbuf, BUFFER_LOCK_EXCLUSIVE);
            am_edit_start(&edit, index, true);
            page = am_edit_page(&edit, buf, false);
            Page npage = am_edit_page(&edit, nbuf, false);
            mark_slot_deleted(hnsw_get_element(page, later[i]), page, hnsw_get_neighbors(npage, noff));
            am_edit_finish(&edit);
            UnlockReleaseBuffer(nbuf);
            ++marked;
        }
        vs->deleted_elements += marked;
        if ((HnswPageGetOpaque(BufferGetPage(buf))->flags & HNSW_PAGE_HAS_DELETED) && blk < vs->first_free)
            vs->first_free = blk;
        UnlockReleaseBuffer(buf);
        if (marked > 0)
            pause_point("hnsw_vacuum_mark_page");  // slots on this page were marked deleted
    }
    pfree(later);
}

// Points inserts at the first page with reusable slots (found by phase 1 or marked by a batch)
// and records the counts. Also when nothing died this time: slots a long sparse vector could
// not use moved the insert hint past them, and this VACUUM offers them again.
void update_metapage(HnswVacuumState *vs)
{
    Buffer mbuf = ReadBuffer(vs->index, HNSW_METAPAGE_BLKNO);
    LockBuffer(mbuf, BUFFER_LOCK_EXCLUSIVE);
    AmPageEdit edit;
    am_edit_start(&edit, vs->index, true);
    HnswMetaPage meta = HnswPageGetMeta(am_edit_page(&edit, mbuf, false));
    if (vs->first_free != InvalidBlockNumber && vs->first_free < meta->insert_page)
        meta->insert_page = vs->first_free;
    meta->element_count = vs->live_elements;
    meta->deleted_count = vs->deleted_elements;
    am_edit_finish(&edit);
    UnlockReleaseBuffer(mbuf);
}

}  // namespace

IndexBulkDeleteResult *hnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
                                      IndexBulkDeleteCallback callback, void *callback_state)
{
    if (stats == nullptr)
        stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
    // Counted afresh by this pass (a second pass in one VACUUM must not double them).
    stats->num_index_tuples = 0;

    MemoryContext vac_ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum",
                                                  ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(vac_ctx);

    HnswVacuumState vs{};
    vs.index = info->index;
    vs.stats = stats;
    vs.callback = callback;
    vs.callback_state = callback_state;
    vs.strategy = info->strategy;
    vs.info = hnsw_index_info(info->index);
    vs.m = vs.info->m;
    // VACUUM's memory: the dying set (at most 32 bytes an element, hash slots at least half
    // empty) gets 40%, the reconnect pass's bitmaps and queue 40%, the visited set of its graph
    // walks 15% (a walk through a long stretch of dying elements stops there), and the rest is
    // left for candidate lists and page copies.
    const int work_kb = IsAutoVacuumWorkerProcess() && autovacuum_work_mem != -1
                            ? autovacuum_work_mem
                            : maintenance_work_mem;
    vs.budget = static_cast<Size>(work_kb) * 1024;
    vs.first_free = InvalidBlockNumber;
    vs.dying_cap = static_cast<uint32>(Min(vs.budget * 2 / 5 / 32, static_cast<Size>(PG_INT32_MAX / 4)));
    hnsw_visited_init(&vs.dying, Min(vs.dying_cap, 1024u));
    vs.search = static_cast<HnswSearch *>(palloc(sizeof(HnswSearch)));
    hnsw_search_init(vs.search, info->index, vs.info, nullptr, vs.info->ef_construction);
    vs.search->max_visited = static_cast<uint32>(
        Max(static_cast<Size>(4 * vs.info->ef_construction), Min(vs.budget * 3 / 20 / 32, static_cast<Size>(PG_INT32_MAX / 4))));
    vs.tmp_ctx = AllocSetContextCreate(vac_ctx, "hnsw vacuum element", ALLOCSET_DEFAULT_SIZES);

    vs.vac_ctx = vac_ctx;
    remove_heap_tids(&vs);
    sample_memory(&vs);
    pause_point("hnsw_vacuum_tids_removed");  // phase 1 done, nothing repaired yet

    // Dying elements in batches that fit the budget (usually one).
    while (vs.dying.count > 0) {
        vs.batches++;
        replace_entry_point(&vs);
        // Inserts that started before the heap TIDs were removed may still link to dying
        // elements; wait for them. Later inserts never choose a dying element.
        LockPage(info->index, HNSW_UPDATE_LOCK, ExclusiveLock);
        UnlockPage(info->index, HNSW_UPDATE_LOCK, ExclusiveLock);
        // Every live element reachable without passing a dying one first: the repairs then
        // only take links to dying elements away (and add others), so no moment of them, and
        // no crash in between, leaves a live element unreachable.
        reconnect_unreachable(&vs, vs.budget * 2 / 5);
        repair_graph(&vs);
        pause_point("hnsw_vacuum_repaired");  // lists repaired, dying elements not yet deleted
        // And once more after the repairs: the first pass cannot always find a reachable live
        // element to link from (after a mass delete few are reachable without dying ones; the
        // repairs link many more), and inserts meanwhile dropped dying members without care.
        reconnect_unreachable(&vs, vs.budget * 2 / 5);
        hnsw_search_end(vs.search);
        // No walk in flight may still hold a link into a slot that becomes reusable.
        LockPage(info->index, HNSW_SCAN_LOCK, ExclusiveLock);
        UnlockPage(info->index, HNSW_SCAN_LOCK, ExclusiveLock);
        mark_deleted(&vs);
        if (!vs.dying_overflow)
            break;
        collect_dying(&vs);
        sample_memory(&vs);
    }
    hnsw_search_end(vs.search);
    update_metapage(&vs);
    ereport(DEBUG1, (errmsg("hnsw index \"%s\": %lld heap TIDs removed, dying elements in %d batch(es), "
                            "peak memory %zu kB of %zu kB",
                            RelationGetRelationName(info->index),
                            static_cast<long long>(stats->tuples_removed), vs.batches,
                            vs.peak_memory / 1024, vs.budget / 1024)));

    MemoryContextSwitchTo(old);
    MemoryContextDelete(vac_ctx);
    return stats;
}

namespace {

// A VACUUM that found nothing to delete calls only the cleanup: the insert hint may still have
// moved past reusable slots (too small for some long sparse vector), so point it back at the
// first page with any, as a deleting VACUUM does. Reads at most the pages before the hint, and
// nothing when the last VACUUM left no reusable slots.
void restore_insert_hint(Relation index, BufferAccessStrategy strategy)
{
    Buffer mbuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
    LockBuffer(mbuf, BUFFER_LOCK_SHARE);
    HnswMetaPage meta = HnswPageGetMeta(BufferGetPage(mbuf));
    const BlockNumber hint = meta->insert_page;
    const bool any = meta->deleted_count > 0;
    UnlockReleaseBuffer(mbuf);
    if (!any)
        return;
    BlockNumber first_free = InvalidBlockNumber;
    for (BlockNumber blk = HNSW_FIRST_ELEMENT_BLKNO; blk < hint && first_free == InvalidBlockNumber; ++blk) {
        vacuum_delay_point();
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        if (!PageIsNew(page) && HnswPageGetOpaque(page)->page_type == HNSW_PAGE_ELEMENT &&
            (HnswPageGetOpaque(page)->flags & HNSW_PAGE_HAS_DELETED))
            first_free = blk;
        UnlockReleaseBuffer(buf);
    }
    if (first_free == InvalidBlockNumber)
        return;
    mbuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
    LockBuffer(mbuf, BUFFER_LOCK_EXCLUSIVE);
    AmPageEdit edit;
    am_edit_start(&edit, index, true);
    meta = HnswPageGetMeta(am_edit_page(&edit, mbuf, false));
    if (first_free < meta->insert_page) {
        meta->insert_page = first_free;
        am_edit_finish(&edit);
    } else {
        am_edit_abort(&edit);
    }
    UnlockReleaseBuffer(mbuf);
}

}  // namespace

IndexBulkDeleteResult *hnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
    if (info->analyze_only)
        return stats;
    if (stats == nullptr) {
        restore_insert_hint(info->index, info->strategy);
        return stats;
    }
    stats->num_pages = RelationGetNumberOfBlocks(info->index);
    return stats;
}

}  // namespace quiver::pg
