// Fast-scan blocks on ivf entry pages (entry_layout IVF_LAYOUT_FASTSCAN): each item holds up
// to 32 entries, their heap TIDs and their 4-bit PQ codes interleaved as the fast-scan kernel
// reads them, so a scan sums a block's 32 code distances with a few byte shuffles per pair of
// sub-spaces. All blocks of a page are full except perhaps the last item: an insert fills the
// last block before it adds another, and VACUUM repacks a page's survivors from its first item on.
#include "quiver/pg/ivf.h"

extern "C" {
#include "utils/rel.h"
}

#include "quiver/core/quant/fastscan.h"

#include <cstring>

namespace quiver::pg {

using quiver::core::quant::fastscan_block_bytes;

bool ivf_fastscan_layout(uint8 quantizer, uint32 pq_m, uint32 pq_nbits)
{
    return quantizer == IVF_QUANTIZER_PQ && pq_nbits == 4 && pq_m >= 1 &&
           ivf_block_len(pq_m) <= IVF_MAX_ITEM_LEN;
}

Size ivf_block_len(uint32 pq_m)
{
    return offsetof(IvfBlockData, codes) + fastscan_block_bytes(pq_m);
}

IvfBlock ivf_page_block(Relation index, const IvfIndexInfo *info, Page page, BlockNumber blkno,
                        OffsetNumber off)
{
    ItemId iid = PageGetItemId(page, off);
    auto *block = reinterpret_cast<IvfBlock>(PageGetItem(page, iid));
    if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) != ivf_block_len(info->pq_m) ||
        block->count < 1 || block->count > IVF_BLOCK_ENTRIES)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("ivf index \"%s\" is corrupted: page %u item %u is not a block of "
                               "1 to %d entries",
                               RelationGetRelationName(index), blkno, off, IVF_BLOCK_ENTRIES)));
    return block;
}

void ivf_block_append(uint32 pq_m, IvfBlock block, ItemPointer heap_tid, const uint8 *code)
{
    Assert(block->count < IVF_BLOCK_ENTRIES);
    block->heaptids[block->count] = *heap_tid;
    quiver::core::quant::fastscan_store(block->codes, pq_m, block->count, code);
    ++block->count;
}

namespace {

// The page's last item when it is a block with room, else NULL.
IvfBlock last_block_with_room(const IvfIndexInfo *info, Page page)
{
    OffsetNumber max = PageGetMaxOffsetNumber(page);
    if (max < FirstOffsetNumber)
        return nullptr;
    ItemId iid = PageGetItemId(page, max);
    if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) != ivf_block_len(info->pq_m))
        return nullptr;
    auto *block = reinterpret_cast<IvfBlock>(PageGetItem(page, iid));
    return block->count < IVF_BLOCK_ENTRIES ? block : nullptr;
}

}  // namespace

bool ivf_block_page_has_room(const IvfIndexInfo *info, Page page)
{
    return last_block_with_room(info, page) != nullptr ||
           PageGetFreeSpace(page) >= MAXALIGN(ivf_block_len(info->pq_m));
}

void ivf_block_page_add(Relation index, const IvfIndexInfo *info, Page page, ItemPointer heap_tid,
                        const uint8 *code)
{
    IvfBlock block = last_block_with_room(info, page);
    if (block != nullptr) {
        ivf_block_append(info->pq_m, block, heap_tid, code);
        return;
    }
    const Size len = ivf_block_len(info->pq_m);
    auto *fresh = static_cast<IvfBlock>(palloc0(len));
    ivf_block_append(info->pq_m, fresh, heap_tid, code);
    if (PageAddItem(page, reinterpret_cast<Item>(fresh), len, InvalidOffsetNumber, false, false) ==
        InvalidOffsetNumber)
        elog(ERROR, "failed to add a block to ivf index \"%s\"", RelationGetRelationName(index));
    pfree(fresh);
}

}  // namespace quiver::pg
