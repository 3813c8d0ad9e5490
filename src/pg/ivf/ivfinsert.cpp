// ivfflat inserts: the row goes to its nearest centroid's list, appended to the list's last
// page (into its last fast-scan block when it has room; a new page when the page is full,
// linked from the old one and recorded in the directory).
// One GenericXLog record per change.
#include "quiver/pg/ivf.h"
#include "quiver/pg/filter_columns.h"

extern "C" {
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include "quiver/core/quant/quantizer.h"

#include <cstring>

namespace quiver::pg {
namespace {

// The directory page of `list`, exclusively locked, and the list's entry.
Buffer lock_directory(Relation index, const IvfIndexInfo *info, uint32 list, uint32 *slot)
{
    BlockNumber blkno;
    ivf_directory_slot(info, list, &blkno, slot);
    Buffer buf = ReadBuffer(index, blkno);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    if (PageIsNew(page) || IvfPageGetOpaque(page)->page_type != IVF_PAGE_DIRECTORY)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("ivf index \"%s\" is corrupted: directory page %u is missing",
                               RelationGetRelationName(index), blkno)));
    return buf;
}

void init_entry_page(Page page)
{
    ivf_init_page(page, IVF_PAGE_ENTRY);
}

// One entry on its way to a list's last page: an item of its own, or a slot of a fast-scan block.
struct NewEntry {
    const IvfIndexInfo *info;
    ItemPointerData heap_tid;
    const uint8 *code;
    IvfEntry item;  // entry layout only
    Size item_len;

    bool fits(Page page) const
    {
        if (info->entry_layout == IVF_LAYOUT_FASTSCAN)
            return ivf_block_page_has_room(info, page);
        return PageGetFreeSpace(page) >= MAXALIGN(item_len);
    }

    void add_to(Relation index, Page page)
    {
        if (info->entry_layout == IVF_LAYOUT_FASTSCAN) {
            ivf_block_page_add(index, info, page, &heap_tid, code);
            return;
        }
        if (PageAddItem(page, reinterpret_cast<Item>(item), item_len, InvalidOffsetNumber, false,
                        false) == InvalidOffsetNumber)
            elog(ERROR, "failed to add an entry to ivf index \"%s\"", RelationGetRelationName(index));
    }
};

}  // namespace

