// lsh index build: one pass over the table. Each row's entry is appended to the entry pages as
// it comes; its L postings (table, slot, tag, entry) go into a buffer of maintenance_work_mem.
// When the buffer is full, and at the end, it is sorted by slot and written out as one segment
// per slot (linked in front of the slot's chain), so memory stays bounded whatever the table's
// size; a table that fits the buffer gets one segment per bucket slot. The pages are written
// without WAL and logged at the end (log_newpage_range) when the relation needs WAL.
//
// Parameters left at 0 are chosen here from the dimensions and the table's estimated size N
// (measured on GloVe-100 200k sign bits, GloVe cosine and Fashion-MNIST L2, see README):
//   bits (K)  bit sampling: log2(N) - 2; SimHash: log2(N) - 5; both within
//             [4, min(dimensions, 24)]; p-stable: 6; MinHash: 2
//   tables    16
//   probes    bit sampling 4 K, SimHash 2 K, p-stable 64, MinHash 1 (it has no cheaper
//             neighbours); recall then is about 0.93 on GloVe sign bits, 0.85 on GloVe cosine
//             and Fashion-MNIST (lsh.probes trades speed for recall per query)
//   width     p-stable: the median distance from a sample row to its nearest other sample row
//             (the first 1,000 rows)
#include "quiver/pg/lsh.h"
#include "quiver/pg/filter_columns.h"

