// ivf helpers shared by build, insert, scan and vacuum: metapage info, new pages, the centroid
// stream and the list directory (format in quiver/pg/ivf.h).
#include "quiver/pg/ivf.h"

extern "C" {
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include "quiver/core/kernels.h"
#include "quiver/core/quant/pq.h"
#include "quiver/core/quant/quantizer.h"

#include <memory>

#include <cmath>
#include <cstring>

using quiver::core::Metric;
using quiver::core::Representation;

namespace quiver::pg {
namespace {

void make_dc(IvfIndexInfo *info)
{
    if (!quiver::core::make_distance_computer(info->centroid_representation, info->metric,
                                              info->dimensions, &info->dc) ||
        !quiver::core::make_distance_computer(info->representation, info->metric,
                                              info->dimensions, &info->exact))
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("ivf index has an unsupported representation/metric pair")));
}

// Bytes of an entry's code for this quantizer (0 when the parameters are impossible).
Size expected_code_len(const IvfIndexInfo *info, uint32 pq_m, uint32 pq_nbits)
{
    switch (info->quantizer) {
    case IVF_QUANTIZER_FLAT:
        return quiver::core::code_size(info->representation, info->dimensions, nullptr);
    case IVF_QUANTIZER_SQ8:
        return info->dimensions;
    case IVF_QUANTIZER_BIT:
        return (info->dimensions + 7) / 8;
    case IVF_QUANTIZER_PQ:
        if (pq_m == 0 || info->dimensions % pq_m != 0 || (pq_nbits != 4 && pq_nbits != 8))
            return 0;
        return pq_nbits == 8 ? pq_m : (pq_m + 1) / 2;
    default:
        return 0;
    }
}

// A copy in the caller's memory context: rd_amcache goes with any relcache invalidation.
const IvfIndexInfo *copy_info(const IvfIndexInfo *cached)
{
    auto *copy = static_cast<IvfIndexInfo *>(palloc(sizeof(IvfIndexInfo)));
    *copy = *cached;
    if (copy->dc.table != &quiver::core::kernels())  // quiver.simd changed
        make_dc(copy);
    return copy;
}

void corrupted(Relation index, const char *what)
{
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("ivf index \"%s\" is corrupted: %s", RelationGetRelationName(index),
                           what),
                    errhint("REINDEX the index.")));
}

}  // namespace

bool ivf_is_quantized_am(Relation index)
{
    return index->rd_indam != nullptr && index->rd_indam->ambuild == ivfbuild;
}

const QuiverOpclassInfo *ivf_opclass_info(Relation index)
{
    return am_opclass_info(index, IVF_INFO_PROC, ivf_is_quantized_am(index) ? "ivf" : "ivfflat");
}

