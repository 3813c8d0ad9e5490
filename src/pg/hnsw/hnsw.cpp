// The hnsw access method's front door: the handler, WITH (...) options, hnsw.* settings, the
// planner's cost estimate, amvalidate, build phase names, and the per-opclass info functions
// (support function 3). No graph code here; see hnswbuild/insert/scan/vacuum/utils.
#include "quiver/pg/hnsw.h"
#include "quiver/pg/types.h"

extern "C" {
#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "access/reloptions.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
#include "utils/syscache.h"
#include "utils/rel.h"
#include "access/relation.h"
}

#include <cfloat>
#include <initializer_list>
#include <climits>
#include <cmath>
#include <cstring>

using quiver::core::Metric;
using quiver::core::Representation;

int hnsw_ef_search = HNSW_DEFAULT_EF_SEARCH;
int hnsw_iterative_scan = HNSW_ITERATIVE_SCAN_OFF;
int hnsw_max_scan_tuples = HNSW_DEFAULT_MAX_SCAN_TUPLES;
double hnsw_scan_mem_multiplier = 1.0;

namespace {

relopt_kind hnsw_relopt_kind;

const struct config_enum_entry iterative_scan_options[] = {
    {"off", HNSW_ITERATIVE_SCAN_OFF, false},
    {"relaxed_order", HNSW_ITERATIVE_SCAN_RELAXED, false},
    {"strict_order", HNSW_ITERATIVE_SCAN_STRICT, false},
    {nullptr, 0, false},
};

char *hnswbuildphasename(int64 phase)
{
    switch (phase) {
    case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
        return const_cast<char *>("initializing");
    case HNSW_PHASE_LOAD:
        return const_cast<char *>("loading tuples");
    case HNSW_PHASE_WRITE:
        return const_cast<char *>("writing graph");
    default:
        return nullptr;
    }
}

// Elements a scan computes distances for: about m / 2 per upper level on the way down, then the
// level-0 search, about 0.6 * m per unit of ef_search plus a constant (measured on GloVe-100:
// 160, 440 and 940 elements at ef_search 10, 40 and 100 with m = 16). Capped by the index size.
double estimated_visits(double tuples, int m, int ef)
{
    if (tuples <= 1)
        return 1;
    double levels = std::log(tuples) / std::log(static_cast<double>(m));
    double visits = levels * m / 2 + 2.5 * m + 0.6 * ef * m;
    return visits < tuples ? visits : tuples;
}

void hnswcostestimate(PlannerInfo *root, IndexPath *path, double loop_count,
                      Cost *startup_cost, Cost *total_cost, Selectivity *selectivity,
                      double *correlation, double *pages)
{
    // Without ORDER BY <op> the index cannot produce anything useful.
    if (path->indexorderbys == NIL) {
        *startup_cost = get_float8_infinity();
        *total_cost = get_float8_infinity();
        *selectivity = 0;
        *correlation = 0;
        *pages = 0;
        return;
    }

    Relation index = index_open(path->indexinfo->indexoid, NoLock);
    int m = quiver::pg::hnsw_index_info(index)->m;
    index_close(index, NoLock);

    // The whole index, as pgvector costs it: every element, every page. The first walk comes
    // before the first row (startup); producing all of the scan's rows would take the rest
    // (with iterative scans; see below for a scan without),
    // which is what a filter costs: a LIMIT k above a scan whose rows a filter of selectivity s
    // thins out is charged k / (s * rows) of the way from startup to total. A selective filter
    // thus makes a sequential scan, a bitmap scan on a btree of the filter column or a partial
    // index cheaper, as they are (an hnsw scan without iterative_scan would not even return the
    // k rows; with it, it walks about k / s elements).
    //
    // Filter columns: the index quals on them are evaluated in the walk, which then visits
    // about 1/s times as many elements to collect ef_search matching ones (s: their
    // selectivity); what it returns already satisfies them. Once that reaches the whole index
    // (where quiver.filter_strategy = auto turns to the exact strategy) the first batch costs
    // the whole index, so a selective btree on the filter column wins, as it should.
    GenericCosts costs;
    const Selectivity quals_selectivity = quiver::pg::am_whole_index_costs(root, path, loop_count, &costs);

    const double tuples = path->indexinfo->tuples;
    const double filter_selectivity =
        path->indexclauses != NIL ? Max(quals_selectivity, tuples > 0 ? 1.0 / tuples : 1.0) : 1.0;
    const double ratio =
        tuples > 0 ? Min(1.0, estimated_visits(tuples, m, hnsw_ef_search) / filter_selectivity / tuples)
                   : 1.0;

    // The index holds every vector; when it is larger than the table, the table keeps its
    // vectors out of line in TOAST, and a sequential scan reads those pages (and detoasts
    // every row) without the planner charging for them. Charging the first walk's page reads
    // as random against that would pick a sequential scan that is far slower in fact (seen on
    // 784-d vectors at ef_search >= 80), so they are charged as sequential reads then.
    double random_cost, seq_cost;
    get_tablespace_page_costs(path->indexinfo->reltablespace, &random_cost, &seq_cost);
    Cost startup = costs.indexTotalCost * ratio;
    if (path->indexinfo->pages > path->indexinfo->rel->pages && random_cost > seq_cost)
        startup -= costs.numIndexPages * ratio * (random_cost - seq_cost);

    // Without iterative scans one walk is all there is: it returns about ef_search elements,
    // and a filter keeps a share s of them. Costed as if each further ef_search rows took
    // another walk, so LIMIT k under the filter costs about startup * (1 + k / (s * ef)):
    // the planner keeps the index where one walk likely yields the k rows, not where it would
    // return fewer (pgvector costs both modes as the whole index; that left 4%-selective
    // filters on an index that returned 1 row of 20).
    Cost total = Max(costs.indexTotalCost, startup);
    const double rows_out = tuples * filter_selectivity;
    if (hnsw_iterative_scan == HNSW_ITERATIVE_SCAN_OFF && rows_out > hnsw_ef_search)
        total = Max(total, startup * rows_out / hnsw_ef_search);

    *startup_cost = startup;
    *total_cost = total;
    *selectivity = quals_selectivity;
    *correlation = 0;
    *pages = costs.numIndexPages;
}

bytea *hnswoptions(Datum reloptions, bool validate)
{
    static const relopt_parse_elt tab[] = {
        {"m", RELOPT_TYPE_INT, offsetof(HnswOptions, m)},
        {"ef_construction", RELOPT_TYPE_INT, offsetof(HnswOptions, ef_construction)},
    };
    return static_cast<bytea *>(build_reloptions(reloptions, validate, hnsw_relopt_kind,
                                                 sizeof(HnswOptions), tab, lengthof(tab)));
}

bool hnswvalidate(Oid opclassoid) { return quiver::pg::am_validate_opclass(opclassoid, "hnsw"); }

}  // namespace

