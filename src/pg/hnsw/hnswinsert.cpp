// hnsw inserts after the build (aminsert) and the on-disk phase of a build that outgrew
// maintenance_work_mem: find neighbours on disk, write the element (reusing a deleted slot when
// one fits), add the back links, move the entry point. Every change is one GenericXLog record
// per page group (none while building); see the locking rules in hnsw.h.
#include "quiver/pg/hnsw.h"
#include "quiver/pg/filter_columns.h"

extern "C" {
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include <algorithm>
#include <cstring>

namespace quiver::pg {
namespace {

struct Placement {
    Buffer ebuf;           // element page (locked exclusively)
    Buffer nbuf;           // neighbour page if different (locked exclusively), else InvalidBuffer
    bool enew, nnew;       // freshly extended pages, to initialise
    OffsetNumber reuse;    // offset of a deleted element to overwrite, or InvalidOffsetNumber
};

Buffer extend_index(Relation index)
{
    LockRelationForExtension(index, ExclusiveLock);
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    UnlockRelationForExtension(index, ExclusiveLock);
    return buf;
}

// A deleted element on `page` whose element and neighbour slots can hold the new tuples,
// preferring an exact fit of the neighbour tuple (so small elements do not take the larger
// slots of higher-level ones); its neighbour page, when another one, is locked into *nbuf.
// *any_deleted: the page has deleted slots; *fits_level0: one of them would hold this element
// were it on level 0 (ntup0_size), as most are.
OffsetNumber find_reusable(Relation index, Buffer buf, Size etup_size, Size ntup_size,
                           Size ntup0_size, Buffer *nbuf, bool *any_deleted, bool *fits_level0)
{
    *any_deleted = false;
    *fits_level0 = false;
    Page page = BufferGetPage(buf);
    BlockNumber blkno = BufferGetBlockNumber(buf);
    OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
    OffsetNumber larger = InvalidOffsetNumber;
    for (int pass = 0; pass < 2; ++pass) {
        for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off)) {
            if (pass == 1 && off != larger)
                continue;
            HnswElementTuple etup = hnsw_get_element(page, off);
            if (etup == nullptr || !etup->deleted)
                continue;
            *any_deleted = true;
            if (ItemIdGetLength(PageGetItemId(page, off)) < etup_size)
                continue;
            BlockNumber nblk = ItemPointerGetBlockNumber(&etup->neighbortid);
            OffsetNumber noff = ItemPointerGetOffsetNumber(&etup->neighbortid);
            if (nblk == blkno) {
                if (hnsw_get_neighbors(page, noff) == nullptr)
                    continue;
                Size len = ItemIdGetLength(PageGetItemId(page, noff));
                *fits_level0 |= len >= ntup0_size;
                if (len == ntup_size || (pass == 1 && len > ntup_size))
                    return off;
                if (len > ntup_size && larger == InvalidOffsetNumber)
                    larger = off;
            } else if (nblk > blkno) {
                // Ascending block order: this page, then the later neighbour page.
                Buffer other = ReadBuffer(index, nblk);
                LockBuffer(other, BUFFER_LOCK_EXCLUSIVE);
                Page opage = BufferGetPage(other);
                Size len = hnsw_get_neighbors(opage, noff) != nullptr
                               ? ItemIdGetLength(PageGetItemId(opage, noff))
                               : 0;
                *fits_level0 |= len >= ntup0_size;
                if (len == ntup_size || (pass == 1 && len > ntup_size)) {
                    *nbuf = other;
                    return off;
                }
                if (len > ntup_size && larger == InvalidOffsetNumber)
                    larger = off;
                UnlockReleaseBuffer(other);
            }
        }
        if (larger == InvalidOffsetNumber)
            break;
    }
    return InvalidOffsetNumber;
}

// Finds room for the element (etup_size) and its neighbour tuple (ntup_size), from the insert
// hint forward, else on new pages. Returns with the page(s) locked exclusively. *new_hint: the
// first page worth looking at next time: pages before it are full, and their deleted slots (if
// any) are too small for this element even on level 0. A page whose slots only this element's
// level did not fit keeps the hint; one whose slots are too small for its code (a long sparse
// vector after short ones) does not, or every such insert would lock every page from there on.
Placement place_element(Relation index, BlockNumber hint, Size etup_size, Size ntup_size,
                        Size ntup0_size, BlockNumber *new_hint, bool building)
{
    Placement p{InvalidBuffer, InvalidBuffer, false, false, InvalidOffsetNumber};
    const Size together = etup_size + ntup_size + 2 * sizeof(ItemIdData);
    const Size page_room = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData));
    const bool can_share = together <= page_room;
    BlockNumber keep = InvalidBlockNumber;  // first page whose deleted slots fit on level 0

    BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    for (BlockNumber blk = Max(hint, HNSW_FIRST_ELEMENT_BLKNO); blk < nblocks; ++blk) {
        Buffer buf = ReadBuffer(index, blk);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(buf);
        if (PageIsNew(page) || HnswPageGetOpaque(page)->page_type != HNSW_PAGE_ELEMENT) {
            UnlockReleaseBuffer(buf);
            continue;
        }
        if (HnswPageGetOpaque(page)->flags & HNSW_PAGE_HAS_DELETED) {
            Buffer nbuf = InvalidBuffer;
            bool any_deleted, fits_level0;
            OffsetNumber off = find_reusable(index, buf, etup_size, ntup_size, ntup0_size, &nbuf,
                                             &any_deleted, &fits_level0);
            if (off != InvalidOffsetNumber) {
                p.ebuf = buf;
                p.nbuf = nbuf;
                p.reuse = off;
                *new_hint = keep != InvalidBlockNumber ? keep : blk;
                return p;
            }
            if (any_deleted) {
                if (fits_level0 && keep == InvalidBlockNumber)
                    keep = blk;
            } else {
                // Every deleted slot here was reused: stop looking at this page for them.
                AmPageEdit edit;
                am_edit_start(&edit, index, !building);
                HnswPageGetOpaque(am_edit_page(&edit, buf, false))->flags &= ~HNSW_PAGE_HAS_DELETED;
                am_edit_finish(&edit);
            }
        }
        Size free = PageGetExactFreeSpace(page);
        if (can_share ? free >= together : free >= etup_size + sizeof(ItemIdData)) {
            p.ebuf = buf;
            if (!can_share) {
                p.nbuf = extend_index(index);
                p.nnew = true;
            }
            *new_hint = keep != InvalidBlockNumber ? keep : blk;
            return p;
        }
        UnlockReleaseBuffer(buf);
    }

    p.ebuf = extend_index(index);
    p.enew = true;
    if (!can_share) {
        p.nbuf = extend_index(index);
        p.nnew = true;
    }
    *new_hint = keep != InvalidBlockNumber ? keep : BufferGetBlockNumber(p.ebuf);
    return p;
}

