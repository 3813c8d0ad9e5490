// quiver_index_check(regclass): verifies an hnsw index's invariants by reading its pages through
// the buffer manager (share locks, one page at a time) and raises ERRCODE_INDEX_CORRUPTED with a
// precise message on the first violation. Returns counts (pages, elements, heap TIDs, deleted
// slots, entry level, tolerated unreachable elements) so tests can compare them with the table.
//
// What is checked (the format is documented in quiver/pg/hnsw.h):
//   metapage   page id/type, magic, format version, dimensions within the opclass limit and equal
//              to the column's typmod, m and ef_construction within their option ranges,
//              representation/metric/normalisation equal to the opclass's, entry point TID and
//              level consistent (both absent, or an element at exactly that level).
//   pages      special space and page id, page type, flags; item pointers normal; every tuple an
//              element or a neighbour tuple of a size that holds what its header says.
//   elements   level within hnsw_max_level(m); deleted flag 0/1 and then no heap TIDs; flags and
//              payload 0 (format 1); heap TIDs valid, inside the table, distinct within the index,
//              unused slots invalid; code length/layout right for the representation and
//              dimensions, floats finite, unit norm when normalised, bit padding zero, sparse
//              indices ascending within the dimensions; a neighbour tuple at block >= its own,
//              owned by it alone, with its version and enough slots for its level.
//   links      per level: at most 2m (level 0) or m entries, compact (valid first), no
//              duplicates, no self-link, each one an element (not a deleted slot) whose level is
//              >= the link's level; slots above the element's level empty.
//   graph      BFS on level 0 from the entry point (a hash set of reached elements): every
//              element with a heap TID must be reached. An unreached element is tolerated only
//              when none of its heap TIDs is a row visible to a fresh snapshot: an insert
//              interrupted by an error or a crash leaves its element behind (written before its
//              back links) pointing at a dead row, until VACUUM removes it. Likewise an element
//              above the entry level is tolerated only when its rows are not visible.
//
// Locks: ShareLock on the table and the index (like amcheck's bt_index_parent_check), so no
// insert or VACUUM changes the graph while it is checked. During recovery (hot standby) only
// AccessShareLock is possible; check a standby when replay is idle.
#include "quiver/pg/glue.h"
#include "quiver/pg/hnsw.h"
#include "quiver/pg/filter_columns.h"
#include "quiver/pg/ivf.h"
#include "quiver/pg/lsh.h"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

#include "quiver/core/half.h"

#include <cmath>
#include <cstring>

using quiver::core::Metric;
using quiver::core::Representation;

namespace {

// One tuple of the index, by TID (key = block << 16 | offset).
enum TupleKind : uint8 { KIND_ELEMENT = 1, KIND_NEIGHBORS = 2 };

struct TupleEntry {
    uint64 key;           // hash key: must be first
    uint8 kind;
    uint8 level;          // element: its level
    uint8 deleted;        // element: deleted slot
    uint8 version;        // element or neighbour tuple
    uint8 heaptid_count;  // element
    bool reached;         // element: found by the level-0 BFS
    uint16 count;         // neighbour tuple: slots
    uint64 link;          // element: its neighbour tuple; neighbour tuple: its owner (0: none yet)
};

struct HeapTidEntry {
    uint64 key;
    uint64 element;  // the element carrying it
};

struct Check {
    Relation index;
    Relation heap;
    const char *name;
    BufferAccessStrategy strategy;
    BlockNumber nblocks;
    BlockNumber heap_nblocks;
    // metapage
    uint32 dimensions;
    int m;
    Representation representation;
    Metric metric;
    bool normalized;
    ItemPointerData entry;
    int entry_level;
    // maps
    HTAB *tuples;
    HTAB *heap_tids;
    // counts
    int64 elements;      // element tuples in the graph (not deleted)
    int64 deleted;       // deleted (reusable) element slots
    int64 tids;          // heap TIDs carried by the elements
    int64 unreachable;   // elements not reached on level 0, tolerated (no visible row)
    int64 new_pages;     // all-zero pages (an extension a crash cut short)
};

inline uint64 tid_key(BlockNumber blk, OffsetNumber off)
{
    return (static_cast<uint64>(blk) << 16) | off;
}
inline uint64 tid_key(const ItemPointerData *tid)
{
    return tid_key(ItemPointerGetBlockNumberNoCheck(tid), ItemPointerGetOffsetNumberNoCheck(tid));
}
inline BlockNumber key_block(uint64 key) { return static_cast<BlockNumber>(key >> 16); }
inline OffsetNumber key_offset(uint64 key) { return static_cast<OffsetNumber>(key & 0xFFFF); }

#define CORRUPT(c, ...)                                                                        \
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED), errmsg(__VA_ARGS__)))

// "(b,o)" for messages, in a static ring so several fit in one message.
const char *tid_str(uint64 key)
{
    static char ring[4][32];
    static int next = 0;
    char *buf = ring[next++ & 3];
    snprintf(buf, 32, "(%u,%u)", key_block(key), static_cast<unsigned>(key_offset(key)));
    return buf;
}

const char *representation_name(Representation r)
{
    switch (r) {
    case Representation::f32: return "float32";
    case Representation::f16: return "float16";
    case Representation::bits: return "bits";
    case Representation::sparse: return "sparse";
    }
    return "unknown";
}

// ---- relation and locks ------------------------------------------------------------------------

