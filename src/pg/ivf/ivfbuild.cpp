// ivfflat and ivf index builds, in pgvector's phases:
//  1. sample: a reservoir of rows (lists * 50, at least 10,000) within maintenance_work_mem;
//  2. k-means on the sample (core, Eigen; spherical under cosine), centroids written; ivf with
//     sq8 / pq also trains its quantizer on the sample (pq on the residuals to the centroids);
//  3. assign: every row goes to its nearest centroid, (list, heap TID, code) into a tuplesort,
//     which spills to disk past maintenance_work_mem (with parallel workers: one parallel
//     tuplesort, see ivfparallel.cpp);
//  4. load: the sorted rows are written list by list into chains of entry pages.
// Pages are written unlogged through the buffer manager and WAL-logged in one pass at the end
// (log_newpage_range) when the relation needs WAL.
#include "quiver/pg/ivf.h"
#include "quiver/pg/ivf_build.h"
#include "quiver/pg/filter_columns.h"

extern "C" {
#include "access/parallel.h"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplesort.h"
}

#include "quiver/core/kernels.h"
#include "quiver/core/quant/kmeans.h"
#include "quiver/core/quant/pq.h"
#include "quiver/core/quant/quantizer.h"

#include <cmath>
#include <memory>
#include <cstring>

using quiver::core::Representation;

namespace quiver::pg {
namespace {

constexpr uint64 kSampleSeed = 0x51564946u;  // builds are reproducible

void delete_quantizer(void *arg)
{
    auto *bs = static_cast<IvfBuildState *>(arg);
    delete bs->quant;
    bs->quant = nullptr;
}

// pq_m when the user gave none: the largest divisor of the dimensions that leaves at least 4
// values per sub-space (FAISS's usual choice for 8-bit codes).
uint32 default_pq_m(uint32 dim)
{
    for (uint32 m = Max(dim / 4, 1u); m > 1; --m)
        if (dim % m == 0)
            return m;
    return 1;
}

void read_options(IvfBuildState *bs)
{
    auto *opts = reinterpret_cast<IvfOptions *>(bs->index->rd_options);
    bs->lists = static_cast<uint32>(opts != nullptr ? opts->lists : IVFFLAT_DEFAULT_LISTS);
    bs->quantizer = IVF_QUANTIZER_FLAT;
    if (!ivf_is_quantized_am(bs->index))
        return;
    bs->quantizer = IVF_QUANTIZER_PQ;
    bs->pq_nbits = 8;
    bs->rerank = IVF_DEFAULT_RERANK;
    if (opts == nullptr)
        return;
    if (opts->quantizer_offset != 0) {
        const char *q = reinterpret_cast<const char *>(opts) + opts->quantizer_offset;
        bs->quantizer = std::strcmp(q, "flat") == 0  ? IVF_QUANTIZER_FLAT
                        : std::strcmp(q, "sq8") == 0 ? IVF_QUANTIZER_SQ8
                        : std::strcmp(q, "bit") == 0 ? IVF_QUANTIZER_BIT
                                                     : IVF_QUANTIZER_PQ;
    }
    bs->pq_m = static_cast<uint32>(opts->pq_m);
    bs->pq_nbits = static_cast<uint32>(opts->pq_nbits);
    bs->rerank = static_cast<uint32>(opts->rerank);
}

void check_build_settings(IvfBuildState *bs)
{
    Form_pg_attribute attr = TupleDescAttr(bs->index->rd_att, 0);
    if (attr->atttypmod < 0)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("column does not have dimensions")));
    if (attr->atttypmod > bs->opclass->max_dimensions)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("column cannot have more than %d dimensions for %s index",
                               bs->opclass->max_dimensions, bs->am_name)));
    bs->dimensions = static_cast<uint32>(attr->atttypmod);
    bs->value_len = quiver::core::code_size(bs->opclass->representation, bs->dimensions, nullptr);
    if (bs->quantizer == IVF_QUANTIZER_FLAT) {
        bs->code_len = bs->value_len;
        bs->centroid_representation = bs->opclass->representation;
        if (bs->code_len > IVF_MAX_CODE_LEN)
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("a vector of %u dimensions does not fit into an %s page with "
                                   "quantizer \"flat\"", bs->dimensions, bs->am_name),
                            errhint("Use quantizer 'sq8' or 'pq'.")));
    } else {
        if (bs->opclass->representation != quiver::core::Representation::f32 &&
            bs->opclass->representation != quiver::core::Representation::f16)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("quantizers need vector or halfvec columns")));
        bs->centroid_representation = quiver::core::Representation::f32;
        if (bs->quantizer == IVF_QUANTIZER_SQ8) {
            bs->code_len = bs->dimensions;
        } else if (bs->quantizer == IVF_QUANTIZER_BIT) {
            bs->code_len = (bs->dimensions + 7) / 8;
        } else {
            if (bs->pq_m == 0)
                bs->pq_m = default_pq_m(bs->dimensions);
            if (bs->dimensions % bs->pq_m != 0)
                ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                                errmsg("pq_m must divide the dimensions: %u does not divide %u",
                                       bs->pq_m, bs->dimensions),
                                errhint("Choose a divisor of %u, or leave pq_m out.", bs->dimensions)));
            bs->code_len = bs->pq_nbits == 8 ? bs->pq_m : (bs->pq_m + 1) / 2;
        }
    }
    if (bs->code_len > IVF_MAX_CODE_LEN)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("%s codes of %zu bytes do not fit into an ivf page (at most %zu)",
                               bs->quantizer == IVF_QUANTIZER_SQ8 ? "sq8" : "pq",
                               static_cast<size_t>(bs->code_len), static_cast<size_t>(IVF_MAX_CODE_LEN)),
                        errhint("Use quantizer 'pq' with a smaller pq_m.")));
    // Fast-scan blocks have no room for filter values: with filter columns every entry is an
    // item of its own.
    bs->entry_layout = bs->filter_columns == 0 && ivf_fastscan_layout(bs->quantizer, bs->pq_m, bs->pq_nbits)
                           ? IVF_LAYOUT_FASTSCAN
                           : IVF_LAYOUT_ENTRY;
    bs->centroid_len = quiver::core::code_size(bs->centroid_representation, bs->dimensions, nullptr);
}

