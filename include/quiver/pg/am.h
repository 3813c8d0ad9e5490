// What every quiver index access method shares (hnsw, ivfflat, ivf, lsh): the static description of
// an operator class (its support function 3), the conversion of an indexed value into the code
// the distance kernels read, dimension checks in the types' own words, and page edits that are
// WAL-logged with GenericXLog after a build and only dirtied during one. Include after glue.h.
#pragma once

#include "quiver/pg/glue.h"

extern "C" {
#include "access/generic_xlog.h"
#include "storage/bufmgr.h"
#include "storage/relfilenode.h"
#include "utils/relcache.h"
#include "utils/selfuncs.h"
}

#include "quiver/core/distance.h"

// Support functions of every quiver opclass.
#define AM_DISTANCE_PROC 1  // pgvector's distance function
#define AM_NORM_PROC 2      // its norm function (cosine only)
#define AM_INFO_PROC 3      // the QuiverOpclassInfo below
#define AM_NPROCS 3

// ---- per-opclass behaviour (support function 3) --------------------------------------------------

#define QUIVER_OPCLASS_INFO_MAGIC 0x4F504331u

struct QuiverOpclassInfo {
    uint32 magic;                                 // QUIVER_OPCLASS_INFO_MAGIC
    const char *type_name;                        // the indexed type: vector, halfvec, sparsevec, bit
    const char *operator_name;                    // the ordering operator it serves: <->, <#>, ...
    quiver::core::Representation representation;
    quiver::core::Metric metric;
    bool normalize;                               // cosine: unit-normalise, skip zero vectors
    int max_dimensions;                           // column dimension limit for the index
    int max_nnz;                                  // sparsevec non-zero limit, 0 otherwise
};

// Edits of up to 4 pages: GenericXLog after the build, plain MarkBufferDirty during it.
struct AmPageEdit {
    GenericXLogState *state;
    bool wal;
    int count;
    Buffer buffers[MAX_GENERIC_XLOG_PAGES];
};

// Which shared buffer held each block lately (no pins kept): a walk's or scan's handle on
// the per-backend hints of its index, re-pinned with ReadRecentBuffer (see src/pg/am/bufcache.cpp).
struct AmBufferCache {
    RelFileNodeBackend key;  // the index's file and, for a temporary index, its backend
    bool local;              // the index lives in local buffers (temporary)
    int slot;
};

namespace quiver::pg {

// The info of the index's first column, from support function `procnum`; errors (naming
// `am_name`) when that function is not a quiver info function.
const QuiverOpclassInfo *am_opclass_info(Relation index, int procnum, const char *am_name);

// The code of a value (palloc'd), after the opclass's checks; NULL when the value is not
// indexed (zero vector under cosine). *code_len gets its size, *dim its dimension.
void *am_value_code(const QuiverOpclassInfo *opclass, Datum value, Size *code_len, uint32 *dim,
                    bool for_query);
// "different vector dimensions A and B" and friends, in the type's own words.
void am_check_dimensions(const QuiverOpclassInfo *opclass, uint32 query_dim, uint32 index_dim);

// The tuple descriptor of a function's record result (its OUT parameters); errors when the
// caller cannot take a record.
TupleDesc am_record_result(FunctionCallInfo fcinfo);
// The index `indexoid`, opened with AccessShareLock for a function that shows its pages; errors
// unless it is an index whose table the caller owns and not another session's temporary one.
Relation am_open_index_to_inspect(Oid indexoid);

// EXPLAIN ANALYZE's "Quiver scans" lines (src/pg/am/explain.cpp): am_explain_init installs the
// hook (from _PG_init); a scan reports itself when it ends or restarts.
void am_explain_init();
// lsh also reports the buckets it probed (visited: the candidates it re-ranked).
void am_report_scan(Relation index, const char *am, const char *strategy, int64 visited,
                    int64 returned, int64 buckets = -1);

// genericcostestimate of the whole index (src/pg/am/costs.cpp): a vector index reads its
// elements or lists whatever the index quals say; returns the quals' selectivity.
Selectivity am_whole_index_costs(PlannerInfo *root, IndexPath *path, double loop_count,
                                 GenericCosts *costs);

// amvalidate for an opclass of access method am_name (see src/pg/am/validate.cpp).
bool am_validate_opclass(Oid opclassoid, const char *am_name);

// Buffer hints (src/pg/am/bufcache.cpp).
void am_cache_init(AmBufferCache *cache, Relation index);
// A pinned buffer of blkno (caller releases it); the remembered buffer when it still holds it,
// else read with `strategy` (NULL: the default; a full pass over the index uses a ring).
Buffer am_cache_pin(AmBufferCache *cache, Relation index, BlockNumber blkno,
                    BufferAccessStrategy strategy = nullptr);
// The buffer blkno was last seen in, unpinned (may hold another page by now), or InvalidBuffer.
Buffer am_cache_peek(const AmBufferCache *cache, BlockNumber blkno);
void am_cache_release(AmBufferCache *cache);  // end of a walk or scan (no pins are kept)

// A new page at the end of the fork, exclusively locked (takes the extension lock when other
// backends may extend the relation concurrently).
Buffer am_new_buffer(Relation index, ForkNumber fork);

// Page edits.
void am_edit_start(AmPageEdit *edit, Relation index, bool wal);
Page am_edit_page(AmPageEdit *edit, Buffer buffer, bool full_image);  // buffer locked excl.
void am_edit_finish(AmPageEdit *edit);
void am_edit_abort(AmPageEdit *edit);

}  // namespace quiver::pg