extern "C" {
#include "access/tableam.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "optimizer/plancat.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

using quiver::core::Representation;
using quiver::core::lsh::Family;
using quiver::core::lsh::HashFamily;

namespace quiver::pg {
namespace {

constexpr uint32 kWidthSample = 1000;

struct BuildPosting {
    uint32 number;  // t * S + s
    uint16 tag;
    OffsetNumber offset;
    BlockNumber block;
};

struct LshBuildState {
    Relation heap;
    Relation index;
    IndexInfo *index_info;
    ForkNumber fork;
    LshIndexInfo info;
    double estimated_rows;
    bool width_auto;
    HashFamily *family;  // deleted by the build context's reset callback
    MemoryContextCallback family_cb;
    float *work;
    uint64 *keys;

    Buffer entry_buf;    // current entry page (locked), InvalidBuffer before the first row
    Buffer bucket_buf;   // current bucket page (locked)
    BuildPosting *postings;
    Size count;
    Size capacity;

    // p-stable with width 0: the first rows wait here (codes, entry refs) for the width.
    char *sample_codes;
    ItemPointerData *sample_refs;
    uint32 sampled;

    double reltuples;
    double indtuples;
    MemoryContext tmp_ctx;
};

void delete_family(void *arg)
{
    auto *bs = static_cast<LshBuildState *>(arg);
    delete bs->family;
    bs->family = nullptr;
}

uint64 new_build_id()
{
    uint64 id = 0;
    if (!pg_strong_random(&id, sizeof id))
        id = static_cast<uint64>(GetCurrentTimestamp()) ^ (static_cast<uint64>(MyProcPid) << 40);
    return id;
}

uint32 log2_ceil(double n)
{
    uint32 b = 0;
    while (b < 40 && std::ldexp(1.0, static_cast<int>(b)) < n)
        ++b;
    return b;
}

void choose_parameters(LshBuildState *bs)
{
    auto *opts = reinterpret_cast<LshOptions *>(bs->index->rd_options);
    LshIndexInfo &info = bs->info;
    const Family family = info.params.family;
    const double n = Max(bs->estimated_rows, 1.0);
    const uint32 log2n = log2_ceil(n);
    uint32 bits = opts != nullptr ? static_cast<uint32>(opts->bits) : 0;
    if (bits == 0) {
        const uint32 cap = std::min<uint32>(info.params.dim, 24);
        switch (family) {
        case Family::bit_sampling:
            bits = std::max<uint32>(4, std::min<uint32>(log2n > 6 ? log2n - 2 : 4, cap));
            break;
        case Family::simhash:
            bits = std::max<uint32>(4, std::min<uint32>(log2n > 9 ? log2n - 5 : 4, cap));
            break;
        case Family::pstable:
            bits = 6;
            break;
        case Family::minhash:
            bits = 2;
            break;
        }
    }
    uint32 tables = opts != nullptr ? static_cast<uint32>(opts->tables) : 0;
    if (tables == 0)
        tables = 16;
    uint32 probes = opts != nullptr ? static_cast<uint32>(opts->probes) : 0;
    if (probes == 0) {
        switch (family) {
        case Family::bit_sampling:
            probes = 4 * bits;
            break;
        case Family::simhash:
            probes = 2 * bits;
            break;
        case Family::pstable:
            probes = 64;
            break;
        case Family::minhash:
            probes = 1;
            break;
        }
    }
    info.params.bits = bits;
    info.params.tables = tables;
    info.probes = probes;
    info.params.seed = opts != nullptr ? static_cast<uint64>(opts->seed) : 1;
    info.params.width = 0;
    if (family == Family::pstable) {
        const double w = opts != nullptr ? opts->width : 0;
        bs->width_auto = w <= 0;
        info.params.width = bs->width_auto ? 1.0f : static_cast<float>(w);
    }
    // Slots: one per 8 rows or so, within [2^10, 2^20] (one per row made the directory twice
    // as large for no measurable speed: GloVe-100 200k sign bits, 884 against 855 QPS at
    // 64 probes; one per 64 rows was slower, 765); bit sampling and SimHash keys have K bits,
    // so more than 2^K slots would stay empty.
    uint32 slot_bits = std::max<uint32>(LSH_MIN_SLOT_BITS, std::min<uint32>(log2n > 3 ? log2n - 3 : 0, LSH_MAX_SLOT_BITS));
    if (family == Family::bit_sampling || family == Family::simhash)
        slot_bits = Min(slot_bits, bits);
    info.slot_bits = slot_bits;
    const Size count = quiver::core::lsh::parameter_count(info.params);
    if (count == 0 || count > UINT32_MAX)
        elog(ERROR, "lsh: invalid hash parameters");
    // The drawn functions live in the build's (and every scanning backend's) memory.
    const Size bytes = sizeof(float) * count;
    if (bytes > static_cast<Size>(maintenance_work_mem) * 1024 / 2)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("lsh hash functions of %zu MB do not fit into maintenance_work_mem (%d MB)",
                               bytes / (1024 * 1024) + 1, maintenance_work_mem / 1024),
                        errdetail("%u tables of %u functions over %u dimensions.", tables, bits, info.params.dim),
                        errhint("Use fewer tables or bits, or increase maintenance_work_mem.")));
    info.parameter_count = static_cast<uint32>(count);
}

void init_build_state(LshBuildState *bs, Relation heap, Relation index, IndexInfo *index_info,
                      ForkNumber fork)
{
    *bs = LshBuildState();
    bs->heap = heap;
    bs->index = index;
    bs->index_info = index_info;
    bs->fork = fork;
    bs->entry_buf = InvalidBuffer;
    bs->bucket_buf = InvalidBuffer;
    LshIndexInfo &info = bs->info;
    info.opclass = lsh_opclass_info(index);
    info.filter_columns = am_filter_column_count(index);
    am_check_filter_columns(index, "lsh");
    Form_pg_attribute attr = TupleDescAttr(index->rd_att, 0);
    if (attr->atttypmod < 0)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("column does not have dimensions")));
    if (attr->atttypmod > info.opclass->max_dimensions)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("column cannot have more than %d dimensions for lsh index",
                               info.opclass->max_dimensions)));
    info.params.family = lsh_family_of(info.opclass);
    info.params.dim = static_cast<uint32>(attr->atttypmod);
    info.representation = info.opclass->representation;
    info.metric = info.opclass->metric;
    info.normalized = info.opclass->normalize;
    info.code_len = static_cast<uint32>(quiver::core::code_size(info.representation, info.params.dim, nullptr));
    info.build_id = new_build_id();
    if (!quiver::core::make_distance_computer(info.representation, info.metric, info.params.dim, &info.exact))
        elog(ERROR, "lsh: no distance computer for this operator class");
    bs->estimated_rows = 0;
    if (heap != nullptr) {
        BlockNumber pages;
        double tuples, allvisfrac;
        estimate_rel_size(heap, nullptr, &pages, &tuples, &allvisfrac);
        bs->estimated_rows = Max(tuples, 0.0);
    }
    choose_parameters(bs);
    bs->work = static_cast<float *>(palloc(sizeof(float) * info.params.dim));
    bs->keys = static_cast<uint64 *>(palloc(sizeof(uint64) * info.params.tables));
    bs->family_cb.func = delete_family;
    bs->family_cb.arg = bs;
    MemoryContextRegisterResetCallback(CurrentMemoryContext, &bs->family_cb);
    // The posting buffer: maintenance_work_mem less what the rest of the build keeps.
    const Size budget = static_cast<Size>(maintenance_work_mem) * 1024;
    bs->capacity = std::max<Size>(1024, std::min<Size>(budget / 2, MaxAllocSize) / sizeof(BuildPosting));
    bs->postings = static_cast<BuildPosting *>(palloc(sizeof(BuildPosting) * bs->capacity));
    if (bs->width_auto) {
        bs->sample_codes = static_cast<char *>(palloc(static_cast<Size>(kWidthSample) * info.code_len));
        bs->sample_refs = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * kWidthSample));
    }
    bs->tmp_ctx = AllocSetContextCreate(CurrentMemoryContext, "lsh build row", ALLOCSET_DEFAULT_SIZES);
}

