// The inverted-file index access methods on one implementation: `ivfflat` (pgvector's SQL
// surface: options, GUCs, opclass names, messages; lists hold the vectors) and quiver's `ivf`
// (lists hold quantized codes: SQ8, PQ or bit from the core's quantizers, or the vectors with
// quantizer = 'flat'; the best `rerank` candidates are re-ranked by exact distance to the
// table's vectors). Include after glue.h. quiver_index_check and the format readers rely on what is documented here:
// change it only with IVF_FORMAT_VERSION.
//
// Relation layout
//   block 0                 metapage (IvfMetaPageData in the page contents)
//   centroid pages          the lists' centroids as one byte stream, `centroid_len` bytes each,
//                           in list order, IVF_STREAM_BYTES of payload per page (a centroid may
//                           straddle two pages; readers copy such a one out)
//   directory pages         IvfListData {start, insert} per list, IVF_DIR_PER_PAGE a page
//   quantizer pages         ivf with sq8 / pq / bit: the quantizer's blob (quiver/core/quant/
//                           quantizer.h) as one byte stream of `blob_len` bytes
//   entry pages             one chain per list (opaque.next); inserts append to the list's last
//                           page (`insert`). Items by the metapage's entry_layout:
//                           IVF_LAYOUT_ENTRY: IvfEntryData = heap TID + the code, one per entry;
//                           IVF_LAYOUT_FASTSCAN (ivf, pq with 4-bit codes): IvfBlockData = up to
//                           32 entries' heap TIDs and their codes packed for the fast-scan kernel
//                           (quiver/core/quant/fastscan.h), all blocks of a page full except
//                           perhaps its last item (inserts fill it; VACUUM repacks the page)
//   Every page has an 8-byte special space whose last two bytes are IVF_PAGE_ID.
//
// ivfflat (and ivf with quantizer = 'flat'): codes are the indexed values as the
// DistanceComputer reads them (see quiver/pg/am.h and hnsw.h): float[dim] for vector
// (unit-normalised under cosine), binary16 for halfvec, bytes for bit, and centroids are codes of
// the same representation, so one computer ranks lists and entries. ivf with sq8 / pq / bit:
// centroids are float[dim] (under cosine: unit length for sq8, scaled for pq and bit, see
// ivf_centroids_scaled), codes are the quantizer's codes of the
// vector (sq8) or of its residual to the list's centroid (pq, bit), as floats (halfvec converted).
// A list that never held an entry has start = insert = InvalidBlockNumber; its first insert
// creates its first page.
//
// Concurrency: page locks only. An insert locks its list's last page (following `next` when
// another insert extended the list meanwhile), and the directory page when it links a new
// page. Scans read one page at a time under a share lock and copy (distance, heap TID) out;
// VACUUM deletes dead items under an exclusive lock (PageIndexMultiDelete). Scans hand out heap
// TIDs after their locks are gone, which only MVCC snapshots make safe (as for hnsw).
#pragma once

#include "quiver/pg/glue.h"
#include "quiver/pg/am.h"

extern "C" {
#include "access/amapi.h"
#include "access/itup.h"
#include "nodes/execnodes.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
}

#include "quiver/core/distance.h"

#include <type_traits>

// pgvector's limits and defaults.
#define IVFFLAT_MAX_DIM 2000
#define IVFFLAT_MAX_HALFVEC_DIM 4000
#define IVFFLAT_MAX_BIT_DIM 64000
#define IVFFLAT_DEFAULT_LISTS 100
#define IVFFLAT_MIN_LISTS 1
#define IVFFLAT_MAX_LISTS 32768
#define IVFFLAT_DEFAULT_PROBES 1

#define IVF_ITERATIVE_SCAN_OFF 0
#define IVF_ITERATIVE_SCAN_RELAXED 1

// Support functions: 1 distance (pgvector's), 2 norm (cosine), 3 quiver's opclass info.
#define IVF_DISTANCE_PROC 1
#define IVF_NORM_PROC 2
#define IVF_INFO_PROC 3
#define IVF_NPROCS 3

#define IVF_MAGIC 0x51564946u  // "QVIF"
#define IVF_FORMAT_VERSION 2      // 2: key_columns, entry payloads (filter columns)
#define IVF_MIN_FORMAT_VERSION 1  // 1: the same without filter columns, read as it is
#define IVF_PAGE_ID 0xFF92
#define IVF_METAPAGE_BLKNO 0

#define IVF_PAGE_META 1
#define IVF_PAGE_CENTROID 2
#define IVF_PAGE_DIRECTORY 3
#define IVF_PAGE_ENTRY 4

#define IVF_LAYOUT_ENTRY 0
#define IVF_LAYOUT_FASTSCAN 1