// Opens the index and its table with `lockmode`, table first (the order of other DDL), after
// refusing anything that is not an hnsw index of quiver.
void open_relations(Oid indexoid, Check *c, LOCKMODE *lockmode)
{
    *lockmode = RecoveryInProgress() ? AccessShareLock : ShareLock;

    Oid heapoid = IndexGetRelation(indexoid, true);
    if (!OidIsValid(heapoid)) {
        // Not an index (or it does not exist): say what it is.
        Relation rel = relation_open(indexoid, AccessShareLock);
        if (rel->rd_rel->relkind == RELKIND_PARTITIONED_INDEX)
            ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                            errmsg("cannot check partitioned index \"%s\"", RelationGetRelationName(rel)),
                            errhint("Check the indexes of its partitions.")));
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("\"%s\" is not an index", RelationGetRelationName(rel))));
    }
    c->heap = table_open(heapoid, *lockmode);
    c->index = index_open(indexoid, *lockmode);
    c->name = RelationGetRelationName(c->index);
    // The index may have been dropped and its OID reused between the two lookups.
    if (IndexGetRelation(indexoid, false) != heapoid)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                        errmsg("could not open parent table of index \"%s\"", c->name)));

    if (c->index->rd_rel->relkind == RELKIND_PARTITIONED_INDEX)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("cannot check partitioned index \"%s\"", c->name),
                        errhint("Check the indexes of its partitions.")));
    if (c->index->rd_indam == nullptr || (c->index->rd_indam->ambuild != quiver::pg::hnswbuild &&
                                          c->index->rd_indam->ambuild != quiver::pg::ivfflatbuild &&
                                          c->index->rd_indam->ambuild != quiver::pg::ivfbuild &&
                                          c->index->rd_indam->ambuild != quiver::pg::lshbuild)) {
        const char *am = get_am_name(c->index->rd_rel->relam);
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                        errmsg("index \"%s\" is not a quiver index", c->name),
                        errdetail("It uses access method \"%s\".", am != nullptr ? am : "?")));
    }
    if (!pg_class_ownercheck(heapoid, GetUserId()))
        aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_INDEX, c->name);
    if (RELATION_IS_OTHER_TEMP(c->index))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot access temporary tables of other sessions")));
    if (!c->index->rd_index->indisvalid)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("cannot check index \"%s\"", c->name),
                        errdetail("Index is not valid.")));
}

// ---- pages -------------------------------------------------------------------------------------

void check_special(Check *c, Page page, BlockNumber blk, uint16 want_type)
{
    if (PageGetSpecialSize(page) != MAXALIGN(sizeof(HnswPageOpaqueData)))
        CORRUPT(c, "index \"%s\" block %u has a special space of %u bytes, expected %u", c->name, blk,
                static_cast<unsigned>(PageGetSpecialSize(page)),
                static_cast<unsigned>(MAXALIGN(sizeof(HnswPageOpaqueData))));
    HnswPageOpaque op = HnswPageGetOpaque(page);
    if (op->page_id != HNSW_PAGE_ID)
        CORRUPT(c, "index \"%s\" block %u has page id 0x%04X, expected 0x%04X", c->name, blk,
                op->page_id, HNSW_PAGE_ID);
    if (op->page_type != want_type)
        CORRUPT(c, "index \"%s\" block %u has page type %u, expected %u", c->name, blk, op->page_type,
                want_type);
    if ((op->flags & ~HNSW_PAGE_HAS_DELETED) != 0)
        CORRUPT(c, "index \"%s\" block %u has unknown page flags 0x%04X", c->name, blk, op->flags);
}