void ivf_append_entry(Relation index, const IvfIndexInfo *info, uint32 list, ItemPointer heap_tid,
                      const void *code, const uint8 *payload, Size payload_len)
{
    NewEntry ne{info, *heap_tid, static_cast<const uint8 *>(code), nullptr, 0};
    if (info->entry_layout == IVF_LAYOUT_ENTRY) {
        ne.item_len = offsetof(IvfEntryData, code) + info->code_len + payload_len;
        if (ne.item_len > IVF_MAX_ITEM_LEN)
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("index row size %zu exceeds %s maximum, %zu, for index \"%s\"",
                                   ne.item_len, info->am_name, static_cast<Size>(IVF_MAX_ITEM_LEN),
                                   RelationGetRelationName(index))));
        ne.item = static_cast<IvfEntry>(palloc0(ne.item_len));
        ne.item->heaptid = *heap_tid;
        std::memcpy(ne.item->code, code, info->code_len);
        if (payload_len > 0)
            std::memcpy(ne.item->code + info->code_len, payload, payload_len);
    }

    // Where the list ends, as the directory says (a concurrent insert may have moved on).
    uint32 slot;
    Buffer dirbuf = lock_directory(index, info, list, &slot);
    IvfListData entry = ivf_directory_entries(BufferGetPage(dirbuf))[slot];
    if (entry.start == InvalidBlockNumber) {
        // The list's first page: created and linked under the directory page's lock, so a
        // concurrent first insert waits and then finds it.
        Buffer buf = ivf_new_buffer(index, MAIN_FORKNUM);
        AmPageEdit edit;
        am_edit_start(&edit, index, true);
        Page page = am_edit_page(&edit, buf, true);
        init_entry_page(page);
        ne.add_to(index, page);
        Page dpage = am_edit_page(&edit, dirbuf, false);
        IvfListData *e = &ivf_directory_entries(dpage)[slot];
        e->start = e->insert = BufferGetBlockNumber(buf);
        am_edit_finish(&edit);
        UnlockReleaseBuffer(buf);
        UnlockReleaseBuffer(dirbuf);
        return;
    }
    LockBuffer(dirbuf, BUFFER_LOCK_UNLOCK);

    BlockNumber blkno = entry.insert;
    for (;;) {
        Buffer buf = ReadBuffer(index, blkno);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(buf);
        ivf_check_entry_page(index, page, list, blkno);
        BlockNumber next = IvfPageGetOpaque(page)->next;
        if (next != InvalidBlockNumber) {  // extended by another insert meanwhile
            UnlockReleaseBuffer(buf);
            blkno = next;
            continue;
        }
        if (ne.fits(page)) {
            AmPageEdit edit;
            am_edit_start(&edit, index, true);
            ne.add_to(index, am_edit_page(&edit, buf, false));
            am_edit_finish(&edit);
            UnlockReleaseBuffer(buf);
            break;
        }
        // Full: a new last page, linked from this one and recorded in the directory, in one
        // WAL record. Lock order: list pages in chain order, then the directory page.
        Buffer newbuf = ivf_new_buffer(index, MAIN_FORKNUM);
        LockBuffer(dirbuf, BUFFER_LOCK_EXCLUSIVE);
        AmPageEdit edit;
        am_edit_start(&edit, index, true);
        Page npage = am_edit_page(&edit, newbuf, true);
        init_entry_page(npage);
        ne.add_to(index, npage);
        IvfPageGetOpaque(am_edit_page(&edit, buf, false))->next = BufferGetBlockNumber(newbuf);
        IvfListData *e = &ivf_directory_entries(am_edit_page(&edit, dirbuf, false))[slot];
        e->insert = BufferGetBlockNumber(newbuf);
        am_edit_finish(&edit);
        UnlockReleaseBuffer(newbuf);
        UnlockReleaseBuffer(buf);
        LockBuffer(dirbuf, BUFFER_LOCK_UNLOCK);
        break;
    }
    ReleaseBuffer(dirbuf);
}

namespace {

// ivf with sq8 / pq / bit: the entry holds the quantizer's code of the vector (sq8) or of its
// residual to the list's centroid (pq, bit).
void insert_quantized(Relation index, const IvfIndexInfo *info, const void *value,
                      const uint8 *payload, Size payload_len, ItemPointer heap_tid)
{
    IvfQuantizer *q = ivf_open_quantizer(index, info);
    auto *x = static_cast<float *>(palloc(sizeof(float) * info->dimensions));
    ivf_value_floats(info, value, x);
    uint32 list = ivf_nearest_list(index, info, x);
    if (ivf_codes_residual(info->quantizer)) {
        auto *centroid = static_cast<float *>(palloc(info->centroid_len));
        ivf_read_centroid(index, info, list, centroid);
        for (uint32 i = 0; i < info->dimensions; ++i)
            x[i] -= centroid[i];
    }
    auto *code = static_cast<uint8 *>(palloc(info->code_len));
    q->quant->encode(x, code);
    ivf_append_entry(index, info, list, heap_tid, code, payload, payload_len);
}

}  // namespace

bool ivfflatinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation,
                   IndexUniqueCheck, bool, IndexInfo *)
{
    if (isnull[0])
        return false;
    MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "ivfflat insert",
                                              ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(ctx);
    const IvfIndexInfo *info = ivf_index_info(index);
    Size code_len;
    uint32 dim;
    void *code = am_value_code(info->opclass, values[0], &code_len, &dim, false);
    if (code != nullptr) {
        am_check_dimensions(info->opclass, dim, info->dimensions);
        Size payload_len = 0;
        uint8 *payload = am_row_payload(index, values, isnull, &payload_len);
        if (info->quantizer == IVF_QUANTIZER_FLAT) {
            uint32 list = ivf_nearest_list(index, info, code);
            ivf_append_entry(index, info, list, heap_tid, code, payload, payload_len);
        } else {
            insert_quantized(index, info, code, payload, payload_len, heap_tid);
        }
    }
    MemoryContextSwitchTo(old);
    MemoryContextDelete(ctx);
    return false;
}

}  // namespace quiver::pg
