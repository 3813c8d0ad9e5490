// What hnsw index builds share between the serial build (hnswbuild.cpp) and the parallel one
// (hnswparallel.cpp). Include after hnsw.h.
#pragma once

#include "quiver/pg/am_parallel.h"
#include "quiver/pg/hnsw.h"

extern "C" {
#include "access/relscan.h"
#include "storage/condition_variable.h"
#include "storage/spin.h"
}

#include "quiver/core/hnsw_graph.h"

namespace quiver::pg {

// Coordination of a parallel build, in dynamic shared memory (see hnswparallel.cpp).
struct HnswParallelShared {
    AmParallelRelations rels;
    slock_t mutex;           // guards everything below
    ConditionVariable cv;    // any change of the fields below
    int workers_done;        // workers that finished their part of the heap scan
    int inflight;            // in-memory insertions running in any participant
    bool flushing;           // the shared graph is full: participants wait for the flush
    bool flushed;            // the graph is on pages: the rest goes through on-disk inserts
    double reltuples;        // heap tuples the workers scanned
    double indtuples;        // index tuples the workers added
    int64 progress;          // tuples added by every participant, for the leader's progress
    int64 in_memory;         // tuples the shared graph took before it was full
};

// Filter-column payloads of the rows in the in-memory graph, by heap TID (the graph keeps one
// node per distinct vector and knows nothing of payloads; the writer splits a node whose rows
// differ in their payloads into separate elements). Open addressing over labels (never 0),
// payload bytes in one arena; at most `limit` bytes in all.
struct HnswPayloadStore {
    uint64 *labels;   // 0: empty slot
    Size *offsets;    // into bytes
    uint32 *lengths;
    uint32 mask;      // slots - 1
    uint32 count;
    char *bytes;
    Size used;
    Size capacity;
    Size limit;
    MemoryContext ctx;
};

struct HnswBuildState {
    Relation heap;
    Relation index;
    IndexInfo *index_info;
    ForkNumber fork;
    const QuiverOpclassInfo *opclass;
    uint32 dimensions;
    int m;
    int ef_construction;
    double reltuples;
    double indtuples;
    quiver::core::DistanceComputer dc;
    quiver::core::hnsw::Graph *graph;  // deleted by graph_cb when build_ctx goes away
    bool flushed;
    int filter_columns;                // index columns after the vector
    HnswPayloadStore *payloads;        // with filter columns, while building in memory; else NULL
    HnswParallelShared *shared;        // parallel builds: the coordination; else NULL
    int64 progress_unreported;         // parallel builds: added since the last report
    MemoryContext build_ctx;
    MemoryContext tmp_ctx;
    MemoryContextCallback graph_cb;
};

// hnswbuild.cpp
void hnsw_init_build_state(HnswBuildState *bs, Relation heap, Relation index, IndexInfo *index_info,
                           ForkNumber fork);
quiver::core::hnsw::BuildParams hnsw_build_params(const HnswBuildState *bs);
// Adds one row to the graph (bs->graph); false when the graph has no room for it.
bool hnsw_graph_add(HnswBuildState *bs, const void *code, Size code_len, ItemPointer tid);
// Payload store (hnswbuild.cpp): add is false (nothing stored) when it would exceed the limit.
HnswPayloadStore *hnsw_payloads_create(MemoryContext ctx, Size limit);
bool hnsw_payloads_add(HnswPayloadStore *ps, uint64 label, const uint8 *payload, Size len);
const uint8 *hnsw_payloads_get(const HnswPayloadStore *ps, uint64 label, Size *len);
// Writes the metapage, then the in-memory graph after it.
void hnsw_flush_graph(HnswBuildState *bs);
// pgvector's NOTICE for a graph that outgrew maintenance_work_mem after `tuples` rows.
void hnsw_report_full(int64 tuples);
// The code of one row of the build scan (palloc'd in the current context), checked; NULL when
// the row is not indexed (NULL, zero vector under cosine).
void *hnsw_build_row_code(HnswBuildState *bs, Datum *values, bool *isnull, Size *code_len);

// hnswparallel.cpp
// Workers a build of `index` may use (max_parallel_maintenance_workers and the table's size,
// as PostgreSQL plans them for btree), 0 when it should not go parallel.
int hnsw_parallel_workers(Relation heap, Relation index, ForkNumber fork);
// Builds with `workers` parallel workers; false (nothing done) when the parallel context could
// not be set up, and the caller builds serially.
bool hnsw_build_parallel(HnswBuildState *bs, int workers);

}  // namespace quiver::pg