void check_metapage(Check *c)
{
    c->nblocks = RelationGetNumberOfBlocks(c->index);
    if (c->nblocks == 0)
        CORRUPT(c, "index \"%s\" has no metapage (it is empty)", c->name);

    Buffer buf = ReadBufferExtended(c->index, MAIN_FORKNUM, HNSW_METAPAGE_BLKNO, RBM_NORMAL, c->strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    if (PageIsNew(page))
        CORRUPT(c, "index \"%s\" has an uninitialized metapage", c->name);
    check_special(c, page, HNSW_METAPAGE_BLKNO, HNSW_PAGE_META);
    HnswMetaPageData meta;
    std::memcpy(&meta, HnswPageGetMeta(page), sizeof meta);
    UnlockReleaseBuffer(buf);

    if (meta.magic != HNSW_MAGIC)
        CORRUPT(c, "index \"%s\" has metapage magic 0x%08X, expected 0x%08X", c->name, meta.magic,
                HNSW_MAGIC);
    if (meta.version < HNSW_MIN_FORMAT_VERSION || meta.version > HNSW_FORMAT_VERSION)
        CORRUPT(c, "index \"%s\" has format version %u, expected %d to %d", c->name, meta.version,
                HNSW_MIN_FORMAT_VERSION, HNSW_FORMAT_VERSION);
    if (meta.m < HNSW_MIN_M || meta.m > HNSW_MAX_M)
        CORRUPT(c, "index \"%s\" metapage has m = %u, outside [%d, %d]", c->name, meta.m, HNSW_MIN_M,
                HNSW_MAX_M);
    if (meta.ef_construction < HNSW_MIN_EF_CONSTRUCTION || meta.ef_construction > HNSW_MAX_EF_CONSTRUCTION)
        CORRUPT(c, "index \"%s\" metapage has ef_construction = %u, outside [%d, %d]", c->name,
                meta.ef_construction, HNSW_MIN_EF_CONSTRUCTION, HNSW_MAX_EF_CONSTRUCTION);
    if (meta.ef_construction < 2 * meta.m)
        CORRUPT(c, "index \"%s\" metapage has ef_construction = %u, less than 2 * m = %u", c->name,
                meta.ef_construction, 2u * meta.m);
    const int natts = RelationGetNumberOfAttributes(c->index);
    if (meta.key_columns != natts || (meta.version < 2 && meta.key_columns != 1))
        CORRUPT(c, "index \"%s\" metapage has %u key columns, expected %d", c->name,
                meta.key_columns, meta.version < 2 ? 1 : natts);

    const QuiverOpclassInfo *opclass = quiver::pg::hnsw_opclass_info(c->index);
    if (meta.representation != static_cast<uint8>(opclass->representation) ||
        meta.metric != static_cast<uint8>(opclass->metric) ||
        meta.normalized != (opclass->normalize ? 1 : 0))
        CORRUPT(c,
                "index \"%s\" metapage has representation %u, metric %u, normalized %u; its operator "
                "class (%s %s) needs %u, %u, %u",
                c->name, meta.representation, meta.metric, meta.normalized, opclass->type_name,
                opclass->operator_name, static_cast<unsigned>(opclass->representation),
                static_cast<unsigned>(opclass->metric), opclass->normalize ? 1u : 0u);
    if (meta.dimensions == 0 || meta.dimensions > static_cast<uint32>(opclass->max_dimensions))
        CORRUPT(c, "index \"%s\" metapage has %u dimensions, outside [1, %d]", c->name, meta.dimensions,
                opclass->max_dimensions);
    int32 typmod = TupleDescAttr(RelationGetDescr(c->index), 0)->atttypmod;
    if (typmod > 0 && meta.dimensions != static_cast<uint32>(typmod))
        CORRUPT(c, "index \"%s\" metapage has %u dimensions, but its column has %d", c->name,
                meta.dimensions, typmod);

    c->dimensions = meta.dimensions;
    c->m = meta.m;
    c->representation = static_cast<Representation>(meta.representation);
    c->metric = static_cast<Metric>(meta.metric);
    c->normalized = meta.normalized != 0;
    c->entry = meta.entry;
    c->entry_level = meta.entry_level;

    bool has_entry = ItemPointerIsValid(&meta.entry);
    if (has_entry != (meta.entry_level >= 0))
        CORRUPT(c, "index \"%s\" metapage has entry point %s with entry level %d", c->name,
                has_entry ? tid_str(tid_key(&meta.entry)) : "(none)", meta.entry_level);
    if (meta.entry_level > ::hnsw_max_level(c->m))
        CORRUPT(c, "index \"%s\" metapage has entry level %d, above the maximum level %d for m = %d",
                c->name, meta.entry_level, ::hnsw_max_level(c->m), c->m);
    if (has_entry && (ItemPointerGetBlockNumberNoCheck(&meta.entry) < HNSW_FIRST_ELEMENT_BLKNO ||
                      ItemPointerGetBlockNumberNoCheck(&meta.entry) >= c->nblocks))
        CORRUPT(c, "index \"%s\" metapage has entry point %s outside the index's %u blocks", c->name,
                tid_str(tid_key(&meta.entry)), c->nblocks);
}

// ---- codes -------------------------------------------------------------------------------------

void check_code(Check *c, uint64 ekey, const char *code, Size code_len)
{
    const uint32 dim = c->dimensions;
    double norm2 = 0;
    double tolerance = 0;
    switch (c->representation) {
    case Representation::f32: {
        if (code_len != sizeof(float) * dim)
            CORRUPT(c, "index \"%s\" element %s has a code of %zu bytes, expected %zu for %u float32 dimensions",
                    c->name, tid_str(ekey), code_len, sizeof(float) * dim, dim);
        for (uint32 i = 0; i < dim; ++i) {
            float x;
            std::memcpy(&x, code + i * sizeof(float), sizeof x);
            if (!std::isfinite(x))
                CORRUPT(c, "index \"%s\" element %s has a non-finite value at dimension %u", c->name,
                        tid_str(ekey), i + 1);
            norm2 += static_cast<double>(x) * x;
        }
        tolerance = 1e-3;
        break;
    }
    case Representation::f16: {
        if (code_len != sizeof(uint16) * dim)
            CORRUPT(c, "index \"%s\" element %s has a code of %zu bytes, expected %zu for %u float16 dimensions",
                    c->name, tid_str(ekey), code_len, sizeof(uint16) * dim, dim);
        for (uint32 i = 0; i < dim; ++i) {
            uint16 h;
            std::memcpy(&h, code + i * sizeof(uint16), sizeof h);
            float x = quiver::core::half_to_float(h);
            if (!std::isfinite(x))
                CORRUPT(c, "index \"%s\" element %s has a non-finite value at dimension %u", c->name,
                        tid_str(ekey), i + 1);
            norm2 += static_cast<double>(x) * x;
        }
        tolerance = 1e-2;
        break;
    }
    case Representation::bits: {
        Size want = (dim + 7) / 8;
        if (code_len != want)
            CORRUPT(c, "index \"%s\" element %s has a code of %zu bytes, expected %zu for %u bits", c->name,
                    tid_str(ekey), code_len, want, dim);
        if (dim % 8 != 0) {
            uint8 pad = static_cast<uint8>(0xFFu >> (dim % 8));
            if (static_cast<uint8>(code[want - 1]) & pad)
                CORRUPT(c, "index \"%s\" element %s has non-zero padding bits", c->name, tid_str(ekey));
        }
        return;
    }
    case Representation::sparse: {
        int32 hdr[3];
        if (code_len < sizeof hdr)
            CORRUPT(c, "index \"%s\" element %s has a sparse code of %zu bytes, shorter than its header",
                    c->name, tid_str(ekey), code_len);
        std::memcpy(hdr, code, sizeof hdr);
        if (static_cast<uint32>(hdr[0]) != dim)
            CORRUPT(c, "index \"%s\" element %s has a sparse code of %d dimensions, expected %u", c->name,
                    tid_str(ekey), hdr[0], dim);
        int32 nnz = hdr[1];
        if (nnz < 0 || nnz > HNSW_MAX_NNZ || hdr[2] != 0 ||
            code_len != sizeof hdr + (sizeof(int32) + sizeof(float)) * static_cast<Size>(nnz))
            CORRUPT(c, "index \"%s\" element %s has a malformed sparse code (nnz %d, %zu bytes)", c->name,
                    tid_str(ekey), nnz, code_len);
        const char *idx = code + sizeof hdr;
        const char *vals = idx + sizeof(int32) * nnz;
        int32 prev = -1;
        for (int32 i = 0; i < nnz; ++i) {
            int32 at;
            float x;
            std::memcpy(&at, idx + i * sizeof(int32), sizeof at);
            std::memcpy(&x, vals + i * sizeof(float), sizeof x);
            if (at <= prev || at < 0 || static_cast<uint32>(at) >= dim)
                CORRUPT(c, "index \"%s\" element %s has sparse index %d after %d (dimensions %u)", c->name,
                        tid_str(ekey), at, prev, dim);
            if (!std::isfinite(x) || x == 0)
                CORRUPT(c, "index \"%s\" element %s has sparse value %g at index %d", c->name, tid_str(ekey),
                        static_cast<double>(x), at);
            prev = at;
            norm2 += static_cast<double>(x) * x;
        }
        tolerance = 1e-3;
        break;
    }
    default:
        CORRUPT(c, "index \"%s\" has unknown representation %u", c->name,
                static_cast<unsigned>(c->representation));
    }
    if (c->normalized && std::fabs(std::sqrt(norm2) - 1.0) > tolerance)
        CORRUPT(c, "index \"%s\" element %s has norm %g, but %s codes are unit-normalised", c->name,
                tid_str(ekey), std::sqrt(norm2), representation_name(c->representation));
}

// ---- pass 1: every tuple on its own ------------------------------------------------------------

TupleEntry *enter_tuple(Check *c, uint64 key, uint8 kind)
{
    bool found;
    auto *e = static_cast<TupleEntry *>(hash_search(c->tuples, &key, HASH_ENTER, &found));
    Assert(!found);
    e->kind = kind;
    e->level = 0;
    e->deleted = 0;
    e->version = 0;
    e->heaptid_count = 0;
    e->reached = false;
    e->count = 0;
    e->link = 0;
    return e;
}

void check_element(Check *c, BlockNumber blk, OffsetNumber off, HnswElementTuple etup, Size len)
{
    const uint64 ekey = tid_key(blk, off);
    if (len < offsetof(HnswElementTupleData, data) ||
        len < ::hnsw_element_tuple_size(etup->payload_len, etup->code_len))
        CORRUPT(c, "index \"%s\" element %s is %zu bytes, too short for its payload (%u) and code (%u)",
                c->name, tid_str(ekey), len, etup->payload_len, etup->code_len);
    if (etup->level > ::hnsw_max_level(c->m))
        CORRUPT(c, "index \"%s\" element %s has level %u, above the maximum level %d for m = %d", c->name,
                tid_str(ekey), etup->level, ::hnsw_max_level(c->m), c->m);
    if (etup->deleted > 1 || etup->flags != 0 || etup->reserved != 0)
        CORRUPT(c, "index \"%s\" element %s has deleted = %u, flags = %u, reserved = %u "
                   "(the format wants 0/1, 0, 0)",
                c->name, tid_str(ekey), etup->deleted, etup->flags, etup->reserved);
    // Filter columns: every element carries a well-formed payload of that many columns;
    // without them, none.
    if (quiver::pg::am_filter_column_count(c->index) == 0 ? etup->payload_len != 0
            : !quiver::pg::am_payload_valid(c->index, reinterpret_cast<const uint8 *>(etup->data),
                                            etup->payload_len))
        CORRUPT(c, "index \"%s\" element %s has a payload of %u bytes that does not hold the "
                   "values of its %d filter columns",
                c->name, tid_str(ekey), etup->payload_len,
                quiver::pg::am_filter_column_count(c->index));
    if (etup->heaptid_count > HNSW_HEAPTIDS)
        CORRUPT(c, "index \"%s\" element %s has %u heap TIDs, more than %d", c->name, tid_str(ekey),
                etup->heaptid_count, HNSW_HEAPTIDS);
    if (etup->deleted && etup->heaptid_count != 0)
        CORRUPT(c, "index \"%s\" element %s is deleted but still has %u heap TIDs", c->name, tid_str(ekey),
                etup->heaptid_count);

    for (int i = 0; i < HNSW_HEAPTIDS; ++i) {
        const ItemPointerData *h = &etup->heaptids[i];
        if (i >= etup->heaptid_count) {
            if (ItemPointerIsValid(h))
                CORRUPT(c, "index \"%s\" element %s has a valid heap TID %s in unused slot %d (count %u)",
                        c->name, tid_str(ekey), tid_str(tid_key(h)), i, etup->heaptid_count);
            continue;
        }
        BlockNumber hblk = ItemPointerGetBlockNumberNoCheck(h);
        OffsetNumber hoff = ItemPointerGetOffsetNumberNoCheck(h);
        if (hoff < FirstOffsetNumber || hoff > MaxHeapTuplesPerPage)
            CORRUPT(c, "index \"%s\" element %s has heap TID %s with an invalid offset", c->name,
                    tid_str(ekey), tid_str(tid_key(h)));
        if (hblk >= c->heap_nblocks)
            CORRUPT(c, "index \"%s\" element %s has heap TID %s beyond the end of table \"%s\" (%u blocks)",
                    c->name, tid_str(ekey), tid_str(tid_key(h)), RelationGetRelationName(c->heap),
                    c->heap_nblocks);
        uint64 hkey = tid_key(h);
        bool found;
        auto *he = static_cast<HeapTidEntry *>(hash_search(c->heap_tids, &hkey, HASH_ENTER, &found));
        if (found)
            CORRUPT(c, "index \"%s\" has heap TID %s twice: in elements %s and %s", c->name, tid_str(hkey),
                    tid_str(he->element), tid_str(ekey));
        he->element = ekey;
    }

    if (!etup->deleted)
        check_code(c, ekey, ::hnsw_element_code(etup), etup->code_len);

    const ItemPointerData *ntid = &etup->neighbortid;
    if (!ItemPointerIsValid(ntid)) {
        if (!etup->deleted)
            CORRUPT(c, "index \"%s\" element %s has no neighbour tuple", c->name, tid_str(ekey));
    } else {
        BlockNumber nblk = ItemPointerGetBlockNumberNoCheck(ntid);
        if (nblk < blk || nblk >= c->nblocks)
            CORRUPT(c, "index \"%s\" element %s has its neighbour tuple at %s, outside blocks [%u, %u)",
                    c->name, tid_str(ekey), tid_str(tid_key(ntid)), blk, c->nblocks);
    }

    TupleEntry *e = enter_tuple(c, ekey, KIND_ELEMENT);
    e->level = etup->level;
    e->deleted = etup->deleted;
    e->version = etup->version;
    e->heaptid_count = etup->heaptid_count;
    e->link = ItemPointerIsValid(ntid) ? tid_key(ntid) : 0;
    if (etup->deleted) {
        c->deleted++;
    } else {
        c->elements++;
        c->tids += etup->heaptid_count;
    }
}

void check_neighbor_tuple(Check *c, BlockNumber blk, OffsetNumber off, HnswNeighborTuple ntup, Size len)
{
    const uint64 nkey = tid_key(blk, off);
    if (len < offsetof(HnswNeighborTupleData, tids) + ntup->count * sizeof(ItemPointerData))
        CORRUPT(c, "index \"%s\" neighbour tuple %s is %zu bytes, too short for its %u slots", c->name,
                tid_str(nkey), len, ntup->count);
    if (ntup->count < ::hnsw_neighbor_slots(0, c->m))
        CORRUPT(c, "index \"%s\" neighbour tuple %s has %u slots, fewer than the %d of level 0", c->name,
                tid_str(nkey), ntup->count, ::hnsw_neighbor_slots(0, c->m));
    for (int i = 0; i < ntup->count; ++i) {
        const ItemPointerData *t = &ntup->tids[i];
        if (ItemPointerIsValid(t)) {
            BlockNumber tblk = ItemPointerGetBlockNumberNoCheck(t);
            if (tblk < HNSW_FIRST_ELEMENT_BLKNO || tblk >= c->nblocks)
                CORRUPT(c, "index \"%s\" neighbour tuple %s slot %d links to %s, outside the index's %u blocks",
                        c->name, tid_str(nkey), i, tid_str(tid_key(t)), c->nblocks);
        }
    }
    TupleEntry *e = enter_tuple(c, nkey, KIND_NEIGHBORS);
    e->version = ntup->version;
    e->count = ntup->count;
}

void pass_tuples(Check *c)
{
    for (BlockNumber blk = HNSW_FIRST_ELEMENT_BLKNO; blk < c->nblocks; ++blk) {
        CHECK_FOR_INTERRUPTS();
        Buffer buf = ReadBufferExtended(c->index, MAIN_FORKNUM, blk, RBM_NORMAL, c->strategy);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        if (PageIsNew(page)) {
            // Left by an extension a crash cut short; inserts skip such pages.
            c->new_pages++;
            UnlockReleaseBuffer(buf);
            continue;
        }
        check_special(c, page, blk, HNSW_PAGE_ELEMENT);
        OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
        for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off)) {
            ItemId iid = PageGetItemId(page, off);
            if (!ItemIdIsNormal(iid))
                CORRUPT(c, "index \"%s\" item %s is not a normal item (flags %u)", c->name,
                        tid_str(tid_key(blk, off)), ItemIdGetFlags(iid));
            Size len = ItemIdGetLength(iid);
            if (ItemIdGetOffset(iid) + len > PageGetSpecialPointer(page) - page ||
                ItemIdGetOffset(iid) < reinterpret_cast<PageHeader>(page)->pd_upper)
                CORRUPT(c, "index \"%s\" item %s lies outside the page's tuple space", c->name,
                        tid_str(tid_key(blk, off)));
            const char *item = static_cast<const char *>(PageGetItem(page, iid));
            if (len < 1)
                CORRUPT(c, "index \"%s\" item %s is empty", c->name, tid_str(tid_key(blk, off)));
            if (item[0] == HNSW_ELEMENT_TUPLE)
                check_element(c, blk, off, reinterpret_cast<HnswElementTuple>(const_cast<char *>(item)), len);
            else if (item[0] == HNSW_NEIGHBOR_TUPLE) {
                if (len < offsetof(HnswNeighborTupleData, tids))
                    CORRUPT(c, "index \"%s\" neighbour tuple %s is %zu bytes, shorter than its header", c->name,
                            tid_str(tid_key(blk, off)), len);
                check_neighbor_tuple(c, blk, off, reinterpret_cast<HnswNeighborTuple>(const_cast<char *>(item)),
                                     len);
            } else
                CORRUPT(c, "index \"%s\" item %s has unknown tuple type %u", c->name,
                        tid_str(tid_key(blk, off)), static_cast<uint8>(item[0]));
        }
        UnlockReleaseBuffer(buf);
    }
}

