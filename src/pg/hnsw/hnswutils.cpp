// hnsw helpers shared by build, insert, scan and vacuum: metapage and opclass info, page edits,
// value -> code conversion, heaps, the visited set and the on-disk graph walk (buffer hints are in
// hnswbufcache.cpp). Plain structs in palloc'd memory only (no C++ object with a destructor),
// because nearly everything here can ereport.
#include "quiver/pg/hnsw.h"
#include "quiver/pg/filter_columns.h"
#include "quiver/pg/types.h"

extern "C" {
#include "common/pg_prng.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/varbit.h"
}

#include "quiver/core/kernels.h"

#include <cmath>
#include <cstring>

using quiver::core::Metric;
using quiver::core::Representation;

namespace quiver::pg {

// ---- opclass and metapage info ---------------------------------------------------------------

const QuiverOpclassInfo *hnsw_opclass_info(Relation index)
{
    return am_opclass_info(index, HNSW_INFO_PROC, "hnsw");
}

static void make_dc(HnswIndexInfo *info)
{
    if (!quiver::core::make_distance_computer(info->representation, info->metric,
                                              info->dimensions, &info->dc))
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("hnsw index has an unsupported representation/metric pair")));
}

// A copy in the caller's memory context: rd_amcache is freed by any relcache invalidation,
// which can arrive in the middle of a scan or insert (every lock acquisition processes them).
static const HnswIndexInfo *copy_info(const HnswIndexInfo *cached)
{
    auto *copy = static_cast<HnswIndexInfo *>(palloc(sizeof(HnswIndexInfo)));
    *copy = *cached;
    // The kernel table may have changed (quiver.simd); the computer follows it.
    if (copy->dc.table != &quiver::core::kernels())
        make_dc(copy);
    return copy;
}

const HnswIndexInfo *hnsw_index_info(Relation index)
{
    auto *cached = static_cast<HnswIndexInfo *>(index->rd_amcache);
    if (cached != nullptr)
        return copy_info(cached);

    Buffer buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    HnswMetaPage meta = HnswPageGetMeta(page);
    if (HnswPageGetOpaque(page)->page_id != HNSW_PAGE_ID || meta->magic != HNSW_MAGIC)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" is not an hnsw index", RelationGetRelationName(index))));
    if (meta->version < HNSW_MIN_FORMAT_VERSION || meta->version > HNSW_FORMAT_VERSION)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("hnsw index \"%s\" has format version %u, expected %d to %d",
                               RelationGetRelationName(index), meta->version,
                               HNSW_MIN_FORMAT_VERSION, HNSW_FORMAT_VERSION),
                        errhint("REINDEX the index.")));
    if (meta->key_columns != RelationGetNumberOfAttributes(index))
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("hnsw index \"%s\" metapage has %u key columns, the index has %d",
                               RelationGetRelationName(index), meta->key_columns,
                               RelationGetNumberOfAttributes(index)),
                        errhint("REINDEX the index.")));
    HnswIndexInfo tmp{};
    tmp.dimensions = meta->dimensions;
    tmp.m = meta->m;
    tmp.ef_construction = meta->ef_construction;
    tmp.representation = static_cast<Representation>(meta->representation);
    tmp.metric = static_cast<Metric>(meta->metric);
    tmp.normalized = meta->normalized != 0;
    tmp.filter_columns = meta->key_columns - 1;
    UnlockReleaseBuffer(buf);

    tmp.opclass = hnsw_opclass_info(index);
    make_dc(&tmp);
    tmp.code_len = tmp.representation == Representation::sparse
                       ? 0
                       : static_cast<uint32>(quiver::core::code_size(tmp.representation,
                                                                     tmp.dimensions, nullptr));
    auto *info = static_cast<HnswIndexInfo *>(MemoryContextAlloc(index->rd_indexcxt, sizeof tmp));
    *info = tmp;
    index->rd_amcache = info;
    return copy_info(info);
}