void init_build_state(IvfBuildState *bs, Relation heap, Relation index, IndexInfo *index_info,
                      ForkNumber fork)
{
    std::memset(bs, 0, sizeof *bs);
    bs->heap = heap;
    bs->index = index;
    bs->index_info = index_info;
    bs->fork = fork;
    bs->opclass = ivf_opclass_info(index);
    bs->am_name = ivf_is_quantized_am(index) ? "ivf" : "ivfflat";
    bs->filter_columns = am_filter_column_count(index);
    am_check_filter_columns(index, bs->am_name);
    read_options(bs);
    check_build_settings(bs);
    bs->centroids_scaled = ivf_centroids_scaled(bs->quantizer, bs->opclass->normalize);
    if (!quiver::core::make_distance_computer(bs->centroid_representation, bs->opclass->metric,
                                              bs->dimensions, &bs->dc))
        elog(ERROR, "%s: no distance computer for this operator class", bs->am_name);
    bs->row_floats = static_cast<float *>(palloc(sizeof(float) * bs->dimensions));
    bs->residual = static_cast<float *>(palloc(sizeof(float) * bs->dimensions));
    bs->quant_cb.func = delete_quantizer;
    bs->quant_cb.arg = bs;
    MemoryContextRegisterResetCallback(CurrentMemoryContext, &bs->quant_cb);
    pg_prng_seed(&bs->prng, kSampleSeed);
    bs->tmp_ctx = AllocSetContextCreate(CurrentMemoryContext, "ivfflat build row",
                                        ALLOCSET_DEFAULT_SIZES);
    bs->report_progress = !IsParallelWorker();
}

// ---- codes <-> floats ------------------------------------------------------------------------------

void code_to_floats(const IvfBuildState *bs, const void *code, float *out)
{
    const uint32 dim = bs->dimensions;
    switch (bs->opclass->representation) {
    case Representation::f32:
        std::memcpy(out, code, sizeof(float) * dim);
        break;
    case Representation::f16:
        quiver::core::kernels().f16_to_f32(static_cast<const quiver::core::half_bits *>(code), out, dim);
        break;
    case Representation::bits: {
        auto *bytes = static_cast<const uint8 *>(code);
        for (uint32 i = 0; i < dim; ++i)
            out[i] = (bytes[i / 8] >> (7 - i % 8)) & 1 ? 1.0f : 0.0f;
        break;
    }
    case Representation::sparse:
        elog(ERROR, "%s does not index sparsevec", bs->am_name);
    }
}

// A centroid (floats, normalised here under cosine) in the centroids' representation.
void floats_to_centroid(const IvfBuildState *bs, float *in, void *code)
{
    const uint32 dim = bs->dimensions;
    if (bs->opclass->normalize) {
        double norm = 0;
        for (uint32 i = 0; i < dim; ++i)
            norm += static_cast<double>(in[i]) * in[i];
        norm = std::sqrt(norm);
        if (norm > 0)
            for (uint32 i = 0; i < dim; ++i)
                in[i] = static_cast<float>(in[i] / norm);
    }
    switch (bs->centroid_representation) {
    case Representation::f32:
        std::memcpy(code, in, sizeof(float) * dim);
        break;
    case Representation::f16:
        quiver::core::kernels().f32_to_f16(in, static_cast<quiver::core::half_bits *>(code), dim);
        break;
    case Representation::bits: {
        auto *bytes = static_cast<uint8 *>(code);
        std::memset(bytes, 0, bs->centroid_len);
        for (uint32 i = 0; i < dim; ++i)
            if (in[i] > 0.5f)
                bytes[i / 8] |= static_cast<uint8>(1u << (7 - i % 8));
        break;
    }
    case Representation::sparse:
        elog(ERROR, "%s does not index sparsevec", bs->am_name);
    }
}

