// The `hnsw` index access method: on-disk format, shared structures and prototypes grouped by
// file. pgvector's SQL surface (names, options, GUCs, messages); our own format and code.
// Include after glue.h (postgres.h first). Readers of the format (quiver_index_check) rely on
// everything documented here: change it only with HNSW_FORMAT_VERSION.
//
// ============================================================================================
// Design
// ============================================================================================
//
// Relation layout
//   block 0        metapage (HnswMetaPageData in the page contents)
//   blocks 1..N-1  element pages: element tuples and neighbour tuples, mixed, in item order
//   Every page has an 8-byte special space (HnswPageOpaqueData) whose last two bytes are
//   HNSW_PAGE_ID, like the core AMs, so tools can recognise our pages.
//
// Element tuple (HnswElementTupleData): one graph node.
//   type, level, deleted flag, version (generation byte), heaptid_count, flags, payload_len,
//   neighbortid (TID of its neighbour tuple), code_len, heaptids[HNSW_HEAPTIDS] (the first
//   heaptid_count are valid, the rest are invalid TIDs), 4 reserved bytes, then `data`:
//     data[0 .. payload_len)                       payload: the values of the index's filter
//                                                  columns (every column after the vector) in
//                                                  quiver/core/filter.h's format; empty for a
//                                                  one-column index (and in format version 1).
//     data[MAXALIGN(payload_len) .. + code_len)    the code the distances are computed on.
//   Several heap TIDs share one element when rows carry identical vectors and identical filter
//   values (up to HNSW_HEAPTIDS; a further duplicate becomes a new element), which keeps
//   non-HOT updates of other columns from growing the graph.
//
// Code (quiver::core::Representation, see quiver/core/distance.h): the indexed value as the
// DistanceComputer reads it, straight from the page, no detoasting or copying:
//   f32     float[dim]            vector (unit-normalised for vector_cosine_ops)
//   f16     uint16[dim]           halfvec, IEEE binary16 bits (normalised for cosine)
//   bits    uint8[(dim + 7) / 8]  bit(dim), PostgreSQL's byte order, pad bits zero
//   sparse  int32 dim, int32 nnz, int32 unused, int32 indices[nnz], float values[nnz]
//           (pgvector's sparsevec without the varlena header; normalised for cosine)
//
// Neighbour tuple (HnswNeighborTupleData): the element's links, one fixed run of slots per
// level: level 0 has 2*m slots starting at slot 0, level l >= 1 has m slots starting at
// (l + 1) * m; `count` slots in all (at least (level + 2) * m; more only when a reused
// slot was larger). Each level's run is compact: valid TIDs first (in no particular order),
// then invalid TIDs. `version` equals the owning element's version when the list was written;
// a mismatch means the list belongs to an older occupant of a reused slot and is ignored.
// The neighbour tuple lives on the element's page when both fit, otherwise on a later page
// (always block(neighbour) >= block(element)).
//
// Metapage: magic, format version, dimensions, m, ef_construction, representation, metric,
// normalised flag, key columns (the vector plus the filter columns; all fixed at build), the entry point (element TID + level, invalid/-1 when
// the graph is empty), insert_page (a hint: the lowest page that may have room or reusable
// slots), and counts of live elements and reusable slots as of the last build or VACUUM
// (inserts do not maintain them, so the metapage is not a hot spot).
//
// Opclasses: FUNCTION 1 is pgvector's distance function (kept for amvalidate and for users'
// eyes; the index never calls it), FUNCTION 2 the norm function of cosine opclasses (its
// presence means "normalise"), FUNCTION 3 returns a static QuiverOpclassInfo: representation,
// metric, normalise, limits. Distances in the index go through quiver::core::DistanceComputer on
// raw codes; cosine is neg_dot on unit vectors, as pgvector does it.
//
// Build (hnswbuild.cpp): table_index_build_scan feeds the core in-memory graph
// (quiver::core::hnsw::Graph, budget = maintenance_work_mem). When it reports over_budget, the
// graph built so far is written to pages, a NOTICE says so, and the remaining rows go through
// the on-disk insert path (unlogged during the build). A parallel build (hnswparallel.cpp) has
// the leader and its workers insert into one graph in dynamic shared memory, the same way. The
// graph is written by hnswwrite.cpp: nodes laid out in level-0 breadth-first order from the
// entry point, so neighbours share pages; a node holding more rows than an element takes
// becomes a small tree of elements. Pages are written through the buffer manager without WAL,
// then logged in one pass with log_newpage_range when RelationNeedsWAL (always for the init
// fork of unlogged tables: ambuildempty writes the metapage there).
//
// Inserts (hnswinsert.cpp), WAL-logged with GenericXLog, one record per page change:
//   1. search the graph on disk for neighbours (ef_construction), select with the heuristic;
//   2. a duplicate code gets the heap TID added to the existing element, and we are done;
//   3. write element + neighbour tuple (in a reusable deleted slot, a page with room, or a new
//      page), one record;
//   4. add the back links, one neighbour tuple at a time: read the list, decide without
//      holding a lock, then lock, check the list did not change meanwhile (else retry), write.
//      A full list is re-selected with the heuristic and then topped up with the closest
//      others, so it loses one member at most;
//   5. when the new element's level exceeds the entry level, update the metapage.
//
// Reachability: every live element must be reachable on level 0 from the entry point, or no
// scan could return its rows (quiver_index_check verifies it). Pruning can take an element's
// last in-link, so: a new element that no neighbour accepts is forced into the closest one's
// list; a member dropped from a neighbour's list on level 0 to make room first gets another
// in-link (before the list changes, so a crash cannot strand it): from one of its own nearest
// neighbours ("re-homed") when one takes it, else from the new element. A link from far away
// would keep it reachable but not findable: a walk towards its vector never comes by;
// the build adds one in-link to any node the in-memory graph left unreachable; VACUUM walks
// level 0 before and after its repairs and reconnects whatever it cannot reach without dying
// elements.
//
// Locking
//   Heavyweight page locks (lock manager tags, not buffers):
//     HNSW_UPDATE_LOCK  inserts hold it Share for their whole duration, Exclusive when they
//                       may change the entry point (empty graph or a level above it); VACUUM
//                       takes it Exclusive to replace a deleted entry point and, briefly, to
//                       wait out inserts that started before heap TIDs were removed.
//     HNSW_SCAN_LOCK    scans hold it Share while they walk the graph (not between returned
//                       tuples); VACUUM takes it Exclusive, briefly, before marking elements
//                       deleted, so no walk in flight can follow a link into a slot about to
//                       be reused.
//   No backend holds both, and neither is requested while a buffer lock is held.
//   Buffer content locks: readers (scans, the search part of inserts and VACUUM) hold one share
//   lock (and one pin) at a time. Writers hold at most two exclusive locks, taken in ascending
//   block order (an element page and its later neighbour page, or a page and the new page
//   after it). The metapage (block 0) is only ever locked alone. So lock waits cannot form a
//   cycle. Walks remember which shared buffer held each block in a per-backend table of hints
//   and re-pin with ReadRecentBuffer (no buffer-mapping lookup); stale hints are harmless.
//
// VACUUM (hnswvacuum.cpp)
//   1. remove dead heap TIDs from element tuples; elements left with none are "dying":
//      still walked through, never returned, never chosen as neighbours by inserts;
//   2. if the entry point is dying, choose the live element with the highest level (repair its
//      links first) and make it the entry point under the Exclusive update lock; wait for
//      inserts in flight;
//   3. walk level 0 from the entry point (not through dying elements) and reconnect every live
//      element it does not reach, so none depends on a dying element any more;
//   4. repair every live element's lists that point at dying elements: its live members stay,
//      the dying ones' slots go to the heuristic's choice among the live neighbours of its
//      dying neighbours (a full search when that pool is too small); new neighbours link back.
//      Each step only removes links to dying elements, so a crash anywhere in 3-5 leaves
//      every live element the walk of step 3 could reconnect reachable (the next VACUUM
//      finishes the job); then step 3 again, for the few it could not (after a mass delete
//      few live elements are reachable without dying ones to link from) and for what
//      concurrent inserts left behind;
//   5. wait for scans in flight (Exclusive scan lock, released at once), then mark dying
//      elements deleted: deleted = 1, version bumped, neighbour tuple emptied; flag the page
//      HNSW_PAGE_HAS_DELETED and lower the metapage insert_page so inserts reuse the slots
//      (an insert clears the flag of a page whose deleted slots are all taken).
//
// Scans (hnswscan.cpp): greedy descent, then a level-0 search with ef_search; the results are
// returned closest first. Iterative scans (hnsw.iterative_scan) keep the visited set and the
// candidates discarded from the result set, and resume the level-0 search from the best
// discarded candidates when the executor wants more rows, up to hnsw.max_scan_tuples visited
// elements or work_mem * hnsw.scan_mem_multiplier of memory, after which the remaining
// discarded candidates come out closest first without more walking; strict_order drops rows
// that would come out of distance order, relaxed_order returns them. A NULL query, or a zero
// vector under cosine, makes every distance 0 (rows come back in walk order), as in pgvector.
#pragma once

