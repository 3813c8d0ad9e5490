// ivfflat VACUUM: every list page loses the entries whose heap rows are dead, one GenericXLog
// record per page; a page of fast-scan blocks has its survivors repacked into its first blocks.
// Emptied pages stay in their chains (inserts append at the end, scans skip empty pages
// quickly), as in pgvector.
#include "quiver/pg/ivf.h"

extern "C" {
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "utils/rel.h"
}

#include "quiver/core/quant/fastscan.h"

#include <cstring>

namespace quiver::pg {
namespace {

void vacuum_page(Relation index, Buffer buf, IndexBulkDeleteResult *stats,
                 IndexBulkDeleteCallback callback, void *callback_state)
{
    Page page = BufferGetPage(buf);
    OffsetNumber dead[MaxOffsetNumber];
    int ndead = 0;
    OffsetNumber max = PageGetMaxOffsetNumber(page);
    for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off) {
        ItemId iid = PageGetItemId(page, off);
        if (!ItemIdIsNormal(iid))
            continue;
        IvfEntry e = reinterpret_cast<IvfEntry>(PageGetItem(page, iid));
        if (callback(&e->heaptid, callback_state))
            dead[ndead++] = off;
        else
            stats->num_index_tuples += 1;
    }
    if (ndead == 0)
        return;
    AmPageEdit edit;
    am_edit_start(&edit, index, true);
    PageIndexMultiDelete(am_edit_page(&edit, buf, false), dead, ndead);
    am_edit_finish(&edit);
    stats->tuples_removed += ndead;
}

// Fast-scan layout: the live entries of all blocks, packed again from the first block on (full
// blocks, then the rest), the emptied blocks deleted. A scan reads a page under its share lock
// only, so moving entries within a page is invisible to it.
void vacuum_block_page(Relation index, const IvfIndexInfo *info, Buffer buf, IndexBulkDeleteResult *stats,
                       IndexBulkDeleteCallback callback, void *callback_state)
{
    Page page = BufferGetPage(buf);
    const BlockNumber blkno = BufferGetBlockNumber(buf);
    const OffsetNumber max = PageGetMaxOffsetNumber(page);
    const Size code_bytes = info->code_len;
    auto *tids = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * max * IVF_BLOCK_ENTRIES));
    auto *codes = static_cast<uint8 *>(palloc(code_bytes * max * IVF_BLOCK_ENTRIES));
    int live = 0, ndead = 0;
    for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off) {
        IvfBlock block = ivf_page_block(index, info, page, blkno, off);
        for (int i = 0; i < block->count; ++i) {
            if (callback(&block->heaptids[i], callback_state)) {
                ++ndead;
                continue;
            }
            tids[live] = block->heaptids[i];
            quiver::core::quant::fastscan_unpack(block->codes, info->pq_m, i, codes + live * code_bytes);
            ++live;
        }
    }
    stats->num_index_tuples += live;
    if (ndead > 0) {
        AmPageEdit edit;
        am_edit_start(&edit, index, true);
        Page copy = am_edit_page(&edit, buf, false);
        const Size len = ivf_block_len(info->pq_m);
        const int keep = (live + IVF_BLOCK_ENTRIES - 1) / IVF_BLOCK_ENTRIES;
        for (int b = 0; b < keep; ++b) {
            auto *block = reinterpret_cast<IvfBlock>(PageGetItem(copy, PageGetItemId(copy, b + 1)));
            std::memset(block, 0, len);
            for (int i = b * IVF_BLOCK_ENTRIES; i < Min(live, (b + 1) * IVF_BLOCK_ENTRIES); ++i)
                ivf_block_append(info->pq_m, block, &tids[i], codes + i * code_bytes);
        }
        OffsetNumber emptied[MaxOffsetNumber];
        int nemptied = 0;
        for (OffsetNumber off = keep + 1; off <= max; ++off)
            emptied[nemptied++] = off;
        if (nemptied > 0)
            PageIndexMultiDelete(copy, emptied, nemptied);
        am_edit_finish(&edit);
        stats->tuples_removed += ndead;
    }
    pfree(tids);
    pfree(codes);
}

}  // namespace

IndexBulkDeleteResult *ivfflatbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
                                         IndexBulkDeleteCallback callback, void *callback_state)
{
    if (stats == nullptr)
        stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
    stats->num_index_tuples = 0;  // counted afresh by this pass
    Relation index = info->index;
    const IvfIndexInfo *ii = ivf_index_info(index);
    // Entry pages are all pages past the directory, in any order: one sequential pass.
    BlockNumber first = ivf_first_entry_page(ii);
    BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    for (BlockNumber blk = first; blk < nblocks; ++blk) {
        vacuum_delay_point();
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(buf);
        if (!PageIsNew(page) && IvfPageGetOpaque(page)->page_id == IVF_PAGE_ID &&
            IvfPageGetOpaque(page)->page_type == IVF_PAGE_ENTRY) {
            if (ii->entry_layout == IVF_LAYOUT_FASTSCAN)
                vacuum_block_page(index, ii, buf, stats, callback, callback_state);
            else
                vacuum_page(index, buf, stats, callback, callback_state);
        }
        UnlockReleaseBuffer(buf);
    }
    stats->num_pages = RelationGetNumberOfBlocks(index);
    return stats;
}

IndexBulkDeleteResult *ivfflatvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
    if (info->analyze_only || stats == nullptr)
        return stats;
    stats->num_pages = RelationGetNumberOfBlocks(info->index);
    return stats;
}

}  // namespace quiver::pg