void create_family(LshBuildState *bs)
{
    std::unique_ptr<HashFamily> created;
    if (HashFamily::create(bs->info.params, &created) != quiver::core::lsh::LshStatus::ok)
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
                        errmsg("lsh: cannot draw %u hash parameters", bs->info.parameter_count)));
    bs->family = created.release();
}

// ---- pages ---------------------------------------------------------------------------------------

Buffer new_page(LshBuildState *bs, uint16 page_type)
{
    Buffer buf = lsh_new_buffer(bs->index, bs->fork);
    lsh_init_page(BufferGetPage(buf), page_type);
    return buf;
}

void finish_page(Buffer buf)
{
    MarkBufferDirty(buf);
    UnlockReleaseBuffer(buf);
}

// Adds an item to the current page of a kind (a new page when it does not fit).
OffsetNumber add_item(LshBuildState *bs, Buffer *current, uint16 page_type, const void *item, Size len,
                      BlockNumber *blkno)
{
    if (*current != InvalidBuffer && PageGetFreeSpace(BufferGetPage(*current)) < MAXALIGN(len)) {
        finish_page(*current);
        *current = InvalidBuffer;
    }
    if (*current == InvalidBuffer)
        *current = new_page(bs, page_type);
    OffsetNumber off = PageAddItem(BufferGetPage(*current), static_cast<Item>(const_cast<void *>(item)),
                                   len, InvalidOffsetNumber, false, false);
    if (off == InvalidOffsetNumber)
        elog(ERROR, "lsh build: failed to add an item of %zu bytes to \"%s\"", static_cast<size_t>(len),
             RelationGetRelationName(bs->index));
    *blkno = BufferGetBlockNumber(*current);
    return off;
}