// The code of a row (palloc'd in the current context), NULL when it is not indexed.
void *row_code(IvfBuildState *bs, Datum *values, bool *isnull)
{
    if (isnull[0])
        return nullptr;
    Size code_len;
    uint32 dim;
    void *code = am_value_code(bs->opclass, values[0], &code_len, &dim, false);
    if (code != nullptr)
        am_check_dimensions(bs->opclass, dim, bs->dimensions);
    return code;
}

// ---- phase 1: sample -------------------------------------------------------------------------------

void plan_sample(IvfBuildState *bs)
{
    // pgvector's sample size, cut to what maintenance_work_mem holds beside k-means' own needs.
    const Size budget = static_cast<Size>(maintenance_work_mem) * 1024;
    const Size row_bytes = sizeof(float) * bs->dimensions;
    const Size centroid_bytes =
        static_cast<Size>(bs->lists) * (row_bytes + bs->centroid_len + sizeof(void *) + sizeof(float));
    auto need = [&](Size rows) {
        return rows * row_bytes + centroid_bytes +
               quiver::core::quant::kmeans_memory(rows, bs->dimensions, bs->lists);
    };
    Size cap = Max(static_cast<Size>(bs->lists) * 50, static_cast<Size>(10000));
    while (cap > bs->lists && need(cap) > budget)
        cap = Max(static_cast<Size>(bs->lists), cap * 3 / 4);
    if (need(cap) > budget)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("memory required is %zu MB, maintenance_work_mem is %d MB",
                               need(cap) / (1024 * 1024) + 1, maintenance_work_mem / 1024),
                        errhint("Increase maintenance_work_mem or use fewer lists.")));
    bs->sample_cap = static_cast<uint32>(cap);
    bs->sample = static_cast<float *>(MemoryContextAllocHuge(CurrentMemoryContext, cap * row_bytes));
}

void sample_callback(Relation, ItemPointer, Datum *values, bool *isnull, bool, void *state)
{
    auto *bs = static_cast<IvfBuildState *>(state);
    MemoryContext old = MemoryContextSwitchTo(bs->tmp_ctx);
    void *code = row_code(bs, values, isnull);
    if (code != nullptr) {
        // Reservoir sampling: row t (0-based) replaces a random slot with probability cap / (t+1).
        uint64 t = static_cast<uint64>(bs->rows_seen);
        int64 slot = -1;
        if (bs->sample_count < bs->sample_cap)
            slot = bs->sample_count++;
        else {
            uint64 j = pg_prng_uint64_range(&bs->prng, 0, t);
            if (j < bs->sample_cap)
                slot = static_cast<int64>(j);
        }
        if (slot >= 0)
            code_to_floats(bs, code, bs->sample + static_cast<Size>(slot) * bs->dimensions);
        bs->rows_seen += 1;
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(bs->tmp_ctx);
}

// ---- phase 2: k-means ------------------------------------------------------------------------------

bool interrupted(void *) { return QueryCancelPending || ProcDiePending; }

uint32 nearest(IvfBuildState *bs, const void *code);

// train_quantizer() with the result as a plain pointer: no C++ object with a destructor stays
// alive in the caller, which may ereport.
quiver::core::quant::QuantStatus train_raw(const quiver::core::quant::QuantizerParams &params,
                                           const float *rows, Size n,
                                           quiver::core::quant::Quantizer **out)
{
    std::unique_ptr<quiver::core::quant::Quantizer> trained;
    auto status = quiver::core::quant::train_quantizer(params, rows, n, &trained);
    *out = trained.release();
    return status;
}

// ivf: the quantizer, on the sample (pq: on its residuals to the nearest centroid; an empty
// table: on the centroids themselves).
void train_quantizer(IvfBuildState *bs)
{
    namespace q = quiver::core::quant;
    const uint32 dim = bs->dimensions;
    float *rows = bs->sample;
    Size n = bs->sample_count;
    if (n == 0) {
        rows = reinterpret_cast<float *>(bs->centroids);
        n = bs->lists;
    } else if (ivf_codes_residual(bs->quantizer)) {
        for (Size i = 0; i < n; ++i) {
            float *row = rows + i * dim;
            uint32 list = nearest(bs, row);
            q::compute_residual(row, reinterpret_cast<const float *>(bs->centroid_ptrs[list]), dim, row);
        }
    }
    q::QuantizerParams params;
    params.kind = bs->quantizer == IVF_QUANTIZER_SQ8   ? q::QuantizerKind::sq8
                  : bs->quantizer == IVF_QUANTIZER_BIT ? q::QuantizerKind::bit
                                                       : q::QuantizerKind::pq;
    params.dim = dim;
    params.pq_m = bs->pq_m;
    params.pq_nbits = bs->pq_nbits;
    params.memory_budget = static_cast<Size>(maintenance_work_mem) * 1024;
    params.interrupted = interrupted;
    q::Quantizer *trained = nullptr;
    q::QuantStatus status = train_raw(params, rows, n, &trained);
    bs->quant = trained;  // the build context's reset callback deletes it
    if (status == q::QuantStatus::cancelled) {
        CHECK_FOR_INTERRUPTS();
        ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling statement due to user request")));
    }
    if (status == q::QuantStatus::over_budget)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("training the quantizer does not fit into maintenance_work_mem (%d MB)",
                               maintenance_work_mem / 1024),
                        errhint("Increase maintenance_work_mem.")));
    if (status != q::QuantStatus::ok)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("cannot train the quantizer: %s", q::status_name(status))));
    if (trained->code_size() != bs->code_len)
        elog(ERROR, "%s: quantizer codes of %zu bytes, expected %zu", bs->am_name,
             static_cast<size_t>(trained->code_size()), static_cast<size_t>(bs->code_len));
}