#define IVF_QUANTIZER_FLAT 0
#define IVF_QUANTIZER_SQ8 1
#define IVF_QUANTIZER_PQ 2
#define IVF_QUANTIZER_BIT 3

// pq and bit codes hold the residual of a vector to its list's centroid; sq8 the vector itself.
inline bool ivf_codes_residual(int quantizer)
{
    return quantizer == IVF_QUANTIZER_PQ || quantizer == IVF_QUANTIZER_BIT;
}

// Whether the index's centroids are scaled: ivf with residual codes (pq, bit) under cosine.
// Lists come from spherical k-means, as for ivfflat, and are ranked (rows assigned) by cosine
// to their centroid; but each centroid is stored at the length that fits its rows best (the
// mean of x.c over them), not at unit length, because the codes hold residuals to it: at unit
// length they are about twice as long on GloVe-like data and rank far worse (3,072-d, 4-bit PQ,
// re-ranking 100: recall 0.89 against 0.96). Indexes built before this rule have unit
// centroids, which rank and decode the same way.
inline bool ivf_centroids_scaled(int quantizer, bool normalized)
{
    return normalized && ivf_codes_residual(quantizer);
}

// ivf's own limits and defaults.
#define IVF_MAX_DIM 16000
#define IVF_DEFAULT_RERANK 100
#define IVF_MAX_RERANK 10000
#define IVF_PAGE_BLOB 5

// Build phases (pg_stat_progress_create_index.phase), pgvector's numbers and names.
#define IVF_PHASE_KMEANS 2
#define IVF_PHASE_ASSIGN 3
#define IVF_PHASE_LOAD 4

struct IvfPageOpaqueData {
    BlockNumber next;  // entry pages: next page of the list, InvalidBlockNumber at the end
    uint16 page_type;
    uint16 page_id;    // IVF_PAGE_ID
};
typedef IvfPageOpaqueData *IvfPageOpaque;
static_assert(sizeof(IvfPageOpaqueData) == 8, "special space is 8 bytes");

struct IvfMetaPageData {
    uint32 magic;
    uint32 version;
    uint32 dimensions;
    uint32 lists;
    uint8 representation;  // quiver::core::Representation
    uint8 metric;          // quiver::core::Metric
    uint8 normalized;
    uint8 quantizer;       // IVF_QUANTIZER_*
    uint32 code_len;       // bytes of every entry's code
    uint32 centroid_len;   // bytes of every centroid
    BlockNumber centroid_start;
    BlockNumber directory_start;
    BlockNumber blob_start;  // quantizer pages (sq8, pq), else InvalidBlockNumber
    uint32 blob_len;         // bytes of the quantizer blob, 0 without one
    uint32 rerank;           // default re-rank depth (WITH (rerank = N)); 0 = none
    uint8 centroid_representation;  // quiver::core::Representation of the centroids
    uint8 entry_layout;     // IVF_LAYOUT_* (0 in indexes built before fast-scan blocks)
    uint16 pq_m;            // fast-scan layout: PQ sub-spaces (the packed block's size); else 0
    uint16 key_columns;     // the vector and the filter columns (0 in format version 1: one)
    uint16 unused;
};
typedef IvfMetaPageData *IvfMetaPage;

struct IvfListData {
    BlockNumber start;   // first entry page, InvalidBlockNumber while the list is empty
    BlockNumber insert;  // last entry page (where inserts go)
};

struct IvfEntryData {
    ItemPointerData heaptid;
    uint16 unused;
    char code[FLEXIBLE_ARRAY_MEMBER];  // 4-aligned: items are MAXALIGNed, the header is 8 bytes
    // With filter columns the code is followed by the row's payload (quiver/core/filter.h's
    // format), up to the item's end: its length is the item's less header and code.
};
typedef IvfEntryData *IvfEntry;
static_assert(offsetof(IvfEntryData, code) == 8, "entry header is 8 bytes");

// Fast-scan layout: 32 entries a block; entries [0, count) are in use, the TIDs and codes past
// them are zero.
#define IVF_BLOCK_ENTRIES 32
struct IvfBlockData {
    uint16 count;
    uint16 unused;
    ItemPointerData heaptids[IVF_BLOCK_ENTRIES];
    uint8 codes[FLEXIBLE_ARRAY_MEMBER];  // fastscan_block_bytes(pq_m)
};
typedef IvfBlockData *IvfBlock;
static_assert(offsetof(IvfBlockData, codes) == 196, "block header is 196 bytes");

#define IvfPageGetOpaque(page) ((IvfPageOpaque) PageGetSpecialPointer(page))
#define IvfPageGetMeta(page) ((IvfMetaPage) PageGetContents(page))
// Payload bytes a stream page (centroids, directory) carries after its header.
#define IVF_STREAM_BYTES \
    ((Size) (BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IvfPageOpaqueData))))