// Writes the postings buffer out: sorted by slot, one segment per slot (or more for a slot
// with more postings than a page holds), each in front of its slot's chain.
void flush_postings(LshBuildState *bs)
{
    if (bs->count == 0)
        return;
    std::sort(bs->postings, bs->postings + bs->count, [](const BuildPosting &a, const BuildPosting &b) {
        if (a.number != b.number)
            return a.number < b.number;
        if (a.block != b.block)
            return a.block < b.block;
        return a.offset < b.offset;
    });
    auto *segment = static_cast<LshSegment>(palloc(LSH_MAX_ITEM_LEN));
    Buffer dir_buf = InvalidBuffer;
    BlockNumber dir_blkno = InvalidBlockNumber;
    Size i = 0;
    while (i < bs->count) {
        const uint32 number = bs->postings[i].number;
        Size end = i;
        while (end < bs->count && bs->postings[end].number == number && end - i < LSH_MAX_SEGMENT_POSTINGS)
            ++end;
        BlockNumber blkno;
        uint32 slot;
        lsh_directory_slot(&bs->info, number, &blkno, &slot);
        if (blkno != dir_blkno) {
            if (dir_buf != InvalidBuffer)
                finish_page(dir_buf);
            dir_buf = ReadBufferExtended(bs->index, bs->fork, blkno, RBM_NORMAL, nullptr);
            LockBuffer(dir_buf, BUFFER_LOCK_EXCLUSIVE);
            dir_blkno = blkno;
        }
        LshSlotData *head = &lsh_directory_entries(BufferGetPage(dir_buf))[slot];
        segment->slot = number;
        segment->next_block = head->block;
        segment->next_offset = head->offset;
        segment->count = static_cast<uint16>(end - i);
        for (Size j = i; j < end; ++j)
            segment->postings[j - i] = LshPosting{bs->postings[j].block, bs->postings[j].offset, bs->postings[j].tag};
        const Size len = offsetof(LshSegmentData, postings) + sizeof(LshPosting) * segment->count;
        BlockNumber seg_blkno;
        const OffsetNumber off = add_item(bs, &bs->bucket_buf, LSH_PAGE_BUCKET, segment, len, &seg_blkno);
        head->block = seg_blkno;
        head->offset = off;
        i = end;
        CHECK_FOR_INTERRUPTS();
    }
    if (dir_buf != InvalidBuffer)
        finish_page(dir_buf);
    pfree(segment);
    bs->count = 0;
}

// The L postings of an entry.
void add_postings(LshBuildState *bs, const void *code, ItemPointerData ref)
{
    if (bs->count + bs->info.params.tables > bs->capacity)
        flush_postings(bs);
    bs->family->keys(lsh_hash_input(&bs->info, code, bs->work), bs->keys);
    const uint64 slots = uint64{1} << bs->info.slot_bits;
    for (uint32 t = 0; t < bs->info.params.tables; ++t)
        bs->postings[bs->count++] = BuildPosting{
            static_cast<uint32>(t * slots + lsh_key_slot(&bs->info, bs->keys[t])),
            lsh_key_tag(&bs->info, bs->keys[t]), ItemPointerGetOffsetNumber(&ref),
            ItemPointerGetBlockNumber(&ref)};
}

// p-stable with an automatic width: the median distance from a sample row to its nearest other
// sample row, then the family, then the sample's postings.
void settle_width(LshBuildState *bs)
{
    const uint32 n = bs->sampled;
    const uint32 dim = bs->info.params.dim;
    float width = 1.0f;
    if (n >= 2) {
        auto *floats = static_cast<float *>(palloc(sizeof(float) * static_cast<Size>(n) * dim));
        for (uint32 i = 0; i < n; ++i)
            std::memcpy(floats + static_cast<Size>(i) * dim,
                        lsh_hash_input(&bs->info, bs->sample_codes + static_cast<Size>(i) * bs->info.code_len, bs->work),
                        sizeof(float) * dim);
        auto *nearest = static_cast<double *>(palloc(sizeof(double) * n));
        for (uint32 i = 0; i < n; ++i) {
            double best = -1;
            for (uint32 j = 0; j < n; ++j) {
                if (j == i)
                    continue;
                double d = 0;
                const float *a = floats + static_cast<Size>(i) * dim;
                const float *b = floats + static_cast<Size>(j) * dim;
                for (uint32 k = 0; k < dim; ++k)
                    d += (static_cast<double>(a[k]) - b[k]) * (static_cast<double>(a[k]) - b[k]);
                if (best < 0 || d < best)
                    best = d;
            }
            nearest[i] = std::sqrt(best);
        }
        std::nth_element(nearest, nearest + n / 2, nearest + n);
        if (nearest[n / 2] > 0 && std::isfinite(nearest[n / 2]))
            width = static_cast<float>(nearest[n / 2]);
        pfree(nearest);
        pfree(floats);
    }
    bs->info.params.width = width;
    bs->width_auto = false;
    create_family(bs);
    for (uint32 i = 0; i < n; ++i)
        add_postings(bs, bs->sample_codes + static_cast<Size>(i) * bs->info.code_len, bs->sample_refs[i]);
}