void fill_neighbor_runs(HnswNeighborTuple ntup, int slots, uint8 version, int m, int level,
                        HnswCandidate *const *chosen, const int *chosen_count)
{
    ntup->type = HNSW_NEIGHBOR_TUPLE;
    ntup->version = version;
    ntup->count = static_cast<uint16>(slots);
    for (int i = 0; i < slots; ++i)
        ItemPointerSetInvalid(&ntup->tids[i]);
    for (int l = 0; l <= level; ++l) {
        if (chosen == nullptr || chosen[l] == nullptr)
            continue;
        ItemPointerData *run = ntup->tids + hnsw_level_first_slot(l, m);
        for (int i = 0; i < chosen_count[l]; ++i)
            run[i] = chosen[l][i].tid;
    }
}

// Writes the element and its neighbour tuple; returns the new element as a candidate.
HnswCandidate write_element(Relation index, const HnswIndexInfo *info, int level,
                            const void *code, Size code_len, const uint8 *payload,
                            Size payload_len, ItemPointer heap_tid,
                            HnswCandidate *const *chosen, const int *chosen_count,
                            BlockNumber hint, bool building)
{
    const int m = info->m;
    const Size etup_size = hnsw_element_tuple_size(payload_len, code_len);
    const Size ntup_size = hnsw_neighbor_tuple_size(level, m);
    if (etup_size > HNSW_MAX_TUPLE_SIZE)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("index row size %zu exceeds hnsw maximum, %zu, for index \"%s\"",
                               etup_size, static_cast<Size>(HNSW_MAX_TUPLE_SIZE),
                               RelationGetRelationName(index))));

    BlockNumber new_hint;
    Placement p = place_element(index, hint, etup_size, ntup_size,
                                hnsw_neighbor_tuple_size(0, m), &new_hint, building);

    AmPageEdit edit;
    am_edit_start(&edit, index, !building);
    Page epage = am_edit_page(&edit, p.ebuf, p.enew);
    Page npage = BufferIsValid(p.nbuf) ? am_edit_page(&edit, p.nbuf, p.nnew) : epage;
    if (p.enew)
        hnsw_init_page(epage, HNSW_PAGE_ELEMENT);
    if (BufferIsValid(p.nbuf) && p.nnew)
        hnsw_init_page(npage, HNSW_PAGE_ELEMENT);

    HnswCandidate self{};
    self.distance = 0;
    self.level = static_cast<uint8>(level);
    self.heaptid_count = 1;

    OffsetNumber eoff, noff;
    Size etup_len = etup_size, ntup_len = ntup_size;
    uint8 version = 0;
    if (p.reuse != InvalidOffsetNumber) {
        HnswElementTuple old = hnsw_get_element(epage, p.reuse);
        version = static_cast<uint8>(old->version + 1);
        eoff = p.reuse;
        noff = ItemPointerGetOffsetNumber(&old->neighbortid);
        etup_len = ItemIdGetLength(PageGetItemId(epage, eoff));
        ntup_len = ItemIdGetLength(PageGetItemId(npage, noff));
    } else {
        eoff = OffsetNumberNext(PageGetMaxOffsetNumber(epage));
        noff = npage == epage ? OffsetNumberNext(eoff) : OffsetNumberNext(PageGetMaxOffsetNumber(npage));
    }
    BlockNumber eblk = BufferGetBlockNumber(p.ebuf);
    BlockNumber nblk = BufferGetBlockNumber(BufferIsValid(p.nbuf) ? p.nbuf : p.ebuf);

    auto etup = static_cast<HnswElementTuple>(palloc0(etup_len));
    etup->type = HNSW_ELEMENT_TUPLE;
    etup->level = static_cast<uint8>(level);
    etup->version = version;
    etup->heaptid_count = 1;
    etup->payload_len = static_cast<uint16>(payload_len);
    if (payload_len > 0)
        std::memcpy(etup->data, payload, payload_len);
    ItemPointerSet(&etup->neighbortid, nblk, noff);
    etup->code_len = static_cast<uint16>(code_len);
    etup->heaptids[0] = *heap_tid;
    for (int i = 1; i < HNSW_HEAPTIDS; ++i)
        ItemPointerSetInvalid(&etup->heaptids[i]);
    std::memcpy(hnsw_element_code(etup), code, code_len);

    const int slots = static_cast<int>((ntup_len - offsetof(HnswNeighborTupleData, tids)) /
                                       sizeof(ItemPointerData));
    auto ntup = static_cast<HnswNeighborTuple>(palloc0(ntup_len));
    fill_neighbor_runs(ntup, slots, version, m, level, chosen, chosen_count);

    bool ok;
    if (p.reuse != InvalidOffsetNumber) {
        ok = PageIndexTupleOverwrite(epage, eoff, reinterpret_cast<Item>(etup), etup_len) &&
             PageIndexTupleOverwrite(npage, noff, reinterpret_cast<Item>(ntup), ntup_len);
    } else {
        ok = PageAddItem(epage, reinterpret_cast<Item>(etup), etup_len, eoff, false, false) == eoff &&
             PageAddItem(npage, reinterpret_cast<Item>(ntup), ntup_len, noff, false, false) == noff;
    }
    if (!ok) {
        am_edit_abort(&edit);
        ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                        errmsg("failed to add index item to \"%s\"", RelationGetRelationName(index))));
    }
    am_edit_finish(&edit);
    UnlockReleaseBuffer(p.ebuf);
    if (BufferIsValid(p.nbuf))
        UnlockReleaseBuffer(p.nbuf);

    ItemPointerSet(&self.tid, eblk, eoff);
    ItemPointerSet(&self.ntid, nblk, noff);
    self.version = version;

    // Move the insert hint forward past pages that were full (only if nobody moved it since).
    if (new_hint > hint) {
        Buffer mbuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
        LockBuffer(mbuf, BUFFER_LOCK_EXCLUSIVE);
        if (HnswPageGetMeta(BufferGetPage(mbuf))->insert_page == hint) {
            am_edit_start(&edit, index, !building);
            Page mpage = am_edit_page(&edit, mbuf, false);
            HnswPageGetMeta(mpage)->insert_page = new_hint;
            am_edit_finish(&edit);
        }
        UnlockReleaseBuffer(mbuf);
    }
    return self;
}

