// lsh inserts: the row's entry goes to the entry insert page, then one posting per table into
// its bucket's chain: grown in place when the chain's first segment is on the bucket insert
// page and the page has room, else a new one-posting segment in front of the chain. Every
// change is WAL-logged with GenericXLog (see quiver/pg/lsh.h for the lock order).
#include "quiver/pg/lsh.h"
#include "quiver/pg/filter_columns.h"

extern "C" {
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include <cstring>

namespace quiver::pg {
namespace {

// The page a kind of insert goes to, from the metapage (InvalidBlockNumber: none yet).
BlockNumber insert_page(Relation index, bool entries)
{
    Buffer meta_buf = ReadBuffer(index, LSH_METAPAGE_BLKNO);
    LockBuffer(meta_buf, BUFFER_LOCK_SHARE);
    LshMetaPage meta = LshPageGetMeta(BufferGetPage(meta_buf));
    const BlockNumber blkno = entries ? meta->entry_insert : meta->bucket_insert;
    UnlockReleaseBuffer(meta_buf);
    return blkno;
}

// An exclusively locked page of `page_type` with `need` bytes free: the metapage's insert page
// of that kind, or a new one it then names (another backend may have named one meanwhile).
Buffer page_with_room(Relation index, bool entries, Size need)
{
    const uint16 page_type = entries ? LSH_PAGE_ENTRY : LSH_PAGE_BUCKET;
    for (;;) {
        const BlockNumber blkno = insert_page(index, entries);
        if (blkno != InvalidBlockNumber) {
            Buffer buf = ReadBuffer(index, blkno);
            LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
            lsh_check_page(index, BufferGetPage(buf), blkno, page_type);
            if (PageGetFreeSpace(BufferGetPage(buf)) >= need)
                return buf;
            UnlockReleaseBuffer(buf);
        }
        Buffer meta_buf = ReadBuffer(index, LSH_METAPAGE_BLKNO);
        LockBuffer(meta_buf, BUFFER_LOCK_EXCLUSIVE);
        LshMetaPage meta = LshPageGetMeta(BufferGetPage(meta_buf));
        if ((entries ? meta->entry_insert : meta->bucket_insert) != blkno) {
            UnlockReleaseBuffer(meta_buf);  // extended by another insert: try its page
            continue;
        }
        Buffer buf = lsh_new_buffer(index, MAIN_FORKNUM);
        AmPageEdit edit;
        am_edit_start(&edit, index, true);
        Page meta_page = am_edit_page(&edit, meta_buf, false);
        Page page = am_edit_page(&edit, buf, true);
        lsh_init_page(page, page_type);
        meta = LshPageGetMeta(meta_page);
        if (entries)
            meta->entry_insert = BufferGetBlockNumber(buf);
        else
            meta->bucket_insert = BufferGetBlockNumber(buf);
        am_edit_finish(&edit);
        UnlockReleaseBuffer(meta_buf);
        return buf;
    }
}

ItemPointerData add_entry(Relation index, const void *entry, Size len)
{
    Buffer buf = page_with_room(index, true, MAXALIGN(len));
    AmPageEdit edit;
    am_edit_start(&edit, index, true);
    Page page = am_edit_page(&edit, buf, false);
    const OffsetNumber off = PageAddItem(page, static_cast<Item>(const_cast<void *>(entry)), len,
                                         InvalidOffsetNumber, false, false);
    if (off == InvalidOffsetNumber) {
        am_edit_abort(&edit);
        elog(ERROR, "lsh: failed to add an entry to \"%s\"", RelationGetRelationName(index));
    }
    am_edit_finish(&edit);
    ItemPointerData ref;
    ItemPointerSet(&ref, BufferGetBlockNumber(buf), off);
    UnlockReleaseBuffer(buf);
    return ref;
}

void add_posting(Relation index, const LshIndexInfo *info, uint32 table, uint64 key, ItemPointerData ref)
{
    const uint64 number = (static_cast<uint64>(table) << info->slot_bits) + lsh_key_slot(info, key);
    const LshPosting posting{ItemPointerGetBlockNumber(&ref), ItemPointerGetOffsetNumber(&ref),
                             lsh_key_tag(info, key)};
    const Size new_len = offsetof(LshSegmentData, postings) + sizeof(LshPosting);
    Buffer buf = page_with_room(index, false, MAXALIGN(new_len));
    const BlockNumber bucket_blkno = BufferGetBlockNumber(buf);
    BlockNumber dir_blkno;
    uint32 slot;
    lsh_directory_slot(info, number, &dir_blkno, &slot);
    Buffer dir_buf = ReadBuffer(index, dir_blkno);
    LockBuffer(dir_buf, BUFFER_LOCK_EXCLUSIVE);
    lsh_check_page(index, BufferGetPage(dir_buf), dir_blkno, LSH_PAGE_DIRECTORY);
    const LshSlotData head = lsh_directory_entries(BufferGetPage(dir_buf))[slot];

    AmPageEdit edit;
    am_edit_start(&edit, index, true);
    Page page = am_edit_page(&edit, buf, false);
    bool grown = false;
    if (head.block == bucket_blkno && head.offset >= FirstOffsetNumber &&
        head.offset <= PageGetMaxOffsetNumber(page)) {
        // The chain starts on this page: one more posting in its first segment, if it fits.
        ItemId iid = PageGetItemId(page, head.offset);
        auto *seg = reinterpret_cast<LshSegment>(PageGetItem(page, iid));
        const Size old_len = ItemIdGetLength(iid);
        if (ItemIdIsNormal(iid) && seg->slot == number && seg->count < LSH_MAX_SEGMENT_POSTINGS &&
            old_len == offsetof(LshSegmentData, postings) + sizeof(LshPosting) * seg->count &&
            PageGetExactFreeSpace(page) >= MAXALIGN(old_len + sizeof(LshPosting)) - MAXALIGN(old_len)) {
            auto *grown_seg = static_cast<LshSegment>(palloc(old_len + sizeof(LshPosting)));
            std::memcpy(grown_seg, seg, old_len);
            grown_seg->postings[grown_seg->count++] = posting;
            grown = PageIndexTupleOverwrite(page, head.offset, reinterpret_cast<Item>(grown_seg),
                                            old_len + sizeof(LshPosting));
            pfree(grown_seg);
        }
    }
    if (!grown) {
        LshSegmentData seg;
        seg.slot = static_cast<uint32>(number);
        seg.next_block = head.block;
        seg.next_offset = head.offset;
        seg.count = 1;
        auto *item = static_cast<LshSegment>(palloc(new_len));
        std::memcpy(item, &seg, offsetof(LshSegmentData, postings));
        item->postings[0] = posting;
        const OffsetNumber off = PageAddItem(page, reinterpret_cast<Item>(item), new_len,
                                             InvalidOffsetNumber, false, false);
        pfree(item);
        if (off == InvalidOffsetNumber) {
            am_edit_abort(&edit);
            elog(ERROR, "lsh: failed to add a bucket segment to \"%s\"", RelationGetRelationName(index));
        }
        Page dir_page = am_edit_page(&edit, dir_buf, false);
        LshSlotData *entry = &lsh_directory_entries(dir_page)[slot];
        entry->block = bucket_blkno;
        entry->offset = off;
    }
    am_edit_finish(&edit);
    UnlockReleaseBuffer(dir_buf);
    UnlockReleaseBuffer(buf);
}

}  // namespace

bool lshinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation,
               IndexUniqueCheck, bool, IndexInfo *)
{
    if (isnull[0])
        return false;
    MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "lsh insert", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(ctx);
    const LshIndexInfo *info = lsh_index_info(index);
    Size code_len;
    uint32 dim;
    void *code = am_value_code(info->opclass, values[0], &code_len, &dim, false);
    if (code != nullptr) {
        am_check_dimensions(info->opclass, dim, info->params.dim);
        Size payload_len = 0;
        uint8 *payload = am_row_payload(index, values, isnull, &payload_len);
        const Size len = offsetof(LshEntryData, code) + info->code_len + payload_len;
        if (len > LSH_MAX_ITEM_LEN)
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("index row of %zu bytes does not fit into an lsh page (at most %zu)",
                                   static_cast<size_t>(len), static_cast<size_t>(LSH_MAX_ITEM_LEN)),
                            errhint("Index fewer or shorter filter columns.")));
        auto *entry = static_cast<LshEntry>(palloc0(len));
        entry->heaptid = *heap_tid;
        std::memcpy(entry->code, code, info->code_len);
        if (payload_len > 0)
            std::memcpy(entry->code + info->code_len, payload, payload_len);
        LshFamilyHandle *family = lsh_open_family(index, info);
        auto *keys = static_cast<uint64 *>(palloc(sizeof(uint64) * info->params.tables));
        auto *work = static_cast<float *>(palloc(sizeof(float) * info->params.dim));
        family->family->keys(lsh_hash_input(info, code, work), keys);
        const ItemPointerData ref = add_entry(index, entry, len);
        for (uint32 t = 0; t < info->params.tables; ++t)
            add_posting(index, info, t, keys[t], ref);
    }
    MemoryContextSwitchTo(old);
    MemoryContextDelete(ctx);
    return false;
}

}  // namespace quiver::pg