#include "quiver/pg/glue.h"
#include "quiver/pg/am.h"

extern "C" {
#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/itup.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"
}

#include "quiver/core/distance.h"

#include <type_traits>

namespace quiver::core::hnsw {
class Graph;
}
namespace quiver::pg {
struct AmFilter;
}

// ---- limits, options and settings (pgvector's values) -----------------------------------------

#define HNSW_MAX_DIM 2000          // vector
#define HNSW_MAX_HALFVEC_DIM 4000  // halfvec
#define HNSW_MAX_BIT_DIM 64000     // bit
#define HNSW_MAX_NNZ 1000          // sparsevec non-zero elements

#define HNSW_DEFAULT_M 16
#define HNSW_MIN_M 2
#define HNSW_MAX_M 100
#define HNSW_DEFAULT_EF_CONSTRUCTION 64
#define HNSW_MIN_EF_CONSTRUCTION 4
#define HNSW_MAX_EF_CONSTRUCTION 1000
#define HNSW_DEFAULT_EF_SEARCH 40
#define HNSW_MIN_EF_SEARCH 1
#define HNSW_MAX_EF_SEARCH 1000
#define HNSW_DEFAULT_MAX_SCAN_TUPLES 20000

// Heap TIDs one element can carry (rows with identical vectors).
#define HNSW_HEAPTIDS 10