const IvfIndexInfo *ivf_index_info(Relation index)
{
    auto *cached = static_cast<IvfIndexInfo *>(index->rd_amcache);
    if (cached != nullptr)
        return copy_info(cached);

    Buffer buf = ReadBuffer(index, IVF_METAPAGE_BLKNO);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    IvfMetaPage meta = IvfPageGetMeta(page);
    if (PageIsNew(page) || IvfPageGetOpaque(page)->page_id != IVF_PAGE_ID || meta->magic != IVF_MAGIC)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" is not an ivf index", RelationGetRelationName(index))));
    if (meta->version < IVF_MIN_FORMAT_VERSION || meta->version > IVF_FORMAT_VERSION)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("ivf index \"%s\" has format version %u, expected %d to %d",
                               RelationGetRelationName(index), meta->version,
                               IVF_MIN_FORMAT_VERSION, IVF_FORMAT_VERSION),
                        errhint("REINDEX the index.")));
    const int key_columns = meta->version < 2 ? 1 : meta->key_columns;
    if (key_columns != RelationGetNumberOfAttributes(index))
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("ivf index \"%s\" metapage has %d key columns, the index has %d",
                               RelationGetRelationName(index), key_columns,
                               RelationGetNumberOfAttributes(index)),
                        errhint("REINDEX the index.")));
    IvfIndexInfo tmp{};
    tmp.dimensions = meta->dimensions;
    tmp.lists = meta->lists;
    tmp.representation = static_cast<Representation>(meta->representation);
    tmp.centroid_representation = static_cast<Representation>(meta->centroid_representation);
    tmp.metric = static_cast<Metric>(meta->metric);
    tmp.normalized = meta->normalized != 0;
    tmp.quantizer = meta->quantizer;
    tmp.code_len = meta->code_len;
    tmp.centroid_len = meta->centroid_len;
    tmp.centroid_start = meta->centroid_start;
    tmp.directory_start = meta->directory_start;
    tmp.blob_start = meta->blob_start;
    tmp.blob_len = meta->blob_len;
    tmp.rerank = meta->rerank;
    tmp.entry_layout = meta->entry_layout;
    tmp.pq_m = meta->pq_m;
    tmp.filter_columns = key_columns - 1;
    UnlockReleaseBuffer(buf);

    const bool quantized_am = ivf_is_quantized_am(index);
    tmp.am_name = quantized_am ? "ivf" : "ivfflat";
    tmp.opclass = ivf_opclass_info(index);
    if (tmp.representation != tmp.opclass->representation || tmp.metric != tmp.opclass->metric ||
        tmp.dimensions < 1 || tmp.dimensions > IVF_MAX_DIM)
        corrupted(index, "metapage does not match the operator class");
    if (tmp.quantizer != IVF_QUANTIZER_FLAT && !quantized_am)
        corrupted(index, "an ivfflat index with a quantizer");
    if (tmp.quantizer == IVF_QUANTIZER_FLAT
            ? tmp.centroid_representation != tmp.representation
            : tmp.centroid_representation != Representation::f32)
        corrupted(index, "metapage has a wrong centroid representation");
    make_dc(&tmp);
    // Every later read trusts these: check them once against what the opclass implies.
    Size centroid_len = quiver::core::code_size(tmp.centroid_representation, tmp.dimensions, nullptr);
    bool sizes_ok = tmp.lists >= 1 && tmp.lists <= IVFFLAT_MAX_LISTS && tmp.centroid_len == centroid_len &&
                    tmp.code_len >= 1 && tmp.code_len <= IVF_MAX_CODE_LEN;
    if (tmp.quantizer == IVF_QUANTIZER_FLAT)
        sizes_ok = sizes_ok && tmp.code_len == expected_code_len(&tmp, 0, 0);
    else if (tmp.quantizer == IVF_QUANTIZER_SQ8)
        sizes_ok = sizes_ok && tmp.code_len == tmp.dimensions;
    else if (tmp.quantizer == IVF_QUANTIZER_BIT)
        sizes_ok = sizes_ok && tmp.code_len == expected_code_len(&tmp, 0, 0);
    else if (tmp.quantizer != IVF_QUANTIZER_PQ)
        sizes_ok = false;
    if (!sizes_ok)
        corrupted(index, "metapage has wrong code sizes");
    // Fast-scan blocks hold pq codes of 4 bits (code_len = (pq_m + 1) / 2) and fit a page.
    if (tmp.entry_layout == IVF_LAYOUT_FASTSCAN
            ? !ivf_fastscan_layout(tmp.quantizer, tmp.pq_m, 4) || tmp.code_len != (tmp.pq_m + 1) / 2
            : tmp.entry_layout != IVF_LAYOUT_ENTRY || tmp.pq_m != 0)
        corrupted(index, "metapage has a wrong entry layout");
    BlockNumber directory_start = tmp.centroid_start + ivf_stream_pages(static_cast<Size>(tmp.lists) * tmp.centroid_len);
    BlockNumber blob_start = directory_start + ivf_stream_pages(sizeof(IvfListData) * tmp.lists);
    if (tmp.centroid_start != IVF_METAPAGE_BLKNO + 1 || tmp.directory_start != directory_start ||
        (tmp.quantizer == IVF_QUANTIZER_FLAT ? tmp.blob_len != 0
                                             : tmp.blob_start != blob_start || tmp.blob_len == 0))
        corrupted(index, "metapage has a wrong page layout");

    auto *info = static_cast<IvfIndexInfo *>(MemoryContextAlloc(index->rd_indexcxt, sizeof tmp));
    *info = tmp;
    index->rd_amcache = info;
    return copy_info(info);
}