// The centroids' lengths, for assignment to scaled centroids.
void measure_centroids(IvfBuildState *bs)
{
    if (bs->centroid_norms == nullptr)
        bs->centroid_norms = static_cast<float *>(palloc(sizeof(float) * bs->lists));
    for (uint32 i = 0; i < bs->lists; ++i)
        bs->centroid_norms[i] = std::sqrt(quiver::core::kernels().norm_sq_f32(
            static_cast<const float *>(bs->centroid_ptrs[i]), bs->dimensions));
}

void set_centroids(IvfBuildState *bs, char *centroids)
{
    bs->centroids = centroids;
    bs->centroid_ptrs = static_cast<const void **>(palloc(sizeof(void *) * bs->lists));
    bs->dist = static_cast<float *>(palloc(sizeof(float) * bs->lists));
    for (uint32 i = 0; i < bs->lists; ++i)
        bs->centroid_ptrs[i] = centroids + static_cast<Size>(i) * bs->centroid_len;
    if (bs->centroids_scaled)
        measure_centroids(bs);
}

// ivf_centroids_scaled: each unit centroid c of the spherical k-means becomes s c with s the
// mean of x.c over the sample rows x it holds, the length that leaves them the shortest
// residuals (a list without sample rows, or with s <= 0, takes the mean s of the others).
void scale_centroids(IvfBuildState *bs)
{
    const uint32 dim = bs->dimensions;
    auto *sum = static_cast<double *>(palloc0(sizeof(double) * bs->lists));
    auto *count = static_cast<uint32 *>(palloc0(sizeof(uint32) * bs->lists));
    for (uint32 r = 0; r < bs->sample_count; ++r) {
        const float *row = bs->sample + static_cast<Size>(r) * dim;
        const uint32 list = nearest(bs, row);  // unit centroids: the least neg_dot is -x.c
        sum[list] -= bs->dist[list];
        ++count[list];
    }
    // A length must be positive, or ranking by cosine would turn the list around; rows of a
    // spherical k-means list lie on its side, so only a degenerate sample gets the fallback.
    auto length = [&](uint32 i) { return count[i] > 0 ? sum[i] / count[i] : 0.0; };
    double all = 0;
    uint32 filled = 0;
    for (uint32 i = 0; i < bs->lists; ++i)
        if (length(i) > 0) {
            all += length(i);
            ++filled;
        }
    const double fallback = filled > 0 ? all / filled : 1.0;
    for (uint32 i = 0; i < bs->lists; ++i) {
        const double s = length(i) > 0 ? length(i) : fallback;
        auto *c = reinterpret_cast<float *>(bs->centroids + static_cast<Size>(i) * bs->centroid_len);
        for (uint32 j = 0; j < dim; ++j)
            c[j] = static_cast<float>(c[j] * s);
    }
    measure_centroids(bs);
    pfree(sum);
    pfree(count);
}

