// ivf helpers shared by build, insert, scan and vacuum: metapage info, new pages, the centroid
// stream and the list directory (format in quiver/pg/ivf.h).
#include "quiver/pg/ivf.h"

extern "C" {
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include "quiver/core/kernels.h"

#include <cstring>

using quiver::core::Metric;
using quiver::core::Representation;

namespace quiver::pg {
namespace {

void make_dc(IvfIndexInfo *info)
{
    if (!quiver::core::make_distance_computer(info->representation, info->metric,
                                              info->dimensions, &info->dc))
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("ivf index has an unsupported representation/metric pair")));
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

const QuiverOpclassInfo *ivf_opclass_info(Relation index)
{
    return am_opclass_info(index, IVF_INFO_PROC, "ivfflat");
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
    if (meta->version != IVF_FORMAT_VERSION)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("ivf index \"%s\" has format version %u, expected %d",
                               RelationGetRelationName(index), meta->version, IVF_FORMAT_VERSION),
                        errhint("REINDEX the index.")));
    IvfIndexInfo tmp{};
    tmp.dimensions = meta->dimensions;
    tmp.lists = meta->lists;
    tmp.representation = static_cast<Representation>(meta->representation);
    tmp.metric = static_cast<Metric>(meta->metric);
    tmp.normalized = meta->normalized != 0;
    tmp.code_len = meta->code_len;
    tmp.centroid_len = meta->centroid_len;
    tmp.centroid_start = meta->centroid_start;
    tmp.directory_start = meta->directory_start;
    UnlockReleaseBuffer(buf);

    tmp.opclass = ivf_opclass_info(index);
    make_dc(&tmp);
    // Every later read trusts these: check them once against what the opclass implies.
    Size expected = quiver::core::code_size(tmp.representation, tmp.dimensions, nullptr);
    if (tmp.lists < 1 || tmp.lists > IVFFLAT_MAX_LISTS || tmp.code_len != expected ||
        tmp.centroid_len != expected || tmp.code_len > IVF_MAX_CODE_LEN ||
        tmp.representation != tmp.opclass->representation || tmp.metric != tmp.opclass->metric)
        corrupted(index, "metapage does not match the operator class");
    if (tmp.centroid_start != IVF_METAPAGE_BLKNO + 1 ||
        tmp.directory_start != tmp.centroid_start +
                                   ivf_stream_pages(static_cast<Size>(tmp.lists) * tmp.centroid_len))
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

Buffer ivf_new_buffer(Relation index, ForkNumber fork)
{
    bool need_lock = !RELATION_IS_LOCAL(index);
    if (need_lock)
        LockRelationForExtension(index, ExclusiveLock);
    Buffer buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    if (need_lock)
        UnlockRelationForExtension(index, ExclusiveLock);
    return buf;
}

BlockNumber ivf_stream_pages(Size bytes)
{
    return static_cast<BlockNumber>((bytes + IVF_STREAM_BYTES - 1) / IVF_STREAM_BYTES);
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
    auto flush = [&] {
        if (n > 0)
            info->dc.batch(info->dc, code, ptrs, n, dist + first);
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
        first = list + 1;
    }
    flush();
    if (buf != InvalidBuffer)
        UnlockReleaseBuffer(buf);
    if (copy != nullptr)
        pfree(copy);
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