void build_callback(Relation, ItemPointer tid, Datum *values, bool *isnull, bool, void *state)
{
    auto *bs = static_cast<LshBuildState *>(state);
    if (isnull[0])
        return;
    MemoryContext old = MemoryContextSwitchTo(bs->tmp_ctx);
    Size code_len;
    uint32 dim;
    void *code = am_value_code(bs->info.opclass, values[0], &code_len, &dim, false);
    if (code != nullptr) {
        am_check_dimensions(bs->info.opclass, dim, bs->info.params.dim);
        Size payload_len = 0;
        uint8 *payload = am_row_payload(bs->index, values, isnull, &payload_len);
        const Size len = offsetof(LshEntryData, code) + bs->info.code_len + payload_len;
        if (len > LSH_MAX_ITEM_LEN)
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("index row of %zu bytes does not fit into an lsh page (at most %zu)",
                                   static_cast<size_t>(len), static_cast<size_t>(LSH_MAX_ITEM_LEN)),
                            errhint("Index fewer or shorter filter columns, or fewer dimensions.")));
        auto *entry = static_cast<LshEntry>(palloc0(len));
        entry->heaptid = *tid;
        std::memcpy(entry->code, code, bs->info.code_len);
        if (payload_len > 0)
            std::memcpy(entry->code + bs->info.code_len, payload, payload_len);
        BlockNumber blkno;
        const OffsetNumber off = add_item(bs, &bs->entry_buf, LSH_PAGE_ENTRY, entry, len, &blkno);
        ItemPointerData ref;
        ItemPointerSet(&ref, blkno, off);
        if (bs->width_auto) {
            std::memcpy(bs->sample_codes + static_cast<Size>(bs->sampled) * bs->info.code_len, code, bs->info.code_len);
            bs->sample_refs[bs->sampled++] = ref;
            if (bs->sampled == kWidthSample)
                settle_width(bs);
        } else {
            add_postings(bs, code, ref);
        }
        bs->indtuples += 1;
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(bs->indtuples));
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(bs->tmp_ctx);
}

void write_stream(LshBuildState *bs, BlockNumber start, uint16 page_type, const char *data, Size bytes)
{
    BlockNumber blkno = start;
    for (Size done = 0; done < bytes; done += LSH_STREAM_BYTES, ++blkno) {
        Buffer buf = ReadBufferExtended(bs->index, bs->fork, blkno, RBM_NORMAL, nullptr);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(buf);
        lsh_init_page(page, page_type);
        const Size n = Min(bytes - done, LSH_STREAM_BYTES);
        std::memcpy(PageGetContents(page), data + done, n);
        reinterpret_cast<PageHeader>(page)->pd_lower =
            static_cast<LocationIndex>(PageGetContents(page) + n - reinterpret_cast<char *>(page));
        finish_page(buf);
    }
}

// Blocks 0 .. directory end: the metapage, parameter and directory pages, blank for now.
void reserve_pages(LshBuildState *bs, BlockNumber count)
{
    for (BlockNumber i = 0; i < count; ++i) {
        Buffer buf = new_page(bs, LSH_PAGE_META);
        if (BufferGetBlockNumber(buf) != i)
            elog(ERROR, "lsh build: block %u of a new index is %u", i, BufferGetBlockNumber(buf));
        finish_page(buf);
    }
}