void train_centroids(IvfBuildState *bs)
{
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVF_PHASE_KMEANS);
    if (bs->sample_count < bs->lists && bs->heap != nullptr)
        ereport(NOTICE, (errmsg("%s index created with little data", bs->am_name),
                         errdetail("This will cause low recall."),
                         errhint("Drop the index until the table has more data.")));

    const Size row_bytes = sizeof(float) * bs->dimensions;
    auto *centroid_floats =
        static_cast<float *>(MemoryContextAllocHuge(CurrentMemoryContext, bs->lists * row_bytes));
    quiver::core::quant::KMeansParams params;
    params.k = bs->lists;
    params.spherical = bs->opclass->normalize;
    params.interrupted = interrupted;
    const Size budget = static_cast<Size>(maintenance_work_mem) * 1024;
    params.memory_budget = budget;
    quiver::core::quant::KMeansStats stats;
    auto status = quiver::core::quant::kmeans(bs->sample, bs->sample_count, bs->dimensions, params,
                                              centroid_floats, &stats);
    if (status == quiver::core::quant::KMeansStatus::cancelled) {
        CHECK_FOR_INTERRUPTS();
        ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("canceling statement due to user request")));
    }
    if (status == quiver::core::quant::KMeansStatus::over_budget)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("k-means does not fit into maintenance_work_mem (%d MB)",
                               maintenance_work_mem / 1024),
                        errhint("Increase maintenance_work_mem or use fewer lists.")));
    if (status != quiver::core::quant::KMeansStatus::ok)
        elog(ERROR, "%s: k-means failed (status %d)", bs->am_name, static_cast<int>(status));

    auto *centroids = static_cast<char *>(MemoryContextAllocHuge(CurrentMemoryContext, bs->lists * bs->centroid_len));
    for (uint32 i = 0; i < bs->lists; ++i)
        floats_to_centroid(bs, centroid_floats + static_cast<Size>(i) * bs->dimensions,
                           centroids + static_cast<Size>(i) * bs->centroid_len);
    pfree(centroid_floats);
    set_centroids(bs, centroids);
    if (ivf_centroids_scaled(bs->quantizer, bs->opclass->normalize) && bs->sample_count > 0)
        scale_centroids(bs);
    if (bs->quantizer != IVF_QUANTIZER_FLAT)
        train_quantizer(bs);
    pfree(bs->sample);
    bs->sample = nullptr;
}

// ---- phase 3: assign ------------------------------------------------------------------------------

uint32 nearest(IvfBuildState *bs, const void *code)
{
    bs->dc.batch(bs->dc, code, bs->centroid_ptrs, bs->lists, bs->dist);
    if (bs->centroids_scaled)  // as ivf_scaled_centroid_distance, with the lengths kept
        for (uint32 i = 0; i < bs->lists; ++i)
            bs->dist[i] = bs->centroid_norms[i] > 0 ? bs->dist[i] / bs->centroid_norms[i] : 0.0f;
    uint32 best = 0;
    for (uint32 i = 1; i < bs->lists; ++i)
        if (bs->dist[i] < bs->dist[best])
            best = i;
    return best;
}

// The list of a row's value code and its entry code (code_len bytes into out).
uint32 encode_row(IvfBuildState *bs, const void *value, uint8 *out)
{
    if (bs->quantizer == IVF_QUANTIZER_FLAT) {
        std::memcpy(out, value, bs->code_len);
        return nearest(bs, value);
    }
    code_to_floats(bs, value, bs->row_floats);
    uint32 list = nearest(bs, bs->row_floats);
    if (ivf_codes_residual(bs->quantizer)) {
        quiver::core::quant::compute_residual(
            bs->row_floats, reinterpret_cast<const float *>(bs->centroid_ptrs[list]), bs->dimensions,
            bs->residual);
        bs->quant->encode(bs->residual, out);
    } else {
        bs->quant->encode(bs->row_floats, out);
    }
    return list;
}

void begin_sort(IvfBuildState *bs, int sort_mem, SortCoordinate coordinate)
{
    TupleDesc desc = CreateTemplateTupleDesc(3);
    TupleDescInitEntry(desc, 1, "list", INT4OID, -1, 0);
    TupleDescInitEntry(desc, 2, "tid", TIDOID, -1, 0);
    TupleDescInitEntry(desc, 3, "code", BYTEAOID, -1, 0);
    bs->sort_desc = desc;
    static AttrNumber attnums[] = {1};
    static Oid sort_ops[] = {Int4LessOperator};
    static Oid collations[] = {InvalidOid};
    static bool nulls_first[] = {false};
    bs->sort = tuplesort_begin_heap(desc, 1, attnums, sort_ops, collations, nulls_first,
                                    sort_mem, coordinate, TUPLESORT_NONE);
    bs->slot = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
    bs->sorted_slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
}

void end_sort(IvfBuildState *bs)
{
    tuplesort_end(bs->sort);
    bs->sort = nullptr;
    ExecDropSingleTupleTableSlot(bs->slot);
    ExecDropSingleTupleTableSlot(bs->sorted_slot);
}