// Makes e the entry point when there is none or e's level is higher; `always`: in any case
// (the caller holds the exclusive update lock and found nothing live to link to).
void set_entry_point(Relation index, const HnswCandidate &e, bool always, bool building)
{
    Buffer mbuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
    LockBuffer(mbuf, BUFFER_LOCK_EXCLUSIVE);
    AmPageEdit edit;
    am_edit_start(&edit, index, !building);
    HnswMetaPage meta = HnswPageGetMeta(am_edit_page(&edit, mbuf, false));
    if (always || !ItemPointerIsValid(&meta->entry) || e.level > meta->entry_level) {
        meta->entry = e.tid;
        meta->entry_level = e.level;
        am_edit_finish(&edit);
    } else {
        am_edit_abort(&edit);
    }
    UnlockReleaseBuffer(mbuf);
}

// Adds heap_tid to an existing element with exactly this code; false if there is none with
// room among the level-0 results.
bool add_duplicate(HnswSearch *s, const HnswCandidate *found, int n, const void *code,
                   Size code_len, const uint8 *payload, Size payload_len, ItemPointer heap_tid,
                   bool building)
{
    const float self = s->info->dc(code, code);
    for (int i = 0; i < n; ++i) {
        const HnswCandidate &c = found[i];
        if (c.distance != self || c.heaptid_count == 0 || c.heaptid_count >= HNSW_HEAPTIDS)
            continue;
        Buffer buf = ReadBuffer(s->index, ItemPointerGetBlockNumber(&c.tid));
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(buf);
        HnswElementTuple etup = hnsw_get_element(page, ItemPointerGetOffsetNumber(&c.tid));
        bool fits = etup != nullptr && !etup->deleted && etup->version == c.version &&
                    etup->heaptid_count > 0 && etup->heaptid_count < HNSW_HEAPTIDS &&
                    etup->code_len == code_len &&
                    std::memcmp(hnsw_element_code(etup), code, code_len) == 0 &&
                    etup->payload_len == payload_len &&
                    (payload_len == 0 || std::memcmp(etup->data, payload, payload_len) == 0);
        if (fits) {
            AmPageEdit edit;
            am_edit_start(&edit, s->index, !building);
            page = am_edit_page(&edit, buf, false);
            etup = hnsw_get_element(page, ItemPointerGetOffsetNumber(&c.tid));
            etup->heaptids[etup->heaptid_count++] = *heap_tid;
            am_edit_finish(&edit);
        }
        UnlockReleaseBuffer(buf);
        if (fits)
            return true;
    }
    return false;
}