void hnsw_read_entry(Relation index, ItemPointer entry, int *entry_level, BlockNumber *insert_page)
{
    Buffer buf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    HnswMetaPage meta = HnswPageGetMeta(BufferGetPage(buf));
    *entry = meta->entry;
    *entry_level = meta->entry_level;
    if (insert_page != nullptr)
        *insert_page = meta->insert_page;
    UnlockReleaseBuffer(buf);
}

void hnsw_init_page(Page page, uint16 page_type)
{
    PageInit(page, BLCKSZ, sizeof(HnswPageOpaqueData));
    HnswPageOpaque op = HnswPageGetOpaque(page);
    op->page_type = page_type;
    op->flags = 0;
    op->unused = 0;
    op->page_id = HNSW_PAGE_ID;
}

Buffer hnsw_new_buffer(Relation index, ForkNumber fork)
{
    Buffer buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    return buf;
}

void hnsw_fill_metapage(Page page, uint32 dimensions, int m, int ef_construction,
                        const QuiverOpclassInfo *opclass, int key_columns)
{
    hnsw_init_page(page, HNSW_PAGE_META);
    HnswMetaPage meta = HnswPageGetMeta(page);
    std::memset(meta, 0, sizeof *meta);
    meta->magic = HNSW_MAGIC;
    meta->version = HNSW_FORMAT_VERSION;
    meta->dimensions = dimensions;
    meta->m = static_cast<uint16>(m);
    meta->ef_construction = static_cast<uint16>(ef_construction);
    meta->representation = static_cast<uint8>(opclass->representation);
    meta->metric = static_cast<uint8>(opclass->metric);
    meta->normalized = opclass->normalize ? 1 : 0;
    meta->key_columns = static_cast<uint8>(key_columns);
    ItemPointerSetInvalid(&meta->entry);
    meta->entry_level = -1;
    meta->insert_page = HNSW_FIRST_ELEMENT_BLKNO;
    reinterpret_cast<PageHeader>(page)->pd_lower =
        static_cast<LocationIndex>(reinterpret_cast<char *>(meta) + sizeof *meta -
                                   reinterpret_cast<char *>(page));
}

int hnsw_random_level(int m)
{
    double u = 1.0 - pg_prng_double(&pg_global_prng_state);  // (0, 1]
    double level = -std::log(u) / std::log(static_cast<double>(m));
    int cap = hnsw_max_level(m);
    return level >= cap ? cap : static_cast<int>(level);
}

// ---- tuples -------------------------------------------------------------------------------------

HnswElementTuple hnsw_get_element(Page page, OffsetNumber off)
{
    if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
        return nullptr;
    ItemId iid = PageGetItemId(page, off);
    if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) < offsetof(HnswElementTupleData, data))
        return nullptr;
    auto *t = reinterpret_cast<HnswElementTuple>(PageGetItem(page, iid));
    if (t->type != HNSW_ELEMENT_TUPLE ||
        ItemIdGetLength(iid) < offsetof(HnswElementTupleData, data) + MAXALIGN(t->payload_len) + t->code_len)
        return nullptr;
    return t;
}

void hnsw_check_code(Relation index, const HnswIndexInfo *info, HnswElementTuple etup,
                     BlockNumber blkno, OffsetNumber off)
{
    uint32 expected = info->code_len;
    if (expected == 0) {  // sparse: header, then nnz indices and nnz values
        int32 nnz = -1;
        if (etup->code_len >= 3 * sizeof(int32))
            std::memcpy(&nnz, hnsw_element_code(etup) + sizeof(int32), sizeof nnz);
        expected = nnz >= 0 && static_cast<uint32>(nnz) <= info->dimensions
                       ? static_cast<uint32>(3 * sizeof(int32) + nnz * (sizeof(int32) + sizeof(float)))
                       : UINT32_MAX;
    }
    if (likely(etup->code_len == expected))
        return;
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("hnsw index \"%s\" element (%u,%u) has a code of %u bytes, expected %s",
                           RelationGetRelationName(index), blkno, off, etup->code_len,
                           expected == UINT32_MAX ? "a valid sparse layout"
                                                  : psprintf("%u", expected))));
}

