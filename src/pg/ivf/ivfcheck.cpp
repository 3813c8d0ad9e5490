// quiver_index_check for ivf indexes (the SQL function lives in hnsw/hnswcheck.cpp and calls
// this for ivfflat): reads every page through the buffer manager, one share lock at a time, and
// raises ERRCODE_INDEX_CORRUPTED on the first violation of the format in quiver/pg/ivf.h:
//   metapage    magic, version, lists, code and centroid sizes, page layout, representation and
//               metric equal to the opclass's, dimensions equal to the column's typmod;
//   quantizer   ivf with sq8 / pq: the blob loads (magic, checksum, sizes, finite values) and
//               its code size is the entries';
//   centroids   centroid pages of the right type; every float finite (unit norm under cosine,
//               but for ivf_centroids_scaled indexes);
//   directory   directory pages of the right type; per list start and insert both set or both
//               unset, inside the relation, past the directory;
//   lists       each chain made of entry pages no other list (or the same one) reaches again,
//               ending at the directory's insert page; every item normal, of the entry size,
//               with a heap TID inside the table, the code valid for the representation
//               (finite floats, unit norm under cosine, bit padding zero); heap TIDs distinct;
//               in the fast-scan layout every item a block of 1..32 entries, full unless it is
//               its page's last, with zero TIDs and codes past its entries;
//   pages       every entry page past the directory is in some list, except all-zero pages an
//               interrupted extension leaves behind.
#include "quiver/pg/ivf.h"
#include "quiver/pg/filter_columns.h"