void assign_callback(Relation, ItemPointer tid, Datum *values, bool *isnull, bool, void *state)
{
    auto *bs = static_cast<IvfBuildState *>(state);
    MemoryContext old = MemoryContextSwitchTo(bs->tmp_ctx);
    void *code = row_code(bs, values, isnull);
    if (code != nullptr) {
        // The entry's code, then the row's filter values (its payload) when there are any.
        Size payload_len = 0;
        uint8 *payload = am_row_payload(bs->index, values, isnull, &payload_len);
        if (offsetof(IvfEntryData, code) + bs->code_len + payload_len > IVF_MAX_ITEM_LEN)
            ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                            errmsg("index row size %zu exceeds %s maximum, %zu, for index \"%s\"",
                                   offsetof(IvfEntryData, code) + bs->code_len + payload_len,
                                   bs->am_name, static_cast<Size>(IVF_MAX_ITEM_LEN),
                                   RelationGetRelationName(bs->index))));
        auto *blob = static_cast<bytea *>(palloc(VARHDRSZ + bs->code_len + payload_len));
        SET_VARSIZE(blob, VARHDRSZ + bs->code_len + payload_len);
        if (payload_len > 0)
            std::memcpy(VARDATA(blob) + bs->code_len, payload, payload_len);
        uint32 list = encode_row(bs, code, reinterpret_cast<uint8 *>(VARDATA(blob)));
        ExecClearTuple(bs->slot);
        bs->slot->tts_values[0] = Int32GetDatum(static_cast<int32>(list));
        bs->slot->tts_isnull[0] = false;
        bs->slot->tts_values[1] = PointerGetDatum(tid);
        bs->slot->tts_isnull[1] = false;
        bs->slot->tts_values[2] = PointerGetDatum(blob);
        bs->slot->tts_isnull[2] = false;
        ExecStoreVirtualTuple(bs->slot);
        tuplesort_puttupleslot(bs->sort, bs->slot);
        bs->indtuples += 1;
        if (bs->report_progress)
            pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(bs->indtuples));
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(bs->tmp_ctx);
}

// ---- writing pages ---------------------------------------------------------------------------------

Buffer new_page(IvfBuildState *bs, uint16 page_type)
{
    Buffer buf = ivf_new_buffer(bs->index, bs->fork);
    ivf_init_page(BufferGetPage(buf), page_type);
    return buf;
}

void set_lower(Page page, Size payload)
{
    reinterpret_cast<PageHeader>(page)->pd_lower =
        static_cast<LocationIndex>(PageGetContents(page) + payload - reinterpret_cast<char *>(page));
}

void write_metapage(IvfBuildState *bs, BlockNumber centroid_pages)
{
    Buffer buf = new_page(bs, IVF_PAGE_META);
    if (BufferGetBlockNumber(buf) != IVF_METAPAGE_BLKNO)
        elog(ERROR, "ivf metapage is not block 0 of \"%s\"", RelationGetRelationName(bs->index));
    Page page = BufferGetPage(buf);
    IvfMetaPage meta = IvfPageGetMeta(page);
    std::memset(meta, 0, sizeof *meta);
    meta->magic = IVF_MAGIC;
    meta->version = IVF_FORMAT_VERSION;
    meta->key_columns = static_cast<uint16>(1 + bs->filter_columns);
    meta->dimensions = bs->dimensions;
    meta->lists = bs->lists;
    meta->representation = static_cast<uint8>(bs->opclass->representation);
    meta->metric = static_cast<uint8>(bs->opclass->metric);
    meta->normalized = bs->opclass->normalize ? 1 : 0;
    meta->quantizer = bs->quantizer;
    meta->code_len = static_cast<uint32>(bs->code_len);
    meta->centroid_len = static_cast<uint32>(bs->centroid_len);
    meta->centroid_representation = static_cast<uint8>(bs->centroid_representation);
    meta->centroid_start = IVF_METAPAGE_BLKNO + 1;
    meta->directory_start = meta->centroid_start + centroid_pages;
    meta->rerank = bs->rerank;
    meta->entry_layout = bs->entry_layout;
    if (bs->entry_layout == IVF_LAYOUT_FASTSCAN)
        meta->pq_m = static_cast<uint16>(bs->pq_m);
    meta->blob_start = InvalidBlockNumber;
    meta->blob_len = 0;
    if (bs->quant != nullptr) {
        meta->blob_start = meta->directory_start + ivf_stream_pages(sizeof(IvfListData) * bs->lists);
        meta->blob_len = static_cast<uint32>(bs->quant->blob_size());
    }
    set_lower(page, sizeof *meta);
    MarkBufferDirty(buf);
    UnlockReleaseBuffer(buf);
}

void write_stream(IvfBuildState *bs, uint16 page_type, const char *data, Size bytes)
{
    ivf_write_stream(bs->index, bs->fork, page_type, data, bytes);
}

// Rewrites the directory pages (allocated by write_stream) from the in-memory directory.
void write_directory(IvfBuildState *bs, BlockNumber directory_start, const IvfListData *dir)
{
    Size bytes = sizeof(IvfListData) * bs->lists;
    BlockNumber pages = ivf_stream_pages(bytes);
    for (BlockNumber p = 0; p < pages; ++p) {
        Buffer buf = ReadBufferExtended(bs->index, bs->fork, directory_start + p, RBM_NORMAL, nullptr);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        Page page = BufferGetPage(buf);
        Size take = Min(static_cast<Size>(IVF_DIR_PER_PAGE) * sizeof(IvfListData),
                        bytes - p * static_cast<Size>(IVF_DIR_PER_PAGE) * sizeof(IvfListData));
        std::memcpy(PageGetContents(page),
                    reinterpret_cast<const char *>(dir) + p * static_cast<Size>(IVF_DIR_PER_PAGE) * sizeof(IvfListData),
                    take);
        set_lower(page, take);
        MarkBufferDirty(buf);
        UnlockReleaseBuffer(buf);
    }
}