// Support functions.
#define HNSW_DISTANCE_PROC 1
#define HNSW_NORM_PROC 2
#define HNSW_INFO_PROC 3
#define HNSW_NPROCS 3

// Format identification.
#define HNSW_MAGIC 0x51564853u  // "QVHS"
#define HNSW_FORMAT_VERSION 2      // 2: element payloads (filter columns)
#define HNSW_MIN_FORMAT_VERSION 1  // 1: the same without filter columns, read as it is
#define HNSW_PAGE_ID 0xFF91

#define HNSW_METAPAGE_BLKNO 0
#define HNSW_FIRST_ELEMENT_BLKNO 1

// Heavyweight page-lock tags (see the design comment).
#define HNSW_UPDATE_LOCK 0
#define HNSW_SCAN_LOCK 1

// Page types (HnswPageOpaqueData.page_type).
#define HNSW_PAGE_META 1
#define HNSW_PAGE_ELEMENT 2

// Page flags.
#define HNSW_PAGE_HAS_DELETED 0x0001  // VACUUM left deleted (reusable) element slots here

// Tuple types.
#define HNSW_ELEMENT_TUPLE 1
#define HNSW_NEIGHBOR_TUPLE 2

// Build subphases (PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE is 1).
#define HNSW_PHASE_LOAD 2
#define HNSW_PHASE_WRITE 3