// ---- ownership: each element's neighbour tuple ---------------------------------------------------

TupleEntry *lookup(Check *c, uint64 key)
{
    return static_cast<TupleEntry *>(hash_search(c->tuples, &key, HASH_FIND, nullptr));
}

void check_ownership(Check *c)
{
    HASH_SEQ_STATUS seq;
    hash_seq_init(&seq, c->tuples);
    while (auto *e = static_cast<TupleEntry *>(hash_seq_search(&seq))) {
        if (e->kind != KIND_ELEMENT || e->link == 0)
            continue;
        TupleEntry *n = lookup(c, e->link);
        if (n == nullptr || n->kind != KIND_NEIGHBORS) {
            hash_seq_term(&seq);
            CORRUPT(c, "index \"%s\" element %s points at %s for its neighbour tuple, which is %s", c->name,
                    tid_str(e->key), tid_str(e->link), n == nullptr ? "not a tuple" : "an element");
        }
        if (n->link != 0) {
            hash_seq_term(&seq);
            CORRUPT(c, "index \"%s\" neighbour tuple %s belongs to both element %s and element %s", c->name,
                    tid_str(n->key), tid_str(n->link), tid_str(e->key));
        }
        n->link = e->key;
        if (e->deleted)
            continue;
        if (n->version != e->version) {
            hash_seq_term(&seq);
            CORRUPT(c, "index \"%s\" element %s has version %u, but its neighbour tuple %s has version %u",
                    c->name, tid_str(e->key), e->version, tid_str(n->key), n->version);
        }
        if (n->count < ::hnsw_neighbor_slots(e->level, c->m)) {
            hash_seq_term(&seq);
            CORRUPT(c, "index \"%s\" element %s at level %u has a neighbour tuple %s of %u slots, fewer than %d",
                    c->name, tid_str(e->key), e->level, tid_str(n->key), n->count,
                    ::hnsw_neighbor_slots(e->level, c->m));
        }
    }
    hash_seq_init(&seq, c->tuples);
    while (auto *n = static_cast<TupleEntry *>(hash_seq_search(&seq))) {
        if (n->kind == KIND_NEIGHBORS && n->link == 0) {
            hash_seq_term(&seq);
            CORRUPT(c, "index \"%s\" neighbour tuple %s belongs to no element", c->name, tid_str(n->key));
        }
    }

    if (ItemPointerIsValid(&c->entry)) {
        uint64 key = tid_key(&c->entry);
        TupleEntry *e = lookup(c, key);
        if (e == nullptr || e->kind != KIND_ELEMENT)
            CORRUPT(c, "index \"%s\" entry point %s is not an element", c->name, tid_str(key));
        if (e->deleted)
            CORRUPT(c, "index \"%s\" entry point %s is a deleted element", c->name, tid_str(key));
        if (e->level != c->entry_level)
            CORRUPT(c, "index \"%s\" entry point %s has level %u, but the metapage says %d", c->name,
                    tid_str(key), e->level, c->entry_level);
    }
}

