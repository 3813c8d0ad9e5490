// ivfflat VACUUM: every list page loses the entries whose heap rows are dead, one GenericXLog
// record per page. Emptied pages stay in their chains (inserts append at the end, scans skip
// empty pages quickly), as in pgvector.
#include "quiver/pg/ivf.h"

extern "C" {
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "utils/rel.h"
}

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
            IvfPageGetOpaque(page)->page_type == IVF_PAGE_ENTRY)
            vacuum_page(index, buf, stats, callback, callback_state);
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