// A row whose vector equals a live element's (a "twin") that holds HNSW_HEAPTIDS heap TIDs
// already: the new element takes the twin's level-0 neighbours as its own and the twin's last
// list slot, so it has an in-link and the member it displaced keeps one through it. Linking it
// the general way fails with many twins: all are at the same distance from each other, the
// heuristic keeps whichever came first, no full list takes the newcomer, and the forced links
// that follow push other twins out of their last lists (2,804 of 3,119 elements unreachable
// after 3,000 duplicate inserts with m = 4). Returns false when no live twin is among `found`
// (then the general path inserts the row).
bool insert_twin(HnswSearch *s, const HnswCandidate *found, int n, const void *code,
                 Size code_len, const uint8 *payload, Size payload_len, ItemPointer heap_tid,
                 BlockNumber hint, bool building)
{
    const HnswIndexInfo *info = s->info;
    const float self = info->dc(code, code);
    HnswCandidate twin{};
    bool have = false;
    for (int i = 0; i < n && !have; ++i) {
        if (found[i].distance != self || found[i].heaptid_count == 0)
            continue;
        void *twin_code = nullptr;
        hnsw_load_codes(s, &found[i], 1, &twin_code);
        have = twin_code != nullptr && std::memcmp(twin_code, code, code_len) == 0;
        if (have)
            twin = found[i];
    }
    if (!have)
        return false;

    const int m = info->m;
    const int lm = hnsw_level_slot_count(0, m);
    auto *list = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * lm));
    int k = hnsw_read_links(s, twin, 0, list);
    // The new element's list: the twin's live members (dying ones are never linked by inserts),
    // and the twin itself when there is room.
    auto *links = static_cast<HnswCandidate *>(palloc0(sizeof(HnswCandidate) * (lm + 1)));
    int nl = 0;
    for (int i = 0; i < k; ++i) {
        HnswCandidate c;
        if (hnsw_load_candidate(s, &list[i], &c) && c.heaptid_count > 0)
            links[nl++] = c;
    }
    // The twin's list holds the twin inserted last (it took the twin's last slot), which may
    // still have room for this row's heap TID: then no new element at all.
    if (add_duplicate(s, links, nl, code, code_len, payload, payload_len, heap_tid, building))
        return true;
    if (nl < lm)
        links[nl++] = twin;
    HnswCandidate *chosen[1] = {links};
    int chosen_count[1] = {nl};
    HnswCandidate x = write_element(s->index, info, 0, code, code_len, payload, payload_len,
                                    heap_tid, chosen, chosen_count, hint, building);
    x.distance = self;

    // The twin's list: x appended, or in place of the last member (which x's list holds).
    auto *next = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * lm));
    std::memcpy(next, list, sizeof(ItemPointerData) * k);
    int count = k < lm ? k + 1 : k;
    next[count - 1] = x.tid;
    if (!hnsw_replace_links(s->index, twin, 0, m, list, k, next, count, building)) {
        // The twin's list changed meanwhile: link the general way (forcibly if need be).
        if (!hnsw_add_link(s, twin, x, code, 0, HnswLink::relink, building))
            hnsw_link_forcibly(s, x, code, &twin, 1, building);
    }
    return true;
}

// Loads the element at tid with its distance to `query` and a copy of its code.
bool load_element(HnswSearch *s, ItemPointer tid, const void *query, HnswCandidate *out,
                  void **code)
{
    Buffer buf = am_cache_pin(&s->cache, s->index, ItemPointerGetBlockNumber(tid));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    HnswElementTuple etup = hnsw_get_element(page, ItemPointerGetOffsetNumber(tid));
    bool ok = etup != nullptr && !etup->deleted;
    if (ok) {
        hnsw_check_code(s->index, s->info, etup, ItemPointerGetBlockNumber(tid),
                        ItemPointerGetOffsetNumber(tid));
        const char *c = hnsw_element_code(etup);
        hnsw_fill_candidate(out, s->info->dc(query, c), ItemPointerGetBlockNumber(tid),
                            ItemPointerGetOffsetNumber(tid), etup, page);
        *code = palloc(etup->code_len > 0 ? etup->code_len : 1);
        std::memcpy(*code, c, etup->code_len);
    }
    UnlockReleaseBuffer(buf);
    return ok;
}

// Sorts candidates (with their codes alongside) closest first; insertion sort, n is small.
void sort_with_codes(HnswCandidate *cands, void **codes, int n)
{
    for (int i = 1; i < n; ++i) {
        HnswCandidate c = cands[i];
        void *code = codes[i];
        int j = i - 1;
        while (j >= 0 && cands[j].distance > c.distance) {
            cands[j + 1] = cands[j];
            codes[j + 1] = codes[j];
            --j;
        }
        cands[j + 1] = c;
        codes[j + 1] = code;
    }
}

// How many of z's nearest known elements are asked to take z when it is re-homed.
constexpr int kRehomeTries = 3;