void ivf_init_page(Page page, uint16 page_type)
{
    PageInit(page, BLCKSZ, sizeof(IvfPageOpaqueData));
    IvfPageOpaque op = IvfPageGetOpaque(page);
    op->next = InvalidBlockNumber;
    op->page_type = page_type;
    op->page_id = IVF_PAGE_ID;
}

Buffer ivf_new_buffer(Relation index, ForkNumber fork) { return am_new_buffer(index, fork); }

BlockNumber ivf_stream_pages(Size bytes)
{
    return static_cast<BlockNumber>((bytes + IVF_STREAM_BYTES - 1) / IVF_STREAM_BYTES);
}

BlockNumber ivf_first_entry_page(const IvfIndexInfo *info)
{
    return info->directory_start + ivf_stream_pages(sizeof(IvfListData) * info->lists) +
           ivf_stream_pages(info->blob_len);
}

void ivf_directory_slot(const IvfIndexInfo *info, uint32 list, BlockNumber *blkno, uint32 *slot)
{
    *blkno = info->directory_start + list / IVF_DIR_PER_PAGE;
    *slot = list % IVF_DIR_PER_PAGE;
}

void ivf_check_entry_page(Relation index, Page page, uint32 list, BlockNumber blkno)
{
    if (PageIsNew(page) || IvfPageGetOpaque(page)->page_id != IVF_PAGE_ID ||
        IvfPageGetOpaque(page)->page_type != IVF_PAGE_ENTRY)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("ivf index \"%s\" is corrupted: list %u reaches page %u, which is "
                               "not an entry page",
                               RelationGetRelationName(index), list, blkno),
                        errhint("REINDEX the index.")));
}

// ---- the centroid stream -------------------------------------------------------------------------