namespace quiver::pg {

void hnsw_init()
{
    hnsw_relopt_kind = add_reloption_kind();
    add_int_reloption(hnsw_relopt_kind, "m", "Max number of connections", HNSW_DEFAULT_M,
                      HNSW_MIN_M, HNSW_MAX_M, AccessExclusiveLock);
    add_int_reloption(hnsw_relopt_kind, "ef_construction",
                      "Size of the dynamic candidate list for construction",
                      HNSW_DEFAULT_EF_CONSTRUCTION, HNSW_MIN_EF_CONSTRUCTION,
                      HNSW_MAX_EF_CONSTRUCTION, AccessExclusiveLock);

    DefineCustomIntVariable("hnsw.ef_search", "Sets the size of the dynamic candidate list for search",
                            "Valid range is 1..1000.", &hnsw_ef_search, HNSW_DEFAULT_EF_SEARCH,
                            HNSW_MIN_EF_SEARCH, HNSW_MAX_EF_SEARCH, PGC_USERSET, 0, nullptr,
                            nullptr, nullptr);
    DefineCustomEnumVariable("hnsw.iterative_scan", "Sets the mode for iterative scans", nullptr,
                             &hnsw_iterative_scan, HNSW_ITERATIVE_SCAN_OFF, iterative_scan_options,
                             PGC_USERSET, 0, nullptr, nullptr, nullptr);
    // Approximate, and it does not limit the first pass of a scan.
    DefineCustomIntVariable("hnsw.max_scan_tuples",
                            "Sets the max number of tuples to visit for iterative scans", nullptr,
                            &hnsw_max_scan_tuples, HNSW_DEFAULT_MAX_SCAN_TUPLES, 1, INT_MAX,
                            PGC_USERSET, 0, nullptr, nullptr, nullptr);
    // Same range as hash_mem_multiplier.
    DefineCustomRealVariable("hnsw.scan_mem_multiplier",
                             "Sets the multiple of work_mem to use for iterative scans", nullptr,
                             &hnsw_scan_mem_multiplier, 1, 1, 1000, PGC_USERSET, 0, nullptr,
                             nullptr, nullptr);
    MarkGUCPrefixReserved("hnsw");
}

int hnsw_option_m(Relation index)
{
    auto *opts = reinterpret_cast<HnswOptions *>(index->rd_options);
    return opts != nullptr ? opts->m : HNSW_DEFAULT_M;
}

int hnsw_option_ef_construction(Relation index)
{
    auto *opts = reinterpret_cast<HnswOptions *>(index->rd_options);
    return opts != nullptr ? opts->ef_construction : HNSW_DEFAULT_EF_CONSTRUCTION;
}

}  // namespace quiver::pg