// z (code z_code) is about to leave `left`'s list on `level`: give it an in-link from its own
// neighbourhood instead. Asked, nearest to z first: the first members of z's own list (written
// closest first, so about its nearest) and `others` (the members `left` keeps, codes known).
// Each may take z with the heuristic and hands what it drops to z's list; if none does, the
// nearest member `left` keeps is made to (see the end). Without this, the only way to keep z reachable is a link from the new element,
// close to `left` but not necessarily to z; repeated, such links drift away from z (an outlier,
// which no full list keeps, most of all) until no walk that starts near z's vector comes by
// them: z reachable, yet not found by a search for its own vector.
//
// z's twins (elements with z's very vector, insert_twin's) are never asked: a twin's list
// holds z more often than not, so asking it "succeeds" without adding a link, yet the twin may
// be reachable only through z (insert_twin gives a new twin one in-link, from the twin whose
// slot it took). Accepting such a home left pairs of twins that linked only to each other once
// every other list had dropped them (2 of 63,000 elements after 15 s of six clients inserting
// rows and copies of rows with other filter values).
bool rehome(HnswSearch *s, const HnswCandidate &z, const void *z_code, ItemPointer left,
            ItemPointer e, int level, const HnswCandidate *others, void *const *other_codes,
            int n_others, bool building)
{
    const int m = s->info->m;
    const HnswIndexInfo *info = s->info;
    const Size z_len = quiver::core::code_size(info->representation, info->dimensions, z_code);
    auto twin_of_z = [&](const void *code) {
        return quiver::core::code_size(info->representation, info->dimensions, code) == z_len &&
               std::memcmp(code, z_code, z_len) == 0;
    };
    auto *list = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 2 * m));
    int n = hnsw_read_links(s, z, level, list);
    auto *near = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * (kRehomeTries + n_others)));
    int nn = 0;
    auto usable = [&](ItemPointer t) {
        if (ItemPointerEquals(t, left) || ItemPointerEquals(t, e) ||
            ItemPointerEquals(t, const_cast<ItemPointer>(&z.tid)))
            return false;
        if (s->usable != nullptr && !s->usable(s->usable_arg, t))
            return false;
        for (int j = 0; j < nn; ++j)
            if (ItemPointerEquals(t, &near[j].tid))
                return false;
        return true;
    };
    for (int i = 0, tried = 0; i < n && tried < kRehomeTries; ++i) {
        void *code;
        if (!usable(&list[i]) || !load_element(s, &list[i], z_code, &near[nn], &code))
            continue;
        const bool twin = twin_of_z(code);
        pfree(code);
        if (twin)
            continue;
        ++tried;
        if (near[nn].heaptid_count > 0 && near[nn].level >= level)
            ++nn;
    }
    pfree(list);
    const int first_kept = nn;  // near[first_kept ..) come from `others`
    for (int i = 0; i < n_others; ++i) {
        if (!usable(const_cast<ItemPointer>(&others[i].tid)) || others[i].heaptid_count == 0 ||
            twin_of_z(other_codes[i]))
            continue;
        near[nn] = others[i];
        near[nn].distance = s->info->dc(z_code, other_codes[i]);
        ++nn;
    }
    // The nearest of `others` (they stay reachable through `left`), taken before sorting.
    HnswCandidate forced_home{};
    bool can_force = false;
    for (int i = first_kept; i < nn; ++i)
        if (!can_force || near[i].distance < forced_home.distance) {
            forced_home = near[i];
            can_force = true;
        }
    std::sort(near, near + nn,
              [](const HnswCandidate &a, const HnswCandidate &b) { return a.distance < b.distance; });
    auto ask = [&](const HnswCandidate &w, HnswLink how) {
        HnswCandidate self = z;
        self.distance = w.distance;
        return hnsw_add_link(s, w, self, z_code, level, how, building);
    };
    for (int i = 0; i < Min(nn, kRehomeTries); ++i)
        if (ask(near[i], HnswLink::rehome))
            return true;
    // Forced, then, but only into a member `left` keeps: one of z's own neighbours may be
    // reachable only through z (z's list holds it, and z may be the one link it has), and
    // forcing z into it made islands of the two (4 of 302 elements unreachable in regress test
    // hnsw_insert_page, one run in four). Without any forced home, graphs built by inserts lost
    // about 5 points of recall (inner product on 3-d data: 0.84 against 0.89).
    return can_force && ask(forced_home, HnswLink::force_rehome);
}

}  // namespace

void hnsw_link_forcibly(HnswSearch *s, const HnswCandidate &self, const void *code,
                        const HnswCandidate *near, int n, bool building)
{
    // Closest first, never stranding the member e displaces; then, as a last resort, into the
    // closest neighbour's list whatever it drops.
    for (int i = 0; i < n; ++i) {
        HnswCandidate e = self;
        e.distance = near[i].distance;
        if (hnsw_add_link(s, near[i], e, code, 0, HnswLink::force_relink, building))
            return;
    }
    if (n > 0) {
        HnswCandidate e = self;
        e.distance = near[0].distance;
        hnsw_add_link(s, near[0], e, code, 0, HnswLink::force, building);
    }
}

bool hnsw_replace_links(Relation index, const HnswCandidate &owner, int level, int m,
                        const ItemPointerData *expected, int n_expected,
                        const ItemPointerData *tids, int n, bool building)
{
    const int first = hnsw_level_first_slot(level, m);
    const int slots = hnsw_level_slot_count(level, m);
    Buffer buf = ReadBuffer(index, ItemPointerGetBlockNumber(&owner.ntid));
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    OffsetNumber off = ItemPointerGetOffsetNumber(&owner.ntid);
    HnswNeighborTuple ntup = hnsw_get_neighbors(BufferGetPage(buf), off);
    bool same = ntup != nullptr && ntup->version == owner.version && ntup->count >= first + slots;
    if (same) {
        const ItemPointerData *run = ntup->tids + first;
        int k = 0;
        while (k < slots && ItemPointerIsValid(&run[k]))
            ++k;
        same = k == n_expected;
        for (int i = 0; same && i < k; ++i)
            same = ItemPointerEquals(const_cast<ItemPointer>(&run[i]),
                                     const_cast<ItemPointer>(&expected[i]));
    }
    if (same) {
        AmPageEdit edit;
        am_edit_start(&edit, index, !building);
        Page page = am_edit_page(&edit, buf, false);
        ntup = hnsw_get_neighbors(page, off);
        ItemPointerData *run = ntup->tids + first;
        for (int i = 0; i < slots; ++i) {
            if (i < n)
                run[i] = tids[i];
            else
                ItemPointerSetInvalid(&run[i]);
        }
        am_edit_finish(&edit);
    }
    UnlockReleaseBuffer(buf);
    return same;
}