// iterative_scan modes.
enum HnswIterativeScan { HNSW_ITERATIVE_SCAN_OFF = 0, HNSW_ITERATIVE_SCAN_RELAXED = 1,
                         HNSW_ITERATIVE_SCAN_STRICT = 2 };

// ---- on-disk structures ------------------------------------------------------------------------

struct HnswPageOpaqueData {
    uint16 page_type;  // HNSW_PAGE_META or HNSW_PAGE_ELEMENT
    uint16 flags;      // HNSW_PAGE_HAS_DELETED
    uint16 unused;
    uint16 page_id;    // HNSW_PAGE_ID
};
typedef HnswPageOpaqueData *HnswPageOpaque;

struct HnswMetaPageData {
    uint32 magic;             // HNSW_MAGIC
    uint32 version;           // HNSW_FORMAT_VERSION
    uint32 dimensions;        // dims of vector/halfvec/sparsevec, length of bit
    uint16 m;                 // links per element on levels >= 1 (2 * m on level 0)
    uint16 ef_construction;
    uint8 representation;     // quiver::core::Representation of the codes
    uint8 metric;             // quiver::core::Metric
    uint8 normalized;         // 1: codes are unit-normalised (cosine opclasses)
    uint8 key_columns;        // index columns: the vector and the filter columns (1 in version 1)
    ItemPointerData entry;    // entry point element; invalid when the graph is empty
    int16 entry_level;        // level of the entry point; -1 when the graph is empty
    BlockNumber insert_page;  // hint: lowest page that may have room or reusable slots
    uint32 reserved;
    uint64 element_count;     // live elements, as of the last build or VACUUM
    uint64 deleted_count;     // reusable deleted slots, as of the last VACUUM
};
typedef HnswMetaPageData *HnswMetaPage;

struct HnswElementTupleData {
    uint8 type;               // HNSW_ELEMENT_TUPLE
    uint8 level;              // top level of this element (0 .. hnsw_max_level(m))
    uint8 deleted;            // 1: slot free for reuse (no heap TIDs, unreachable)
    uint8 version;            // generation: bumped when deleted and when the slot is reused
    uint8 heaptid_count;      // valid heap TIDs at the front of heaptids[]
    uint8 flags;              // reserved, 0
    uint16 payload_len;       // bytes of the payload (filter column values; 0 without)
    ItemPointerData neighbortid;  // this element's neighbour tuple
    uint16 code_len;          // bytes of the code
    ItemPointerData heaptids[HNSW_HEAPTIDS];
    uint32 reserved;          // 0; makes `data` start 8-aligned
    char data[FLEXIBLE_ARRAY_MEMBER];  // payload, MAXALIGN padding, code
};
typedef HnswElementTupleData *HnswElementTuple;

struct HnswNeighborTupleData {
    uint8 type;               // HNSW_NEIGHBOR_TUPLE
    uint8 version;            // owning element's version when written
    uint16 count;             // slots present
    ItemPointerData tids[FLEXIBLE_ARRAY_MEMBER];
};
typedef HnswNeighborTupleData *HnswNeighborTuple;

static_assert(offsetof(HnswElementTupleData, data) == 80, "element tuple header is 80 bytes");
static_assert(sizeof(HnswPageOpaqueData) == 8, "special space is 8 bytes");

#define HnswPageGetOpaque(page) ((HnswPageOpaque) PageGetSpecialPointer(page))
#define HnswPageGetMeta(page) ((HnswMetaPage) PageGetContents(page))

// Largest tuple that fits on an empty element page.
#define HNSW_MAX_TUPLE_SIZE                                                                  \
    (BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(HnswPageOpaqueData)) -        \
     sizeof(ItemIdData))