#define IVF_DIR_PER_PAGE ((uint32) (IVF_STREAM_BYTES / sizeof(IvfListData)))
// The largest code an entry page holds (one item per page at least).
#define IVF_MAX_CODE_LEN \
    (BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IvfPageOpaqueData)) - \
     sizeof(ItemIdData) - offsetof(IvfEntryData, code))

// The largest item an entry page holds.
#define IVF_MAX_ITEM_LEN (IVF_MAX_CODE_LEN + offsetof(IvfEntryData, code))

// Options from WITH (...): ivfflat has only `lists`.
struct IvfOptions {
    int32 vl_len_;
    int lists;
    int quantizer_offset;  // ivf: string option "quantizer" (offset from the struct)
    int pq_m;              // ivf: 0 = chosen from the dimensions
    int pq_nbits;
    int rerank;
};

// The metapage's constants plus the distance computer, cached in rd_amcache.
struct IvfIndexInfo {
    uint32 dimensions;
    uint32 lists;
    quiver::core::Representation representation;           // of the indexed values
    quiver::core::Representation centroid_representation;
    quiver::core::Metric metric;
    bool normalized;
    uint8 quantizer;       // IVF_QUANTIZER_*
    uint8 entry_layout;    // IVF_LAYOUT_*
    uint32 pq_m;           // fast-scan layout: PQ sub-spaces
    uint32 code_len;
    uint32 centroid_len;
    BlockNumber centroid_start;
    BlockNumber directory_start;
    BlockNumber blob_start;
    uint32 blob_len;
    uint32 rerank;
    int filter_columns;                   // index columns after the vector
    const QuiverOpclassInfo *opclass;
    const char *am_name;                  // "ivfflat" or "ivf", for messages
    quiver::core::DistanceComputer dc;    // centroids (and ivfflat's entries)
    quiver::core::DistanceComputer exact; // values as the opclass codes them (re-ranking)
};
static_assert(std::is_trivially_copyable_v<IvfIndexInfo>, "IvfIndexInfo lives in rd_amcache");

namespace quiver::core::quant {
class Quantizer;
class CodeDistance;
}  // namespace quiver::core::quant

// An ivf index's quantizer (from the backend's cache of loaded ones, or loaded from its pages)
// with a distance computer for its metric; given back when the memory context it was opened
// in is reset or deleted.
struct IvfQuantizer {
    quiver::core::quant::Quantizer *quant;
    quiver::core::quant::CodeDistance *dist;
    int cached;  // slot in the backend's cache, -1: owned here
    MemoryContextCallback cb;
};

extern int ivfflat_probes;
extern int ivfflat_iterative_scan;
extern int ivfflat_max_probes;
extern int ivf_probes;
extern int ivf_iterative_scan;
extern int ivf_max_probes;
extern int ivf_rerank;  // -1: the index's WITH (rerank = N)