// ---- pass 2: links -------------------------------------------------------------------------------

void check_links(Check *c, uint64 nkey, const TupleEntry *owner, HnswNeighborTuple ntup)
{
    const int m = c->m;
    const uint64 ekey = owner->key;
    for (int l = 0; l <= owner->level; ++l) {
        const int first = ::hnsw_level_first_slot(l, m);
        const int slots = ::hnsw_level_slot_count(l, m);
        const ItemPointerData *run = ntup->tids + first;
        int valid = 0;
        while (valid < slots && ItemPointerIsValid(&run[valid]))
            ++valid;
        for (int i = valid; i < slots; ++i)
            if (ItemPointerIsValid(&run[i]))
                CORRUPT(c, "index \"%s\" element %s level %d links are not compact: slot %d is empty but "
                           "slot %d links to %s",
                        c->name, tid_str(ekey), l, valid, i, tid_str(tid_key(&run[i])));
        for (int i = 0; i < valid; ++i) {
            uint64 tkey = tid_key(&run[i]);
            if (tkey == ekey)
                CORRUPT(c, "index \"%s\" element %s links to itself on level %d", c->name, tid_str(ekey), l);
            for (int j = 0; j < i; ++j)
                if (tid_key(&run[j]) == tkey)
                    CORRUPT(c, "index \"%s\" element %s links to %s twice on level %d", c->name, tid_str(ekey),
                            tid_str(tkey), l);
            TupleEntry *t = lookup(c, tkey);
            if (t == nullptr || t->kind != KIND_ELEMENT)
                CORRUPT(c, "index \"%s\" element %s links on level %d to %s, which is %s", c->name,
                        tid_str(ekey), l, tid_str(tkey), t == nullptr ? "not a tuple" : "a neighbour tuple");
            if (t->deleted)
                CORRUPT(c, "index \"%s\" element %s links on level %d to deleted element %s", c->name,
                        tid_str(ekey), l, tid_str(tkey));
            if (t->level < l)
                CORRUPT(c, "index \"%s\" element %s links on level %d to element %s of level %u", c->name,
                        tid_str(ekey), l, tid_str(tkey), t->level);
        }
    }
    // Slots past the element's own levels are unused.
    const int used = ::hnsw_neighbor_slots(owner->level, m);
    for (int i = used; i < ntup->count; ++i)
        if (ItemPointerIsValid(&ntup->tids[i]))
            CORRUPT(c, "index \"%s\" element %s of level %u has a link to %s in slot %d, above its levels",
                    c->name, tid_str(ekey), owner->level, tid_str(tid_key(&ntup->tids[i])), i);
    (void) nkey;
}