inline Size hnsw_element_tuple_size(Size payload_len, Size code_len)
{
    return MAXALIGN(offsetof(HnswElementTupleData, data) + MAXALIGN(payload_len) + code_len);
}
inline char *hnsw_element_code(HnswElementTuple etup)
{
    return etup->data + MAXALIGN(etup->payload_len);
}
inline Size hnsw_neighbor_tuple_size_slots(int slots)
{
    return MAXALIGN(offsetof(HnswNeighborTupleData, tids) + slots * sizeof(ItemPointerData));
}
inline int hnsw_neighbor_slots(int level, int m) { return (level + 2) * m; }
inline Size hnsw_neighbor_tuple_size(int level, int m)
{
    return hnsw_neighbor_tuple_size_slots(hnsw_neighbor_slots(level, m));
}
// First slot and slot count of `level`'s run in a neighbour tuple.
inline int hnsw_level_first_slot(int level, int m) { return level == 0 ? 0 : (level + 1) * m; }
inline int hnsw_level_slot_count(int level, int m) { return level == 0 ? 2 * m : m; }
// Highest level whose neighbour tuple fits on a page (and in a byte), as pgvector caps it.
inline int hnsw_max_level(int m)
{
    int fit = static_cast<int>((HNSW_MAX_TUPLE_SIZE - offsetof(HnswNeighborTupleData, tids)) /
                               sizeof(ItemPointerData) / m) - 2;
    return fit < 255 ? fit : 255;
}

// ---- glue-side structures ----------------------------------------------------------------------

// Options from WITH (...).
struct HnswOptions {
    int32 vl_len_;  // varlena header (do not touch directly)
    int m;
    int ef_construction;
};

// The immutable part of the metapage plus the distance computer, cached in rd_amcache.
struct HnswIndexInfo {
    uint32 dimensions;
    int m;
    int ef_construction;
    quiver::core::Representation representation;
    quiver::core::Metric metric;
    bool normalized;
    const QuiverOpclassInfo *opclass;
    quiver::core::DistanceComputer dc;
    uint32 code_len;  // bytes of every code; 0 for sparse (each code says its own)
    int filter_columns;  // index columns after the vector
};

// rd_amcache holds a copy made with plain assignment, freed without destructors.
static_assert(std::is_trivially_copyable_v<HnswIndexInfo>, "HnswIndexInfo lives in rd_amcache");

// A graph element as the searches see it: where it is, how far it is.
struct HnswCandidate {
    float distance;
    ItemPointerData tid;   // element tuple
    ItemPointerData ntid;  // neighbour tuple
    uint8 level;
    uint8 version;
    uint8 heaptid_count;   // at the time it was read; 0 = dying (walk through, never return/link)
    uint8 filtered_out;    // 1: its payload fails the scan's filter (walked through on level 0)
    uint16 ntup_pos;       // byte offset of the neighbour tuple in its page when it shares the
                           // element's page (a prefetch hint), else 0
};

static_assert(std::is_trivially_copyable_v<HnswCandidate>, "candidates are copied bytewise");

// A binary heap of candidates on one palloc'd array (min- or max-heap by distance).
struct HnswHeap {
    HnswCandidate *items;
    int count;
    int capacity;
};

// Open-addressing set of element TIDs (key = block << 16 | offset, 0 = empty).
struct HnswVisited {
    uint64 *slots;
    uint32 mask;
    uint32 count;
};


// One graph walk (scan, insert, vacuum repair). Lives in palloc'd memory.
struct HnswSearch {
    Relation index;
    const HnswIndexInfo *info;
    const void *query;      // code of the query; NULL: every distance is 0 (NULL query)
    HnswVisited visited;
    HnswHeap candidates;    // C: min-heap
    HnswHeap results;       // W: max-heap, at most ef
    HnswHeap *discarded;    // iterative scans: min-heap of what fell out of W (NULL otherwise)
    AmBufferCache cache;
    int64 visited_tuples;   // elements whose distance was computed on level 0
    int64 matched;          // level-0 elements the filter accepted (scans with a filter)
    uint32 max_visited;     // a walk stops expanding once it has seen this many (0: no limit)
    ItemPointerData skip;   // element never added to results (vacuum repairing itself)
    // When set, only elements it accepts may take a displaced member into their lists (VACUUM's
    // reconnect pass: only elements known to be reachable).
    bool (*usable)(void *arg, ItemPointer tid);
    void *usable_arg;
    // Scans with filter keys: elements whose payload fails it are walked through on level 0 but
    // never enter W (like dying ones). NULL: no filter.
    const quiver::pg::AmFilter *filter;
    HnswCandidate fallback; // closest dying element seen, returned when W stays empty
    bool have_fallback;
    uint32 prefetch_bytes;  // of an element tuple, from its start
    ItemPointerData *tids_buf;  // scratch, 2 * m entries each
    ItemPointerData *fresh_buf;
    HnswCandidate *found_buf;
    Buffer *bufs_buf;
};