HnswNeighborTuple hnsw_get_neighbors(Page page, OffsetNumber off)
{
    if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
        return nullptr;
    ItemId iid = PageGetItemId(page, off);
    if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) < offsetof(HnswNeighborTupleData, tids))
        return nullptr;
    auto *t = reinterpret_cast<HnswNeighborTuple>(PageGetItem(page, iid));
    if (t->type != HNSW_NEIGHBOR_TUPLE ||
        ItemIdGetLength(iid) < offsetof(HnswNeighborTupleData, tids) + t->count * sizeof(ItemPointerData))
        return nullptr;
    return t;
}

// ---- heaps ---------------------------------------------------------------------------------------

void hnsw_heap_init(HnswHeap *heap, int capacity)
{
    heap->capacity = capacity > 4 ? capacity : 4;
    heap->count = 0;
    heap->items = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * heap->capacity));
}

static inline void heap_grow(HnswHeap *heap)
{
    if (heap->count < heap->capacity)
        return;
    heap->capacity *= 2;
    heap->items = static_cast<HnswCandidate *>(
        repalloc_huge(heap->items, sizeof(HnswCandidate) * static_cast<Size>(heap->capacity)));
}

template <bool Max> static inline bool before(const HnswCandidate &a, const HnswCandidate &b)
{
    return Max ? a.distance > b.distance : a.distance < b.distance;
}

template <bool Max> static inline void heap_push(HnswHeap *heap, const HnswCandidate &c)
{
    heap_grow(heap);
    int i = heap->count++;
    HnswCandidate *items = heap->items;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!before<Max>(c, items[parent]))
            break;
        items[i] = items[parent];
        i = parent;
    }
    items[i] = c;
}

template <bool Max> static inline HnswCandidate heap_pop(HnswHeap *heap)
{
    HnswCandidate *items = heap->items;
    HnswCandidate top = items[0];
    HnswCandidate last = items[--heap->count];
    int n = heap->count;
    int i = 0;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && before<Max>(items[child + 1], items[child]))
            ++child;
        if (!before<Max>(items[child], last))
            break;
        items[i] = items[child];
        i = child;
    }
    if (n > 0)
        items[i] = last;
    return top;
}

void hnsw_minheap_push(HnswHeap *heap, const HnswCandidate &c) { heap_push<false>(heap, c); }
HnswCandidate hnsw_minheap_pop(HnswHeap *heap) { return heap_pop<false>(heap); }
void hnsw_maxheap_push(HnswHeap *heap, const HnswCandidate &c) { heap_push<true>(heap, c); }
HnswCandidate hnsw_maxheap_pop(HnswHeap *heap) { return heap_pop<true>(heap); }

// ---- visited set ---------------------------------------------------------------------------------

static inline uint64 tid_key(ItemPointer tid)
{
    return (static_cast<uint64>(ItemPointerGetBlockNumberNoCheck(tid)) << 16) |
           ItemPointerGetOffsetNumberNoCheck(tid);
}

static inline uint32 key_hash(uint64 key)
{
    key *= UINT64CONST(0x9E3779B97F4A7C15);
    return static_cast<uint32>(key >> 32) ^ static_cast<uint32>(key);
}

void hnsw_visited_init(HnswVisited *v, uint32 capacity)
{
    uint32 size = 64;
    while (size < capacity * 2)
        size <<= 1;
    v->slots = static_cast<uint64 *>(palloc0(sizeof(uint64) * size));
    v->mask = size - 1;
    v->count = 0;
}

void hnsw_visited_clear(HnswVisited *v)
{
    if (v->count == 0)
        return;
    std::memset(v->slots, 0, sizeof(uint64) * (static_cast<Size>(v->mask) + 1));
    v->count = 0;
}

