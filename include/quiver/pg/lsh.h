// The `lsh` access method (issue 12): locality-sensitive hash tables over the rows' codes,
// multi-probe querying, exact re-ranking. The hash families are the core's
// (quiver/core/lsh.h); this is their home in a relation's pages. Include after glue.h.
// quiver_index_check and the format readers rely on what is documented here: change it only
// with LSH_FORMAT_VERSION.
//
// Opclasses and families: bit_hamming_ops -> bit sampling, bit_jaccard_ops -> MinHash,
// vector_cosine_ops / halfvec_cosine_ops -> SimHash (random hyperplanes), vector_l2_ops /
// halfvec_l2_ops -> p-stable projections. Options: tables (L), bits (K functions per table),
// probes (buckets a query visits per table), width (p-stable slot width), seed.
//
// Relation layout
//   block 0           metapage (LshMetaPageData)
//   parameter pages   the family's drawn parameters (HashFamily::parameters()) as one stream
//                     of floats, LSH_STREAM_BYTES of payload a page: what a scan hashes with,
//                     so no machine has to regenerate the same floats from the seed
//   directory pages   L * S slots (LshSlotData, table-major: slot s of table t is number
//                     t * S + s), each the head of its bucket chain; S = 2^slot_bits
//   entry pages       one item per indexed row (LshEntryData: heap TID, the code the opclass
//                     ranks by, then the filter columns' payload); inserts append to the
//                     metapage's entry_insert page
//   bucket pages      segments (LshSegmentData): postings of one (table, slot) and the next
//                     segment of that slot's chain. A build writes one segment per slot and
//                     run; an insert prepends a one-posting segment, or grows the chain's head
//                     in place when it is on the insert page and the page has room
//   Every page has an 8-byte special space whose last two bytes are LSH_PAGE_ID.
//
// A row's bucket key in table t (quiver/core/lsh.h) picks slot key & (S - 1); the next 16 bits
// (key >> slot_bits) are the posting's tag, so one slot can hold several buckets and a probe
// takes only its own bucket's postings (others that share the tag are re-ranked anyway, which
// costs time, never correctness).
//
// Concurrency: page locks only. An insert locks the entry insert page, then for each table the
// bucket insert page and then the slot's directory page (that order; scans lock one page at a
// time; VACUUM one page at a time). VACUUM first removes dead rows' postings (every segment
// rewritten without them), then their entries: a scan that copied a posting before that may
// find the entry gone or (once the line pointer is reused) another row's entry, which it ranks
// by that row's own code, so what it returns is a real row at its real distance; scans hand out
// heap TIDs after their locks are gone, which only MVCC snapshots make safe (as for hnsw).
#pragma once

#include "quiver/pg/glue.h"
#include "quiver/pg/am.h"

extern "C" {
#include "access/amapi.h"
#include "nodes/execnodes.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
}

#include "quiver/core/distance.h"
#include "quiver/core/lsh.h"

#include <type_traits>

#define LSH_MAGIC 0x5156534Cu  // "QVSL"
#define LSH_FORMAT_VERSION 1
#define LSH_PAGE_ID 0xFF93
#define LSH_METAPAGE_BLKNO 0

#define LSH_PAGE_META 1
#define LSH_PAGE_PARAMETERS 2
#define LSH_PAGE_DIRECTORY 3
#define LSH_PAGE_ENTRY 4
#define LSH_PAGE_BUCKET 5

#define LSH_INFO_PROC 3
// Entries hold the rows' codes (for exact re-ranking), one item each: what fits a page.
#define LSH_MAX_DIM 2000
#define LSH_MAX_HALFVEC_DIM 4000
#define LSH_MAX_BIT_DIM 64000
#define LSH_MAX_TABLES 64
#define LSH_MAX_BITS 64
#define LSH_MAX_PROBES 100000
#define LSH_MIN_SLOT_BITS 10
#define LSH_MAX_SLOT_BITS 20

#define LSH_ITERATIVE_SCAN_OFF 0
#define LSH_ITERATIVE_SCAN_RELAXED 1

struct LshPageOpaqueData {
    uint32 unused;
    uint16 page_type;
    uint16 page_id;  // LSH_PAGE_ID
};
typedef LshPageOpaqueData *LshPageOpaque;
static_assert(sizeof(LshPageOpaqueData) == 8, "special space is 8 bytes");