namespace {

// Last resort of HnswLink::force: z, which n drops to take e, moves into e's full list in place
// of e's last (farthest) member. Safe because the callers force only an element that nothing
// reaches yet (a new one, or one VACUUM reconnects): no member of its list depends on it.
void take_slot(HnswSearch *s, const HnswCandidate &e, const HnswCandidate &z, int level,
               bool building)
{
    const int m = s->info->m;
    auto *old = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 2 * m));
    auto *next = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 2 * m));
    for (int attempt = 0; attempt < 5; ++attempt) {
        const int k = hnsw_read_links(s, e, level, old);
        bool there = false;
        for (int i = 0; i < k && !there; ++i)
            there = ItemPointerEquals(&old[i], const_cast<ItemPointer>(&z.tid));
        if (there || k == 0)
            break;  // nothing to do, or e's tuple is gone
        std::memcpy(next, old, sizeof(ItemPointerData) * k);
        int count = k;
        if (count < hnsw_level_slot_count(level, m))
            next[count++] = z.tid;
        else
            next[count - 1] = z.tid;
        if (hnsw_replace_links(s->index, e, level, m, old, k, next, count, building))
            break;
    }
    pfree(old);
    pfree(next);
}

// True when `from`'s list on `level` holds `to`.
bool links_to(HnswSearch *s, const HnswCandidate &from, int level, const ItemPointerData &to)
{
    auto *links = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 2 * s->info->m));
    const int n = hnsw_read_links(s, from, level, links);
    bool found = false;
    for (int k = 0; k < n && !found; ++k)
        found = ItemPointerEquals(&links[k], const_cast<ItemPointer>(&to));
    pfree(links);
    return found;
}

// The member (index into cands, in[] set, not e) that e displaces from a full list when it must
// take a place there: the farthest from the list's owner among those e links to itself, which
// then stay reachable through e (the member displaced is relinked, and a member already in e's
// list needs nothing more); else the farthest. Choosing by distance alone, an insert's last
// resort could strand a member whose only in-link it took (seen in TAP 006 with m = 4).
int forced_out(HnswSearch *s, const HnswCandidate &e, int level, const HnswCandidate *cands,
               const bool *in, int nc, int e_at)
{
    auto *elinks = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 2 * s->info->m));
    const int ne = hnsw_read_links(s, e, level, elinks);  // once, not once per member
    int farthest = -1;
    int chosen = -1;
    for (int i = nc - 1; i >= 0 && chosen < 0; --i) {
        if (!in[i] || i == e_at)
            continue;
        if (farthest < 0)
            farthest = i;
        for (int k = 0; k < ne && chosen < 0; ++k)
            if (ItemPointerEquals(&elinks[k], const_cast<ItemPointer>(&cands[i].tid)))
                chosen = i;
    }
    pfree(elinks);
    return chosen >= 0 ? chosen : farthest;
}

}  // namespace