// ---- hnsw.cpp: handler, options, GUCs, cost, validation ------------------------------------------

extern int hnsw_ef_search;
extern int hnsw_iterative_scan;
extern int hnsw_max_scan_tuples;
extern double hnsw_scan_mem_multiplier;

namespace quiver::pg {

void hnsw_init();  // reloptions and GUCs; called from _PG_init
int hnsw_option_m(Relation index);
int hnsw_option_ef_construction(Relation index);

// ---- hnswutils.cpp: pages, tuples, codes, graph walks ------------------------------------------

const QuiverOpclassInfo *hnsw_opclass_info(Relation index);
// Metapage constants + distance computer (cached in rd_amcache, returned as a palloc'd copy
// that survives relcache invalidations); errors on a bad metapage.
const HnswIndexInfo *hnsw_index_info(Relation index);
// Entry point and insert hint from the metapage (share lock, released).
void hnsw_read_entry(Relation index, ItemPointer entry, int *entry_level, BlockNumber *insert_page);
void hnsw_init_page(Page page, uint16 page_type);
Buffer hnsw_new_buffer(Relation index, ForkNumber fork);  // extended, exclusively locked
void hnsw_fill_metapage(Page page, uint32 dimensions, int m, int ef_construction,
                        const QuiverOpclassInfo *opclass, int key_columns);


int hnsw_random_level(int m);

// Element tuples.
HnswElementTuple hnsw_get_element(Page page, OffsetNumber off);     // NULL if not an element
// An element's code must be what the distance computer reads (dimensions, sparse layout)
// before any distance is computed on it: raises index_corrupted (XX002) otherwise, rather
// than reading past the code.
void hnsw_check_code(Relation index, const HnswIndexInfo *info, HnswElementTuple etup,
                     BlockNumber blkno, OffsetNumber off);
HnswNeighborTuple hnsw_get_neighbors(Page page, OffsetNumber off);  // NULL if not neighbours

// Heaps and sets.
void hnsw_heap_init(HnswHeap *heap, int capacity);
void hnsw_minheap_push(HnswHeap *heap, const HnswCandidate &c);
HnswCandidate hnsw_minheap_pop(HnswHeap *heap);
void hnsw_maxheap_push(HnswHeap *heap, const HnswCandidate &c);
HnswCandidate hnsw_maxheap_pop(HnswHeap *heap);
void hnsw_visited_init(HnswVisited *v, uint32 capacity);
void hnsw_visited_clear(HnswVisited *v);
bool hnsw_visited_add(HnswVisited *v, ItemPointer tid);  // true if it was new
bool hnsw_visited_contains(const HnswVisited *v, ItemPointer tid);

// The candidate for element etup at (blkno, off) of `page` (share-locked by the caller), at
// distance d. Inline: the walks call it for every element they read.
inline void hnsw_fill_candidate(HnswCandidate *c, float d, BlockNumber blkno, OffsetNumber off,
                                HnswElementTuple etup, Page page)
{
    c->distance = d;
    ItemPointerSet(&c->tid, blkno, off);
    c->ntid = etup->neighbortid;
    c->level = etup->level;
    c->version = etup->version;
    c->heaptid_count = etup->heaptid_count;
    c->filtered_out = 0;
    c->ntup_pos = 0;
    // The neighbour tuple's line pointer sits next to the element's, already in cache.
    OffsetNumber noff = ItemPointerGetOffsetNumberNoCheck(&etup->neighbortid);
    if (ItemPointerGetBlockNumberNoCheck(&etup->neighbortid) == blkno &&
        noff <= PageGetMaxOffsetNumber(page))
        c->ntup_pos = static_cast<uint16>(ItemIdGetOffset(PageGetItemId(page, noff)));
}

// Graph walks.
void hnsw_search_init(HnswSearch *s, Relation index, const HnswIndexInfo *info,
                      const void *query, int ef_hint);
// A candidate for the element at `tid` (reads it); false if it is not a live element.
bool hnsw_load_candidate(HnswSearch *s, ItemPointer tid, HnswCandidate *out);
// Copies c's links on `level` into out[] (room for 2 * m); returns how many, 0 when the
// neighbour tuple no longer belongs to c (version mismatch) or c has no such level.
int hnsw_read_links(HnswSearch *s, const HnswCandidate &c, int level, ItemPointerData *out);
// Search one level from `eps` (n_eps candidates with distances); leaves W in s->results.
// `reset_visited` starts a fresh visited set (false: iterative scans continue theirs).
void hnsw_search_layer(HnswSearch *s, const HnswCandidate *eps, int n_eps, int ef, int level,
                       bool reset_visited);
// Pops W into out[] closest first; returns the count.
int hnsw_take_results(HnswSearch *s, HnswCandidate *out);
// Greedy descent from the entry point to `level` + 1, then ef searches; used by inserts and
// VACUUM. found[l] (palloc'd arrays, closest first) for levels min(level, entry_level)..0.
void hnsw_find_neighbors(HnswSearch *s, ItemPointer entry, int entry_level, int level, int ef,
                         HnswCandidate **found, int *found_count);
// Codes of candidates (palloc'd copies) for the heuristic; NULL for a candidate that is no
// longer the same live element.
void hnsw_load_codes(HnswSearch *s, const HnswCandidate *cands, int n, void **codes);
// Malkov-Yashunin heuristic over `cands` (closest first, codes given): writes the kept indices
// into keep[] and returns how many (at most limit).
int hnsw_select_neighbors(const HnswIndexInfo *info, const HnswCandidate *cands, void *const *codes,
                          int n, int limit, int *keep);
// The heuristic's choice, then the closest of the others (codes given) while there is room: a
// full list re-selected this way loses as few members as possible, and every member it drops
// loses an in-link. keep[] (room for limit entries) comes out closest first.
int hnsw_select_neighbors_filled(const HnswIndexInfo *info, const HnswCandidate *cands,
                                 void *const *codes, int n, int limit, int *keep);
void hnsw_search_end(HnswSearch *s);

// ---- hnswbuild.cpp -------------------------------------------------------------------------------

IndexBuildResult *hnswbuild(Relation heap, Relation index, IndexInfo *index_info);
void hnswbuildempty(Relation index);

// ---- hnswwrite.cpp -------------------------------------------------------------------------------

// Writes the in-memory build graph after the metapage (written by the caller): element pages in
// level-0 breadth-first order, duplicate groups for nodes with more heap TIDs than an element
// holds, then the entry point, insert hint and counts in the metapage. No WAL (see hnswbuild).
// `payloads` (NULL without filter columns) gives each heap TID's payload: a node whose rows
// differ in their payloads becomes one element per payload (as a duplicate group).
struct HnswPayloadStore;
void hnsw_write_graph(Relation index, ForkNumber fork, const quiver::core::hnsw::Graph *g, int m,
                      const HnswPayloadStore *payloads);

// ---- hnswinsert.cpp ------------------------------------------------------------------------------

bool hnswinsert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation heap,
                IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *index_info);