void pass_links(Check *c)
{
    for (BlockNumber blk = HNSW_FIRST_ELEMENT_BLKNO; blk < c->nblocks; ++blk) {
        CHECK_FOR_INTERRUPTS();
        Buffer buf = ReadBufferExtended(c->index, MAIN_FORKNUM, blk, RBM_NORMAL, c->strategy);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        if (!PageIsNew(page)) {
            OffsetNumber maxoff = PageGetMaxOffsetNumber(page);
            for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off)) {
                HnswNeighborTuple ntup = quiver::pg::hnsw_get_neighbors(page, off);
                if (ntup == nullptr)
                    continue;
                uint64 nkey = tid_key(blk, off);
                TupleEntry *n = lookup(c, nkey);
                TupleEntry *owner = n != nullptr ? lookup(c, n->link) : nullptr;
                if (owner == nullptr)
                    CORRUPT(c, "index \"%s\" neighbour tuple %s changed while it was checked", c->name,
                            tid_str(nkey));
                if (owner->deleted)
                    continue;  // a free slot: its links are never read
                check_links(c, nkey, owner, ntup);
            }
        }
        UnlockReleaseBuffer(buf);
    }
}

// ---- pass 3: reachability on level 0 -----------------------------------------------------------

void pass_reach(Check *c)
{
    if (!ItemPointerIsValid(&c->entry))
        return;
    const int slots = ::hnsw_level_slot_count(0, c->m);
    Size cap = 1024;
    Size head = 0, tail = 0;
    auto *queue = static_cast<uint64 *>(palloc(sizeof(uint64) * cap));

    TupleEntry *start = lookup(c, tid_key(&c->entry));
    start->reached = true;
    queue[tail++] = start->key;
    while (head < tail) {
        CHECK_FOR_INTERRUPTS();
        TupleEntry *e = lookup(c, queue[head++]);
        uint64 nkey = e->link;
        uint64 links[2 * HNSW_MAX_M];
        int n = 0;
        Buffer buf = ReadBufferExtended(c->index, MAIN_FORKNUM, key_block(nkey), RBM_NORMAL, c->strategy);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        HnswNeighborTuple ntup = quiver::pg::hnsw_get_neighbors(BufferGetPage(buf), key_offset(nkey));
        if (ntup != nullptr && ntup->version == e->version) {
            for (int i = 0; i < slots && ItemPointerIsValid(&ntup->tids[i]); ++i)
                links[n++] = tid_key(&ntup->tids[i]);
        }
        UnlockReleaseBuffer(buf);
        if (ntup == nullptr)
            CORRUPT(c, "index \"%s\" neighbour tuple %s changed while it was checked", c->name, tid_str(nkey));
        for (int i = 0; i < n; ++i) {
            TupleEntry *t = lookup(c, links[i]);
            if (t == nullptr || t->reached)
                continue;
            t->reached = true;
            if (tail == cap) {
                cap *= 2;
                queue = static_cast<uint64 *>(repalloc_huge(queue, sizeof(uint64) * cap));
            }
            queue[tail++] = t->key;
        }
    }
    pfree(queue);
}