bool hnsw_add_link(HnswSearch *s, const HnswCandidate &n, const HnswCandidate &e,
                   const void *e_code, int level, HnswLink mode, bool building)
{
    const bool force = mode == HnswLink::force_relink || mode == HnswLink::force ||
                       mode == HnswLink::force_rehome;
    const bool relink = mode != HnswLink::prune;
    // Re-homing z does not re-home what z's new owner drops (that only goes to z's list).
    const bool nested = mode == HnswLink::rehome || mode == HnswLink::force_rehome;
    const int m = s->info->m;
    const int lm = hnsw_level_slot_count(level, m);
    const int first = hnsw_level_first_slot(level, m);
    auto *old = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * lm));
    auto *next = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (lm + 1)));
    auto *cands = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * (lm + 1)));
    auto *codes = static_cast<void **>(palloc(sizeof(void *) * (lm + 1)));
    auto *keep = static_cast<int *>(palloc(sizeof(int) * (lm + 1)));
    void *n_code = nullptr;

    for (int attempt = 0; attempt < 5; ++attempt) {
        // Read n's current list (share lock), decide without locks, then compare-and-swap.
        Buffer buf = am_cache_pin(&s->cache, s->index, ItemPointerGetBlockNumber(&n.ntid));
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        HnswNeighborTuple ntup =
            hnsw_get_neighbors(BufferGetPage(buf), ItemPointerGetOffsetNumber(&n.ntid));
        int k = -1;
        if (ntup != nullptr && ntup->version == n.version && ntup->count >= first + lm) {
            k = 0;
            while (k < lm && ItemPointerIsValid(&ntup->tids[first + k])) {
                old[k] = ntup->tids[first + k];
                ++k;
            }
        }
        UnlockReleaseBuffer(buf);
        if (k < 0)
            return false;  // n was deleted or its slot reused
        for (int i = 0; i < k; ++i)
            if (ItemPointerEquals(&old[i], const_cast<ItemPointer>(&e.tid)))
                return true;

        int count;
        if (k < lm) {
            std::memcpy(next, old, sizeof(ItemPointerData) * k);
            next[k] = e.tid;
            count = k + 1;
        } else if (mode == HnswLink::append) {
            return false;
        } else {
            if (n_code == nullptr) {
                HnswCandidate self;
                ItemPointerData ntid = n.tid;
                if (!load_element(s, &ntid, e_code, &self, &n_code) || self.version != n.version)
                    return false;
            }
            // Candidates: n's live neighbours and e, by distance to n; the heuristic decides.
            int nc = 0;
            for (int i = 0; i < k; ++i) {
                if (!load_element(s, &old[i], n_code, &cands[nc], &codes[nc]))
                    continue;
                if (cands[nc].heaptid_count == 0) {  // dying: let it go now
                    pfree(codes[nc]);
                    continue;
                }
                ++nc;
            }
            cands[nc] = e;
            codes[nc] = const_cast<void *>(e_code);
            ++nc;
            sort_with_codes(cands, codes, nc);
            // Topped up: a full list loses one member at most, so few lose their last in-link.
            int kept = hnsw_select_neighbors_filled(s->info, cands, codes, nc, lm, keep);
            bool *in = static_cast<bool *>(palloc0(nc));  // cands[i] stays in n's list
            for (int i = 0; i < kept; ++i)
                in[keep[i]] = true;
            int e_at = 0;  // e's index in cands
            while (codes[e_at] != e_code)
                ++e_at;
            if (!in[e_at] && force) {
                // e must get this in-link (it would be unreachable otherwise): it takes the
                // place of a kept neighbour of n, or joins a list with room.
                if (kept == lm)
                    in[forced_out(s, e, level, cands, in, nc, e_at)] = false;
                in[e_at] = true;
            }
            bool has_e = in[e_at];
            count = 0;
            for (int i = 0; i < nc; ++i)
                if (in[i])
                    next[count++] = cands[i].tid;
            // A live member that loses its place here may lose its only way in, so it gets
            // another link first (no crash in between can leave it stranded): from its own
            // nearest neighbours when one takes it, else from e (new, close to n; e's list
            // only takes it when there is room: evicting one of e's members could strand that
            // one instead). If neither does, n keeps its list (unless forced).
            if (has_e && relink) {
                // The members n keeps (not e), which may re-home the one it drops.
                auto *kept_cands = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * nc));
                auto *kept_codes = static_cast<void **>(palloc(sizeof(void *) * nc));
                int n_kept = 0;
                for (int i = 0; i < nc; ++i)
                    if (in[i] && i != e_at) {
                        kept_cands[n_kept] = cands[i];
                        kept_codes[n_kept++] = codes[i];
                    }
                for (int i = 0; i < nc && has_e; ++i) {
                    if (in[i] || i == e_at)
                        continue;
                    HnswCandidate z = cands[i];
                    if (links_to(s, e, level, z.tid))
                        continue;  // e keeps z reachable already
                    if (!nested && rehome(s, z, codes[i], const_cast<ItemPointer>(&n.tid),
                                          const_cast<ItemPointer>(&e.tid), level, kept_cands,
                                          kept_codes, n_kept, building))
                        continue;
                    z.distance = s->info->dc(e_code, codes[i]);
                    if (hnsw_add_link(s, e, z, codes[i], level, HnswLink::append, building))
                        continue;
                    if (mode == HnswLink::force)
                        take_slot(s, e, z, level, building);
                    else
                        has_e = false;
                }
            }
            pfree(in);
            for (int i = 0; i < nc; ++i)
                if (codes[i] != e_code)
                    pfree(codes[i]);
            if (!has_e)
                return false;
        }
        if (hnsw_replace_links(s->index, n, level, m, old, k, next, count, building))
            return true;
        CHECK_FOR_INTERRUPTS();
    }
    return false;
}

bool hnsw_insert_value(Relation index, Datum value, const uint8 *payload, Size payload_len,
                       ItemPointer heap_tid, bool building)
{
    const HnswIndexInfo *info = hnsw_index_info(index);
    Size code_len;
    uint32 dim;
    void *code = am_value_code(info->opclass, value, &code_len, &dim, false);
    if (code == nullptr)
        return false;
    am_check_dimensions(info->opclass, dim, info->dimensions);
    hnsw_insert_code(index, code, code_len, payload, payload_len, heap_tid, building);
    return true;
}

namespace {

bool any_live(const HnswCandidate *found, int n)
{
    for (int i = 0; i < n; ++i)
        if (found[i].heaptid_count > 0)
            return true;
    return false;
}

// Level 0 searched from the entry point itself, not from where the descent through the upper
// levels ended: while the result set holds no live element, every dying one met is expanded, so
// this walks all of level 0 the entry point reaches. The results replace found[] (room for ef);
// true when one of them is live.
bool search_from_entry(HnswSearch *s, ItemPointer entry, int ef, HnswCandidate *found, int *n)
{
    HnswCandidate ep;
    if (found == nullptr || !hnsw_load_candidate(s, entry, &ep))
        return false;
    hnsw_search_layer(s, &ep, 1, ef, 0, true);
    *n = hnsw_take_results(s, found);
    return any_live(found, *n);
}

}  // namespace