QUIVER_FUNCTION(hnswhandler)
{
    IndexAmRoutine *am = makeNode(IndexAmRoutine);
    am->amstrategies = 0;
    am->amsupport = HNSW_NPROCS;
    am->amoptsprocnum = 0;
    am->amcanorder = false;
    am->amcanorderbyop = true;
    am->amcanbackward = false;
    am->amcanunique = false;
    am->amcanmulticol = true;   // the vector, then filter columns
    am->amoptionalkey = true;
    am->amsearcharray = true;   // filter column = ANY(array)
    am->amsearchnulls = true;   // filter column IS [NOT] NULL
    am->amstorage = false;
    am->amclusterable = false;
    am->ampredlocks = false;
    am->amcanparallel = false;
    am->amcaninclude = false;
    am->amusemaintenanceworkmem = false;
    am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
    am->amkeytype = InvalidOid;

    am->ambuild = quiver::pg::hnswbuild;
    am->ambuildempty = quiver::pg::hnswbuildempty;
    am->aminsert = quiver::pg::hnswinsert;
    am->ambulkdelete = quiver::pg::hnswbulkdelete;
    am->amvacuumcleanup = quiver::pg::hnswvacuumcleanup;
    am->amcanreturn = nullptr;
    am->amcostestimate = hnswcostestimate;
    am->amoptions = hnswoptions;
    am->amproperty = nullptr;
    am->ambuildphasename = hnswbuildphasename;
    am->amvalidate = hnswvalidate;
    am->amadjustmembers = nullptr;
    am->ambeginscan = quiver::pg::hnswbeginscan;
    am->amrescan = quiver::pg::hnswrescan;
    am->amgettuple = quiver::pg::hnswgettuple;
    am->amgetbitmap = nullptr;
    am->amendscan = quiver::pg::hnswendscan;
    am->ammarkpos = nullptr;
    am->amrestrpos = nullptr;
    am->amestimateparallelscan = nullptr;
    am->aminitparallelscan = nullptr;
    am->amparallelrescan = nullptr;
    PG_RETURN_POINTER(am);
}

// ---- support function 3: one static description per opclass -----------------------------------

#define HNSW_OPCLASS_INFO(fname, type, op, rep, metric, normalize, maxdim, maxnnz)             \
    static const QuiverOpclassInfo fname##_data = {QUIVER_OPCLASS_INFO_MAGIC, type, op, rep,      \
                                                 metric, normalize, maxdim, maxnnz};          \
    QUIVER_FUNCTION(fname) { PG_RETURN_POINTER(const_cast<QuiverOpclassInfo *>(&fname##_data)); }

HNSW_OPCLASS_INFO(quiver_hnsw_vector_l2_info, "vector", "<->", Representation::f32, Metric::l2sq,
                  false, HNSW_MAX_DIM, 0)
HNSW_OPCLASS_INFO(quiver_hnsw_vector_ip_info, "vector", "<#>", Representation::f32,
                  Metric::neg_dot, false, HNSW_MAX_DIM, 0)
HNSW_OPCLASS_INFO(quiver_hnsw_vector_cosine_info, "vector", "<=>", Representation::f32,
                  Metric::neg_dot, true, HNSW_MAX_DIM, 0)
HNSW_OPCLASS_INFO(quiver_hnsw_vector_l1_info, "vector", "<+>", Representation::f32, Metric::l1,
                  false, HNSW_MAX_DIM, 0)
HNSW_OPCLASS_INFO(quiver_hnsw_halfvec_l2_info, "halfvec", "<->", Representation::f16,
                  Metric::l2sq, false, HNSW_MAX_HALFVEC_DIM, 0)
HNSW_OPCLASS_INFO(quiver_hnsw_halfvec_ip_info, "halfvec", "<#>", Representation::f16,
                  Metric::neg_dot, false, HNSW_MAX_HALFVEC_DIM, 0)
HNSW_OPCLASS_INFO(quiver_hnsw_halfvec_cosine_info, "halfvec", "<=>", Representation::f16,
                  Metric::neg_dot, true, HNSW_MAX_HALFVEC_DIM, 0)
HNSW_OPCLASS_INFO(quiver_hnsw_halfvec_l1_info, "halfvec", "<+>", Representation::f16,
                  Metric::l1, false, HNSW_MAX_HALFVEC_DIM, 0)
HNSW_OPCLASS_INFO(quiver_hnsw_sparsevec_l2_info, "sparsevec", "<->", Representation::sparse,
                  Metric::l2sq, false, SPARSEVEC_MAX_DIM, HNSW_MAX_NNZ)
HNSW_OPCLASS_INFO(quiver_hnsw_sparsevec_ip_info, "sparsevec", "<#>", Representation::sparse,
                  Metric::neg_dot, false, SPARSEVEC_MAX_DIM, HNSW_MAX_NNZ)
HNSW_OPCLASS_INFO(quiver_hnsw_sparsevec_cosine_info, "sparsevec", "<=>", Representation::sparse,
                  Metric::neg_dot, true, SPARSEVEC_MAX_DIM, HNSW_MAX_NNZ)
HNSW_OPCLASS_INFO(quiver_hnsw_sparsevec_l1_info, "sparsevec", "<+>", Representation::sparse,
                  Metric::l1, false, SPARSEVEC_MAX_DIM, HNSW_MAX_NNZ)
HNSW_OPCLASS_INFO(quiver_hnsw_bit_hamming_info, "bit", "<~>", Representation::bits,
                  Metric::hamming, false, HNSW_MAX_BIT_DIM, 0)
HNSW_OPCLASS_INFO(quiver_hnsw_bit_jaccard_info, "bit", "<%>", Representation::bits,
                  Metric::jaccard, false, HNSW_MAX_BIT_DIM, 0)