static void visited_grow(HnswVisited *v)
{
    uint64 *old = v->slots;
    uint32 old_size = v->mask + 1;
    uint32 size = old_size * 2;
    v->slots = static_cast<uint64 *>(MemoryContextAllocExtended(
        GetMemoryChunkContext(old), sizeof(uint64) * size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
    v->mask = size - 1;
    for (uint32 i = 0; i < old_size; ++i) {
        if (old[i] == 0)
            continue;
        uint32 h = key_hash(old[i]) & v->mask;
        while (v->slots[h] != 0)
            h = (h + 1) & v->mask;
        v->slots[h] = old[i];
    }
    pfree(old);
}

bool hnsw_visited_add(HnswVisited *v, ItemPointer tid)
{
    uint64 key = tid_key(tid);
    uint32 h = key_hash(key) & v->mask;
    for (;;) {
        uint64 s = v->slots[h];
        if (s == key)
            return false;
        if (s == 0)
            break;
        h = (h + 1) & v->mask;
    }
    v->slots[h] = key;
    if (++v->count * 2 > v->mask + 1)
        visited_grow(v);
    return true;
}

bool hnsw_visited_contains(const HnswVisited *v, ItemPointer tid)
{
    uint64 key = tid_key(tid);
    uint32 h = key_hash(key) & v->mask;
    for (;;) {
        uint64 s = v->slots[h];
        if (s == key)
            return true;
        if (s == 0)
            return false;
        h = (h + 1) & v->mask;
    }
}

// ---- graph walks ---------------------------------------------------------------------------------

void hnsw_search_init(HnswSearch *s, Relation index, const HnswIndexInfo *info, const void *query,
                      int ef_hint)
{
    s->index = index;
    s->info = info;
    s->query = query;
    hnsw_visited_init(&s->visited, static_cast<uint32>(ef_hint) * info->m * 2);
    hnsw_heap_init(&s->candidates, ef_hint * 2);
    hnsw_heap_init(&s->results, ef_hint + 1);
    s->discarded = nullptr;
    s->filter = nullptr;
    am_cache_init(&s->cache, index);
    s->visited_tuples = 0;
    s->matched = 0;
    s->max_visited = 0;
    s->have_fallback = false;
    // Header and code of an element, up to 10 cache lines (the hardware prefetcher follows
    // longer codes on its own once they are being read).
    Size code = 256;
    switch (info->representation) {
    case Representation::f32: code = sizeof(float) * info->dimensions; break;
    case Representation::f16: code = sizeof(uint16) * info->dimensions; break;
    case Representation::bits: code = (info->dimensions + 7) / 8; break;
    case Representation::sparse: break;
    }
    s->prefetch_bytes = static_cast<uint32>(Min(offsetof(HnswElementTupleData, data) + code, 640));
    ItemPointerSetInvalid(&s->skip);
    s->usable = nullptr;
    s->usable_arg = nullptr;
    s->tids_buf = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 2 * info->m));
    s->fresh_buf = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * 2 * info->m));
    s->found_buf = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * 2 * info->m));
    s->bufs_buf = static_cast<Buffer *>(palloc(sizeof(Buffer) * 2 * info->m));
}

void hnsw_search_end(HnswSearch *s) { am_cache_release(&s->cache); }

static inline float distance_to(const HnswSearch *s, const void *code)
{
    return s->query != nullptr ? s->info->dc(s->query, code) : 0.0f;
}

// Hints the CPU at c's neighbour tuple, through the buffer its page was last seen in (unpinned
// on purpose: a stale hint only wastes the prefetch).
static inline void prefetch_links(const HnswSearch *s, const HnswCandidate &c)
{
    if (c.ntup_pos == 0 || c.ntup_pos + 256 > BLCKSZ)
        return;
    Buffer b = am_cache_peek(&s->cache, ItemPointerGetBlockNumberNoCheck(&c.ntid));
    if (b == InvalidBuffer)
        return;
    const char *t = static_cast<const char *>(BufferGetPage(b)) + c.ntup_pos;
    for (int line = 0; line < 256; line += 64)
        __builtin_prefetch(t + line);
}

// 1 when the scan has a filter and etup's payload fails it.
static inline uint8 filtered_out(const HnswSearch *s, HnswElementTuple etup)
{
    if (s->filter == nullptr)
        return 0;
    return am_filter_matches(s->filter, reinterpret_cast<const uint8 *>(etup->data),
                             etup->payload_len) ? 0 : 1;
}

