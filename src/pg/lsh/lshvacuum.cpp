// lsh VACUUM. Bulk delete, in rounds of at most maintenance_work_mem of dead entries:
//   1. read the entry pages in block order and collect the entries whose heap TID is dead;
//   2. rewrite every bucket segment that holds postings of them without those postings;
//   3. free the dead entries' line pointers (PageIndexTupleDeleteNoCompact), which inserts may
//      then reuse: no posting points to them any more.
// Each page is changed under its exclusive lock in one GenericXLog record. A crash between 2
// and 3 leaves entries no posting reaches, which the next VACUUM frees (their heap TIDs are
// still dead). Segments left empty stay in their chains (12 bytes each).
#include "quiver/pg/lsh.h"

extern "C" {
#include "access/genam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include <algorithm>
#include <cstring>

namespace quiver::pg {
namespace {

// Step 2: the postings of `dead` (sorted refs) leave every segment.
void remove_postings(Relation index, const LshIndexInfo *info, BlockNumber first, const uint64 *dead,
                     Size ndead, BufferAccessStrategy strategy)
{
    auto *seg_copy = static_cast<LshSegment>(palloc(LSH_MAX_ITEM_LEN));
    const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    for (BlockNumber blkno = first; blkno < nblocks; ++blkno) {
        vacuum_delay_point();
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        if (!lsh_page_is(BufferGetPage(buf), LSH_PAGE_BUCKET)) {
            UnlockReleaseBuffer(buf);
            continue;
        }
        // Look first under a share lock: most pages hold none of the dead.
        auto holds_dead = [&](Page page) {
            const OffsetNumber max = PageGetMaxOffsetNumber(page);
            for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off) {
                ItemId iid = PageGetItemId(page, off);
                if (!ItemIdIsNormal(iid))
                    continue;
                auto *seg = reinterpret_cast<LshSegment>(PageGetItem(page, iid));
                for (uint16 j = 0; j < seg->count; ++j)
                    if (std::binary_search(dead, dead + ndead, lsh_ref(seg->postings[j].block, seg->postings[j].offset)))
                        return true;
            }
            return false;
        };
        bool any = holds_dead(BufferGetPage(buf));
        LockBuffer(buf, BUFFER_LOCK_UNLOCK);
        if (!any) {
            ReleaseBuffer(buf);
            continue;
        }
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        AmPageEdit edit;
        am_edit_start(&edit, index, true);
        Page page = am_edit_page(&edit, buf, false);
        const OffsetNumber max = PageGetMaxOffsetNumber(page);
        for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off) {
            ItemId iid = PageGetItemId(page, off);
            if (!ItemIdIsNormal(iid))
                continue;
            auto *seg = reinterpret_cast<LshSegment>(PageGetItem(page, iid));
            const Size len = ItemIdGetLength(iid);
            if (len < offsetof(LshSegmentData, postings) ||
                len < offsetof(LshSegmentData, postings) + sizeof(LshPosting) * seg->count) {
                am_edit_abort(&edit);
                lsh_corrupted(index, "a bucket segment is shorter than its postings");
            }
            std::memcpy(seg_copy, seg, len);
            uint16 kept = 0;
            for (uint16 j = 0; j < seg_copy->count; ++j)
                if (!std::binary_search(dead, dead + ndead,
                                        lsh_ref(seg_copy->postings[j].block, seg_copy->postings[j].offset)))
                    seg_copy->postings[kept++] = seg_copy->postings[j];
            if (kept == seg_copy->count)
                continue;
            seg_copy->count = kept;
            const Size new_len = offsetof(LshSegmentData, postings) + sizeof(LshPosting) * kept;
            if (!PageIndexTupleOverwrite(page, off, reinterpret_cast<Item>(seg_copy), new_len)) {
                am_edit_abort(&edit);
                elog(ERROR, "lsh vacuum: failed to rewrite a segment of \"%s\"", RelationGetRelationName(index));
            }
        }
        am_edit_finish(&edit);
        UnlockReleaseBuffer(buf);
    }
    pfree(seg_copy);
    (void) info;
}

// Step 3: the dead entries' line pointers are freed.
void remove_entries(Relation index, const uint64 *dead, Size ndead, BufferAccessStrategy strategy)
{
    Size i = 0;
    while (i < ndead) {
        vacuum_delay_point();
        const BlockNumber blkno = static_cast<BlockNumber>(dead[i] >> 16);
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        lsh_check_page(index, BufferGetPage(buf), blkno, LSH_PAGE_ENTRY);
        AmPageEdit edit;
        am_edit_start(&edit, index, true);
        Page page = am_edit_page(&edit, buf, false);
        // Line pointers stay where they are (the page's last ones may be trimmed): the
        // offsets of the other entries never change.
        Size end = i;
        while (end < ndead && static_cast<BlockNumber>(dead[end] >> 16) == blkno)
            ++end;
        for (Size j = end; j-- > i;) {
            const OffsetNumber off = static_cast<OffsetNumber>(dead[j] & 0xFFFF);
            if (off <= PageGetMaxOffsetNumber(page) && ItemIdIsNormal(PageGetItemId(page, off)))
                PageIndexTupleDeleteNoCompact(page, off);
        }
        am_edit_finish(&edit);
        UnlockReleaseBuffer(buf);
        i = end;
    }
}

}  // namespace