// Inserts one value for heap_tid. `building`: no WAL (the build logs all pages at the end).
// Returns false if the value is not indexed (zero vector under cosine).
bool hnsw_insert_value(Relation index, Datum value, const uint8 *payload, Size payload_len,
                       ItemPointer heap_tid, bool building);
// The same for a code already checked (dimensions, limits) and normalised. `payload` holds the
// row's filter column values (NULL, 0 without filter columns).
void hnsw_insert_code(Relation index, const void *code, Size code_len, const uint8 *payload,
                      Size payload_len, ItemPointer heap_tid, bool building);
// How hnsw_add_link treats a full list (every mode first appends when n's list has room).
enum class HnswLink : uint8 {
    append,        // a full list is left as it is
    prune,         // re-selected with the heuristic; a member left out just loses this link
                   // (upper levels: every element is on level 0, where the walks end)
    relink,        // re-selected; the one member z left out must first get another link:
                   // from one of z's own nearest out-neighbours (rehome), else appended to
                   // e's list (never evicting); if neither, n's list is left as it is
    rehome,        // used to re-home z (e here): as relink, but what n drops can only be
                   // appended to e's list
    force_rehome,  // as rehome, but e takes the place of the kept member farthest from n
                   // when the heuristic leaves e out
    force_relink,  // as relink, but e takes the place of a kept member when the heuristic
                   // leaves e out: preferably one e links to (it stays reachable through e),
                   // else the farthest from n
    force,         // as force_relink, but a member left out that nothing else takes goes into
                   // e's list in place of e's farthest member (last resort: e would be
                   // unreachable otherwise; only for an e that nothing reaches yet, whose
                   // members therefore do not depend on it)
};
// Adds the link n -> e on `level` (e.distance must be the distance between e and n). Returns
// true when e is in n's list afterwards. Reads go through s's buffer cache.
bool hnsw_add_link(HnswSearch *s, const HnswCandidate &n, const HnswCandidate &e,
                   const void *e_code, int level, HnswLink mode, bool building);