extern "C" {
#include "access/tableam.h"
#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

#include "quiver/core/kernels.h"
#include "quiver/core/quant/fastscan.h"

#include <cmath>
#include <cstring>

using quiver::core::Representation;

namespace quiver::pg {
namespace {

#define CORRUPT(...) ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED), errmsg(__VA_ARGS__)))

struct IvfCheck {
    Relation index;
    const char *name;
    const IvfIndexInfo *info;
    BufferAccessStrategy strategy;
    BlockNumber nblocks;
    BlockNumber heap_nblocks;
    BlockNumber first_entry_page;
    uint8 *in_list;      // per block: reached by a list
    HTAB *heap_tids;
    float *floats;       // scratch: one code as floats
    int64 entries;
};

// A code must be what the distance kernels expect.
// unit: under cosine the code must be unit length (entries, and centroids but those of
// ivf_centroids_scaled indexes).
void check_code(IvfCheck *c, Representation representation, const char *what, uint32 which,
                const void *code, bool unit = true)
{
    const IvfIndexInfo *info = c->info;
    switch (representation) {
    case Representation::f32:
    case Representation::f16: {
        if (representation == Representation::f32)
            std::memcpy(c->floats, code, sizeof(float) * info->dimensions);
        else
            quiver::core::kernels().f16_to_f32(static_cast<const quiver::core::half_bits *>(code),
                                               c->floats, info->dimensions);
        double norm = 0;
        for (uint32 i = 0; i < info->dimensions; ++i) {
            if (!std::isfinite(c->floats[i]))
                CORRUPT("index \"%s\" %s %u has a non-finite element at dimension %u", c->name, what,
                        which, i + 1);
            norm += static_cast<double>(c->floats[i]) * c->floats[i];
        }
        // Under cosine every code is unit length (half precision rounds more).
        double tolerance = representation == Representation::f32 ? 1e-3 : 1e-2;
        if (unit && info->normalized && std::fabs(std::sqrt(norm) - 1.0) > tolerance)
            CORRUPT("index \"%s\" %s %u is not unit length (norm %g) in a cosine index", c->name,
                    what, which, std::sqrt(norm));
        break;
    }
    case Representation::bits: {
        uint32 pad = (8 - info->dimensions % 8) % 8;
        auto *bytes = static_cast<const uint8 *>(code);
        if (pad > 0 && (bytes[info->code_len - 1] & ((1u << pad) - 1)) != 0)
            CORRUPT("index \"%s\" %s %u has padding bits set", c->name, what, which);
        break;
    }
    case Representation::sparse:
        CORRUPT("index \"%s\" has a sparse representation, which ivf does not store", c->name);
    }
}

Buffer read_page(IvfCheck *c, BlockNumber blkno, uint16 page_type, const char *what)
{
    if (blkno >= c->nblocks)
        CORRUPT("index \"%s\" %s page %u is past the end (%u pages)", c->name, what, blkno, c->nblocks);
    Buffer buf = ReadBufferExtended(c->index, MAIN_FORKNUM, blkno, RBM_NORMAL, c->strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    if (PageIsNew(page) || IvfPageGetOpaque(page)->page_id != IVF_PAGE_ID ||
        IvfPageGetOpaque(page)->page_type != page_type) {
        UnlockReleaseBuffer(buf);
        CORRUPT("index \"%s\" block %u is not a %s page", c->name, blkno, what);
    }
    return buf;
}

void check_centroids(IvfCheck *c)
{
    const IvfIndexInfo *info = c->info;
    auto *copy = static_cast<char *>(palloc(info->centroid_len));
    for (uint32 list = 0; list < info->lists; ++list) {
        ivf_read_centroid(c->index, info, list, copy);  // errors on a page that is not a centroid page
        check_code(c, info->centroid_representation, "centroid of list", list, copy,
                   !ivf_centroids_scaled(info->quantizer, info->normalized));
    }
    pfree(copy);
}

// An entry's heap TID: inside the table and in no other entry.
void check_heap_tid(IvfCheck *c, Buffer buf, OffsetNumber off, ItemPointerData tid)
{
    const BlockNumber blkno = BufferGetBlockNumber(buf);
    if (!ItemPointerIsValid(&tid) || ItemPointerGetBlockNumberNoCheck(&tid) >= c->heap_nblocks) {
        UnlockReleaseBuffer(buf);
        CORRUPT("index \"%s\" page %u item %u points at heap TID (%u,%u), outside the table",
                c->name, blkno, off, ItemPointerGetBlockNumberNoCheck(&tid),
                ItemPointerGetOffsetNumberNoCheck(&tid));
    }
    uint64 key = (static_cast<uint64>(ItemPointerGetBlockNumber(&tid)) << 16) |
                 ItemPointerGetOffsetNumber(&tid);
    bool found;
    hash_search(c->heap_tids, &key, HASH_ENTER, &found);
    if (found) {
        UnlockReleaseBuffer(buf);
        CORRUPT("index \"%s\" holds heap TID (%u,%u) twice", c->name,
                ItemPointerGetBlockNumber(&tid), ItemPointerGetOffsetNumber(&tid));
    }
    ++c->entries;
}

// A fast-scan block: 1..32 entries, full unless it is the page's last item, and nothing but
// zeros in the TIDs and codes past its entries (the kernel reads them).
void check_block(IvfCheck *c, Buffer buf, OffsetNumber off, bool last)
{
    const IvfIndexInfo *info = c->info;
    Page page = BufferGetPage(buf);
    const BlockNumber blkno = BufferGetBlockNumber(buf);
    IvfBlock block = ivf_page_block(c->index, info, page, blkno, off);
    if (!last && block->count != IVF_BLOCK_ENTRIES) {
        UnlockReleaseBuffer(buf);
        CORRUPT("index \"%s\" page %u block %u has %u entries, but only a page's last block may "
                "have fewer than %d", c->name, blkno, off, block->count, IVF_BLOCK_ENTRIES);
    }
    auto *code = static_cast<uint8 *>(palloc(info->code_len));
    for (int i = 0; i < IVF_BLOCK_ENTRIES; ++i) {
        quiver::core::quant::fastscan_unpack(block->codes, info->pq_m, i, code);
        if (i < block->count) {
            check_heap_tid(c, buf, off, block->heaptids[i]);
            continue;
        }
        ItemPointerData zero_tid;
        std::memset(&zero_tid, 0, sizeof zero_tid);
        bool zero = std::memcmp(&block->heaptids[i], &zero_tid, sizeof zero_tid) == 0;
        for (uint32 b = 0; b < info->code_len; ++b)
            zero = zero && code[b] == 0;
        if (!zero) {
            UnlockReleaseBuffer(buf);
            CORRUPT("index \"%s\" page %u block %u has data in its unused slot %d", c->name, blkno,
                    off, i);
        }
    }
    pfree(code);
}

void check_list(IvfCheck *c, uint32 list, const IvfListData &entry)
{
    const IvfIndexInfo *info = c->info;
    if ((entry.start == InvalidBlockNumber) != (entry.insert == InvalidBlockNumber))
        CORRUPT("index \"%s\" list %u has start page %u but insert page %u", c->name, list,
                entry.start, entry.insert);
    BlockNumber blkno = entry.start;
    BlockNumber last = InvalidBlockNumber;
    const Size item_len = offsetof(IvfEntryData, code) + info->code_len;
    while (blkno != InvalidBlockNumber) {
        if (blkno < c->first_entry_page || blkno >= c->nblocks)
            CORRUPT("index \"%s\" list %u reaches block %u, outside the entry pages (%u..%u)",
                    c->name, list, blkno, c->first_entry_page, c->nblocks - 1);
        if (c->in_list[blkno])
            CORRUPT("index \"%s\" list %u reaches page %u a second time (a cycle or a page shared "
                    "by two lists)", c->name, list, blkno);
        c->in_list[blkno] = 1;
        Buffer buf = read_page(c, blkno, IVF_PAGE_ENTRY, "entry");
        Page page = BufferGetPage(buf);
        OffsetNumber max = PageGetMaxOffsetNumber(page);
        for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off) {
            if (info->entry_layout == IVF_LAYOUT_FASTSCAN) {
                check_block(c, buf, off, off == max);
                continue;
            }
            ItemId iid = PageGetItemId(page, off);
            // Filter columns: the code is followed by a payload of those columns.
            const bool sized = ItemIdIsNormal(iid) && (info->filter_columns == 0
                                                           ? ItemIdGetLength(iid) == item_len
                                                           : ItemIdGetLength(iid) > item_len);
            if (!sized) {
                UnlockReleaseBuffer(buf);
                CORRUPT("index \"%s\" page %u item %u is not an entry of %zu bytes%s", c->name, blkno,
                        off, static_cast<size_t>(item_len),
                        info->filter_columns > 0 ? " and a payload" : "");
            }
            IvfEntry e = ivf_page_entry(page, off);
            if (info->filter_columns > 0) {
                Size payload_len;
                const uint8 *payload = ivf_entry_payload(info, e, ItemIdGetLength(iid), &payload_len);
                if (!am_payload_valid(c->index, payload, payload_len)) {
                    UnlockReleaseBuffer(buf);
                    CORRUPT("index \"%s\" page %u item %u has a payload of %zu bytes that does not "
                            "hold the values of its %d filter columns",
                            c->name, blkno, off, static_cast<size_t>(payload_len), info->filter_columns);
                }
            }
            check_heap_tid(c, buf, off, e->heaptid);
            if (info->quantizer == IVF_QUANTIZER_FLAT)
                check_code(c, info->representation, "entry on page", blkno, e->code);
        }
        last = blkno;
        blkno = IvfPageGetOpaque(page)->next;
        UnlockReleaseBuffer(buf);
        CHECK_FOR_INTERRUPTS();
    }
    if (last != entry.insert)
        CORRUPT("index \"%s\" list %u ends at page %u, but its insert page is %u", c->name, list,
                last, entry.insert);
}

}  // namespace

void ivf_index_check(Relation index, Relation heap, IvfCheckResult *out)
{
    IvfCheck c{};
    c.index = index;
    c.name = RelationGetRelationName(index);
    c.info = ivf_index_info(index);
    c.strategy = GetAccessStrategy(BAS_BULKREAD);
    c.nblocks = RelationGetNumberOfBlocks(index);
    c.heap_nblocks = RelationGetNumberOfBlocks(heap);
    const IvfIndexInfo *info = c.info;
    int32 typmod = TupleDescAttr(index->rd_att, 0)->atttypmod;
    if (typmod >= 0 && static_cast<uint32>(typmod) != info->dimensions)
        CORRUPT("index \"%s\" has %u dimensions, but its column has %d", c.name, info->dimensions, typmod);
    c.first_entry_page = ivf_first_entry_page(info);
    if (c.first_entry_page > c.nblocks)
        CORRUPT("index \"%s\" has %u pages, fewer than its centroids and directory need (%u)", c.name,
                c.nblocks, c.first_entry_page);
    c.in_list = static_cast<uint8 *>(palloc0(c.nblocks));
    c.floats = static_cast<float *>(palloc(sizeof(float) * Max(info->dimensions, 1u)));
    HASHCTL ctl;
    std::memset(&ctl, 0, sizeof ctl);
    ctl.keysize = sizeof(uint64);
    ctl.entrysize = sizeof(uint64);
    ctl.hcxt = CurrentMemoryContext;
    c.heap_tids = hash_create("ivf check heap tids", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

    check_centroids(&c);
    if (info->quantizer != IVF_QUANTIZER_FLAT)
        ivf_verify_quantizer(index, info);  // checksum, sizes and values of the blob
    for (uint32 list = 0; list < info->lists; ++list) {
        BlockNumber dblk;
        uint32 slot;
        ivf_directory_slot(info, list, &dblk, &slot);
        Buffer buf = read_page(&c, dblk, IVF_PAGE_DIRECTORY, "directory");
        IvfListData entry = ivf_directory_entries(BufferGetPage(buf))[slot];
        UnlockReleaseBuffer(buf);
        check_list(&c, list, entry);
    }
    // Every entry page belongs to a list; an all-zero page is an extension a crash interrupted.
    for (BlockNumber blk = c.first_entry_page; blk < c.nblocks; ++blk) {
        if (c.in_list[blk])
            continue;
        Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, c.strategy);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        bool is_new = PageIsNew(BufferGetPage(buf));
        UnlockReleaseBuffer(buf);
        if (!is_new)
            CORRUPT("index \"%s\" page %u is in no list", c.name, blk);
    }
    out->pages = c.nblocks;
    out->entries = c.entries;
}

}  // namespace quiver::pg
