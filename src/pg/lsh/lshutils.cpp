// lsh helpers shared by build, insert, scan and vacuum: metapage info, new pages, the directory
// and the backend's cache of hash families (format in quiver/pg/lsh.h).
#include "quiver/pg/lsh.h"

extern "C" {
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include "quiver/core/kernels.h"

#include <cstring>
#include <memory>

using quiver::core::Metric;
using quiver::core::Representation;
using quiver::core::lsh::Family;
using quiver::core::lsh::HashFamily;

namespace quiver::pg {
namespace {

// Loaded hash families, by index file and build: a scan hashes its query with the family of
// the index (up to 800 kB of floats for SimHash on 784 dimensions), read from its pages once per
// backend rather than once per query.
constexpr int kCachedFamilies = 4;
struct CachedFamily {
    RelFileNodeBackend key;
    uint64 build_id;
    const HashFamily *family;
    int refs;  // open handles
    uint64 last_used;
};
CachedFamily family_cache[kCachedFamilies];
uint64 family_clock = 0;

bool same_file(const RelFileNodeBackend &a, const RelFileNodeBackend &b)
{
    return RelFileNodeEquals(a.node, b.node) && a.backend == b.backend;
}

void make_dc(Relation index, LshIndexInfo *info)
{
    if (!quiver::core::make_distance_computer(info->representation, info->metric,
                                              info->params.dim, &info->exact))
        lsh_corrupted(index, "unsupported representation/metric pair");
}

const LshIndexInfo *copy_info(Relation index, const LshIndexInfo *cached)
{
    auto *copy = static_cast<LshIndexInfo *>(palloc(sizeof(LshIndexInfo)));
    *copy = *cached;
    if (copy->exact.table != &quiver::core::kernels())  // quiver.simd changed
        make_dc(index, copy);
    return copy;
}

// Reads floats [0, count) of the parameter stream.
void read_parameters(Relation index, const LshIndexInfo *info, float *out)
{
    Size bytes = sizeof(float) * static_cast<Size>(info->parameter_count);
    char *dst = reinterpret_cast<char *>(out);
    BlockNumber blkno = info->parameter_start;
    while (bytes > 0) {
        Buffer buf = ReadBuffer(index, blkno);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        lsh_check_page(index, page, blkno, LSH_PAGE_PARAMETERS);
        const Size n = Min(bytes, LSH_STREAM_BYTES);
        std::memcpy(dst, PageGetContents(page), n);
        UnlockReleaseBuffer(buf);
        dst += n;
        bytes -= n;
        ++blkno;
    }
}

}  // namespace

void lsh_corrupted(Relation index, const char *what)
{
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("lsh index \"%s\" is corrupted: %s", RelationGetRelationName(index), what),
                    errhint("REINDEX the index.")));
    pg_unreachable();
}

const QuiverOpclassInfo *lsh_opclass_info(Relation index)
{
    return am_opclass_info(index, LSH_INFO_PROC, "lsh");
}

Family lsh_family_of(const QuiverOpclassInfo *opclass)
{
    if (opclass->representation == Representation::bits)
        return opclass->metric == Metric::jaccard ? Family::minhash : Family::bit_sampling;
    return opclass->metric == Metric::l2sq ? Family::pstable : Family::simhash;
}

const LshIndexInfo *lsh_index_info(Relation index)
{
    auto *cached = static_cast<LshIndexInfo *>(index->rd_amcache);
    if (cached != nullptr)
        return copy_info(index, cached);

    Buffer buf = ReadBuffer(index, LSH_METAPAGE_BLKNO);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    LshMetaPage meta = LshPageGetMeta(page);
    if (PageIsNew(page) || LshPageGetOpaque(page)->page_id != LSH_PAGE_ID || meta->magic != LSH_MAGIC)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" is not an lsh index", RelationGetRelationName(index))));
    if (meta->version != LSH_FORMAT_VERSION)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("lsh index \"%s\" has format version %u, expected %d",
                               RelationGetRelationName(index), meta->version, LSH_FORMAT_VERSION),
                        errhint("REINDEX the index.")));
    LshIndexInfo tmp{};
    tmp.params.family = static_cast<Family>(meta->family);
    tmp.params.dim = meta->dimensions;
    tmp.params.tables = meta->tables;
    tmp.params.bits = meta->bits;
    tmp.params.width = meta->width;
    tmp.params.seed = meta->seed;
    tmp.representation = static_cast<Representation>(meta->representation);
    tmp.metric = static_cast<Metric>(meta->metric);
    tmp.normalized = meta->normalized != 0;
    tmp.slot_bits = meta->slot_bits;
    tmp.probes = meta->probes;
    tmp.code_len = meta->code_len;
    tmp.build_id = meta->build_id;
    tmp.parameter_start = meta->parameter_start;
    tmp.parameter_count = meta->parameter_count;
    tmp.directory_start = meta->directory_start;
    const int key_columns = meta->key_columns;
    UnlockReleaseBuffer(buf);

    if (key_columns != RelationGetNumberOfAttributes(index))
        lsh_corrupted(index, "the metapage's key columns differ from the index's");
    tmp.filter_columns = key_columns - 1;
    tmp.opclass = lsh_opclass_info(index);
    if (tmp.representation != tmp.opclass->representation || tmp.metric != tmp.opclass->metric ||
        tmp.params.family != lsh_family_of(tmp.opclass) || tmp.params.dim < 1 ||
        tmp.params.dim > static_cast<uint32>(tmp.opclass->max_dimensions))
        lsh_corrupted(index, "metapage does not match the operator class");
    if (quiver::core::lsh::parameter_count(tmp.params) != tmp.parameter_count ||
        tmp.parameter_start != LSH_METAPAGE_BLKNO + 1 ||
        tmp.directory_start != tmp.parameter_start + lsh_stream_pages(sizeof(float) * static_cast<Size>(tmp.parameter_count)) ||
        tmp.slot_bits < 1 || tmp.slot_bits > LSH_MAX_SLOT_BITS || tmp.probes < 1 ||
        tmp.code_len != quiver::core::code_size(tmp.representation, tmp.params.dim, nullptr))
        lsh_corrupted(index, "metapage has a wrong layout");
    make_dc(index, &tmp);

    auto *info = static_cast<LshIndexInfo *>(MemoryContextAlloc(index->rd_indexcxt, sizeof tmp));
    *info = tmp;
    index->rd_amcache = info;
    return copy_info(index, info);
}