// Phase 4's pages: items go to the current list's last page, or to a new page linked from it.
struct ListWriter {
    IvfBuildState *bs;
    IvfListData *dir;
    Buffer buf = InvalidBuffer;
    int64 current = -1;  // the list buf belongs to

    // Where an item of item_len bytes for `list` goes, with room for it.
    Page page_for(uint32 list, Size item_len)
    {
        if (buf != InvalidBuffer && list == current &&
            PageGetFreeSpace(BufferGetPage(buf)) >= MAXALIGN(item_len))
            return BufferGetPage(buf);
        Buffer next = new_page(bs, IVF_PAGE_ENTRY);
        BlockNumber blkno = BufferGetBlockNumber(next);
        if (buf != InvalidBuffer) {
            if (list == current)
                IvfPageGetOpaque(BufferGetPage(buf))->next = blkno;
            MarkBufferDirty(buf);
            UnlockReleaseBuffer(buf);
        }
        if (list != current)
            dir[list].start = blkno;
        dir[list].insert = blkno;
        current = list;
        buf = next;
        return BufferGetPage(buf);
    }

    void add(uint32 list, const void *item, Size item_len)
    {
        if (PageAddItem(page_for(list, item_len), reinterpret_cast<Item>(const_cast<void *>(item)),
                        item_len, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
            elog(ERROR, "%s build: failed to add an entry to \"%s\"", bs->am_name,
                 RelationGetRelationName(bs->index));
    }

    void finish()
    {
        if (buf != InvalidBuffer) {
            MarkBufferDirty(buf);
            UnlockReleaseBuffer(buf);
        }
    }
};

// Phase 4: the sorted rows, list by list, into page chains: one item per entry, or blocks of
// 32 entries in the fast-scan layout (every block full but each list's last).
void load_entries(IvfBuildState *bs, IvfListData *dir)
{
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVF_PHASE_LOAD);
    const bool blocks = bs->entry_layout == IVF_LAYOUT_FASTSCAN;
    const Size item_len = blocks ? ivf_block_len(bs->pq_m) : offsetof(IvfEntryData, code) + bs->code_len;
    void *item = palloc0(blocks ? item_len : IVF_MAX_ITEM_LEN);
    auto *entry = static_cast<IvfEntry>(item);
    auto *block = static_cast<IvfBlock>(item);
    ListWriter writer{bs, dir};
    int64 block_list = -1;  // the list of the entries in `block`
    int64 loaded = 0;
    TupleTableSlot *slot = bs->sorted_slot;
    while (tuplesort_gettupleslot(bs->sort, true, false, slot, nullptr)) {
        bool isnull;
        int32 list = DatumGetInt32(slot_getattr(slot, 1, &isnull));
        auto *tid = reinterpret_cast<ItemPointer>(DatumGetPointer(slot_getattr(slot, 2, &isnull)));
        bytea *blob = DatumGetByteaPP(slot_getattr(slot, 3, &isnull));
        const Size blob_len = VARSIZE_ANY_EXHDR(blob);  // code, then payload
        if (bs->filter_columns == 0 ? blob_len != bs->code_len
                                    : blob_len < bs->code_len || blob_len > IVF_MAX_CODE_LEN)
            elog(ERROR, "ivf build: code of %zu bytes, expected %zu",
                 static_cast<size_t>(blob_len), static_cast<size_t>(bs->code_len));
        if (!blocks) {
            entry->heaptid = *tid;
            std::memcpy(entry->code, VARDATA_ANY(blob), blob_len);
            writer.add(list, entry, offsetof(IvfEntryData, code) + blob_len);
        } else {
            if (block->count > 0 && (block->count == IVF_BLOCK_ENTRIES || list != block_list)) {
                writer.add(static_cast<uint32>(block_list), block, item_len);
                std::memset(block, 0, item_len);
            }
            block_list = list;
            ivf_block_append(bs->pq_m, block, tid, reinterpret_cast<const uint8 *>(VARDATA_ANY(blob)));
        }
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, ++loaded);
        CHECK_FOR_INTERRUPTS();
    }
    if (blocks && block->count > 0)
        writer.add(static_cast<uint32>(block_list), block, item_len);
    writer.finish();
    pfree(item);
}