struct LshMetaPageData {
    uint32 magic;
    uint32 version;
    uint8 family;          // quiver::core::lsh::Family
    uint8 representation;  // quiver::core::Representation
    uint8 metric;          // quiver::core::Metric
    uint8 normalized;
    uint32 dimensions;
    uint16 tables;         // L
    uint16 bits;           // K
    uint16 slot_bits;      // S = 2^slot_bits slots per table
    uint16 key_columns;    // the vector and the filter columns
    uint32 probes;         // default buckets probed per table
    float width;           // p-stable slot width (0 for the other families)
    uint32 code_len;       // bytes of every entry's code
    uint64 seed;
    uint64 build_id;       // differs between builds: keys the backends' caches of hash families
    BlockNumber parameter_start;
    uint32 parameter_count;  // floats in the parameter stream
    BlockNumber directory_start;
    BlockNumber entry_insert;   // the entry page inserts append to
    BlockNumber bucket_insert;  // the bucket page inserts add segments to
};
typedef LshMetaPageData *LshMetaPage;

// The head of a slot's chain of segments (InvalidBlockNumber: empty).
struct LshSlotData {
    BlockNumber block;
    OffsetNumber offset;
    uint16 unused;
};
static_assert(sizeof(LshSlotData) == 8, "slot is 8 bytes");

// A reference to an entry (its item in an entry page), and the tag of its key.
struct LshPosting {
    BlockNumber block;
    OffsetNumber offset;
    uint16 tag;
};
static_assert(sizeof(LshPosting) == 8, "posting is 8 bytes");

struct LshSegmentData {
    uint32 slot;           // t * S + s, for checks
    BlockNumber next_block;  // the chain's next segment, InvalidBlockNumber at its end
    OffsetNumber next_offset;
    uint16 count;
    LshPosting postings[FLEXIBLE_ARRAY_MEMBER];
};
typedef LshSegmentData *LshSegment;
static_assert(offsetof(LshSegmentData, postings) == 12, "segment header is 12 bytes");

struct LshEntryData {
    ItemPointerData heaptid;
    uint16 unused;
    char code[FLEXIBLE_ARRAY_MEMBER];  // then the payload (filter columns) up to the item's end
};
typedef LshEntryData *LshEntry;
static_assert(offsetof(LshEntryData, code) == 8, "entry header is 8 bytes");

#define LshPageGetOpaque(page) ((LshPageOpaque) PageGetSpecialPointer(page))
#define LshPageGetMeta(page) ((LshMetaPage) PageGetContents(page))
#define LSH_STREAM_BYTES \
    ((Size) (BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(LshPageOpaqueData))))
#define LSH_SLOTS_PER_PAGE ((uint32) (LSH_STREAM_BYTES / sizeof(LshSlotData)))
#define LSH_MAX_ITEM_LEN \
    MAXALIGN_DOWN(BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(LshPageOpaqueData)) - sizeof(ItemIdData))
// Postings one segment holds at most (a segment fills a page at most).
#define LSH_MAX_SEGMENT_POSTINGS \
    ((uint32) ((LSH_MAX_ITEM_LEN - offsetof(LshSegmentData, postings)) / sizeof(LshPosting)))

// Options from WITH (...).
struct LshOptions {
    int32 vl_len_;
    int tables;  // 0: chosen at build
    int bits;    // 0: chosen at build
    int probes;  // 0: chosen at build
    double width;  // 0: chosen at build (p-stable)
    int seed;
};

// The metapage's constants, cached in rd_amcache.
struct LshIndexInfo {
    quiver::core::lsh::Params params;
    quiver::core::Representation representation;
    quiver::core::Metric metric;
    bool normalized;
    uint32 slot_bits;
    uint32 probes;
    uint32 code_len;
    uint64 build_id;
    BlockNumber parameter_start;
    uint32 parameter_count;
    BlockNumber directory_start;
    int filter_columns;
    const QuiverOpclassInfo *opclass;
    quiver::core::DistanceComputer exact;
};
static_assert(std::is_trivially_copyable_v<LshIndexInfo>, "LshIndexInfo lives in rd_amcache");

extern int lsh_probes;          // 0: the index's probes option
extern int lsh_iterative_scan;  // LSH_ITERATIVE_SCAN_*
extern int lsh_max_probes;