// On level 0 an element the filter rejects is walked through like a dying one, never returned.
static inline HnswCandidate level0_view(const HnswCandidate &c)
{
    HnswCandidate v = c;
    if (v.filtered_out)
        v.heaptid_count = 0;
    return v;
}

bool hnsw_load_candidate(HnswSearch *s, ItemPointer tid, HnswCandidate *out)
{
    BlockNumber blkno = ItemPointerGetBlockNumber(tid);
    Buffer buf = am_cache_pin(&s->cache, s->index, blkno);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    HnswElementTuple etup = hnsw_get_element(page, ItemPointerGetOffsetNumber(tid));
    bool ok = etup != nullptr && !etup->deleted;
    if (ok) {
        hnsw_check_code(s->index, s->info, etup, blkno, ItemPointerGetOffsetNumber(tid));
        hnsw_fill_candidate(out, distance_to(s, hnsw_element_code(etup)), blkno,
                       ItemPointerGetOffsetNumber(tid), etup, page);
        out->filtered_out = filtered_out(s, etup);
    }
    UnlockReleaseBuffer(buf);
    return ok;
}

int hnsw_read_links(HnswSearch *s, const HnswCandidate &c, int level, ItemPointerData *out)
{
    const int m = s->info->m;
    if (c.level < level)
        return 0;
    Buffer buf = am_cache_pin(&s->cache, s->index, ItemPointerGetBlockNumber(&c.ntid));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    HnswNeighborTuple ntup = hnsw_get_neighbors(BufferGetPage(buf), ItemPointerGetOffsetNumber(&c.ntid));
    int n = 0;
    const int first = hnsw_level_first_slot(level, m);
    const int slots = hnsw_level_slot_count(level, m);
    if (ntup != nullptr && ntup->version == c.version && ntup->count >= first + slots) {
        const ItemPointerData *tids = ntup->tids + first;
        for (int i = 0; i < slots; ++i) {
            if (!ItemPointerIsValid(&tids[i]))
                break;
            out[n++] = tids[i];
        }
    }
    UnlockReleaseBuffer(buf);
    return n;
}

static inline void offer(HnswSearch *s, const HnswCandidate &c, int ef)
{
    HnswHeap *w = &s->results;
    if (c.heaptid_count == 0) {
        // Dying (VACUUM removed its heap TIDs): walk through it, never return or link it.
        if (w->count < ef || c.distance < w->items[0].distance)
            hnsw_minheap_push(&s->candidates, c);
        if (!s->have_fallback || c.distance < s->fallback.distance) {
            s->fallback = c;
            s->have_fallback = true;
        }
        return;
    }
    if (w->count < ef || c.distance < w->items[0].distance) {
        hnsw_minheap_push(&s->candidates, c);
        if (ItemPointerEquals(const_cast<ItemPointer>(&c.tid), &s->skip))
            return;
        hnsw_maxheap_push(w, c);
        if (w->count > ef) {
            HnswCandidate out = hnsw_maxheap_pop(w);
            if (s->discarded != nullptr)
                hnsw_minheap_push(s->discarded, out);
        }
    } else if (s->discarded != nullptr) {
        hnsw_minheap_push(s->discarded, c);
    }
}