namespace {

// Pins and share-locks a centroid page (releasing *buf first); its payload.
const char *centroid_page(Relation index, BlockNumber blkno, Buffer *buf)
{
    if (*buf != InvalidBuffer)
        UnlockReleaseBuffer(*buf);
    *buf = ReadBuffer(index, blkno);
    LockBuffer(*buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(*buf);
    if (PageIsNew(page) || IvfPageGetOpaque(page)->page_id != IVF_PAGE_ID ||
        IvfPageGetOpaque(page)->page_type != IVF_PAGE_CENTROID)
        corrupted(index, "a centroid page is missing");
    return PageGetContents(page);
}

}  // namespace

float ivf_scaled_centroid_distance(float neg_dot, const float *centroid, uint32 dim)
{
    const float norm = std::sqrt(quiver::core::kernels().norm_sq_f32(centroid, dim));
    return norm > 0 ? neg_dot / norm : 0.0f;
}

void ivf_centroid_distances(Relation index, const IvfIndexInfo *info, const void *code, float *dist)
{
    const Size len = info->centroid_len;
    Buffer buf = InvalidBuffer;
    BlockNumber current = InvalidBlockNumber;
    const char *data = nullptr;
    char *copy = nullptr;
    // Centroids of one page go to the batch kernel together, flushed before the page is let go.
    const void *ptrs[64];
    int n = 0;
    uint32 first = 0;  // list of ptrs[0]
    const bool scaled = ivf_centroids_scaled(info->quantizer, info->normalized);
    auto flush = [&] {
        if (n > 0)
            info->dc.batch(info->dc, code, ptrs, n, dist + first);
        if (scaled)  // cosine to the centroid: its inner product over its length
            for (int i = 0; i < n; ++i)
                dist[first + i] = ivf_scaled_centroid_distance(
                    dist[first + i], static_cast<const float *>(ptrs[i]), info->dimensions);
        first += n;
        n = 0;
    };
    for (uint32 list = 0; list < info->lists; ++list) {
        Size pos = static_cast<Size>(list) * len;
        BlockNumber blkno = info->centroid_start + static_cast<BlockNumber>(pos / IVF_STREAM_BYTES);
        Size offset = pos % IVF_STREAM_BYTES;
        if (blkno != current) {
            flush();
            data = centroid_page(index, blkno, &buf);
            current = blkno;
        }
        if (offset + len <= IVF_STREAM_BYTES) {
            ptrs[n++] = data + offset;
            if (n == lengthof(ptrs))
                flush();
            continue;
        }
        // Straddles two or more pages: gather a copy.
        flush();
        if (copy == nullptr)
            copy = static_cast<char *>(palloc(len));
        Size done = 0;
        while (done < len) {
            Size take = Min(IVF_STREAM_BYTES - offset, len - done);
            std::memcpy(copy + done, data + offset, take);
            done += take;
            if (done < len) {
                data = centroid_page(index, ++current, &buf);
                offset = 0;
            }
        }
        dist[list] = info->dc(code, copy);
        if (scaled)
            dist[list] = ivf_scaled_centroid_distance(dist[list], reinterpret_cast<const float *>(copy),
                                                      info->dimensions);
        first = list + 1;
    }
    flush();
    if (buf != InvalidBuffer)
        UnlockReleaseBuffer(buf);
    if (copy != nullptr)
        pfree(copy);
}

namespace {

// Copies `len` bytes at byte `pos` of the stream starting at `start` (pages of `page_type`).
void read_stream(Relation index, BlockNumber start, uint16 page_type, Size pos, Size len, char *out)
{
    Size done = 0;
    while (done < len) {
        BlockNumber blkno = start + static_cast<BlockNumber>((pos + done) / IVF_STREAM_BYTES);
        Size offset = (pos + done) % IVF_STREAM_BYTES;
        Size take = Min(IVF_STREAM_BYTES - offset, len - done);
        Buffer buf = ReadBuffer(index, blkno);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        if (PageIsNew(page) || IvfPageGetOpaque(page)->page_id != IVF_PAGE_ID ||
            IvfPageGetOpaque(page)->page_type != page_type) {
            UnlockReleaseBuffer(buf);
            corrupted(index, page_type == IVF_PAGE_BLOB ? "a quantizer page is missing"
                                                        : "a centroid page is missing");
        }
        std::memcpy(out + done, PageGetContents(page) + offset, take);
        UnlockReleaseBuffer(buf);
        done += take;
    }
}

}  // namespace

void ivf_read_centroid(Relation index, const IvfIndexInfo *info, uint32 list, void *out)
{
    read_stream(index, info->centroid_start, IVF_PAGE_CENTROID,
                static_cast<Size>(list) * info->centroid_len, info->centroid_len,
                static_cast<char *>(out));
}

uint8 *ivf_read_blob(Relation index, const IvfIndexInfo *info)
{
    auto *blob = static_cast<uint8 *>(palloc(Max(info->blob_len, 1u)));
    read_stream(index, info->blob_start, IVF_PAGE_BLOB, 0, info->blob_len, reinterpret_cast<char *>(blob));
    return blob;
}

void ivf_write_stream(Relation index, ForkNumber fork, uint16 page_type, const char *data, Size bytes)
{
    BlockNumber pages = ivf_stream_pages(bytes);
    for (BlockNumber p = 0; p < pages; ++p) {
        Buffer buf = ivf_new_buffer(index, fork);
        Page page = BufferGetPage(buf);
        ivf_init_page(page, page_type);
        Size take = Min(IVF_STREAM_BYTES, bytes - p * IVF_STREAM_BYTES);
        std::memcpy(PageGetContents(page), data + p * IVF_STREAM_BYTES, take);
        reinterpret_cast<PageHeader>(page)->pd_lower = static_cast<LocationIndex>(
            PageGetContents(page) + take - reinterpret_cast<char *>(page));
        MarkBufferDirty(buf);
        UnlockReleaseBuffer(buf);
    }
}

// ---- quantizers -------------------------------------------------------------------------------------
//
// Loading a quantizer checks its blob (checksum, every value) and lays out its tables, which
// cost a fifth of an ivf scan when done per query. A backend therefore keeps the last few it
// loaded, keyed by the index's file and the blob's 32-byte header (which carries the blob's
// checksum: a new index in a reused file number cannot match by accident). Scans and inserts
// take a reference for as long as they use one; only unreferenced entries are evicted.

namespace {

constexpr int kCachedQuantizers = 4;
constexpr Size kBlobHeader = 32;

struct CachedQuantizer {
    RelFileNodeBackend key;
    uint8 header[kBlobHeader];
    quiver::core::quant::Quantizer *quant;  // nullptr: free slot
    int refs;
    uint64 last_used;
};

CachedQuantizer quantizer_cache[kCachedQuantizers];
uint64 quantizer_clock = 0;

bool same_file(const RelFileNodeBackend &a, const RelFileNodeBackend &b)
{
    return RelFileNodeEquals(a.node, b.node) && a.backend == b.backend;
}

void close_quantizer(void *arg)
{
    auto *h = static_cast<IvfQuantizer *>(arg);
    delete h->dist;
    h->dist = nullptr;
    if (h->cached >= 0)
        --quantizer_cache[h->cached].refs;
    else
        delete h->quant;
    h->quant = nullptr;
}

// load_quantizer() with a plain pointer as result: no C++ object with a destructor stays alive
// in the caller, which may ereport.
quiver::core::quant::QuantStatus load_raw(const uint8 *blob, Size len,
                                          quiver::core::quant::Quantizer **quant)
{
    std::unique_ptr<quiver::core::quant::Quantizer> loaded;
    auto status = quiver::core::quant::load_quantizer(blob, len, &loaded);
    *quant = loaded.release();
    return status;
}

quiver::core::quant::QuantStatus make_distance_raw(const quiver::core::quant::Quantizer *quant,
                                                   quiver::core::Metric metric,
                                                   quiver::core::quant::CodeDistance **dist)
{
    std::unique_ptr<quiver::core::quant::CodeDistance> cd;
    auto status = quant->make_distance(metric, &cd);
    *dist = cd.release();
    return status;
}

// A free or evictable slot for a new entry, or -1 when every slot is in use.
int cache_slot()
{
    int best = -1;
    for (int i = 0; i < kCachedQuantizers; ++i) {
        if (quantizer_cache[i].refs > 0)
            continue;
        if (best < 0 || quantizer_cache[i].quant == nullptr ||
            (quantizer_cache[best].quant != nullptr &&
             quantizer_cache[i].last_used < quantizer_cache[best].last_used))
            best = i;
    }
    return best;
}

}  // namespace

quiver::core::Metric ivf_code_metric(const IvfIndexInfo *info)
{
    return info->normalized ? quiver::core::Metric::l2sq : info->metric;
}

void ivf_value_floats(const IvfIndexInfo *info, const void *code, float *out)
{
    if (info->representation == Representation::f16)
        quiver::core::kernels().f16_to_f32(static_cast<const quiver::core::half_bits *>(code), out,
                                           info->dimensions);
    else
        std::memcpy(out, code, sizeof(float) * info->dimensions);
}

namespace {

// The loaded quantizer is what the metapage says: its kind, dimensions and code size.
bool quantizer_matches(const quiver::core::quant::Quantizer *quant, const IvfIndexInfo *info)
{
    using quiver::core::quant::QuantizerKind;
    const QuantizerKind kind = info->quantizer == IVF_QUANTIZER_SQ8   ? QuantizerKind::sq8
                               : info->quantizer == IVF_QUANTIZER_BIT ? QuantizerKind::bit
                                                                      : QuantizerKind::pq;
    if (quant == nullptr || quant->kind() != kind || quant->code_size() != info->code_len ||
        quant->dim() != info->dimensions)
        return false;
    if (info->entry_layout != IVF_LAYOUT_FASTSCAN)
        return true;
    auto *pq = static_cast<const quiver::core::quant::ProductQuantizer *>(quant);
    return pq->nbits() == 4 && pq->m() == info->pq_m;
}

}  // namespace

void ivf_verify_quantizer(Relation index, const IvfIndexInfo *info)
{
    uint8 *blob = ivf_read_blob(index, info);
    quiver::core::quant::Quantizer *quant = nullptr;
    auto status = load_raw(blob, info->blob_len, &quant);
    pfree(blob);
    bool matches = quantizer_matches(quant, info);
    delete quant;
    if (status != quiver::core::quant::QuantStatus::ok)
        corrupted(index, quiver::core::quant::status_name(status));
    if (!matches)
        corrupted(index, "the quantizer does not match the metapage");
}

IvfQuantizer *ivf_open_quantizer(Relation index, const IvfIndexInfo *info)
{
    auto *h = static_cast<IvfQuantizer *>(palloc0(sizeof(IvfQuantizer)));
    h->cached = -1;
    // Registered before anything can fail, so whatever is taken is given back with the context.
    h->cb.func = close_quantizer;
    h->cb.arg = h;
    MemoryContextRegisterResetCallback(CurrentMemoryContext, &h->cb);
    if (info->blob_len < kBlobHeader)
        corrupted(index, "the quantizer blob is too short");

    uint8 header[kBlobHeader];
    read_stream(index, info->blob_start, IVF_PAGE_BLOB, 0, kBlobHeader, reinterpret_cast<char *>(header));
    RelFileNodeBackend key;
    key.node = index->rd_node;
    key.backend = index->rd_backend;
    for (int i = 0; i < kCachedQuantizers; ++i) {
        CachedQuantizer &e = quantizer_cache[i];
        if (e.quant != nullptr && same_file(e.key, key) && std::memcmp(e.header, header, kBlobHeader) == 0) {
            h->quant = e.quant;
            h->cached = i;
            ++e.refs;
            e.last_used = ++quantizer_clock;
            break;
        }
    }
    if (h->quant == nullptr) {
        uint8 *blob = ivf_read_blob(index, info);
        auto status = load_raw(blob, info->blob_len, &h->quant);
        pfree(blob);
        if (status != quiver::core::quant::QuantStatus::ok)
            corrupted(index, quiver::core::quant::status_name(status));
        if (!quantizer_matches(h->quant, info))
            corrupted(index, "the quantizer does not match the metapage");
        int slot = cache_slot();
        if (slot >= 0) {
            CachedQuantizer &e = quantizer_cache[slot];
            delete e.quant;
            e.key = key;
            std::memcpy(e.header, header, kBlobHeader);
            e.quant = h->quant;
            e.refs = 1;
            e.last_used = ++quantizer_clock;
            h->cached = slot;
        }
    }
    if (make_distance_raw(h->quant, ivf_code_metric(info), &h->dist) != quiver::core::quant::QuantStatus::ok)
        ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
    return h;
}

uint32 ivf_nearest_list(Relation index, const IvfIndexInfo *info, const void *code)
{
    auto *dist = static_cast<float *>(palloc(sizeof(float) * info->lists));
    ivf_centroid_distances(index, info, code, dist);
    uint32 best = 0;
    for (uint32 i = 1; i < info->lists; ++i)
        if (dist[i] < dist[best])
            best = i;
    pfree(dist);
    return best;
}

}  // namespace quiver::pg