namespace quiver::pg {

void lsh_init();  // reloptions and GUCs; called from _PG_init

// ---- lshutils.cpp -------------------------------------------------------------------------------

const QuiverOpclassInfo *lsh_opclass_info(Relation index);
// The hash family of an opclass.
quiver::core::lsh::Family lsh_family_of(const QuiverOpclassInfo *opclass);
const LshIndexInfo *lsh_index_info(Relation index);  // palloc'd copy; errors on a bad metapage
void lsh_init_page(Page page, uint16 page_type);
// A new page at the end of the fork, exclusively locked.
Buffer lsh_new_buffer(Relation index, ForkNumber fork);
BlockNumber lsh_stream_pages(Size bytes);
// The directory page of slot number `number` (t * S + s) and the slot's place in it.
void lsh_directory_slot(const LshIndexInfo *info, uint64 number, BlockNumber *blkno, uint32 *slot);
inline LshSlotData *lsh_directory_entries(Page page)
{
    return reinterpret_cast<LshSlotData *>(PageGetContents(page));
}
// The index's hash family (from the backend's cache, or read from its parameter pages), held
// until the current memory context is reset or deleted.
struct LshFamilyHandle {
    const quiver::core::lsh::HashFamily *family;
    int cached;  // slot in the backend's cache, -1: owned here
    MemoryContextCallback cb;
};
LshFamilyHandle *lsh_open_family(Relation index, const LshIndexInfo *info);
// The input the hash family takes for a code: the code itself, or (halfvec) its floats in
// `work` (dimensions floats).
const void *lsh_hash_input(const LshIndexInfo *info, const void *code, float *work);
// Slot and tag of a bucket key.
inline uint32 lsh_key_slot(const LshIndexInfo *info, uint64 key)
{
    return static_cast<uint32>(key & ((uint64{1} << info->slot_bits) - 1));
}
inline uint16 lsh_key_tag(const LshIndexInfo *info, uint64 key)
{
    return static_cast<uint16>(key >> info->slot_bits);
}
// Whether `page` is an initialised lsh page of `page_type`.
inline bool lsh_page_is(Page page, uint16 page_type)
{
    return !PageIsNew(page) && PageGetSpecialSize(page) == MAXALIGN(sizeof(LshPageOpaqueData)) &&
           LshPageGetOpaque(page)->page_id == LSH_PAGE_ID && LshPageGetOpaque(page)->page_type == page_type;
}
// An entry's (or segment's) place as one number: block << 16 | offset.
inline uint64 lsh_ref(BlockNumber block, OffsetNumber offset)
{
    return (static_cast<uint64>(block) << 16) | offset;
}
// Errors (index corrupted) unless `page` (block blkno) is a page of `page_type`.
void lsh_check_page(Relation index, Page page, BlockNumber blkno, uint16 page_type);
// Errors (index corrupted) naming `what`.
[[noreturn]] void lsh_corrupted(Relation index, const char *what);

// ---- lshcheck.cpp: quiver_index_check for lsh indexes ---------------------------------------------

struct LshCheckResult {
    BlockNumber pages;
    int64 entries;
    int64 postings;
    int64 unreachable;  // entries missing from a table whose heap row is dead (crashed insert)
};
// Errors (index_corrupted) on the first broken invariant; the caller holds ShareLock on both.
void lsh_index_check(Relation index, Relation heap, LshCheckResult *out);

// ---- lshbuild.cpp / lshinsert.cpp / lshscan.cpp / lshvacuum.cpp ---------------------------------

IndexBuildResult *lshbuild(Relation heap, Relation index, IndexInfo *index_info);
void lshbuildempty(Relation index);
bool lshinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation heap,
               IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *index_info);
IndexScanDesc lshbeginscan(Relation index, int nkeys, int norderbys);
void lshrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool lshgettuple(IndexScanDesc scan, ScanDirection dir);
void lshendscan(IndexScanDesc scan);
IndexBulkDeleteResult *lshbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
                                     IndexBulkDeleteCallback callback, void *callback_state);
IndexBulkDeleteResult *lshvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);

// An entry item's payload (after its code) and its length.
inline const uint8 *lsh_entry_payload(const LshIndexInfo *info, LshEntry e, Size item_len,
                                      Size *payload_len)
{
    const Size fixed = offsetof(LshEntryData, code) + info->code_len;
    *payload_len = item_len > fixed ? item_len - fixed : 0;
    return reinterpret_cast<const uint8 *>(e->code) + info->code_len;
}

}  // namespace quiver::pg