// Gives e (self, level 0) an in-link from one of `near` (its candidates, closest first) when
// none of them took it: see HnswLink::force_relink and HnswLink::force.
void hnsw_link_forcibly(HnswSearch *s, const HnswCandidate &self, const void *code,
                        const HnswCandidate *near, int n, bool building);
// Compare-and-swap of one level's list in owner's neighbour tuple: writes tids[0..n) (then
// invalid slots) if the tuple still belongs to owner.version and the list still equals
// expected[0..n_expected). Returns false (nothing written) otherwise.
bool hnsw_replace_links(Relation index, const HnswCandidate &owner, int level, int m,
                        const ItemPointerData *expected, int n_expected,
                        const ItemPointerData *tids, int n, bool building);

// ---- hnswexact.cpp -------------------------------------------------------------------------------

// One element an exact scan found: its distance, where it is, its heap TIDs.
struct HnswExactHit {
    float distance;
    ItemPointerData tid;
    uint8 heaptid_count;
    ItemPointerData heaptids[HNSW_HEAPTIDS];
};

// Exact filtered search: reads every element page in order and computes distances only for
// live elements whose payload matches `filter`. Writes the `limit` closest hits that come
// strictly after `after` in (distance, element TID) order (all hits when after is NULL) into
// out[], closest first, and returns their count; *examined counts the live elements read.
int hnsw_exact_search(Relation index, const HnswIndexInfo *info, const void *query,
                      const AmFilter *filter, const HnswExactHit *after, int limit,
                      HnswExactHit *out, int64 *examined);

// ---- hnswscan.cpp --------------------------------------------------------------------------------

IndexScanDesc hnswbeginscan(Relation index, int nkeys, int norderbys);
void hnswrescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool hnswgettuple(IndexScanDesc scan, ScanDirection dir);
void hnswendscan(IndexScanDesc scan);

// ---- hnswvacuum.cpp ------------------------------------------------------------------------------

IndexBulkDeleteResult *hnswbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
                                      IndexBulkDeleteCallback callback, void *callback_state);
IndexBulkDeleteResult *hnswvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);

}  // namespace quiver::pg