IndexBulkDeleteResult *lshbulkdelete(IndexVacuumInfo *vinfo, IndexBulkDeleteResult *stats,
                                     IndexBulkDeleteCallback callback, void *callback_state)
{
    Relation index = vinfo->index;
    if (stats == nullptr)
        stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
    const LshIndexInfo *info = lsh_index_info(index);
    BufferAccessStrategy strategy = vinfo->strategy;
    const Size max_dead = std::max<Size>(static_cast<Size>(maintenance_work_mem) * 1024 / sizeof(uint64), 1024);
    auto *dead = static_cast<uint64 *>(MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * max_dead));
    Size ndead = 0;
    double live = 0;
    const BlockNumber first = info->directory_start;
    BlockNumber blkno = first;
    for (;;) {
        // Step 1, until the dead fill the buffer or the index ends (its length is read again:
        // inserts may have added pages meanwhile).
        bool full = false;
        while (!full && blkno < RelationGetNumberOfBlocks(index)) {
            vacuum_delay_point();
            Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
            LockBuffer(buf, BUFFER_LOCK_SHARE);
            Page page = BufferGetPage(buf);
            if (lsh_page_is(page, LSH_PAGE_ENTRY)) {
                const OffsetNumber max = PageGetMaxOffsetNumber(page);
                if (ndead + max > max_dead) {
                    full = true;  // this page is read again in the next round
                    UnlockReleaseBuffer(buf);
                    break;
                }
                for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off) {
                    ItemId iid = PageGetItemId(page, off);
                    if (!ItemIdIsNormal(iid))
                        continue;
                    auto *e = reinterpret_cast<LshEntry>(PageGetItem(page, iid));
                    if (callback(&e->heaptid, callback_state))
                        dead[ndead++] = lsh_ref(blkno, off);
                    else
                        live += 1;
                }
            }
            UnlockReleaseBuffer(buf);
            ++blkno;
        }
        if (ndead > 0) {
            remove_postings(index, info, first, dead, ndead, strategy);
            remove_entries(index, dead, ndead, strategy);
            stats->tuples_removed += static_cast<double>(ndead);
            ndead = 0;
        }
        if (!full)
            break;
    }
    pfree(dead);
    stats->num_index_tuples = live;
    stats->num_pages = RelationGetNumberOfBlocks(index);
    return stats;
}

IndexBulkDeleteResult *lshvacuumcleanup(IndexVacuumInfo *vinfo, IndexBulkDeleteResult *stats)
{
    if (vinfo->analyze_only)
        return stats;
    if (stats != nullptr)
        return stats;
    // No bulk delete ran: count the entries.
    Relation index = vinfo->index;
    stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
    const LshIndexInfo *info = lsh_index_info(index);
    const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    double live = 0;
    for (BlockNumber blkno = info->directory_start; blkno < nblocks; ++blkno) {
        vacuum_delay_point();
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, vinfo->strategy);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        if (lsh_page_is(page, LSH_PAGE_ENTRY)) {
            const OffsetNumber max = PageGetMaxOffsetNumber(page);
            for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off)
                if (ItemIdIsNormal(PageGetItemId(page, off)))
                    live += 1;
        }
        UnlockReleaseBuffer(buf);
    }
    stats->num_index_tuples = live;
    stats->num_pages = nblocks;
    return stats;
}

}  // namespace quiver::pg