// Whether any heap TID of element `ekey` is a row visible to `snapshot` (following HOT chains).
bool has_visible_row(Check *c, uint64 ekey, Snapshot snapshot, IndexFetchTableData *fetch,
                     TupleTableSlot *slot, uint64 *visible_tid)
{
    ItemPointerData tids[HNSW_HEAPTIDS];
    int n = 0;
    Buffer buf = ReadBufferExtended(c->index, MAIN_FORKNUM, key_block(ekey), RBM_NORMAL, c->strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    HnswElementTuple etup = quiver::pg::hnsw_get_element(BufferGetPage(buf), key_offset(ekey));
    if (etup != nullptr) {
        n = etup->heaptid_count;
        std::memcpy(tids, etup->heaptids, sizeof(ItemPointerData) * n);
    }
    UnlockReleaseBuffer(buf);
    if (etup == nullptr)
        CORRUPT(c, "index \"%s\" element %s changed while it was checked", c->name, tid_str(ekey));
    for (int i = 0; i < n; ++i) {
        ItemPointerData tid = tids[i];
        bool call_again = false, all_dead = false;
        bool found = table_index_fetch_tuple(fetch, &tid, snapshot, slot, &call_again, &all_dead);
        ExecClearTuple(slot);
        if (found) {
            *visible_tid = tid_key(&tids[i]);
            return true;
        }
    }
    return false;
}

void check_reach(Check *c)
{
    Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
    IndexFetchTableData *fetch = table_index_fetch_begin(c->heap);
    TupleTableSlot *slot = table_slot_create(c->heap, nullptr);

    // Count every violation so the message can say how many; report the first one found.
    int64 lost = 0, above = 0;
    uint64 lost_elem = 0, lost_row = 0, above_elem = 0, above_row = 0;
    uint8 above_level = 0;
    HASH_SEQ_STATUS seq;
    hash_seq_init(&seq, c->tuples);
    while (auto *e = static_cast<TupleEntry *>(hash_seq_search(&seq))) {
        if (e->kind != KIND_ELEMENT || e->deleted)
            continue;
        bool is_above = e->level > c->entry_level;
        if (e->reached && !is_above)
            continue;
        if (!e->reached)
            c->unreachable++;
        if (e->heaptid_count == 0)
            continue;  // dying: VACUUM removes it; it holds no row
        uint64 visible;
        if (!has_visible_row(c, e->key, snapshot, fetch, slot, &visible))
            continue;  // left by an interrupted insert; its row is dead
        if (!e->reached && lost++ == 0) {
            lost_elem = e->key;
            lost_row = visible;
        }
        if (is_above && above++ == 0) {
            above_elem = e->key;
            above_row = visible;
            above_level = e->level;
        }
    }

    ExecDropSingleTupleTableSlot(slot);
    table_index_fetch_end(fetch);
    UnregisterSnapshot(snapshot);

    if (lost > 0 && !ItemPointerIsValid(&c->entry))
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" has no entry point, but element %s holds visible row %s", c->name,
                               tid_str(lost_elem), tid_str(lost_row)),
                        errdetail("%lld elements hold visible rows.", static_cast<long long>(lost))));
    if (lost > 0)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" element %s (row %s) is not reachable from entry point %s on level 0",
                               c->name, tid_str(lost_elem), tid_str(lost_row), tid_str(tid_key(&c->entry))),
                        errdetail("%lld of the %lld elements hold visible rows but are unreachable; index "
                                  "scans never return those rows.",
                                  static_cast<long long>(lost), static_cast<long long>(c->elements))));
    if (above > 0)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" element %s (row %s) has level %u, above the entry point's level %d",
                               c->name, tid_str(above_elem), tid_str(above_row), above_level, c->entry_level),
                        errdetail("%lld elements holding visible rows are above the entry level.",
                                  static_cast<long long>(above))));
}

}  // namespace