void lsh_init_page(Page page, uint16 page_type)
{
    PageInit(page, BLCKSZ, sizeof(LshPageOpaqueData));
    LshPageOpaque op = LshPageGetOpaque(page);
    op->unused = 0;
    op->page_type = page_type;
    op->page_id = LSH_PAGE_ID;
}

Buffer lsh_new_buffer(Relation index, ForkNumber fork) { return am_new_buffer(index, fork); }

BlockNumber lsh_stream_pages(Size bytes)
{
    return static_cast<BlockNumber>((bytes + LSH_STREAM_BYTES - 1) / LSH_STREAM_BYTES);
}

void lsh_directory_slot(const LshIndexInfo *info, uint64 number, BlockNumber *blkno, uint32 *slot)
{
    *blkno = info->directory_start + static_cast<BlockNumber>(number / LSH_SLOTS_PER_PAGE);
    *slot = static_cast<uint32>(number % LSH_SLOTS_PER_PAGE);
}

void lsh_check_page(Relation index, Page page, BlockNumber blkno, uint16 page_type)
{
    if (!lsh_page_is(page, page_type)) {
        char what[96];
        snprintf(what, sizeof what, "block %u is not a page of type %u", blkno, page_type);
        lsh_corrupted(index, what);
    }
}

namespace {

void close_family(void *arg)
{
    auto *h = static_cast<LshFamilyHandle *>(arg);
    if (h->cached >= 0)
        family_cache[h->cached].refs--;
    else
        delete h->family;
    h->family = nullptr;
}

}  // namespace

LshFamilyHandle *lsh_open_family(Relation index, const LshIndexInfo *info)
{
    auto *h = static_cast<LshFamilyHandle *>(palloc0(sizeof(LshFamilyHandle)));
    h->cached = -1;
    h->cb.func = close_family;
    h->cb.arg = h;
    MemoryContextRegisterResetCallback(CurrentMemoryContext, &h->cb);
    RelFileNodeBackend key;
    key.node = index->rd_node;
    key.backend = index->rd_backend;
    for (int i = 0; i < kCachedFamilies; ++i) {
        CachedFamily &e = family_cache[i];
        if (e.family != nullptr && same_file(e.key, key) && e.build_id == info->build_id) {
            e.last_used = ++family_clock;
            e.refs++;
            h->family = e.family;
            h->cached = i;
            return h;
        }
    }
    auto *values = static_cast<float *>(palloc(sizeof(float) * static_cast<Size>(info->parameter_count)));
    read_parameters(index, info, values);
    {
        std::unique_ptr<HashFamily> loaded;
        if (HashFamily::from_parameters(info->params, values, info->parameter_count, &loaded) ==
            quiver::core::lsh::LshStatus::ok)
            h->family = loaded.release();
    }
    pfree(values);
    if (h->family == nullptr)
        lsh_corrupted(index, "its hash parameters do not load");
    // Into a free slot, or the least recently used one nobody holds; else owned by the handle.
    int slot = -1;
    for (int i = 0; i < kCachedFamilies; ++i) {
        const CachedFamily &e = family_cache[i];
        if (e.refs > 0)
            continue;
        if (slot < 0 || e.family == nullptr ||
            (family_cache[slot].family != nullptr && e.last_used < family_cache[slot].last_used))
            slot = i;
    }
    if (slot >= 0) {
        CachedFamily &e = family_cache[slot];
        delete e.family;
        e.key = key;
        e.build_id = info->build_id;
        e.family = h->family;
        e.refs = 1;
        e.last_used = ++family_clock;
        h->cached = slot;
    }
    return h;
}

const void *lsh_hash_input(const LshIndexInfo *info, const void *code, float *work)
{
    if (info->representation != Representation::f16)
        return code;
    quiver::core::kernels().f16_to_f32(static_cast<const quiver::core::half_bits *>(code), work,
                                       info->params.dim);
    return work;
}

}  // namespace quiver::pg