void write_metapage(LshBuildState *bs, BlockNumber entry_insert, BlockNumber bucket_insert)
{
    Buffer buf = ReadBufferExtended(bs->index, bs->fork, LSH_METAPAGE_BLKNO, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    lsh_init_page(page, LSH_PAGE_META);
    LshMetaPage meta = LshPageGetMeta(page);
    std::memset(meta, 0, sizeof *meta);
    const LshIndexInfo &info = bs->info;
    meta->magic = LSH_MAGIC;
    meta->version = LSH_FORMAT_VERSION;
    meta->family = static_cast<uint8>(info.params.family);
    meta->representation = static_cast<uint8>(info.representation);
    meta->metric = static_cast<uint8>(info.metric);
    meta->normalized = info.normalized ? 1 : 0;
    meta->dimensions = info.params.dim;
    meta->tables = static_cast<uint16>(info.params.tables);
    meta->bits = static_cast<uint16>(info.params.bits);
    meta->slot_bits = static_cast<uint16>(info.slot_bits);
    meta->key_columns = static_cast<uint16>(1 + info.filter_columns);
    meta->probes = info.probes;
    meta->width = info.params.width;
    meta->code_len = info.code_len;
    meta->seed = info.params.seed;
    meta->build_id = info.build_id;
    meta->parameter_start = info.parameter_start;
    meta->parameter_count = info.parameter_count;
    meta->directory_start = info.directory_start;
    meta->entry_insert = entry_insert;
    meta->bucket_insert = bucket_insert;
    reinterpret_cast<PageHeader>(page)->pd_lower =
        static_cast<LocationIndex>(reinterpret_cast<char *>(meta + 1) - reinterpret_cast<char *>(page));
    finish_page(buf);
}

void build_index(LshBuildState *bs)
{
    LshIndexInfo &info = bs->info;
    const Size parameter_bytes = sizeof(float) * static_cast<Size>(info.parameter_count);
    const Size directory_bytes = sizeof(LshSlotData) * (static_cast<Size>(info.params.tables) << info.slot_bits);
    info.parameter_start = LSH_METAPAGE_BLKNO + 1;
    info.directory_start = info.parameter_start + lsh_stream_pages(parameter_bytes);
    reserve_pages(bs, info.directory_start + lsh_stream_pages(directory_bytes));
    {
        // Every slot empty: InvalidBlockNumber is all ones.
        char *empty = static_cast<char *>(palloc(directory_bytes));
        std::memset(empty, 0xFF, directory_bytes);
        write_stream(bs, info.directory_start, LSH_PAGE_DIRECTORY, empty, directory_bytes);
        pfree(empty);
    }
    if (!bs->width_auto)
        create_family(bs);
    if (bs->heap != nullptr)
        bs->reltuples = table_index_build_scan(bs->heap, bs->index, bs->index_info, true, true,
                                               build_callback, bs, nullptr);
    if (bs->width_auto)
        settle_width(bs);
    flush_postings(bs);
    const BlockNumber entry_insert = bs->entry_buf != InvalidBuffer ? BufferGetBlockNumber(bs->entry_buf) : InvalidBlockNumber;
    const BlockNumber bucket_insert = bs->bucket_buf != InvalidBuffer ? BufferGetBlockNumber(bs->bucket_buf) : InvalidBlockNumber;
    if (bs->entry_buf != InvalidBuffer)
        finish_page(bs->entry_buf);
    if (bs->bucket_buf != InvalidBuffer)
        finish_page(bs->bucket_buf);
    write_stream(bs, info.parameter_start, LSH_PAGE_PARAMETERS,
                 reinterpret_cast<const char *>(bs->family->parameters().data()), parameter_bytes);
    write_metapage(bs, entry_insert, bucket_insert);
    if (RelationNeedsWAL(bs->index) || bs->fork == INIT_FORKNUM)
        log_newpage_range(bs->index, bs->fork, 0,
                          RelationGetNumberOfBlocksInFork(bs->index, bs->fork), true);
}

}  // namespace

IndexBuildResult *lshbuild(Relation heap, Relation index, IndexInfo *index_info)
{
    if (RelationGetNumberOfBlocks(index) != 0)
        elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
    MemoryContext build_ctx = AllocSetContextCreate(CurrentMemoryContext, "lsh build", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(build_ctx);
    auto *bs = static_cast<LshBuildState *>(palloc(sizeof(LshBuildState)));
    init_build_state(bs, heap, index, index_info, MAIN_FORKNUM);
    build_index(bs);
    MemoryContextSwitchTo(old);
    auto *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
    result->heap_tuples = bs->reltuples;
    result->index_tuples = bs->indtuples;
    MemoryContextDelete(build_ctx);
    return result;
}

void lshbuildempty(Relation index)
{
    MemoryContext build_ctx = AllocSetContextCreate(CurrentMemoryContext, "lsh build", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(build_ctx);
    auto *bs = static_cast<LshBuildState *>(palloc(sizeof(LshBuildState)));
    init_build_state(bs, nullptr, index, BuildIndexInfo(index), INIT_FORKNUM);
    build_index(bs);
    MemoryContextSwitchTo(old);
    MemoryContextDelete(build_ctx);
}

}  // namespace quiver::pg