namespace quiver::pg {

void ivf_init();  // reloptions and GUCs; called from _PG_init

// ---- ivfutils.cpp -------------------------------------------------------------------------------

bool ivf_is_quantized_am(Relation index);  // the index is an `ivf` (not an `ivfflat`) index
const QuiverOpclassInfo *ivf_opclass_info(Relation index);
const IvfIndexInfo *ivf_index_info(Relation index);  // palloc'd copy; errors on a bad metapage
void ivf_init_page(Page page, uint16 page_type);
// A new page at the end of the fork, exclusively locked (takes the extension lock when others
// may extend concurrently).
Buffer ivf_new_buffer(Relation index, ForkNumber fork);
// The first entry page (past the centroid, directory and quantizer pages).
BlockNumber ivf_first_entry_page(const IvfIndexInfo *info);
// Pages a stream of `bytes` occupies.
BlockNumber ivf_stream_pages(Size bytes);
// The directory entry of `list`: its page and the entry's place in it.
void ivf_directory_slot(const IvfIndexInfo *info, uint32 list, BlockNumber *blkno, uint32 *slot);
inline IvfListData *ivf_directory_entries(Page page)
{
    return reinterpret_cast<IvfListData *>(PageGetContents(page));
}

// The ranking distance of a scaled centroid (ivf_centroids_scaled): neg_dot, the inner
// product's negation computed on it, over its length (0 for a zero centroid).
float ivf_scaled_centroid_distance(float neg_dot, const float *centroid, uint32 dim);
// Distance from `code` to every centroid, into dist[lists].
void ivf_centroid_distances(Relation index, const IvfIndexInfo *info, const void *code, float *dist);
// The list closest to `code` (lowest number on ties).
uint32 ivf_nearest_list(Relation index, const IvfIndexInfo *info, const void *code);
// The centroid of `list` as its code (centroid_len bytes into out).
void ivf_read_centroid(Relation index, const IvfIndexInfo *info, uint32 list, void *out);
// The quantizer blob (palloc'd, blob_len bytes).
uint8 *ivf_read_blob(Relation index, const IvfIndexInfo *info);
// The metric of code distances: L2 under cosine too, where it ranks unit vectors as cosine does
// and estimates better than the inner product from codes whose norms are off (FAISS does the
// same); the other metrics as they are.
quiver::core::Metric ivf_code_metric(const IvfIndexInfo *info);
// A vector or halfvec value's code as floats (dimensions of them).
void ivf_value_floats(const IvfIndexInfo *info, const void *code, float *out);
// The quantizer of an ivf index with sq8 / pq (errors when its pages are corrupted).
IvfQuantizer *ivf_open_quantizer(Relation index, const IvfIndexInfo *info);
// Loads the quantizer from the index's pages (never the cache); errors when it is corrupted.
void ivf_verify_quantizer(Relation index, const IvfIndexInfo *info);
// Writes `bytes` of `data` as a stream over new pages of `page_type` (builds: no WAL).
void ivf_write_stream(Relation index, ForkNumber fork, uint16 page_type, const char *data, Size bytes);

// Errors (index corrupted) unless `page` (block blkno, reached from `list`) is an entry page.
void ivf_check_entry_page(Relation index, Page page, uint32 list, BlockNumber blkno);

inline IvfEntry ivf_page_entry(Page page, OffsetNumber off)
{
    return reinterpret_cast<IvfEntry>(PageGetItem(page, PageGetItemId(page, off)));
}

// ---- ivfblock.cpp: fast-scan blocks (entry_layout IVF_LAYOUT_FASTSCAN) ---------------------------

// Whether an ivf index with these options stores its lists in fast-scan blocks: pq with 4-bit
// codes whose block fits a page.
bool ivf_fastscan_layout(uint8 quantizer, uint32 pq_m, uint32 pq_nbits);
// Bytes of one block item.
Size ivf_block_len(uint32 pq_m);
// Item `off` of a fast-scan entry page; errors (index corrupted) when it is not a block.
IvfBlock ivf_page_block(Relation index, const IvfIndexInfo *info, Page page, BlockNumber blkno,
                        OffsetNumber off);
// Appends an entry (heap TID and its 4-bit PQ code) to a block that has room.
void ivf_block_append(uint32 pq_m, IvfBlock block, ItemPointer heap_tid, const uint8 *code);
// Whether `page` takes one more entry: room in its last block, or for a new block.
bool ivf_block_page_has_room(const IvfIndexInfo *info, Page page);
// Adds an entry to `page` (which has room): into its last block, or a new one.
void ivf_block_page_add(Relation index, const IvfIndexInfo *info, Page page, ItemPointer heap_tid,
                        const uint8 *code);

// ---- ivfcheck.cpp: quiver_index_check for ivf indexes ---------------------------------------------

struct IvfCheckResult {
    BlockNumber pages;
    int64 entries;
};
// Errors (index_corrupted) on the first broken invariant; the caller holds ShareLock on both.
void ivf_index_check(Relation index, Relation heap, IvfCheckResult *out);

// ---- ivfbuild.cpp / ivfinsert.cpp / ivfscan.cpp / ivfvacuum.cpp ---------------------------------

IndexBuildResult *ivfflatbuild(Relation heap, Relation index, IndexInfo *index_info);
IndexBuildResult *ivfbuild(Relation heap, Relation index, IndexInfo *index_info);
void ivfflatbuildempty(Relation index);
bool ivfflatinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation heap,
                   IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *index_info);
// Appends an entry to `list`, WAL-logged; `payload` holds the row's filter column values (NULL,
// 0 without filter columns).
void ivf_append_entry(Relation index, const IvfIndexInfo *info, uint32 list, ItemPointer heap_tid,
                      const void *code, const uint8 *payload, Size payload_len);
// An entry item's payload (after its code) and its length.
inline const uint8 *ivf_entry_payload(const IvfIndexInfo *info, IvfEntry e, Size item_len,
                                      Size *payload_len)
{
    const Size fixed = offsetof(IvfEntryData, code) + info->code_len;
    *payload_len = item_len > fixed ? item_len - fixed : 0;
    return reinterpret_cast<const uint8 *>(e->code) + info->code_len;
}
IndexScanDesc ivfflatbeginscan(Relation index, int nkeys, int norderbys);
void ivfflatrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool ivfflatgettuple(IndexScanDesc scan, ScanDirection dir);
void ivfflatendscan(IndexScanDesc scan);
IndexBulkDeleteResult *ivfflatbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
                                         IndexBulkDeleteCallback callback, void *callback_state);
IndexBulkDeleteResult *ivfflatvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);

}  // namespace quiver::pg