void hnsw_search_layer(HnswSearch *s, const HnswCandidate *eps, int n_eps, int ef, int level,
                       bool reset_visited)
{
    if (reset_visited)
        hnsw_visited_clear(&s->visited);
    s->candidates.count = 0;
    s->results.count = 0;
    s->have_fallback = false;

    for (int i = 0; i < n_eps; ++i) {
        hnsw_visited_add(&s->visited, const_cast<ItemPointer>(&eps[i].tid));
        offer(s, level == 0 ? level0_view(eps[i]) : eps[i], ef);
    }

    HnswCandidate *found = s->found_buf;
    ItemPointerData *fresh = s->fresh_buf;

    uint32 expansions = 0;
    while (s->candidates.count > 0) {
        if ((++expansions & 63) == 0)
            CHECK_FOR_INTERRUPTS();  // no buffer lock is held here
        HnswCandidate c = hnsw_minheap_pop(&s->candidates);
        if (s->results.count >= ef && c.distance > s->results.items[0].distance)
            break;
        if (s->max_visited != 0 && s->visited.count >= s->max_visited) {
            // A bound (memory; VACUUM's walks through long stretches of dying elements; a
            // filtered scan's probe). c goes back, so C and W are the whole state of the walk
            // and a caller can resume it.
            hnsw_minheap_push(&s->candidates, c);
            break;
        }
        // The next candidate to expand is most likely the new top: fetch its links meanwhile.
        if (s->candidates.count > 0)
            prefetch_links(s, s->candidates.items[0]);

        int n = hnsw_read_links(s, c, level, s->tids_buf);
        int nfresh = 0;
        for (int i = 0; i < n; ++i)
            if (hnsw_visited_add(&s->visited, &s->tids_buf[i]))
                fresh[nfresh++] = s->tids_buf[i];
        if (nfresh == 0)
            continue;

        // Group by block so each page is locked once.
        for (int i = 1; i < nfresh; ++i) {
            ItemPointerData t = fresh[i];
            BlockNumber b = ItemPointerGetBlockNumberNoCheck(&t);
            int j = i - 1;
            while (j >= 0 && ItemPointerGetBlockNumberNoCheck(&fresh[j]) > b) {
                fresh[j + 1] = fresh[j];
                --j;
            }
            fresh[j + 1] = t;
        }

        // Hint the CPU at the line pointers and, once those arrive, at the tuples, through the
        // buffers these blocks were last seen in. Unpinned and unlocked on purpose: a stale
        // buffer or line pointer only wastes a prefetch; the distances below are computed on
        // pinned, share-locked pages.
        for (int k = 0; k < nfresh; ++k) {
            Buffer b = am_cache_peek(&s->cache, ItemPointerGetBlockNumberNoCheck(&fresh[k]));
            s->bufs_buf[k] = b;
            if (b != InvalidBuffer)
                __builtin_prefetch(PageGetItemId(BufferGetPage(b),
                                                 ItemPointerGetOffsetNumberNoCheck(&fresh[k])));
        }
        for (int k = 0; k < nfresh; ++k) {
            if (s->bufs_buf[k] == InvalidBuffer)
                continue;
            char *page = static_cast<char *>(BufferGetPage(s->bufs_buf[k]));
            ItemId iid = PageGetItemId(page, ItemPointerGetOffsetNumberNoCheck(&fresh[k]));
            uint32 lp_off = *reinterpret_cast<volatile uint32 *>(iid) & 0x7FFF;
            if (lp_off + s->prefetch_bytes <= BLCKSZ)
                for (uint32 line = 0; line < s->prefetch_bytes; line += 64)
                    __builtin_prefetch(page + lp_off + line);
        }

        int nfound = 0;
        int i = 0;
        while (i < nfresh) {
            BlockNumber blkno = ItemPointerGetBlockNumberNoCheck(&fresh[i]);
            Buffer buf = am_cache_pin(&s->cache, s->index, blkno);
            LockBuffer(buf, BUFFER_LOCK_SHARE);
            Page page = BufferGetPage(buf);
            for (; i < nfresh && ItemPointerGetBlockNumberNoCheck(&fresh[i]) == blkno; ++i) {
                OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(&fresh[i]);
                HnswElementTuple etup = hnsw_get_element(page, off);
                if (etup == nullptr || etup->deleted || etup->level < level)
                    continue;
                hnsw_check_code(s->index, s->info, etup, blkno, off);
                HnswCandidate &f = found[nfound++];
                hnsw_fill_candidate(&f, distance_to(s, hnsw_element_code(etup)), blkno, off, etup,
                                    page);
                f.filtered_out = filtered_out(s, etup);
                if (level == 0) {
                    f = level0_view(f);
                    if (f.heaptid_count > 0)
                        s->matched++;
                }
            }
            UnlockReleaseBuffer(buf);
        }
        if (level == 0)
            s->visited_tuples += nfound;
        for (int k = 0; k < nfound; ++k)
            offer(s, found[k], ef);
    }
}