QUIVER_FUNCTION(quiver_index_check)
{
    Oid indexoid = PG_GETARG_OID(0);
    TupleDesc tupdesc = quiver::pg::am_record_result(fcinfo);

    MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "quiver_index_check",
                                               ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(work);

    Check *c = static_cast<Check *>(palloc0(sizeof(Check)));
    LOCKMODE lockmode;
    open_relations(indexoid, c, &lockmode);
    c->strategy = GetAccessStrategy(BAS_BULKREAD);
    c->heap_nblocks = RelationGetNumberOfBlocks(c->heap);

    Datum values[6];
    bool nulls[6] = {false, false, false, false, false, false};
    const bool ivf = c->index->rd_indam->ambuild == quiver::pg::ivfflatbuild ||
                     c->index->rd_indam->ambuild == quiver::pg::ivfbuild;
    if (ivf || c->index->rd_indam->ambuild == quiver::pg::lshbuild) {
        // ivf and lsh: pages and entries (each one heap TID); no deleted slots or levels. lsh
        // counts as unreachable the entries a crashed insert left out of some table while
        // their row is dead.
        BlockNumber pages;
        int64 entries, unreachable = 0;
        if (ivf) {
            quiver::pg::IvfCheckResult r;
            quiver::pg::ivf_index_check(c->index, c->heap, &r);
            pages = r.pages;
            entries = r.entries;
        } else {
            quiver::pg::LshCheckResult r{};
            quiver::pg::lsh_index_check(c->index, c->heap, &r);
            pages = r.pages;
            entries = r.entries;
            unreachable = r.unreachable;
        }
        values[0] = Int64GetDatum(static_cast<int64>(pages));
        values[1] = Int64GetDatum(entries);
        values[2] = Int64GetDatum(entries);
        values[3] = Int64GetDatum(0);
        nulls[4] = true;
        values[5] = Int64GetDatum(unreachable);
        index_close(c->index, lockmode);
        table_close(c->heap, lockmode);
        MemoryContextSwitchTo(old);
        MemoryContextDelete(work);
        HeapTuple tuple = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
        PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
    }

    check_metapage(c);

    HASHCTL ctl;
    std::memset(&ctl, 0, sizeof ctl);
    ctl.keysize = sizeof(uint64);
    ctl.entrysize = sizeof(TupleEntry);
    ctl.hcxt = work;
    c->tuples = hash_create("quiver_index_check tuples", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    ctl.entrysize = sizeof(HeapTidEntry);
    c->heap_tids = hash_create("quiver_index_check heap tids", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

    pass_tuples(c);
    check_ownership(c);
    pass_links(c);
    pass_reach(c);
    check_reach(c);

    values[0] = Int64GetDatum(static_cast<int64>(c->nblocks));
    values[1] = Int64GetDatum(c->elements);
    values[2] = Int64GetDatum(c->tids);
    values[3] = Int64GetDatum(c->deleted);
    values[4] = Int32GetDatum(c->entry_level);
    values[5] = Int64GetDatum(c->unreachable);

    index_close(c->index, lockmode);
    table_close(c->heap, lockmode);
    MemoryContextSwitchTo(old);
    MemoryContextDelete(work);

    HeapTuple tuple = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
    PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}