void hnsw_insert_code(Relation index, const void *code, Size code_len, const uint8 *payload,
                      Size payload_len, ItemPointer heap_tid, bool building)
{
    const HnswIndexInfo *info = hnsw_index_info(index);
    const int m = info->m;
    const int ef = info->ef_construction;
    const int level = hnsw_random_level(m);

    LOCKMODE mode = ShareLock;
    LockPage(index, HNSW_UPDATE_LOCK, mode);

    HnswSearch *s = static_cast<HnswSearch *>(palloc(sizeof(HnswSearch)));
    hnsw_search_init(s, index, info, code, ef);
    auto **found = static_cast<HnswCandidate **>(palloc(sizeof(HnswCandidate *) * (level + 1)));
    auto *found_count = static_cast<int *>(palloc(sizeof(int) * (level + 1)));

    ItemPointerData entry;
    int entry_level;
    BlockNumber hint;
    bool alone = false;  // no live element is reachable: the new one becomes the entry point
    for (;;) {
        hnsw_read_entry(index, &entry, &entry_level, &hint);
        bool entry_changes = !ItemPointerIsValid(&entry) || level > entry_level;
        if (entry_changes && mode == ShareLock) {
            UnlockPage(index, HNSW_UPDATE_LOCK, mode);
            mode = ExclusiveLock;
            LockPage(index, HNSW_UPDATE_LOCK, mode);
            continue;
        }
        hnsw_find_neighbors(s, &entry, entry_level, level, ef, found, found_count);
        if (ItemPointerIsValid(&entry) && !any_live(found[0], found_count[0])) {
            // Nothing live to link to: every element on the way is dying (VACUUM is clearing
            // the index out) or the entry point could not be read. The new element must then
            // become the entry point, or nothing would ever reach it: that takes the exclusive
            // lock, and a second look (another insert may have become the entry meanwhile).
            if (mode == ShareLock) {
                UnlockPage(index, HNSW_UPDATE_LOCK, mode);
                mode = ExclusiveLock;
                LockPage(index, HNSW_UPDATE_LOCK, mode);
                continue;
            }
            alone = !search_from_entry(s, &entry, ef, found[0], &found_count[0]);
        }
        break;
    }

    if (found_count[0] > 0 &&
        (add_duplicate(s, found[0], found_count[0], code, code_len, payload, payload_len, heap_tid,
                       building) ||
         insert_twin(s, found[0], found_count[0], code, code_len, payload, payload_len, heap_tid,
                     hint, building))) {
        hnsw_search_end(s);
        UnlockPage(index, HNSW_UPDATE_LOCK, mode);
        return;
    }

    // Choose neighbours per level with the heuristic, never dying elements.
    const int top = ItemPointerIsValid(&entry) ? Min(level, entry_level) : -1;
    auto **chosen = static_cast<HnswCandidate **>(palloc0(sizeof(HnswCandidate *) * (level + 1)));
    auto *chosen_count = static_cast<int *>(palloc0(sizeof(int) * (level + 1)));
    for (int l = 0; l <= top; ++l) {
        int n = 0;
        for (int i = 0; i < found_count[l]; ++i)
            if (found[l][i].heaptid_count > 0)
                found[l][n++] = found[l][i];
        auto **codes = static_cast<void **>(palloc(sizeof(void *) * (n + 1)));
        hnsw_load_codes(s, found[l], n, codes);
        // Level 0 keeps one slot free: a member that a neighbour's full list drops to take the
        // new element can then always move into the new element's list (under ties, when every
        // candidate is as close as every other, that is how the new element gets an in-link
        // at all without stranding anyone).
        const int lm = hnsw_level_slot_count(l, m) - (l == 0 ? 1 : 0);
        auto *keep = static_cast<int *>(palloc(sizeof(int) * lm));
        // Heuristic, then topped up with the closest others, as the build does.
        int kept = hnsw_select_neighbors_filled(info, found[l], codes, n, lm, keep);
        chosen[l] = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * (kept + 1)));
        for (int i = 0; i < kept; ++i)
            chosen[l][i] = found[l][keep[i]];
        chosen_count[l] = kept;
        for (int i = 0; i < n; ++i)
            if (codes[i] != nullptr)
                pfree(codes[i]);
    }

    HnswCandidate self = write_element(index, info, level, code, code_len, payload, payload_len,
                                       heap_tid, chosen, chosen_count, hint, building);

    for (int l = top; l >= 0; --l) {
        bool linked = false;
        const HnswLink mode = l == 0 ? HnswLink::relink : HnswLink::prune;
        for (int i = 0; i < chosen_count[l]; ++i) {
            HnswCandidate e = self;
            e.distance = chosen[l][i].distance;
            linked |= hnsw_add_link(s, chosen[l][i], e, code, l, mode, building);
        }
        // Level 0 must link to the new element, or no scan could ever find it.
        if (l == 0 && !linked)
            hnsw_link_forcibly(s, self, code, chosen[0], chosen_count[0], building);
    }
    hnsw_search_end(s);

    if (!ItemPointerIsValid(&entry) || level > entry_level || alone)
        set_entry_point(index, self, alone, building);

    UnlockPage(index, HNSW_UPDATE_LOCK, mode);
}

bool hnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation,
                IndexUniqueCheck, bool, IndexInfo *)
{
    if (isnull[0])
        return false;
    MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "hnsw insert",
                                              ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(ctx);
    Size payload_len = 0;
    uint8 *payload = am_row_payload(index, values, isnull, &payload_len);
    hnsw_insert_value(index, values[0], payload, payload_len, heap_tid, false);
    MemoryContextSwitchTo(old);
    MemoryContextDelete(ctx);
    return false;
}

}  // namespace quiver::pg
