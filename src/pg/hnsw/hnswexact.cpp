// Exact filtered search over an hnsw index (quiver.filter_strategy = exact, or auto when the
// graph walk finds too few matching elements): every element page is read in block order with
// a bulk-read buffer strategy, the payload of each live element is tested first and distances
// are computed only for those that match. The `limit` best hits are kept in a max-heap, so
// memory stays bounded however many rows match; a scan that wants more rows asks again for the
// hits after the last one it returned, in (distance, element TID) order, which is total.
// No graph links are followed, so neither the scan lock nor the visited set is needed: each
// hit's heap TIDs are copied under the same page lock as its distance is computed.
#include "quiver/pg/hnsw.h"
#include "quiver/pg/filter_columns.h"

extern "C" {
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
}

#include <algorithm>
#include <cstring>

namespace quiver::pg {
namespace {

// (distance, element TID) order: the scan's total order of hits.
inline bool hit_before(const HnswExactHit &a, const HnswExactHit &b)
{
    if (a.distance != b.distance)
        return a.distance < b.distance;
    return ItemPointerCompare(const_cast<ItemPointer>(&a.tid), const_cast<ItemPointer>(&b.tid)) < 0;
}

inline bool after_key(float d, BlockNumber blkno, OffsetNumber off, const HnswExactHit *after)
{
    if (after == nullptr)
        return true;
    if (d != after->distance)
        return d > after->distance;
    ItemPointerData t;
    ItemPointerSet(&t, blkno, off);
    return ItemPointerCompare(&t, const_cast<ItemPointer>(&after->tid)) > 0;
}

}  // namespace

int hnsw_exact_search(Relation index, const HnswIndexInfo *info, const void *query,
                      const AmFilter *filter, const HnswExactHit *after, int limit,
                      HnswExactHit *out, int64 *examined)
{
    // out[0 .. count) is a max-heap under hit_before while the pages are read.
    int count = 0;
    auto worse = [](const HnswExactHit &a, const HnswExactHit &b) { return hit_before(a, b); };
    BufferAccessStrategy bas = GetAccessStrategy(BAS_BULKREAD);
    // The backend's buffer hints skip the buffer-mapping lookup for pages read before (by
    // walks or earlier exact passes); the others come in through a ring, as a sequential scan's.
    AmBufferCache cache;
    am_cache_init(&cache, index);
    const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    for (BlockNumber blkno = HNSW_FIRST_ELEMENT_BLKNO; blkno < nblocks; ++blkno) {
        CHECK_FOR_INTERRUPTS();
        Buffer buf = am_cache_pin(&cache, index, blkno, bas);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        const OffsetNumber maxoff = PageIsNew(page) ? InvalidOffsetNumber : PageGetMaxOffsetNumber(page);
        // Last item first: PageAddItem fills a page from its end, so this reads memory upwards;
        // and the CPU is asked for the tuple a few items ahead (the walk is bound by those
        // cache misses, not by the tests).
        constexpr int kAhead = 4;
        for (OffsetNumber off = maxoff; off >= FirstOffsetNumber; off = OffsetNumberPrev(off)) {
            if (off > kAhead) {
                ItemId ahead = PageGetItemId(page, off - kAhead);
                if (ItemIdIsNormal(ahead))
                    __builtin_prefetch(static_cast<char *>(page) + ItemIdGetOffset(ahead));
            }
            HnswElementTuple etup = hnsw_get_element(page, off);
            if (etup == nullptr || etup->deleted || etup->heaptid_count == 0)
                continue;
            ++*examined;
            if (!am_filter_matches(filter, reinterpret_cast<const uint8 *>(etup->data),
                                   etup->payload_len))
                continue;
            hnsw_check_code(index, info, etup, blkno, off);
            const float d = query != nullptr ? info->dc(query, hnsw_element_code(etup)) : 0.0f;
            if (!after_key(d, blkno, off, after))
                continue;
            if (count == limit) {
                // Full: only a hit before the current worst gets in.
                HnswExactHit probe;
                probe.distance = d;
                ItemPointerSet(&probe.tid, blkno, off);
                if (!hit_before(probe, out[0]))
                    continue;
                std::pop_heap(out, out + count, worse);
                --count;
            }
            HnswExactHit &h = out[count++];
            h.distance = d;
            ItemPointerSet(&h.tid, blkno, off);
            h.heaptid_count = static_cast<uint8>(Min(etup->heaptid_count, HNSW_HEAPTIDS));
            std::memcpy(h.heaptids, etup->heaptids, sizeof(ItemPointerData) * h.heaptid_count);
            std::push_heap(out, out + count, worse);
        }
        UnlockReleaseBuffer(buf);
    }
    am_cache_release(&cache);
    FreeAccessStrategy(bas);
    std::sort_heap(out, out + count, worse);
    return count;
}

}  // namespace quiver::pg
