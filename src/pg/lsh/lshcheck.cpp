// quiver_index_check for lsh indexes (the SQL function lives in hnsw/hnswcheck.cpp and calls
// this), and quiver_lsh_metapage(regclass). The check reads every page through the buffer
// manager, one share lock at a time, and raises ERRCODE_INDEX_CORRUPTED on the first violation
// of the format in quiver/pg/lsh.h:
//   metapage    magic, version, family, sizes and page layout against the opclass (as every
//               scan checks), the hash parameters load;
//   pages       parameter and directory pages of their type where the metapage says, every
//               later page an entry or a bucket page (or all zeros: an interrupted extension);
//   entries     at least header and code long, a heap TID inside the table and in no other
//               entry, a payload valid for the filter columns;
//   chains      from every directory slot: segments of bucket pages naming that slot, no
//               segment reached twice, postings that point to entries, with the slot and tag
//               the entry's own key gives in that table;
//   coverage    every entry is in its bucket of every table. An entry missing from some table
//               is left by an insert that crashed half-way (its row's transaction aborted): it
//               is counted as unreachable when its heap row is dead, an error when it is live.
#include "quiver/pg/lsh.h"
#include "quiver/pg/filter_columns.h"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

#include <cstring>

namespace quiver::pg {
namespace {

#define CORRUPT(...) ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED), errmsg(__VA_ARGS__)))

struct EntryInfo {
    uint64 ref;  // hash key: block << 16 | offset
    ItemPointerData heaptid;
    uint64 tables;  // bit t: a posting of table t reaches it
    uint64 *keys;   // its bucket key in every table
};

struct HeapTidKey {
    ItemPointerData tid;
    uint16 pad;
};

}  // namespace

void lsh_index_check(Relation index, Relation heap, LshCheckResult *out)
{
    const char *name = RelationGetRelationName(index);
    const LshIndexInfo *info = lsh_index_info(index);
    LshFamilyHandle *family = lsh_open_family(index, info);
    const uint32 tables = info->params.tables;
    BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
    const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    const BlockNumber heap_nblocks = RelationGetNumberOfBlocks(heap);
    const BlockNumber directory_pages =
        lsh_stream_pages(sizeof(LshSlotData) * (static_cast<Size>(tables) << info->slot_bits));
    const BlockNumber first_data = info->directory_start + directory_pages;
    if (nblocks < first_data)
        CORRUPT("index \"%s\" has %u pages, its metapage names %u before the first entry", name, nblocks, first_data);

    HASHCTL ctl;
    std::memset(&ctl, 0, sizeof ctl);
    ctl.keysize = sizeof(uint64);
    ctl.entrysize = sizeof(EntryInfo);
    ctl.hcxt = CurrentMemoryContext;
    HTAB *entries = hash_create("lsh check entries", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    ctl.keysize = sizeof(HeapTidKey);
    ctl.entrysize = sizeof(HeapTidKey);
    HTAB *heap_tids = hash_create("lsh check heap tids", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    ctl.keysize = sizeof(uint64);
    ctl.entrysize = sizeof(uint64);
    HTAB *segments = hash_create("lsh check segments", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    auto *work = static_cast<float *>(palloc(sizeof(float) * info->params.dim));

    // Pages and entries.
    for (BlockNumber blkno = 1; blkno < nblocks; ++blkno) {
        CHECK_FOR_INTERRUPTS();
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        const uint16 expected = blkno < info->directory_start ? LSH_PAGE_PARAMETERS
                                : blkno < first_data          ? LSH_PAGE_DIRECTORY
                                                              : 0;
        if (expected != 0) {
            if (!lsh_page_is(page, expected))
                CORRUPT("index \"%s\" block %u is not a %s page", name, blkno,
                        expected == LSH_PAGE_PARAMETERS ? "parameter" : "directory");
        } else if (PageIsNew(page)) {
            // an extension that did not finish
        } else if (lsh_page_is(page, LSH_PAGE_BUCKET)) {
            // read through the chains below
        } else if (!lsh_page_is(page, LSH_PAGE_ENTRY)) {
            CORRUPT("index \"%s\" block %u is neither an entry nor a bucket page", name, blkno);
        } else {
            const OffsetNumber max = PageGetMaxOffsetNumber(page);
            for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off) {
                ItemId iid = PageGetItemId(page, off);
                if (!ItemIdIsUsed(iid))
                    continue;
                if (!ItemIdIsNormal(iid) || ItemIdGetLength(iid) < offsetof(LshEntryData, code) + info->code_len)
                    CORRUPT("index \"%s\" page %u item %u is not an entry", name, blkno, off);
                auto *e = reinterpret_cast<LshEntry>(PageGetItem(page, iid));
                if (!ItemPointerIsValid(&e->heaptid) || ItemPointerGetBlockNumberNoCheck(&e->heaptid) >= heap_nblocks)
                    CORRUPT("index \"%s\" page %u item %u points at heap TID (%u,%u), outside the table", name,
                            blkno, off, ItemPointerGetBlockNumberNoCheck(&e->heaptid),
                            ItemPointerGetOffsetNumberNoCheck(&e->heaptid));
                HeapTidKey hk;
                std::memset(&hk, 0, sizeof hk);
                hk.tid = e->heaptid;
                bool found;
                hash_search(heap_tids, &hk, HASH_ENTER, &found);
                if (found)
                    CORRUPT("index \"%s\" holds heap TID (%u,%u) twice", name,
                            ItemPointerGetBlockNumberNoCheck(&e->heaptid), ItemPointerGetOffsetNumberNoCheck(&e->heaptid));
                Size payload_len;
                const uint8 *payload = lsh_entry_payload(info, e, ItemIdGetLength(iid), &payload_len);
                if (info->filter_columns > 0 ? !am_payload_valid(index, payload, payload_len) : payload_len != 0)
                    CORRUPT("index \"%s\" page %u item %u has a malformed filter payload", name, blkno, off);
                const uint64 ref = lsh_ref(blkno, off);
                auto *ei = static_cast<EntryInfo *>(hash_search(entries, &ref, HASH_ENTER, nullptr));
                ei->heaptid = e->heaptid;
                ei->tables = 0;
                ei->keys = static_cast<uint64 *>(palloc(sizeof(uint64) * tables));
                family->family->keys(lsh_hash_input(info, e->code, work), ei->keys);
                out->entries++;
            }
        }
        UnlockReleaseBuffer(buf);
    }

    // Chains.
    const uint64 slots = static_cast<uint64>(tables) << info->slot_bits;
    for (uint64 number = 0; number < slots; ++number) {
        BlockNumber dir_blkno;
        uint32 slot;
        lsh_directory_slot(info, number, &dir_blkno, &slot);
        Buffer dir_buf = ReadBufferExtended(index, MAIN_FORKNUM, dir_blkno, RBM_NORMAL, strategy);
        LockBuffer(dir_buf, BUFFER_LOCK_SHARE);
        LshSlotData head = lsh_directory_entries(BufferGetPage(dir_buf))[slot];
        UnlockReleaseBuffer(dir_buf);
        const uint32 table = static_cast<uint32>(number >> info->slot_bits);
        BlockNumber blkno = head.block;
        OffsetNumber off = head.offset;
        while (blkno != InvalidBlockNumber) {
            CHECK_FOR_INTERRUPTS();
            if (blkno < first_data || blkno >= nblocks)
                CORRUPT("index \"%s\" slot %llu reaches block %u, outside the bucket pages", name,
                        static_cast<unsigned long long>(number), blkno);
            const uint64 seg_ref = lsh_ref(blkno, off);
            bool found;
            hash_search(segments, &seg_ref, HASH_ENTER, &found);
            if (found)
                CORRUPT("index \"%s\" segment (%u,%u) is reached twice", name, blkno, off);
            Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
            LockBuffer(buf, BUFFER_LOCK_SHARE);
            Page page = BufferGetPage(buf);
            if (!lsh_page_is(page, LSH_PAGE_BUCKET))
                CORRUPT("index \"%s\" slot %llu reaches block %u, not a bucket page", name,
                        static_cast<unsigned long long>(number), blkno);
            ItemId iid = off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page) ? PageGetItemId(page, off) : nullptr;
            if (iid == nullptr || !ItemIdIsNormal(iid) || ItemIdGetLength(iid) < offsetof(LshSegmentData, postings))
                CORRUPT("index \"%s\" slot %llu reaches (%u,%u), not a segment", name,
                        static_cast<unsigned long long>(number), blkno, off);
            auto *seg = reinterpret_cast<LshSegment>(PageGetItem(page, iid));
            if (seg->slot != number ||
                ItemIdGetLength(iid) != offsetof(LshSegmentData, postings) + sizeof(LshPosting) * seg->count)
                CORRUPT("index \"%s\" segment (%u,%u) belongs to slot %u, reached from slot %llu, or has a wrong length",
                        name, blkno, off, seg->slot, static_cast<unsigned long long>(number));
            for (uint16 j = 0; j < seg->count; ++j) {
                const LshPosting &p = seg->postings[j];
                const uint64 ref = lsh_ref(p.block, p.offset);
                auto *ei = static_cast<EntryInfo *>(hash_search(entries, &ref, HASH_FIND, nullptr));
                if (ei == nullptr)
                    CORRUPT("index \"%s\" segment (%u,%u) points at (%u,%u), not an entry", name, blkno, off,
                            p.block, p.offset);
                const uint64 key = ei->keys[table];
                if ((static_cast<uint64>(table) << info->slot_bits) + lsh_key_slot(info, key) != number ||
                    lsh_key_tag(info, key) != p.tag)
                    CORRUPT("index \"%s\" entry (%u,%u) is in slot %llu with tag %u, its key in table %u is slot %u tag %u",
                            name, p.block, p.offset, static_cast<unsigned long long>(number), p.tag, table,
                            lsh_key_slot(info, key), lsh_key_tag(info, key));
                ei->tables |= uint64{1} << table;
                out->postings++;
            }
            blkno = seg->next_block;
            off = seg->next_offset;
            UnlockReleaseBuffer(buf);
        }
    }

    // Coverage.
    const uint64 all = tables == 64 ? ~uint64{0} : (uint64{1} << tables) - 1;
    Snapshot snapshot = RegisterSnapshot(GetTransactionSnapshot());
    HASH_SEQ_STATUS it;
    hash_seq_init(&it, entries);
    for (auto *ei = static_cast<EntryInfo *>(hash_seq_search(&it)); ei != nullptr;
         ei = static_cast<EntryInfo *>(hash_seq_search(&it))) {
        if (ei->tables == all)
            continue;
        bool all_dead = false;
        ItemPointerData tid = ei->heaptid;
        if (table_index_fetch_tuple_check(heap, &tid, snapshot, &all_dead)) {
            hash_seq_term(&it);
            UnregisterSnapshot(snapshot);
            CORRUPT("index \"%s\" entry (%u,%u) of live row (%u,%u) is missing from some of its buckets", name,
                    static_cast<BlockNumber>(ei->ref >> 16), static_cast<OffsetNumber>(ei->ref & 0xFFFF),
                    ItemPointerGetBlockNumberNoCheck(&ei->heaptid), ItemPointerGetOffsetNumberNoCheck(&ei->heaptid));
        }
        out->unreachable++;
    }
    UnregisterSnapshot(snapshot);
    out->pages = nblocks;
    FreeAccessStrategy(strategy);
}

}  // namespace quiver::pg

QUIVER_FUNCTION(quiver_lsh_metapage)
{
    Oid indexoid = PG_GETARG_OID(0);
    TupleDesc tupdesc = quiver::pg::am_record_result(fcinfo);
    Relation index = quiver::pg::am_open_index_to_inspect(indexoid);
    if (index->rd_indam == nullptr || index->rd_rel->relkind != RELKIND_INDEX ||
        index->rd_indam->ambuild != quiver::pg::lshbuild)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("index \"%s\" is not an lsh index", RelationGetRelationName(index))));
    const LshIndexInfo *info = quiver::pg::lsh_index_info(index);  // checks the metapage
    index_close(index, AccessShareLock);

    static const char *const family_names[] = {"", "bit_sampling", "simhash", "pstable", "minhash"};
    Datum values[9];
    bool nulls[9] = {false};
    values[0] = Int32GetDatum(LSH_FORMAT_VERSION);
    values[1] = CStringGetTextDatum(family_names[static_cast<int>(info->params.family)]);
    values[2] = Int32GetDatum(static_cast<int32>(info->params.dim));
    values[3] = Int32GetDatum(static_cast<int32>(info->params.tables));
    values[4] = Int32GetDatum(static_cast<int32>(info->params.bits));
    values[5] = Int32GetDatum(static_cast<int32>(info->probes));
    values[6] = Float4GetDatum(info->params.width);
    nulls[6] = info->params.family != quiver::core::lsh::Family::pstable;
    values[7] = Int64GetDatum(static_cast<int64>(info->params.seed));
    values[8] = Int64GetDatum(int64{1} << info->slot_bits);
    HeapTuple tuple = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
    PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}
