// What parallel index builds of every access method share (hnsw, ivfflat, ivf): the parallel
// context with its snapshot, the parallel heap scan and the statement text in the segment, and
// a worker's view of the relations, opened with the locks CREATE INDEX holds in the leader.
// Each AM adds its own chunks and coordination.
#pragma once

#include "quiver/pg/glue.h"

extern "C" {
#include "access/parallel.h"
#include "access/relscan.h"
#include "nodes/execnodes.h"
#include "storage/lockdefs.h"
#include "storage/shm_toc.h"
#include "utils/snapshot.h"
}

namespace quiver::pg {

// In the AM's shared struct: which relations, and how the leader opened them.
struct AmParallelRelations {
    Oid heaprelid;
    Oid indexrelid;
    bool isconcurrent;
};

struct AmParallelBuild {
    ParallelContext *pcxt;
    Snapshot snapshot;  // registered for CREATE INDEX CONCURRENTLY, else SnapshotAny
    Size scan_bytes;
    Size query_bytes;   // 0 without a statement text
};

// Enters parallel mode, creates the context (workers run `entry`) and estimates the heap scan
// and the statement text (two keys); the caller estimates its own chunks and keys, then calls
// am_parallel_initialize.
void am_parallel_begin(AmParallelBuild *pb, const char *entry, int workers, Relation heap,
                       IndexInfo *index_info);
// The segment; false, with everything undone, when there is none (build serially then).
bool am_parallel_initialize(AmParallelBuild *pb);
// Fills `rels`, and places the initialised parallel heap scan and the statement text under
// the given keys. Returns the scan.
ParallelTableScanDesc am_parallel_place_scan(AmParallelBuild *pb, AmParallelRelations *rels,
                                             Relation heap, Relation index, IndexInfo *index_info,
                                             uint64 scan_key, uint64 query_key);
// After the workers have finished: snapshot, context and parallel mode are given back.
void am_parallel_end(AmParallelBuild *pb);

// In a worker: reports the leader's statement text, opens the relations as the leader holds
// them (btree's workers do the same) and builds the IndexInfo.
void am_parallel_worker_open(shm_toc *toc, uint64 query_key, const AmParallelRelations *rels,
                             Relation *heap, Relation *index, IndexInfo **index_info);
void am_parallel_worker_close(const AmParallelRelations *rels, Relation heap, Relation index);

}  // namespace quiver::pg
