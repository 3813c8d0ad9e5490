// What ivfflat / ivf index builds share between the serial build (ivfbuild.cpp) and the
// parallel assign phase (ivfparallel.cpp). Include after ivf.h.
#pragma once

#include "quiver/pg/ivf.h"

extern "C" {
#include "common/pg_prng.h"
#include "executor/tuptable.h"
#include "utils/tuplesort.h"
}

#include "quiver/core/quant/quantizer.h"

namespace quiver::pg {

struct IvfBuildState {
    Relation heap;
    Relation index;
    IndexInfo *index_info;
    ForkNumber fork;
    const QuiverOpclassInfo *opclass;
    const char *am_name;
    uint32 dimensions;
    uint32 lists;
    Size value_len;     // bytes of a value's code in the opclass's representation
    Size code_len;      // bytes of an entry's code
    Size centroid_len;
    quiver::core::Representation centroid_representation;
    quiver::core::DistanceComputer dc;  // centroids against a row (centroid representation)

    // ivf: the quantizer (IVF_QUANTIZER_*), its options, and the trained object (deleted by a
    // reset callback of the build's memory context).
    uint8 quantizer;
    uint32 pq_m;
    uint32 pq_nbits;
    uint32 rerank;
    uint8 entry_layout;  // IVF_LAYOUT_*
    int filter_columns;  // index columns after the vector (their values follow each code)
    quiver::core::quant::Quantizer *quant;
    MemoryContextCallback quant_cb;
    float *row_floats;  // scratch: one row as floats
    float *residual;    // scratch

    // Phase 1: reservoir sample of rows as floats.
    float *sample;
    uint32 sample_cap;
    uint32 sample_count;
    double rows_seen;
    pg_prng_state prng;

    // Phase 2+: centroid codes.
    char *centroids;
    const void **centroid_ptrs;
    float *dist;
    bool centroids_scaled;  // ivf_centroids_scaled: assignment divides by the centroid's length
    float *centroid_norms;  // ... kept here

    // Phase 3-4.
    Tuplesortstate *sort;
    TupleDesc sort_desc;
    TupleTableSlot *slot;       // rows going into the sort (virtual)
    TupleTableSlot *sorted_slot;  // rows coming out (minimal tuples)
    double reltuples;
    double indtuples;
    bool report_progress;       // the leader reports tuples done; workers do not
    MemoryContext tmp_ctx;
};

// The build state of `index` (options and dimensions checked; centroids and quantizer not yet
// there), in CurrentMemoryContext, whose reset deletes the quantizer.
void ivf_init_build_state(IvfBuildState *bs, Relation heap, Relation index, IndexInfo *index_info,
                          ForkNumber fork);
// Points the state at centroid codes (lists * centroid_len bytes, kept by the caller).
void ivf_build_set_centroids(IvfBuildState *bs, char *centroids);
// Loads the trained quantizer from its blob (a parallel worker's copy of the leader's).
void ivf_build_load_quantizer(IvfBuildState *bs, const uint8 *blob, Size len);

// Phase 3: a tuplesort of (list, heap TID, code) by list, within sort_mem kB; coordinate is
// NULL for a serial build, else the participant's or the leader's share of a parallel sort.
void ivf_build_begin_sort(IvfBuildState *bs, int sort_mem, SortCoordinate coordinate);
void ivf_build_end_sort(IvfBuildState *bs);
// table_index_build_scan callback of phase 3: the row's list and code into the sort.
void ivf_build_assign_callback(Relation heap, ItemPointer tid, Datum *values, bool *isnull,
                               bool alive, void *state);

// Parallel phase 3 (ivfparallel.cpp): workers to ask for (0: build serially).
int ivf_parallel_workers(Relation heap, Relation index, ForkNumber fork);
// Runs phase 3 with the leader and up to `workers` workers, then `load` on the leader's merged
// sort (bs->sort, sorted) while the workers' runs still exist. False when no parallel context
// could be set up (nothing done: build serially).
bool ivf_build_parallel(IvfBuildState *bs, int workers, void (*load)(IvfBuildState *, void *),
                        void *load_arg);

}  // namespace quiver::pg