int hnsw_take_results(HnswSearch *s, HnswCandidate *out)
{
    int n = s->results.count;
    if (n == 0 && s->have_fallback) {
        // Only dying elements were seen: the closest one still leads the next level's walk.
        out[0] = s->fallback;
        s->have_fallback = false;
        return 1;
    }
    for (int i = n - 1; i >= 0; --i)
        out[i] = hnsw_maxheap_pop(&s->results);
    return n;
}

void hnsw_find_neighbors(HnswSearch *s, ItemPointer entry, int entry_level, int level, int ef,
                         HnswCandidate **found, int *found_count)
{
    for (int l = 0; l <= level; ++l) {
        found[l] = nullptr;
        found_count[l] = 0;
    }
    HnswCandidate ep;
    if (!ItemPointerIsValid(entry) || !hnsw_load_candidate(s, entry, &ep))
        return;

    HnswCandidate *cur = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * (ef + 1)));
    cur[0] = ep;
    int n = 1;
    for (int l = entry_level; l > level; --l) {
        hnsw_search_layer(s, cur, n, 1, l, true);
        n = hnsw_take_results(s, cur);
    }
    for (int l = Min(level, entry_level); l >= 0; --l) {
        hnsw_search_layer(s, cur, n, ef, l, true);
        found[l] = static_cast<HnswCandidate *>(palloc(sizeof(HnswCandidate) * (ef + 1)));
        found_count[l] = hnsw_take_results(s, found[l]);
        std::memcpy(cur, found[l], sizeof(HnswCandidate) * found_count[l]);
        n = found_count[l];
    }
    pfree(cur);
}

void hnsw_load_codes(HnswSearch *s, const HnswCandidate *cands, int n, void **codes)
{
    for (int i = 0; i < n; ++i) {
        codes[i] = nullptr;
        const HnswCandidate &c = cands[i];
        Buffer buf = am_cache_pin(&s->cache, s->index, ItemPointerGetBlockNumber(&c.tid));
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        HnswElementTuple etup =
            hnsw_get_element(BufferGetPage(buf), ItemPointerGetOffsetNumber(&c.tid));
        if (etup != nullptr && !etup->deleted && etup->version == c.version) {
            hnsw_check_code(s->index, s->info, etup, ItemPointerGetBlockNumber(&c.tid),
                            ItemPointerGetOffsetNumber(&c.tid));
            void *code = palloc(etup->code_len > 0 ? etup->code_len : 1);
            std::memcpy(code, hnsw_element_code(etup), etup->code_len);
            codes[i] = code;
        }
        UnlockReleaseBuffer(buf);
    }
}

int hnsw_select_neighbors(const HnswIndexInfo *info, const HnswCandidate *cands, void *const *codes,
                          int n, int limit, int *keep)
{
    int kept = 0;
    for (int i = 0; i < n && kept < limit; ++i) {
        if (codes[i] == nullptr)
            continue;
        bool diverse = true;
        for (int j = 0; j < kept; ++j) {
            if (info->dc(codes[i], codes[keep[j]]) < cands[i].distance) {
                diverse = false;
                break;
            }
        }
        if (diverse)
            keep[kept++] = i;
    }
    return kept;
}

int hnsw_select_neighbors_filled(const HnswIndexInfo *info, const HnswCandidate *cands,
                                 void *const *codes, int n, int limit, int *keep)
{
    int kept = hnsw_select_neighbors(info, cands, codes, n, limit, keep);
    if (kept >= limit || kept >= n)
        return kept;
    bool *in = static_cast<bool *>(palloc0(n));
    for (int i = 0; i < kept; ++i)
        in[keep[i]] = true;
    for (int i = 0; i < n && kept < limit; ++i)
        if (!in[i] && codes[i] != nullptr) {
            in[i] = true;
            ++kept;
        }
    // Closest first (cands are), so lists are written closest first.
    kept = 0;
    for (int i = 0; i < n; ++i)
        if (in[i])
            keep[kept++] = i;
    pfree(in);
    return kept;
}

}  // namespace quiver::pg