void build_index(IvfBuildState *bs)
{
    // Phase 1.
    plan_sample(bs);
    if (bs->heap != nullptr)
        bs->reltuples = table_index_build_scan(bs->heap, bs->index, bs->index_info, true, true,
                                               sample_callback, bs, nullptr);
    // Phase 2.
    train_centroids(bs);
    const Size centroid_bytes = static_cast<Size>(bs->lists) * bs->centroid_len;
    const BlockNumber centroid_pages = ivf_stream_pages(centroid_bytes);
    write_metapage(bs, centroid_pages);
    write_stream(bs, IVF_PAGE_CENTROID, bs->centroids, centroid_bytes);
    auto *dir = static_cast<IvfListData *>(palloc(sizeof(IvfListData) * bs->lists));
    for (uint32 i = 0; i < bs->lists; ++i)
        dir[i].start = dir[i].insert = InvalidBlockNumber;
    const BlockNumber directory_start = IVF_METAPAGE_BLKNO + 1 + centroid_pages;
    write_stream(bs, IVF_PAGE_DIRECTORY, reinterpret_cast<const char *>(dir),
                 sizeof(IvfListData) * bs->lists);
    if (bs->quant != nullptr) {
        auto *blob = static_cast<uint8 *>(palloc(bs->quant->blob_size()));
        bs->quant->write_blob(blob);
        write_stream(bs, IVF_PAGE_BLOB, reinterpret_cast<const char *>(blob), bs->quant->blob_size());
        pfree(blob);
    }

    // Phases 3 and 4.
    if (bs->heap != nullptr) {
        pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, IVF_PHASE_ASSIGN);
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL,
                                     static_cast<int64>(Max(bs->rows_seen, 0.0)));
        const int workers = ivf_parallel_workers(bs->heap, bs->index, bs->fork);
        auto load = [](IvfBuildState *state, void *arg) {
            load_entries(state, static_cast<IvfListData *>(arg));
        };
        if (workers == 0 || !ivf_build_parallel(bs, workers, load, dir)) {
            begin_sort(bs, maintenance_work_mem, nullptr);
            table_index_build_scan(bs->heap, bs->index, bs->index_info, true, true, assign_callback,
                                   bs, nullptr);
            tuplesort_performsort(bs->sort);
            load_entries(bs, dir);
            end_sort(bs);
        }
        write_directory(bs, directory_start, dir);
    }

    if (RelationNeedsWAL(bs->index) || bs->fork == INIT_FORKNUM)
        log_newpage_range(bs->index, bs->fork, 0,
                          RelationGetNumberOfBlocksInFork(bs->index, bs->fork), true);
}

}  // namespace

void ivf_init_build_state(IvfBuildState *bs, Relation heap, Relation index, IndexInfo *index_info,
                          ForkNumber fork)
{
    init_build_state(bs, heap, index, index_info, fork);
}

void ivf_build_set_centroids(IvfBuildState *bs, char *centroids) { set_centroids(bs, centroids); }

void ivf_build_load_quantizer(IvfBuildState *bs, const uint8 *blob, Size len)
{
    // No C++ object with a destructor stays alive where this may ereport.
    auto load = [](const uint8 *b, Size n, quiver::core::quant::Quantizer **out) {
        std::unique_ptr<quiver::core::quant::Quantizer> loaded;
        auto status = quiver::core::quant::load_quantizer(b, n, &loaded);
        *out = loaded.release();
        return status;
    };
    auto status = load(blob, len, &bs->quant);  // the build context's reset callback deletes it
    if (status != quiver::core::quant::QuantStatus::ok || bs->quant->code_size() != bs->code_len)
        elog(ERROR, "%s: the leader's quantizer does not load in a parallel worker", bs->am_name);
}

void ivf_build_begin_sort(IvfBuildState *bs, int sort_mem, SortCoordinate coordinate)
{
    begin_sort(bs, sort_mem, coordinate);
}

void ivf_build_end_sort(IvfBuildState *bs) { end_sort(bs); }

void ivf_build_assign_callback(Relation heap, ItemPointer tid, Datum *values, bool *isnull,
                               bool alive, void *state)
{
    assign_callback(heap, tid, values, isnull, alive, state);
}

IndexBuildResult *ivfflatbuild(Relation heap, Relation index, IndexInfo *index_info)
{
    if (RelationGetNumberOfBlocks(index) != 0)
        elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
    MemoryContext build_ctx = AllocSetContextCreate(CurrentMemoryContext, "ivfflat build",
                                                    ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(build_ctx);
    auto *bs = static_cast<IvfBuildState *>(palloc(sizeof(IvfBuildState)));
    init_build_state(bs, heap, index, index_info, MAIN_FORKNUM);
    build_index(bs);
    MemoryContextSwitchTo(old);
    auto *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
    result->heap_tuples = bs->reltuples;
    result->index_tuples = bs->indtuples;
    MemoryContextDelete(build_ctx);
    return result;
}

IndexBuildResult *ivfbuild(Relation heap, Relation index, IndexInfo *index_info)
{
    return ivfflatbuild(heap, index, index_info);  // read_options tells the two apart
}

void ivfflatbuildempty(Relation index)
{
    MemoryContext build_ctx = AllocSetContextCreate(CurrentMemoryContext, "ivfflat build",
                                                    ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(build_ctx);
    auto *bs = static_cast<IvfBuildState *>(palloc(sizeof(IvfBuildState)));
    init_build_state(bs, nullptr, index, BuildIndexInfo(index), INIT_FORKNUM);
    build_index(bs);
    MemoryContextSwitchTo(old);
    MemoryContextDelete(build_ctx);
}

}  // namespace quiver::pg
